#!/usr/bin/env python3
"""Raw upcall client for the guest tests: query requests, service-byte
timing, and a fuzzer.  Speaks hybrid vsock on a Unix socket (CONNECT
<port> / OK <n>), then the device manager service, byte for byte.

  upcall-raw.py --vm SOCK query-cpus          online CPUs, one APIC ID a line
  upcall-raw.py --vm SOCK query-mem           hot-added ranges, "BASE SIZE" in hex
  upcall-raw.py --vm SOCK list mmio|pci START [--pad P]
                                              one QUERY_MMIO/QUERY_PCI page: prints
                                              "ret R size S total T start S count C",
                                              then one entry a line
  upcall-raw.py --vm SOCK arm64-cpu add|del N an aarch64 ADD/DEL_CPU (a count);
                                              prints "ret R cpu_id I"
  upcall-raw.py --vm SOCK service BYTE        send one service byte; print the
                                              seconds until the guest closes
  upcall-raw.py --vm SOCK silent              send nothing; same timing
  upcall-raw.py --vm SOCK hold                the whole handshake, then no
                                              request; same timing
  --ready FILE (before the command): create FILE once connected (silent:
  the VMM's OK; hold, service: the handshake done)
  upcall-raw.py --vm SOCK fuzz [--count N] [--seed S]
      Malformed frames of every kind; every reply must be a well-formed
      refusal.  Prints a summary; exits 1 on any unexpected reply.
  upcall-raw.py --vm SOCK mmio add|del BASE SIZE IRQ [--count N]
      one ADD_MMIO/DEL_MMIO, N times on one connection; prints each ret
  upcall-raw.py --vm SOCK mmio-storm --iomem FILE [--virtio BASE]... [--count N] [--seed S]
      Well-formed ADD_MMIO/DEL_MMIO in hostile orders, windows around every
      boundary of FILE (the guest's /proc/iomem); only windows at a --virtio
      BASE may be added.  Removes what it added; exits 1 on any unexpected
      reply.
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

MAGIC = 0x444D0100
FRAME = 1024
HDR = struct.Struct("<IIII")
ADD_CPU, DEL_CPU, ADD_MEM, DEL_MEM, ADD_MMIO, DEL_MMIO, ADD_PCI, DEL_PCI = range(1, 9)
QUERY_CPUS, QUERY_MEM, QUERY_MMIO, QUERY_PCI = 0x100, 0x101, 0x102, 0x103
SIZES = {ADD_CPU: 258, DEL_CPU: 258, ADD_MEM: 16, DEL_MEM: 16, ADD_MMIO: 24,
         DEL_MMIO: 24, ADD_PCI: 2, DEL_PCI: 2, QUERY_CPUS: 0, QUERY_MEM: 0,
         QUERY_MMIO: 8, QUERY_PCI: 8}
EINVAL, EPROTO, EOPNOTSUPP = 22, 71, 95


class Conn:
    def __init__(self, path, port=219, service=b"d", timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n") and len(line) < 64:
            c = self.s.recv(1)
            if not c:
                raise ConnectionError("the VMM side closed during the handshake")
            line += c
        if not line.startswith(b"OK "):
            raise ConnectionError("handshake reply %r" % line)
        if service is not None:
            self.s.sendall(service)
        if service == b"d":
            hdr = HDR.unpack_from(self.recv_exact(FRAME))
            if hdr != (MAGIC, 0, 0, 0):
                raise ConnectionError("bad CONNECT frame %r" % (hdr,))

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            d = self.s.recv(n - len(buf))
            if not d:
                raise ConnectionError("guest closed after %d of %d bytes" % (len(buf), n))
            buf += d
        return buf

    def request(self, frame):
        self.s.sendall(frame)
        rep = self.recv_exact(FRAME)
        magic, size, mtype, flags = HDR.unpack_from(rep)
        ret = struct.unpack_from("<i", rep, 16)[0]
        return magic, size, mtype, flags, ret, rep[20:20 + min(size, FRAME - 20)], rep

    def close(self):
        self.s.close()


def frame(mtype, payload=b"", size=None, magic=MAGIC, flags=0):
    size = len(payload) if size is None else size
    f = HDR.pack(magic, size & 0xffffffff, mtype & 0xffffffff, flags) + payload
    return f + bytes(FRAME - len(f))


def query(conn, mtype):
    magic, size, rtype, _, ret, payload, _ = conn.request(frame(mtype))
    if magic != MAGIC or rtype != mtype or ret != 0:
        sys.exit("query 0x%x: magic 0x%x type 0x%x ret %d" % (mtype, magic, rtype, ret))
    return payload


def cmd_query_cpus(args):
    p = query(Conn(args.vm), QUERY_CPUS)
    n = struct.unpack_from("<I", p)[0]
    for i in range(n):
        print(p[4 + i])


def cmd_query_mem(args):
    p = query(Conn(args.vm), QUERY_MEM)
    n = struct.unpack_from("<I", p)[0]
    for i in range(n):
        base, size = struct.unpack_from("<QQ", p, 8 + 16 * i)
        print("0x%x 0x%x" % (base, size))


def cmd_list(args):
    mtype = QUERY_MMIO if args.what == "mmio" else QUERY_PCI
    magic, size, rtype, _, ret, p, _ = Conn(args.vm).request(
        frame(mtype, struct.pack("<II", args.start, args.pad)))
    if magic != MAGIC or rtype != mtype:
        sys.exit("list %s: magic 0x%x type 0x%x" % (args.what, magic, rtype))
    if ret or size < 16:
        print("ret %d size %d" % (ret, size))
        return
    total, start, count, _ = struct.unpack_from("<IIII", p)
    print("ret %d size %d total %d start %d count %d" % (ret, size, total, start, count))
    for i in range(count):
        if mtype == QUERY_MMIO:
            base, length, irq, pad = struct.unpack_from("<QQII", p, 16 + 24 * i)
            print("0x%x 0x%x %d %d" % (base, length, irq, pad))
        else:
            seg, bus, devfn, ven, dev, flags, pad, cls = struct.unpack_from("<IBBHHBBI", p, 16 + 16 * i)
            print("%04x:%02x:%02x.%d %04x:%04x %06x %d %d" % (seg, bus, devfn >> 3, devfn & 7,
                                                           ven, dev, cls, flags, pad))


def cmd_arm64_cpu(args):
    mtype = ADD_CPU if args.op == "add" else DEL_CPU
    magic, size, rtype, _, ret, payload, _ = Conn(args.vm).request(
        frame(mtype, bytes([args.count])))
    if magic != MAGIC or rtype != mtype or size not in (0, 4):
        sys.exit("cpu %s: magic 0x%x type 0x%x size %d" % (args.op, magic, rtype, size))
    print("ret %d cpu_id %s" % (ret, struct.unpack_from("<I", payload)[0] if size else "-"))


def time_to_close(conn, ready=None):
    if ready:
        open(ready, "w").close()
    t0 = time.monotonic()
    try:
        while conn.s.recv(4096):
            pass
    except OSError:
        pass
    print("%.1f" % (time.monotonic() - t0))


def cmd_service(args):
    time_to_close(Conn(args.vm, service=bytes([int(args.byte, 0)])), args.ready)


def cmd_silent(args):
    time_to_close(Conn(args.vm, service=None), args.ready)


def cmd_hold(args):
    time_to_close(Conn(args.vm), args.ready)


class Fuzzer:
    """Every frame here must be refused: nothing in the guest may change."""

    def __init__(self, path, rng):
        self.path = path
        self.rng = rng
        self.conn = None
        self.sent = self.checked = self.dropped = 0
        self.bad = []

    def connect(self):
        if self.conn is None:
            self.conn = Conn(self.path)
        return self.conn

    def drop(self):
        if self.conn:
            self.conn.close()
        self.conn = None
        self.dropped += 1

    def expect_refusal(self, f, errnos=None, what=""):
        mtype = HDR.unpack_from(f)[2]
        magic, size, rtype, flags, ret, payload, rep = self.connect().request(f)
        self.sent += 1
        cpu = mtype in (ADD_CPU, DEL_CPU)
        ok = (magic == MAGIC and rtype == mtype and flags == 0 and ret < 0 and
              size == (4 if cpu else 0) and (errnos is None or -ret in errnos) and
              not any(rep[20 + size:]))
        if ok:
            self.checked += 1
        elif len(self.bad) < 20:
            self.bad.append("%s type 0x%x: reply magic 0x%x size %d type 0x%x ret %d"
                            % (what, mtype, magic, size, rtype, ret))

    def rand_bytes(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def random_frame(self):
        f = bytearray(self.rand_bytes(FRAME))
        if self.rng.random() < 0.5:
            struct.pack_into("<I", f, 8, self.rng.choice(list(SIZES) + [0, 9, 0xffff]))
        return bytes(f)

    def case_random(self):
        f = self.random_frame()
        # A random magic is refused before anything else looks at the frame.
        if HDR.unpack_from(f)[0] != MAGIC:
            self.expect_refusal(f, {EPROTO}, "random")

    def case_wrong_magic(self):
        t = self.rng.choice(list(SIZES))
        magic = self.rng.choice([0, 0x444D0101, 0x00014D44, MAGIC ^ (1 << self.rng.randrange(32))])
        self.expect_refusal(frame(t, self.rand_bytes(SIZES[t]), magic=magic), {EPROTO}, "magic")

    def case_wrong_size(self):
        t = self.rng.choice(list(SIZES))
        want = SIZES[t]
        size = self.rng.choice([want + 1, want - 1 if want else 1, 1, 1008, 1009,
                                0x7fffffff, 0xffffffff, 1 if want == 2 else 2])
        if size != want:
            self.expect_refusal(frame(t, bytes(min(size, FRAME - 16)), size=size), {EINVAL}, "size")

    def case_flags(self):
        t = self.rng.choice(list(SIZES))
        self.expect_refusal(frame(t, bytes(SIZES[t]), flags=1 << self.rng.randrange(32)),
                            {EINVAL}, "flags")

    def case_unknown_type(self):
        t = self.rng.choice([0, 9, 10, 0xff, 0x104, 0xffffffff, self.rng.getrandbits(32)])
        if t not in SIZES:
            self.expect_refusal(frame(t, bytes(8), size=self.rng.choice([0, 8])),
                                {EOPNOTSUPP, EINVAL}, "type")

    def case_cpu(self):
        t = self.rng.choice([ADD_CPU, DEL_CPU])
        kind = self.rng.randrange(3)
        if kind == 0:       # count 0
            p = bytes([0, 0x14]) + self.rand_bytes(256)
        elif kind == 1:     # duplicates
            ids = [self.rng.randrange(256)] * 2 + list(self.rand_bytes(253))
            p = bytes([255, 0x14]) + bytes(ids) + b"\0"
        else:               # IDs no CPU has (the test VM has APIC IDs 0..3)
            ids = self.rng.sample(range(64, 256), self.rng.randrange(1, 150))
            p = bytes([len(ids), 0x14]) + bytes(ids) + bytes(256 - len(ids))
        self.expect_refusal(frame(t, p), {EINVAL, 19}, "cpu")

    def case_mem(self):
        t = self.rng.choice([ADD_MEM, DEL_MEM])
        base, size = self.rng.choice([
            (0xffffffffffff0000, 0x20000),          # wraps
            (0x20000000, 0xffffffffffffffff),       # wraps
            (0x20000000, 0),                        # empty
            (0x20000000 + 4096, 0x8000000),         # unaligned base
            (0x20000000, 0x8000000 + 4096),         # unaligned size
            (self.rng.getrandbits(64) | 1, self.rng.getrandbits(64) | 1),
            (1 << 60, 1 << 27),                     # beyond what can be plugged
        ])
        if base + size > 0xffffffffffffffff and size and base:
            errs = {EINVAL}
        else:
            errs = {EINVAL, 34, 2}
        self.expect_refusal(frame(t, struct.pack("<QQ", base, size)), errs, "mem")

    def case_mmio(self):
        t = self.rng.choice([ADD_MMIO, DEL_MMIO])
        base, size, irq = self.rng.choice([
            (0xfffffffffffff000, 0x2000, 5),         # wraps
            (0xd0000000, 0, 5),                      # empty
            (0xd0000000, 0x1000, 0),                 # no IRQ
            (0xd0000000, 0x1000, 1020 + self.rng.randrange(1 << 20)),
            (0x100000, 0x1000, 5),                   # inside RAM
        ])
        self.expect_refusal(frame(t, struct.pack("<QQII", base, size, irq, 0)),
                            {EINVAL, 2}, "mmio")

    def case_truncated(self):
        self.connect().s.sendall(self.random_frame()[:self.rng.randrange(1, FRAME)])
        self.drop()

    def case_abandon(self):
        """A valid query whose reply nobody reads."""
        self.connect().s.sendall(frame(QUERY_CPUS))
        self.drop()

    def case_flood(self):
        """Many frames without reading a reply, then hang up."""
        c = self.connect()
        try:
            c.s.sendall(b"".join(self.random_frame() for _ in range(self.rng.randrange(2, 64))))
        except OSError:
            pass
        self.drop()

    def case_short_lived(self):
        """Connections that end before or right after the service byte."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        s.sendall(self.rng.choice([b"", b"CONNECT 219\n", b"CONNECT 219\nd", b"CONNECT 219\nx"]))
        s.close()
        self.dropped += 1

    def run(self, count):
        cases = [(self.case_random, 20), (self.case_wrong_magic, 10), (self.case_wrong_size, 20),
                 (self.case_flags, 5), (self.case_unknown_type, 5), (self.case_cpu, 10),
                 (self.case_mem, 10), (self.case_mmio, 10), (self.case_truncated, 2),
                 (self.case_abandon, 1), (self.case_flood, 1), (self.case_short_lived, 2)]
        funcs = [f for f, _ in cases]
        weights = [w for _, w in cases]
        while self.sent + self.dropped < count:
            self.rng.choices(funcs, weights)[0]()
        if self.conn:
            self.conn.close()


def cmd_fuzz(args):
    fz = Fuzzer(args.vm, random.Random(args.seed))
    t0 = time.monotonic()
    fz.run(args.count)
    print("fuzz: seed %d, %d frames answered (%d well-formed refusals), %d connections cut, %.1f s"
          % (args.seed, fz.sent, fz.checked, fz.dropped, time.monotonic() - t0))
    for b in fz.bad:
        print("unexpected: " + b)
    return 1 if fz.bad else 0


def mmio_request(conn, mtype, base, size, irq):
    magic, rsize, rtype, flags, ret, _, rep = conn.request(
        frame(mtype, struct.pack("<QQII", base, size, irq, 0)))
    if magic != MAGIC or rtype != mtype or flags or rsize or any(rep[20:]):
        sys.exit("mmio 0x%x 0x%x %d: reply magic 0x%x type 0x%x size %d"
                 % (base, size, irq, magic, rtype, rsize))
    return ret


def cmd_mmio(args):
    conn = Conn(args.vm)
    mtype = ADD_MMIO if args.op == "add" else DEL_MMIO
    for _ in range(args.count):
        print(mmio_request(conn, mtype, int(args.base, 0), int(args.size, 0), int(args.irq, 0)))


ENOENT, EBUSY, EEXIST, ENODEV = 2, 16, 17, 19


class MmioStorm:
    """A model of what the guest must answer: only a window at a virtio base
    can be added, one overlapping a live window is -EEXIST, a shape other than
    a naturally aligned power of two from 0x200 to 0x1000 is -EINVAL, DEL
    succeeds exactly for a live window and is -ENOENT otherwise."""

    def __init__(self, path, rng, iomem, virtio):
        self.conn = Conn(path)
        self.rng = rng
        self.virtio = set(virtio)
        self.live = set()
        self.replies = {}
        self.bad = []
        edges = set(virtio)
        for line in iomem.splitlines():
            span, _, _ = line.strip().partition(" : ")
            start, _, end = span.partition("-")
            if start and end:
                edges.update((int(start, 16), int(end, 16) + 1))
        self.bases = sorted(e + d for e in edges if e < 1 << 48
                            for d in (-0x1000, -0x400, -0x200, -0x100, 0, 0x100, 0x200, 0x400)
                            if e + d > 0)

    @staticmethod
    def shape_ok(base, size):
        return size in (0x200, 0x400, 0x800, 0x1000) and base % size == 0

    def overlaps_live(self, base, size):
        return any(b < base + size and base < b + s for b, s, _ in self.live)

    def send(self, op, base, size, irq):
        ret = mmio_request(self.conn, ADD_MMIO if op == "add" else DEL_MMIO, base, size, irq)
        self.replies[ret] = self.replies.get(ret, 0) + 1
        return ret

    def expect(self, ok, what):
        if not ok and len(self.bad) < 20:
            self.bad.append(what)

    def add(self, base, size, irq):
        ret = self.send("add", base, size, irq)
        what = "add 0x%x 0x%x %d: %d" % (base, size, irq, ret)
        if not self.shape_ok(base, size):
            self.expect(ret == -EINVAL, what)
        elif self.overlaps_live(base, size):
            self.expect(ret == -EEXIST, what)
        elif base in self.virtio:
            self.expect(ret == 0, what)
        else:
            self.expect(ret in (-EINVAL, -EBUSY, -ENODEV), what)
        if ret == 0:
            self.live.add((base, size, irq))

    def delete(self, base, size, irq):
        ret = self.send("del", base, size, irq)
        self.expect(ret == (0 if (base, size, irq) in self.live else -ENOENT),
                    "del 0x%x 0x%x %d: %d" % (base, size, irq, ret))
        self.live.discard((base, size, irq))

    def step(self):
        r = self.rng
        if self.live and r.random() < 0.3:
            base, size, irq = r.choice(sorted(self.live))
            if r.random() < 0.2:
                irq += 1                    # same window, other IRQ
            self.delete(base, size, irq)
            return
        if r.random() < 0.75:
            size = r.choice([0x200, 0x400, 0x800, 0x1000])
        else:
            size = r.choice([0x100, 0x300, 0x2000, 0x10000, 1 << 20, 1 << 30])
        if r.random() < 0.25:
            base = r.choice(sorted(self.virtio)) + r.choice([0, 0, 0x200, 0x800])
        else:
            base = r.choice(self.bases)
            if r.random() < 0.7:
                base -= base % size     # aligned, so it gets past the shape check
        if r.random() < 0.2:
            self.delete(base, size, 5)      # DEL before (or without) ADD
        else:
            self.add(base, size, 5)

    def run(self, count):
        for _ in range(count):
            self.step()
        for base, size, irq in sorted(self.live):
            self.delete(base, size, irq)
        self.conn.close()


def cmd_mmio_storm(args):
    with open(args.iomem) as f:
        st = MmioStorm(args.vm, random.Random(args.seed), f.read(), [int(v, 0) for v in args.virtio])
    st.run(args.count)
    print("mmio-storm: seed %d, %d requests, replies %s"
          % (args.seed, sum(st.replies.values()),
             " ".join("%d:%d" % kv for kv in sorted(st.replies.items()))))
    for b in st.bad:
        print("unexpected: " + b)
    return 1 if st.bad else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vm", required=True, help="hybrid vsock Unix socket")
    p.add_argument("--ready", help="file to create once connected")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("query-cpus")
    sub.add_parser("query-mem")
    sub.add_parser("silent")
    sub.add_parser("hold")
    lp = sub.add_parser("list")
    lp.add_argument("what", choices=("mmio", "pci"))
    lp.add_argument("start", type=int)
    lp.add_argument("--pad", type=int, default=0)
    c = sub.add_parser("arm64-cpu")
    c.add_argument("op", choices=("add", "del"))
    c.add_argument("count", type=int)
    s = sub.add_parser("service")
    s.add_argument("byte")
    f = sub.add_parser("fuzz")
    f.add_argument("--count", type=int, default=2000)
    f.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little"))
    m = sub.add_parser("mmio")
    m.add_argument("op", choices=("add", "del"))
    m.add_argument("base")
    m.add_argument("size")
    m.add_argument("irq")
    m.add_argument("--count", type=int, default=1)
    ms = sub.add_parser("mmio-storm")
    ms.add_argument("--iomem", required=True)
    ms.add_argument("--virtio", action="append", default=[])
    ms.add_argument("--count", type=int, default=300)
    ms.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little"))
    args = p.parse_args()
    return {"query-cpus": cmd_query_cpus, "query-mem": cmd_query_mem, "silent": cmd_silent, "hold": cmd_hold,
            "arm64-cpu": cmd_arm64_cpu, "list": cmd_list,
            "service": cmd_service, "fuzz": cmd_fuzz, "mmio": cmd_mmio,
            "mmio-storm": cmd_mmio_storm}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
