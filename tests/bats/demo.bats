#!/usr/bin/env bats
# make demo (scripts/demo), the README's first command: every step shows
# what it claims, and nothing is left behind.

load helpers

@test "demo: each step's exit code and the guest state it shows" {
	TERM=dumb run_bounded 60 env B="$B" "$BATS_TEST_DIRNAME/../../scripts/demo"
	assert_success
	assert_line --regexp '^Guest stub listening on /.*/vm\.sock \(1 boot vCPU, at most 4\)\.$'
	assert_line --regexp '^unix:/.*/vm\.sock: device manager answered in [0-9.]+ ms$'
	assert_line "added 2 vCPUs (APIC IDs 1, 2)"
	assert_line "  (exit 0; the guest now has CPUs 0,1,2, hot-added memory none)"
	assert_line ">> 00014d44 02010000 02000000 00000000 | magic ok, size 258, DEL_CPU"
	assert_line "upcallctl: guest replied -22 (Invalid argument) to DEL_CPU: the boot CPU, an offline CPU, or every online CPU was named"
	assert_line "  (exit 1; the guest now has CPUs 0,1, hot-added memory none)"
	assert_line "added 128MiB of memory at 0x100000000-0x107ffffff"
	assert_line --partial '"command":"mmio add","ok":true,"exit_code":0}'
	assert_line "removed PCI device 00:03.0"
	assert_line "upcallctl cpu add: vCPU count 0 out of range 1..255 (see 'upcallctl cpu add --help')"
	assert_line "  (exit 64; the guest now has CPUs 0,1, hot-added memory 0x100000000+0x8000000)"
	assert_line "added 2 vCPUs (APIC IDs 2, 3)"
	assert_line "  (exit 0; the guest now has CPUs 0,1,2,3, hot-added memory 0x100000000+0x8000000)"
	assert_line --regexp '^/.*/vm\.sock: 2 vCPUs online \(APIC IDs 0, 1\), max 255 \(no max_vcpu_count in an inventory\); as the guest reports$'
	assert_line "removed 2 vCPUs (APIC IDs 3, 2)"
	assert_line "  0x100000000-0x107ffffff (128MiB)"
	# the last step leaves the guest where the demo's story ends
	run bash -c "grep '^  (exit' <<<\"\$1\" | tail -n 1" _ "$output"
	assert_output "  (exit 0; the guest now has CPUs 0,1, hot-added memory 0x100000000+0x8000000)"
}

@test "demo: the stub is stopped and its directory removed" {
	TERM=dumb run_bounded 60 env B="$B" "$BATS_TEST_DIRNAME/../../scripts/demo"
	assert_success
	local re='^Guest stub listening on (/.+)/vm\.sock ' dir
	[[ ${lines[0]} =~ $re ]] || fail "no stub directory in: ${lines[0]}"
	dir=${BASH_REMATCH[1]}
	assert [ ! -e "$dir" ]
	run pgrep -f -- "$dir/vm.sock"
	assert_failure 1
}

@test "demo: a stub that cannot start is one line and exit 1, not a run of failures" {
	mkdir -p "$BATS_TEST_TMPDIR/b"
	printf '#!/bin/sh\nexit 1\n' > "$BATS_TEST_TMPDIR/b/upcall-stub"
	chmod +x "$BATS_TEST_TMPDIR/b/upcall-stub"
	run_bounded 30 env B="$BATS_TEST_TMPDIR/b" "$BATS_TEST_DIRNAME/../../scripts/demo"
	assert_failure 1
	assert_output --regexp '^demo: upcall-stub did not start listening on /.*/vm\.sock$'
}
