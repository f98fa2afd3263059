#!/usr/bin/env bats
# --wait: reach a guest that is still booting, without busy-looping forever.

load helpers

teardown() {
	stop_stub
}

@test "--wait reaches a stub that starts later" {
	SOCK=$BATS_TEST_TMPDIR/vm.sock
	(sleep 0.5; exec "$STUB" --socket "$SOCK" --pid-file "$BATS_TEST_TMPDIR/late.pid") &
	timed_run timeout 10 "$UPCALLCTL" --vm "$SOCK" --wait=5 ping
	kill "$(cat "$BATS_TEST_TMPDIR/late.pid")" 2>/dev/null || true
	wait
	assert_success
	assert_output --partial "device manager answered"
	assert_took_at_most 3000
}

@test "without --wait a missing socket fails at once" {
	timed_run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/none.sock" ping
	assert_failure 69
	assert_took_at_most 500
}

@test "--wait gives up after its time with the last reason" {
	timed_run timeout 10 "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/none.sock" --wait=0.5 ping
	assert_failure 69
	assert_one_line
	assert_output --partial "No such file or directory (still, after waiting 0.5s)"
	assert_took_at_most 1500
}

@test "--wait retries a guest with no listener yet, then says so" {
	start_stub --fault no-listener
	timed_run timeout 10 "$UPCALLCTL" --vm "$SOCK" --wait=0.5 ping
	assert_failure 69
	assert_output --partial "has no listener in the guest (is the upcall driver loaded?) (still, after waiting 0.5s)"
	assert_took_at_most 1500
}

@test "--wait does not retry what waiting cannot fix" {
	start_stub --fault bad-magic
	timed_run timeout 10 "$UPCALLCTL" --vm "$SOCK" --wait=5 cpu add 1
	assert_failure 76
	assert_took_at_most 1000
}

@test "--wait takes a number of seconds" {
	run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/x.sock" --wait=soon ping
	assert_failure 64
}
