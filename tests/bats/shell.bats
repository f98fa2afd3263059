#!/usr/bin/env bats
# upcallctl shell in script mode (stdin not a terminal): one command a line,
# comments, one session for the whole script, stop at the first failure.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	start_stub --boot-vcpus 1 --max-vcpus 8
	export HOME=$BATS_TEST_TMPDIR/home XDG_STATE_HOME=$BATS_TEST_TMPDIR/state
}

teardown() {
	stop_stub
}

# shell_script [OPTIONS...]: run the shell on the stub with stdin from $SCRIPT.
shell_script() {
	run_bounded 20 "$UPCALLCTL" shell --vm "$SOCK" "$@" < "$SCRIPT"
}

script() {
	SCRIPT=$BATS_TEST_TMPDIR/ops.txt
	printf '%s\n' "$@" > "$SCRIPT"
}

@test "shell script: commands, comments and blank lines over one session" {
	script '# bring two vCPUs up, then one down' '' 'cpu add 2' \
		"cpu del 1 --apic-ids '2'   # a trailing comment" 'status'
	shell_script
	assert_success
	assert_line --index 0 "added 2 vCPUs (APIC IDs 1, 2)"
	assert_line --index 1 "removed 1 vCPU (APIC ID 2)"
	assert_line "state: connected"
	assert_line "requests sent: $(stub_state requests)"
	assert_line --regexp "^last round trip: [0-9]+\\.[0-9]{3} ms, 'cpu del 1 --apic-ids 2' to unix:$SOCK, exit 0 \\(done\\)$"
	assert_equal "$(stub_state cpus)" "0,1"
	refute_output --partial "upcall "	# no prompt
	[ ! -e "$XDG_STATE_HOME/upcall/history" ]	# no history
}

@test "shell script: stops at the first failure with its exit code" {
	script 'cpu add 1' 'cpu del 1 --apic-ids 0' 'cpu add 1'
	shell_script
	assert_failure 1
	assert_line --index 0 "added 1 vCPU (APIC ID 1)"
	assert_line --partial "guest replied -22 (Invalid argument) to DEL_CPU: the boot CPU, an offline CPU, or every online CPU was named"
	assert_equal "$(stub_state cpus)" "0,1"
	refute_line --partial "APIC ID 2"
}

@test "shell script: a usage error stops it with 64 and sends nothing" {
	script 'cpu add 0' 'cpu add 1'
	shell_script
	assert_failure 64
	assert_output --partial "vCPU count 0 out of range 1..255"
	assert_equal "$(stub_state requests)" "0"
}

@test "shell script: -k keeps going and exits with the first failure's code" {
	script 'cpu add 1 --vm /nonexistent/vm.sock' 'bogus verb' 'cpu add 1' \
		'cpu add 1 --apic-ids 2'
	shell_script -k
	assert_failure 69
	assert_line --partial 'unknown command "bogus verb"'
	assert_line "added 1 vCPU (APIC ID 1)"
	assert_line "added 1 vCPU (APIC ID 2)"
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "shell script: Ctrl-C stops it, even with -k, wherever it lands" {
	SCRIPT=$BATS_TEST_TMPDIR/ops.txt
	for _ in $(seq 2000); do printf 'cpu add 1\ncpu del 1\n'; done > "$SCRIPT"
	"$UPCALLCTL" shell -k --vm "$SOCK" < "$SCRIPT" > /dev/null 2>&1 3>&- &
	local pid=$! rc=0
	wait_stub_requests 10	# the script is running
	kill -INT "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	[ "$(stub_state requests)" -lt 4000 ] || fail "all 4000 lines ran after Ctrl-C"
}

@test "shell script: Ctrl-C while waiting for another tool's lock is 130 at once" {
	ctl cpu add 1
	local lock
	# the lock file exists while held: named after the record
	lock=$(echo "$UPCALL_STATE_DIR"/*.yaml)
	lock=${lock%.yaml}.lock
	hold_lock "$lock"
	local pid rc=0 t0
	echo 'cpu add 1' > "$BATS_TEST_TMPDIR/ops.txt"
	# the lock is waited for up to four timeouts: 120 s here
	"$UPCALLCTL" shell -t 30 --vm "$SOCK" < "$BATS_TEST_TMPDIR/ops.txt" \
		> "$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	pid=$!
	wait_opened "$pid" "$lock"	# it has opened the lock file to wait on it
	t0=$(now_ms)
	kill -INT "$pid"
	wait "$pid" || rc=$?
	ELAPSED_MS=$(($(now_ms) - t0))
	release_lock
	assert_equal "$rc" 130
	# at once: a tenth of the 120 s wait is a margin for any machine
	assert_took_at_most 12000
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line -n 0 --regexp "^upcallctl: VM .*vm\.sock is busy: another operation holds its lock; waiting up to 120 s for it$"
	assert_line -n 1 --regexp "^upcallctl: interrupted waiting for the lock on VM .*vm\.sock$"
	assert_equal "$(stub_state cpus)" "0,1"
}

@test "shell script: options on a line apply to that line only" {
	script 'cpu add 1 -o json' 'cpu add 1 --apic-ids 2' '-o json status'
	shell_script
	assert_success
	assert_line --index 0 --regexp "^\\{\"vm\":\"$SOCK\",\"source\":\"guest\",\"requested\":1,.*\"command\":\"cpu add\",\"ok\":true,\"exit_code\":0\\}\$"
	assert_line --index 1 "added 1 vCPU (APIC ID 2)"
	assert_line --index 2 --regexp "^\\{\"vm\":\"$SOCK\",\"target\":\".*\",\"connected\":true,\"requests\":$(stub_state requests),"
}

@test "shell script: --help on a line prints help and runs nothing" {
	script 'cpu add --help' 'help cpu del' 'help mem' 'help status' 'status'
	shell_script
	assert_success
	assert_line --regexp '^  mem add SIZE +Hot-add'
	assert_line --partial "Usage: upcallctl status"
	assert_line --partial "Usage: upcallctl cpu add"
	assert_line --partial "Usage: upcallctl cpu del"
	assert_line "requests sent: 0"
	assert_equal "$(stub_state requests)" "0"
}

@test "shell script: debug on dumps frames with the header decoded" {
	script 'cpu add 1' 'debug on' 'cpu del 1' 'debug off' 'cpu add 1'
	shell_script
	assert_success
	assert_line ">> 00014d44 02010000 02000000 00000000 | magic ok, size 258, DEL_CPU"
	assert_line "<< 00014d44 04000000 02000000 00000000 | magic ok, size 4, DEL_CPU, ret 0"
	refute_line --partial "ADD_CPU"
}

@test "shell script: raw sends a hand-built frame and decodes the reply" {
	script 'raw QUERY_CPUS' 'raw 0x55 01 0203'
	shell_script -k
	assert_failure 1
	assert_line "reply QUERY_CPUS (0x100), msg_size 260, ret 0 (ok)"
	assert_line "reply TYPE_0x55 (0x55), msg_size 0, ret -95 (Operation not supported)"
	assert_equal "$(stub_state last)" "TYPE_0x55 ret=-95 size=3"
}

@test "shell script: connect switches the target; disconnect closes" {
	script 'disconnect' "connect $SOCK" 'status' 'disconnect' 'status' 'ping'
	shell_script
	assert_success
	assert_line --index 0 "not connected"
	assert_line --regexp "^connected to unix:$SOCK \(handshake [0-9.]+ ms\)$"
	assert_line "disconnected from unix:$SOCK"
	assert_line "state: disconnected"
	assert_line --partial "device manager answered"
}

@test "shell script: timing on shows each command's time, and the round trip of its request" {
	script 'timing on' 'cpu add 1' 'status' 'timing off' 'cpu add 1'
	run --separate-stderr timeout --kill-after=2 20 "$UPCALLCTL" shell --vm "$SOCK" < "$SCRIPT"
	assert_success
	assert_line --index 0 "added 1 vCPU (APIC ID 1)"
	assert_line --index 5 "added 1 vCPU (APIC ID 2)"
	# on stderr: 'timing on' itself, cpu add with its request, status without
	# one; nothing once it is off
	assert_equal "${#stderr_lines[@]}" 3
	assert_regex "${stderr_lines[0]}" '^time: [0-9]+\.[0-9]{3} ms$'
	assert_regex "${stderr_lines[1]}" '^time: [0-9]+\.[0-9]{3} ms, round trip [0-9]+\.[0-9]{3} ms$'
	assert_regex "${stderr_lines[2]}" '^time: [0-9]+\.[0-9]{3} ms$'
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "shell script: every command answers in JSON with -o json" {
	script 'debug on' 'timing off' 'cpu add 1' 'raw QUERY_CPUS' 'quit' 'cpu add 1'
	shell_script -o json
	assert_success
	assert_line --index 0 "{\"vm\":\"$SOCK\",\"command\":\"debug\",\"ok\":true,\"exit_code\":0}"
	assert_line --index 1 "{\"vm\":\"$SOCK\",\"command\":\"timing\",\"ok\":true,\"exit_code\":0}"
	assert_line --regexp "^\\{\"vm\":\"$SOCK\",\"type\":\"QUERY_CPUS\",\"msg_size\":260,\"ret\":0,\"payload\":\"02 00 00 00 00 01\","
	assert_line "{\"vm\":\"$SOCK\",\"command\":\"quit\",\"ok\":true,\"exit_code\":0}"
	assert_equal "$(stub_state cpus)" "0,1"
	# a command that says several lines keeps them all in its "message"
	script 'status'
	shell_script -o json
	assert_success
	assert_output --partial "\"message\":\"target: $SOCK"'\nstate: disconnected\nrequests sent: 0\nlast round trip: none yet"'
}

@test "shell script: a line with an unterminated quote is a usage error" {
	script "cpu add '1"
	shell_script
	assert_failure 64
	assert_output --partial "unterminated quote"
}

# read_until LINE: read the shell's output into $output until LINE (5 s).
read_until() {
	local line
	output=
	while read -r -t 5 line <&"$out"; do
		output+=$line$'\n'
		[ "$line" = "$1" ] && { lines=(); mapfile -t lines <<< "${output%$'\n'}"; return 0; }
	done
	fail "no \"$1\" from the shell; got: $output"
}

@test "shell script: reconnects when the guest restarted between commands" {
	coproc SH { "$UPCALLCTL" shell --vm "$SOCK" 2>&1; }
	local pid=$SH_PID in=${SH[1]} out=${SH[0]}
	echo 'cpu add 1 --apic-ids 1' >&"$in"
	read_until "added 1 vCPU (APIC ID 1)"
	stop_stub
	start_stub --boot-vcpus 1 --max-vcpus 8
	echo 'cpu add 1 --apic-ids 1' >&"$in"
	read_until "added 1 vCPU (APIC ID 1)"
	assert_line "connection to unix:$SOCK was closed by the guest; reconnected"
	assert_equal "$(stub_state cpus)" "0,1"
	eval "exec $in>&-"
	wait "$pid"
}

# bats test_tags=valgrind
@test "shell script: valgrind-clean across commands, errors and a session switch" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	! grep -qa __asan_init "$UPCALLCTL" || skip "built with AddressSanitizer"
	script 'cpu add 1' 'debug on' 'raw QUERY_CPUS' '-o json raw 0x55 0102' \
		'cpu add 1 --vm /nonexistent/vm.sock' "connect $SOCK" 'help cpu add' \
		'cpu add 0' "cpu add '1" 'disconnect' 'status'
	run_bounded 60 valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect,possible \
		"$(memcheck_tool upcallctl)" shell -k --vm "$SOCK" < "$SCRIPT"
	assert_failure 1
	refute_output --partial "=="
}
