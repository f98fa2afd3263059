#!/usr/bin/env bats
# Memory requests that must neither hang, crash nor leak the guest.
#
# One boot for the whole file, as in guest-q35.bats: q35 under TCG, -smp 4
# with maxcpus=1, -m 1G with mem=512M (0x20000000-0x3fffffff is backed but
# unused; blocks 4..7 of 128 MiB).  Nothing here onlines memory QEMU does
# not back: the too-large add must be refused before anything happens.
#
# tests/guest/kmod/upcall_test_refuse.c, built here and appended to the
# initramfs, makes the kernel refuse to online blocks on demand: nothing
# else makes "online_movable" fail on a stock 6.1 guest.

load '../guest/helpers'

# The test module, in a second cpio archive after the first one.
refuse_module_build() {
	local dir=$BATS_FILE_TMPDIR/kmod
	mkdir -p "$dir/root/lib/modules"
	cp "$GUEST_SRC/kmod/upcall_test_refuse.c" "$dir/"
	echo 'obj-m := upcall_test_refuse.o' >"$dir/Kbuild"
	make -C "$KDIR" M="$dir" W=1 modules >"$dir/build.log" 2>&1 || {
		cat "$dir/build.log" >&2
		return 1
	}
	if grep -i 'warning' "$dir/build.log" >&2; then
		return 1
	fi
	cp "$dir/upcall_test_refuse.ko" "$dir/root/lib/modules/"
	(cd "$dir/root" && find . | cpio -o -H newc --quiet) | gzip -1 >>"$GUEST_INITRD"
}

setup_file() {
	guest_require || return 0
	guest_build $Q35_MODS
	refuse_module_build
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

@test "guest mem safety: the module and the test module build with no warning at W=1" {
	run grep -iE 'warning|error' "$MODULE_BUILD_LOG" "$BATS_FILE_TMPDIR/kmod/build.log"
	assert_failure
	run guest_sh 'insmod /lib/modules/upcall_test_refuse.ko && rmmod upcall_test_refuse'
	assert_success
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

@test "guest mem safety: a refused online_movable is never retried as plain online; the add is undone" {
	local before
	before=$(mem_total_kb)

	run guest_sh 'insmod /lib/modules/upcall_test_refuse.ko refuse=1'
	assert_success
	run gctl mem add 128M --base 0x20000000
	assert_failure 1
	assert_output --partial 'guest replied -5 (Input/output error) to ADD_MEM'
	run guest_sh "dmesg | grep -c 'upcall_test_refuse: refusing to online'"
	assert_output '1'
	run upcall_iomem
	assert_output ''
	run guest_sh test -e /sys/devices/system/memory/memory4
	assert_failure
	run graw query-mem
	assert_output ''

	# The second block refused: the first, online by then, goes as well.
	run guest_sh 'cd /sys/module/upcall_test_refuse/parameters && echo 1 >skip && echo 1 >refuse'
	assert_success
	run gctl mem add 256M --base 0x20000000
	assert_failure 1
	assert_output --partial 'guest replied -5 (Input/output error) to ADD_MEM'
	run upcall_iomem
	assert_output ''
	run guest_sh 'ls /sys/devices/system/memory | grep -c "^memory[0-9]"'
	assert_output '4'
	run mem_total_kb
	assert_output "$before"

	# Nothing refusing: the same range goes in, movable.
	run guest_sh 'rmmod upcall_test_refuse'
	assert_success
	run gctl mem add 256M --base 0x20000000
	assert_success
	run guest_sh cat /sys/devices/system/memory/memory4/valid_zones /sys/devices/system/memory/memory5/valid_zones
	assert_output $'Movable\nMovable'
	run gctl mem del 256M --base 0x20000000
	assert_success
	assert_guest_kernel_clean
}

@test "guest mem safety: the guest kernel logged no BUG, Oops, WARNING or call trace" {
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}
