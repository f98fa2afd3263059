#!/usr/bin/env python3
"""#5's ACPI side: QMP device_add of a vCPU, then onlining it in the guest.

  acpi.py QMP_SOCK EXEC_SOCK ROUNDS

Each round hot-adds the unplugged vCPU with the lowest APIC ID.  Before the
request, a command already runs in the guest (through tests/guest's bridge)
waiting for the CPU's sysfs directory (every 1-1.5 ms) and writing 1 to its
"online" file, then saying "online"; the time is from just before QMP
device_add is sent until that word arrives on the host; the time until
the guest has seen the CPU's directory is reported too.  The guest's
waiting loop starts 0.3 s before the request, untimed.  Prints the median
and the worst, and the median until seen, in nanoseconds.  After each
round the CPU is taken offline again, untimed (it stays present), so every
round starts from one online CPU, as each upcall round does.
"""
import json
import socket
import struct
import sys
import time


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.s.sendall(json.dumps({"execute": name, "arguments": args}).encode())
        while True:
            reply = json.loads(self.f.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                sys.exit("acpi.py: %s: %s" % (name, reply["error"]["desc"]))


def guest_start(exec_sock, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(exec_sock)
    s.sendall(command.encode())
    s.shutdown(socket.SHUT_WR)
    return s


class Output:
    """The data frames of an exec channel, as they arrive."""

    def __init__(self, sock):
        self.s, self.buf, self.out = sock, bytearray(), b""

    def wait(self, word):
        while word not in self.out:
            data = self.s.recv(65536)
            if not data:
                sys.exit("acpi.py: the guest command ended without %r: %r" % (word, self.out))
            self.buf += data
            while self.buf[:1] == b"D" and len(self.buf) >= 5:
                n = struct.unpack_from("<I", self.buf, 1)[0]
                if len(self.buf) < 5 + n:
                    break
                self.out += bytes(self.buf[5:5 + n])
                del self.buf[:5 + n]
            if self.buf[:1] == b"X" and len(self.buf) >= 5 and word not in self.out:
                sys.exit("acpi.py: the guest command exited without %r: %r" % (word, self.out))


def main():
    qmp_sock, exec_sock, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    qmp = Qmp(qmp_sock)
    times, seen = [], []
    for i in range(rounds):
        free = [c for c in qmp.cmd("query-hotpluggable-cpus") if "qom-path" not in c]
        if not free:
            sys.exit("acpi.py: no vCPU left to hot-add (raise maxcpus)")
        # The lowest free slot, as an operator adds CPUs: QEMU lists the
        # free ones highest first, and its userspace APIC (TCG) delivers a
        # logical-destination IPI only to APICs below the first unused APIC
        # ID.  Linux sends IPIs in logical mode when it has at most 8
        # possible CPUs (flat APIC routing), so a CPU added above a gap
        # gets none: each synchronous IPI of the online (three for the
        # text patching of a static key) waits until the new CPU leaves
        # idle on its own, for its 4 s watchdog timer: about 12 s.
        cpu = min(free, key=lambda c: [c["props"].get(k, 0) for k in
                                       ("socket-id", "die-id", "core-id", "thread-id")])
        # Linux numbers a hot-added CPU with the lowest free number.
        online = qmp.cmd("query-cpus-fast")
        n = len(online)
        path = "/sys/devices/system/cpu/cpu%d/online" % n
        # read -t on a FIFO sleeps without a fork (a fork costs ms in TCG
        # and a polling fork loop starves the guest's ACPI work).
        s = guest_start(exec_sock, "[ -p /tmp/w ] || mkfifo /tmp/w; exec 3<>/tmp/w; "
                        "while [ ! -e %s ]; do read -t 0.001 -u 3 x; done; echo seen; "
                        "echo 1 > %s && echo online" % (path, path))
        out = Output(s)
        time.sleep(0.3)
        t0 = time.monotonic_ns()
        qmp.cmd("device_add", driver=cpu["type"], id="acpi%d" % i, **cpu["props"])
        out.wait(b"seen")
        seen.append(time.monotonic_ns() - t0)
        out.wait(b"online")
        times.append(time.monotonic_ns() - t0)
        s.close()
        # Untimed: back to one online CPU, as each upcall round starts.
        Output(guest_start(exec_sock, "echo 0 > %s && echo offline" % path)).wait(b"offline")
    times.sort()
    seen.sort()
    print(times[len(times) // 2], times[-1], seen[len(seen) // 2])


if __name__ == "__main__":
    main()
