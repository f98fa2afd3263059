#!/usr/bin/env bats
# Every fault a VMM or guest can show gives its exit code and a one-line
# diagnosis; nothing crashes or hangs.  With a 1 s --timeout, a 10 s
# wrapper turns a client that outlives its timeout into a failure (exit
# 124) without asking a loaded machine for any particular speed.

load helpers

teardown() {
	stop_stub
}

# fault_case EXIT REGEX [STUB ARGS...] -- [UPCALLCTL ARGS...]
fault_case() {
	local want=$1 regex=$2 stub_args=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		stub_args+=("$1")
		shift
	done
	shift
	start_stub --boot-vcpus 1 --max-vcpus 8 "${stub_args[@]}"
	run timeout --kill-after=2 10 "$UPCALLCTL" --vm "$SOCK" --timeout 1 "$@"
	assert_failure "$want"
	assert_one_line
	assert_output --regexp "^upcallctl: $regex"
}

@test "no socket: 69" {
	run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/none.sock" cpu add 1
	assert_failure 69
	assert_one_line
	assert_output "upcallctl: failed to connect to $BATS_TEST_TMPDIR/none.sock: No such file or directory"
}

@test "a path that is a file or a directory, not a socket: 69, said so" {
	touch "$BATS_TEST_TMPDIR/plain"
	run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/plain" ping
	assert_failure 69
	assert_output "upcallctl: failed to connect to $BATS_TEST_TMPDIR/plain: it is a file, not a socket (give the VMM's socket)"
	# not waited for either: it will not turn into a socket
	run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR" --wait=30 ping
	assert_failure 69
	assert_output "upcallctl: failed to connect to $BATS_TEST_TMPDIR: it is a directory, not a socket (give the VMM's socket)"
}

@test "permission denied: 69" {
	start_stub
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
		chmod 0755 "$BATS_TEST_TMPDIR"
		run setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$UPCALLCTL" --vm "$SOCK" ping
	else
		run ctl ping
	fi
	assert_failure 69
	assert_one_line
	assert_output --partial "Permission denied"
}

@test "stub socket is mode 0600" {
	start_stub
	assert_equal "$(stat -c %a "$SOCK")" "600"
}

@test "no listener on the port: 69" {
	fault_case 69 "vsock port 219 has no listener in the guest \(is the upcall driver loaded\?\)$" \
		--fault no-listener -- ping
}

@test "wrong port: the VMM closes, 69" {
	fault_case 69 "vsock port 220 has no listener" -- --port 220 ping
}

@test "guest never sends CONNECT: 75" {
	fault_case 75 "timed out after 1s waiting for the guest's CONNECT frame$" \
		--fault no-connect-frame -- ping
}

@test "CONNECT frame cut short: 76" {
	fault_case 76 "guest closed the connection after [0-9]+ of 1024 bytes of its CONNECT frame$" \
		--fault close-mid-frame -- ping
}

@test "silent guest: 75" {
	fault_case 75 "timed out after 1s waiting for the reply to ADD_CPU$" \
		--fault no-reply -- cpu add 1 --apic-ids 1
}

@test "bad magic: 76" {
	fault_case 76 "bad magic 0x[0-9a-f]{8} in the reply to ADD_CPU \(expected 0x444d0100\)$" \
		--fault bad-magic -- cpu add 1 --apic-ids 1
}

@test "wrong echoed type: 76" {
	fault_case 76 "reply to ADD_CPU echoes type [A-Z_0-9x]+$" \
		--fault wrong-type -- cpu add 1 --apic-ids 1
}

@test "short reply then close: 76" {
	fault_case 76 "short reply to ADD_CPU: connection closed after [0-9]+ of 1024 bytes$" \
		--fault short-reply -- cpu add 1 --apic-ids 1
}

@test "garbage instead of OK: 76" {
	fault_case 76 'VMM answered CONNECT 219 with ".*", expected "OK <port>"' \
		--fault garbage-ok -- ping
}

@test "endless OK line: 76, bounded" {
	fault_case 76 "VMM's answer to CONNECT 219 exceeds 32 bytes without a newline" \
		--fault endless-ok -- ping
}

@test "slow drip: 75 at the timeout, not after the whole frame" {
	fault_case 75 "timed out after 1s" --fault slow-drip=100 -- cpu add 1 --apic-ids 1
}

@test "guest errno: 1 with the errno named" {
	fault_case 1 "guest replied -5 \(Input/output error\) to ADD_CPU: a vCPU did not come up \(the VMM has not created it, or it failed to start\)$" \
		--fault errno=5 -- cpu add 1 --apic-ids 1
	assert_equal "$(stub_state cpus)" "0"
}

@test "partial CPU reply: 2, and the guest kept what it did" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault fail-cpu=2
	run ctl cpu add 3
	assert_failure 2
	assert_line "added 1 vCPU (APIC ID 1); APIC IDs 2, 3 were not added"
	assert_line "upcallctl: guest replied -5 (Input/output error) to ADD_CPU after 1 of 3 CPUs: a vCPU did not come up (the VMM has not created it, or it failed to start)"
	assert_equal "$(stub_state cpus)" "0,1"
}

@test "partial CPU reply in JSON lists done and not done" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault fail-cpu=2
	run "$UPCALLCTL" --vm "$SOCK" -o json cpu add 3
	assert_failure 2
	python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["done"] == [1] and o["not_done"] == [2, 3] and o["exit_code"] == 2, o
' "$(grep '^{' <<<"$output")"
}

@test "a CPU reply of ret 0 below the count is partial too: 2, and the rest not done" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault stop-cpu=2
	run ctl cpu add 3
	assert_failure 2
	assert_line "added 1 vCPU (APIC ID 1); APIC IDs 2, 3 were not added"
	assert_line "upcallctl: guest handled 1 of 3 CPUs of ADD_CPU without an error"
	assert_equal "$(stub_state last)" "ADD_CPU ret=0 index=1 size=258 ids=1,2,3"
	assert_equal "$(stub_state cpus)" "0,1"
	run "$UPCALLCTL" --vm "$SOCK" -o json cpu add 2 --apic-ids 4,5
	assert_failure 2
	run jq -c '[.ret, .done, .not_done, .status, .exit_code]' <<<"$(grep '^{' <<<"$output")"
	assert_output '[0,[4],[5],"partial",2]'
	assert_equal "$(stub_state cpus)" "0,1,4"
}

@test "a guest that claims more CPUs than asked: 76" {
	fault_case 76 "guest claims 2 of 1 CPUs handled in its reply to ADD_CPU$" \
		--fault lie-index -- cpu add 1 --apic-ids 1
}

@test "stub killed mid-request: 69" {
	fault_case 69 "guest closed the connection instead of replying to ADD_CPU$" \
		--fault exit-after=1 -- cpu add 1 --apic-ids 1
}

@test "a guest that is merely slow is waited for" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault reply-after=300
	run ctl --timeout 2 cpu add 1
	assert_success
	assert_equal "$(stub_state cpus)" "0,1"
}

@test "stub killed with SIGKILL while the client waits: 69 at once, not at the timeout" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault reply-after=60000
	local t0 pid
	"$UPCALLCTL" --vm "$SOCK" --timeout 30 cpu add 1 --apic-ids 1 >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	pid=$!
	wait_stub_requests 1	# the client waits for the reply
	t0=$(now_ms)
	kill -9 "$STUB_PID"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 69
	ELAPSED_MS=$(($(now_ms) - t0))
	# at once: a third of the 30 s timeout is a margin for any machine
	assert_took_at_most 10000
	run cat "$BATS_TEST_TMPDIR/out"
	assert_one_line
	assert_output "upcallctl: guest closed the connection instead of replying to ADD_CPU"
}
