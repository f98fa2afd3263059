#!/usr/bin/env bats
# Progress of long work on a terminal (terminal_helpers.bash): a fleet run's
# live count on stderr, what --wait still waits for; cleared at the end,
# never in JSON, never when stderr is not a terminal.

load helpers
load terminal_helpers

setup() {
	terminal_setup
	PIDS=()
}

teardown() {
	terminal_teardown
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
}

# slow_stubs N MS: N stubs at $BATS_TEST_TMPDIR/vmI.sock, each answering
# every request after MS ms.
slow_stubs() {
	local i
	for i in $(seq "$1"); do
		"$STUB" --socket "$BATS_TEST_TMPDIR/vm$i.sock" --pid-file "$BATS_TEST_TMPDIR/vm$i.pid" \
			--fault "reply-after=$2" 3>&- 2>/dev/null &
		PIDS+=($!)
	done
	for i in $(seq "$1"); do
		wait_for_file "$BATS_TEST_TMPDIR/vm$i.pid"
	done
}

wait_for_file() {
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	fail "$1 did not appear"
}

# on_terminal COMMAND: run it in a fresh terminal; "[exit N]" when it ends.
on_terminal() {
	new_terminal "cd '$BATS_TEST_TMPDIR' && export UPCALL_STATE_DIR='$BATS_TEST_TMPDIR/state'; $1; echo \"[exit \$?]\"; sleep 60"
}

@test "progress: a fleet run on a terminal keeps a live count, cleared at the end" {
	slow_stubs 6 1500
	on_terminal "'$UPCALLCTL' --vm 'vm*.sock' -j 2 cpu add 1"
	wait_screen --regexp "^[0-5] done, 0 failed, 2 running, [0-4] left; slowest: vm[1-6]\.sock \([0-9]+\.[0-9] s\)$"
	wait_screen "[exit 0]"
	wait_screen "6 ok, 0 failed of 6 VMs"
	run screen
	refute_output --partial "running"
	assert_line --regexp "^vm1\.sock: added 1 vCPU \(APIC ID 1\)$"
}

@test "progress: none when stderr is not a terminal, none with -o json" {
	slow_stubs 3 1500
	on_terminal "'$UPCALLCTL' --vm 'vm*.sock' -j 1 cpu add 1 2>err.txt"
	wait_screen "[exit 0]"
	run cat "$BATS_TEST_TMPDIR/err.txt"
	assert_output ""
	on_terminal "'$UPCALLCTL' --vm 'vm*.sock' -j 1 -o json cpu add 1"
	wait_screen --regexp '"succeeded":3'
	wait_screen "[exit 0]"
	run screen
	refute_output --partial "running"
	refute_output --partial "done,"
}

@test "progress: --wait says what it still waits for, then clears the line" {
	local sock=$BATS_TEST_TMPDIR/late.sock
	on_terminal "'$UPCALLCTL' --vm '$sock' --wait=60 ping"
	wait_screen --regexp "^waiting for $sock: no socket at $sock yet \([0-9]+ s of 60 s\)$"
	"$STUB" --socket "$sock" --pid-file "$BATS_TEST_TMPDIR/late.pid" 3>&- 2>/dev/null &
	PIDS+=($!)
	wait_screen "device manager answered in"
	wait_screen "[exit 0]"
	run screen
	refute_output --partial "waiting for"
	# stderr to a file: nothing said there
	kill "${PIDS[-1]}"
	wait "${PIDS[-1]}" 2>/dev/null || true
	on_terminal "'$UPCALLCTL' --vm '$sock' --wait=2 ping 2>err.txt"
	wait_screen "[exit 69]"
	run cat "$BATS_TEST_TMPDIR/err.txt"
	refute_output --partial "waiting for"
	assert_output --partial "(still, after waiting 2s)"
}

@test "progress: in the shell with --wait, connect waits under the line and says it connected" {
	local sock=$BATS_TEST_TMPDIR/late.sock
	on_terminal "HOME='$BATS_TEST_TMPDIR' XDG_STATE_HOME='$BATS_TEST_TMPDIR/xdg' TERM=xterm INPUTRC=/dev/null '$UPCALLCTL' --vm '$sock' --wait=60 shell"
	wait_screen "upcall $sock [disconnected]>"
	keys 'connect' Enter
	wait_screen --regexp "^waiting for $sock: no socket at $sock yet \([0-9]+ s of 60 s\)$"
	"$STUB" --socket "$sock" --pid-file "$BATS_TEST_TMPDIR/late.pid" 3>&- 2>/dev/null &
	PIDS+=($!)
	wait_screen --regexp "^connected to unix:$sock \(handshake [0-9.]+ ms\)$"
	wait_screen "upcall $sock [connected]>"
	run screen
	refute_output --partial "waiting for"
	refute_output --partial "already connected"
}
