#!/usr/bin/env python3
"""tests/lib/fsop.py: one file-system operation, reporting the errno by name.

Prints "ok" (plus a result for reads) when every step worked, else the
symbolic errno of the first step that failed (EINVAL, EEXIST ...), and
exits 0 in both cases; exit 2 means a usage error.  Used by tests/lib/sbx.sh
(sbx_errno) so that tests can assert the exact errno of a call.

  DATA "-" means: read it from stdin.
  fsop.py write FILE DATA          open(O_WRONLY|O_TRUNC), write all, close
  fsop.py append FILE DATA         open(O_WRONLY|O_APPEND), one write, close
  fsop.py readback FILE DATA       open(O_RDWR), write DATA (if not empty),
                                   read: prints "ok <what was read>"
  fsop.py read FILE                open(O_RDONLY), read to EOF: "ok <bytes>"
  fsop.py nbread FILE              O_NONBLOCK reads from offset 0 until EOF
                                   ("ok <bytes>") or an error ("EAGAIN <bytes
                                   read before it>")
  fsop.py mkdir PATH / rmdir PATH / unlink PATH
  fsop.py truncate FILE SIZE
"""
import errno
import os
import sys


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def _write_all(fd, data):
    view = memoryview(data)
    while len(view):
        n = os.write(fd, view)
        view = view[n:]


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    op, path = argv[1], argv[2]
    arg = argv[3] if len(argv) > 3 else ""
    data = sys.stdin.buffer.read() if arg == "-" else arg.encode()
    try:
        if op in ("write", "append"):
            flags = os.O_WRONLY | (os.O_TRUNC if op == "write" else os.O_APPEND)
            fd = os.open(path, flags)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            print("ok")
        elif op == "readback":
            fd = os.open(path, os.O_RDWR)
            try:
                if data:
                    _write_all(fd, data)
                data = os.read(fd, 4096)
            finally:
                os.close(fd)
            print("ok " + data.decode(errors="replace").strip())
        elif op == "read":
            fd = os.open(path, os.O_RDONLY)
            n = 0
            try:
                while True:
                    b = os.read(fd, 65536)
                    if not b:
                        break
                    n += len(b)
            finally:
                os.close(fd)
            print("ok %d" % n)
        elif op == "nbread":
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            n = 0
            try:
                while True:
                    try:
                        b = os.read(fd, 65536)
                    except OSError as e:
                        print("%s %d" % (name(e), n))
                        return 0
                    if not b:
                        break
                    n += len(b)
            finally:
                os.close(fd)
            print("ok %d" % n)
        elif op == "mkdir":
            os.mkdir(path)
            print("ok")
        elif op == "rmdir":
            os.rmdir(path)
            print("ok")
        elif op == "unlink":
            os.unlink(path)
            print("ok")
        elif op == "truncate":
            os.truncate(path, int(arg or "0"))
            print("ok")
        else:
            print("unknown op " + op, file=sys.stderr)
            return 2
    except OSError as e:
        print(name(e))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
