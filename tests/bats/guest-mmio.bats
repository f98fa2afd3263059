#!/usr/bin/env bats
# ADD_MMIO / DEL_MMIO in Debian's 6.1 kernel on QEMU's microvm (TCG).
#
# With acpi=off and auto-kernel-cmdline=off the guest cannot discover the
# virtio-mmio transports, so the virtio-blk disk (the first -device lands
# on the last transport: 0xfeb00e00, size 0x200, IRQ 12) stays invisible
# until upcall registers it.  The one serial line carries the bridge.

load '../guest/helpers'

DISK_BASE=0xfeb00e00
DISK_SIZE=0x200
DISK_IRQ=12

setup_file() {
	guest_require || return 0
	guest_build $MICROVM_MODS
	export DISK_MARK="upcall-mmio-disk-$RANDOM$RANDOM"
	local disk=$BATS_FILE_TMPDIR/disk.raw
	truncate -s 1M "$disk"
	printf '%s' "$DISK_MARK" | dd of="$disk" conv=notrunc status=none
	mkdir -p "$BATS_FILE_TMPDIR/vm"
	guest_boot "upcall_mux=ttyS0 reboot=t" \
		-M microvm,acpi=off,auto-kernel-cmdline=off -m 256M \
		-chardev "socket,id=mux,path=$BATS_FILE_TMPDIR/vm/mux.sock,server=on,wait=off" \
		-serial chardev:mux \
		-device virtio-blk-device,drive=d0 \
		-drive "if=none,id=d0,file=$disk,format=raw"
}

teardown_file() {
	guest_shutdown
}

setup() {
	guest_setup
}

mmio() {
	gctl mmio "$1" --base "${2:-$DISK_BASE}" --size "${3:-$DISK_SIZE}" --irq "${4:-$DISK_IRQ}"
}

@test "guest mmio: the disk is invisible before upcall registers its transport" {
	run guest_sh 'ls /sys/block'
	assert_success
	refute_output --partial vda
}

@test "guest mmio: mmio add makes /dev/vda appear with the disk's contents" {
	run mmio add
	assert_success
	guest_wait 10 'test -b /dev/vda' || fail "no /dev/vda after mmio add"
	run guest_sh "head -c ${#DISK_MARK} /dev/vda"
	assert_output "$DISK_MARK"
	run guest_sh "grep -E '^ *$DISK_IRQ:.*virtio' /proc/interrupts"
	assert_success
}

@test "guest mmio: the same window twice, RAM and claimed windows are refused" {
	run mmio add
	assert_failure 1
	assert_output --partial 'guest replied -17 (File exists) to ADD_MMIO'
	# Low RAM.
	run mmio add 0x100000 0x1000 5
	assert_failure 1
	assert_output --partial 'guest replied -22 (Invalid argument) to ADD_MMIO'
	# The local APIC's registers.
	run mmio add 0xfee00000 0x1000 5
	assert_failure 1
	assert_output --partial 'guest replied -16 (Device or resource busy) to ADD_MMIO'
	run guest_sh 'ls /sys/bus/platform/devices | grep -c "^virtio-mmio\."'
	assert_output '1'
}

@test "guest mmio: a window with no virtio device behind it is refused and unregistered" {
	# Unassigned (reads as zeros, no virtio magic), then QEMU's first,
	# empty transport (virtio magic, device ID 0).
	local base
	for base in 0xd0000000 0xfeb00000; do
		run mmio add "$base" 0x200 5
		assert_failure 1
		assert_output --partial 'guest replied -19 (No such device) to ADD_MMIO'
		run guest_sh "dmesg | grep -c 'nothing at $base size 0x200 irq 5 answered'"
		assert_output '1'
		run guest_sh "grep -i '${base#0x}' /proc/iomem || true"
		assert_output ''
	done
	# Only the disk's device is left; the refused ones took no id.
	run guest_sh 'ls /sys/bus/platform/devices | grep "^virtio-mmio\."'
	assert_output 'virtio-mmio.30064'
	run guest_sh 'test -b /dev/vda'
	assert_success
}

@test "guest mmio: mmio list names the window and IRQ registered, as /proc/iomem does" {
	# The window the platform device holds, named after it (virtio-mmio.ID).
	run guest_sh "sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : virtio-mmio\.[0-9]*\$/0x\1-0x\2/p' /proc/iomem | sort -u"
	assert_output '0xfeb00e00-0xfeb00fff'
	run guest_sh "grep -cE '^ *$DISK_IRQ:.*virtio' /proc/interrupts"
	assert_output '1'
	run gctl mmio list
	assert_success
	assert_output $'1 virtio-mmio device added through upcall\n  0xfeb00e00-0xfeb00fff (512) IRQ 12'
	run gctl -o json mmio list
	assert_output --partial '"devices":[{"base":4272950784,"base_hex":"0xfeb00e00","size":512,"size_hex":"0x200","irq":12}]'
	# The wire: a page from past the end is empty, a pad that is not zero refused.
	run graw list mmio 1
	assert_output 'ret 0 size 16 total 1 start 1 count 0'
	run graw list mmio 0 --pad 1
	assert_output 'ret -22 size 0'
	run graw list mmio 0
	assert_output $'ret 0 size 40 total 1 start 0 count 1\n0xfeb00e00 0x200 12 0'
}

@test "guest mmio: after mmio del the list is empty, after mmio add it is back" {
	run mmio del
	assert_success
	run gctl mmio list
	assert_success
	assert_output '0 virtio-mmio devices added through upcall'
	run guest_sh "grep -c ' : virtio-mmio' /proc/iomem"
	assert_output '0'
	run mmio add
	assert_success
	guest_wait 10 'test -b /dev/vda' || fail "no /dev/vda after mmio add"
	run gctl mmio list
	assert_output $'1 virtio-mmio device added through upcall\n  0xfeb00e00-0xfeb00fff (512) IRQ 12'
	assert_guest_kernel_clean
}

@test "guest mmio: mmio del removes exactly the device registered for that window" {
	# Same window, other IRQ: not that device.
	run mmio del "$DISK_BASE" "$DISK_SIZE" 5
	assert_failure 1
	assert_output --partial 'guest replied -2 (No such file or directory) to DEL_MMIO'
	run guest_sh 'test -b /dev/vda'
	assert_success

	run mmio del
	assert_success
	run guest_sh 'test -e /sys/block/vda'
	assert_failure
	run guest_sh 'ls /sys/bus/platform/devices | grep "^virtio-mmio\." || true'
	assert_output ''
	run guest_sh "grep -i feb00e00 /proc/iomem || true"
	assert_output ''

	run mmio del
	assert_failure 1
	assert_output --partial '-2 (No such file or directory)'
}

@test "guest mmio: mmio add is refused while the virtio_mmio driver is not loaded" {
	run guest_sh 'rmmod virtio_mmio'
	assert_success
	run mmio add
	local status_add=$status output_add=$output
	run guest_sh 'insmod /lib/modules/virtio_mmio.ko'
	assert_success
	status=$status_add output=$output_add
	assert_failure 1
	assert_output --partial 'guest replied -19 (No such device) to ADD_MMIO'
	run guest_sh 'dmesg | grep -c "refused: the virtio_mmio driver is not loaded"'
	assert_output '1'
	run guest_sh 'ls /sys/bus/platform/devices | grep "^virtio-mmio\." || true'
	assert_output ''
	run guest_sh 'test -e /sys/block/vda'
	assert_failure
}

@test "guest mmio: a reloaded module removes a device an earlier load added" {
	run mmio add
	assert_success
	guest_wait 10 'test -b /dev/vda' || fail "no /dev/vda after mmio add"
	# Unloading leaves the device (release_on_unload=0), the next load finds it.
	run guest_sh 'rmmod upcall_guest && insmod /lib/modules/upcall_guest.ko allow_local=1 && test -b /dev/vda'
	assert_success
	run mmio del
	assert_success
	run guest_sh 'test -e /sys/block/vda'
	assert_failure
}

@test "guest mmio: release_on_unload=1 unregisters the module's devices on rmmod" {
	run guest_sh 'rmmod upcall_guest && insmod /lib/modules/upcall_guest.ko allow_local=1 release_on_unload=1'
	assert_success
	run mmio add
	assert_success
	guest_wait 10 'test -b /dev/vda' || fail "no /dev/vda after mmio add"
	run guest_sh 'rmmod upcall_guest && test ! -e /sys/block/vda && insmod /lib/modules/upcall_guest.ko allow_local=1'
	assert_success
	assert_guest_kernel_clean
}
