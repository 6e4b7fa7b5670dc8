#!/usr/bin/env python3
"""Host-side bait for the escape suite (tests/security/net.t).

    listen.py tcp ADDR DIR       TCP listener on ADDR, a random port
    listen.py udp ADDR DIR       UDP socket on ADDR, a random port
    listen.py abstract NAME DIR  unix stream listener on the abstract name NAME

Writes DIR/port (the port, or the name) once it listens, then counts every
connection or datagram it gets in DIR/hits (one line each: what arrived).
A sandbox must never reach it: the test asserts DIR/hits stays empty.
The test kills it by pid (DIR/pid).
"""
import os
import socket
import sys


def main():
    kind, where, d = sys.argv[1], sys.argv[2], sys.argv[3]
    hits = open(os.path.join(d, "hits"), "a", buffering=1)
    if kind == "tcp":
        fam = socket.AF_INET6 if ":" in where else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((where, 0))
        s.listen(16)
        name = str(s.getsockname()[1])
    elif kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((where, 0))
        name = str(s.getsockname()[1])
    elif kind == "abstract":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind("\0" + where)
        s.listen(16)
        name = where
    else:
        sys.exit("unknown kind " + kind)
    with open(os.path.join(d, "pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    tmp = os.path.join(d, "port.tmp")
    with open(tmp, "w") as f:
        f.write(name + "\n")
    os.rename(tmp, os.path.join(d, "port"))
    while True:
        if kind == "udp":
            data, peer = s.recvfrom(4096)
            hits.write("udp %r %r\n" % (peer, data[:40]))
            continue
        c, peer = s.accept()
        c.settimeout(1)
        try:
            data = c.recv(64)
        except OSError:
            data = b""
        hits.write("%s %r %r\n" % (kind, peer, data[:40]))
        c.close()


if __name__ == "__main__":
    main()
