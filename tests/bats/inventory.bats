#!/usr/bin/env bats
# The VM inventory: lookup, error positions, permissions, --help.

load inventory_helpers

setup() { inv_setup; }
teardown() { stop_stub; }

@test "inventory: malformed YAML is reported at file:line:column" {
	printf 'vms:\n  web1:\n    target: [unclosed\n' >"$INV"
	chmod 600 "$INV"
	run vcpu get
	assert_failure 64
	assert_output --regexp "^vcpuctl: $INV:[0-9]+:[0-9]+: "
}

@test "inventory: an unknown key is named with its line and column" {
	write_inventory "max_vcpus: 4"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:4:5: unknown key \"max_vcpus\" in web1"
}

@test "inventory: a bad value names its key" {
	write_inventory "boot_vcpu_count: 9" "max_vcpu_count: 4"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:4:22: boot_vcpu_count 9 exceeds max_vcpu_count 4"
}

@test "inventory: a file others may write is refused" {
	write_inventory
	chmod 0664 "$INV"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV: refusing to read: writable by group or others (mode 0664); run chmod go-w $INV"
}

@test "inventory: two names for one target, an empty group, a second document: refused" {
	write_inventory
	printf '  web2:\n    target: %s\n' "$BATS_TEST_TMPDIR/vm.sock" >>"$INV"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:4:3: VMs \"web1\" and \"web2\" have the same target; a VM needs one name"
	write_inventory
	printf 'groups:\n  g: []\n' >>"$INV"
	run "$VCPUCTL" --config "$INV" --vm @g get
	assert_failure 64
	assert_output "vcpuctl: $INV:5:6: group g names no VM"
	write_inventory
	printf -- '---\nvms:\n  web9:\n    target: /run/web9.sock\n' >>"$INV"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:5:1: a second YAML document; the inventory is one"
}

@test "a socket named relative to the current directory is the same VM as its absolute path" {
	write_inventory "max_vcpu_count: 8"
	start_stub --no-query --boot-vcpus 1 --max-vcpus 8
	cd "$BATS_TEST_TMPDIR"
	run "$UPCALLCTL" --config "$INV" --vm ./vm.sock cpu add 1
	assert_success
	run "$UPCALLCTL" --config "$INV" --vm vm.sock cpu add 1
	assert_success
	run "$UPCALLCTL" --config "$INV" --vm "$SOCK" cpu add 1
	assert_success
	# the inventory knows it by its absolute path: one record, web1's
	run vcpu get
	assert_output "web1: 4 vCPUs online (APIC IDs 0, 1, 2, 3), max 8; from the record"
	run ls "$UPCALL_STATE_DIR"
	assert_output "web1.yaml"
}

@test "inventory: an unknown VM name says where it looked" {
	write_inventory
	run "$VCPUCTL" --vm nosuch get
	assert_failure 64
	assert_output --partial "no VM named \"nosuch\" in /etc/upcall/vms.yaml, $XDG_CONFIG_HOME/upcall/vms.yaml"
}

@test "inventory: \$XDG_CONFIG_HOME/upcall/vms.yaml names VMs; --vm PATH needs no file" {
	start_stub --boot-vcpus 2 --max-vcpus 4
	mkdir -p "$XDG_CONFIG_HOME/upcall"
	write_inventory "max_vcpu_count: 4"
	mv "$INV" "$XDG_CONFIG_HOME/upcall/vms.yaml"
	run "$VCPUCTL" --vm web1 get
	assert_success
	assert_output "web1: 2 vCPUs online (APIC IDs 0, 1), max 4; as the guest reports"
	rm "$XDG_CONFIG_HOME/upcall/vms.yaml"
	run "$VCPUCTL" --vm "$SOCK" get
	assert_success
	assert_output "$SOCK: 2 vCPUs online (APIC IDs 0, 1), max 255 (no max_vcpu_count in an inventory); as the guest reports"
}

@test "vcpuctl and memctl --help list every command and the inventory" {
	run "$VCPUCTL" --help
	assert_success
	assert_output --partial "set-count N"
	assert_output --partial "sync"
	assert_output --partial "--config=FILE"
	assert_output --partial "/etc/upcall/vms.yaml"
	run "$MEMCTL" --help
	assert_success
	assert_output --partial "add SIZE"
	assert_output --partial "list"
	run "$VCPUCTL" sync --help
	assert_success
	assert_output --partial "--apic-ids=LIST"
}

@test "inventory: a FIFO as --config is refused at once, not read" {
	local fifo=$BATS_TEST_TMPDIR/fifo.yaml
	mkfifo "$fifo"
	# no writer ever opens it: a blocking open() would wait for ever
	run_bounded 10 "$UPCALLCTL" --config "$fifo" --vm web1 ping
	assert_failure 64
	assert_output "upcallctl: $fifo: not a regular file"
}
