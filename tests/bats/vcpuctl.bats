#!/usr/bin/env bats
# vcpuctl against the stub: resize, topology IDs, the shared record.

load inventory_helpers

setup() { inv_setup; }
teardown() { stop_stub; }

@test "vcpuctl set-count grows then shrinks; stub and record agree" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 8"
	start_stub --boot-vcpus 1 --max-vcpus 8
	run vcpu set-count 4
	assert_success
	assert_output "added 3 vCPUs (APIC IDs 1, 2, 3)"
	assert_equal "$(stub_state cpus)" "0,1,2,3"
	assert_equal "$(record_cpus)" "0,1,2,3"
	run vcpu set-count 2
	assert_success
	assert_equal "$(stub_state last)" "DEL_CPU ret=0 index=2 size=258 ids=3,2"
	assert_equal "$(stub_state cpus)" "0,1"
	assert_equal "$(record_cpus)" "0,1"
}

@test "vcpuctl set-count to the current count sends no change" {
	write_inventory "boot_vcpu_count: 2" "max_vcpu_count: 4"
	start_stub --boot-vcpus 2 --max-vcpus 4
	run vcpu set-count 2
	assert_success
	assert_output "web1 already has 2 vCPUs; nothing to do"
	refute [ "$(stub_state last | cut -d' ' -f1)" = ADD_CPU ]
	assert_equal "$(stub_state cpus)" "0,1"
}

@test "vcpuctl set-count outside 1..max_vcpu_count is 64 and sends nothing" {
	write_inventory "max_vcpu_count: 4"
	start_stub --max-vcpus 8
	run vcpu set-count 5
	assert_failure 64
	assert_output "vcpuctl: VM web1: 5 vCPUs is outside 1..4 (max_vcpu_count)"
	run vcpu set-count 0
	assert_failure 64
	assert_equal "$(stub_state requests)" "0"
}

@test "vcpuctl sends topology-derived APIC IDs (2 threads x 3 cores x 2 sockets)" {
	write_inventory "max_vcpu_count: 12" \
		"topology: {threads_per_core: 2, cores_per_die: 3, dies_per_socket: 1, sockets: 2}"
	start_stub --boot-vcpus 1 --max-vcpus 16
	run vcpu set-count 8
	assert_success
	assert_equal "$(stub_state last)" "ADD_CPU ret=0 index=7 size=258 ids=1,2,3,4,5,8,9"
	run vcpu set-count 12
	assert_equal "$(stub_state cpus)" "0,1,2,3,4,5,8,9,10,11,12,13"
	run vcpu -o json get
	assert_output --partial '"apic_ids":[0,1,2,3,4,5,8,9,10,11,12,13]'
}

@test "vcpuctl partial resize exits 2 and records what was done" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8 --fault fail-cpu=2
	run vcpu set-count 4
	assert_failure 2
	assert_line "added 1 vCPU (APIC ID 1); APIC IDs 2, 3 were not added"
	assert_equal "$(stub_state cpus)" "0,1"
	assert_equal "$(record_cpus)" "0,1"
}

@test "vcpuctl: 10 concurrent set-count runs lose no update" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	local i pids=()
	for i in $(seq 10); do
		"$VCPUCTL" --config "$INV" --vm web1 -t 10 set-count $((i % 5 + 2)) \
			>"$BATS_TEST_TMPDIR/run.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "a run failed: $(cat "$BATS_TEST_TMPDIR"/run.*)"
	done
	assert_equal "$(record_cpus)" "$(stub_state cpus)"
	run vcpu get
	assert_success
}

@test "vcpuctl: kill -9 mid-request leaves a readable record that says so" {
	write_inventory "max_vcpu_count: 8"
	# every reply takes 3 s: the query's, then ADD_CPU's
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8 --fault reply-after=3000
	"$VCPUCTL" --config "$INV" --vm web1 -t 10 set-count 3 3>&- &
	local pid=$!
	wait_stub_requests 2	# ADD_CPU has reached the guest, its reply has not come
	kill -9 "$pid"
	wait "$pid" || true
	run grep -c '^pending: "add vCPUs 1, 2"$' "$RECORD"
	assert_output 1
	assert_equal "$(record_cpus)" "0"
	run vcpu -t 10 get
	assert_success
	assert_line --partial "an earlier request was interrupted before its result was recorded (add vCPUs 1, 2)"
	assert_line --partial "web1: 1 vCPU online (APIC ID 0), max 8; from the record"
	# the notice names the exact command for either outcome; the guest did it
	assert_line --partial "check the guest, then run 'vcpuctl --config $INV --vm web1 sync --apic-ids 0,1,2' if it was done, or 'vcpuctl --config $INV --vm web1 sync --apic-ids 0' if it was not"
	run "$VCPUCTL" --config "$INV" --vm web1 sync --apic-ids 0,1,2
	assert_success
	refute grep -q '^pending:' "$RECORD"
	assert_equal "$(record_cpus)" "$(stub_state cpus)"
}

@test "vcpuctl: an interrupted request is settled by a query of its kind; one of the other kind names its sync" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 2 --max-vcpus 8
	vcpu get
	# records as an interrupted request leaves them
	sed -i '$a pending: "add memory 0x100000000+0x8000000"' "$RECORD"
	run vcpu get
	assert_success
	assert_line "vcpuctl: notice: VM web1: an earlier request was interrupted before its result was recorded (add memory 0x100000000+0x8000000); run 'memctl --config $INV --vm web1 sync' to take the guest's answer into the record"
	grep -q '^pending:' "$RECORD"
	run "$MEMCTL" --config "$INV" --vm web1 sync
	assert_success
	refute grep -q '^pending:' "$RECORD"
	sed -i '$a pending: "add vCPUs 2"' "$RECORD"
	run vcpu get
	assert_success
	refute_output --partial "notice"
	refute grep -q '^pending:' "$RECORD"
}

@test "vcpuctl sync without a list takes the guest's answer" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 8"
	start_stub --boot-vcpus 3 --max-vcpus 8
	run vcpu -o json sync
	assert_success
	assert_output --partial '"apic_ids":[0,1,2]'
	assert_output --partial '"source":"guest"'
	assert_equal "$(record_cpus)" "0,1,2"
}

@test "vcpuctl sync without a list on a guest that does not answer queries: a clear error, the record unchanged" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 8"
	start_stub --upstream --boot-vcpus 3 --max-vcpus 8
	vcpu get
	run vcpu sync
	assert_failure 1
	assert_output --partial "VM web1: the guest does not answer queries"
	assert_output --partial "so it cannot say which vCPUs are online; check the guest, then run 'vcpuctl --config $INV --vm web1 sync --apic-ids LIST'"
	assert_equal "$(record_cpus)" "0"
}

@test "a guest that cannot be reached leaves no pending mark" {
	write_inventory "max_vcpu_count: 8" "memory:" "  regions:" "    - {base: 0x100000000, size: 1G}"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	stop_stub
	run vcpu set-count 3
	assert_failure 69
	run "$MEMCTL" --config "$INV" --vm web1 add 128M
	assert_failure 69
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu add 1
	assert_failure 69
	run "$UPCALLCTL" --config "$INV" --vm web1 mem add 128M --base 0x100000000
	assert_failure 69
	refute grep -q '^pending:' "$RECORD"
	start_stub --no-query --boot-vcpus 2 --max-vcpus 8
	run vcpu get
	assert_success
	refute_output --partial "interrupted"
}

@test "vcpuctl: a recreated socket resets the record to the boot state" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 3
	assert_equal "$(record_cpus)" "0,1,2"
	stop_stub
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	run vcpu get
	assert_success
	assert_line --partial "VM web1 was restarted or replaced"
	assert_line --partial "web1: 1 vCPU online (APIC ID 0)"
	assert_equal "$(record_cpus)" "0"
}

@test "vcpuctl uses the query extension when offered: the guest wins" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 3 --max-vcpus 8
	vcpu sync --apic-ids 0,5
	run vcpu -o json get
	assert_success
	assert_output --partial '"count":3,"apic_ids":[0,1,2]'
	assert_output --partial '"source":"guest"'
	assert_equal "$(record_cpus)" "0,1,2"
	assert_equal "$(stub_state last)" "QUERY_CPUS ret=0 size=0"
}

@test "vcpuctl falls back to the record when the guest has no query extension" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 2 --max-vcpus 8
	vcpu sync --apic-ids 0,1
	run vcpu -o json get
	assert_success
	assert_output --partial '"count":2,"apic_ids":[0,1]'
	assert_output --partial '"source":"record"'
	run vcpu set-count 3
	assert_success
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "vcpuctl: a -22 a stale record may explain names both causes, calls no record out of date, and sync repairs it" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 2 --max-vcpus 8
	run vcpu set-count 2
	assert_failure 1
	assert_output "vcpuctl: guest replied -22 (Invalid argument) to ADD_CPU: an APIC ID is already online, or (upstream guest) no possible CPU is left"
	run vcpu sync --apic-ids 0,1
	assert_success
	run vcpu set-count 3
	assert_success
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "vcpuctl set-count 255: the whole list of IDs, in text and in the record" {
	write_inventory "max_vcpu_count: 255"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 255
	run vcpu set-count 255
	assert_success
	assert_output --regexp '^added 254 vCPUs \(APIC IDs 1, 2, 3, .*, 252, 253, 254\)$'
	run vcpu get
	assert_output --regexp '^web1: 255 vCPUs online \(APIC IDs 0, 1, .*, 253, 254\), max 255; from the record$'
}

@test "numbers are decimal or 0x hex, never octal: 010 is ten" {
	write_inventory "max_vcpu_count: 16"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 16
	run vcpu sync --apic-ids 0,010,0xb
	assert_success
	assert_equal "$(record_cpus)" "0,10,11"
	run vcpu sync --apic-ids 0,09
	assert_success
	assert_equal "$(record_cpus)" "0,9"
	run "$UPCALLCTL" --vm vsock:010 -t 0.5 ping
	assert_output --partial "vsock CID 10 port 219"
}

@test "upcallctl cpu --apic-ids: only the VM's own IDs, and only on x86_64" {
	write_inventory "max_vcpu_count: 2"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu add 2 --apic-ids 40,41
	assert_failure 64
	assert_output "upcallctl: VM web1: APIC ID 40 is not one of its vCPUs' IDs (see its topology and max_vcpu_count)"
	write_inventory "max_vcpu_count: 2" "arch: aarch64"
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu add 1 --apic-ids 1
	assert_failure 64
	assert_output "upcallctl: --apic-ids applies to x86_64 guests only (VM web1 is aarch64, which takes a count)"
	run "$UPCALLCTL" --arch aarch64 --vm "$SOCK" cpu add 1 --apic-ids 1
	assert_failure 64
	assert_equal "$(stub_state requests)" "0"
	write_inventory "max_vcpu_count: 2"
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu add 1 --apic-ids 1
	assert_success
	assert_equal "$(record_cpus)" "0,1"
}

@test "upcallctl cpu add picks free IDs from the record vcpuctl keeps" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 3
	run "$UPCALLCTL" --config "$INV" --vm "$SOCK" cpu add 2
	assert_success
	assert_equal "$(stub_state last)" "ADD_CPU ret=0 index=2 size=258 ids=3,4"
	assert_equal "$(record_cpus)" "0,1,2,3,4"
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu del 1
	assert_success
	assert_equal "$(stub_state cpus)" "0,1,2,3"
	assert_equal "$(record_cpus)" "0,1,2,3"
}
