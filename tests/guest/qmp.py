#!/usr/bin/env python3
"""A small QMP client for the guest tier: what a VMM does around upcall.

    qmp.py SOCK COMMAND [JSON-ARGS]   run one QMP command, print its return as JSON
    qmp.py SOCK cpu-add APIC_ID       create the vCPU with that APIC ID (or find
                                      the one QEMU already has); print its APIC ID
    qmp.py SOCK dimm-add ID SIZE      a memory-backend-ram and a pc-dimm named ID
                                      of SIZE (256M, 1G, bytes); print its address

A QMP error is printed with its class and description, exit status 1.
"""
import json
import socket
import sys

TIMEOUT = 30
TOPOLOGY = ("socket-id", "die-id", "core-id", "thread-id")


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(TIMEOUT)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        if "QMP" not in self.read():
            raise QmpError("no QMP greeting on %s" % path)
        self.cmd("qmp_capabilities")

    def read(self):
        line = self.f.readline()
        if not line:
            raise QmpError("QEMU closed the QMP socket")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                err = reply["error"]
                raise QmpError("%s: %s: %s" % (name, err.get("class"), err.get("desc")))
            # anything else is an asynchronous event


def bits(count):
    """Width of an APIC ID field for COUNT ids, as QEMU lays them out."""
    return (count - 1).bit_length()


def apic_id_of(props, counts):
    """QEMU's x86 APIC ID of a slot: socket | die | core | thread fields."""
    apic, shift = 0, 0
    for key in reversed(TOPOLOGY):
        apic |= props.get(key, 0) << shift
        shift += bits(counts[key])
    return apic


def cpu_add(qmp, want):
    slots = qmp.cmd("query-hotpluggable-cpus")
    counts = {k: 1 + max(s["props"].get(k, 0) for s in slots) for k in TOPOLOGY}
    match = [s for s in slots if apic_id_of(s["props"], counts) == want]
    if not match:
        raise QmpError("no vCPU slot has APIC ID %d" % want)
    slot = match[0]
    path = slot.get("qom-path")
    if path is None:
        dev = "cpu-apic%d" % want
        qmp.cmd("device_add", driver=slot["type"], id=dev, **slot["props"])
        path = "/machine/peripheral/" + dev
    got = qmp.cmd("qom-get", path=path, property="apic-id")
    if got != want:
        raise QmpError("the vCPU at %s has APIC ID %d, not %d" % (path, got, want))
    return got


def size_bytes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1:].upper() in units:
        return int(text[:-1], 0) * units[text[-1].upper()]
    return int(text, 0)


def dimm_add(qmp, dimm, size):
    mem = dimm + "-mem"
    qmp.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": mem,
                             "size": size_bytes(size)})
    qmp.cmd("device_add", driver="pc-dimm", id=dimm, memdev=mem)
    for dev in qmp.cmd("query-memory-devices"):
        data = dev.get("data", {})
        if data.get("id") == dimm:
            return data["addr"]
    raise QmpError("query-memory-devices does not list %s" % dimm)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    sock, command, args = argv[1], argv[2], argv[3:]
    try:
        qmp = Qmp(sock)
        if command == "cpu-add" and len(args) == 1:
            print(cpu_add(qmp, int(args[0], 0)))
        elif command == "dimm-add" and len(args) == 2:
            print("%#x" % dimm_add(qmp, args[0], args[1]))
        elif len(args) <= 1:
            params = json.loads(args[0]) if args else {}
            print(json.dumps(qmp.cmd(command, **params)))
        else:
            sys.exit(__doc__)
    except (OSError, ValueError, QmpError) as e:
        sys.exit("qmp.py: %s" % e)


if __name__ == "__main__":
    main(sys.argv)
