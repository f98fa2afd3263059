#!/usr/bin/env bats
# The claims of docs/security.md about the host side: file modes, symlink
# handling, ownership checks, and which sockets the stub will touch.

load inventory_helpers

setup() {
	inv_setup
	write_inventory "max_vcpu_count: 8"
}
teardown() { stop_stub; }

@test "security: the state directory is made 0700, records and locks 0600" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault reply-after=3000
	vcpu set-count 2 &
	local i
	for i in $(seq 100); do
		[ -e "$UPCALL_STATE_DIR/web1.lock" ] && break
		sleep 0.05
	done
	# the lock file exists while a command holds it
	assert_equal "$(stat -c %a "$UPCALL_STATE_DIR/web1.lock")" 600
	wait $! || fail "vcpuctl set-count 2 failed"
	assert_equal "$(stat -c %a "$UPCALL_STATE_DIR")" 700
	assert_equal "$(stat -c %a "$RECORD")" 600
}

@test "security: a state directory that is a symlink is refused" {
	start_stub
	mkdir -m 700 "$BATS_TEST_TMPDIR/elsewhere"
	ln -s "$BATS_TEST_TMPDIR/elsewhere" "$UPCALL_STATE_DIR"
	run vcpu set-count 2
	assert_failure 71
	assert_output --partial "(refusing a symlink or non-directory)"
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR/elsewhere")" ""
	assert_equal "$(stub_state requests)" 0
}

@test "security: a state directory others can enter is refused" {
	start_stub
	mkdir -m 750 "$UPCALL_STATE_DIR"
	run vcpu set-count 2
	assert_failure 71
	assert_output "vcpuctl: state directory $UPCALL_STATE_DIR is open to others (mode 0750); refusing to use it (chmod 700 $UPCALL_STATE_DIR)"
	assert_equal "$(stub_state requests)" 0
}

@test "security: a state directory owned by another user is refused" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give the directory away"
	start_stub
	mkdir -m 700 "$UPCALL_STATE_DIR"
	chown 65534 "$UPCALL_STATE_DIR"
	run vcpu set-count 2
	assert_failure 71
	assert_output --partial "is owned by uid 65534, not by you; refusing to use it"
}

@test "security: a record that is a symlink is neither read nor written through" {
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	mkdir -m 700 "$UPCALL_STATE_DIR"
	printf 'cpus: [0, 1, 2, 3]\n' >"$BATS_TEST_TMPDIR/victim"
	ln -s "$BATS_TEST_TMPDIR/victim" "$RECORD"
	run vcpu get
	assert_failure 71
	assert_output --partial "unreadable state record $RECORD: Too many levels of symbolic links"
	# sync re-seeds: it replaces the link with a record, the target untouched
	run vcpu sync --apic-ids 0
	assert_success
	assert_equal "$(cat "$BATS_TEST_TMPDIR/victim")" "cpus: [0, 1, 2, 3]"
	assert [ -f "$RECORD" ]
	refute [ -L "$RECORD" ]
}

@test "security: a lock file that is a symlink is refused" {
	start_stub
	mkdir -m 700 "$UPCALL_STATE_DIR"
	ln -s "$BATS_TEST_TMPDIR/victim" "$UPCALL_STATE_DIR/web1.lock"
	run vcpu set-count 2
	assert_failure 71
	assert_output --partial "lock file web1.lock in the state directory: Too many levels of symbolic links"
	[ ! -e "$BATS_TEST_TMPDIR/victim" ]
	assert_equal "$(stub_state requests)" 0
}

@test "security: an inventory owned by another user is refused" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give the file away"
	chown 65534 "$INV"
	run vcpu get
	assert_failure
	assert_output --partial "refusing to read: owned by uid 65534, which is neither root nor you"
}

@test "security: the stub replaces no file, symlink or live socket at its path" {
	SOCK=$BATS_TEST_TMPDIR/vm.sock
	echo data >"$SOCK"
	run "$STUB" --socket "$SOCK"
	assert_failure
	assert_output "upcall-stub: $SOCK exists and is not a socket; not replacing it"
	assert_equal "$(cat "$SOCK")" data
	rm "$SOCK"

	start_stub
	ln -s "$SOCK" "$BATS_TEST_TMPDIR/link.sock"
	run "$STUB" --socket "$BATS_TEST_TMPDIR/link.sock"
	assert_failure
	assert_output --partial "exists and is not a socket; not replacing it"
	run "$STUB" --socket "$SOCK"
	assert_failure
	assert_output "upcall-stub: $SOCK is in use by a running server"
	run ctl ping
	assert_success
}

@test "security: at exit the stub removes its own socket, not one put in its place" {
	start_stub
	mv "$SOCK" "$BATS_TEST_TMPDIR/old.sock"
	echo other >"$SOCK"
	stop_stub
	assert_equal "$(cat "$SOCK")" other
}
