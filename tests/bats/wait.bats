#!/usr/bin/env bats
# --wait: reach a guest that is still booting, without busy-looping forever.
# How fast a waiting client sees the guest come up is bench #3's
# (bench/README.md); these tests bound only that nothing hangs.

load helpers

teardown() {
	stop_stub
}

# late_guest UPCALLCTL-ARGS...: run upcallctl on $SOCK in the background
# against a VMM whose guest has no listener yet; once the stub has turned
# it away, replace the stub by a guest that answers.  Sets $rc and $output.
late_guest() {
	start_stub --verbose --fault no-listener
	"$UPCALLCTL" --vm "$SOCK" "$@" >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$! i
	for i in $(seq 600); do
		grep -q 'connection refused' "$BATS_TEST_TMPDIR/stub.log" && break
		sleep 0.05
	done
	grep -q 'connection refused' "$BATS_TEST_TMPDIR/stub.log" ||
		fail "upcallctl never reached the stub"
	stop_stub
	start_stub
	rc=0
	wait "$pid" || rc=$?
	output=$(cat "$BATS_TEST_TMPDIR/out")
}

@test "--wait=SECONDS reaches a guest that comes up later" {
	late_guest --wait=30 ping
	assert_equal "$rc" 0
	assert_output --regexp "device manager answered in [0-9.]+ ms$"
}

@test "--wait with no value waits too" {
	late_guest --wait ping
	assert_equal "$rc" 0
	assert_output --regexp "device manager answered in [0-9.]+ ms$"
}

@test "without --wait a missing socket fails at once" {
	# at once: not after --wait's default of 60 s
	run_bounded 30 "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/none.sock" ping
	assert_failure 69
	assert_output "upcallctl: failed to connect to $BATS_TEST_TMPDIR/none.sock: No such file or directory"
}

@test "--wait gives up after its time with the last reason" {
	timed_run timeout 10 "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/none.sock" --wait=0.5 ping
	assert_failure 69
	assert_one_line
	assert_output --partial "No such file or directory (still, after waiting 0.5s)"
	[ "$ELAPSED_MS" -ge 500 ] || fail "gave up after $ELAPSED_MS ms, before the 0.5 s wait"
}

@test "--wait retries a guest with no listener yet, then says so" {
	start_stub --verbose --fault no-listener
	timed_run timeout 10 "$UPCALLCTL" --vm "$SOCK" --wait=0.5 ping
	assert_failure 69
	assert_output --partial "has no listener in the guest (is the upcall driver loaded?) (still, after waiting 0.5s)"
	[ "$ELAPSED_MS" -ge 500 ] || fail "gave up after $ELAPSED_MS ms, before the 0.5 s wait"
	run grep -c 'connection refused' "$BATS_TEST_TMPDIR/stub.log"
	[ "$output" -ge 2 ] || fail "tried $output times, not again"
}

@test "--wait does not retry what waiting cannot fix" {
	start_stub --verbose --fault bad-magic
	run_bounded 30 "$UPCALLCTL" --vm "$SOCK" --wait=20 cpu add 1
	assert_failure 76
	run grep -c 'connection accepted' "$BATS_TEST_TMPDIR/stub.log"
	assert_output 1
}

@test "--wait takes a number of seconds" {
	run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/x.sock" --wait=soon ping
	assert_failure 64
}
