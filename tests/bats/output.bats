#!/usr/bin/env bats
# What the tools print, against the guest stub: a partial change names what
# was not done, a usage error in JSON names the command, addresses and sizes
# in JSON come also as hex strings, a raw request of the wrong size is not
# explained as its type's refusal, the stub's QMP reads addresses of 2^63
# and more, and messages keep one style.

load inventory_helpers
bats_require_minimum_version 1.5.0

setup() {
	inv_setup
}

teardown() {
	stop_stub
}

# The JSON line of $output.
json_out() {
	grep '^{' <<<"$output"
}

# jq FILTER on the JSON line of $output.
jq_out() {
	jq -c "$1" <<<"$(json_out)"
}

# --- a partial result names what was not done -----------------------------

@test "cpu add, partial: the APIC IDs not added are named, in text and JSON" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault fail-cpu=2
	run ctl cpu add 3
	assert_failure 2
	assert_line "added 1 vCPU (APIC ID 1); APIC IDs 2, 3 were not added"
	run ctl -o json cpu add 3 --apic-ids 4,5,6
	assert_failure 2
	run jq_out '[.done, .not_done, .message]'
	assert_output '[[4],[5,6],"added 1 vCPU (APIC ID 4); APIC IDs 5, 6 were not added"]'
}

@test "cpu del, partial: the APIC IDs not removed are named" {
	start_stub --boot-vcpus 5 --max-vcpus 8 --fault fail-cpu=2
	run ctl cpu del 3
	assert_failure 2
	assert_line "removed 1 vCPU (APIC ID 4); APIC IDs 3, 2 were not removed"
	assert_equal "$(stub_state cpus)" "0,1,2,3"
}

@test "cpu add, partial at the last ID: the one not added is named in the singular" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault fail-cpu=2
	run ctl cpu add 2
	assert_failure 2
	assert_line "added 1 vCPU (APIC ID 1); APIC ID 2 was not added"
}

@test "vcpuctl set-count, partial: the APIC IDs not added are named" {
	write_inventory "max_vcpu_count: 8"
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault fail-cpu=3
	run vcpu set-count 5
	assert_failure 2
	assert_line "added 2 vCPUs (APIC IDs 1, 2); APIC IDs 3, 4 were not added"
	run vcpu -o json set-count 6
	assert_failure 2
	run jq_out '[.done, .not_done]'
	assert_output '[[3,4],[5]]'
}

# --- usage errors in JSON carry the command --------------------------------

@test "usage-error JSON: command holds the words understood, null for none" {
	run "$UPCALLCTL" -o json cpu add x
	assert_failure 64
	run jq_out '[.command, .exit_code]'
	assert_output '["cpu add",64]'
	run "$UPCALLCTL" -o json cpu frob
	assert_failure 64
	run jq_out '[.command, .exit_code]'
	assert_output '["cpu",64]'
	run "$UPCALLCTL" -o json cpu
	run jq_out '.command'
	assert_output '"cpu"'
	run "$UPCALLCTL" -o json cpu add 1 --bogus
	assert_failure 64
	run jq_out '[.command, .exit_code]'
	assert_output '["cpu add",64]'
	# reading stops at the word refused, as getopt's does
	run "$UPCALLCTL" -o json --bogus cpu add 1
	assert_failure 64
	run jq_out '[.command, .exit_code]'
	assert_output '[null,64]'
	run "$UPCALLCTL" -o json frob
	assert_failure 64
	run jq_out '[.command, .exit_code]'
	assert_output '[null,64]'
	run "$UPCALLCTL" -o json
	assert_failure 64
	run jq_out 'has("command")'
	assert_output 'true'
}

@test "usage-error JSON: vcpuctl and memctl name the command too" {
	run "$VCPUCTL" -o json set-count
	assert_failure 64
	run jq_out '.command'
	assert_output '"set-count"'
	run "$MEMCTL" -o json add 128M --frob
	assert_failure 64
	run jq_out '.command'
	assert_output '"add"'
}

# --- addresses and sizes also as hex strings -------------------------------

@test "JSON: mem add, mem list and mmio add carry *_hex beside base and size" {
	start_stub --boot-vcpus 1
	run ctl -o json mem add 128M --base 0x100000000
	assert_success
	run jq_out '[.base, .base_hex, .size, .size_hex]'
	assert_output '[4294967296,"0x100000000",134217728,"0x8000000"]'
	run ctl -o json mem list
	run jq_out '[.ranges[0].base_hex, .ranges[0].size_hex, .total_hex]'
	assert_output '["0x100000000","0x8000000","0x8000000"]'
	run ctl -o json --dry-run mmio add --base 0xd0000000 --size 4K --irq 5
	assert_success
	run jq_out '[.base_hex, .size_hex]'
	assert_output '["0xd0000000","0x1000"]'
}

@test "JSON: an address of 2^63 and more: a bare number, and its hex string" {
	start_stub --boot-vcpus 1
	run ctl -o json --dry-run mem add 128M --base 0x8000000000000000
	assert_success
	assert_output --partial '"base":9223372036854775808,"base_hex":"0x8000000000000000"'
}

@test "JSON: memctl list and add carry *_hex" {
	write_inventory
	start_stub --boot-vcpus 1
	run mem -o json add 128M --base 0x100000000
	assert_success
	run jq_out '[.base_hex, .size_hex]'
	assert_output '["0x100000000","0x8000000"]'
	run mem -o json list
	run jq_out '[.ranges[0].base_hex, .ranges[0].size_hex, .total_hex]'
	assert_output '["0x100000000","0x8000000","0x8000000"]'
}

# --- raw requests: no per-type meaning for a payload of the wrong size -----

@test "raw ADD_CPU with a short payload: -22 explained by its size, not as ADD_CPU's refusal" {
	start_stub --boot-vcpus 2
	run --separate-stderr ctl shell <<<'raw ADD_CPU 01'
	assert_failure 1
	assert_line "reply ADD_CPU (0x1), msg_size 0, ret -22 (Invalid argument)"
	assert_equal "$stderr" "upcallctl: guest replied -22 (Invalid argument) to ADD_CPU: the request's payload is 1 byte, and ADD_CPU takes 258"
}

@test "raw DEL_MMIO with a long payload: no DEL_MMIO meaning either" {
	start_stub --boot-vcpus 2
	run --separate-stderr ctl shell <<<'raw DEL_MMIO 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00'
	assert_failure 1
	refute_output --partial "no virtio-mmio device"
	assert_equal "$stderr" "upcallctl: guest replied -22 (Invalid argument) to DEL_MMIO: the request's payload is 25 bytes, and DEL_MMIO takes 24"
}

@test "cpu add refused as a well-formed ADD_CPU keeps its per-request meaning" {
	start_stub --boot-vcpus 1 --fault errno=5
	run ctl cpu add 1 --apic-ids 1
	assert_failure 1
	assert_output --partial "to ADD_CPU: a vCPU did not come up"
}

# --- the stub's QMP reads unsigned 64-bit addresses ------------------------

@test "stub QMP: a DIMM at 2^63 is refused for its place, not as a JSON parse error" {
	local qmp=$BATS_TEST_TMPDIR/vm.qmp
	start_stub --boot-vcpus 1 --qmp "$qmp"
	run python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
f.readline()
for cmd in (b"{\"execute\": \"qmp_capabilities\"}",
            b"{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-ram\", \"id\": \"m0\", \"size\": 134217728}}",
            b"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"pc-dimm\", \"id\": \"d0\", \"memdev\": \"m0\", \"addr\": 9223372036854775808}}",
            b"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"pc-dimm\", \"id\": \"d0\", \"memdev\": \"m0\", \"addr\": 4294967296}}",
            b"{\"execute\": \"query-memory-devices\"}"):
    f.write(cmd + b"\n"); f.flush(); print(f.readline().decode().strip())' "$qmp"
	assert_success
	assert_line --index 2 --partial "can't add memory device [0x8000000000000000:0x8000000]"
	refute_output --partial "JSON parse error"
	assert_line --index 3 '{"return":{}}'
	assert_line --index 4 --partial '"addr":4294967296'
}

# --- one message style: "tool: lower-case start", no trailing period -------

# assert_style: every line of $stderr is "TOOL[ WORDS]: message" with the
# message starting lower-case (or with a name: VM, VMM, an option, a
# quoted word, a number) and not ending in a period.
assert_style() {
	local line n=0
	while IFS= read -r line; do
		n=$((n + 1))
		[[ $line =~ ^(upcallctl|vcpuctl|memctl)(\ [a-z-]+)*:\ ([a-z0-9\"\'\(-]|VMM?\ |APIC\ |CPU\ |SIZE\ |QMP\ ) ]] ||
			fail "message not in the tools' style: $line"
		[[ $line != *. ]] || fail "message ends in a period: $line"
	done <<<"$stderr"
	[ "$n" -gt 0 ] || fail "no message on stderr"
}

@test "message style: representative failures of each tool" {
	write_inventory "vmm: {qmp: $BATS_TEST_TMPDIR/none.qmp}"
	touch "$BATS_TEST_TMPDIR/plain"
	run --separate-stderr "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/none.sock" ping
	assert_failure 69
	assert_style
	run --separate-stderr "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/plain" ping
	assert_failure 69
	assert_style
	run --separate-stderr "$UPCALLCTL" pign
	assert_failure 64
	assert_style
	run --separate-stderr "$UPCALLCTL" --vm x mem add 128
	assert_failure 64
	assert_style
	run --separate-stderr vcpu set-count 0
	assert_failure 64
	assert_style
	run --separate-stderr "$VCPUCTL" --config "$INV" --vm nosuch get
	assert_failure 64
	assert_style
	start_stub --boot-vcpus 1
	run --separate-stderr vcpu set-count 2
	assert_failure 69
	assert_style
	run --separate-stderr mem add 128M
	assert_failure 69
	assert_style
}

@test "message style: no capitalised message formats in the tools' objects" {
	local objs=("$B"/cmd/common/*.o "$B"/cmd/upcallctl/*.o "$B"/cmd/vcpuctl/*.o \
		    "$B"/cmd/memctl/*.o "$B"/lib/*.o)
	[ -e "${objs[0]}" ] || skip "no object files under $B"
	run bash -c 'strings -n 6 "$@" | grep -E "^(Failed|Cannot|Can.t|Unable|Could not|Error|Warning|Invalid|Unknown|Missing|Bad|Out of) " | sort -u' _ "${objs[@]}"
	assert_output ""
}
