#!/usr/bin/env bats
# --dry-run (-n) on every command that changes a VM: it says what would be
# sent (the IDs picked, where memory goes, what the VMM would make), in
# text and JSON, after the read-only queries only; the stub's request log
# shows no change request, its state and the state record stay as they were.

load inventory_helpers

setup() {
	inv_setup
	QMP=$BATS_TEST_TMPDIR/vm.qmp
}

teardown() { stop_stub; }

# snapshot: remember the stub's state (less its request counters), the
# records and how far its log goes; assert_unchanged: state and records as
# they were, and the stub received queries since, but no change request.
snapshot() {
	grep -v -e '^requests:' -e '^last:' "$STATE" >"$BATS_TEST_TMPDIR/state.before"
	cat "$UPCALL_STATE_DIR"/*.yaml >"$BATS_TEST_TMPDIR/records.before" 2>/dev/null || true
	LOG_SEEN=$(wc -l <"$BATS_TEST_TMPDIR/stub.log")
}

assert_unchanged() {
	local log=$BATS_TEST_TMPDIR/stub.log.since
	tail -n +$((LOG_SEEN + 1)) "$BATS_TEST_TMPDIR/stub.log" >"$log"
	# every request the stub saw since the snapshot is a query
	run grep -E 'request [0-9]+: ' "$log"
	assert_output --partial "QUERY_"
	refute_output --regexp 'request [0-9]+: (ADD|DEL)_'
	run grep -E 'QMP (device_add|device_del|object-add|object-del)' "$log"
	assert_output ""
	run diff "$BATS_TEST_TMPDIR/state.before" <(grep -v -e '^requests:' -e '^last:' "$STATE")
	assert_success
	run diff "$BATS_TEST_TMPDIR/records.before" <(cat "$UPCALL_STATE_DIR"/*.yaml 2>/dev/null || true)
	assert_success
}

@test "dry run: upcallctl cpu add/del pick the IDs the guest would get, send nothing" {
	start_stub -v --boot-vcpus 2 --max-vcpus 8
	snapshot
	run ctl -n cpu add 2
	assert_success
	assert_output "would add 2 vCPUs (APIC IDs 2, 3) with ADD_CPU (APIC version 0x14); nothing sent"
	run ctl --dry-run -o json cpu del 1
	assert_success
	run jq -c '[.dry_run, .request, .apic_ids, .source, .exit_code]' <<<"$output"
	assert_output '[true,"DEL_CPU",[1],"guest",0]'
	run ctl -n cpu add 1 --apic-ids 5 --apic-ver 0x15
	assert_success
	assert_output "would add 1 vCPU (APIC ID 5) with ADD_CPU (APIC version 0x15); nothing sent"
	assert_unchanged
	assert_equal "$(stub_state cpus)" "0,1"
	# the same command without -n does it
	run ctl cpu add 2
	assert_output "added 2 vCPUs (APIC IDs 2, 3)"
}

@test "dry run: upcallctl mem, mmio and pci add/del say the request, send nothing" {
	start_stub -v --pci 00:03.0
	snapshot
	run ctl -n mem add 128M --base 4G
	assert_success
	assert_output "would add 128MiB of memory at 0x100000000-0x107ffffff with ADD_MEM; nothing sent"
	run ctl -n -o json mem del 128M --base 0x100000000
	run jq -c '[.dry_run, .request, .base, .size]' <<<"$output"
	assert_output '[true,"DEL_MEM",4294967296,134217728]'
	run ctl -n mmio add --base 0xd0000000 --size 4K --irq 5
	assert_success
	assert_output "would add virtio-mmio device at 0xd0000000-0xd0000fff, IRQ 5 with ADD_MMIO; nothing sent"
	run ctl -n -o json mmio del --base 0xd0000000 --size 4K --irq 5
	run jq -c '[.dry_run, .request, .irq]' <<<"$output"
	assert_output '[true,"DEL_MMIO",5]'
	run ctl -n pci del 00:03.0
	assert_success
	assert_output "would remove PCI device 00:03.0 with DEL_PCI; nothing sent"
	run ctl -n -o json pci add 00:04.0
	run jq -c '[.dry_run, .request, .address]' <<<"$output"
	assert_output '[true,"ADD_PCI","00:04.0"]'
	assert_unchanged
	assert_equal "$(stub_state pci)" "00:03.0"
}

@test "dry run: vcpuctl set-count plans by the topology and the guest, records nothing" {
	write_inventory "max_vcpu_count: 8" "topology: {threads_per_core: 2, cores_per_die: 2, dies_per_socket: 1, sockets: 2}"
	start_stub -v --boot-vcpus 1 --max-vcpus 8
	vcpu set-count 2
	snapshot
	run vcpu -n set-count 5
	assert_success
	assert_output "would add 3 vCPUs (APIC IDs 2, 3, 4) with ADD_CPU (APIC version 0x14); nothing sent"
	run vcpu -n -o json set-count 1
	run jq -c '[.dry_run, .request, .from, .to, .apic_ids]' <<<"$output"
	assert_output '[true,"DEL_CPU",2,1,[1]]'
	# nothing sent but the queries: the log's last request is one
	assert_equal "$(stub_state last | cut -d' ' -f1)" QUERY_CPUS
	assert_unchanged
}

@test "dry run: memctl add places, del picks, and neither is sent nor recorded" {
	write_inventory "memory:" "  block_size: 128M" "  regions:" "    - {base: 0x100000000, size: 2G}"
	start_stub -v
	mem add 256M
	snapshot
	run mem -n add 1G
	assert_success
	assert_output "would add 1GiB of memory at 0x110000000-0x14fffffff with ADD_MEM; nothing sent"
	run mem -n del 256M
	assert_success
	assert_line "picked 0x100000000-0x10fffffff, the highest range of 256MiB the guest lists, the one placed last (give --base for another)"
	assert_line "would remove 256MiB of memory at 0x100000000-0x10fffffff with DEL_MEM; nothing sent"
	assert_unchanged
	assert_equal "$(stub_state mem)" "0x100000000+0x10000000"
}

@test "dry run: with a VMM, which vCPUs and DIMMs it would make or reuse; the VMM makes nothing" {
	write_inventory "max_vcpu_count: 4" "vmm: {qmp: $QMP}"
	start_stub -v --max-vcpus 4 --qmp "$QMP"
	vcpu set-count 2
	vcpu set-count 1
	snapshot
	run vcpu -n set-count 3
	assert_success
	assert_line "would create 1 vCPU in the VMM (APIC ID 2)"
	assert_line "would reuse 1 vCPU the VMM already has (APIC ID 1)"
	assert_line "would add 2 vCPUs (APIC IDs 1, 2) with ADD_CPU (APIC version 0x14); nothing sent"
	run vcpu -n -o json set-count 3
	run jq -c '[.dry_run, .vmm]' <<<"$output"
	assert_output '[true,{"create":[2],"existing":[1]}]'
	run mem -n -o json add 256M
	assert_success
	run jq -c '[.dry_run, .vmm.dimm, .vmm.create, .base, .request]' <<<"$output"
	assert_output '[true,"upcall-dimm0",true,null,"ADD_MEM"]'
	assert_unchanged
	assert_equal "$(stub_state vmm-cpus)" "0,1"
	assert_equal "$(stub_state vmm-dimms)" ""
	# a DIMM the guest no longer has would be reused
	mem add 256M
	mem del 256M
	snapshot
	run mem -n add 256M
	assert_success
	assert_line "would reuse the VMM's DIMM, which the guest no longer has: upcall-dimm0 (256MiB at 0x100000000)"
	assert_line "would add 256MiB of memory at 0x100000000-0x10fffffff with ADD_MEM; nothing sent"
	run grep -c 'QMP object-add' "$BATS_TEST_TMPDIR/stub.log"
	assert_output 1
}

@test "dry run: a fleet run sends nothing to any VM" {
	start_stub -v --boot-vcpus 1
	local sock2=$BATS_TEST_TMPDIR/vm2.sock
	"$STUB" --socket "$sock2" --state-file "$BATS_TEST_TMPDIR/stub2.state" --boot-vcpus 3 3>&- 2>/dev/null &
	local pid2=$!
	for _ in $(seq 100); do [ -S "$sock2" ] && break; sleep 0.05; done
	run "$UPCALLCTL" --vm "$SOCK" --vm "$sock2" -n cpu add 1
	kill "$pid2"
	wait "$pid2" || true
	assert_success
	assert_line "$SOCK: would add 1 vCPU (APIC ID 1) with ADD_CPU (APIC version 0x14); nothing sent"
	assert_line "$sock2: would add 1 vCPU (APIC ID 3) with ADD_CPU (APIC version 0x14); nothing sent"
	assert_equal "$(stub_state cpus)" "0"
	grep -qx 'cpus: 0,1,2' "$BATS_TEST_TMPDIR/stub2.state"
}
