#!/usr/bin/env bats
# The guest module in Debian's 6.1 kernel, booted under QEMU (TCG) on q35:
# vCPUs, memory, PCI, malformed input, reloads and the peer policy, driven
# by upcallctl through a hybrid vsock socket as a VMM would offer it.
#
# One boot for the whole file: -smp 4 with maxcpus=1 (CPUs 1-3 present but
# offline, APIC ID n = CPU n), -m 1G with mem=512M (0x20000000.. is backed
# but unused), a virtio-rng at 00:05.0 to remove and rescan.

load '../guest/helpers'

setup_file() {
	guest_require || return 0
	guest_build $Q35_MODS
	guest_boot "console=ttyS0 maxcpus=1 mem=512M upcall_mux=virtio" \
		-M q35 -smp 4 -m 1G -serial "file:$BATS_FILE_TMPDIR/console.log" \
		-device virtio-serial-pci,id=vser \
		-chardev "socket,id=mux,path=$BATS_FILE_TMPDIR/vm/mux.sock,server=on,wait=off" \
		-device virtserialport,bus=vser.0,chardev=mux,name=upcall.mux \
		-device virtio-rng-pci,addr=0x5
}

teardown_file() {
	guest_shutdown
}

setup() {
	guest_setup
}

@test "guest: the module builds against Debian's 6.1 headers with no warning at W=1" {
	run grep -iE 'warning|error' "$MODULE_BUILD_LOG"
	assert_failure
	run guest_sh "dmesg | grep 'upcall_guest: listening on vsock port 219'"
	assert_success
}

@test "guest: the DKMS source tree carries the wire header and builds on its own" {
	local dest=$BATS_TEST_TMPDIR/dkms
	run make -C "$REPO/guest-driver" dkms-src DESTDIR="$dest"
	assert_success
	run make -C "$KDIR" M="$dest/usr/src/upcall-guest-0.2.0" W=1 modules
	assert_success
	refute_output --partial 'warning'
	[ -f "$dest/usr/src/upcall-guest-0.2.0/upcall_guest.ko" ]
	grep -q '^BUILT_MODULE_NAME\[0\]="upcall_guest"' "$dest/usr/src/upcall-guest-0.2.0/dkms.conf"
}

@test "guest: upcallctl reaches the module through hybrid vsock" {
	run gctl ping
	assert_success
	assert_output --partial 'device manager answered'
}

@test "guest: cpu add by APIC ID brings CPUs online, cpu del takes them down" {
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'

	run gctl cpu add 2 --apic-ids 1,2
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0-2'
	run graw query-cpus
	assert_success
	assert_output $'0\n1\n2'

	run gctl cpu del 2 --apic-ids 2,1
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'
}

@test "guest: cpu del of the boot CPU and cpu add of an online CPU are refused with EINVAL" {
	run gctl cpu del 1 --apic-ids 0
	assert_failure 1
	assert_output --partial 'guest replied -22 (Invalid argument) to DEL_CPU'

	run gctl cpu add 1 --apic-ids 0
	assert_failure 1
	assert_output --partial 'guest replied -22 (Invalid argument) to ADD_CPU'

	# The whole request is refused before any CPU moves.
	run gctl cpu add 2 --apic-ids 3,0
	assert_failure 1
	assert_output --partial '-22 (Invalid argument)'
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'
}

@test "guest: with two CPUs online, deleting only the boot CPU is refused with EINVAL" {
	run gctl cpu add 1 --apic-ids 1
	assert_success
	# not every CPU would go: only the boot-CPU rule refuses this
	run gctl cpu del 1 --apic-ids 0
	assert_failure 1
	assert_output --partial 'guest replied -22 (Invalid argument) to DEL_CPU'
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0-1'
	run gctl cpu del 1 --apic-ids 1
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'
	assert_guest_kernel_clean
}

@test "guest: an APIC ID no CPU has is refused with ENODEV; the last CPU stays" {
	run gctl cpu add 1 --apic-ids 9
	assert_failure 1
	assert_output --partial 'guest replied -19 (No such device) to ADD_CPU'

	run gctl cpu add 1 --apic-ids 3
	assert_success
	# Two CPUs online: removing both would leave none.
	run gctl cpu del 2 --apic-ids 3,0
	assert_failure 1
	run gctl cpu del 1 --apic-ids 3
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'
}

@test "guest: mem add onlines a block-aligned range, mem del removes it" {
	local before during after
	before=$(mem_total_kb)

	run gctl mem add 256M --base 0x20000000
	assert_success
	during=$(mem_total_kb)
	[ $((during - before)) -eq 262144 ] || fail "MemTotal went from $before to $during kB"
	run guest_sh cat /sys/devices/system/memory/memory4/state /sys/devices/system/memory/memory5/state
	assert_output $'online\nonline'
	run guest_sh "grep -F '20000000-2fffffff : System RAM (upcall)' /proc/iomem"
	assert_success
	run graw query-mem
	assert_output '0x20000000 0x10000000'

	run gctl mem del 256M --base 0x20000000
	assert_success
	after=$(mem_total_kb)
	[ "$after" -eq "$before" ] || fail "MemTotal is $after kB after del, $before before add"
	run guest_sh test -e /sys/devices/system/memory/memory4
	assert_failure
	run graw query-mem
	assert_output ''
}

@test "guest: unaligned, boot-RAM and unknown memory ranges are refused" {
	local before
	before=$(mem_total_kb)

	run gctl mem add 64M --base 0x20000000
	assert_failure 1
	assert_output --partial 'guest replied -22 (Invalid argument) to ADD_MEM'
	run gctl mem add 128M --base 0x21000000
	assert_failure 1
	assert_output --partial '-22 (Invalid argument)'
	run gctl mem add 128M --base 0x08000000
	assert_failure 1
	assert_output --partial 'guest replied -17 (File exists) to ADD_MEM'
	run gctl mem del 128M --base 0x08000000
	assert_failure 1
	assert_output --partial 'guest replied -2 (No such file or directory) to DEL_MEM'

	run mem_total_kb
	assert_output "$before"
}

@test "guest: mem del of two adjacent added ranges in one request removes both" {
	local before
	before=$(mem_total_kb)

	run gctl mem add 128M --base 0x20000000
	assert_success
	run gctl mem add 128M --base 0x28000000
	assert_success
	run guest_sh "grep -c 'System RAM (upcall)' /proc/iomem"
	assert_output '2'
	# QUERY_MEM shows them as one range, which is what a client deletes.
	run graw query-mem
	assert_output '0x20000000 0x10000000'

	# Partly ours: refused before anything moves.
	run gctl mem del 384M --base 0x20000000
	assert_failure 1
	assert_output --partial 'guest replied -2 (No such file or directory) to DEL_MEM'
	run guest_sh "grep -c 'System RAM (upcall)' /proc/iomem"
	assert_output '2'

	run gctl mem del 256M --base 0x20000000
	assert_success
	run guest_sh "grep -F '(upcall)' /proc/iomem"
	assert_failure
	assert_output ''
	run graw query-mem
	assert_output ''
	[ "$(mem_total_kb)" -eq "$before" ] || fail "MemTotal did not come back to $before kB"
	run guest_sh test -e /sys/devices/system/memory/memory5
	assert_failure

	# Nothing stale is left behind: the same range goes in and out again.
	run gctl mem add 256M --base 0x20000000
	assert_success
	run guest_sh "grep -F '20000000-2fffffff : System RAM (upcall)' /proc/iomem"
	assert_success
	run gctl mem del 256M --base 0x20000000
	assert_success
	run guest_sh "grep -F '(upcall)' /proc/iomem"
	assert_failure
}

@test "guest: pci del removes the device, pci add rescans it back" {
	run guest_sh cat /sys/bus/pci/devices/0000:00:05.0/vendor
	assert_output '0x1af4'

	run gctl pci del 00:05.0
	assert_success
	run guest_sh test -e /sys/bus/pci/devices/0000:00:05.0
	assert_failure
	run gctl pci del 00:05.0
	assert_failure 1
	assert_output --partial 'guest replied -19 (No such device) to DEL_PCI'

	run gctl pci add 00:05.0
	assert_success
	run guest_sh cat /sys/bus/pci/devices/0000:00:05.0/vendor /sys/bus/pci/devices/0000:00:05.0/device
	assert_output $'0x1af4\n0x1005'

	# Nothing at 00:07.0: the rescan finds nothing there.
	run gctl pci add 00:07.0
	assert_failure 1
	assert_output --partial 'guest replied -2 (No such file or directory) to ADD_PCI'
}

# The guest's PCI functions as pci list prints them, from /sys.
sys_pci_list() {
	guest_sh 'for d in /sys/bus/pci/devices/*; do
		printf "  %s %s:%s class %s\n" "${d##*/}" "$(cut -c3- $d/vendor)" \
			"$(cut -c3- $d/device)" "$(cut -c3- $d/class)"
	done'
}

@test "guest: pci list matches /sys; a function pci add brought back is marked added" {
	# 00:05.0 came back through pci add in the test before.
	run sys_pci_list
	assert_success
	assert_output --partial '  0000:00:05.0 1af4:1005 class 00ff00'
	local sys=$output n
	n=$(grep -c . <<<"$sys")
	run gctl pci list
	assert_success
	assert_line --index 0 "$n PCI functions, 1 added through upcall"
	assert_line '  0000:00:05.0 1af4:1005 class 00ff00 (added through upcall)'
	assert_equal "$(tail -n +2 <<<"$output" | sed 's/ (added through upcall)$//')" "$sys"

	run gctl pci del 00:05.0
	assert_success
	run gctl pci list
	assert_line --index 0 "$((n - 1)) PCI functions, 0 added through upcall"
	refute_output --partial '0000:00:05.0'
	run sys_pci_list
	assert_equal "$(gctl pci list | tail -n +2)" "$output"

	run gctl pci add 00:05.0
	assert_success
	run gctl -o json pci list
	assert_output --partial '{"address":"0000:00:05.0","segment":0,"bus":0,"devfn":40,"vendor":"1af4","device":"1005","class":"00ff00","added":true}'
	# The wire: a page from past the end is empty, a pad that is not zero refused.
	run graw list pci "$n"
	assert_output "ret 0 size 16 total $n start $n count 0"
	run graw list pci 0 --pad 7
	assert_output 'ret -22 size 0'
	assert_guest_kernel_clean
}

@test "guest: vcpuctl and memctl resize the real guest, which answers their queries" {
	local inv=$BATS_TEST_TMPDIR/vms.yaml before
	cat >"$inv" <<-EOF
	vms:
	  g:
	    target: $GSOCK
	    boot_vcpu_count: 1
	    max_vcpu_count: 4
	    memory:
	      block_size: 128M
	      regions:
	        - {base: 0x20000000, size: 512M}
	EOF
	chmod 600 "$inv"
	vm() { timeout --kill-after=5 60 "$B/$1" --config "$inv" --vm g --timeout 30 "${@:2}"; }

	run vm vcpuctl set-count 3
	assert_success
	assert_output "added 2 vCPUs (APIC IDs 1, 2)"
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0-2'
	run vm vcpuctl get
	assert_output "g: 3 vCPUs online (APIC IDs 0, 1, 2), max 4; as the guest reports"
	run vm vcpuctl set-count 1
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'

	before=$(mem_total_kb)
	run vm memctl add 128M
	assert_success
	assert_output "added 128MiB of memory at 0x20000000-0x27ffffff"
	[ $(($(mem_total_kb) - before)) -eq 131072 ] || fail "MemTotal did not grow by 128 MiB"
	run vm memctl list
	assert_line "g: 1 hot-added range, 128MiB in all; as the guest reports"
	run vm memctl del 128M --base 0x20000000
	assert_success
	[ "$(mem_total_kb)" -eq "$before" ] || fail "MemTotal did not come back"
}

@test "guest: memory added before rmmod stays, and /proc/iomem still reads cleanly" {
	run gctl mem add 128M --base 0x30000000
	assert_success
	run guest_sh rmmod upcall_guest
	assert_success

	# The resource's name lives on after the module's memory is gone.
	run guest_sh cat /proc/iomem
	assert_success
	assert_output --partial '30000000-37ffffff : System RAM (upcall)'
	assert_guest_kernel_clean
	run guest_sh cat /sys/devices/system/memory/memory6/state
	assert_output 'online'
	run guest_sh "dmesg | grep -F 'hot-added memory stays; its resource name is kept'"
	assert_success

	# A new load does not know that memory and will not add over it; its
	# own unload, with none of its memory left, frees its copy of the name.
	run guest_sh 'insmod /lib/modules/upcall_guest.ko allow_local=1'
	assert_success
	run gctl mem add 128M --base 0x30000000
	assert_failure 1
	assert_output --partial 'guest replied -17 (File exists) to ADD_MEM'
	run guest_sh 'rmmod upcall_guest && cat /proc/iomem && insmod /lib/modules/upcall_guest.ko allow_local=1'
	assert_success
	assert_output --partial '30000000-37ffffff : System RAM (upcall)'
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}

@test "guest: the service byte is awaited 10 s; an unknown one closes at once" {
	# at once: not after the 10 s wait
	run graw service 0x78
	assert_success
	[ "${output%.*}" -lt 8 ] || fail "unknown service byte: closed after $output s"

	# after the wait, and not never (upcall-raw.py gives up at 30 s)
	run graw silent
	assert_success
	[ "${output%.*}" -ge 9 ] || fail "no service byte: closed after $output s"
	[ "${output%.*}" -lt 30 ] || fail "no service byte: still open after $output s"
}

@test "guest: thousands of malformed frames and cut connections, then still serving" {
	run graw fuzz --count 4000
	echo "$output"
	assert_success
	assert_output --regexp 'fuzz: seed [0-9]+, [0-9]+ frames answered \(([0-9]+) well-formed refusals\)'

	# Three at once: connections served side by side, requests serialised.
	local i
	for i in 1 2 3; do
		graw fuzz --count 1000 >"$BATS_TEST_TMPDIR/fuzz$i.out" 2>&1 3>&- &
	done
	for i in 1 2 3; do
		wait -n || { cat "$BATS_TEST_TMPDIR"/fuzz*.out; fail "a parallel fuzzer failed"; }
	done

	assert_guest_kernel_clean
	run gctl cpu add 1 --apic-ids 1
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0-1'
	run gctl cpu del 1 --apic-ids 1
	assert_success
}

@test "guest: rmmod with connections open, then insmod, five times over" {
	local i ready=$BATS_TEST_TMPDIR/ready
	for i in 1 2 3 4 5; do
		# One connection mid-session, one that never sent its service byte.
		rm -f "$ready".*
		graw --ready "$ready.silent" silent >/dev/null 2>&1 3>&- &
		graw --ready "$ready.hold" hold >/dev/null 2>&1 3>&- &
		for _ in $(seq 300); do
			[ -e "$ready.silent" ] && [ -e "$ready.hold" ] && break
			sleep 0.1
		done
		assert [ -e "$ready.silent" ]
		assert [ -e "$ready.hold" ]
		run guest_sh 'rmmod upcall_guest && insmod /lib/modules/upcall_guest.ko allow_local=1'
		assert_success
	done
	wait
	run guest_sh "lsmod | grep -c '^upcall_guest '"
	assert_output '1'
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}

# What a native AF_VSOCK client does, as the host side would over
# vhost-vsock; the module serves the guest's own loopback (CID 1) when
# loaded with allow_local=1, as this guest's init does.
@test "guest: upcallctl reaches the module over native vsock (vsock:1 inside the guest)" {
	run guest_sh test -x /bin/upcallctl
	[ "$status" -eq 0 ] || skip "upcallctl is not a static binary (STATIC=0): it cannot run in the guest"
	local uc='UPCALL_STATE_DIR=/tmp/upcall upcallctl --vm vsock:1 --timeout 30'
	run guest_sh "$uc ping"
	assert_success
	assert_output --regexp '^vsock:1:219: device manager answered in [0-9]+\.[0-9]{3} ms$'
	run guest_sh "$uc cpu add 1 --apic-ids 2"
	assert_success
	assert_output 'added 1 vCPU (APIC ID 2)'
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0,2'
	run guest_sh "$uc cpu del 1 --apic-ids 2"
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'
	# a port nobody listens on is unreachable, not a hang
	run guest_sh "$uc --port 220 ping"
	assert_failure 69
	assert_output --partial 'has no listener in the guest'
}

@test "guest: libupcall's event loop drives native vsock sessions (vsock:1 inside the guest)" {
	run guest_sh test -x /bin/upcall-evloop
	[ "$status" -eq 0 ] || skip "no static build of the event-loop test program (GUEST_CC set)"
	# three sessions at once from one thread, each a handshake and
	# QUERY_CPUS that must list the one online CPU
	run guest_sh "upcall-evloop -t 30000 vsock:1=1 vsock:1=1 vsock:1=1"
	assert_success
	assert_output --regexp '^3 VMs from one thread: 3 handshakes, 3 QUERY_CPUS replies as each VM answered; '
	# and a port nobody listens on reads the same both ways
	run guest_sh "upcall-evloop -t 5000 --compare vsock:1:220"
	assert_success
	assert_line --index 0 --regexp '^async: unreachable: '
}

@test "guest: by default only the host (CID 2) is served, a local peer is refused" {
	run guest_sh 'rmmod upcall_guest && insmod /lib/modules/upcall_guest.ko'
	assert_success

	run gctl ping
	assert_failure
	run guest_sh "dmesg | grep -c 'refused connection from CID 1'"
	assert_success
	[ "$output" -ge 1 ]

	run guest_sh 'rmmod upcall_guest && insmod /lib/modules/upcall_guest.ko allow_local=1'
	assert_success
	run gctl ping
	assert_success
}

@test "guest: the guest kernel logged no BUG, Oops, WARNING or call trace" {
	assert_guest_kernel_clean
}
