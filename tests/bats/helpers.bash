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

# hold_lock FILE [SECONDS]: hold the flock on FILE in the background, for
# SECONDS or until release_lock; returns once it is held.
hold_lock() {
	local file=$1 secs=${2:-} i
	LOCK_RELEASE=$BATS_TEST_TMPDIR/lock-release.$RANDOM
	(
		exec 9>>"$file"
		flock 9
		touch "$LOCK_RELEASE.held"
		if [ -n "$secs" ]; then
			sleep "$secs"
		else
			until [ -e "$LOCK_RELEASE" ]; do sleep 0.05; done
		fi
	) 3>&- &
	LOCK_HOLDER=$!
	for i in $(seq 600); do
		[ -e "$LOCK_RELEASE.held" ] && return 0
		sleep 0.05
	done
	fail "the lock on $file was not taken within 30 s"
}

release_lock() {
	touch "$LOCK_RELEASE"
	wait "$LOCK_HOLDER" || true
}

# wait_opened PID FILE: until process PID has FILE open (30 s at most).
wait_opened() {
	local pid=$1 file fd i
	file=$(readlink -f "$2")
	for i in $(seq 600); do
		for fd in /proc/"$pid"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "$file" ] && return 0
		done
		kill -0 "$pid" 2>/dev/null || fail "process $pid exited before it opened $file"
		sleep 0.05
	done
	fail "process $pid did not open $file within 30 s"
}

# wait_stub_requests N: until the stub has received N request frames (30 s).
wait_stub_requests() {
	local i
	for i in $(seq 600); do
		[ "$(stub_state requests)" -ge "$1" ] 2>/dev/null && return 0
		sleep 0.05
	done
	fail "the stub received $(stub_state requests) requests in 30 s, not $1"
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
