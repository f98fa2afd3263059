#!/usr/bin/env bats
# memctl against the stub: placement, block alignment, the shared record.

load inventory_helpers

setup() {
	inv_setup
	write_inventory "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 2G}"
}
teardown() { stop_stub; }

@test "memctl add places ranges at the next free block; del and list follow" {
	start_stub
	run mem add 1G
	assert_success
	assert_output "added 1GiB of memory at 0x100000000-0x13fffffff"
	run mem add 256M
	assert_output "added 256MiB of memory at 0x140000000-0x14fffffff"
	assert_equal "$(stub_state mem)" "0x100000000+0x40000000 0x140000000+0x10000000"
	run mem del 1G --base 0x100000000
	assert_success
	assert_equal "$(stub_state mem)" "0x140000000+0x10000000"
	run mem add 512M
	assert_output "added 512MiB of memory at 0x100000000-0x11fffffff"
	run mem -o json list
	assert_output --partial '"ranges":[{"base":4294967296,"base_hex":"0x100000000","size":536870912,"size_hex":"0x20000000"},{"base":5368709120,"base_hex":"0x140000000","size":268435456,"size_hex":"0x10000000"}]'
	run grep -c 'base: 0x' "$RECORD"
	assert_output 2
}

@test "memctl del SIZE without --base removes the highest range of that size, the one placed last, and says which" {
	start_stub
	mem add 256M
	mem add 1G
	mem add 256M
	assert_equal "$(stub_state mem)" "0x100000000+0x10000000 0x110000000+0x40000000 0x150000000+0x10000000"
	run mem del 256M
	assert_success
	assert_line "picked 0x150000000-0x15fffffff, the highest range of 256MiB the guest lists, the one placed last (give --base for another)"
	assert_line "removed 256MiB of memory at 0x150000000-0x15fffffff"
	assert_equal "$(stub_state mem)" "0x100000000+0x10000000 0x110000000+0x40000000"
	run mem -o json del 1G
	assert_success
	assert_output --partial '"base":4563402752'
	assert_output --partial '"picked":true'
	assert_equal "$(stub_state mem)" "0x100000000+0x10000000"
	local n
	n=$(stub_state requests)
	run mem del 512M
	assert_failure 64
	assert_output "memctl: VM web1 has no hot-added range of exactly 512MiB as far as the guest knows (see 'memctl list'); give --base ADDR to remove part of a range"
	# the query, and no DEL_MEM
	assert_equal "$(stub_state requests)" "$((n + 1))"
}

@test "memctl refuses what the inventory or record rule out, sending nothing" {
	start_stub
	run mem add 100M
	assert_failure 64
	assert_output "memctl: size 0x6400000 is not a multiple of VM web1's memory block size 0x8000000"
	run mem add 128M --base 0x100100000
	assert_failure 64
	run mem add 128M --base 0x200000000
	assert_failure 64
	assert_output --partial "is outside the hot-add regions of VM web1"
	run mem add 4G
	assert_failure 64
	assert_output --partial "no free room for 4GiB"
	run mem del 128M --base 0x100000000
	assert_failure 64
	assert_output --partial "is not plugged in VM web1"
	run mem del 128M
	assert_failure 64
	assert_output --partial "has no hot-added range of exactly 128MiB"
	refute_line --partial "ADD_MEM"
	assert_equal "$(stub_state mem)" ""
	run grep -c 'ADD_MEM\|DEL_MEM' "$STATE"
	assert_output 0
}

@test "memctl sync re-seeds the record of a guest without the query extension" {
	start_stub --no-query
	run mem sync --ranges 0x100000000+256M
	assert_success
	run mem add 128M
	assert_output "added 128MiB of memory at 0x110000000-0x117ffffff"
	run mem -o json list
	assert_output --partial '"source":"record"'
	run mem add 128M --base 0x100000000
	assert_failure 64
	assert_output --partial "overlaps the plugged range 0x100000000+0x10000000"
}

@test "memctl sync without --ranges takes the guest's answer; an interrupted vCPU request stays marked" {
	start_stub
	"$UPCALLCTL" --vm "$SOCK" mem add 256M --base 0x100000000
	mkdir -p "$UPCALL_STATE_DIR"
	mem list >/dev/null
	# a vCPU request the record still marks: not memctl's to settle
	sed -i '$a pending: "add vCPUs 1"' "$RECORD"
	run mem -o json sync
	assert_success
	assert_output --partial '"ranges":[{"base":4294967296,"base_hex":"0x100000000","size":268435456,"size_hex":"0x10000000"}]'
	assert_output --partial '"source":"guest"'
	grep -qx 'pending: "add vCPUs 1"' "$RECORD"
	grep -qx -- '- {base: 0x100000000, size: 0x10000000}' "$RECORD"
}

@test "memctl sync without --ranges on a guest that does not answer queries: a clear error, the record unchanged" {
	start_stub --upstream
	run mem sync --ranges 0x100000000+128M
	assert_success
	run mem sync
	assert_failure 1
	assert_output --partial "VM web1: the guest does not answer queries"
	assert_output --partial "so it cannot say which ranges are plugged; check the guest, then run 'memctl --config $INV --vm web1 sync --ranges BASE+SIZE,...' (or --ranges none)"
	grep -qx -- '- {base: 0x100000000, size: 0x8000000}' "$RECORD"
}

@test "memctl: kill -9 mid-request; the next command names the exact sync for either outcome" {
	# every reply takes 3 s: the query's, then ADD_MEM's
	start_stub --no-query --fault reply-after=3000
	"$MEMCTL" --config "$INV" --vm web1 -t 10 add 128M 3>&- &
	local pid=$!
	wait_stub_requests 2
	kill -9 "$pid"
	wait "$pid" || true
	grep -qx 'pending: "add memory 0x100000000+0x8000000"' "$RECORD"
	run mem -t 10 list
	assert_success
	assert_line --partial "an earlier request was interrupted before its result was recorded (add memory 0x100000000+0x8000000), and the guest does not answer queries: check the guest, then run 'memctl --config $INV --vm web1 sync --ranges 0x100000000+0x8000000' if it was done, or 'memctl --config $INV --vm web1 sync --ranges none' if it was not"
	run "$MEMCTL" --config "$INV" --vm web1 -t 10 sync --ranges 0x100000000+0x8000000
	assert_success
	refute grep -q '^pending:' "$RECORD"
	assert_equal "$(stub_state mem)" "0x100000000+0x8000000"
}

@test "a record full of ranges refuses one more before anything is sent" {
	write_inventory "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 16G}"
	start_stub --no-query
	local ranges="" i
	for i in $(seq 0 61); do
		ranges+="${ranges:+,}$(printf '0x%x' $((0x100000000 + i * 0x10000000)))+128M"
	done
	run mem sync --ranges "$ranges"
	assert_success
	run mem add 128M
	assert_failure 64
	assert_output "memctl: VM web1: its record already holds 62 memory ranges, the most it can (remove one first)"
	# cutting the middle out of a range would make 63
	ranges=0x100000000+384M
	for i in $(seq 0 60); do
		ranges+=",$(printf '0x%x' $((0x120000000 + i * 0x10000000)))+128M"
	done
	run mem sync --ranges "$ranges"
	assert_success
	run mem del 128M --base 0x108000000
	assert_failure 64
	assert_output --partial "(remove a whole range, not part of one)"
	# the stub was only asked for its ranges (it cannot answer), never changed
	assert_equal "$(stub_state last)" "QUERY_MEM ret=-1 size=0"
	assert_equal "$(stub_state mem)" ""
}

@test "sizes: a bare small number asks for its unit, --base takes units, the block size is checked first" {
	write_inventory "memory:" "  block_size: 128M" "  regions:" \
		"    - {base: 0x100000000, size: 4G}"
	start_stub
	run mem add 128
	assert_failure 64
	assert_output "memctl add: SIZE 128 is 128 bytes, less than a page; did you mean 128M? (see 'memctl add --help')"
	run "$UPCALLCTL" --config "$INV" --vm web1 mem add 128 --base 4G
	assert_failure 64
	assert_output --partial "did you mean 128M?"
	run "$UPCALLCTL" --config "$INV" --vm web1 mem add 64M --base 4G
	assert_failure 64
	assert_output "upcallctl: SIZE 64MiB is not a multiple of VM web1's memory block size 128MiB"
	run "$UPCALLCTL" --config "$INV" --vm web1 mem add 128M --base 4160M
	assert_failure 64
	assert_output "upcallctl: --base 4160MiB is not a multiple of VM web1's memory block size 128MiB"
	assert_equal "$(stub_state requests)" "0"
	run "$UPCALLCTL" --config "$INV" --vm web1 mem add 128M --base 4G
	assert_success
	assert_output "added 128MiB of memory at 0x100000000-0x107ffffff"
}

@test "a change the guest made though the record disagreed: done, with a notice" {
	start_stub --no-query
	# the record lists 0x100000000+128M, which the guest does not have
	run mem sync --ranges 0x100000000+128M
	assert_success
	run "$UPCALLCTL" --config "$INV" --vm web1 mem add 128M --base 0x100000000
	assert_success
	assert_line "added 128MiB of memory at 0x100000000-0x107ffffff"
	assert_line "upcallctl: notice: VM web1: the record already had that range, so it is out of date (check the guest, then use the sync command)"
	run "$UPCALLCTL" --config "$INV" --vm web1 mem add 128M --base 0x108000000
	assert_success
	refute_output --partial "notice"
	# the record forgets 0x108000000+128M, which the guest has
	run mem sync --ranges 0x100000000+128M
	assert_success
	run "$UPCALLCTL" --config "$INV" --vm web1 mem del 128M --base 0x108000000
	assert_success
	assert_line "removed 128MiB of memory at 0x108000000-0x10fffffff"
	assert_line "upcallctl: notice: VM web1: the record did not have that range, so it is out of date (check the guest, then use the sync command)"
	assert_equal "$(stub_state mem)" "0x100000000+0x8000000"
}

@test "a refusal that contradicts the record names the record out of date; one it agrees with does not" {
	start_stub --no-query
	mem add 128M --base 0x100000000
	# the record forgets that range and lists one the guest does not have
	run mem sync --ranges 0x110000000+128M
	assert_success
	run mem add 128M
	assert_failure 1
	assert_output "memctl: guest replied -17 (File exists) to ADD_MEM: the record of VM web1 is out of date (the guest already has that range); check the guest, then run 'memctl --vm web1 sync --ranges BASE+SIZE,...'"
	run mem del 128M --base 0x110000000
	assert_failure 1
	assert_output --partial "guest replied -2 (No such file or directory) to DEL_MEM: the record of VM web1 is out of date (the guest does not have that range)"
	# upcallctl sends what it is told: a refusal the record agrees with is only a refusal
	run mem sync --ranges 0x100000000+128M
	assert_success
	run "$UPCALLCTL" --config "$INV" --vm web1 mem add 128M --base 0x100000000
	assert_failure 1
	assert_output "upcallctl: guest replied -17 (File exists) to ADD_MEM: the range overlaps memory the guest has"
	run "$UPCALLCTL" --config "$INV" --vm web1 mem del 128M --base 0x120000000
	assert_failure 1
	assert_output "upcallctl: guest replied -2 (No such file or directory) to DEL_MEM: the range is not (all) memory the guest module added since it was loaded"
	assert_equal "$(stub_state mem)" "0x100000000+0x8000000"
}
