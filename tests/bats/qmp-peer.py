#!/usr/bin/env python3
"""A scripted QMP peer on a Unix socket, to provoke the tools' failures.

    qmp-peer.py SOCKET MODE

Serves one connection after another until killed.  MODE says how it
misbehaves:

  silent         accept, say nothing
  garbage        greet with "HELLO"
  close          accept, then close at once
  refuse         a good greeting, then every command refused with an error
  hang           a good greeting and capabilities, then no answer
  closes         a good greeting and capabilities, then close at the command
  bad-id         answers that carry another id
  long-line      2 MiB without a newline for the first command
  events         a QEMU with 4 vCPUs made already, an event before each answer
  lie-apic       as events, but every vCPU says its apic-id is 7
  bad-slots      query-hotpluggable-cpus lists slots of two vCPUs each
  second-fails   vCPU 0 only; the first device_add works, the next is refused
"""
import json
import os
import socket
import sys

path, mode = sys.argv[1], sys.argv[2]
GREETING = {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}},
                    "capabilities": []}}
EVENT = {"event": "RTC_CHANGE", "data": {"offset": 0}, "timestamp": {"seconds": 1, "microseconds": 0}}


def slots(made, count=1):
    return [{"props": {"core-id": i, "thread-id": 0, "node-id": 0, "socket-id": 0},
             "vcpus-count": count, "type": "qemu64-x86_64-cpu",
             **({"qom-path": "/machine/peripheral/cpu%d" % i} if i in made else {})}
            for i in range(3, -1, -1)]


class Peer:
    def __init__(self, conn):
        self.conn, self.buf, self.adds = conn, b"", 0

    def send(self, obj):
        self.conn.sendall(json.dumps(obj).encode() + b"\r\n")

    def lines(self):
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                yield json.loads(line)
            data = self.conn.recv(65536)
            if not data:
                return
            self.buf += data

    def answer(self, cmd, args):
        """The return value for @cmd, or an error string."""
        if mode == "refuse":
            return "scripted refusal of %s" % cmd
        if cmd == "query-hotpluggable-cpus":
            made = {0} if mode == "second-fails" else {0, 1, 2, 3}
            return {"return": slots(made, 2 if mode == "bad-slots" else 1)}
        if cmd == "qom-get":
            return {"return": 7 if mode == "lie-apic" else int(args["path"][-1])}
        if cmd == "device_add":
            self.adds += 1
            return {"return": {}} if self.adds == 1 else "scripted refusal of the second vCPU"
        return "The command %s has not been found" % cmd

    def serve(self):
        if mode == "silent":
            self.conn.recv(1)
            return
        if mode == "close":
            return
        if mode == "garbage":
            self.conn.sendall(b"HELLO\r\n")
            self.conn.recv(1)
            return
        self.send(GREETING)
        for msg in self.lines():
            cmd, mid = msg.get("execute"), msg.get("id")
            if cmd == "qmp_capabilities":
                self.send({"return": {}, "id": mid})
                continue
            if mode == "hang":
                continue
            if mode == "closes":
                return
            if mode == "long-line":
                self.conn.sendall(b"x" * (2 << 20))
                continue
            if mode == "bad-id":
                self.send({"return": [], "id": mid + 100})
                continue
            if mode in ("events", "lie-apic"):
                self.send(EVENT)
            ans = self.answer(cmd, msg.get("arguments", {}))
            if isinstance(ans, str):
                ans = {"error": {"class": "GenericError", "desc": ans}}
            ans["id"] = mid
            self.send(ans)


def main():
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        try:
            Peer(conn).serve()
        except (OSError, ValueError):
            pass
        conn.close()


main()
