#!/usr/bin/env bats
# The VMM side of the tools without QEMU: the inventory's vmm key, vCPUs
# and DIMMs made in the VMM before the guest is told (against the stub's
# QMP double), the stub's model of a possible CPU that no vCPU backs, and
# every way a VMM socket can fail (a scripted QMP peer, qmp-peer.py).

load inventory_helpers

setup() {
	inv_setup
	QMP=$BATS_TEST_TMPDIR/vm.qmp
}

teardown() {
	stop_stub
	stop_peer
}

# An inventory entry for web1 with its VMM's QMP socket.
with_vmm() {
	write_inventory "max_vcpu_count: 4" "vmm: {qmp: $QMP}" "$@"
}

# start_peer MODE: the scripted peer on $QMP.
start_peer() {
	python3 "$BATS_TEST_DIRNAME/qmp-peer.py" "$QMP" "$1" 3>&- &
	PEER_PID=$!
	local i
	for i in $(seq 100); do
		[ -S "$QMP" ] && return 0
		sleep 0.05
	done
	fail "qmp-peer.py did not start"
}

stop_peer() {
	[ -n "${PEER_PID:-}" ] || return 0
	kill "$PEER_PID" 2>/dev/null || true
	wait "$PEER_PID" 2>/dev/null || true
	PEER_PID=
	rm -f "$QMP"
}

# qmp JSON...: send each command to $QMP after the handshake; the answers.
qmp() {
	python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
f.readline()
for cmd in ["{\"execute\": \"qmp_capabilities\"}"] + sys.argv[2:]:
    f.write(cmd.encode() + b"\n"); f.flush(); print(f.readline().decode().strip())' "$QMP" "$@"
}

# The guest was told nothing: no CPU or memory request reached the stub.
assert_guest_untold() {
	run grep -cE '^last: (ADD|DEL)_' "$STATE"
	assert_output 0
	refute grep -qs '^pending:' "$RECORD"
}

@test "vmm: the inventory's vmm key is checked, and an error says where" {
	write_inventory "vmm: {qmp: run/vm.qmp}"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:4:16: vmm.qmp: expected the absolute path of QEMU's QMP socket"
	write_inventory "vmm: {}"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:4:10: vmm: expected one control socket, such as {qmp: /run/vm.qmp}"
	write_inventory "vmm: /run/vm.qmp"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:4:10: vmm: expected a mapping of keys"
	write_inventory "vmm: {qmp: /run/vm.qmp, xen: /run/xen}"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:4:29: unknown key \"xen\" in vmm"
	write_inventory "vmm: {qmp: $BATS_TEST_TMPDIR/vm.sock}"
	run vcpu get
	assert_failure 64
	assert_output --partial "vmm.qmp: $BATS_TEST_TMPDIR/vm.sock is the VM's upcall target; QMP has a socket of its own"
	write_inventory "vmm: {qmp: /$(printf 'x%.0s' $(seq 120))}"
	run vcpu get
	assert_failure 64
	assert_output --partial "vmm.qmp: socket path is longer than 107 bytes"
	with_vmm
	printf '  web2:\n    target: /run/web2.sock\n    vmm: {qmp: %s}\n' "$QMP" >>"$INV"
	run vcpu get
	assert_failure 64
	assert_output "vcpuctl: $INV:6:3: VMs \"web1\" and \"web2\" have the same VMM socket $QMP"
}

@test "vmm: reading the VM needs no VMM: get and list ask the guest only" {
	with_vmm "memory: {block_size: 128M}"
	start_stub --max-vcpus 4 --boot-vcpus 2
	run vcpu get
	assert_success
	assert_output "web1: 2 vCPUs online (APIC IDs 0, 1), max 4; as the guest reports"
	run mem list
	assert_success
}

@test "vmm: vcpuctl set-count makes the vCPUs in the VMM, then the guest onlines them; removal keeps them there" {
	with_vmm
	start_stub --max-vcpus 4 --qmp "$QMP"
	assert_equal "$(stub_state vmm-cpus)" "0"
	run vcpu set-count 3
	assert_success
	assert_output "created 2 vCPUs in the VMM (APIC IDs 1, 2)
added 2 vCPUs (APIC IDs 1, 2)"
	assert_equal "$(stub_state vmm-cpus)" "0,1,2"
	assert_equal "$(stub_state cpus)" "0,1,2"

	run vcpu set-count 1
	assert_success
	assert_output "removed 2 vCPUs (APIC IDs 2, 1)
the VMM keeps those vCPUs: QEMU unplugs one only through the guest's ACPI; adding them again reuses them"
	assert_equal "$(stub_state cpus)" "0"
	assert_equal "$(stub_state vmm-cpus)" "0,1,2"

	run vcpu -o json set-count 4
	assert_success
	assert_output --partial '"vmm":{"created":[3],"existing":[1,2]}'
	assert_output --partial '"message":"created 1 vCPU in the VMM (APIC ID 3)\nreused 2 vCPUs the VMM already had (APIC IDs 1, 2)\nadded 3 vCPUs (APIC IDs 1, 2, 3)"'
	assert_equal "$(stub_state vmm-cpus)" "0,1,2,3"
	run vcpu -o json set-count 2
	assert_output --partial '"vmm":{"kept":[3,2]}'
	# the record says what each side has
	assert_equal "$(record_cpus)" "0,1"
	run grep -A1 '^vmm:$' "$RECORD"
	assert_output "vmm:
  vcpus: [0, 1, 2, 3]"
}

@test "vmm: upcallctl cpu add makes the vCPUs it names; an ID the VMM has no slot for is refused first" {
	write_inventory "max_vcpu_count: 8" "vmm: {qmp: $QMP}"
	start_stub --max-vcpus 4 --qmp "$QMP"
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu add 2 --apic-ids 3,5
	assert_failure 64
	assert_output "upcallctl: the VMM has no vCPU slot with APIC ID 5 (its slots have APIC IDs 0, 1, 2, 3)"
	assert_equal "$(stub_state vmm-cpus)" "0"
	assert_guest_untold
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu add 2 --apic-ids 3,1
	assert_success
	assert_line "created 2 vCPUs in the VMM (APIC IDs 3, 1)"
	assert_equal "$(stub_state last)" "ADD_CPU ret=0 index=2 size=258 ids=3,1"
	run "$UPCALLCTL" --config "$INV" --vm web1 hotplug cpu 1
	assert_success
	assert_line "created 1 vCPU in the VMM (APIC ID 2)"
	assert_equal "$(stub_state cpus)" "0,1,2,3"
}

@test "vmm: the stub's possible CPU without a vCPU: ADD_CPU waits, fails with -EIO at that entry; once made, it comes in" {
	with_vmm
	start_stub --max-vcpus 4 --vmm-vcpus 0,1 --missing-vcpu-wait 300 --qmp "$QMP"
	# straight to the guest, as a VMM that forgot the vCPU would
	timed_run ctl -o json cpu add 2 --apic-ids 1,2
	assert_failure 2
	assert_output --partial '"ret":-5,"done":[1],"not_done":[2]'
	assert_output --partial '"error":"guest replied -5 (Input/output error) to ADD_CPU after 1 of 2 CPUs: a vCPU did not come up (the VMM has not created it, or it failed to start)"'
	[ "$ELAPSED_MS" -ge 300 ] || fail "refused after $ELAPSED_MS ms, before the guest's wait"
	assert_took_at_most 5000
	assert_equal "$(stub_state last)" "ADD_CPU ret=-5 index=1 size=258 ids=1,2"
	run ctl cpu add 1 --apic-ids 3
	assert_failure 1
	assert_output "upcallctl: guest replied -5 (Input/output error) to ADD_CPU: a vCPU did not come up (the VMM has not created it, or it failed to start)"
	assert_equal "$(stub_state cpus)" "0,1"
	# through the inventory's VMM the vCPU is made first
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu add 2 --apic-ids 2,3
	assert_success
	assert_equal "$(stub_state cpus)" "0,1,2,3"
	assert_equal "$(stub_state vmm-cpus)" "0,1,2,3"
}

@test "vmm: memctl add makes a DIMM where the VMM puts it, del keeps it there, the next add of that size reuses it" {
	with_vmm "memory: {block_size: 128M}"
	start_stub --max-vcpus 4 --qmp "$QMP"
	run mem add 256M
	assert_success
	assert_output "created in the VMM: DIMM upcall-dimm0 (256MiB at 0x100000000)
added 256MiB of memory at 0x100000000-0x10fffffff"
	run mem add 128M
	assert_line "created in the VMM: DIMM upcall-dimm1 (128MiB at 0x110000000)"
	assert_equal "$(stub_state mem)" "0x100000000+0x10000000 0x110000000+0x8000000"

	run mem del 256M --base 0x100000000
	assert_success
	assert_output "removed 256MiB of memory at 0x100000000-0x10fffffff
the VMM keeps DIMM upcall-dimm0: QEMU unplugs one only through the guest's ACPI; 'memctl add 256MiB' reuses it"
	assert_equal "$(stub_state mem)" "0x110000000+0x8000000"

	run mem -o json add 256M
	assert_success
	assert_output --partial '"vmm":{"dimm":"upcall-dimm0","base":4294967296,"base_hex":"0x100000000","size":268435456,"size_hex":"0x10000000","created":false}'
	assert_output --partial "reused the VMM's DIMM, which the guest no longer had: upcall-dimm0 (256MiB at 0x100000000)"
	# another size is another DIMM
	run mem add 512M
	assert_line "created in the VMM: DIMM upcall-dimm2 (512MiB at 0x118000000)"
	assert_equal "$(stub_state vmm-dimms)" "upcall-dimm0@0x100000000+0x10000000 upcall-dimm1@0x110000000+0x8000000 upcall-dimm2@0x118000000+0x20000000"
	run sed -n '/^  dimms:$/,$p' "$RECORD"
	assert_output '  dimms:
  - {id: "upcall-dimm0", base: 0x100000000, size: 0x10000000}
  - {id: "upcall-dimm1", base: 0x110000000, size: 0x8000000}
  - {id: "upcall-dimm2", base: 0x118000000, size: 0x20000000}'
}

@test "vmm: with hot-add regions the DIMM goes there, beside the VMM's own; --base is checked before anything is made" {
	with_vmm "memory: {block_size: 128M, regions: [{base: 0x200000000, size: 1G}]}"
	start_stub --max-vcpus 4 --qmp "$QMP"
	run mem add 256M
	assert_success
	assert_line "created in the VMM: DIMM upcall-dimm0 (256MiB at 0x200000000)"
	run mem del 256M --base 0x200000000
	run mem add 128M
	assert_line "created in the VMM: DIMM upcall-dimm1 (128MiB at 0x210000000)"
	run mem add 128M --base 0x100000000
	assert_failure 64
	assert_output "memctl: 0x100000000+0x8000000 is outside the hot-add regions of VM web1"
	assert_equal "$(stub_state vmm-dimms)" "upcall-dimm0@0x200000000+0x10000000 upcall-dimm1@0x210000000+0x8000000"
}

@test "vmm: DIMMs someone else made take room; one put where the guest cannot take it stays, exit 2" {
	with_vmm "memory: {block_size: 128M, regions: [{base: 0x100000000, size: 256M}]}"
	start_stub --max-vcpus 4 --qmp "$QMP"
	run qmp '{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "m0", "size": 67108864}}' \
		'{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "d0", "memdev": "m0"}}'
	assert_output $'{"return":{}}\n{"return":{}}\n{"return":{}}'
	run mem add 256M
	assert_failure 64
	assert_output "memctl: no free room for 256MiB in the hot-add regions of VM web1 beside the VMM's memory devices (see 'memctl list')"
	# without regions the VMM puts it after d0, at no block boundary
	with_vmm "memory: {block_size: 128M}"
	run mem add 128M
	assert_failure 2
	assert_line "created in the VMM: DIMM upcall-dimm0 (128MiB at 0x104000000)"
	assert_line "memctl: VM web1: the VMM put DIMM upcall-dimm0 (128MiB) at 0x104000000, which is not a multiple of the guest's memory block size; the guest was told nothing, and the DIMM stays in the VMM"
	assert_equal "$(stub_state vmm-dimms)" "d0@0x100000000+0x4000000 upcall-dimm0@0x104000000+0x8000000"
	assert_guest_untold
	# --base puts the next one where the guest can take it
	run mem add 128M --base 0x110000000
	assert_success
	assert_line "created in the VMM: DIMM upcall-dimm1 (128MiB at 0x110000000)"
}

@test "vmm: the VMM made it and the guest refused: exit 2, both sides said" {
	with_vmm "memory: {block_size: 128M}"
	start_stub --max-vcpus 4 --qmp "$QMP" --fault errno=5
	run vcpu set-count 2
	assert_failure 2
	assert_line "created 1 vCPU in the VMM (APIC ID 1)"
	assert_line "vcpuctl: guest replied -5 (Input/output error) to ADD_CPU: a vCPU did not come up (the VMM has not created it, or it failed to start); the VMM keeps the vCPU it made for it (APIC ID 1)"
	assert_equal "$(stub_state vmm-cpus)" "0,1"
	assert_equal "$(stub_state cpus)" "0"
	run mem -o json add 256M
	assert_failure 2
	assert_output --partial '"vmm":{"dimm":"upcall-dimm0","base":4294967296,"base_hex":"0x100000000","size":268435456,"size_hex":"0x10000000","created":true}'
	assert_output --partial '"status":"partial"'
	assert_output --partial "the VMM keeps DIMM upcall-dimm0, which it made for it"
	# nothing new to make: a plain guest refusal
	run vcpu set-count 2
	assert_failure 1
	assert_line "reused 1 vCPU the VMM already had (APIC ID 1)"
}

@test "vmm: a VMM socket missing, refused or silent: exit 69 or 75, and the guest is told nothing" {
	with_vmm "memory: {block_size: 128M}"
	start_stub --max-vcpus 4
	run vcpu set-count 2
	assert_failure 69
	assert_output "vcpuctl: failed to connect to VMM socket $QMP: No such file or directory"
	run mem add 128M
	assert_failure 69
	assert_output "memctl: failed to connect to VMM socket $QMP: No such file or directory"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$QMP"
	run vcpu set-count 2
	assert_failure 69
	assert_output "vcpuctl: failed to connect to VMM socket $QMP: Connection refused (is the VMM running?)"
	rm -f "$QMP"
	start_peer silent
	timed_run vcpu -t 0.5 set-count 2
	assert_failure 75
	assert_output "vcpuctl: timed out after 0.5s waiting for the QMP greeting"
	assert_took_at_most 5000
	stop_peer
	start_peer hang
	timed_run mem -t 0.5 -o json add 128M
	assert_failure 75
	assert_output --partial '"error":"timed out after 0.5s waiting for the VMM'"'"'s answer to query-memory-devices"'
	assert_took_at_most 5000
	assert_equal "$(stub_state cpus)" "0"
	assert_guest_untold
}

@test "vmm: a socket that does not speak QMP, or lies: protocol error 76, the guest told nothing" {
	with_vmm
	start_stub --max-vcpus 4
	start_peer garbage
	run vcpu -t 2 set-count 2
	assert_failure 76
	assert_output "vcpuctl: VMM socket $QMP does not speak QMP: \"HELLO\" is not a JSON object (waiting for the QMP greeting)"
	stop_peer
	start_peer bad-id
	run vcpu -t 2 set-count 2
	assert_failure 76
	assert_output "vcpuctl: the VMM's answer to query-hotpluggable-cpus does not carry its id 2"
	stop_peer
	start_peer long-line
	run vcpu -t 5 set-count 2
	assert_failure 76
	assert_output "vcpuctl: the VMM sent more than 1048576 bytes without a newline while waiting for the VMM's answer to query-hotpluggable-cpus"
	stop_peer
	start_peer bad-slots
	run vcpu -t 2 set-count 2
	assert_failure 76
	assert_output "vcpuctl: the VMM's query-hotpluggable-cpus: entry 0 is not a slot of one vCPU (vcpus-count)"
	stop_peer
	start_peer lie-apic
	run vcpu -t 2 set-count 2
	assert_failure 76
	assert_output "vcpuctl: the VMM's vCPU /machine/peripheral/cpu1 has apic-id 7 where its slot's ids give 1"
	assert_guest_untold
}

@test "vmm: a QMP error is quoted (exit 1), a VMM gone mid-command is unreachable, events are skipped" {
	with_vmm "memory: {block_size: 128M}"
	start_stub --max-vcpus 4
	start_peer refuse
	run vcpu -t 2 set-count 2
	assert_failure 1
	assert_output "vcpuctl: VMM refused query-hotpluggable-cpus: scripted refusal of query-hotpluggable-cpus"
	run mem -t 2 -o json add 128M
	assert_failure 1
	assert_output --partial '"status":"refused"'
	assert_output --partial '"error":"VMM refused query-memory-devices: scripted refusal of query-memory-devices"'
	stop_peer
	start_peer closes
	run vcpu -t 2 set-count 2
	assert_failure 69
	assert_output "vcpuctl: the VMM closed its QMP socket $QMP while waiting for the VMM's answer to query-hotpluggable-cpus"
	assert_guest_untold
	stop_peer
	# a VMM with every vCPU made, and an event before each answer
	start_peer events
	run vcpu -t 2 set-count 3
	assert_success
	assert_output "reused 2 vCPUs the VMM already had (APIC IDs 1, 2)
added 2 vCPUs (APIC IDs 1, 2)"
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "vmm: a VMM that fails midway: exit 2, what it made is said, the guest told nothing" {
	with_vmm
	start_stub --max-vcpus 4
	start_peer second-fails
	run vcpu -t 2 -o json set-count 3
	assert_failure 2
	assert_output --partial '"vmm":{"created":[1],"existing":[]}'
	assert_output --partial '"error":"VMM refused device_add: scripted refusal of the second vCPU; the guest was told nothing, and the VMM keeps the vCPU it made (APIC ID 1)"'
	assert_equal "$(stub_state cpus)" "0"
	assert_guest_untold
}

@test "vmm: a guest that cannot be reached gets nothing made in the VMM" {
	write_inventory "max_vcpu_count: 4" "vmm: {qmp: $QMP}" "memory: {block_size: 128M}"
	sed -i "s|target: .*|target: $BATS_TEST_TMPDIR/gone.sock|" "$INV"
	start_stub --max-vcpus 4 --qmp "$QMP"
	run "$UPCALLCTL" --config "$INV" --vm web1 cpu add 1
	assert_failure 69
	run mem add 128M
	assert_failure 69
	assert_equal "$(stub_state vmm-cpus)" "0"
	assert_equal "$(stub_state vmm-dimms)" ""
}

@test "vmm: an aarch64 VM's vCPUs are not made through the VMM" {
	with_vmm "arch: aarch64"
	start_stub --arch aarch64 --max-vcpus 4 --qmp "$QMP"
	run vcpu set-count 2
	assert_failure 64
	assert_output "vcpuctl: VM web1: its VMM makes vCPUs for x86_64 guests only (this one is aarch64)"
	assert_guest_untold
}

@test "vmm: the stub refuses a --vmm-vcpus list without the boot CPUs or beyond --max-vcpus" {
	run "$STUB" --socket "$BATS_TEST_TMPDIR/s.sock" --boot-vcpus 2 --vmm-vcpus 0,3
	assert_failure 64
	assert_line "upcall-stub: --vmm-vcpus must list the boot CPUs (0..1)"
	run "$STUB" --socket "$BATS_TEST_TMPDIR/s.sock" --max-vcpus 4 --vmm-vcpus 0,4
	assert_failure 64
	assert_line "upcall-stub: --vmm-vcpus: APIC ID 4 is not below --max-vcpus 4"
	run "$STUB" --socket "$BATS_TEST_TMPDIR/s.sock" --qmp "$BATS_TEST_TMPDIR/s.sock"
	assert_failure 64
	assert_line "upcall-stub: --qmp needs a socket of its own"
}

@test "vmm: vms.yaml(5)'s record of qemu1 is what the tools write" {
	local man=$BATS_TEST_DIRNAME/../../man/vms.yaml.5
	start_stub --max-vcpus 4 --qmp "$QMP"
	# the first literal block is the inventory, the third qemu1's record
	awk '/^\.Bd -literal/ { n++; next } /^\.Ed/ { if (n == 1) exit; next } n == 1' "$man" |
		sed "s|/run/qemu1.sock|$SOCK|; s|/run/qemu1.qmp|$QMP|" >"$INV"
	chmod 600 "$INV"
	"$VCPUCTL" --config "$INV" --vm qemu1 set-count 3
	"$MEMCTL" --config "$INV" --vm qemu1 add 256M
	"$VCPUCTL" --config "$INV" --vm qemu1 set-count 1
	awk '/^\.Bd -literal/ { n++; next } /^\.Ed/ { if (n == 3) exit; next } n == 3' "$man" |
		sed "s|/run/qemu1.sock|$SOCK|" | grep -v '^identity:' >"$BATS_TEST_TMPDIR/expected"
	grep -v -e '^identity:' -e '^#' "$UPCALL_STATE_DIR/qemu1.yaml" >"$BATS_TEST_TMPDIR/actual"
	run diff "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/actual"
	assert_success
}

# bats test_tags=valgrind
@test "vmm: valgrind: the tools through the VMM path, and a VMM that lies, leak nothing" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	! grep -qa __asan_init "$UPCALLCTL" || skip "built with AddressSanitizer"
	local vg=(valgrind -q --error-exitcode=99 --leak-check=full
		--errors-for-leak-kinds=definite,indirect,possible --track-fds=yes)
	with_vmm "memory: {block_size: 128M}"
	start_stub --max-vcpus 4 --qmp "$QMP"
	run "${vg[@]}" "$(memcheck_tool vcpuctl)" --config "$INV" --vm web1 -o json set-count 3
	assert_success
	run "${vg[@]}" "$(memcheck_tool upcallctl)" --config "$INV" --vm web1 cpu del 1
	assert_success
	run "${vg[@]}" "$(memcheck_tool memctl)" --config "$INV" --vm web1 add 256M
	assert_success
	run "${vg[@]}" "$(memcheck_tool memctl)" --config "$INV" --vm web1 del 256M --base 0x100000000
	assert_success
	run "${vg[@]}" "$(memcheck_tool memctl)" --config "$INV" --vm web1 -o json add 256M
	assert_success
	stop_stub
	start_stub --max-vcpus 4
	for mode in garbage lie-apic second-fails; do
		start_peer "$mode"
		run "${vg[@]}" "$(memcheck_tool vcpuctl)" --config "$INV" --vm web1 -t 5 set-count 4
		[ "$status" -ne 99 ] || fail "memcheck errors with a peer in mode $mode: $output"
		assert_failure
		stop_peer
	done
}

# bats test_tags=valgrind
@test "vmm: valgrind: the stub's QMP server through a session and a client gone mid-line" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	! grep -qa __asan_init "$STUB" || skip "built with AddressSanitizer"
	SOCK=$BATS_TEST_TMPDIR/vm.sock
	with_vmm "memory: {block_size: 128M}"
	valgrind -q --error-exitcode=99 --leak-check=full --log-file="$BATS_TEST_TMPDIR/vg.log" \
		"$STUB" --socket "$SOCK" --qmp "$QMP" --max-vcpus 4 \
		--pid-file "$BATS_TEST_TMPDIR/vg.pid" 3>&- &
	local pid=$! i
	for i in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/vg.pid" ] && break
		sleep 0.1
	done
	vcpu -t 10 set-count 3
	mem -t 10 add 256M
	mem -t 10 del 256M --base 0x100000000
	mem -t 10 add 256M
	timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(4096)
s.sendall(b"{\"execute\": \"qmp_capabilities\"}\nnot json\n{\"execute\": \"device_del\"}\n{\"exec")' "$QMP"
	kill -TERM "$pid"
	wait "$pid"
	local rc=$?
	cat "$BATS_TEST_TMPDIR/vg.log"
	assert_equal "$rc" 0
	run grep -E 'Invalid|uninitialised|lost in' "$BATS_TEST_TMPDIR/vg.log"
	assert_output ""
}
