#!/usr/bin/env bats
# The state record layer: which VM a record is about (identity, spelling),
# what it stores, when it is written, and the per-VM lock.

load inventory_helpers
bats_require_minimum_version 1.5.0

setup() {
	inv_setup
	STUBS=()
}

teardown() {
	local p
	stop_stub
	for p in "${STUBS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[ -z "${HOLDER:-}" ] || { kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; } || true
}

# stub_at PATH [STUB OPTIONS...]: a stub on PATH (any bytes), state in $2.state.
stub_at() {
	local path=$1 state=$BATS_TEST_TMPDIR/at.state i
	shift
	rm -f "$BATS_TEST_TMPDIR/at.pid"
	"$STUB" --socket "$path" --state-file "$state" --pid-file "$BATS_TEST_TMPDIR/at.pid" \
		"$@" 3>&- 2>>"$BATS_TEST_TMPDIR/stubs.log" &
	STUBS+=($!)
	for i in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/at.pid" ] && return 0
		sleep 0.05
	done
	fail "upcall-stub on $path did not start"
}

# wait_for FILE: until FILE exists (10 s at most).
wait_for() {
	local i
	for i in $(seq 200); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	fail "$1 never appeared"
}

records() { (cd "$UPCALL_STATE_DIR" && ls -- *.yaml 2>/dev/null); }

# ---- 1. identity: what changes when the VMM restarts, nothing else

@test "state: chmod, chown, a hard link and a rename of the socket do not reset the record" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 3
	chmod 700 "$SOCK"
	chown "$(id -u):$(id -g)" "$SOCK"
	ln "$SOCK" "$BATS_TEST_TMPDIR/other.sock"
	mv "$SOCK" "$BATS_TEST_TMPDIR/moved.sock"
	mv "$BATS_TEST_TMPDIR/moved.sock" "$SOCK"
	run vcpu get
	assert_success
	refute_output --partial "restarted or replaced"
	assert_output --partial "web1: 3 vCPUs online (APIC IDs 0, 1, 2)"
	# the guest cannot be asked: only a record that kept track picks ID 3
	run vcpu set-count 4
	assert_success
	assert_output "added 1 vCPU (APIC ID 3)"
	assert_equal "$(stub_state cpus)" "0,1,2,3"
}

@test "state: a VMM restarted on the same path is still noticed" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	stop_stub
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	run vcpu get
	assert_success
	assert_line --partial "VM web1 was restarted or replaced"
	assert_equal "$(record_cpus)" "0"
}

@test "state: a record written with the change time in its identity is kept, not reset" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 3
	# what older versions wrote: the path, device, inode and change time
	local old
	old="unix:$SOCK dev=$(stat -c %d "$SOCK") ino=$(stat -c %i "$SOCK") ctime=1.000000000"
	sed -i "s|^identity: .*|identity: \"$old\"|" "$RECORD"
	run vcpu get
	assert_success
	refute_output --partial "restarted or replaced"
	assert_output --partial "3 vCPUs online"
	run grep '^identity:' "$RECORD"
	refute_output --partial "ctime"
}

@test "state: a read-only command does not rewrite an unchanged record" {
	write_inventory "max_vcpu_count: 8" "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 1G}"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	mem add 128M
	local ino
	ino=$(stat -c %i "$RECORD")
	run vcpu get
	assert_success
	run mem list
	assert_success
	# a write replaces the file (temp file and rename): a new inode
	assert_equal "$(stat -c %i "$RECORD")" "$ino"
}

# ---- 2. one VM, one record, one lock, however its path is spelled

@test "state: every spelling of a socket path (//, ./, relative, symlink) shares one record and lock" {
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	ln -s "$SOCK" "$BATS_TEST_TMPDIR/link.sock"
	local t=$BATS_TEST_TMPDIR
	run "$VCPUCTL" --vm "$t/vm.sock" set-count 2
	assert_success
	run "$VCPUCTL" --vm "$t//vm.sock" set-count 3
	assert_output "added 1 vCPU (APIC ID 2)"
	run "$VCPUCTL" --vm "$t/./vm.sock" set-count 4
	assert_output "added 1 vCPU (APIC ID 3)"
	run "$VCPUCTL" --vm "$t/link.sock" set-count 5
	assert_output "added 1 vCPU (APIC ID 4)"
	cd "$t"
	run "$VCPUCTL" --vm ./vm.sock set-count 6
	assert_output "added 1 vCPU (APIC ID 5)"
	assert_equal "$(stub_state cpus)" "0,1,2,3,4,5"
	assert_equal "$(records | wc -l)" 1
	# and one lock: held under one spelling, busy under every other
	local name
	name=$(records)
	hold_lock "$UPCALL_STATE_DIR/${name%.yaml}.lock"
	for v in "$t/vm.sock" "$t//vm.sock" "$t/./vm.sock" "$t/link.sock" ./vm.sock; do
		run "$VCPUCTL" --no-wait --vm "$v" get
		assert_failure 5
	done
	release_lock
}

@test "state: a symlink or another spelling of an inventory VM's socket is that VM" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	ln -s "$SOCK" "$BATS_TEST_TMPDIR/link.sock"
	vcpu set-count 2
	run "$VCPUCTL" --config "$INV" --vm "$BATS_TEST_TMPDIR/link.sock" set-count 3
	assert_success
	assert_output "added 1 vCPU (APIC ID 2)"
	run "$VCPUCTL" --config "$INV" --vm "$BATS_TEST_TMPDIR//vm.sock" get
	assert_output --partial "web1: 3 vCPUs online"
	assert_equal "$(records)" "web1.yaml"
}

# ---- 3. any path can be stored

@test "state: a socket path that is not UTF-8 is managed; the record stores it escaped" {
	local weird=$BATS_TEST_TMPDIR/$'vm\xff\\.sock'
	stub_at "$weird" --no-query --boot-vcpus 1 --max-vcpus 8
	run "$VCPUCTL" --vm "$weird" set-count 2
	assert_success
	assert_output "added 1 vCPU (APIC ID 1)"
	run "$VCPUCTL" --vm "$weird" get
	assert_success
	assert_output --partial "2 vCPUs online"
	run grep '^target:' "$UPCALL_STATE_DIR/$(records)"
	assert_output "target: \"unix:$BATS_TEST_TMPDIR/vm\\\\xff\\\\\\\\.sock\""
}

# ---- 4. a request never sent leaves no mark

@test "state: memctl add --base 0 is refused by its parser; nothing sent, no mark" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	run mem add 128M --base 0
	assert_failure 64
	assert_output --partial "--base must not be zero"
	assert_equal "$(stub_state requests)" 0
	run vcpu get
	assert_success
	refute_output --partial "interrupted"
}

# A request the library refuses before sending (UPCALL_ERR_INVALID after
# the mark) puts the earlier mark back: tests/unit/test-state.c, as every
# such request the tools build is now refused by their parsers first.

# ---- 5. in-flight marks are synced; a broken record blocks nothing

@test "state: the in-flight mark is fsynced before the request is sent" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	# LeakSanitizer cannot run under ptrace: a sanitizer build checks leaks elsewhere
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run strace -f -e trace=fsync,rename,renameat,renameat2 -o "$BATS_TEST_TMPDIR/trace" \
		"$VCPUCTL" --config "$INV" --vm web1 set-count 3
	assert_success
	assert_equal "$(stub_state cpus)" "0,1,2"
	# the first record written is the mark: its file is synced before its rename
	run awk '/rename/ { exit } /fsync\(/ { n++ } END { print n + 0 }' "$BATS_TEST_TMPDIR/trace"
	assert_output 1
	# the mark and the result: file and directory each
	run grep -c 'fsync(' "$BATS_TEST_TMPDIR/trace"
	assert_output 4
}

@test "state: an empty record does not block a guest that answers queries" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 2 --max-vcpus 8
	vcpu get
	: >"$RECORD"
	run vcpu set-count 3
	assert_success
	assert_line --partial "notice: unreadable state record"
	assert_line "added 1 vCPU (APIC ID 2)"
	assert_equal "$(record_cpus)" "0,1,2"
}

@test "state: a torn record with a guest that cannot be asked: changes are refused, sync re-seeds" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	head -c 60 "$RECORD" >"$RECORD.torn"
	printf 'cpus: [0, 1' >>"$RECORD.torn"
	mv "$RECORD.torn" "$RECORD"
	run vcpu set-count 3
	assert_failure 71
	assert_output --partial "re-seed it with the sync command"
	assert_equal "$(stub_state cpus)" "0,1"
	run vcpu sync --apic-ids 0,1
	assert_success
	run vcpu set-count 3
	assert_success
	assert_output "added 1 vCPU (APIC ID 2)"
}

# ---- 6 and #15.9. the lock: who holds it, a bound, --no-wait, no litter

@test "state: a busy VM says at once who holds it; --no-wait fails at once with 5" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault reply-after=1500
	"$VCPUCTL" --config "$INV" --vm web1 set-count 2 >"$BATS_TEST_TMPDIR/first" 2>&1 &
	local first=$! i
	for i in $(seq 200); do
		grep -q vcpuctl "$UPCALL_STATE_DIR/web1.lock" 2>/dev/null && break
		sleep 0.05
	done
	run_bounded 3 "$VCPUCTL" --config "$INV" --vm web1 --no-wait get
	assert_failure 5
	assert_output --regexp "^vcpuctl: VM web1 is busy: vcpuctl \(pid $first\) holds it since [0-9-]+ [0-9:]+ UTC \([0-9]+ s ago\), running '.*vcpuctl --config .* --vm web1 set-count 2'; not waiting \(--no-wait\)$"
	# without --no-wait: the same notice at once, then it waits its turn
	run_bounded 30 "$VCPUCTL" --config "$INV" --vm web1 -t 5 get
	assert_success
	assert_line -n 0 --regexp "^vcpuctl: VM web1 is busy: vcpuctl \(pid $first\) .*; waiting up to 20 s for it$"
	assert_line --partial "web1: 2 vCPUs online"
	wait "$first" || fail "first command: $(cat "$BATS_TEST_TMPDIR/first")"
	# and nothing is left behind
	run ls -A "$UPCALL_STATE_DIR"
	assert_output "web1.yaml"
}

@test "state: lock files do not pile up in the state directory" {
	local i
	for i in 1 2 3; do
		stub_at "$BATS_TEST_TMPDIR/vm$i.sock" --boot-vcpus 1 --max-vcpus 8
	done
	run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/vm*.sock" cpu add 1
	assert_success
	run "$VCPUCTL" --vm "$BATS_TEST_TMPDIR/vm*.sock" get
	assert_success
	run bash -c "ls -A '$UPCALL_STATE_DIR' | grep -c '\\.lock$'"
	assert_output 0
}

# A holder that lets go and takes the lock straight back, as a loop of
# commands does, must not starve a waiter: the waiter queues in the
# turnstile (a one-byte OFD lock on NAME.lock) while it waits for the
# flock, and a newcomer has to pass the turnstile first.  Polling for the
# flock instead would almost never see the few microseconds it is free.
@test "state: a holder that takes the lock straight back cannot starve a waiter" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 1 --max-vcpus 8
	mkdir -p -m 700 "$UPCALL_STATE_DIR"
	python3 - "$UPCALL_STATE_DIR/web1.lock" "$BATS_TEST_TMPDIR/holding" <<-'EOF' &
		import fcntl, os, struct, sys, time
		path, flag = sys.argv[1], sys.argv[2]
		lk = lambda t: struct.pack("hhqqi4x", t, os.SEEK_SET, 0, 1, 0)
		end = time.monotonic() + 8
		while time.monotonic() < end:
		    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
		    fcntl.fcntl(fd, fcntl.F_OFD_SETLKW, lk(fcntl.F_WRLCK))   # turnstile
		    fcntl.flock(fd, fcntl.LOCK_EX)
		    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, lk(fcntl.F_UNLCK))
		    open(flag, "w").close()
		    time.sleep(0.2)
		    os.close(fd)                                             # and straight back
	EOF
	HOLDER=$!
	wait_for "$BATS_TEST_TMPDIR/holding"
	run_bounded 30 "$VCPUCTL" --config "$INV" --vm web1 -t 0.5 get
	assert_success
	assert_line --partial "web1: 1 vCPU online"
}

@test "state: the lock wait ends at its documented bound, four timeouts" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 1 --max-vcpus 8
	mkdir -p -m 700 "$UPCALL_STATE_DIR"
	hold_lock "$UPCALL_STATE_DIR/web1.lock"
	run_bounded 30 "$VCPUCTL" --config "$INV" --vm web1 -t 0.5 get
	assert_failure 75
	assert_line -n 0 "vcpuctl: VM web1 is busy: another operation holds its lock; waiting up to 2 s for it"
	release_lock
}

# ---- #15.2: a fleet run resolves names first and runs each VM once

@test "fleet: one VM named by name, absolute, relative and symlinked path runs once" {
	write_inventory "max_vcpu_count: 8" "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 1G}"
	start_stub --boot-vcpus 1 --max-vcpus 8
	ln -s "$SOCK" "$BATS_TEST_TMPDIR/link.sock"
	cd "$BATS_TEST_TMPDIR"
	run "$UPCALLCTL" --config "$INV" --vm web1 --vm "$SOCK" --vm ./vm.sock \
		--vm link.sock cpu add 1
	assert_success
	assert_equal "$(stub_state cpus)" "0,1"
	run "$MEMCTL" --config "$INV" --vm web1 --vm "$SOCK" --vm "$BATS_TEST_TMPDIR/*.sock" add 128M
	assert_success
	assert_equal "$(stub_state mem)" "0x100000000+0x8000000"
	UPCALL_VM="$BATS_TEST_TMPDIR/*.sock" run "$UPCALLCTL" --config "$INV" cpu add 1
	assert_success
	assert_equal "$(stub_state cpus)" "0,1,2"
	printf 'groups:\n  web: [web1]\n' >>"$INV"
	run "$UPCALLCTL" --config "$INV" --vm @web --vm link.sock --vm web1 cpu add 1
	assert_success
	assert_equal "$(stub_state cpus)" "0,1,2,3"
	run "$UPCALLCTL" --config "$INV" --vm @web --vm "$BATS_TEST_TMPDIR//vm.sock" cpu add 1
	assert_success
	assert_equal "$(stub_state cpus)" "0,1,2,3,4"
}
