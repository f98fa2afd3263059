# Shared bats helpers: start the guest stub on a private socket, read its
# state, and run the tools against it.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

B=${UPCALL_BUILD:-$BATS_TEST_DIRNAME/../../build}
# State records stay with the test, not in /run/upcall.
export UPCALL_STATE_DIR=$BATS_TEST_TMPDIR/state
UPCALLCTL=$B/upcallctl
STUB=$B/upcall-stub

# memcheck_tool NAME: the tool for valgrind.  memcheck sees the heap only
# where it can replace malloc, in a dynamic binary; a static build
# (STATIC=1) builds shared twins of the tools for it.
memcheck_tool() {
	if [ -x "$B/tests/dynamic/$1" ]; then
		echo "$B/tests/dynamic/$1"
	else
		echo "$B/$1"
	fi
}

# start_stub [STUB OPTIONS...]: stub on $SOCK, state in $STATE.
start_stub() {
	SOCK=$BATS_TEST_TMPDIR/vm.sock
	STATE=$BATS_TEST_TMPDIR/stub.state
	STUB_PIDFILE=$BATS_TEST_TMPDIR/stub.pid
	rm -f "$STUB_PIDFILE"
	"$STUB" --socket "$SOCK" --state-file "$STATE" --pid-file "$STUB_PIDFILE" \
		"$@" 3>&- 2>"$BATS_TEST_TMPDIR/stub.log" &
	STUB_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$STUB_PIDFILE" ] && return 0
		kill -0 "$STUB_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$BATS_TEST_TMPDIR/stub.log" >&2
	fail "upcall-stub did not start"
}

stop_stub() {
	[ -n "${STUB_PID:-}" ] || return 0
	kill "$STUB_PID" 2>/dev/null || true
	wait "$STUB_PID" 2>/dev/null || true
	STUB_PID=
}

# stub_state KEY: the value of one line of the stub's state dump.
stub_state() {
	sed -n "s/^$1: \{0,1\}//p" "$STATE"
}

ctl() {
	"$UPCALLCTL" --vm "$SOCK" "$@"
}

# Run with a wall-clock bound so a hang fails the test instead of CI.
run_bounded() {
	local secs=$1
	shift
	run timeout --kill-after=2 "$secs" "$@"
}

# Milliseconds since the epoch, for "answered within" assertions.
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# assert_took_at_most MS: the last timed_run finished within MS.
timed_run() {
	local t0
	t0=$(now_ms)
	run "$@"
	ELAPSED_MS=$(($(now_ms) - t0))
}

assert_took_at_most() {
	[ "$ELAPSED_MS" -le "$1" ] || fail "took ${ELAPSED_MS} ms, limit $1 ms"
}

# The command printed exactly one line (the diagnosis).
assert_one_line() {
	assert_equal "${#lines[@]}" 1
}
