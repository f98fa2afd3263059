#!/usr/bin/env python3
"""Host side of the test guest's one byte stream (a QEMU chardev socket).

The stream carries channels; upcall-relay (relay.c) is the guest side.
Every message, both ways: op (u8), channel (u8), length (u16 LE), payload.
Ops: 1 open an upcall channel, 2 open an exec channel (payload: command),
3 data, 4 close, 5 exec exit status (i32 LE), 6 hello ("UPCALLMX", sent
once by the relay when it starts).  A channel id is reused only after the
guest's close for it, which the guest always sends exactly once.

  bridge.py serve --chardev PATH --upcall PATH --exec PATH --ready FILE
      Connect to QEMU's chardev, wait for the relay's hello, then serve:
      every client of --upcall is a hybrid vsock connection into the
      guest, exactly as a VMM's Unix socket (CONNECT <port> / OK <n>);
      every client of --exec runs one command in the guest.
  bridge.py exec --sock PATH [--timeout SEC] COMMAND
      Run COMMAND in the guest, print its output, exit with its status.
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

OPEN_UPCALL, OPEN_EXEC, DATA, CLOSE, EXIT, HELLO = 1, 2, 3, 4, 5, 6
HELLO_FRAME = bytes([HELLO, 0, 8, 0]) + b"UPCALLMX"
MAX_PAYLOAD = 4096


class Session:
    def __init__(self, sock, kind):
        self.sock = sock
        self.kind = kind
        self.guest_closed = False


class Bridge:
    def __init__(self, chardev):
        self.chardev = chardev
        self.wlock = threading.Lock()
        self.lock = threading.Lock()
        self.chans = {}

    def send(self, op, ch, payload=b""):
        with self.wlock:
            self.chardev.sendall(struct.pack("<BBH", op, ch, len(payload)) + payload)

    def open_channel(self, sock, kind, payload=b""):
        with self.lock:
            free = [c for c in range(1, 256) if c not in self.chans]
            if not free:
                return None
            sess = Session(sock, kind)
            self.chans[free[0]] = sess
            self.send(OPEN_EXEC if kind == "exec" else OPEN_UPCALL, free[0], payload)
            return free[0], sess

    def host_closed(self, ch, sess):
        with self.lock:
            if not sess.guest_closed:
                self.send(CLOSE, ch)

    def guest_frame(self, op, ch, payload):
        sess = self.chans.get(ch)
        if sess is None:
            return
        if op == CLOSE:
            with self.lock:
                sess.guest_closed = True
                del self.chans[ch]
            try:
                sess.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            if sess.kind == "exec" and op == DATA:
                sess.sock.sendall(b"D" + struct.pack("<I", len(payload)) + payload)
            elif sess.kind == "exec" and op == EXIT:
                sess.sock.sendall(b"X" + payload)
            elif op == DATA:
                sess.sock.sendall(payload)
        except OSError:
            pass  # the client left; the guest side closes on our CLOSE

    def read_loop(self, buf):
        while True:
            while len(buf) >= 4:
                op, ch, n = struct.unpack_from("<BBH", buf)
                if len(buf) < 4 + n:
                    break
                self.guest_frame(op, ch, bytes(buf[4:4 + n]))
                del buf[:4 + n]
            data = self.chardev.recv(65536)
            if not data:
                os._exit(0)  # QEMU went away
            buf += data

    def serve_upcall(self, sock):
        opened = self.open_channel(sock, "upcall")
        if opened is None:
            sock.close()
            return
        ch, sess = opened
        try:
            while True:
                data = sock.recv(MAX_PAYLOAD)
                if not data:
                    break
                self.send(DATA, ch, data)
        except OSError:
            pass
        self.host_closed(ch, sess)
        sock.close()

    def serve_exec(self, sock):
        cmd = b""
        while True:
            data = sock.recv(MAX_PAYLOAD)
            if not data:
                break
            cmd += data
        if not cmd or len(cmd) > MAX_PAYLOAD or self.open_channel(sock, "exec", cmd) is None:
            sock.close()


def listen(path):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(64)
    return s


def accept_loop(lsock, handler):
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def wait_hello(chardev, timeout):
    """Skip anything the guest wrote before the relay started."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while HELLO_FRAME not in buf:
        chardev.settimeout(max(0.1, deadline - time.monotonic()))
        data = chardev.recv(65536)
        if not data:
            sys.exit("bridge: QEMU closed the stream before the guest relay started")
        buf += data
    chardev.settimeout(None)
    return buf[buf.index(HELLO_FRAME) + len(HELLO_FRAME):]


def serve(args):
    deadline = time.monotonic() + args.timeout
    chardev = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        try:
            chardev.connect(args.chardev)
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("bridge: no chardev socket at " + args.chardev)
            time.sleep(0.05)
    try:
        rest = wait_hello(chardev, deadline - time.monotonic())
    except socket.timeout:
        sys.exit("bridge: the guest relay did not start")
    bridge = Bridge(chardev)
    for path, handler in ((args.upcall, bridge.serve_upcall), (args.exec, bridge.serve_exec)):
        threading.Thread(target=accept_loop, args=(listen(path), handler), daemon=True).start()
    with open(args.ready, "w") as f:
        f.write("%d\n" % os.getpid())
    bridge.read_loop(bytearray(rest))


def run_exec(args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    buf = bytearray()
    code = 255
    try:
        s.connect(args.sock)
        s.sendall(args.command.encode())
        s.shutdown(socket.SHUT_WR)
        while True:
            data = s.recv(65536)
            if not data:
                break
            buf += data
            while buf[:1] == b"D" and len(buf) >= 5:
                n = struct.unpack_from("<I", buf, 1)[0]
                if len(buf) < 5 + n:
                    break
                sys.stdout.buffer.write(buf[5:5 + n])
                del buf[:5 + n]
            if buf[:1] == b"X" and len(buf) >= 5:
                code = struct.unpack_from("<i", buf, 1)[0]
                del buf[:5]
    except socket.timeout:
        sys.stderr.write("bridge exec: timed out after %g s\n" % args.timeout)
        code = 124
    except OSError as e:
        sys.stderr.write("bridge exec: %s\n" % e)
    sys.stdout.flush()
    return code


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--chardev", required=True)
    s.add_argument("--upcall", required=True)
    s.add_argument("--exec", required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--timeout", type=float, default=180)
    e = sub.add_parser("exec")
    e.add_argument("--sock", required=True)
    e.add_argument("--timeout", type=float, default=120)
    e.add_argument("command")
    args = p.parse_args()
    if args.cmd == "serve":
        serve(args)
        return 0
    return run_exec(args)


if __name__ == "__main__":
    sys.exit(main())
