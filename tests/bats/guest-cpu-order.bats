#!/usr/bin/env bats
# QUERY_CPUS lists APIC IDs ascending even where the guest's logical CPU
# numbers run in another order.  With true hot-add a logical CPU is given
# to the first APIC ID mapped onto it, for the whole boot: bringing in
# APIC ID 2 before APIC ID 1 makes CPU 1 APIC ID 2 and CPU 2 APIC ID 1.
# Both vCPUs are created in QEMU first, lowest APIC ID first (QEMU's TCG
# APIC drops logical IPIs above a gap, see guest-hotadd.bats).  A boot of
# its own, since every logical CPU of guest-hotadd.bats is bound in order.

load '../guest/helpers'

setup_file() {
	guest_require || return 0
	guest_build $Q35_MODS
	guest_boot_acpi_free 3
}

teardown_file() {
	guest_shutdown
}

setup() {
	guest_setup
}

# The APIC ID of logical CPU $1, from /proc/cpuinfo.
apicid_of() {
	guest_sh "awk -v n=$1 '/^processor/ { p = \$3 } /^apicid/ && p == n { print \$3 }' /proc/cpuinfo"
}

@test "guest cpu order: APIC ID 2 brought in before APIC ID 1 takes the lower logical CPU" {
	run qmp cpu-add 1
	assert_success
	run qmp cpu-add 2
	assert_success
	run gctl cpu add 1 --apic-ids 2
	assert_success
	run gctl cpu add 1 --apic-ids 1
	assert_success
	run apicid_of 1
	assert_output '2'
	run apicid_of 2
	assert_output '1'
}

@test "guest cpu order: QUERY_CPUS lists the APIC IDs ascending, not in logical order" {
	run graw query-cpus
	assert_success
	assert_output $'0\n1\n2'
	run "$UPCALLCTL" --vm "$GSOCK" --timeout 30 -o json cpu del 2 --apic-ids 1,2
	assert_success
	run graw query-cpus
	assert_output '0'
	assert_guest_kernel_clean
}
