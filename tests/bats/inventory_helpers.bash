# Helpers for the inventory, vcpuctl and memctl tests: a private state
# directory and inventory per test, and the tools aimed at VM "web1".
load helpers

VCPUCTL=$B/vcpuctl
MEMCTL=$B/memctl

inv_setup() {
	export UPCALL_STATE_DIR=$BATS_TEST_TMPDIR/state
	export XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
	INV=$BATS_TEST_TMPDIR/vms.yaml
	RECORD=$UPCALL_STATE_DIR/web1.yaml
}

# write_inventory [EXTRA YAML LINES for web1...]
write_inventory() {
	{
		echo "vms:"
		echo "  web1:"
		echo "    target: $BATS_TEST_TMPDIR/vm.sock"
		local l
		for l in "$@"; do echo "    $l"; done
	} >"$INV"
	chmod 600 "$INV"
}

vcpu() { "$VCPUCTL" --config "$INV" --vm web1 "$@"; }
mem() { "$MEMCTL" --config "$INV" --vm web1 "$@"; }

# record_cpus: the cpus list of web1's record, as "0,1,2".
record_cpus() {
	sed -n 's/^cpus: \[\(.*\)\]$/\1/p' "$RECORD" | tr -d ' '
}
