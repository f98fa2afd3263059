#!/usr/bin/env bats
# The guest module's arm64 path in Debian's 6.1 arm64 kernel, booted under
# QEMU (TCG) on virt: the module is cross-built against Debian's arm64
# headers, and upcallctl/vcpuctl --arch aarch64 drive it through a hybrid
# vsock socket as a VMM would.  On arm64 ADD_CPU/DEL_CPU carry only a
# count: the guest onlines its lowest offline CPUs and offlines its highest.
# Memory and PCI requests take the same code as on x86_64, on arm64's
# memory block size and PCIe host.
#
# One boot for the whole file: -smp 3 with maxcpus=1 (CPUs 1 and 2 present
# but offline), -m 1G with mem=512M (RAM starts at 0x40000000 on virt, so
# 0x60000000.. is backed but unused), a virtio-rng at 00:05.0.

load '../guest/helpers'

setup_file() {
	guest_require arm64 || return 0
	guest_build $ARM64_MODS
	guest_boot "console=ttyAMA0 maxcpus=1 mem=512M upcall_mux=virtio" \
		-M virt -cpu cortex-a57 -smp 3 -m 1G -serial "file:$BATS_FILE_TMPDIR/console.log" \
		-device virtio-rng-pci,addr=0x5 \
		-device virtio-serial-pci,id=vser \
		-chardev "socket,id=mux,path=$BATS_FILE_TMPDIR/vm/mux.sock,server=on,wait=off" \
		-device virtserialport,bus=vser.0,chardev=mux,name=upcall.mux
}

teardown_file() {
	guest_shutdown
}

setup() {
	guest_setup
}

actl() {
	gctl --arch aarch64 "$@"
}

online() {
	guest_sh cat /sys/devices/system/cpu/online
}

@test "guest arm64: the module cross-builds against Debian's arm64 headers with no warning at W=1" {
	run grep -iE 'warning|error' "$MODULE_BUILD_LOG"
	assert_failure
	run readelf -h "$GUEST_KO"
	assert_output --regexp 'Machine: +AArch64'
	run guest_sh uname -m
	assert_output 'aarch64'
	run guest_sh "dmesg | grep 'upcall_guest: listening on vsock port 219'"
	assert_success
}

@test "guest arm64: upcallctl reaches the module through hybrid vsock" {
	run actl ping
	assert_success
	assert_output --partial 'device manager answered'
	run graw query-cpus
	assert_success
	assert_output '0'
}

@test "guest arm64: cpu add onlines the lowest offline CPU, the reply names it" {
	run online
	assert_output '0'
	run guest_sh cat /sys/devices/system/cpu/present
	assert_output '0-2'

	run actl cpu add 1
	assert_success
	assert_output --partial 'added 1 vCPU (CPU id 1)'
	run online
	assert_output '0-1'
	run graw query-cpus
	assert_output $'0\n1'

	run actl cpu add 1
	assert_success
	assert_output --partial 'added 1 vCPU (CPU id 2)'
	run online
	assert_output '0-2'
}

@test "guest arm64: cpu del offlines the highest online CPUs, never the boot CPU" {
	run actl cpu del 1
	assert_success
	assert_output --partial 'removed 1 vCPU (CPU id 2)'
	run online
	assert_output '0-1'

	# upcallctl asks the guest first and would not send these two, so
	# they go raw.  One CPU besides the boot CPU is online: two cannot go;
	# the reply names the first CPU above the online range.
	run graw arm64-cpu del 2
	assert_success
	assert_output 'ret -22 cpu_id 2'
	run online
	assert_output '0-1'

	run actl cpu del 1
	assert_success
	assert_output --partial 'removed 1 vCPU (CPU id 1)'
	run online
	assert_output '0'

	# Only the boot CPU is left.
	run graw arm64-cpu del 1
	assert_success
	assert_output 'ret -22 cpu_id 1'
	run actl cpu del 1
	assert_failure 64
	run online
	assert_output '0'
	run guest_sh "dmesg | grep -E 'CPU0: shutdown|psci: CPU0 killed'"
	assert_failure
}

@test "guest arm64: adding more CPUs than are present is refused before any CPU moves" {
	run actl cpu add 3
	assert_failure 1
	assert_output --partial 'guest replied -22 (Invalid argument) to ADD_CPU'
	run online
	assert_output '0'
	run graw arm64-cpu add 3
	assert_output 'ret -22 cpu_id 1'

	run actl cpu add 2
	assert_success
	assert_output --partial 'added 2 vCPUs (CPU ids 1, 2)'
	run online
	assert_output '0-2'
	run actl cpu add 1
	assert_failure 1
	assert_output --partial 'guest replied -22 (Invalid argument) to ADD_CPU'

	run actl cpu del 2
	assert_success
	assert_output --partial 'removed 2 vCPUs (CPU ids 2, 1)'
	run online
	assert_output '0'
}

@test "guest arm64: vcpuctl resizes the real guest, which answers its queries" {
	local inv=$BATS_TEST_TMPDIR/vms.yaml
	cat >"$inv" <<-EOF
	vms:
	  g:
	    target: $GSOCK
	    arch: aarch64
	    boot_vcpu_count: 1
	    max_vcpu_count: 3
	EOF
	chmod 600 "$inv"
	vm() { timeout --kill-after=5 60 "$B/$1" --config "$inv" --vm g --timeout 30 "${@:2}"; }

	run vm vcpuctl set-count 3
	assert_success
	assert_output "added 2 vCPUs (CPU ids 1, 2)"
	run online
	assert_output '0-2'
	run vm vcpuctl get
	assert_output "g: 3 vCPUs online (CPU ids 0, 1, 2), max 3; as the guest reports"
	run vm vcpuctl set-count 1
	assert_success
	run online
	assert_output '0'
	run vm vcpuctl get
	assert_output "g: 1 vCPU online (CPU id 0), max 3; as the guest reports"
}

@test "guest arm64: mem add onlines a block-aligned range, mem del removes it" {
	local before during after
	run guest_sh cat /sys/devices/system/memory/block_size_bytes
	assert_output '8000000'
	before=$(mem_total_kb)

	run actl mem add 256M --base 0x60000000
	assert_success
	during=$(mem_total_kb)
	[ $((during - before)) -eq 262144 ] || fail "MemTotal went from $before to $during kB"
	run guest_sh cat /sys/devices/system/memory/memory12/state /sys/devices/system/memory/memory13/state
	assert_output $'online\nonline'
	run guest_sh "grep -F '60000000-6fffffff : System RAM (upcall)' /proc/iomem"
	assert_success
	run graw query-mem
	assert_output '0x60000000 0x10000000'

	run actl mem add 128M --base 0x44000000
	assert_failure 1
	assert_output --partial 'guest replied -22 (Invalid argument) to ADD_MEM'
	run actl mem add 128M --base 0x48000000
	assert_failure 1
	assert_output --partial 'guest replied -17 (File exists) to ADD_MEM'

	run actl mem del 256M --base 0x60000000
	assert_success
	after=$(mem_total_kb)
	[ "$after" -eq "$before" ] || fail "MemTotal is $after kB after del, $before before add"
	run guest_sh test -e /sys/devices/system/memory/memory12
	assert_failure
	run graw query-mem
	assert_output ''
}

@test "guest arm64: pci del removes the device, pci add rescans it back" {
	run guest_sh cat /sys/bus/pci/devices/0000:00:05.0/vendor
	assert_output '0x1af4'

	run actl pci del 00:05.0
	assert_success
	run guest_sh test -e /sys/bus/pci/devices/0000:00:05.0
	assert_failure

	run actl pci add 00:05.0
	assert_success
	run guest_sh cat /sys/bus/pci/devices/0000:00:05.0/vendor /sys/bus/pci/devices/0000:00:05.0/device
	assert_output $'0x1af4\n0x1005'
}

@test "guest arm64: mmio add is refused as not supported, nothing is registered" {
	# A window in virt's platform-bus area, clear of RAM and of the
	# transports the device tree already describes.
	run actl mmio add --base 0x0c000000 --size 0x200 --irq 40
	assert_failure 1
	assert_output --partial 'guest replied -95 (Operation not supported) to ADD_MMIO'
	run guest_sh "ls /sys/bus/platform/devices | grep -F 'virtio-mmio.'"
	assert_failure
	run actl mmio del --base 0x0c000000 --size 0x200 --irq 40
	assert_failure 1
	assert_output --partial 'guest replied -2 (No such file or directory) to DEL_MMIO'
}

@test "guest arm64: the guest kernel logged no BUG, Oops, WARNING or call trace" {
	assert_guest_kernel_clean
}
