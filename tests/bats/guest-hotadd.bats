#!/usr/bin/env bats
# True hot-add in Debian's 6.1 kernel on q35 (TCG), with no ACPI in the
# guest: QEMU creates a vCPU or a DIMM over QMP, as a VMM does, and upcall
# alone brings it into the guest.
#
# One boot for the whole file: -smp 1,maxcpus=4 (QEMU's topology is one
# socket of four cores, APIC ID = core id), -m 512M,slots=4,maxmem=4G, QMP
# on a Unix socket.  The guest runs acpi=off possible_cpus=4: three spare
# possible CPUs and nothing present but CPU 0.  acpi=off leaves no HPET or
# PM timer, so tsc=reliable and the host's TSC rate keep guest time right.
#
# QEMU needs its own ACPI on to accept device_add of a CPU or a DIMM, and
# it cannot complete the unplug of either without the guest's ACPI (under
# TCG a really unplugged vCPU also crashes QEMU when another is added
# later): vCPUs created here stay in QEMU and only the guest side cycles.
# vCPUs are created lowest APIC ID first: QEMU's TCG APIC delivers a
# logical-destination IPI only below the first APIC ID it has no vCPU for.
# The tests build on each other's vCPUs: run the file as a whole.

load '../guest/helpers'

setup_file() {
	guest_require || return 0
	guest_build $Q35_MODS
	guest_boot_acpi_free 4
}

teardown_file() {
	guest_shutdown
}

setup() {
	guest_setup
}

cpus() {
	guest_sh cat "/sys/devices/system/cpu/$1"
}

# The logical CPUs with a sysfs device, as "0 2 3".
cpu_dirs() {
	guest_sh 'cd /sys/devices/system/cpu && echo cpu[0-9]*' | sed 's/cpu//g'
}

# raw_add_cpu ID...: one x86_64 ADD_CPU frame, whatever the tools allow;
# prints "ret R apic_index I".
raw_add_cpu() {
	python3 - "$GUEST_SRC/upcall-raw.py" "$GSOCK" "$@" <<-'EOF'
	import importlib.util, struct, sys
	spec = importlib.util.spec_from_file_location("raw", sys.argv[1])
	raw = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(raw)
	ids = bytes(int(i, 0) for i in sys.argv[3:])
	payload = bytes([len(ids), 0x14]) + ids + bytes(256 - len(ids))
	rep = raw.Conn(sys.argv[2]).request(raw.frame(raw.ADD_CPU, payload))
	print("ret %d apic_index %d" % (rep[4], struct.unpack_from("<I", rep[5])[0]))
	EOF
}

# Only CPU 0 is present and online, and it alone has a sysfs directory.
assert_boot_cpus_only() {
	run cpus present
	assert_output '0'
	run cpus online
	assert_output '0'
	run cpu_dirs
	assert_output '0'
}

@test "hotadd: APIC ID 255 (the xAPIC broadcast) is refused without using up a spare CPU" {
	run raw_add_cpu 255
	assert_success
	assert_output 'ret -22 apic_index 0'
	assert_boot_cpus_only

	# The kernel would not start it either, but mapping it would have
	# bound logical CPU 1 to it for good: APIC ID 1 would land on CPU 2.
	run qmp cpu-add 1
	assert_output '1'
	run gctl cpu add 1 --apic-ids 1
	assert_success
	run cpus present
	assert_output '0-1'
	run gctl cpu del 1 --apic-ids 1
	assert_success
	assert_boot_cpus_only
}

@test "hotadd: a vCPU created over QMP comes in with cpu add, runs tasks, and cpu del frees its slot" {
	run cpus possible
	assert_output '0-3'
	assert_boot_cpus_only

	run qmp cpu-add 1
	assert_success
	assert_output '1'
	# QEMU made it; the guest was not told.
	run cpus present
	assert_output '0'

	run gctl cpu add 1 --apic-ids 1
	assert_success
	assert_output 'added 1 vCPU (APIC ID 1)'
	run cpus present
	assert_output '0-1'
	run cpus online
	assert_output '0-1'
	run guest_sh "grep -E '^(processor|apicid)' /proc/cpuinfo | tr -d ' \t'"
	assert_output $'processor:0\napicid:0\nprocessor:1\napicid:1'
	run graw query-cpus
	assert_output $'0\n1'

	# A busy loop pinned to it runs there (field 39 of stat: the CPU).
	run guest_sh 'taskset -c 1 sh -c "while :; do :; done" & p=$!; sleep 1;
		cut -d" " -f39 /proc/$p/stat; kill $p'
	assert_success
	assert_output '1'

	run gctl cpu del 1 --apic-ids 1
	assert_success
	assert_output 'removed 1 vCPU (APIC ID 1)'
	assert_boot_cpus_only
	run graw query-cpus
	assert_output '0'
	assert_guest_kernel_clean
}

@test "hotadd: ten add/del cycles of the same vCPU, each leaving only CPU 0" {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		run gctl cpu add 1 --apic-ids 1
		assert_success
		run cpus online
		assert_output '0-1'
		run gctl cpu del 1 --apic-ids 1
		assert_success
		assert_boot_cpus_only
	done
	assert_guest_kernel_clean
}

@test "hotadd: ADD_CPU for a vCPU QEMU never created is refused after the kernel's wait, leaving nothing; once created it comes in" {
	local t0 secs
	t0=$(date +%s)
	run gctl cpu add 1 --apic-ids 2
	secs=$(($(date +%s) - t0))
	assert_failure 1
	assert_output --partial 'guest replied -5 (Input/output error) to ADD_CPU'
	# The kernel waits 10 s for a CPU to answer its start-up IPIs.
	[ "$secs" -le 25 ] || fail "the refusal took $secs s"
	assert_boot_cpus_only
	run graw query-cpus
	assert_output '0'

	run qmp cpu-add 2
	assert_output '2'
	run gctl cpu add 1 --apic-ids 2
	assert_success
	# Logical CPU numbers follow the order APIC IDs were first seen.
	run cpus present
	assert_output '0,2'
	run cpus online
	assert_output '0,2'
	run graw query-cpus
	assert_output $'0\n2'

	run gctl cpu del 1 --apic-ids 2
	assert_success
	assert_boot_cpus_only
	assert_guest_kernel_clean
}

@test "hotadd: a batch whose second vCPU does not exist brings the first in and stops at index 1 (exit 2)" {
	run "$UPCALLCTL" --vm "$GSOCK" --timeout 30 -o json cpu add 2 --apic-ids 1,3
	assert_failure 2
	python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["done"] == [1] and o["not_done"] == [3] and o["exit_code"] == 2, o
' "$(grep '^{' <<<"$output")"
	assert_output --partial 'guest replied -5 (Input/output error) to ADD_CPU after 1 of 2 CPUs'
	run cpus present
	assert_output '0-1'
	run cpus online
	assert_output '0-1'
	run cpu_dirs
	assert_output '0 1'

	# Created now, APIC ID 3 comes in (logical CPU 3: 1 and 2 are taken).
	run qmp cpu-add 3
	assert_output '3'
	run gctl cpu add 1 --apic-ids 3
	assert_success
	run cpus online
	assert_output '0-1,3'
	run gctl cpu del 2 --apic-ids 3,1
	assert_success
	assert_output 'removed 2 vCPUs (APIC IDs 3, 1)'
	assert_boot_cpus_only
	assert_guest_kernel_clean
}

@test "hotadd: with every spare slot taken, an unknown APIC ID is refused with ENODEV and the guest is unchanged" {
	run gctl cpu add 3 --apic-ids 1,2,3
	assert_success
	run cpus present
	assert_output '0-3'

	run gctl cpu add 1 --apic-ids 9
	assert_failure 1
	assert_output --partial 'guest replied -19 (No such device) to ADD_CPU'
	run cpus present
	assert_output '0-3'

	# A free slot is not enough: the kernel binds a slot to the first APIC
	# ID it held, for good, and all four are bound by now.
	run gctl cpu del 1 --apic-ids 3
	assert_success
	run gctl cpu add 1 --apic-ids 9
	assert_failure 1
	assert_output --partial 'guest replied -19 (No such device) to ADD_CPU'
	run cpus present
	assert_output '0-2'
	run cpu_dirs
	assert_output '0 1 2'

	run gctl cpu del 2 --apic-ids 2,1
	assert_success
	assert_boot_cpus_only
	assert_guest_kernel_clean
}

@test "hotadd: add/del cycles while a guest process keeps onlining the CPU: no hang, no oops" {
	local i del_status=0
	# Its writes race every step: mapping, registering, onlining,
	# offlining and unregistering the device whose file they go to.  The
	# windows are microseconds wide, so a run lands in them only now and
	# then: an add refused because a write onlined the CPU between its
	# mapping and add_cpu() (now counted as done) showed in one of three
	# runs of 20 cycles; the deadlock of a write against the unregistering, which
	# cpu_hotplug_disable() prevents, was never hit.  So this guards
	# against hangs and oopses more than it proves each window.
	guest_sh 'f=/sys/devices/system/cpu/cpu1/online
		(while :; do echo 1 >$f; done) >/dev/null 2>&1 </dev/null &
		echo $! >/tmp/onliner'
	for i in 1 2 3 4 5 6 7 8 9 10; do
		run gctl cpu add 1 --apic-ids 1
		# Refused only if a failed del left the CPU online; a write
		# that onlines it between the mapping and add_cpu() is no error.
		if [ "$del_status" -eq 0 ]; then
			assert_success
		elif [ "$status" -ne 0 ]; then
			assert_output --partial 'guest replied -22 (Invalid argument) to ADD_CPU'
		fi
		run gctl cpu del 1 --apic-ids 1
		del_status=$status
		# Busy if a write onlined it again before it could be unmapped.
		if [ "$status" -ne 0 ]; then
			assert_output --partial 'guest replied -16 (Device or resource busy) to DEL_CPU'
		fi
	done
	run guest_sh 'kill $(cat /tmp/onliner)'
	assert_success

	# A del the race made busy left the CPU online; now it goes cleanly.
	if [ "$del_status" -ne 0 ]; then
		run gctl cpu del 1 --apic-ids 1
		assert_success
	fi
	assert_boot_cpus_only
	assert_guest_kernel_clean
}

@test "hotadd: a reload forgets the CPUs the previous load brought in: cpu del only takes them offline" {
	run gctl cpu add 1 --apic-ids 1
	assert_success
	run guest_sh 'rmmod upcall_guest && insmod /lib/modules/upcall_guest.ko allow_local=1'
	assert_success

	run gctl cpu del 1 --apic-ids 1
	assert_success
	run cpus online
	assert_output '0'
	run cpus present
	assert_output '0-1'
	run cpu_dirs
	assert_output '0 1'
	# Present and offline: cpu add onlines it as it would a boot CPU.
	run gctl cpu add 1 --apic-ids 1
	assert_success
	run cpus online
	assert_output '0-1'
	run gctl cpu del 1 --apic-ids 1
	assert_success
	run cpus present
	assert_output '0-1'
	assert_guest_kernel_clean
}

@test "hotadd: a DIMM created over QMP comes in with mem add and goes with mem del, twice" {
	local addr before during iomem i
	run qmp dimm-add dimm0 256M
	assert_success
	addr=$output
	[ "$addr" = 0x100000000 ] || fail "QEMU placed the DIMM at $addr"
	before=$(mem_total_kb)
	iomem=$(guest_sh cat /proc/iomem)

	for i in 1 2; do
		run gctl mem add 256M --base "$addr"
		assert_success
		during=$(mem_total_kb)
		[ $((during - before)) -eq 262144 ] || fail "add $i: MemTotal went from $before to $during kB"
		run guest_sh "grep -F '100000000-10fffffff : System RAM (upcall)' /proc/iomem"
		assert_success
		run graw query-mem
		assert_output '0x100000000 0x10000000'
		run guest_sh "cat /sys/devices/system/memory/memory32/state /sys/devices/system/memory/memory33/state"
		assert_output $'online\nonline'

		run gctl mem del 256M --base "$addr"
		assert_success
		[ "$(mem_total_kb)" -eq "$before" ] || fail "del $i: MemTotal did not come back to $before kB"
		run guest_sh cat /proc/iomem
		assert_output "$iomem"
		run graw query-mem
		assert_output ''
	done
	assert_guest_kernel_clean
}

@test "hotadd: the guest kernel logged no BUG, Oops, WARNING or call trace, and still answers" {
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}
