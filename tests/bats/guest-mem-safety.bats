#!/usr/bin/env bats
# Memory requests that must neither hang, crash nor leak the guest.
#
# One boot for the whole file, as in guest-q35.bats: q35 under TCG, -smp 4
# with maxcpus=1, -m 1G with mem=512M (0x20000000-0x3fffffff is backed but
# unused; blocks 4..7 of 128 MiB).  Nothing here onlines memory QEMU does
# not back: the too-large add must be refused before anything happens.

load '../guest/helpers'

setup_file() {
	guest_require || return 0
	guest_build $Q35_MODS
	guest_boot "console=ttyS0 maxcpus=1 mem=512M upcall_mux=virtio" \
		-M q35 -smp 4 -m 1G -serial "file:$BATS_FILE_TMPDIR/console.log" \
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

upcall_iomem() {
	guest_sh "grep -F '(upcall)' /proc/iomem"
}

@test "guest mem safety: the module builds with no warning at W=1" {
	run grep -iE 'warning|error' "$MODULE_BUILD_LOG"
	assert_failure
}

@test "guest mem safety: an ADD_MEM whose memory map would not fit is refused at once with ENOMEM" {
	local before
	before=$(mem_total_kb)

	# 64 GiB need 1 GiB of struct pages on a guest with less than 512 MiB.
	# The range is free in /proc/iomem (0x100000000-0x8ffffffff is QEMU's
	# 64-bit PCI window, which a 64 GiB range there would straddle).
	run gctl mem add 64G --base 0x1000000000
	assert_failure 1
	assert_output --partial 'guest replied -12 (Cannot allocate memory) to ADD_MEM'
	run upcall_iomem
	assert_output ''
	run guest_sh test -e /sys/devices/system/memory/memory512
	assert_failure
	run mem_total_kb
	assert_output "$before"
	assert_guest_kernel_clean

	run gctl mem add 256M --base 0x20000000
	assert_success
	run upcall_iomem
	assert_output '20000000-2fffffff : System RAM (upcall)'
	run gctl mem del 256M --base 0x20000000
	assert_success
	run upcall_iomem
	assert_output ''
}

@test "guest mem safety: the guest kernel logged no BUG, Oops, WARNING or call trace" {
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}
