#!/usr/bin/env bats
# Many clients at once: every reply reaches the request that caused it and
# none is lost; separate processes serialize on the per-VM lock; a client
# killed mid-operation leaves the state record readable.

load inventory_helpers

HAMMER=$B/tests/hammer

setup() { inv_setup; }
teardown() {
	stop_stub
	[ -z "${SHM:-}" ] || rm -rf "$SHM"
}

# The stub rewrites its state file after every request: on tmpfs when
# there is one, so 10000 requests take seconds.  $STATE links to it.
start_fast_stub() {
	if [ ! -w /dev/shm ]; then
		start_stub "$@"
		return
	fi
	SHM=$(mktemp -d /dev/shm/upcall-bats.XXXXXX)
	ln -s "$SHM/stub.state" "$BATS_TEST_TMPDIR/stub.state"
	start_stub "$@" --state-file "$SHM/stub.state"
}

@test "100 clients x 100 requests on one stub: every reply matched, none lost" {
	start_fast_stub --boot-vcpus 1 --max-vcpus 256
	run_bounded 60 "$HAMMER" --vm "$SOCK" --clients 100 --requests 100
	assert_success
	assert_output "100 clients x 100 requests: 10000 replies, each matched to its request"
	assert_equal "$(stub_state requests)" 10000
	# 100 = 16 cycles of 6, then ADD_CPU, QUERY_CPUS, ADD_PCI, DEL_CPU:
	# every client's CPUs are gone again and its PCI device is present.
	assert_equal "$(stub_state cpus)" 0
	assert_equal "$(stub_state pci | wc -w)" 100
	assert_equal "$(stub_state pci | cut -d' ' -f1,100)" "10:00.0 10:0c.3"
}

@test "hammer: a reply echoing another type is caught, not counted" {
	start_stub --boot-vcpus 1 --max-vcpus 256 --fault wrong-type
	run_bounded 20 "$HAMMER" --vm "$SOCK" --clients 4 --requests 10
	assert_failure 1
	assert_line --regexp "^hammer: client [0-3], request 1 \(ADD_CPU\): protocol: reply to ADD_CPU echoes type DEL_CPU$"
	assert_line "4 clients x 10 requests: 0 replies, NOT all matched"
}

@test "hammer: a guest whose state is not what this client's replies said is caught" {
	# a CPU another client (or a stale reply) left online: QUERY_CPUS differs
	start_stub --boot-vcpus 1 --max-vcpus 256
	ctl cpu add 1 --apic-ids 2
	run_bounded 20 "$HAMMER" --vm "$SOCK" --clients 1 --requests 6
	assert_failure 1
	assert_line "hammer: client 0, request 2 (QUERY_CPUS): QUERY_CPUS does not match: 2 of this client's 1 IDs listed, expected 1"
}

@test "clients killed mid-request leave the stub serving the others" {
	start_fast_stub --boot-vcpus 1 --max-vcpus 256
	"$HAMMER" --vm "$SOCK" --clients 50 --requests 100000 >/dev/null 2>&1 3>&- &
	local pid=$!
	wait_stub_requests 200	# the clients are mid-run
	kill -9 "$pid"
	wait "$pid" || true
	# frames already in the killed clients' sockets may still be handled
	local before=-1
	while [ "$before" != "$(stub_state requests)" ]; do
		before=$(stub_state requests)
		sleep 0.2
	done
	# clients 50..69 own other IDs and devices than the killed 0..49
	run_bounded 30 "$HAMMER" --vm "$SOCK" --first 50 --clients 20 --requests 60
	assert_success
	assert_equal "$(stub_state requests)" $((before + 1200))
	kill -0 "$STUB_PID"
}

@test "memctl: 8 concurrent adds get 8 different bases; record and guest agree" {
	write_inventory "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 2G}"
	start_stub
	local i pids=()
	for i in $(seq 8); do
		"$MEMCTL" --config "$INV" --vm web1 -t 10 add 128M >"$BATS_TEST_TMPDIR/run.$i" 2>&1 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "a run failed: $(cat "$BATS_TEST_TMPDIR"/run.*)"
	done
	run sort -u <(sed -n 's/.* at \(0x[0-9a-f]*\)-.*/\1/p' "$BATS_TEST_TMPDIR"/run.*)
	assert_equal "${#lines[@]}" 8
	assert_equal "$(stub_state mem)" "$(printf '0x1%02x000000+0x8000000 ' 0 8 16 24 32 40 48 56 | sed 's/ $//')"
	run grep -c 'base: 0x' "$RECORD"
	assert_output 8
}

@test "vcpuctl and memctl on one VM at once: both serialize on the VM's lock" {
	write_inventory "max_vcpu_count: 8" "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 2G}"
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault reply-after=200
	"$VCPUCTL" --config "$INV" --vm web1 -t 10 set-count 4 >"$BATS_TEST_TMPDIR/cpu" 2>&1 3>&- &
	local cpu=$!
	"$MEMCTL" --config "$INV" --vm web1 -t 10 add 256M >"$BATS_TEST_TMPDIR/mem" 2>&1 3>&- &
	local mem=$!
	wait "$cpu" || fail "vcpuctl: $(cat "$BATS_TEST_TMPDIR/cpu")"
	wait "$mem" || fail "memctl: $(cat "$BATS_TEST_TMPDIR/mem")"
	assert_equal "$(record_cpus)" "0,1,2,3"
	run grep -c 'base: 0x100000000, size: 0x10000000' "$RECORD"
	assert_output 1
}

@test "the lock is one flock per VM: a holder makes others wait, then time out with 75" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	hold_lock "$UPCALL_STATE_DIR/web1.lock"
	run_bounded 30 "$VCPUCTL" --config "$INV" --vm web1 -t 0.25 set-count 3
	assert_failure 75
	assert_line -n 0 "vcpuctl: VM web1 is busy: another operation holds its lock; waiting up to 1 s for it"
	assert_line -n 1 "vcpuctl: timed out waiting for the lock on VM web1: another operation on it is still running"
	assert_equal "$(stub_state cpus)" "0,1"
	release_lock
	run vcpu set-count 3
	assert_success
}

# The wait is bounded by several timeouts, not one: the holder may be
# another tool that takes a step of up to a timeout each.
@test "a lock holder that takes longer than one timeout, not than four, is waited for" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	# held for two timeouts of 2 s; the wait may last four
	hold_lock "$UPCALL_STATE_DIR/web1.lock" 4
	run_bounded 30 "$VCPUCTL" --config "$INV" --vm web1 -t 2 set-count 3
	release_lock
	assert_success
	assert_line -n 0 "vcpuctl: VM web1 is busy: another operation holds its lock; waiting up to 8 s for it"
	assert_line -n 1 "added 1 vCPU (APIC ID 2)"
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "a NAME.yaml.tmp left by a writer killed before its rename does not block writes" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	printf 'cpus: [0, 1, 2, 3\n' >"$RECORD.tmp"
	run vcpu set-count 3
	assert_success
	assert_equal "$(record_cpus)" "0,1,2"
	assert [ ! -e "$RECORD.tmp" ]
	run vcpu get
	assert_success
	assert_output "web1: 3 vCPUs online (APIC IDs 0, 1, 2), max 8; from the record"
}

@test "kill -9 at random points of 30 vcpuctl and memctl runs never leaves an unreadable record" {
	write_inventory "max_vcpu_count: 8" "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 2G}"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8 --fault reply-after=20
	# a run killed while LeakSanitizer checks it at exit leaves a report
	# about the check itself, not a leak: only the runs that finish are
	# leak-checked
	local i pid nolsan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	for i in $(seq 30); do
		if ((i % 2)); then
			ASAN_OPTIONS=$nolsan "$VCPUCTL" --config "$INV" --vm web1 -t 5 \
				set-count $((i % 7 + 1)) >/dev/null 2>&1 3>&- &
		else
			ASAN_OPTIONS=$nolsan "$MEMCTL" --config "$INV" --vm web1 -t 5 \
				add 128M >/dev/null 2>&1 3>&- &
		fi
		pid=$!
		sleep "0.0$((RANDOM % 6))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		run vcpu get
		assert_success
		run mem list
		assert_success
	done
	# the guest is the truth: re-seed from it, then both tools agree with it
	run vcpu sync --apic-ids "$(stub_state cpus)"
	assert_success
	run mem sync --ranges "$(stub_state mem | sed 's/ /,/g')"
	assert_success
	refute grep -q '^pending:' "$RECORD"
	assert_equal "$(record_cpus)" "$(stub_state cpus)"
}
