#!/usr/bin/env bats
# Fleet operations: one command on several VMs (repeated --vm, a glob, an
# inventory @GROUP) by a bounded pool, one result per VM, a summary.

load inventory_helpers
bats_require_minimum_version 1.5.0

setup() {
	inv_setup
	STUB_PIDS=()
}

teardown() {
	local p
	for p in "${STUB_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# start_vm NAME [STUB OPTIONS...]: a stub on $BATS_TEST_TMPDIR/NAME.sock,
# its state in NAME.state.
start_vm() {
	local name=$1 dir=$BATS_TEST_TMPDIR i
	shift
	"$STUB" --socket "$dir/$name.sock" --state-file "$dir/$name.state" \
		--pid-file "$dir/$name.pid" "$@" 3>&- 2>>"$dir/stubs.log" &
	STUB_PIDS+=($!)
	for i in $(seq 100); do
		[ -s "$dir/$name.pid" ] && return 0
		sleep 0.05
	done
	fail "upcall-stub $name did not start"
}

# vm_cpus NAME: the online CPUs in that stub's state dump.
vm_cpus() {
	sed -n 's/^cpus: //p' "$BATS_TEST_TMPDIR/$1.state"
}

sock() { echo "$BATS_TEST_TMPDIR/$1.sock"; }

@test "repeated --vm: every VM gets the CPU, one line each, then the summary" {
	start_vm a
	start_vm b
	start_vm c
	run "$UPCALLCTL" --vm "$(sock a)" --vm "$(sock b)" --vm "$(sock c)" cpu add 1
	assert_success
	assert_equal "${#lines[@]}" 4
	assert_line "$(sock a): added 1 vCPU (APIC ID 1)"
	assert_line "$(sock b): added 1 vCPU (APIC ID 1)"
	assert_line "$(sock c): added 1 vCPU (APIC ID 1)"
	assert_equal "${lines[3]}" "3 ok, 0 failed of 3 VMs"
	for v in a b c; do assert_equal "$(vm_cpus $v)" "0,1"; done
}

@test "UPCALL_VM takes a glob as --vm does; --vm wins over it" {
	start_vm vm1
	start_vm vm2
	UPCALL_VM="$BATS_TEST_TMPDIR/vm*.sock" run "$UPCALLCTL" cpu add 1
	assert_success
	assert_line "2 ok, 0 failed of 2 VMs"
	UPCALL_VM="$BATS_TEST_TMPDIR/vm*.sock" run "$UPCALLCTL" --vm "$(sock vm1)" cpu add 1
	assert_success
	assert_output "added 1 vCPU (APIC ID 2)"
	assert_equal "$(vm_cpus vm1)" "0,1,2"
	assert_equal "$(vm_cpus vm2)" "0,1"
}

@test "a --vm glob expands to the matching sockets only" {
	start_vm vm1
	start_vm vm2
	start_vm other
	run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/vm*.sock" cpu add 2
	assert_success
	assert_line "2 ok, 0 failed of 2 VMs"
	assert_equal "$(vm_cpus vm1)" "0,1,2"
	assert_equal "$(vm_cpus vm2)" "0,1,2"
	assert_equal "$(vm_cpus other)" "0"
}

@test "a glob that matches nothing is a usage error and sends nothing" {
	run "$UPCALLCTL" --vm "$BATS_TEST_TMPDIR/none*.sock" ping
	assert_failure 64
	assert_output "upcallctl: --vm $BATS_TEST_TMPDIR/none*.sock: no file matches"
}

write_group_inventory() {
	cat >"$INV" <<-EOF
	vms:
	  web1:
	    target: $(sock web1)
	  web2:
	    target: $(sock web2)
	  db1:
	    target: $(sock db1)
	groups:
	  web: [web1, web2]
	  $1
	EOF
	chmod 600 "$INV"
}

@test "an inventory @GROUP runs on its members, named as in the inventory" {
	write_group_inventory "all: [web1, web2, db1]"
	start_vm web1
	start_vm web2
	start_vm db1
	run "$VCPUCTL" --config "$INV" --vm @web set-count 3
	assert_success
	assert_line "web1: added 2 vCPUs (APIC IDs 1, 2)"
	assert_line "web2: added 2 vCPUs (APIC IDs 1, 2)"
	assert_line "2 ok, 0 failed of 2 VMs"
	assert_equal "$(vm_cpus web1)" "0,1,2"
	assert_equal "$(vm_cpus db1)" "0"
	assert_equal "$(record_cpus)" "0,1,2"
}

@test "an unknown group, or a group naming an unknown VM, is a usage error" {
	write_group_inventory "db: [db1, db9]"
	run "$UPCALLCTL" --config "$INV" --vm @web ping
	assert_failure 64
	assert_output "upcallctl: $INV:10:13: group db: no VM named \"db9\" under vms:"
	write_group_inventory "db: [db1]"
	run "$UPCALLCTL" --config "$INV" --vm @nosuch ping
	assert_failure 64
	assert_output "upcallctl: no group named \"nosuch\" in $INV (add it under groups:)"
}

@test "the same VM given twice runs once" {
	start_vm a
	run "$UPCALLCTL" --vm "$(sock a)" --vm "$(sock a)" cpu add 1
	assert_success
	assert_line "1 ok, 0 failed of 1 VM"
	assert_equal "$(vm_cpus a)" "0,1"
}

@test "JSON: one object per VM with its vm, then a summary object" {
	start_vm a
	start_vm b
	run "$UPCALLCTL" -o json --vm "$(sock a)" --vm "$(sock b)" cpu add 1
	assert_success
	assert_equal "${#lines[@]}" 3
	run jq -sc '[.[0:2][] | [.vm, .ok, .done]] | sort' <<<"$output"
	assert_output "[[\"$(sock a)\",true,[1]],[\"$(sock b)\",true,[1]]]"
	run "$UPCALLCTL" -o json --vm "$(sock a)" --vm "$(sock b)" cpu add 1
	run jq -c 'select(has("vms")) | [.vms, .succeeded, .failed, .ok, .exit_code]' <<<"$output"
	assert_output "[2,2,0,true,0]"
}

@test "exit status: 3 when some failed, listing the failed VM" {
	start_vm a
	run --separate-stderr "$UPCALLCTL" -o json --vm "$(sock a)" --vm "$(sock gone)" ping
	assert_failure 3
	run jq -c 'select(has("vms")) | [.succeeded, .failed, .failed_vms[0], .exit_code]' <<<"$output"
	assert_output "[1,1,\"$(sock gone)\",3]"
}

@test "exit status: the shared code when all failed alike, 4 when they differ" {
	run "$UPCALLCTL" --vm "$(sock gone1)" --vm "$(sock gone2)" ping
	assert_failure 69
	assert_line "$(sock gone1): failed (unreachable, exit 69)"
	assert_line "upcallctl: $(sock gone1): failed to connect to $(sock gone1): No such file or directory"
	assert_line "0 ok, 2 failed of 2 VMs"
	start_vm refuses --fault errno=5
	run "$UPCALLCTL" --vm "$(sock gone1)" --vm "$(sock refuses)" cpu add 1
	assert_failure 4
	assert_line "$(sock refuses): failed (refused, exit 1)"
}

@test "a VM that never replies delays no other VM beyond its own timeout" {
	start_vm a
	start_vm b
	start_vm dead --fault no-reply
	run --separate-stderr timeout 20 "$UPCALLCTL" -t 1 --vm "$(sock dead)" --vm "$(sock a)" \
		--vm "$(sock b)" cpu add 1
	assert_failure 3
	# results come as they finish: the dead VM's last, after its timeout
	assert_equal "${lines[2]}" "$(sock dead): failed (timed out, exit 75)"
	assert_equal "$(vm_cpus a)" "0,1"
	assert_equal "$(vm_cpus b)" "0,1"
}

# vm_requests NAME: request frames that stub has received.
vm_requests() {
	sed -n 's/^requests: //p' "$BATS_TEST_TMPDIR/$1.state"
}

@test "-j 1 serves one VM at a time" {
	for v in a b c d; do start_vm $v --fault reply-after=400; done
	# the ADD_CPU reply comes 400 ms late: at least 1600 ms one at a time
	timed_run timeout 30 "$UPCALLCTL" -j 1 --vm "$(sock a)" --vm "$(sock b)" \
		--vm "$(sock c)" --vm "$(sock d)" cpu add 1
	assert_success
	[ "$ELAPSED_MS" -ge 1600 ] || fail "-j 1 took ${ELAPSED_MS} ms: VMs overlapped"
	for v in a b c d; do assert_equal "$(vm_cpus $v)" "0,1"; done
}

@test "-j 4 has four VMs waiting for their replies at once" {
	# the guests never reply: one VM at a time would leave the others
	# untouched for the whole 60 s timeout
	for v in a b c d; do start_vm $v --fault no-reply; done
	"$UPCALLCTL" -j 4 -t 60 --vm "$(sock a)" --vm "$(sock b)" --vm "$(sock c)" \
		--vm "$(sock d)" cpu add 1 >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$! i v waiting
	for i in $(seq 300); do
		waiting=0
		for v in a b c d; do [ "$(vm_requests $v)" = 1 ] && waiting=$((waiting + 1)); done
		[ "$waiting" -eq 4 ] && break
		sleep 0.1
	done
	kill "$pid"
	wait "$pid" || true
	assert_equal "$waiting" 4
}

@test "a low RLIMIT_NOFILE shrinks the pool instead of failing VMs" {
	local v
	for v in $(seq 16); do start_vm "v$v" --fault reply-after=200; done
	# 40 descriptors leave room for two workers, not for 16
	run bash -c 'ulimit -n 40 && exec "$@" 3>&-' _ "$UPCALLCTL" -j 64 \
		--vm "$BATS_TEST_TMPDIR/v*.sock" cpu add 1
	assert_success
	assert_line "16 ok, 0 failed of 16 VMs"
	for v in $(seq 16); do assert_equal "$(vm_cpus "v$v")" "0,1"; done
}

@test "-j outside 1..256 is a usage error" {
	local j
	for j in 0 257; do
		run "$UPCALLCTL" -j "$j" --vm a --vm b ping
		assert_failure 64
		assert_output --partial "-j $j out of range 1..256"
	done
	run "$UPCALLCTL" -j x --vm a --vm b ping
	assert_failure 64
	start_vm a
	run "$UPCALLCTL" -j 256 --vm "$(sock a)" --vm "$(sock a)" ping
	assert_success
}

@test "memctl and vcpuctl run on several VMs too" {
	start_vm a
	start_vm b
	run "$MEMCTL" --vm "$(sock a)" --vm "$(sock b)" add --base 0x100000000 128M
	assert_success
	assert_line "2 ok, 0 failed of 2 VMs"
	grep -q '^mem: .' "$BATS_TEST_TMPDIR/a.state"
	grep -q '^mem: .' "$BATS_TEST_TMPDIR/b.state"
	run "$VCPUCTL" --vm "$BATS_TEST_TMPDIR/*.sock" get
	assert_success
	assert_line --partial "$(sock a): "
}

@test "the shell works on one VM only" {
	run "$UPCALLCTL" --vm a --vm b shell </dev/null
	assert_failure 64
	assert_output "upcallctl: shell works on one VM at a time; give one --vm"
}

# wait_log_count FILE PATTERN N: until FILE has N lines matching PATTERN.
wait_log_count() {
	local i
	for i in $(seq 200); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.05
	done
	fail "$1 never had $3 lines of '$2': $(cat "$1")"
}

@test "Ctrl-C stops every VM at once, leaves the rest alone and says what finished" {
	start_vm a
	for v in s1 s2 s3 s4; do start_vm $v --fault no-connect-frame --verbose; done
	# -j 3: a finishes at once, then s1..s3 hang in their handshakes; s4 waits
	"$UPCALLCTL" -t 60 -j 3 --vm "$(sock a)" --vm "$(sock s1)" --vm "$(sock s2)" \
		--vm "$(sock s3)" --vm "$(sock s4)" ping \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$!
	wait_log_count "$BATS_TEST_TMPDIR/stubs.log" 'withholding the CONNECT frame' 3
	kill -INT "$pid"
	run timeout 10 tail --pid="$pid" -f /dev/null
	assert_success		# it ended long before its 60 s timeout
	wait "$pid" && fail "an interrupted fleet run exited 0"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line --partial "$(sock a): "
	assert_line "$(sock s1): failed (interrupted, exit 130)"
	assert_line "$(sock s3): failed (interrupted, exit 130)"
	refute_line --partial "$(sock s4)"
	assert_line "1 ok, 3 failed, 1 not started (interrupted) of 5 VMs"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_line "upcallctl: $(sock s2): interrupted waiting for the guest's CONNECT frame"
}

@test "Ctrl-C on one VM: exit 130 with what was interrupted" {
	start_vm s --fault no-connect-frame --verbose
	"$UPCALLCTL" -t 60 --vm "$(sock s)" ping 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$!
	wait_log_count "$BATS_TEST_TMPDIR/stubs.log" 'withholding the CONNECT frame' 1
	kill -INT "$pid"
	local rc=0
	run timeout 10 tail --pid="$pid" -f /dev/null
	assert_success
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output "upcallctl: interrupted waiting for the guest's CONNECT frame"
}

@test "a result that names its VM is not prefixed twice; one VM is one VM" {
	start_vm a
	start_vm b
	run "$VCPUCTL" --vm "$(sock a)" --vm "$(sock b)" get
	assert_success
	assert_line --regexp "^$(sock a): 1 vCPUs? online"
	refute_output --partial "$(sock a): $(sock a)"
	run "$VCPUCTL" --vm "$(sock a)" --vm "$(sock a)" get
	assert_line "1 ok, 0 failed of 1 VM"
}
