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

# A test that failed half-way must not leave the module unloaded.
teardown() {
	[ -n "${GEXEC:-}" ] || return 0
	guest_sh 'lsmod | grep -q "^upcall_guest " || insmod /lib/modules/upcall_guest.ko allow_local=1' >/dev/null 2>&1
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

@test "guest peers: the guest kernel logged no BUG, Oops, WARNING or call trace" {
	assert_guest_kernel_clean
	run gctl ping
	assert_success
}
