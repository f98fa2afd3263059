#!/usr/bin/env bats
# libupcall's event-loop API: one thread and one epoll loop drive many VMs
# (tests/tools/evloop.c), and every failure reads as the blocking call's.
load helpers

EVLOOP=$B/tests/evloop

# start_stubs N [STUB OPTIONS...]: stubs on $BATS_TEST_TMPDIR/vm1.sock ...
# vmN.sock, the one at vmI.sock booted with 1 + I % 8 CPUs.
start_stubs() {
	local n=$1 i
	shift
	STUB_PIDS=()
	for i in $(seq "$n"); do
		"$STUB" --socket "$BATS_TEST_TMPDIR/vm$i.sock" --boot-vcpus $((1 + i % 8)) \
			--pid-file "$BATS_TEST_TMPDIR/vm$i.pid" "$@" 3>&- 2>>"$BATS_TEST_TMPDIR/stubs.log" &
		STUB_PIDS+=($!)
	done
	for i in $(seq "$n"); do
		local tries=0
		until [ -s "$BATS_TEST_TMPDIR/vm$i.pid" ]; do
			tries=$((tries + 1))
			if [ "$tries" -gt 400 ]; then
				cat "$BATS_TEST_TMPDIR/stubs.log" >&2
				fail "upcall-stub $i did not start"
			fi
			sleep 0.05
		done
	done
}

# The evloop arguments for stubs 1..N: SOCK=CPUS.
vm_args() {
	local i
	for i in $(seq "$1"); do
		printf '%s\n' "$BATS_TEST_TMPDIR/vm$i.sock=$((1 + i % 8))"
	done
}

teardown() {
	local pid
	for pid in "${STUB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${STUB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	stop_stub
}

@test "evloop: 200 VMs from one thread, each a handshake and its own QUERY_CPUS reply" {
	start_stubs 200
	mapfile -t args < <(vm_args 200)
	run_bounded 60 "$EVLOOP" "${args[@]}"
	assert_success
	assert_output --regexp '^200 VMs from one thread: 200 handshakes, 200 QUERY_CPUS replies as each VM answered; at most [0-9]+ awaited at once; '
}

@test "evloop: queries to slow guests are awaited together, and process() never waits for one" {
	# Each guest answers 3 s after its request; a process() call that waited
	# for the reply would take that long.
	start_stubs 10 --fault reply-after=3000
	mapfile -t args < <(vm_args 10)
	run_bounded 60 "$EVLOOP" -t 20000 "${args[@]}"
	assert_success
	assert_output --regexp '^10 VMs from one thread: 10 handshakes, 10 QUERY_CPUS replies as each VM answered; at most ([2-9]|10) awaited at once; longest process\(\) call [0-9]+ ms$'
	local ms=${output##*call }
	ms=${ms% ms}
	[ "$ms" -lt 1500 ] || fail "a process() call took $ms ms: it waited for a guest"
}

@test "evloop: a silent guest times out in the loop while the others answer" {
	start_stubs 2
	start_stub --fault no-reply
	run_bounded 30 "$EVLOOP" -t 500 "$BATS_TEST_TMPDIR/vm1.sock=2" "$SOCK" "$BATS_TEST_TMPDIR/vm2.sock=3"
	assert_failure 1
	assert_line "$SOCK: QUERY_CPUS: timeout: timed out after 0.5s waiting for the reply to QUERY_CPUS (0 CPUs listed, -1 expected)"
	assert_line --regexp '^3 VMs from one thread: 3 handshakes, 2 QUERY_CPUS replies as each VM answered; '
	assert_equal "${#lines[@]}" 2
}

@test "evloop: a reply timeout reads as the blocking call's" {
	start_stub --fault no-reply
	run_bounded 30 "$EVLOOP" -t 500 --compare "$SOCK"
	assert_success
	assert_output "async: timeout: timed out after 0.5s waiting for the reply to QUERY_CPUS
blocking: timeout: timed out after 0.5s waiting for the reply to QUERY_CPUS"
}

@test "evloop: a guest that hangs up mid-reply reads as the blocking call's" {
	start_stub --fault short-reply
	run_bounded 30 "$EVLOOP" -t 5000 --compare "$SOCK"
	assert_success
	assert_output "async: protocol: short reply to QUERY_CPUS: connection closed after 100 of 1024 bytes
blocking: protocol: short reply to QUERY_CPUS: connection closed after 100 of 1024 bytes"
}

@test "evloop: failures of each handshake step read as the blocking call's" {
	local fault expect
	while IFS='|' read -r fault expect; do
		start_stub --fault "$fault"
		run_bounded 30 "$EVLOOP" -t 500 --compare "$SOCK"
		assert_success
		assert_line --index 0 "async: $expect"
		stop_stub
	done <<-EOF
	no-listener|unreachable: vsock port 219 has no listener in the guest (is the upcall driver loaded?)
	endless-ok|timeout: timed out after 0.5s waiting for the VMM's answer to CONNECT
	garbage-ok|protocol: VMM answered CONNECT 219 with "HELLO", expected "OK <port>" (is $BATS_TEST_TMPDIR/vm.sock a hybrid vsock socket?)
	no-connect-frame|timeout: timed out after 0.5s waiting for the guest's CONNECT frame
	close-mid-frame|protocol: guest closed the connection after 512 of 1024 bytes of its CONNECT frame
	EOF
	run_bounded 30 "$EVLOOP" --compare "$BATS_TEST_TMPDIR/none.sock"
	assert_success
	assert_line --index 0 "async: unreachable: failed to connect to $BATS_TEST_TMPDIR/none.sock: No such file or directory"
}

@test "evloop: the event-loop example of libupcall(3) builds and counts each VM's CPUs" {
	local src=$BATS_TEST_TMPDIR/count.c san=()
	# the literal block of EXAMPLES that runs an epoll loop, unescaped
	awk '/^\.Sh EXAMPLES/ { on = 1; next } on && /^\.Bd -literal$/ { lit = 1; buf = ""; next }
	     lit && /^\.Ed/ { if (buf ~ /epoll_wait/) { printf "%s", buf; exit } lit = 0; next }
	     lit { buf = buf $0 "\n" }' "$BATS_TEST_DIRNAME/../../man/libupcall.3" |
		sed 's/\\e/\\/g' >"$src"
	run grep -c epoll_wait "$src"
	assert_output 1
	# a sanitizer build's archive needs the sanitizer runtimes to link
	[[ $B == *-san ]] && san=(-fsanitize=address,undefined)
	run cc "${san[@]}" -std=c99 -Wall -Wextra -Werror -I"$BATS_TEST_DIRNAME/../../include" \
		-o "$BATS_TEST_TMPDIR/count" "$src" "$B/libupcall.a"
	assert_success
	start_stubs 3
	run_bounded 30 "$BATS_TEST_TMPDIR/count" "$BATS_TEST_TMPDIR/vm1.sock" \
		"$BATS_TEST_TMPDIR/vm2.sock" "$BATS_TEST_TMPDIR/none.sock" "$BATS_TEST_TMPDIR/vm3.sock"
	assert_success
	# in the order the VMs answered
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort)" \
		"$BATS_TEST_TMPDIR/none.sock: unreachable: failed to connect to $BATS_TEST_TMPDIR/none.sock: No such file or directory
$BATS_TEST_TMPDIR/vm1.sock: 2 CPUs online
$BATS_TEST_TMPDIR/vm2.sock: 3 CPUs online
$BATS_TEST_TMPDIR/vm3.sock: 4 CPUs online"
}

@test "evloop: a native vsock connect that does not complete reads as the blocking call's" {
	# CID 1 is this host: without vsock loopback the connect stays in
	# progress until the deadline; with it, nobody listens on the port.
	run_bounded 30 "$EVLOOP" -t 500 --compare "vsock:1:$((900 + RANDOM % 100))"
	assert_success
	assert_line --index 0 --regexp '^async: (timeout: timed out after 0\.5s connecting to vsock CID 1 port [0-9]+|unreachable: .+)$'
}
