#!/usr/bin/env bats
# ADD_MMIO / DEL_MMIO against the real address map of a q35 guest (TCG):
# a window must lie in free address space and have a transport's shape,
# a refused or failed request leaves /proc/iomem byte for byte as it was,
# hostile orders of valid requests leave it consistent, and a peer
# looping on failures does not flood the guest's log.
#
# One boot.  pci-testdev (00:06.0) and ivshmem-plain (00:07.0) have no
# driver in the guest, so their BARs are unclaimed resources in
# /proc/iomem.  The ivshmem's shared memory is a host file holding fake
# virtio-mmio register headers (ID 0x7f, which no driver takes): once the
# guest has removed the device with DEL_PCI, QEMU still decodes the BAR
# where it was, so windows there answer as virtio-mmio devices and
# ADD_MMIO can succeed on q35 too.
#
# Not tested on its own: that removal takes a window out with
# remove_resource(), handing back anything nested under it.  With windows
# only ever placed in free address space nothing but virtio_mmio's own
# region can end up under one, so no request order reaches that path; it
# guards windows a module without the placement check registered.

load '../guest/helpers'

# Free address space inside the PCI host bridge window (BARs sit near
# 0xfeb00000; the test checks that nothing answers there).
FREE=0xd0000000

setup_file() {
	guest_require || return 0
	guest_build $Q35_MODS virtio_mmio
	python3 -c '
import struct, sys
hdr = lambda version, device: struct.pack("<IIII", 0x74726976, version, device, 0x554d4551)
mem = bytearray(0x10000)
mem[0x0000:0x0010] = hdr(2, 0x7f)
mem[0x1000:0x1010] = hdr(2, 0x7f)
mem[0x2000:0x2010] = hdr(2, 0)          # an empty transport
mem[0x3000:0x3010] = hdr(3, 0x7f)       # a version virtio_mmio does not know
open(sys.argv[1], "wb").write(mem)' "$BATS_FILE_TMPDIR/shm"
	guest_boot "console=ttyS0 upcall_mux=virtio" \
		-M q35 -m 512M -serial "file:$BATS_FILE_TMPDIR/console.log" \
		-device virtio-serial-pci,id=vser \
		-chardev "socket,id=mux,path=$BATS_FILE_TMPDIR/vm/mux.sock,server=on,wait=off" \
		-device virtserialport,bus=vser.0,chardev=mux,name=upcall.mux \
		-device pci-testdev,addr=0x6 \
		-object "memory-backend-file,id=shm,mem-path=$BATS_FILE_TMPDIR/shm,size=64K,share=on" \
		-device ivshmem-plain,memdev=shm,addr=0x7
}

teardown_file() {
	guest_shutdown
}

setup() {
	guest_setup
}

# bar BB:DD.F N: start and size of that memory BAR, in hex.
bar() {
	local start end flags
	read -r start end flags < <(guest_sh "sed -n '$(($2 + 1))p' /sys/bus/pci/devices/0000:$1/resource")
	printf '%#x %#x\n' "$start" $((end - start + 1))
}

iomem_snapshot() {
	guest_sh cat /proc/iomem >"$1" || fail "cannot read /proc/iomem"
}

# mmio_refused OP BASE SIZE RET: the guest answers RET and /proc/iomem
# is exactly what $IOMEM_REF holds.
mmio_refused() {
	local ret
	ret=$(graw mmio "$1" "$2" "$3" 5) || fail "mmio $*: no reply"
	iomem_snapshot "$BATS_TEST_TMPDIR/iomem.now"
	run diff "$IOMEM_REF" "$BATS_TEST_TMPDIR/iomem.now"
	assert_success
	[ "$ret" = "$4" ] || fail "mmio $1 $2 $3: the guest replied $ret, not $4"
}

# /proc/iomem is a tree (each range inside its parent, siblings in order
# and apart) and lists every memory BAR of every PCI device by name.
assert_iomem_consistent() {
	local map=$BATS_TEST_TMPDIR/iomem.check bars=$BATS_TEST_TMPDIR/bars
	iomem_snapshot "$map"
	guest_sh 'for d in /sys/bus/pci/devices/*; do head -n 6 $d/resource | sed "s|^|${d##*/} |"; done' >"$bars"
	run python3 -c '
import sys
stack, seen, bad = [(-1, 0, 1 << 64, [])], set(), []
for line in open(sys.argv[1]):
    depth = (len(line) - len(line.lstrip(" "))) // 2
    span, _, name = line.strip().partition(" : ")
    start, end = (int(x, 16) for x in span.split("-"))
    while stack[-1][0] >= depth:
        stack.pop()
    _, pstart, pend, kids = stack[-1]
    if not (pstart <= start <= end <= pend):
        bad.append("outside its parent: " + line.strip())
    if kids and kids[-1] >= start:
        bad.append("overlaps or precedes its sibling: " + line.strip())
    kids.append(end)
    stack.append((depth, start, end, []))
    seen.add((start, end, name))
for line in open(sys.argv[2]):
    dev, start, end, flags = line.split()
    start, end, flags = int(start, 16), int(end, 16), int(flags, 16)
    if start and flags & 0x200 and (start, end, dev) not in seen:
        bad.append("BAR not in /proc/iomem: %s %#x-%#x" % (dev, start, end))
print("\n".join(bad))
sys.exit(1 if bad else 0)' "$map" "$bars"
	assert_success
}

@test "guest mmio safety: the driverless devices' BARs are unclaimed resources in /proc/iomem" {
	run guest_sh 'lsmod | grep -c "^virtio_mmio "'
	assert_output '1'
	run guest_sh 'test -e /sys/bus/pci/devices/0000:00:06.0/driver || test -e /sys/bus/pci/devices/0000:00:07.0/driver'
	assert_failure
	local base size
	read -r base size < <(bar 00:06.0 0)
	[ "$size" = 0x1000 ] || fail "pci-testdev BAR0 is $base size $size"
	run guest_sh "grep -E '^ +0*${base#0x}-[0-9a-f]+ : 0000:00:06.0$' /proc/iomem"
	assert_success
	read -r base size < <(bar 00:07.0 2)
	[ "$size" = 0x10000 ] || fail "ivshmem BAR2 is $base size $size"
	assert_iomem_consistent
}

@test "guest mmio safety: windows other than a naturally aligned 0x200 to 4 KiB are refused with EINVAL" {
	export IOMEM_REF=$BATS_TEST_TMPDIR/iomem.ref
	iomem_snapshot "$IOMEM_REF"
	local w
	for w in "$FREE 0x2000" "$FREE 0x100000" "$FREE 0x40000000" "$FREE 0x100" \
		"$FREE 0x300" "$((FREE + 0x200)) 0x400" "$((FREE + 0xe00)) 0x1000" \
		"$((FREE + 0x100)) 0x200" "$((1 << 52)) 0x1000"; do
		mmio_refused add $w -22
	done
	# The shapes VMMs use pass that check: nothing answers there.
	for w in "$FREE 0x200" "$((FREE + 0x200)) 0x200" "$((FREE + 0x800)) 0x800" "$FREE 0x1000"; do
		mmio_refused add $w -19
	done
	mmio_refused del "$FREE" 0x2000 -2
}

@test "guest mmio safety: windows over BARs, e820 ranges and claimed ranges are refused with EBUSY, /proc/iomem untouched" {
	export IOMEM_REF=$BATS_TEST_TMPDIR/iomem.ref
	iomem_snapshot "$IOMEM_REF"
	local testdev regs shm reserved size ram_end
	read -r testdev size < <(bar 00:06.0 0)
	read -r regs size < <(bar 00:07.0 0)
	read -r shm size < <(bar 00:07.0 2)
	# A top-level e820 "Reserved" range above 1 MiB with nothing inside.
	reserved=$(python3 -c '
import sys
lines = open(sys.argv[1]).read().splitlines() + [""]
for line, nxt in zip(lines, lines[1:]):
    span, _, name = line.partition(" : ")
    if name == "Reserved" and not line.startswith(" ") and not nxt.startswith(" ") and \
            0x100000 <= int(span.split("-")[0], 16) < 1 << 32:
        print(hex(int(span.split("-")[0], 16)))
        break' "$IOMEM_REF")
	[ -n "$reserved" ] || fail "no free-standing Reserved range in /proc/iomem"

	# The window would swallow the BAR (same size, or larger).
	mmio_refused add "$testdev" 0x1000 -16
	mmio_refused add "$regs" 0x200 -16
	mmio_refused add "$regs" 0x1000 -16
	# The window would nest inside a BAR, even one that answers as virtio.
	mmio_refused add "$testdev" 0x200 -16
	mmio_refused add "$((testdev + 0x800))" 0x800 -16
	mmio_refused add "$shm" 0x1000 -16
	mmio_refused add "$((shm + 0x1000))" 0x1000 -16
	# Inside an e820 range, MMCONFIG, the IOAPIC and the local APIC.
	mmio_refused add "$reserved" 0x1000 -16
	mmio_refused add 0xb0000000 0x1000 -16
	mmio_refused add 0xfec00000 0x400 -16
	mmio_refused add 0xfee00000 0x1000 -16
	# RAM, and windows straddling its end or a BAR's start (which no
	# window of a transport's shape can do).
	ram_end=$(sed -n 's/^[0-9a-f]*-\([0-9a-f]*\) : System RAM$/0x\1/p' "$IOMEM_REF" | tail -n 1)
	mmio_refused add 0x100000 0x1000 -22
	mmio_refused add "$((ram_end + 1 - 0x200))" 0x400 -22
	mmio_refused add "$((testdev - 0x200))" 0x400 -22
	run guest_sh 'ls /sys/bus/platform/devices | grep "^virtio-mmio\." || true'
	assert_output ''

	# The device whose BAR was offered goes away and comes back cleanly.
	run gctl pci del 00:06.0
	assert_success
	run guest_sh 'test -e /sys/bus/pci/devices/0000:00:06.0'
	assert_failure
	assert_iomem_consistent
	run gctl pci add 00:06.0
	assert_success
	run guest_sh 'cat /sys/bus/pci/devices/0000:00:06.0/vendor'
	assert_output '0x1b36'
	assert_iomem_consistent
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}

@test "guest mmio safety: where a removed device's BAR was, mmio add registers; same, overlapping and unknown windows are refused" {
	local shm size
	read -r shm size < <(bar 00:07.0 2)
	echo "$shm" >"$BATS_FILE_TMPDIR/shm.base"
	run gctl pci del 00:07.0
	assert_success
	export IOMEM_REF=$BATS_TEST_TMPDIR/iomem.ref
	iomem_snapshot "$IOMEM_REF"
	run grep -F ': 0000:00:07.0' "$IOMEM_REF"
	assert_failure

	# DEL before ADD.
	mmio_refused del "$shm" 0x1000 -2
	run graw mmio add "$shm" 0x1000 5
	assert_output '0'
	run guest_sh 'cat /sys/bus/virtio/devices/*/device'
	assert_output --partial '0x007f'
	run guest_sh "grep -E '^ +0*${shm#0x}-[0-9a-f]+ : virtio-mmio\.30064$' /proc/iomem"
	assert_success
	assert_iomem_consistent
	iomem_snapshot "$BATS_TEST_TMPDIR/iomem.one"

	# ADD over ADD, overlapping windows, the same window with another IRQ.
	IOMEM_REF=$BATS_TEST_TMPDIR/iomem.one
	mmio_refused add "$shm" 0x1000 -17
	mmio_refused add "$shm" 0x200 -17
	mmio_refused add "$((shm + 0x800))" 0x800 -17
	run graw mmio del "$shm" 0x1000 6
	assert_output '-2'
	# An empty transport and an unknown version answer, but not as a device.
	mmio_refused add "$((shm + 0x2000))" 0x1000 -19
	mmio_refused add "$((shm + 0x3000))" 0x1000 -19
	run graw mmio add "$((shm + 0x1000))" 0x1000 5
	assert_output '0'
	run guest_sh 'ls /sys/bus/platform/devices | grep -c "^virtio-mmio\."'
	assert_output '2'

	run graw mmio del "$shm" 0x1000 5
	assert_output '0'
	run graw mmio del "$((shm + 0x1000))" 0x1000 5
	assert_output '0'
	run diff "$BATS_TEST_TMPDIR/iomem.ref" <(guest_sh cat /proc/iomem)
	assert_success
	run guest_sh 'ls /sys/bus/virtio/devices/*/device 2>/dev/null | wc -l'
	assert_output '1'
	assert_guest_kernel_clean
}

@test "guest mmio safety: a storm of valid requests in hostile orders leaves /proc/iomem as it was" {
	local shm round
	shm=$(cat "$BATS_FILE_TMPDIR/shm.base")
	iomem_snapshot "$BATS_TEST_TMPDIR/iomem.ref"
	for round in 1 2 3; do
		run graw mmio-storm --iomem "$BATS_TEST_TMPDIR/iomem.ref" \
			--virtio "$shm" --virtio "$((shm + 0x1000))" --count 300
		echo "$output"
		assert_success
		assert_output --regexp ' 0:[0-9]+'
		run diff "$BATS_TEST_TMPDIR/iomem.ref" <(guest_sh cat /proc/iomem)
		assert_success
	done
	assert_iomem_consistent
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}

@test "guest mmio safety: pci add rescans the removed device around a live window; mmio del then cleans up" {
	local shm
	shm=$(cat "$BATS_FILE_TMPDIR/shm.base")
	run graw mmio add "$shm" 0x1000 5
	assert_output '0'

	# Its old BAR address is taken now: the rescan places it elsewhere.
	run gctl pci add 00:07.0
	assert_success
	run guest_sh 'cat /sys/bus/pci/devices/0000:00:07.0/device'
	assert_output '0x1110'
	assert_iomem_consistent
	# The window sits right under the host bridge window, as it did.
	run guest_sh "grep -cE '^  0*${shm#0x}-[0-9a-f]+ : virtio-mmio\.' /proc/iomem"
	assert_output '1'

	run graw mmio del "$shm" 0x1000 5
	assert_output '0'
	run guest_sh 'grep virtio-mmio /proc/iomem || true'
	assert_output ''
	assert_iomem_consistent
	assert_guest_kernel_clean
}

@test "guest mmio safety: a peer looping on failing mmio add leaves a handful of log lines" {
	local testdev size before after
	read -r testdev size < <(bar 00:06.0 0)
	before=$(guest_sh 'dmesg | grep -ciE "upcall|mmio"')

	run graw mmio add "$FREE" 0x200 5 --count 200
	assert_success
	run sort -u <<<"$output"
	assert_output '-19'
	run graw mmio add "$testdev" 0x1000 5 --count 100
	assert_success
	run sort -u <<<"$output"
	assert_output '-16'

	# At most 5 lines a minute for each message, and the loop may
	# straddle the start of a new minute (plus one "suppressed" line).
	after=$(guest_sh 'dmesg | grep -ciE "upcall|mmio"')
	[ $((after - before)) -le 11 ] ||
		fail "300 failed requests added $((after - before)) log lines"
	run guest_sh 'dmesg | grep -c "Wrong magic value" || true'
	assert_output '0'
}

@test "guest mmio safety: the guest kernel logged no BUG, Oops, WARNING or call trace" {
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}
