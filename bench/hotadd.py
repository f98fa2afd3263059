#!/usr/bin/env python3
"""#5: true hot-add of a vCPU and of a 256 MiB DIMM in a running TCG guest,
through upcall (a guest booted ACPI-free) and through the guest's own ACPI
(GPEs live).  bench/guest boots the two guests and runs this.

  hotadd.py ROUNDS UPCALLCTL UPCALL_DIR ACPI_DIR INVENTORY

Each *_DIR is a tests/guest guest directory: qmp.sock (QEMU's QMP, this
script's), exec.sock (runs a command in the guest), vm.sock (upcall's
hybrid vsock socket).  UPCALL_DIR also has qmp-tool.sock, a second QMP
socket that INVENTORY gives the tools as the VM's vmm (QEMU serves one
client per QMP socket).  INVENTORY names that guest "g".

Both sides create a new vCPU or DIMM in QEMU every round, the time runs
from just before the first QMP command until the guest has it online:

vCPU, upcall: QMP device_add of the vCPU with the next APIC ID K, then
'upcallctl cpu add 1 --apic-ids K', exec to exit (the guest module maps,
registers and onlines the CPU, then replies).  Reset, untimed: 'cpu del',
which makes the CPU absent again; QEMU keeps the vCPU (it completes an
unplug only through the guest's ACPI), so each round takes a new APIC ID
and a logical CPU the guest never used, as each ACPI round does.
vCPU, ACPI: QMP device_add of the vCPU with the lowest free APIC ID;
bench-hotwait (bench/in-guest/hotwait.c), already waiting in the guest,
sees the CPU's device, writes 1 to its "online" file and says so, as a
udev rule would.  Reset, untimed: offline (the CPU stays present).
DIMM, upcall: QMP object-add, device_add pc-dimm, query-memory-devices
for its address, then 'upcallctl mem add 256M --base ADDR', exec to exit.
Reset, untimed: 'mem del' (QEMU keeps the DIMM; the next round makes a
new one).
DIMM, ACPI: QMP object-add, device_add pc-dimm; bench-hotwait says when
the first memory block's device appears and when MemTotal has grown by
256 MiB.  Reset, untimed: device_del (the guest's ACPI offlines and
ejects it), object-del once QEMU has dropped it, and MemTotal back.
Both guests boot with memhp_default_state=online_movable: the kernel
onlines the new blocks movable inside add_memory on both sides (the
module leaves blocks that are already online alone).

bench-hotwait sleeps on the kernel's uevents; it starts before the
request and says "ready" once it listens.  Every timed run waits 0.3 s
before t0, so each starts from a guest that has settled.  One untimed
round per kind first: the first time a second CPU comes up the kernel
patches itself for SMP ("SMP alternatives", 100-200 ms under TCG), which
neither side should pay.  The kinds take turns round by round, so that a
drift of the machine's speed weighs on all alike.  Also measured: the
same vCPU again through upcall (QEMU has it, the guest had it),
'upcallctl ping' (the way into the guest alone), and the whole upcall
side in one command (the tool makes the vCPU over its own QMP
connection, from the inventory); after each of those the ACPI guest's
QEMU gets one more vCPU too, untimed, so that both QEMUs always have as
many vCPUs.  QEMU keeps every DIMM of the upcall guest, the ACPI guest's
only one at a time.

Where the time goes in the guests: kprobes (ftrace, armed during the
timed runs) on the module's request handlers, the SCI handler, the sysfs
online (device_online) and add_memory_resource() in the ACPI guest, and
on both on synchronize_rcu() and bringup_cpu(); guest timestamps are only
subtracted from each other.  *_guest: request to reply, or SCI to done;
*_gp: RCU grace periods waited for inside that; *_rest: the rest of the
host-side time after QMP (upcall: upcallctl's exec, connection and the
way in and out; ACPI: until the SCI, and the waiter's word back).

Prints one line per figure, "NAME MEDIAN MIN MAX", in ns; the *_ratio
lines are upcall / ACPI of the same round.
"""
import importlib.util
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "qmp", os.path.join(HERE, "..", "tests", "guest", "qmp.py"))
qmp_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(qmp_mod)

PAUSE = 0.3
DIMM = 256 << 20
TIMEOUT = 120

# kprobes for the guest-side split (ftrace, 16 KiB of buffer per CPU):
# RCU grace periods waited for and the AP bring-up on both guests, the
# request handlers of the module, the SCI, the sysfs online and
# add_memory_resource() in the ACPI guest.
COMMON_PROBES = """p:gp synchronize_rcu
r:gp_r synchronize_rcu
p:bu bringup_cpu
r:bu_r bringup_cpu"""
UPCALL_PROBES = COMMON_PROBES + """
p:req upcall_guest:upcall_cpu_add
r:rep upcall_guest:upcall_cpu_add
p:mreq upcall_guest:upcall_mem_add
r:mrep upcall_guest:upcall_mem_add"""
ACPI_PROBES = COMMON_PROBES + """
p:sci acpi_irq
p:don device_online
r:don_r device_online
p:amr add_memory_resource
r:amr_r add_memory_resource"""
TRACE = "/sys/kernel/tracing"


def fail(msg):
    sys.exit("hotadd.py: %s" % msg)


def now():
    return time.monotonic_ns()


class Command:
    """A command running in the guest: its output frames, its exit."""

    def __init__(self, exec_sock, command):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(TIMEOUT)
        self.s.connect(exec_sock)
        self.s.sendall(command.encode())
        self.s.shutdown(socket.SHUT_WR)
        self.cmd, self.buf, self.out, self.status = command, bytearray(), b"", None

    def _read(self):
        data = self.s.recv(65536)
        if not data:
            fail("guest command %r ended without a status: %r" % (self.cmd, self.out))
        self.buf += data
        while len(self.buf) >= 5:
            if self.buf[:1] == b"D":
                n = struct.unpack_from("<I", self.buf, 1)[0]
                if len(self.buf) < 5 + n:
                    break
                self.out += bytes(self.buf[5:5 + n])
                del self.buf[:5 + n]
            elif self.buf[:1] == b"X":
                self.status = struct.unpack_from("<i", self.buf, 1)[0]
                del self.buf[:5]
            else:
                fail("bad frame from the bridge: %r" % bytes(self.buf[:8]))

    def wait(self, word):
        while word not in self.out:
            if self.status is not None:
                fail("guest command %r exited without %r: %r" % (self.cmd, word, self.out))
            self._read()

    def finish(self):
        while self.status is None:
            self._read()
        self.s.close()
        if self.status != 0:
            fail("guest command %r exited with %d: %r" % (self.cmd, self.status, self.out))
        return self.out.decode().strip()


class Guest:
    def __init__(self, d):
        self.dir = d
        self.exec = os.path.join(d, "exec.sock")
        self.vsock = os.path.join(d, "vm.sock")
        self.qmp = qmp_mod.Qmp(os.path.join(d, "qmp.sock"))

    def sh(self, command):
        return Command(self.exec, command).finish()

    def start(self, command):
        return Command(self.exec, command)

    def online(self):
        return self.sh("cat /sys/devices/system/cpu/online")

    def mem_total_kb(self):
        return int(self.sh("read k v u </proc/meminfo; echo $v"))

    def cpu_slots(self):
        """APIC ID -> QEMU's hot-pluggable CPU slot."""
        slots = self.qmp.cmd("query-hotpluggable-cpus")
        counts = {k: 1 + max(s["props"].get(k, 0) for s in slots) for k in qmp_mod.TOPOLOGY}
        return {qmp_mod.apic_id_of(s["props"], counts): s for s in slots}

    def dimms(self):
        """id -> address of QEMU's memory devices."""
        return {d["data"].get("id"): d["data"]["addr"]
                for d in self.qmp.cmd("query-memory-devices")}

    def trace_start(self, probes):
        self.sh("set -e; [ -e {t}/trace ] || mount -t tracefs nodev {t}; "
                "echo 0 > {t}/tracing_on; echo 16 > {t}/buffer_size_kb; "
                "[ ! -e {t}/events/kprobes ] || echo 0 > {t}/events/kprobes/enable; "
                "echo '{p}' > {t}/kprobe_events; echo 1 > {t}/events/kprobes/enable; "
                "echo 1 > {t}/tracing_on".format(t=TRACE, p=probes))

    def trace_clear(self):
        self.sh("echo > %s/trace" % TRACE)

    def trace_take(self):
        """The events since trace_clear(): [(ns of guest time, name)]."""
        ev = []
        for line in self.sh("cat %s/trace" % TRACE).splitlines():
            if "LOST" in line:
                fail("the trace of %s lost events: %s" % (self.dir, line))
            m = re.search(r"\s(\d+)\.(\d{6}): (\w+): ", line)
            if m:
                ev.append((int(m[1]) * 10**9 + int(m[2]) * 1000, m[3]))
        return ev

    def kernel_clean(self):
        bad = self.sh("dmesg | grep -E 'BUG|Oops|WARNING|Call [Tt]race|general protection|"
                      "RIP:|Internal error' || true")
        if bad:
            fail("the guest kernel of %s logged:\n%s" % (self.dir, bad))


def first(ev, name, after=0):
    """The time of the first @name event at or after @after."""
    for t, n in ev:
        if n == name and t >= after:
            return t
    fail("no %r event in the guest's trace: %r" % (name, ev))


def spans(ev, start, end, lo, hi):
    """The total time between @start and @end events inside [lo, hi]."""
    total, t0 = 0, None
    for t, n in ev:
        if lo <= t <= hi and n == start:
            t0 = t
        elif lo <= t <= hi and n == end and t0 is not None:
            total, t0 = total + t - t0, None
    return total


def tool(argv):
    """Runs a host tool; its exec-to-exit time."""
    t0 = now()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    t = now() - t0
    if p.returncode != 0:
        fail("%s exited with %d: %s" % (" ".join(argv), p.returncode, p.stdout.decode()))
    return t


class Bench:
    def __init__(self, ctl, up, acpi, inv):
        self.ctl, self.up, self.acpi, self.inv = ctl, up, acpi, inv
        self.figures = {}
        self.dimm_no = 0

    def record(self, figures):
        for name, value in figures.items():
            self.figures.setdefault(name, []).append(value)

    def upctl(self, *args):
        return tool([self.ctl, "--vm", self.up.vsock, "--timeout", "60"] + list(args))

    def expect_online(self, guest, want):
        got = guest.online()
        if got != want:
            fail("online CPUs of %s: %s, not %s" % (guest.dir, got, want))

    def expect_mem(self, guest, want_kb, what):
        got = guest.mem_total_kb()
        if got != want_kb:
            fail("%s: MemTotal of %s is %d kB, not %d" % (what, guest.dir, got, want_kb))

    # vCPU, upcall: QMP device_add, then upcallctl cpu add.
    def cpu_upcall(self, apic):
        slot = self.up.cpu_slots().get(apic)
        if slot is None or "qom-path" in slot:
            fail("QEMU has no free vCPU slot with APIC ID %d (raise maxcpus)" % apic)
        self.up.trace_clear()
        time.sleep(PAUSE)
        t0 = now()
        self.up.qmp.cmd("device_add", driver=slot["type"], id="bench-cpu%d" % apic,
                        **slot["props"])
        t1 = now()
        self.upctl("cpu", "add", "1", "--apic-ids", str(apic))
        t2 = now()
        ev = self.up.trace_take()
        # Logical CPUs are bound to APIC IDs in the order they come, lowest first here.
        self.expect_online(self.up, "0,%d" % apic if apic > 1 else "0-1")
        self.upctl("cpu", "del", "1", "--apic-ids", str(apic))
        self.expect_online(self.up, "0")
        req = first(ev, "req")
        rep = first(ev, "rep", req)
        return {"cpu_upcall": t2 - t0, "cpu_upcall_qmp": t1 - t0, "cpu_upcall_tool": t2 - t1,
                "cpu_upcall_guest": rep - req, "cpu_upcall_rest": t2 - t1 - (rep - req),
                "cpu_upcall_gp": spans(ev, "gp", "gp_r", req, rep),
                "cpu_upcall_bringup": spans(ev, "bu", "bu_r", req, rep)}

    # vCPU, upcall in one command: the tool makes the vCPU over QMP itself.
    def cpu_one_command(self, apic):
        args = [self.ctl, "--config", self.inv, "--vm", "g", "--timeout", "60", "cpu"]
        time.sleep(PAUSE)
        t = tool(args + ["add", "1", "--apic-ids", str(apic)])
        if "qom-path" not in self.up.cpu_slots()[apic]:
            fail("upcallctl did not make the vCPU with APIC ID %d in QEMU" % apic)
        self.expect_online(self.up, "0,%d" % apic)
        tool(args + ["del", "1", "--apic-ids", str(apic)])
        self.expect_online(self.up, "0")
        return {"cpu_one_command": t}

    # The same vCPU again: QEMU has it and the guest had it before.
    def cpu_again(self):
        time.sleep(PAUSE)
        t = self.upctl("cpu", "add", "1", "--apic-ids", "1")
        self.expect_online(self.up, "0-1")
        self.upctl("cpu", "del", "1", "--apic-ids", "1")
        return {"cpu_again": t}

    def ping(self):
        time.sleep(PAUSE)
        return {"ping": self.upctl("ping")}

    # vCPU, ACPI: QMP device_add; the guest's ACPI brings it in, the
    # waiter onlines it.
    def cpu_acpi(self):
        slots = self.acpi.cpu_slots()
        free = sorted(a for a, s in slots.items() if "qom-path" not in s)
        if not free:
            fail("no vCPU left to hot-add in the ACPI guest (raise maxcpus)")
        # Linux numbers a hot-added CPU with the lowest logical CPU never
        # used, which is the number of vCPUs QEMU has (none is removed).
        n = len(slots) - len(free)
        self.acpi.trace_clear()
        w = self.acpi.start("exec bench-hotwait cpu %d" % n)
        w.wait(b"ready")
        time.sleep(PAUSE)
        t0 = now()
        self.acpi.qmp.cmd("device_add", driver=slots[free[0]]["type"],
                          id="bench-cpu%d" % free[0], **slots[free[0]]["props"])
        t1 = now()
        w.wait(b"seen")
        t2 = now()
        w.wait(b"online")
        t3 = now()
        w.finish()
        ev = self.acpi.trace_take()
        self.expect_online(self.acpi, "0,%d" % n if n > 1 else "0-1")
        self.acpi.sh("echo 0 > /sys/devices/system/cpu/cpu%d/online" % n)
        self.expect_online(self.acpi, "0")
        sci = first(ev, "sci")
        don = first(ev, "don", sci)
        done = first(ev, "don_r", don)
        return {"cpu_acpi": t3 - t0, "cpu_acpi_qmp": t1 - t0, "cpu_acpi_seen": t2 - t0,
                "cpu_acpi_guest": done - sci, "cpu_acpi_rest": t3 - t1 - (done - sci),
                "cpu_acpi_gp": spans(ev, "gp", "gp_r", sci, done),
                "cpu_acpi_bringup": spans(ev, "bu", "bu_r", sci, done),
                "cpu_acpi_notify": don - sci,
                "cpu_acpi_notify_gp": spans(ev, "gp", "gp_r", sci, don)}

    # Untimed: one more vCPU in the ACPI guest's QEMU, which its ACPI makes
    # present (and leaves offline), so that both QEMUs always have as many
    # vCPUs as each other: the one-command rounds make a vCPU only in the
    # upcall guest's, and QEMU's own work grows with its vCPUs (a DIMM's
    # QMP commands took 3 ms with 1 vCPU and 6 ms with 21).
    def acpi_vcpu_untimed(self):
        slots = self.acpi.cpu_slots()
        free = sorted(a for a, s in slots.items() if "qom-path" not in s)
        if not free:
            fail("no vCPU left to hot-add in the ACPI guest (raise maxcpus)")
        n = len(slots) - len(free)
        self.acpi.qmp.cmd("device_add", driver=slots[free[0]]["type"],
                          id="bench-cpu%d" % free[0], **slots[free[0]]["props"])
        self.acpi.sh("i=0; while [ ! -e /sys/devices/system/cpu/cpu%d ]; do "
                     "[ $((i += 1)) -lt 1000 ] || exit 1; sleep 0.05; done" % n)

    def new_dimm(self, guest):
        """object-add and device_add of a 256 MiB DIMM; its id."""
        self.dimm_no += 1
        dimm = "bench-dimm%d" % self.dimm_no
        guest.qmp.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": dimm + "-mem",
                                       "size": DIMM})
        guest.qmp.cmd("device_add", driver="pc-dimm", id=dimm, memdev=dimm + "-mem")
        return dimm

    # DIMM, upcall: QMP object-add + device_add, its address, upcallctl mem add.
    def mem_upcall(self):
        base = self.up.mem_total_kb()
        self.up.trace_clear()
        time.sleep(PAUSE)
        t0 = now()
        dimm = self.new_dimm(self.up)
        addr = self.up.dimms()[dimm]
        t1 = now()
        self.upctl("mem", "add", "256M", "--base", "%#x" % addr)
        t2 = now()
        ev = self.up.trace_take()
        self.expect_mem(self.up, base + DIMM // 1024, "upcall mem add")
        self.upctl("mem", "del", "256M", "--base", "%#x" % addr)
        self.expect_mem(self.up, base, "upcall mem del")
        req = first(ev, "mreq")
        rep = first(ev, "mrep", req)
        return {"mem_upcall": t2 - t0, "mem_upcall_qmp": t1 - t0, "mem_upcall_tool": t2 - t1,
                "mem_upcall_guest": rep - req, "mem_upcall_rest": t2 - t1 - (rep - req),
                "mem_upcall_gp": spans(ev, "gp", "gp_r", req, rep)}

    # DIMM, ACPI: QMP object-add + device_add; the guest's ACPI adds the
    # blocks (onlined movable by the kernel), the waiter sees MemTotal grow.
    def mem_acpi(self):
        base = self.acpi.mem_total_kb()
        block = int(self.acpi.sh("cat /sys/devices/system/memory/block_size_bytes"), 16)
        # QEMU puts a DIMM at the lowest free address of its hot-plug area
        # (4 GiB here), which is free again after each round's removal.
        addr = 1 << 32
        while addr in self.acpi.dimms().values():
            addr += DIMM
        self.acpi.trace_clear()
        w = self.acpi.start("exec bench-hotwait mem %d %d" % (addr // block, base + DIMM // 1024))
        w.wait(b"ready")
        time.sleep(PAUSE)
        t0 = now()
        dimm = self.new_dimm(self.acpi)
        t1 = now()
        w.wait(b"seen")
        t2 = now()
        w.wait(b"grown")
        t3 = now()
        w.finish()
        ev = self.acpi.trace_take()
        if self.acpi.dimms().get(dimm) != addr:
            fail("QEMU put %s at %#x, not %#x" % (dimm, self.acpi.dimms().get(dimm), addr))
        self.expect_mem(self.acpi, base + DIMM // 1024, "ACPI DIMM add")
        self.acpi.qmp.cmd("device_del", id=dimm)
        deadline = time.monotonic() + TIMEOUT
        while dimm in self.acpi.dimms():
            if time.monotonic() > deadline:
                fail("the ACPI guest did not eject %s" % dimm)
            time.sleep(0.05)
        self.acpi.qmp.cmd("object-del", id=dimm + "-mem")
        self.expect_mem(self.acpi, base, "ACPI DIMM removal")
        sci = first(ev, "sci")
        add = first(ev, "amr", sci)
        done = first(ev, "amr_r", add)
        return {"mem_acpi": t3 - t0, "mem_acpi_qmp": t1 - t0, "mem_acpi_seen": t2 - t0,
                "mem_acpi_guest": done - sci, "mem_acpi_rest": t3 - t1 - (done - sci),
                "mem_acpi_gp": spans(ev, "gp", "gp_r", sci, done),
                "mem_acpi_notify": add - sci}

    def run(self, rounds):
        self.up.trace_start(UPCALL_PROBES)
        self.acpi.trace_start(ACPI_PROBES)
        # Untimed warm-up: the SMP switch, the first memory hot-add.
        self.cpu_upcall(1)
        self.cpu_acpi()
        self.mem_upcall()
        self.mem_acpi()
        for i in range(rounds):
            up = self.cpu_upcall(2 + 2 * i)
            acpi = self.cpu_acpi()
            self.record(up)
            self.record(acpi)
            self.record({"cpu_ratio": up["cpu_upcall"] / acpi["cpu_acpi"]})
            self.record(self.cpu_one_command(3 + 2 * i))
            self.acpi_vcpu_untimed()
            self.record(self.cpu_again())
            self.record(self.ping())
        for i in range(rounds):
            up = self.mem_upcall()
            acpi = self.mem_acpi()
            self.record(up)
            self.record(acpi)
            self.record({"mem_ratio": up["mem_upcall"] / acpi["mem_acpi"]})
        self.up.kernel_clean()
        self.acpi.kernel_clean()
        for name, v in self.figures.items():
            fmt = "%s %.4f %.4f %.4f" if name.endswith("_ratio") else "%s %d %d %d"
            print(fmt % (name, statistics.median(v), min(v), max(v)))


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    rounds, ctl, up, acpi, inv = int(sys.argv[1]), *sys.argv[2:]
    Bench(ctl, Guest(up), Guest(acpi), inv).run(rounds)


if __name__ == "__main__":
    main()
