#!/usr/bin/env bats
# Who the guest module serves, and for how long: local peers with
# allow_local=1, idle connections, connection slots, the listening port,
# the request lock's deadline, unload with requests queued, and the log a
# looping peer leaves.  Debian's 6.1 kernel on q35 under QEMU (TCG),
# booted like guest-q35.bats: -smp 4 with maxcpus=1 (CPUs 1-3 present but
# offline, APIC ID n = CPU n), -m 1G with mem=512M (0x20000000.. backed
# but unused), a virtio-rng at 00:05.0.
#
# Peers inside the guest are tests/guest/vsock-peer.c (upcall-vsock-peer),
# as root or as user 65534, from a port it binds or one the kernel picks.
# The relay that carries upcallctl's connections is itself a local peer
# (root, from a privileged port): this tier has no real host connection.
# QEMU reaches a guest's vsock with CID 2 only through vhost-vsock, which
# the machines running these tests do not offer, and the loopback
# transport always reports CID 1.  So what is kept for the host (8 of the
# 32 connection slots that local peers can never take) shows here only as
# the cap on local peers, and "the host still gets in" is seen as the
# relay getting in once idle local peers have been closed.

load '../guest/helpers'

setup_file() {
	guest_require || return 0
	guest_build $Q35_MODS
	guest_boot "console=ttyS0 maxcpus=1 mem=512M upcall_mux=virtio" \
		-M q35 -smp 4 -m 1G -serial "file:$BATS_FILE_TMPDIR/console.log" \
		-device virtio-serial-pci,id=vser \
		-chardev "socket,id=mux,path=$BATS_FILE_TMPDIR/vm/mux.sock,server=on,wait=off" \
		-device virtserialport,bus=vser.0,chardev=mux,name=upcall.mux \
		-device virtio-rng-pci,addr=0x5
}

teardown_file() {
	guest_shutdown
}

setup() {
	guest_setup
}

# A test that failed half-way must not leave the hot-plug lock held, idle
# peers around or the module unloaded.
teardown() {
	[ -n "${GEXEC:-}" ] || return 0
	guest_sh 'for f in /tmp/holder.pid /tmp/pin.pid /tmp/idle.pid /tmp/drip.pid; do [ -f $f ] && kill -9 $(cat $f); rm -f $f; done
		lsmod | grep -q "^upcall_guest " || insmod /lib/modules/upcall_guest.ko allow_local=1' >/dev/null 2>&1
	return 0
}

# peer ARGS...: upcall-vsock-peer in the guest.  Each call binds its own
# source ports (-p): a port reused at once can meet the module's socket
# of the previous connection on it, still closing.
peer() {
	guest_sh "upcall-vsock-peer $*"
}

reload() {
	guest_sh "rmmod upcall_guest && insmod /lib/modules/upcall_guest.ko $*"
}

# Mark the guest log; log_since MARK PATTERN counts matching lines after it.
log_mark() {
	guest_sh "echo upcall-test-mark-$1 >/dev/kmsg"
}

log_since() {
	guest_sh "dmesg | sed -n '/upcall-test-mark-$1\$/,\$p' | grep -c -e '$2' || true"
}

# cpu_req APIC_ID: an x86_64 ADD/DEL_CPU payload for that one CPU, in hex.
cpu_req() {
	printf '0114%02x%0510d' "$1" 0
}

# Under TCG no request is reliably slow on its own (adding a CPU takes
# 0.3 to 1.5 s), so the tests make one: they hold the kernel's
# device_hotplug_lock from user space.  A page of a hot-added block is
# pinned (vmsplice() into a pipe nobody reads), and offlining that block
# through sysfs, which holds the lock, retries migrating the page until
# the writer is killed.  add_cpu() takes the same lock, so an ADD_CPU
# request meanwhile keeps the module's request lock.
# hold_hotplug_lock BASE BLOCK: add 128 MiB at BASE (memory block BLOCK).
hold_hotplug_lock() {
	run gctl mem add 128M --base "$1"
	assert_success
	run guest_sh "upcall-vsock-peer pin $1 0x8000000 >/tmp/pin.out 2>&1 </dev/null &
		echo \$! >/tmp/pin.pid
		for i in \$(seq 100); do grep -q pinned /tmp/pin.out && break; sleep 0.1; done
		cat /tmp/pin.out"
	assert_output --partial 'pinned 0x'
	run guest_sh "(echo offline >/sys/devices/system/memory/memory$2/state) >/dev/null 2>&1 </dev/null &
		echo \$! >/tmp/holder.pid
		sleep 1
		cat /sys/devices/system/memory/memory$2/state"
	assert_output 'going-offline'
}

# release_hotplug_lock BLOCK: the offlining fails, the block stays online.
release_hotplug_lock() {
	run guest_sh "kill -9 \$(cat /tmp/holder.pid) && rm /tmp/holder.pid
		for i in \$(seq 100); do
			[ \"\$(cat /sys/devices/system/memory/memory$1/state)\" = online ] && break
			sleep 0.1
		done
		cat /sys/devices/system/memory/memory$1/state"
	assert_output 'online'
}

unpin() {
	run guest_sh 'kill -9 $(cat /tmp/pin.pid) && rm /tmp/pin.pid'
	assert_success
}

@test "guest peers: allow_local=1 is announced at load with a warning" {
	run guest_sh "dmesg | grep 'upcall_guest: allow_local=1: any process in this guest allowed to bind a vsock port below 1024'"
	assert_success
}

@test "guest peers: with allow_local=1 a local peer is served only from a privileged port" {
	# An unprivileged process: from the port the kernel gives it.
	run peer -u 65534 ping
	assert_failure 1
	assert_output 'refused: closed by the module'
	# It cannot take a privileged port (a kernel rule the policy rests on).
	run peer -u 65534 -p 600 ping
	assert_failure 1
	assert_output 'refused: bind: Permission denied'
	# Root is refused too from an unprivileged port: the port decides.
	run peer ping
	assert_failure 1
	assert_output 'refused: closed by the module'
	run peer -p 601 ping
	assert_success
	assert_output 'served'
	# The relay binds a privileged port for upcallctl.
	run gctl ping
	assert_success

	run guest_sh "dmesg | grep -c 'refused local peer from unprivileged port [0-9]* (allow_local serves ports 1..1023 only)'"
	assert_success
	[ "$output" -ge 2 ] || fail "refusals not logged: $output"

	# A flood of them is logged rate-limited, not once per connection.
	log_mark refused
	run peer -u 65534 -n 200 flood
	assert_success
	run log_since refused 'refused local peer'
	[ "$output" -ge 1 ] || fail "200 refused connections were not logged"
	[ "$output" -le 30 ] || fail "200 refused connections left $output log lines"
}

@test "guest peers: idle local peers are closed after 20 s and never take the host's slots" {
	# One root peer from a privileged port trickles a request, a byte
	# every 5 s; 40 more get their CONNECT frame and then say nothing.
	# Local peers get at most 24 of the 32 slots.
	run guest_sh 'upcall-vsock-peer -p 560 -d 5 -t 120 idle >/tmp/drip.out 2>&1 </dev/null &
		echo $! >/tmp/drip.pid
		for i in $(seq 300); do grep -q served /tmp/drip.out && break; sleep 0.1; done
		cat /tmp/drip.out'
	assert_output 'served 1 refused 0'
	run guest_sh 'upcall-vsock-peer -p 500 -n 40 -t 120 idle >/tmp/idle.out 2>&1 </dev/null &
		echo $! >/tmp/idle.pid
		for i in $(seq 300); do grep -q served /tmp/idle.out && break; sleep 0.1; done
		cat /tmp/idle.out'
	assert_output 'served 23 refused 17'
	run guest_sh "dmesg | grep -c 'too many local connections, dropping one'"
	[ "$output" -ge 1 ] || fail "the dropped local peers were not logged"

	# The relay is a local peer too: it gets in again once the module has
	# closed the idle ones (their processes never close them).
	local i
	for i in $(seq 60); do
		gctl ping >/dev/null 2>&1 && break
		sleep 1
	done
	run gctl ping
	assert_success
	run guest_sh 'for i in $(seq 300); do grep -q closed /tmp/idle.out && break; sleep 0.1; done
		sed -n 2p /tmp/idle.out'
	assert_output --regexp '^closed 23 after [0-9]+-[0-9]+ s, open 0$'
	local first=${output#closed 23 after }
	first=${first%%-*}
	[ "$first" -ge 19 ] || fail "closed after $first s, before the 20 s bound"
	# The trickle bought no time: 20 s is for a whole request.
	run guest_sh 'for i in $(seq 300); do grep -q closed /tmp/drip.out && break; sleep 0.1; done
		sed -n 2p /tmp/drip.out'
	assert_output --regexp '^closed 1 after (19|2[0-9])-[0-9]+ s, open 0$'
	run guest_sh "dmesg | grep -c 'closed a local connection idle for 20 s'"
	[ "$output" -ge 1 ] || fail "idle closes not logged"
}

@test "guest peers: port=1024 is refused at load with a clear message, 1023 is served" {
	run reload allow_local=1 port=1024
	assert_failure
	# (busybox's insmod tries twice: finit_module(), then init_module())
	run guest_sh "dmesg | grep 'upcall_guest: port 1024 refused: use 1..1023'"
	assert_success
	run guest_sh "lsmod | grep -c '^upcall_guest ' || true"
	assert_output '0'

	run guest_sh 'insmod /lib/modules/upcall_guest.ko allow_local=1 port=1023'
	assert_success
	run gctl --port 1023 ping
	assert_success
	run reload allow_local=1
	assert_success
	run gctl ping
	assert_success
}

@test "guest peers: with allow_local=0 refused local peers never fill the connection slots" {
	# Refused peers used to take a slot until a connection worker ran.  The
	# workers are made to wait: the unbound workqueues may use CPU 1 only,
	# where a SCHED_FIFO spinner runs, while the listener and a flood of
	# local connections run on CPU 0.
	run reload
	assert_success
	log_mark flood
	run guest_sh 'echo 1 >/sys/devices/system/cpu/cpu1/online &&
		echo 2 >/sys/devices/virtual/workqueue/cpumask &&
		echo -1 >/proc/sys/kernel/sched_rt_runtime_us &&
		taskset -p 1 $(pidof upcall-listen) >/dev/null &&
		{ upcall-vsock-peer hog 1 4 & } && sleep 0.5 &&
		taskset 1 upcall-vsock-peer -n 300 flood; st=$?; wait
		echo f >/sys/devices/virtual/workqueue/cpumask
		echo 950000 >/proc/sys/kernel/sched_rt_runtime_us
		echo 0 >/sys/devices/system/cpu/cpu1/online
		exit $st'
	assert_success
	assert_output --regexp '^connected [0-9]+ failed [0-9]+$'
	run log_since flood 'refused connection from CID 1'
	[ "$output" -ge 1 ] || fail "no refusal logged"
	run log_since flood 'too many connections'
	assert_output '0'

	run reload allow_local=1
	assert_success
	run gctl ping
	assert_success
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0'
}

@test "guest peers: a request that cannot take the request lock within lock_timeout_ms gets EBUSY" {
	local iomem
	iomem=$(guest_sh cat /proc/iomem)
	run guest_sh cat /sys/module/upcall_guest/parameters/lock_timeout_ms
	assert_output '4500'

	hold_hotplug_lock 0x20000000 4
	run guest_sh 'echo 2000 >/sys/module/upcall_guest/parameters/lock_timeout_ms'
	assert_success
	# A: ADD_CPU of CPU 1, stuck in add_cpu() with the request lock held.
	run guest_sh "upcall-vsock-peer -p 410 request 1 $(cpu_req 1) >/tmp/a.out 2>&1 </dev/null &"
	assert_success
	# B, on another connection: refused after its 2 s, not left waiting.
	# (Should A not hold the lock yet, B is served; then B asks again.)
	run guest_sh 'sleep 1
		for p in 411 412 413 414 415; do
			out=$(timeout 30 upcall-vsock-peer -p $p request 0x100)
			[ "$out" = "ret 0: 1" ] || break
			sleep 1
		done
		echo "$out"'
	assert_output 'ret -16: 1'
	run guest_sh "dmesg | grep -c 'QUERY_CPUS waited 2000 ms for the request in progress: refused with -EBUSY'"
	assert_output '1'
	run guest_sh 'cat /sys/devices/system/cpu/online /tmp/a.out'
	assert_output '0'

	# Once the lock is free, A goes through and requests are served again.
	release_hotplug_lock 4
	guest_wait 60 'grep -q "ret 0: 1" /tmp/a.out' || fail "ADD_CPU never completed"
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0-1'
	run peer -p 416 request 0x100
	assert_output 'ret 0: 1'

	unpin
	run guest_sh 'echo 4500 >/sys/module/upcall_guest/parameters/lock_timeout_ms &&
		echo 0 >/sys/devices/system/cpu/cpu1/online'
	assert_success
	run gctl mem del 128M --base 0x20000000
	assert_success
	run guest_sh cat /proc/iomem
	assert_output "$iomem"
	assert_guest_kernel_clean
}

@test "guest peers: a request still waiting for the request lock when rmmod runs is not run" {
	hold_hotplug_lock 0x28000000 5
	# B is to wait for the lock, not for its deadline.
	run guest_sh 'echo 60000 >/sys/module/upcall_guest/parameters/lock_timeout_ms'
	assert_success
	# A: ADD_CPU 2, in progress; B: ADD_CPU 3, queued behind it.
	run guest_sh "upcall-vsock-peer -p 420 request 1 $(cpu_req 2) >/tmp/a.out 2>&1 </dev/null &
		sleep 1
		upcall-vsock-peer -p 421 request 1 $(cpu_req 3) >/tmp/b.out 2>&1 </dev/null &
		sleep 1
		(rmmod upcall_guest; echo rmmod \$?) >/tmp/rmmod.out 2>&1 </dev/null &
		sleep 1
		cat /tmp/rmmod.out"
	assert_success
	assert_output ''

	# rmmod waits for A; B gets the lock after A, during the unload.
	release_hotplug_lock 5
	guest_wait 60 'grep -q "rmmod" /tmp/rmmod.out' || fail "rmmod did not finish"
	run guest_sh cat /tmp/rmmod.out
	assert_output 'rmmod 0'
	# A was running: it completed, though its reply could not go out.
	# B had not started: it never runs.
	run guest_sh cat /sys/devices/system/cpu/online
	assert_output '0,2'
	run guest_sh "dmesg | grep -c 'upcall_guest: unloading: ADD_CPU not run'"
	assert_output '1'
	run guest_sh cat /tmp/a.out /tmp/b.out
	assert_output $'connection lost after 0 replies: Connection reset by peer\nconnection lost after 0 replies: Connection reset by peer'

	# The memory stays (a new load does not know it); the guest is sound.
	unpin
	run guest_sh 'echo 0 >/sys/devices/system/cpu/cpu2/online &&
		insmod /lib/modules/upcall_guest.ko allow_local=1'
	assert_success
	run guest_sh "grep -c '28000000-2fffffff : System RAM (upcall)' /proc/iomem"
	assert_output '1'
	run gctl ping
	assert_success
	assert_guest_kernel_clean
}

@test "guest peers: 600 PCI requests in a loop leave at most a handful of log lines" {
	log_mark pci
	# ADD_PCI 00:05.0: the rescan finds the device there.
	run peer -p 430 -n 200 request 7 0028
	assert_output 'ret 0: 200'
	# 00:07.0: nothing there, to add or to remove.
	run peer -p 431 -n 200 request 7 0038
	assert_output 'ret -2: 200'
	run peer -p 432 -n 200 request 8 0038
	assert_output 'ret -19: 200'
	run log_since pci .
	# The mark itself, then at most a handful.
	[ "$output" -le 6 ] || fail "600 requests left $((output - 1)) log lines"
}

@test "guest peers: the guest kernel logged no BUG, Oops, WARNING or call trace" {
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}
