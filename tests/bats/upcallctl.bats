#!/usr/bin/env bats
# upcallctl against the guest stub: every command, checked against the
# stub's resulting state, not only against what the client printed.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	start_stub --boot-vcpus 1 --max-vcpus 8 --pci 00:03.0
}

teardown() {
	[ -z "${RELAY_PID:-}" ] || kill "$RELAY_PID" 2>/dev/null || true
	stop_stub
}

@test "cpu add 2 onlines APIC IDs 1 and 2" {
	run ctl cpu add 2
	assert_success
	assert_output "added 2 vCPUs (APIC IDs 1, 2)"
	assert_equal "$(stub_state cpus)" "0,1,2"
	assert_equal "$(stub_state last)" "ADD_CPU ret=0 index=2 size=258 ids=1,2"
}

@test "cpu add sends the spec's worked-example frame" {
	run ctl -v cpu add 2 --apic-ids 1,2
	assert_success
	assert_line ">> 00014d44 02010000 01000000 00000000 | magic ok, size 258, ADD_CPU"
	assert_line --regexp '^>> 02140102 +\| \+16$'
	assert_line "<< 00014d44 04000000 01000000 00000000 | magic ok, size 4, ADD_CPU, ret 0"
	assert_line --regexp '^<< 00000000 02000000 +\| \+16$'
}

@test "hotplug cpu N is cpu add N" {
	run ctl hotplug cpu 1
	assert_success
	assert_output "added 1 vCPU (APIC ID 1)"
	assert_equal "$(stub_state cpus)" "0,1"
}

@test "cpu del with --apic-ids offlines exactly those" {
	ctl cpu add 3
	run ctl cpu del 2 --apic-ids 3,1
	assert_success
	assert_output "removed 2 vCPUs (APIC IDs 3, 1)"
	assert_equal "$(stub_state cpus)" "0,2"
}

@test "cpu del without IDs removes the highest added first" {
	ctl cpu add 2
	run ctl cpu del 2
	assert_success
	assert_output "removed 2 vCPUs (APIC IDs 2, 1)"
	assert_equal "$(stub_state cpus)" "0"
}

@test "--boot-vcpus moves the default IDs" {
	stop_stub
	start_stub --boot-vcpus 2 --max-vcpus 8
	run ctl cpu add 2 --boot-vcpus 2
	assert_success
	assert_output "added 2 vCPUs (APIC IDs 2, 3)"
	assert_equal "$(stub_state cpus)" "0,1,2,3"
}

@test "cpu add and del ask the guest which are online: a record that knows nothing of two boot CPUs" {
	stop_stub
	start_stub --boot-vcpus 2 --max-vcpus 8
	run ctl -o json cpu add 1
	assert_success
	assert_output --partial '"source":"guest"'
	assert_output --partial '"apic_ids":[2]'
	assert_equal "$(stub_state cpus)" "0,1,2"
	run ctl cpu del 1
	assert_success
	assert_output "removed 1 vCPU (APIC ID 2)"
	run ctl cpu del 1
	assert_success
	assert_output "removed 1 vCPU (APIC ID 1)"
	assert_equal "$(stub_state cpus)" "0"
	run ctl cpu del 1
	assert_failure 64
	assert_output --partial "only 0 vCPUs that can be removed, as the guest reports"
}

@test "cpu add and del on a guest that does not answer queries go by the record, and say so" {
	stop_stub
	start_stub --upstream --boot-vcpus 2 --max-vcpus 8
	run ctl -o json cpu add 1
	assert_failure 1
	assert_output --partial '"source":"record"'
	assert_output --partial "APIC ID 1 was picked from its record, since the guest does not answer queries"
	assert_equal "$(stub_state cpus)" "0,1"
	local n
	n=$(stub_state requests)
	run ctl cpu del 1
	assert_failure 64
	assert_output --partial "only 0 vCPUs that can be removed according to its record, which says 1 is online; the guest does not answer queries"
	assert_output --partial "sync --apic-ids LIST"
	# the query and nothing else: no DEL_CPU was sent
	assert_equal "$(stub_state last)" "QUERY_CPUS ret=-1 size=0"
	assert_equal "$(stub_state requests)" "$((n + 1))"
	run "$B/vcpuctl" --vm "$SOCK" sync --apic-ids 0,1
	assert_success
	run ctl cpu add 1
	assert_success
	assert_output "added 1 vCPU (APIC ID 2)"
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "cpu add --apic-ids asks nothing first; a request left in flight gets the sync for either kind of guest" {
	ctl cpu add 1
	# as a request interrupted after it was sent leaves the record
	sed -i '$a pending: "add vCPUs 3"' "$UPCALL_STATE_DIR"/*.yaml
	run ctl cpu add 1 --apic-ids 2
	assert_success
	assert_line "added 1 vCPU (APIC ID 2)"
	assert_line --partial "(add vCPUs 3): run 'vcpuctl --vm $SOCK sync' if the guest answers queries; otherwise check the guest, then run 'vcpuctl --vm $SOCK sync --apic-ids 0,1,3' if it was done, or 'vcpuctl --vm $SOCK sync --apic-ids 0,1' if it was not"
	# QUERY_CPUS and ADD_CPU, then ADD_CPU alone
	assert_equal "$(stub_state requests)" 3
}

@test "deleting the boot CPU is refused by the guest, exit 1" {
	# two CPUs online: the rule that never removes every CPU does not apply
	ctl cpu add 1
	run ctl cpu del 1 --apic-ids 0
	assert_failure 1
	assert_output "upcallctl: guest replied -22 (Invalid argument) to DEL_CPU: the boot CPU, an offline CPU, or every online CPU was named"
	assert_equal "$(stub_state cpus)" "0,1"
}

@test "adding an online APIC ID is refused, state unchanged" {
	ctl cpu add 1
	run ctl cpu add 2 --apic-ids 2,1
	assert_failure 1
	assert_output --partial "guest replied -22 (Invalid argument) to ADD_CPU"
	assert_equal "$(stub_state cpus)" "0,1"
}

@test "--apic-ver is sent" {
	run ctl -v cpu add 1 --apic-ver 0x15
	assert_success
	assert_line --regexp '^>> 01150100 +\| \+16$'
}

@test "--output json prints one object" {
	run ctl -o json cpu add 2
	assert_success
	assert_equal "${#lines[@]}" 1
	python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["ok"] is True and o["exit_code"] == 0, o
assert o["command"] == "cpu add", o
assert o["apic_ids"] == [1, 2] and o["done"] == [1, 2], o
assert o["message"] == "added 2 vCPUs (APIC IDs 1, 2)", o
' "$output"
}

@test "--output json reports a refusal with its exit code" {
	run "$UPCALLCTL" --vm "$SOCK" cpu del 1 --apic-ids 0 -o json
	assert_failure 1
	python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["ok"] is False and o["exit_code"] == 1 and o["ret"] == -22, o
assert o["status"] == "refused", o
assert "Invalid argument" in o["error"], o
' "$(grep '^{' <<<"$output")"
}

@test "UPCALL_VM names the target; options may follow the command" {
	UPCALL_VM=$SOCK run "$UPCALLCTL" cpu add 1 --timeout 2 -o text
	assert_success
	assert_equal "$(stub_state cpus)" "0,1"
}

@test "global options may be abbreviated and clustered before the command, as argp takes them" {
	run "$UPCALLCTL" --time 2 --vm "$SOCK" cpu add 1
	assert_success
	assert_output "added 1 vCPU (APIC ID 1)"
	run "$UPCALLCTL" --out json --vm "$SOCK" ping
	assert_success
	assert_output --partial '"command":"ping","ok":true'
	run "$UPCALLCTL" -vt 2 --vm "$SOCK" cpu add 1
	assert_success
	assert_line --partial "magic ok, size 258, ADD_CPU"
	run "$UPCALLCTL" --vm "$SOCK" cpu add 1 --apic 3
	assert_failure 64
	assert_output --partial "option '--apic' is ambiguous"
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "vsock: target with an unreachable CID fails as unreachable or timeout" {
	run_bounded 10 "$UPCALLCTL" --vm vsock:4242 --timeout 1 ping
	[ "$status" -eq 69 ] || [ "$status" -eq 75 ] || fail "exit $status: $output"
	assert_one_line
}

@test "mem add and del change the guest's ranges" {
	run ctl mem add 128M --base 0x100000000
	assert_success
	assert_output "added 128MiB of memory at 0x100000000-0x107ffffff"
	assert_equal "$(stub_state mem)" "0x100000000+0x8000000"
	run ctl mem del 128M --base 0x100000000
	assert_success
	assert_equal "$(stub_state mem)" ""
}

@test "memory overlapping a plugged range is refused with EEXIST" {
	run ctl mem add 256M --base 0x100000000
	assert_success
	run ctl mem add 128M --base 0x108000000
	assert_failure 1
	assert_output "upcallctl: guest replied -17 (File exists) to ADD_MEM: the range overlaps memory the guest has"
	run ctl mem add 256M --base 0xf8000000
	assert_failure 1
	assert_output "upcallctl: guest replied -17 (File exists) to ADD_MEM: the range overlaps memory the guest has"
	assert_equal "$(stub_state mem)" "0x100000000+0x10000000"
}

@test "unaligned memory is refused by the guest" {
	run ctl mem add 64M --base 0x100000000
	assert_failure 1
	assert_output "upcallctl: guest replied -22 (Invalid argument) to ADD_MEM: base or size is not a multiple of the guest's memory block size"
	assert_equal "$(stub_state mem)" ""
}

@test "mmio add and del, two windows side by side" {
	run ctl mmio add --base 0xd0000000 --size 0x1000 --irq 5
	assert_success
	assert_output "added virtio-mmio device at 0xd0000000-0xd0000fff, IRQ 5"
	run ctl mmio add --base 0xd0001000 --size 0x1000 --irq 6
	assert_success
	assert_equal "$(stub_state mmio)" "0xd0000000+0x1000@5 0xd0001000+0x1000@6"
	run ctl mmio del --base 0xd0000000 --size 4K --irq 5
	assert_success
	assert_equal "$(stub_state mmio)" "0xd0001000+0x1000@6"
	run ctl mmio del --base 0xd0001000 --size 4K --irq 6
	assert_success
	assert_equal "$(stub_state mmio)" ""
}

@test "an MMIO window whose IRQ or range is in use is refused with EBUSY" {
	ctl mmio add --base 0xd0000000 --size 0x1000 --irq 5
	# another range, the same IRQ
	run ctl mmio add --base 0xd0002000 --size 0x1000 --irq 5
	assert_failure 1
	assert_output "upcallctl: guest replied -16 (Device or resource busy) to ADD_MMIO: the window or its IRQ is in use (a PCI BAR, a reserved range, a driver), or another request kept the guest busy"
	# another IRQ, an overlapping range
	run ctl mmio add --base 0xd0000800 --size 0x1000 --irq 7
	assert_failure 1
	assert_output "upcallctl: guest replied -16 (Device or resource busy) to ADD_MMIO: the window or its IRQ is in use (a PCI BAR, a reserved range, a driver), or another request kept the guest busy"
	# a delete must match base, size and IRQ
	run ctl mmio del --base 0xd0000000 --size 0x1000 --irq 6
	assert_failure 1
	assert_output "upcallctl: guest replied -2 (No such file or directory) to DEL_MMIO: no virtio-mmio device added through upcall has exactly that window and IRQ"
	assert_equal "$(stub_state mmio)" "0xd0000000+0x1000@5"
}

@test "pci del removes the device, pci add brings it back" {
	run ctl pci del 00:03.0
	assert_success
	assert_output "removed PCI device 00:03.0"
	assert_equal "$(stub_state pci)" ""
	run ctl pci add 0000:00:03.0
	assert_success
	assert_equal "$(stub_state pci)" "00:03.0"
}

@test "ping reports the handshake round trip" {
	run ctl ping
	assert_success
	assert_output --regexp "^unix:$SOCK: device manager answered in [0-9]+\.[0-9]{3} ms$"
	assert_equal "$(stub_state requests)" "0"
}

@test "--version and --help" {
	run "$UPCALLCTL" --version
	assert_success
	assert_output --regexp '^upcallctl [0-9]+\.[0-9]+\.[0-9]+$'
	run "$UPCALLCTL" --help
	assert_success
	assert_output --partial "cpu add N"
	assert_output --partial "76 protocol error"
	run "$UPCALLCTL" mmio add --help
	assert_success
	assert_output --partial "--irq=N"
	assert_output --partial "--timeout=SECONDS"
	# an object alone lists its verbs
	run "$UPCALLCTL" cpu --help
	assert_success
	assert_line --index 0 "Usage: upcallctl cpu VERB [OPTION...] [ARGS...]"
	assert_line --regexp '^  cpu add N +Bring N vCPUs online'
	assert_line --regexp '^  cpu del N +Take N vCPUs offline'
	refute_line --partial "mem add"
}

@test "--help wraps a long command summary under itself, within 79 columns" {
	local prog
	for prog in "$UPCALLCTL" "$B/vcpuctl" "$B/memctl"; do
		run "$prog" --help
		assert_success
		# the block between "Commands:" and the blank line after it
		run bash -c '"$1" --help | sed -n "/^Commands:/,/^\$/p" | sed "1d;\$d"' _ "$prog"
		assert_success
		[ "${#lines[@]}" -ge 3 ] || fail "$prog --help lists no commands: $output"
		run grep -nvE '^  [a-z]|^ {21}[^ ]' <<<"$output"
		assert_failure 1
		run grep -nE '^.{80}' <<<"$output"
		assert_failure 1
	done
	run "$UPCALLCTL" --help
	assert_line --regexp '^  cpu add N +Bring N vCPUs online .*[^ ]$'
	assert_line --regexp '^ {21}[a-z(].*\)$'
}

# Every argument is validated before anything is sent.
@test "usage errors exit 64 and send nothing" {
	local bad=(
		"cpu add 0" "cpu add 256" "cpu add 2 --apic-ids 1,1"
		"cpu add 3 --apic-ids 1,2" "cpu add 1 --apic-ids 256"
		"cpu add x" "cpu add" "cpu add 1 --apic-ver 300"
		"mem add 0 --base 0x100000000" "mem add 128M" "mem add 128M --base 0"
		"mem add 16E --base 0x100000000" "mem add 1Q --base 0x100000000"
		"mem add 1T --base 0xffffffffffff0000"
		"mmio add --base 0xd0000000 --size 0x1000"
		"mmio add --base 0xd0000000 --size 0x1000 --irq 0"
		"mmio add --base 0xd0000000 --size 0x1000 --irq 1020"
		"mmio add --base 0xffffffffffffff00 --size 0x1000 --irq 5"
		"pci del 00:20.0" "pci del 00:03.8" "pci del 100:00.0" "pci del 0001:00:03.0"
		"pci del" "cpu frob 1" "cpu" "frob" "--arch sparc cpu add 1" "--output xml ping"
		"--timeout 0 ping" "--port 0 ping" "--port 1025 ping"
		"--bogus ping" "cpu add 1 --bogus" "cpu add 1 2" "ping --timeout"
	)
	local args
	for args in "${bad[@]}"; do
		# shellcheck disable=SC2086
		run "$UPCALLCTL" --vm "$SOCK" $args
		[ "$status" -eq 64 ] || fail "'$args' exited $status: $output"
		# one line, named by the program, not by the path it was run by
		[ "${#lines[@]}" -eq 1 ] || fail "'$args' said more than one line: $output"
		[[ $output == upcallctl[:\ ]* ]] || fail "'$args' said: $output"
	done
	assert_equal "$(stub_state requests)" "0"
}

@test "a usage error says what and where to look, in one line" {
	run "$UPCALLCTL" --vm "$SOCK" cpu add 1 --bogus
	assert_failure 64
	assert_output "upcallctl cpu add: unknown option \"--bogus\" (see 'upcallctl cpu add --help')"
	run "$UPCALLCTL" --bogus
	assert_failure 64
	assert_output "upcallctl: unknown option \"--bogus\" (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" cpu add
	assert_failure 64
	assert_output "upcallctl cpu add: missing vCPU count N (see 'upcallctl cpu add --help')"
	run "$UPCALLCTL" --vm "$SOCK" cpu
	assert_failure 64
	assert_output "upcallctl: cpu needs a verb: add, del or list (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" mmio frob --irq 5
	assert_failure 64
	assert_output "upcallctl: unknown verb \"frob\" for mmio: add, del or list (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" hotplug
	assert_failure 64
	assert_output "upcallctl: hotplug needs a verb: cpu (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" frob
	assert_failure 64
	assert_output "upcallctl: unknown command \"frob\" (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" --wait=-1 cpu add 1
	assert_failure 64
	assert_output --regexp "^upcallctl cpu add: --wait \"-1\" must be .* \\(see 'upcallctl cpu add --help'\\)$"
}

@test "a usage error with -o json is also a JSON result on stdout" {
	run --separate-stderr "$UPCALLCTL" --vm "$SOCK" cpu add 0 -o json
	assert_failure 64
	assert_equal "$stderr" "upcallctl cpu add: vCPU count 0 out of range 1..255 (see 'upcallctl cpu add --help')"
	run python3 -c 'import json, sys; r = json.loads(sys.argv[1])
print(r["command"], r["ok"], r["exit_code"], r["error"])' "$output"
	assert_output "cpu add False 64 vCPU count 0 out of range 1..255 (see 'upcallctl cpu add --help')"
	# a command that does not exist is one too
	run --separate-stderr "$UPCALLCTL" --vm "$SOCK" -o json cpu frob
	assert_failure 64
	assert_equal "$stderr" "upcallctl: unknown verb \"frob\" for cpu: add, del or list (see 'upcallctl --help')"
	run python3 -c 'import json, sys; r = json.loads(sys.argv[1])
print(r["ok"], r["exit_code"], r["error"])' "$output"
	assert_output "False 64 unknown verb \"frob\" for cpu: add, del or list (see 'upcallctl --help')"
	assert_equal "$(stub_state requests)" "0"
}

@test "JSON keeps every key when the text is not UTF-8" {
	local bad=$BATS_TEST_TMPDIR/$'\xff'.sock
	run --separate-stderr "$UPCALLCTL" --vm "$bad" --vm "$SOCK" -o json ping
	assert_failure 3
	# the byte that is not UTF-8 becomes U+FFFD: the VM, its error, the summary
	run python3 -c 'import json, sys
for line in sys.argv[1].splitlines():
    r = json.loads(line)
    print(ascii([r.get("vm"), r.get("error", "")[:17], r.get("failed_vms")]))' "$output"
	assert_success
	local want=$BATS_TEST_TMPDIR/\\ufffd.sock
	assert_line "['$want', 'failed to connect', None]"
	assert_line "['$BATS_TEST_TMPDIR/vm.sock', '', None]"
	assert_line "[None, '1 of 2 VMs failed', ['$want']]"
	run --separate-stderr "$UPCALLCTL" -o json "$(printf 'x\xff')"
	assert_failure 64
	run python3 -c 'import json, sys; print(ascii(json.loads(sys.argv[1])["error"]))' "$output"
	assert_output "'unknown command \"x\\ufffd\" (see \\'upcallctl --help\\')'"
}

@test "no target given is a usage error" {
	UPCALL_VM= run "$UPCALLCTL" cpu add 1
	assert_failure 64
	assert_output "upcallctl: no VM given: use --vm TARGET or set UPCALL_VM"
}

@test "--arch aarch64 sends a bare count" {
	stop_stub
	start_stub --arch aarch64 --boot-vcpus 1 --max-vcpus 4
	run ctl --arch aarch64 -v cpu add 2
	assert_success
	assert_line ">> 00014d44 01000000 01000000 00000000 | magic ok, size 1, ADD_CPU"
	assert_line --regexp '^>> 02000000 +\| \+16$'
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "typos: the unknown option is named, with the nearest command, verb or option" {
	run "$UPCALLCTL" --mv "$SOCK" ping
	assert_failure 64
	assert_output "upcallctl: unknown option \"--mv\"; did you mean \"--vm\"? (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" pign
	assert_failure 64
	assert_output "upcallctl: unknown command \"pign\"; did you mean \"ping\"? (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" cpu dell 1
	assert_failure 64
	assert_output --partial 'unknown verb "dell" for cpu: add, del or list; did you mean "del"?'
	run "$B/vcpuctl" --vm "$SOCK" setcount 3
	assert_failure 64
	assert_output "vcpuctl: unknown command \"setcount 3\"; did you mean \"set-count\"? (see 'vcpuctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" cpu add 1 -Z
	assert_output "upcallctl cpu add: unknown option \"-Z\" (see 'upcallctl cpu add --help')"
	run "$UPCALLCTL" cpu add 1 --vm
	assert_output "upcallctl cpu add: option \"--vm\" needs a value (see 'upcallctl cpu add --help')"
	# nothing far from every name is guessed at
	run "$UPCALLCTL" --vm "$SOCK" frobnicate
	refute_output --partial 'did you mean'
	run bash -c '"$1" -o json --mv "$2" ping 2>/dev/null' _ "$UPCALLCTL" "$SOCK"
	assert_failure 64
	run jq -r '.error' <<<"$output"
	assert_output --partial 'unknown option "--mv"'
	assert_equal "$(stub_state requests)" "0"
}

@test "delete, remove and rm are del; help and version are commands" {
	run "$UPCALLCTL" --vm "$SOCK" cpu add 3
	assert_success
	run "$UPCALLCTL" --vm "$SOCK" cpu delete 1
	assert_success
	assert_output "removed 1 vCPU (APIC ID 3)"
	run "$UPCALLCTL" --vm "$SOCK" cpu remove 1
	assert_output "removed 1 vCPU (APIC ID 2)"
	run "$UPCALLCTL" --vm "$SOCK" cpu rm 1
	assert_output "removed 1 vCPU (APIC ID 1)"
	run "$UPCALLCTL" help
	assert_success
	assert_line --index 0 "Usage: upcallctl [OPTION...] COMMAND [ARGS...]"
	run "$UPCALLCTL" help cpu
	assert_success
	assert_line --index 0 "Usage: upcallctl cpu VERB [OPTION...] [ARGS...]"
	run "$UPCALLCTL" help cpu add
	assert_success
	assert_line --index 0 "Usage: upcallctl cpu add [OPTION...] N"
	run "$UPCALLCTL" version
	assert_success
	assert_output "$("$UPCALLCTL" --version)"
	run "$B/memctl" version
	assert_output --regexp '^memctl [0-9]'
}

@test "--wait 10 says that the value goes joined; --wait=10 and --wait work" {
	run "$UPCALLCTL" --wait 10 --vm "$SOCK" ping
	assert_failure 64
	assert_output "upcallctl: --wait takes its value joined to it: --wait=10 (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" ping --wait 2.5
	assert_failure 64
	assert_output --partial "--wait=2.5"
	run "$UPCALLCTL" --wait=10 --vm "$SOCK" ping
	assert_success
	run "$UPCALLCTL" --vm "$SOCK" ping --wait
	assert_success
}

@test "JSON: a one-VM result names its VM first, also from UPCALL_VM; a fleet summary names none" {
	run bash -c '"$1" -o json --vm "$2" ping 2>/dev/null' _ "$UPCALLCTL" "$SOCK"
	assert_success
	run jq -r 'keys_unsorted[0] + "=" + .vm' <<<"$output"
	assert_output "vm=$SOCK"
	run bash -c 'UPCALL_VM="$2" "$1" -o json cpu add 1 --bogus 2>/dev/null' _ "$UPCALLCTL" "$SOCK"
	assert_failure 64
	run jq -c '[.vm, .command]' <<<"$output"
	assert_output "[\"$SOCK\",\"cpu add\"]"
	run bash -c '"$1" -o json --vm "$2" --vm "$2" ping 2>/dev/null | tail -n 1' _ "$UPCALLCTL" "$SOCK"
	run jq -c 'has("vm")' <<<"$output"
	assert_output false
}

@test "JSON: addresses of 2^63 and more are unsigned numbers, also in a fleet run" {
	local py='import json, sys
for line in sys.stdin:
    o = json.loads(line)
    if "base" in o: print(o.get("vm"), o["base"], o["size"])'
	run bash -c '"$1" -o json --vm "$2" mmio add --base 0x8000000000000000 --size 0x1000 --irq 5 | python3 -c "$3"' \
		_ "$UPCALLCTL" "$SOCK" "$py"
	assert_success
	assert_output "$SOCK 9223372036854775808 4096"
	local other=$BATS_TEST_TMPDIR/other.sock
	"$STUB" --socket "$other" --pid-file "$BATS_TEST_TMPDIR/other.pid" 3>&- 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/other.pid" ] && break; sleep 0.05; done
	run bash -c '"$1" -o json --vm "$2" --vm "$3" mem add 128M --base 0xfffffffff0000000 | python3 -c "$4"' \
		_ "$UPCALLCTL" "$SOCK" "$other" "$py"
	kill "$pid"
	assert_success
	assert_line "$SOCK 18446744073441116160 134217728"
	assert_line "$other 18446744073441116160 134217728"
}
