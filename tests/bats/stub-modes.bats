#!/usr/bin/env bats
# The tools' main paths (upcallctl, vcpuctl, memctl) against both guests the
# stub plays: this project's module (default) and an upstream Dragonball
# guest (--upstream: no queries, no memory, no index on a failed CPU batch).
# Each test runs its scenario once per mode, asserting what is right for
# that guest: never fewer or more CPUs, ranges or devices than it has.

load inventory_helpers

MODES=(default upstream)

setup() { inv_setup; }
teardown() { stop_stub; }

# use_mode MODE [STUB OPTIONS...]: a fresh record and stub for MODE.
use_mode() {
	MODE=$1
	shift
	stop_stub
	export UPCALL_STATE_DIR=$BATS_TEST_TMPDIR/state-$MODE
	RECORD=$UPCALL_STATE_DIR/web1.yaml
	if [ "$MODE" = upstream ]; then
		start_stub --upstream "$@"
	else
		start_stub "$@"
	fi
}

uctl() { "$UPCALLCTL" --config "$INV" --vm web1 "$@"; }

# by_mode DEFAULT UPSTREAM: the word for this mode
by_mode() {
	if [ "$MODE" = upstream ]; then echo "$2"; else echo "$1"; fi
}

@test "modes: cpu add and del pick the same IDs from the guest or from a right record" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 8"
	for m in "${MODES[@]}"; do
		use_mode "$m" --boot-vcpus 1 --max-vcpus 8
		run uctl -o json cpu add 2
		assert_success
		run jq -c '[.apic_ids, .done, .source]' <<<"$output"
		assert_output "[[1,2],[1,2],\"$(by_mode guest record)\"]"
		assert_equal "$(stub_state cpus)" "0,1,2"
		run uctl cpu del 1
		assert_success
		assert_output "removed 1 vCPU (APIC ID 2)"
		assert_equal "$(stub_state cpus)" "0,1"
		assert_equal "$(record_cpus)" "0,1"
	done
}

@test "modes: a record that knows fewer CPUs than the guest: asked and right, or refused and said so" {
	# the inventory says one boot vCPU; the guest booted with two
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 8"
	for m in "${MODES[@]}"; do
		use_mode "$m" --boot-vcpus 2 --max-vcpus 8
		run uctl cpu add 1
		if [ "$MODE" = upstream ]; then
			assert_failure 1
			assert_output --partial "guest replied -22 (Invalid argument) to ADD_CPU"
			assert_output --partial "APIC ID 1 was picked from its record, since the guest does not answer queries"
			assert_equal "$(stub_state cpus)" "0,1"
		else
			assert_success
			assert_output "added 1 vCPU (APIC ID 2)"
			assert_equal "$(stub_state cpus)" "0,1,2"
			run uctl cpu del 1
			assert_output "removed 1 vCPU (APIC ID 2)"
		fi
		run vcpu get
		assert_success
		assert_output --partial "$(by_mode "2 vCPUs online (APIC IDs 0, 1), max 8; as the guest reports" \
			"1 vCPU online (APIC ID 0), max 8; from the record")"
		run vcpu sync
		if [ "$MODE" = upstream ]; then
			assert_failure 1
			assert_output --partial "the guest does not answer queries"
			assert_equal "$(record_cpus)" "0"
			run vcpu sync --apic-ids 0,1
			assert_success
		else
			assert_success
		fi
		assert_equal "$(record_cpus)" "0,1"
		# now the record is right in both: the same pick
		run uctl cpu add 1
		assert_success
		assert_output "added 1 vCPU (APIC ID 2)"
		assert_equal "$(stub_state cpus)" "0,1,2"
	done
}

@test "modes: vcpuctl set-count grows and shrinks, guest and record agree" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 4"
	for m in "${MODES[@]}"; do
		use_mode "$m" --boot-vcpus 1 --max-vcpus 4
		run vcpu set-count 3
		assert_success
		assert_output "added 2 vCPUs (APIC IDs 1, 2)"
		run vcpu set-count 2
		assert_success
		assert_output "removed 1 vCPU (APIC ID 2)"
		assert_equal "$(stub_state cpus)" "0,1"
		assert_equal "$(record_cpus)" "0,1"
	done
}

@test "modes: a batch the guest did in part: done and not done, or uncertain until a sync" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 4"
	for m in "${MODES[@]}"; do
		# no vCPU behind APIC ID 3: the guest stops there
		use_mode "$m" --max-vcpus 4 --vmm-vcpus 0,1,2 --missing-vcpu-wait 50
		run vcpu -o json set-count 4
		assert_failure 2
		assert_equal "$(stub_state cpus)" "0,1,2"
		if [ "$MODE" = upstream ]; then
			run jq -c '[.uncertain, .done]' <<<"$(grep '^{' <<<"$output")"
			assert_output '[[1,2,3],null]'
			run vcpu get
			assert_output --partial "uncertain: APIC IDs 1, 2, 3"
			run vcpu sync --apic-ids 0,1,2
		else
			run jq -c '[.done, .not_done]' <<<"$(grep '^{' <<<"$output")"
			assert_output '[[1,2],[3]]'
			run vcpu sync
		fi
		assert_success
		assert_equal "$(record_cpus)" "0,1,2"
		run grep -c uncertain "$RECORD"
		assert_output 0
	done
}

@test "modes: memory is an extension: done and listed, or refused as unknown and nothing recorded" {
	write_inventory "max_vcpu_count: 2" "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 1G}"
	for m in "${MODES[@]}"; do
		use_mode "$m"
		run mem add 128M
		if [ "$MODE" = upstream ]; then
			assert_failure 1
			assert_output --partial "guest replied -1 (unknown request) to ADD_MEM"
			assert_equal "$(stub_state mem)" ""
		else
			assert_success
			assert_output "added 128MiB of memory at 0x100000000-0x107ffffff"
			assert_equal "$(stub_state mem)" "0x100000000+0x8000000"
		fi
		run mem -o json list
		assert_success
		run jq -c '[(.ranges | length), .source]' <<<"$output"
		assert_output "$(by_mode '[1,"guest"]' '[0,"record"]')"
		run mem del 128M
		if [ "$MODE" = upstream ]; then
			assert_failure 64
			assert_output --partial "no hot-added range of exactly 128MiB as far as the record knows"
		else
			assert_success
			assert_line "removed 128MiB of memory at 0x100000000-0x107ffffff"
		fi
		assert_equal "$(stub_state mem)" ""
		run mem sync
		if [ "$MODE" = upstream ]; then
			assert_failure 1
			assert_output --partial "the guest does not answer queries"
		else
			assert_success
			assert_output --partial "0 hot-added ranges, 0 in all; as the guest reports"
		fi
	done
}

@test "modes: MMIO and PCI: each guest's refusal, the same devices afterwards" {
	write_inventory "max_vcpu_count: 2"
	for m in "${MODES[@]}"; do
		use_mode "$m" --pci 00:03.0
		run uctl mmio add --base 0xd0000000 --size 0x1000 --irq 5
		assert_success
		run uctl mmio add --base 0xd0000000 --size 0x1000 --irq 5
		assert_failure 1
		assert_output --partial "$(by_mode "guest replied -16 (Device or resource busy) to ADD_MMIO" \
			"guest replied -17 (File exists) to ADD_MMIO")"
		run uctl mmio del --base 0xd0001000 --size 0x1000 --irq 6
		assert_failure 1
		assert_output --partial "$(by_mode "guest replied -2 (No such file or directory) to DEL_MMIO" \
			"guest replied -19 (No such device) to DEL_MMIO")"
		assert_equal "$(stub_state mmio)" "0xd0000000+0x1000@5"
		run uctl pci del 00:03.0
		assert_success
		run uctl pci del 00:03.0
		assert_failure 1
		assert_output --partial "guest replied -19 (No such device) to DEL_PCI"
		assert_equal "$(stub_state pci)" ""
	done
}

@test "modes: a dry run sends no change to either guest" {
	write_inventory "boot_vcpu_count: 1" "max_vcpu_count: 4" "memory:" "  block_size: 128M" \
		"  regions:" "    - {base: 0x100000000, size: 1G}"
	for m in "${MODES[@]}"; do
		use_mode "$m" --max-vcpus 4
		run vcpu -n set-count 3
		assert_success
		assert_output "would add 2 vCPUs (APIC IDs 1, 2) with ADD_CPU (APIC version 0x14); nothing sent"
		run mem -n add 128M
		assert_success
		assert_output "would add 128MiB of memory at 0x100000000-0x107ffffff with ADD_MEM; nothing sent"
		run uctl -n cpu del 1 --apic-ids 0
		assert_success
		assert_equal "$(stub_state cpus)" "0"
		# the last request the guest saw is memctl's query
		assert_equal "$(stub_state last | cut -d' ' -f1)" QUERY_MEM
		refute [ -e "$RECORD" ]
	done
}
