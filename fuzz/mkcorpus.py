#!/usr/bin/env python3
"""Write the seed corpus of every fuzz harness into fuzz/corpus/<harness>/.

Seeds are well-formed inputs (and a few near misses) for each harness's
input format, so fuzzing starts deep in the code.  Re-run after changing
an input format; the output is deterministic.
"""
import json
import os
import shutil
import struct

MAGIC = 0x444D0100
TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x100, 0x101, 0x1234, 0x102, 0x103]  # fuzz-reply's order
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def hdr(typ, size, magic=MAGIC, flags=0):
    return struct.pack("<IIII", magic, size, typ, flags)


def reply(typ, ret=0, payload=b"", size=None, magic=MAGIC):
    size = len(payload) if size is None else size
    return hdr(typ, size, magic) + struct.pack("<i", ret) + payload


def reply_seeds():
    t = TYPES.index
    yield "add-cpu-ok", bytes([t(1), 2]) + reply(1, 0, struct.pack("<I", 2))
    yield "add-cpu-partial", bytes([t(1), 3]) + reply(1, -5, struct.pack("<I", 1))
    yield "del-cpu-refused", bytes([t(2), 1]) + reply(2, -22, size=0)
    yield "add-cpu-lie", bytes([t(1), 1]) + reply(1, 0, struct.pack("<I", 2))
    yield "add-mem-ok", bytes([t(3), 0]) + reply(3, 0)
    yield "bad-magic", bytes([t(5), 0]) + reply(5, 0, magic=0x444D0200)
    yield "wrong-type", bytes([t(7), 0]) + reply(8, 0)
    yield "huge-size", bytes([t(8), 0]) + reply(8, 0, size=0xFFFFFFF0)
    cpus = struct.pack("<I", 3) + bytes([0, 1, 2]) + bytes(253)
    yield "query-cpus", bytes([t(0x100), 0]) + reply(0x100, 0, cpus)
    yield "query-cpus-overflow", bytes([t(0x100), 0]) + reply(0x100, 0, struct.pack("<I", 300) + bytes(256))
    mem = struct.pack("<II", 2, 0) + struct.pack("<QQ", 1 << 32, 1 << 30) + struct.pack("<QQ", 5 << 30, 1 << 28)
    yield "query-mem", bytes([t(0x101), 0]) + reply(0x101, 0, mem)
    yield "query-mem-short", bytes([t(0x101), 0]) + reply(0x101, 0, struct.pack("<II", 5, 0))
    mmio = struct.pack("<QQII", 0xD0000000, 0x1000, 5, 0) + struct.pack("<QQII", 0xD0001000, 0x200, 6, 0)
    yield "query-mmio", bytes([t(0x102), 0]) + reply(0x102, 0, struct.pack("<IIII", 2, 0, 2, 0x811C9DC5) + mmio)
    yield "query-mmio-page2", bytes([t(0x102), 41]) + reply(0x102, 0, struct.pack("<IIII", 43, 41, 2, 7) + mmio)
    yield "query-mmio-stuck", bytes([t(0x102), 0]) + reply(0x102, 0, struct.pack("<IIII", 3, 0, 0, 7))
    pci = struct.pack("<IBBHHBBI", 0, 0, 0x18, 0x1AF4, 0x1000, 1, 0, 0x020000)
    pci += struct.pack("<IBBHHBBI", 0, 1, 0, 0x8086, 0x29C0, 0, 0, 0x060000)
    yield "query-pci", bytes([t(0x103), 0]) + reply(0x103, 0, struct.pack("<IIII", 2, 0, 2, 9) + pci)
    yield "query-pci-short", bytes([t(0x103), 0]) + reply(0x103, 0, struct.pack("<IIII", 2, 0, 2, 9) + pci[:20])
    yield "query-pci-unknown", bytes([t(0x103), 0]) + reply(0x103, -1)
    yield "connect", bytes([t(0), 0]) + hdr(0, 0)


def okline_seeds():
    for name, s in [("ok", b"OK 1073741824\n"), ("ok-max", b"OK 4294967295\n"),
                    ("ok-over", b"OK 4294967296\n"), ("ok-empty", b"OK \n"),
                    ("ok-zeros", b"OK 00000000000000000007\n"), ("hello", b"HELLO\n"),
                    ("no-lf", b"OK 12"), ("crlf", b"OK 12\r\n")]:
        yield name, s


def target_seeds():
    for i, (sel, s) in enumerate([(0, "/run/vm.sock"), (0, "unix:/tmp/a.sock"), (0, "vsock:3"),
                                  (0, "vsock:3:219"), (128, "vsock:1:1024"), (0, "vsock:0x10:0x20"),
                                  (0, "vsock:2"), (0, "unix:"), (0, "/" + "x" * 110),
                                  (1, "128M"), (1, "0x8000000"), (1, "1GiB"), (1, "16E"),
                                  (2, "0,1,4"), (2, "1,1"), (2, "255,0x10"),
                                  (3, "00:03.0"), (3, "0000:ff:1f.7"), (3, "0001:00:00.0")]):
        sel = sel if sel >= 128 else sel % 4
        yield "t%02d" % i, bytes([sel]) + s.encode()


INVENTORY = """vms:
  web1:
    target: /run/vm.sock
    arch: x86_64
    boot_vcpu_count: 2
    max_vcpu_count: 12
    topology: {threads_per_core: 2, cores_per_die: 3, dies_per_socket: 1, sockets: 2}
    apic_ver: 0x14
    vmm: {qmp: /run/vm.qmp}
    memory:
      block_size: 128M
      regions:
        - {base: 0x100000000, size: 2G}
        - {base: 0x200000000, size: 1G}
  db:
    target: vsock:3:219
    max_vcpu_count: 4
"""


def inventory_seeds():
    yield "full", INVENTORY.encode()
    yield "empty", b""
    yield "minimal", b"vms:\n  web1: {target: /run/vm.sock}\n"
    yield "unknown-key", b"vms:\n  web1: {target: /run/vm.sock, cpus: 4}\n"
    yield "bad-topology", b"vms:\n  web1: {target: /a, max_vcpu_count: 255, topology: {threads_per_core: 3, sockets: 200}}\n"
    yield "anchors", b"x: &a {target: /a}\nvms:\n  web1: *a\n"
    yield "twice", b"vms:\n  web1: {target: /a}\n  web1: {target: /b}\n"
    yield "vmm-shared", b"vms:\n  web1: {target: /a, vmm: {qmp: /q}}\n  web2: {target: /b, vmm: {qmp: /q}}\n"


RECORD = """# State record of VM vm, shared by the upcall tools.
---
vm: vm
target: "unix:/run/vm.sock"
identity: "unix:/run/vm.sock dev=2049 ino=1234 ctime=1700000000.000000000"
cpus: [0, 1, 2, 5]
memory:
- {base: 0x100000000, size: 0x40000000}
- {base: 0x140000000, size: 0x10000000}
vmm:
  vcpus: [0, 1, 2, 3, 5]
  dimms:
  - {id: "upcall-dimm0", base: 0x100000000, size: 0x40000000}
  - {id: "", base: 0x140000000, size: 0x10000000}
pending: "add vCPUs 3, 4"
...
"""


def state_seeds():
    yield "record", RECORD.encode()
    # as written since the identity names the socket's inode and birth time
    # and the target keeps bytes that are not UTF-8 as \\xNN
    yield "record-born", (RECORD.replace('"unix:/run/vm.sock"', '"unix:/run/vm\\\\xff.sock"')
                          .replace("unix:/run/vm.sock dev=2049 ino=1234 ctime=1700000000.000000000",
                                   "unix dev=2049 ino=1234 born=1700000000.000000000")).encode()
    yield "empty-lists", b"cpus: []\nmemory: []\n"
    yield "overlap", b"memory:\n- {base: 0x1000, size: 0x2000}\n- {base: 0x2000, size: 0x1000}\n"
    yield "wrap", b"memory:\n- {base: 0xfffffffffffff000, size: 0x2000}\n"
    yield "bad-cpu", b"cpus: [0, 256]\n"
    yield "utf8", "pending: \"add \u00e9\u00e9 vCPUs\"\n".encode()
    yield "not-a-map", b"- 1\n- 2\n"
    yield "vmm-overlap", b"vmm:\n  dimms:\n  - {id: a, base: 0x1000, size: 0x2000}\n  - {id: b, base: 0x2000, size: 0x1000}\n"


def qmp_lines(*msgs):
    return b"".join(json.dumps(m).encode() + b"\r\n" for m in msgs)


def qmp_slot(core, made):
    s = {"props": {"core-id": core, "thread-id": 0, "node-id": 0, "socket-id": 0},
         "vcpus-count": 1, "type": "qemu64-x86_64-cpu"}
    if made:
        s["qom-path"] = "/machine/peripheral/cpu%d" % core
    return s


def qmp_seeds():
    # the client's commands, in order: capabilities (1), query-hotpluggable-cpus (2),
    # qom-get of APIC ID 1 (3), device_add of APIC ID 2 (4), query-memory-devices (5),
    # then for the DIMM query-memory-devices (6), qom-list (7), object-add (8),
    # device_add (9), query-memory-devices (10)
    greet = {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}}
    dimm = {"type": "dimm", "data": {"id": "upcall-dimm0", "addr": 1 << 32, "size": 128 << 20,
                                     "memdev": "/objects/upcall-mem0", "slot": 0}}
    answers = [{}, [qmp_slot(c, c <= 1) for c in (3, 2, 1, 0)], 1, {}, [], [], [], {}, {}, [dimm]]
    ok = [{"return": a, "id": i + 1} for i, a in enumerate(answers)]
    event = {"event": "ACPI_DEVICE_OST", "data": {}, "timestamp": {"seconds": 1, "microseconds": 2}}
    yield "session", qmp_lines(greet, *ok)
    yield "session-events", qmp_lines(greet, *[m for a in ok for m in (event, a)])
    err = {"error": {"class": "GenericError", "desc": "Duplicate device ID 'upcall-cpu2'"}, "id": 4}
    yield "refused", qmp_lines(greet, *ok[:3], err)
    yield "bad-apic", qmp_lines(greet, *ok[:2], {"return": 7, "id": 3})
    yield "greeting-only", qmp_lines(greet)
    yield "garbage", b"HELLO\r\n"


def request(typ, payload=b"", fixed=True):
    if fixed:
        return bytes([1, TYPES.index(typ) if typ in TYPES else 11]) + payload
    size = len(payload)
    return bytes([0]) + hdr(typ, size) + payload


def cpu_payload(ids, ver=0x14):
    return bytes([len(ids), ver]) + bytes(ids) + bytes(256 - len(ids))


def request_seeds():
    # config: x86_64, 128M blocks (4K << 15), max 8 vCPUs, boot 1, no faults
    x86 = bytes([15 << 2, 7, 0, 0])
    arm = bytes([1 | 15 << 2, 7, 1, 0])
    mem = struct.pack("<QQ", 1 << 32, 1 << 27)
    mmio = struct.pack("<QQII", 0xd0000000, 0x1000, 5, 0)
    pci = bytes([0, 0x18])
    yield "x86-cpu", x86 + request(1, cpu_payload([1, 2])) + request(0x100) + request(2, cpu_payload([2]))
    yield "x86-mem", x86 + request(3, mem) + request(0x101) + request(4, mem)
    yield "x86-mmio", x86 + request(5, mmio) + request(5, mmio) + request(6, mmio)
    yield "x86-pci", x86 + request(8, pci) + request(7, pci) + request(8, pci)
    yield "x86-raw", x86 + request(1, cpu_payload([3, 3]), fixed=False) + request(0x55, b"", fixed=False)
    yield "arm-cpu", arm + request(1, bytes([2])) + request(2, bytes([1])) + request(0x100)
    yield "faults", bytes([15 << 2, 255, 0, 2 | 8]) + request(1, cpu_payload([1, 2, 3])) + request(3, mem)
    yield "fail-cpu", bytes([15 << 2, 255, 0, 2]) + request(1, cpu_payload([1, 2, 3])) + request(2, cpu_payload([1]))
    yield "no-query", bytes([2 | 15 << 2, 7, 0, 0]) + request(0x100) + request(0x101)
    page = struct.pack("<II", 0, 0)
    yield "x86-lists", x86 + request(5, mmio) + request(0x102, page) + request(7, pci) + request(0x103, page) + \
        request(0x103, struct.pack("<II", 1, 0)) + request(0x102, struct.pack("<II", 0, 1))


SEEDS = {
    "fuzz-reply": reply_seeds, "fuzz-okline": okline_seeds, "fuzz-target": target_seeds,
    "fuzz-inventory": inventory_seeds, "fuzz-state": state_seeds, "fuzz-request": request_seeds,
    "fuzz-qmp": qmp_seeds,
}

for harness, gen in SEEDS.items():
    d = os.path.join(ROOT, harness)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in gen():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
