#!/usr/bin/env python3
"""Stand in for a guest on native AF_VSOCK: listen on a vsock port and
relay each connection to upcall-stub's hybrid vsock socket (sending its
"CONNECT <port>" line and swallowing the "OK" answer), so that a client
of vsock:CID:PORT talks to the stub as to a guest's upcall driver.

  vsock-relay.py probe PORT
      exit 0 if this host connects to itself over vsock (loopback, CID 1),
      else print why and exit 1
  vsock-relay.py serve PORT STUB_SOCKET READY_FILE
      relay until killed; READY_FILE is created once listening

"serve" also takes "unix:PATH" for PORT, to check the relay without vsock.
"""
import os
import socket
import sys
import threading


def listener(spec):
    if spec.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(spec[5:])
    else:
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        s.bind((socket.VMADDR_CID_ANY, int(spec)))
    s.listen(8)
    return s


def probe(port):
    try:
        ls = listener(port)
        c = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        c.settimeout(2)
        c.connect((1, int(port)))
        ls.settimeout(2)
        ls.accept()[0].close()
        c.close()
        ls.close()
    except (OSError, AttributeError) as e:
        print("no vsock loopback on this host (%s)" % e)
        return 1
    return 0


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(conn, stub_path):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(stub_path)
        up.sendall(b"CONNECT 219\n")
        line = b""
        while not line.endswith(b"\n"):
            c = up.recv(1)
            if not c:
                raise OSError("the stub closed during CONNECT")
            line += c
        if not line.startswith(b"OK "):
            raise OSError("the stub answered %r" % line)
    except OSError:
        conn.close()
        up.close()
        return
    t = threading.Thread(target=pump, args=(up, conn), daemon=True)
    t.start()
    pump(conn, up)
    t.join()
    conn.close()
    up.close()


def serve(port, stub_path, ready):
    ls = listener(port)
    open(ready, "w").close()
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=relay, args=(conn, stub_path), daemon=True).start()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "probe":
        return probe(sys.argv[2])
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        return serve(*sys.argv[2:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
