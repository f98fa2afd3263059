#!/usr/bin/env bats
# The whole hot-add in one command, against real QEMU: an inventory entry
# with the VM's QMP socket lets vcpuctl and memctl create the vCPU or the
# DIMM in QEMU first, then bring it into the guest over upcall.
#
# One boot for the whole file: a q35 guest booted ACPI-free (acpi=off
# possible_cpus=4: three possible CPUs that no vCPU backs yet; tsc=reliable
# and the host's TSC rate keep time right without HPET or PM timer), QEMU
# with -smp 1,maxcpus=4 and -m 512M,slots=4,maxmem=4G, so that vCPUs and
# DIMMs can be added while it runs.  QEMU cannot complete an unplug without
# the guest's ACPI, so what is removed from the guest stays in QEMU and is
# reused by the next add (under TCG, QEMU 7.2 even crashes when a vCPU is
# really unplugged and another added later).  The tests build on each
# other's vCPUs and DIMMs: run the file as a whole.

load '../guest/helpers'

setup_file() {
	guest_require || return 0
	guest_build $Q35_MODS
	guest_boot_acpi_free 4
	INV=$BATS_FILE_TMPDIR/vms.yaml
	cat >"$INV" <<-EOF
	vms:
	  g:
	    target: $GSOCK
	    max_vcpu_count: 4
	    vmm: {qmp: $GDIR/qmp.sock}
	    memory: {block_size: 128M}
	EOF
	chmod 600 "$INV"
	export INV
}

teardown_file() {
	guest_shutdown
}

setup() {
	guest_setup
}

# vm TOOL ARGS...: a tool on VM g of the inventory, generous bounds for TCG.
vm() {
	timeout --kill-after=5 90 "$B/$1" --config "$INV" --vm g --timeout 30 "${@:2}"
}

record() {
	cat "$UPCALL_STATE_DIR/g.yaml"
}

# What QEMU itself has, asked apart from the tools: its vCPUs' core ids
# (APIC IDs here), "0 1 2", and its DIMMs, "ID@BASE+SIZE ...".
qemu_vcpus() {
	qmp query-hotpluggable-cpus | python3 -c '
import json, sys
print(" ".join(str(c) for c in sorted(s["props"]["core-id"] for s in json.load(sys.stdin) if "qom-path" in s)))'
}

qemu_dimms() {
	qmp query-memory-devices | python3 -c '
import json, sys
print(" ".join("%s@%#x+%#x" % (d["data"].get("id"), d["data"]["addr"], d["data"]["size"]) for d in json.load(sys.stdin)))'
}

@test "guest-vmm: the guest booted ACPI-free with three possible CPUs that no vCPU backs" {
	run guest_sh cat /sys/devices/system/cpu/possible /sys/devices/system/cpu/present /sys/devices/system/cpu/online
	assert_output $'0-3\n0\n0'
	assert_equal "$(qemu_vcpus)" "0"
	assert_equal "$(qemu_dimms)" ""
	run guest_sh "dmesg | grep -c 'ACPI: Interpreter enabled'"
	assert_output '0'
}

@test "guest-vmm: vcpuctl set-count 3 makes two vCPUs in QEMU and brings them online, in one command" {
	run vm vcpuctl set-count 3
	assert_success
	assert_line "created 2 vCPUs in the VMM (APIC IDs 1, 2)"
	assert_line "added 2 vCPUs (APIC IDs 1, 2)"
	assert_equal "$(qemu_vcpus)" "0 1 2"
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0-2'
	run guest_sh "grep -c ^processor /proc/cpuinfo"
	assert_output '3'
	run record
	assert_line "cpus: [0, 1, 2]"
	assert_line "  vcpus: [0, 1, 2]"
	assert_guest_kernel_clean
}

@test "guest-vmm: vcpuctl set-count 1 takes them out of the guest; QEMU keeps the vCPUs" {
	run vm vcpuctl set-count 1
	assert_success
	assert_line "removed 2 vCPUs (APIC IDs 2, 1)"
	assert_line --partial "the VMM keeps those vCPUs"
	run guest_sh cat /sys/devices/system/cpu/online /sys/devices/system/cpu/present
	assert_output $'0\n0'
	run guest_sh test -e /sys/devices/system/cpu/cpu1
	assert_failure
	assert_equal "$(qemu_vcpus)" "0 1 2"
	run record
	assert_line "cpus: [0]"
	assert_line "  vcpus: [0, 1, 2]"
}

@test "guest-vmm: set-count 4 reuses the kept vCPUs and makes only the missing one" {
	run vm vcpuctl -o json set-count 4
	assert_success
	assert_output --partial '"vmm":{"created":[3],"existing":[1,2]}'
	assert_output --partial '"done":[1,2,3]'
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0-3'
	assert_equal "$(qemu_vcpus)" "0 1 2 3"
	run vm vcpuctl set-count 1
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'
	assert_guest_kernel_clean
}

@test "guest-vmm: memctl add 256M makes a DIMM in QEMU and onlines it; del takes it out again" {
	local before during
	before=$(mem_total_kb)
	run vm memctl add 256M
	assert_success
	assert_line "created in the VMM: DIMM upcall-dimm0 (256MiB at 0x100000000)"
	assert_line "added 256MiB of memory at 0x100000000-0x10fffffff"
	assert_equal "$(qemu_dimms)" "upcall-dimm0@0x100000000+0x10000000"
	during=$(mem_total_kb)
	[ $((during - before)) -eq 262144 ] || fail "MemTotal went from $before to $during kB"
	run guest_sh "grep -F '100000000-10fffffff : System RAM (upcall)' /proc/iomem"
	assert_success

	run vm memctl del 256M --base 0x100000000
	assert_success
	assert_line --partial "the VMM keeps DIMM upcall-dimm0"
	[ "$(mem_total_kb)" -eq "$before" ] || fail "MemTotal did not come back to $before kB"
	run guest_sh "grep -F '(upcall)' /proc/iomem"
	assert_failure
	run record
	assert_line "memory: []"
	assert_line '  - {id: "upcall-dimm0", base: 0x100000000, size: 0x10000000}'
}

@test "guest-vmm: a second memctl add 256M reuses the DIMM the guest gave back" {
	local before
	before=$(mem_total_kb)
	run vm memctl -o json add 256M
	assert_success
	assert_output --partial '"vmm":{"dimm":"upcall-dimm0","base":4294967296,"base_hex":"0x100000000","size":268435456,"size_hex":"0x10000000","created":false}'
	[ $(($(mem_total_kb) - before)) -eq 262144 ] || fail "MemTotal did not grow by 256 MiB"
	assert_equal "$(qemu_dimms)" "upcall-dimm0@0x100000000+0x10000000"
	run vm memctl del 256M --base 0x100000000
	assert_success
	[ "$(mem_total_kb)" -eq "$before" ] || fail "MemTotal did not come back"
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}
