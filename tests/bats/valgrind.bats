#!/usr/bin/env bats
# bats file_tags=valgrind
# Memcheck over representative commands: no leaks, no invalid accesses.

load inventory_helpers

setup() {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	# valgrind and AddressSanitizer cannot share a process
	! grep -qa __asan_init "$UPCALLCTL" || skip "built with AddressSanitizer"
	UPCALLCTL=$(memcheck_tool upcallctl)
	VCPUCTL=$(memcheck_tool vcpuctl)
	MEMCTL=$(memcheck_tool memctl)
}

teardown() {
	stop_stub
}

VG=(valgrind -q --error-exitcode=99 --leak-check=full
	--errors-for-leak-kinds=definite,indirect,possible --track-fds=yes)

vg() {
	run "${VG[@]}" "$UPCALLCTL" "$@"
}

@test "valgrind: the tools it runs are dynamic, so it sees every malloc" {
	local t
	for t in "$UPCALLCTL" "$VCPUCTL" "$MEMCTL"; do
		run readelf -d "$t"
		assert_output --partial "Shared library: [libc.so"
	done
}

@test "valgrind: cpu add and del, text and JSON" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	vg --vm "$SOCK" cpu add 2
	assert_success
	vg --vm "$SOCK" -o json cpu del 2
	assert_success
	assert_equal "$(stub_state cpus)" "0"
}

@test "valgrind: the four lists, text and JSON, and a guest that cannot list" {
	start_stub --boot-vcpus 2 --max-vcpus 8 --pci 00:03.0
	"$UPCALLCTL" --vm "$SOCK" mmio add --base 0xd0000000 --size 0x1000 --irq 5
	local what
	for what in cpu mem mmio pci; do
		vg --vm "$SOCK" "$what" list
		assert_success
		vg --vm "$SOCK" -o json "$what" list
		assert_success
	done
	stop_stub
	start_stub --upstream
	vg --vm "$SOCK" -o json pci list
	assert_failure 1
	assert_output --partial '"status":"unsupported"'
}

@test "valgrind: guest refusal and protocol error" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	vg --vm "$SOCK" cpu del 1 --apic-ids 0
	assert_failure 1
	stop_stub
	start_stub --fault bad-magic
	vg --vm "$SOCK" mem add 128M --base 0x100000000
	assert_failure 76
}

@test "valgrind: timeout and usage error" {
	start_stub --fault no-reply
	vg --vm "$SOCK" --timeout 0.5 pci del 00:03.0
	assert_failure 75
	vg --vm "$SOCK" cpu add 0
	assert_failure 64
}

@test "valgrind: a fleet run over live and dead VMs, text and JSON" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	vg -j 2 --vm "$SOCK" --vm "$BATS_TEST_TMPDIR/gone.sock" cpu add 1
	assert_failure 3
	vg -j 2 -o json --vm "$SOCK" --vm "$BATS_TEST_TMPDIR/gone.sock" cpu del 1
	assert_failure 3
	assert_equal "$(stub_state cpus)" "0"
}

@test "valgrind: vcpuctl and memctl through the inventory and the state record" {
	inv_setup
	write_inventory "max_vcpu_count: 8" "memory: {block_size: 128M, regions: [{base: 0x100000000, size: 1G}]}"
	start_stub --boot-vcpus 1 --max-vcpus 8
	run "${VG[@]}" "$VCPUCTL" --config "$INV" --vm web1 set-count 3
	assert_success
	run "${VG[@]}" "$VCPUCTL" --config "$INV" --vm web1 -o json get
	assert_success
	run "${VG[@]}" "$MEMCTL" --config "$INV" --vm web1 add 256M
	assert_success
	run "${VG[@]}" "$MEMCTL" --config "$INV" --vm web1 add 2G
	assert_failure 64
	assert_equal "$(stub_state cpus)" "0,1,2"
	assert_equal "$(stub_state mem)" "0x100000000+0x10000000"
}

@test "valgrind: the stub through requests, refusals and a client gone mid-frame" {
	SOCK=$BATS_TEST_TMPDIR/vm.sock
	"${VG[@]}" --log-file="$BATS_TEST_TMPDIR/vg.log" "$STUB" --socket "$SOCK" \
		--max-vcpus 8 --pid-file "$BATS_TEST_TMPDIR/vg.pid" 3>&- &
	local pid=$! i
	for i in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/vg.pid" ] && break
		sleep 0.1
	done
	ctl cpu add 2
	ctl mem add 128M --base 0x100000000
	run ctl cpu del 1 --apic-ids 0
	assert_failure 1
	run ctl pci del 00:03.0
	assert_failure 1
	# a client that dies mid-frame
	timeout 2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"CONNECT 219\nd"); s.recv(4096); s.sendall(b"x" * 100)' "$SOCK"
	kill -TERM "$pid"
	wait "$pid"
	local rc=$?
	cat "$BATS_TEST_TMPDIR/vg.log"
	assert_equal "$rc" 0
	# no errors, and no descriptor left open that the stub opened itself
	run awk '/== Open / { open = $0; next }
		open && /inherited from parent/ { open = ""; next }
		open { print open; open = "" }
		/Invalid|uninitialised|lost in/' "$BATS_TEST_TMPDIR/vg.log"
	assert_output ""
}
