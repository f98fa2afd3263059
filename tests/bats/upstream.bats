#!/usr/bin/env bats
# The tools against upcall-stub --upstream, which replies as an upstream
# (Dragonball) guest does: they report exactly what the guest has.

load inventory_helpers

setup() { inv_setup; }
teardown() { stop_stub; }

uctl() { "$UPCALLCTL" --config "$INV" --vm web1 "$@"; }

@test "upstream: ADD_MEM is an unknown request, not EPERM; nothing is recorded" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 4"
	start_stub --upstream
	run uctl mem add 128M --base 0x100000000
	assert_failure 1
	assert_output --partial "guest replied -1 (unknown request) to ADD_MEM: the guest does not serve this request"
	assert_output --partial "extension"
	refute_output --partial "Operation not permitted"
	assert_equal "$(stub_state last)" "ADD_MEM ret=-1 size=16"
	assert_equal "$(stub_state mem)" ""
}

@test "upstream: a CPU batch failing part-way without an index leaves its CPUs uncertain, exit 2" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 4"
	start_stub --upstream --max-vcpus 4 --vmm-vcpus 0,1,2 --missing-vcpu-wait 50
	run uctl -o json cpu add 2 --apic-ids 2,3
	assert_failure 2
	assert_equal "$(stub_state cpus)" "0,2"
	assert_output --partial '"uncertain":[2,3]'
	refute_output --partial '"done"'
	refute_output --partial '"not_done"'
	assert_output --partial "without reporting how far it got"
	grep -qx 'uncertain: \[2, 3\]' "$UPCALL_STATE_DIR"/*.yaml
	run vcpu get
	assert_success
	assert_output --partial "uncertain: APIC IDs 2, 3"
	run vcpu set-count 3
	assert_failure 64
	assert_output --partial "uncertain"
	assert_equal "$(stub_state cpus)" "0,2"
	run vcpu -o json sync --apic-ids 0,2
	assert_success
	assert_output --partial '"uncertain":[]'
	assert_equal "$(record_cpus)" "0,2"
	run grep -c uncertain "$UPCALL_STATE_DIR"/*.yaml
	assert_output 0
}

@test "upstream: one CPU failing without an index is a plain refusal, nothing uncertain" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 4"
	start_stub --upstream --max-vcpus 4 --vmm-vcpus 0,1 --missing-vcpu-wait 50
	run uctl cpu add 1 --apic-ids 2
	assert_failure 1
	assert_output --partial "guest replied -5 (Input/output error) to ADD_CPU"
	assert_equal "$(stub_state cpus)" "0"
	run vcpu get
	assert_success
	refute_output --partial uncertain
}

@test "upstream: -22 for no spare possible CPU, the boot CPU, an offline or online CPU; no record called out of date on a guess" {
	# the VMM allows 4, the guest was booted with 2 possible CPUs
	write_inventory "boot_vcpu_count: 2" "max_vcpu_count: 4"
	start_stub --upstream --boot-vcpus 2 --max-vcpus 2
	run uctl cpu add 1 --apic-ids 2
	assert_failure 1
	assert_output --partial "guest replied -22 (Invalid argument) to ADD_CPU"
	# both causes named; the record cannot know which, so it is not blamed
	assert_output --partial "an APIC ID is already online, or (upstream guest) no possible CPU is left"
	refute_output --partial "out of date"
	run uctl cpu add 1 --apic-ids 1
	assert_failure 1
	assert_output --partial "-22 (Invalid argument) to ADD_CPU"
	run uctl cpu del 1 --apic-ids 0
	assert_failure 1
	assert_output --partial "-22 (Invalid argument) to DEL_CPU"
	assert_equal "$(stub_state cpus)" "0,1"
	run uctl cpu del 1 --apic-ids 1
	assert_success
	run uctl cpu del 1 --apic-ids 1
	assert_failure 1
	assert_output --partial "-22 (Invalid argument) to DEL_CPU"
	assert_equal "$(stub_state last)" "DEL_CPU ret=-22 size=258 ids=1"
	assert_equal "$(stub_state cpus)" "0"
	assert_equal "$(record_cpus)" "0"
}

@test "upstream: MMIO window without a device 0, again -17, delete of nothing -19; PCI delete of nothing -19" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 2"
	start_stub --upstream
	run uctl mmio add --base 0xd0000000 --size 0x1000 --irq 5
	assert_success
	run uctl mmio add --base 0xd0000000 --size 0x1000 --irq 5
	assert_failure 1
	assert_output --partial "guest replied -17 (File exists) to ADD_MMIO"
	assert_equal "$(stub_state mmio)" "0xd0000000+0x1000@5"
	run uctl mmio del --base 0xd0001000 --size 0x1000 --irq 6
	assert_failure 1
	assert_output --partial "guest replied -19 (No such device) to DEL_MMIO"
	assert_equal "$(stub_state mmio)" "0xd0000000+0x1000@5"
	run uctl pci del 00:04.0
	assert_failure 1
	assert_output --partial "guest replied -19 (No such device) to DEL_PCI"
	assert_equal "$(stub_state pci)" ""
}

@test "no index but queries answered: the tools ask and record exactly what the guest has" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 4"
	start_stub --max-vcpus 4 --vmm-vcpus 0,1,2 --missing-vcpu-wait 50 --fault no-index
	run uctl -o json cpu add 2 --apic-ids 2,3
	assert_failure 2
	assert_output --partial '"done":[2],"not_done":[3]'
	assert_output --partial "asked, the guest reports 1 of them done"
	assert_equal "$(stub_state cpus)" "0,2"
	assert_equal "$(record_cpus)" "0,2"
	run uctl -o json cpu add 2 --apic-ids 2,3
	assert_failure 1
	assert_output --partial '"done":[],"not_done":[2,3]'
	assert_equal "$(record_cpus)" "0,2"
}
