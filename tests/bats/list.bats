#!/usr/bin/env bats
# upcallctl cpu|mem|mmio|pci list against the guest stub: each list is what
# the stub's state holds, in text and JSON, read in pages where it is long;
# a guest without the query is named as such.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	start_stub --boot-vcpus 2 --max-vcpus 8 --pci 00:03.0
}

teardown() {
	[ -z "${STUB2_PID:-}" ] || { kill "$STUB2_PID" 2>/dev/null; wait "$STUB2_PID" 2>/dev/null; } || true
	stop_stub
}

@test "cpu list: the online vCPUs, after cpu add" {
	ctl cpu add 1 --boot-vcpus 2
	assert_equal "$(stub_state cpus)" "0,1,2"
	run ctl cpu list
	assert_success
	assert_output "3 vCPUs online: APIC IDs 0, 1, 2"
	run ctl -o json cpu list
	assert_success
	assert_output --partial '"count":3,"apic_ids":[0,1,2]'
	assert_output --partial '"command":"cpu list","ok":true'
}

@test "mem list: the hot-added ranges, after mem add and del" {
	ctl mem add 128M --base 0x100000000
	ctl mem add 256M --base 0x200000000
	ctl mem del 128M --base 0x100000000
	assert_equal "$(stub_state mem)" "0x200000000+0x10000000"
	run ctl mem list
	assert_success
	assert_line --index 0 "1 range hot-added through upcall, 256MiB in all"
	assert_line --index 1 "  0x200000000-0x20fffffff (256MiB)"
	run ctl -o json mem list
	assert_output --partial '"ranges":[{"base":8589934592,"base_hex":"0x200000000","size":268435456,"size_hex":"0x10000000"}]'
}

@test "mmio list: the windows and IRQs, after add and del; empty when none" {
	run ctl mmio list
	assert_success
	assert_output "0 virtio-mmio devices added through upcall"
	ctl mmio add --base 0xd0001000 --size 0x1000 --irq 6
	ctl mmio add --base 0xd0000000 --size 0x200 --irq 5
	ctl mmio add --base 0xd0002000 --size 0x1000 --irq 7
	ctl mmio del --base 0xd0001000 --size 0x1000 --irq 6
	assert_equal "$(stub_state mmio)" "0xd0000000+0x200@5 0xd0002000+0x1000@7"
	run ctl mmio list
	assert_success
	assert_output - <<-'OUT'
	2 virtio-mmio devices added through upcall
	  0xd0000000-0xd00001ff (512) IRQ 5
	  0xd0002000-0xd0002fff (4KiB) IRQ 7
	OUT
	run ctl -o json mmio list
	assert_output --partial '"count":2,"devices":[{"base":3489660928,"base_hex":"0xd0000000","size":512,"size_hex":"0x200","irq":5},{"base":3489669120,"base_hex":"0xd0002000","size":4096,"size_hex":"0x1000","irq":7'
}

@test "mmio list: a list longer than one reply is read in pages, in order" {
	local script=$BATS_TEST_TMPDIR/script i
	for i in $(seq 0 44); do
		printf 'mmio add --base 0x%x --size 0x1000 --irq %d\n' $((0xd0000000 + i * 0x1000)) $((i + 5))
	done >"$script"
	run_bounded 60 "$UPCALLCTL" shell --vm "$SOCK" <"$script"
	assert_success
	run ctl -v mmio list
	assert_success
	# 41 entries fit a reply: two requests, from entry 0 and from entry 41
	assert_equal "$(grep -c '^>> .*QUERY_MMIO' <<<"$output")" 2
	assert_line --regexp '^>> 29000000 +\| \+16$'
	assert_line --regexp '^<< 00000000 2d000000 29000000 04000000 \| \+16$'
	assert_line "45 virtio-mmio devices added through upcall"
	assert_line "  0xd0000000-0xd0000fff (4KiB) IRQ 5"
	assert_line "  0xd0029000-0xd0029fff (4KiB) IRQ 46"
	assert_line "  0xd002c000-0xd002cfff (4KiB) IRQ 49"
	run bash -c "'$UPCALLCTL' --vm '$SOCK' mmio list | sed -n 's/.*IRQ //p' | paste -sd,"
	assert_output "$(seq -s, 5 49)"
}

@test "pci list: every function, the ones ADD_PCI brought in marked; del takes one out" {
	run ctl pci list
	assert_success
	assert_output - <<-'OUT'
	1 PCI function, 0 added through upcall
	  0000:00:03.0 1af4:1000 class 020000
	OUT
	ctl pci add 00:04.0
	ctl pci add 01:1f.7
	run ctl pci list
	assert_output - <<-'OUT'
	3 PCI functions, 2 added through upcall
	  0000:00:03.0 1af4:1000 class 020000
	  0000:00:04.0 1af4:1000 class 020000 (added through upcall)
	  0000:01:1f.7 1af4:1000 class 020000 (added through upcall)
	OUT
	ctl pci del 00:03.0
	ctl pci del 00:04.0
	assert_equal "$(stub_state pci)" "01:1f.7"
	run ctl -o json pci list
	assert_success
	assert_output --partial '"count":1,"devices":[{"address":"0000:01:1f.7","segment":0,"bus":1,"devfn":255,"vendor":"1af4","device":"1000","class":"020000","added":true}]'
}

@test "an upstream guest: every list says the guest does not support listing" {
	stop_stub
	start_stub --upstream
	local what
	for what in cpu mem mmio pci; do
		run ctl "$what" list
		assert_failure 1
		assert_output --partial "upcallctl: the guest does not support listing "
		assert_output --partial "as a request it does not serve (an upstream guest"
	done
	run ctl -o json pci list
	assert_failure 1
	assert_output --partial '"status":"unsupported"'
	assert_output --partial '"error":"the guest does not support listing PCI devices: it refused QUERY_PCI'
}

@test "a guest that does not answer queries: cpu list says so, not a bare errno" {
	stop_stub
	start_stub --no-query
	run ctl cpu list
	assert_failure 1
	assert_output "upcallctl: the guest does not support listing vCPUs: it refused QUERY_CPUS as a request it does not serve (an upstream guest, or an older guest module)"
}

@test "lists run on several VMs, one prefixed result per VM" {
	local sock2=$BATS_TEST_TMPDIR/vm2.sock
	"$STUB" --socket "$sock2" --pid-file "$BATS_TEST_TMPDIR/stub2.pid" --pci 00:05.0 3>&- 2>/dev/null &
	STUB2_PID=$!
	run_bounded 10 bash -c "until [ -s '$BATS_TEST_TMPDIR/stub2.pid' ]; do sleep 0.05; done"
	run "$UPCALLCTL" --vm "$SOCK" --vm "$sock2" pci list
	assert_success
	assert_line "$SOCK:   0000:00:03.0 1af4:1000 class 020000"
	assert_line "$sock2:   0000:00:05.0 1af4:1000 class 020000"
	run "$UPCALLCTL" -o json --vm "$SOCK" --vm "$sock2" cpu list
	assert_success
	assert_line --partial "{\"vm\":\"$sock2\",\"count\":1,\"apic_ids\":[0]"
	assert_line --partial "{\"vm\":\"$SOCK\",\"count\":2,\"apic_ids\":[0,1]"
}

@test "the shell runs the lists, and raw knows QUERY_MMIO and QUERY_PCI by name" {
	run_bounded 20 "$UPCALLCTL" shell --vm "$SOCK" <<-'IN'
	pci list
	raw QUERY_PCI 0000000000000000
	raw query_mmio 0100000000000000
	IN
	assert_success
	assert_line "  0000:00:03.0 1af4:1000 class 020000"
	assert_line "reply QUERY_PCI (0x103), msg_size 32, ret 0 (ok)"
	assert_line "reply QUERY_MMIO (0x102), msg_size 16, ret 0 (ok)"
}
