#!/usr/bin/env bats
# Memory requests that must neither hang, crash nor leak the guest:
# DEL_MEM of memory a process pins, an ADD_MEM too large for the guest,
# failed onlining and offlining, DEL_MEM spanning several adds, repeated
# ADD/DEL under memory pressure, and rmmod while DEL_MEM cannot finish.
#
# One boot for the whole file, as in guest-q35.bats: q35 under TCG, -smp 4
# with maxcpus=1, -m 1G with mem=512M (0x20000000-0x3fffffff is backed but
# unused; blocks 4..7 of 128 MiB).  Nothing here onlines memory QEMU does
# not back: the too-large add must be refused before anything happens.
#
# upcall-pin (tests/guest/pin.c) pins a page of a range as an
# unprivileged user would, with vmsplice() into a pipe it never reads;
# offline_pages() then retries migration until the offlining task gets a
# signal.  tests/guest/kmod/upcall_test_refuse.c, built here and appended
# to the initramfs, makes the kernel refuse to online blocks on demand:
# nothing else makes "online_movable" fail on a stock 6.1 guest.

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

# A test that fails must not leave its pinner or hog behind.
teardown() {
	[ -n "${GDIR:-}" ] && [ -z "${GUEST_SKIP:-}" ] || return 0
	guest_sh 'for f in /tmp/pin.pid /tmp/hog.pid; do [ -s $f ] && kill $(cat $f); rm -f $f; done; true' >/dev/null
}

upcall_iomem() {
	guest_sh "grep -F '(upcall)' /proc/iomem"
}

block_state() {
	guest_sh "cat /sys/devices/system/memory/memory$1/state"
}

# pin_start BASE SIZE: pin a page of the range as user nobody; prints
# "pinned pfn 0x... uid 65534".
pin_start() {
	guest_sh "upcall-pin --user 65534 $1 $2 >/tmp/pin.out 2>&1 </dev/null & echo \$! >/tmp/pin.pid" &&
		guest_wait 60 'grep -q pinned /tmp/pin.out' &&
		guest_sh 'cat /tmp/pin.out'
}

pin_stop() {
	guest_sh 'p=$(cat /tmp/pin.pid) && rm /tmp/pin.pid && kill $p && while kill -0 $p 2>/dev/null; do sleep 0.1; done'
}

# del_in_background RANGE BASE: DEL_MEM from the host in the background,
# its output and status in $BATS_TEST_TMPDIR/del.{out,rc}; then wait
# until the guest is offlining block BLOCK ("going-offline" in sysfs).
del_in_background() {
	(rc=0
	 gctl mem del "$1" --base "$2" >"$BATS_TEST_TMPDIR/del.out" 2>&1 || rc=$?
	 echo $rc >"$BATS_TEST_TMPDIR/del.rc") 3>&- &
	DEL_PID=$!
	guest_wait 60 "grep -q going-offline /sys/devices/system/memory/memory$3/state"
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

@test "guest mem safety: DEL_MEM of memory a process pins answers EBUSY; other requests are served meanwhile" {
	local before start rc
	before=$(mem_total_kb)
	run gctl mem add 128M --base 0x20000000
	assert_success
	run pin_start 0x20000000 0x8000000
	assert_success
	assert_output --regexp '^pinned pfn 0x2[0-7][0-9a-f]{3} uid 65534$'

	# Requests queued behind DEL_MEM wait for it to give up, not for the
	# request lock's own deadline (guest-peers.bats covers that one).
	run guest_sh 'echo 60000 >/sys/module/upcall_guest/parameters/lock_timeout_ms'
	assert_success
	start=$SECONDS
	del_in_background 128M 0x20000000 4
	# Connecting needs no request lock; the rest waits for DEL_MEM to give up.
	run gctl ping
	assert_success
	run graw query-mem
	assert_success
	assert_output '0x20000000 0x8000000'
	run gctl cpu add 1 --apic-ids 1
	assert_success
	run gctl cpu del 1 --apic-ids 1
	assert_success

	wait "$DEL_PID"
	rc=$(cat "$BATS_TEST_TMPDIR/del.rc")
	run cat "$BATS_TEST_TMPDIR/del.out"
	[ "$rc" -eq 1 ] || fail "DEL_MEM: exit $rc, $output"
	assert_output --partial 'guest replied -16 (Device or resource busy) to DEL_MEM'
	# It gives up after 3 s without progress; the host tool waits 30 s.
	[ $((SECONDS - start)) -lt 25 ] || fail "DEL_MEM took $((SECONDS - start)) s"
	run guest_sh 'echo 4500 >/sys/module/upcall_guest/parameters/lock_timeout_ms'
	assert_success

	# Nothing moved: the block is back online and still ours.
	run block_state 4
	assert_output 'online'
	run upcall_iomem
	assert_output '20000000-27ffffff : System RAM (upcall)'
	[ $(($(mem_total_kb) - before)) -eq 131072 ] || fail "MemTotal changed"

	# Unpinned, the memory is still used (a process gets pages there) and goes.
	run pin_stop
	assert_success
	run pin_start 0x20000000 0x8000000
	assert_success
	run pin_stop
	assert_success
	run gctl mem del 128M --base 0x20000000
	assert_success
	run upcall_iomem
	assert_output ''
	run graw query-mem
	assert_output ''
	run mem_total_kb
	assert_output "$before"
	assert_guest_kernel_clean
}

@test "guest mem safety: a failed DEL_MEM brings back online only the blocks it took offline" {
	run gctl mem add 384M --base 0x20000000
	assert_success
	# Block 4 offline before the request, block 5 offlined by it, block 6 pinned.
	run guest_sh 'echo offline >/sys/devices/system/memory/memory4/state'
	assert_success
	run pin_start 0x30000000 0x8000000
	assert_success

	run gctl mem del 384M --base 0x20000000
	assert_failure 1
	assert_output --partial 'guest replied -16 (Device or resource busy) to DEL_MEM'
	run guest_sh 'cd /sys/devices/system/memory && cat memory4/state memory5/state memory6/state memory5/valid_zones'
	assert_output $'offline\nonline\nonline\nMovable'

	run pin_stop
	assert_success
	run gctl mem del 384M --base 0x20000000
	assert_success
	run upcall_iomem
	assert_output ''
	assert_guest_kernel_clean
}

# The other way a multi-piece DEL_MEM can fail: every block went offline,
# a piece was removed, then someone onlined a block of a later piece again
# and it cannot go offline.  That needs a process to online the block and
# pin a page in it within a window of microseconds, which no test can
# arrange; the module then adds the removed pieces back.
@test "guest mem safety: DEL_MEM over two adds with one pinned leaves both added and online" {
	run gctl mem add 128M --base 0x20000000
	assert_success
	run gctl mem add 128M --base 0x28000000
	assert_success
	run pin_start 0x28000000 0x8000000
	assert_success

	run gctl mem del 256M --base 0x20000000
	assert_failure 1
	assert_output --partial 'guest replied -16 (Device or resource busy) to DEL_MEM'
	run upcall_iomem
	assert_output $'20000000-27ffffff : System RAM (upcall)\n28000000-2fffffff : System RAM (upcall)'
	run guest_sh 'cat /sys/devices/system/memory/memory4/state /sys/devices/system/memory/memory5/state'
	assert_output $'online\nonline'
	run graw query-mem
	assert_output '0x20000000 0x10000000'

	run pin_stop
	assert_success
	run gctl mem del 256M --base 0x20000000
	assert_success
	run upcall_iomem
	assert_output ''
	run graw query-mem
	assert_output ''
	assert_guest_kernel_clean
}

@test "guest mem safety: repeated ADD_MEM/DEL_MEM under memory pressure leaves /proc/iomem consistent" {
	local before i try rc out
	before=$(mem_total_kb)
	# 200 MiB churned on a guest with about 430 MiB free at boot: user
	# pages come from the added memory first, so each DEL_MEM migrates.
	run guest_sh 'upcall-pin --hog 200 >/dev/null 2>&1 </dev/null & echo $! >/tmp/hog.pid'
	assert_success

	for i in 1 2 3 4; do
		if [ $((i % 2)) -eq 1 ]; then
			run gctl mem add 256M --base 0x20000000
			assert_success
			run upcall_iomem
			assert_output '20000000-2fffffff : System RAM (upcall)'
		else
			run gctl mem add 128M --base 0x20000000
			assert_success
			run gctl mem add 128M --base 0x28000000
			assert_success
			run upcall_iomem
			assert_output $'20000000-27ffffff : System RAM (upcall)\n28000000-2fffffff : System RAM (upcall)'
		fi
		out=$(upcall_iomem)
		# Migration may outlast the deadline here: then nothing moved.
		for try in 1 2 3 4 5; do
			run gctl mem del 256M --base 0x20000000
			rc=$status
			[ "$rc" -eq 0 ] && break
			assert_output --partial 'guest replied -16 (Device or resource busy) to DEL_MEM'
			run upcall_iomem
			assert_output "$out"
			run guest_sh 'cat /sys/devices/system/memory/memory4/state /sys/devices/system/memory/memory5/state'
			assert_output $'online\nonline'
		done
		[ "$rc" -eq 0 ] || fail "round $i: DEL_MEM busy $try times"
		run upcall_iomem
		assert_output ''
		run graw query-mem
		assert_output ''
	done

	run guest_sh 'kill $(cat /tmp/hog.pid) && rm /tmp/hog.pid'
	assert_success
	run guest_sh 'ls /sys/devices/system/memory | grep -c "^memory[0-9]"'
	assert_output '4'
	run mem_total_kb
	assert_output "$before"
	assert_guest_kernel_clean
}

# Last: the memory added here stays for the rest of the boot.
@test "guest mem safety: rmmod while DEL_MEM cannot finish completes; the memory stays online" {
	local rc
	run gctl mem add 128M --base 0x30000000
	assert_success
	run pin_start 0x30000000 0x8000000
	assert_success

	del_in_background 128M 0x30000000 6
	run guest_sh rmmod upcall_guest
	assert_success
	wait "$DEL_PID"
	rc=$(cat "$BATS_TEST_TMPDIR/del.rc")
	[ "$rc" -ne 0 ] || fail "DEL_MEM succeeded"
	run cat "$BATS_TEST_TMPDIR/del.out"
	assert_output --partial 'closed the connection'

	run block_state 6
	assert_output 'online'
	run upcall_iomem
	assert_output '30000000-37ffffff : System RAM (upcall)'
	run guest_sh 'insmod /lib/modules/upcall_guest.ko allow_local=1'
	assert_success
	run gctl ping
	assert_success
	run pin_stop
	assert_success
	# A new load has no record of that memory (see the README).
	run gctl mem del 128M --base 0x30000000
	assert_failure 1
	assert_output --partial 'guest replied -2 (No such file or directory) to DEL_MEM'
	assert_guest_kernel_clean
}

@test "guest mem safety: the guest kernel logged no BUG, Oops, WARNING or call trace" {
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}
