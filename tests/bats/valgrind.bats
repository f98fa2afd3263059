#!/usr/bin/env bats
# Memcheck over representative commands: no leaks, no invalid accesses.

load helpers

setup() {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
}

teardown() {
	stop_stub
}

vg() {
	run valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect,possible --track-fds=yes \
		"$UPCALLCTL" "$@"
}

@test "valgrind: cpu add and del, text and JSON" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	vg --vm "$SOCK" cpu add 2
	assert_success
	vg --vm "$SOCK" -o json cpu del 2
	assert_success
	assert_equal "$(stub_state cpus)" "0"
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
