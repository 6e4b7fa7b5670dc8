#!/usr/bin/env python3
# tests/bench/net_helper.py: helper of tests/bench/net.sh (stdlib only).
#   serve PORT            HTTP/1.1 keep-alive server on 127.0.0.1:PORT:
#                         /big<N> N bytes of zeros in 1 MiB sends, anything
#                         else a small (6-byte) body
#   rate HOST PORT HOSTHDR PATH N
#                         N GETs over one keep-alive connection; prints req/s
import http.client, http.server, socketserver, sys, time

def serve(port):
    blk = memoryview(bytes(1 << 20))
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True   # header and body are two writes
        def log_message(self, *a): pass
        def do_GET(self):
            if self.path.startswith("/big"):
                n = int(self.path[4:] or 0)
                self.send_response(200)
                self.send_header("Content-Length", str(n))
                self.end_headers()
                self.wfile.flush()
                s = self.connection
                while n > 0:
                    k = min(n, len(blk))
                    s.sendall(blk[:k])
                    n -= k
            else:
                body = b"small\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128
    S(("127.0.0.1", port), H).serve_forever()

def rate(host, port, hosthdr, path, n):
    c = http.client.HTTPConnection(host, port, timeout=30)
    hdr = {"Host": hosthdr}
    for _ in range(3):               # warm-up, opens the connection
        c.request("GET", path, headers=hdr); c.getresponse().read()
    t0 = time.monotonic()
    for _ in range(n):
        c.request("GET", path, headers=hdr)
        r = c.getresponse(); r.read()
        if r.status != 200:
            sys.exit("status %d" % r.status)
    dt = time.monotonic() - t0
    print("%.1f" % (n / dt))

if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "serve":
        serve(int(a[1]))
    elif a[0] == "rate":
        rate(a[1], int(a[2]), a[3], a[4], int(a[5]))
    else:
        sys.exit("usage")
