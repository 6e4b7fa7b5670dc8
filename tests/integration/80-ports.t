#!/bin/bash
# ports/: services in a sandbox exposed as preview URLs through the one
# preview listener of the mount (-o preview=127.0.0.1:0 here), raw TCP
# forwards, readiness, and exposures surviving a restart of sbxfs.
# Servers run inside the sandbox (python3's standard library only); the
# clients are curl and python3 on the host.
. "$(dirname "$0")/../lib/sbx.sh"
sbx_start -o preview=127.0.0.1:0
MNT=$SBX_MNT
B=$MNT/box1
PY=$SBX_PYTHON
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir box1 failed"

# ---- servers inside the sandbox
printf 'hello from box1\n' | sbx_put "$B/files/workspace/index.html"
sbx_put "$B/files/workspace/srv.py" <<'PY'
import base64, hashlib, http.server, os, socketserver, struct, time

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/stream":           # chunked: 2nd chunk once /workspace/go exists
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            def chunk(b):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b)); self.wfile.flush()
            chunk(b"data: first\n\n")
            while not os.path.exists("/workspace/go"):
                time.sleep(0.05)
            chunk(b"data: second\n\n")
            self.wfile.write(b"0\r\n\r\n"); self.wfile.flush()
        elif self.path == "/ws":              # WebSocket echo of one frame
            key = self.headers["Sec-WebSocket-Key"]
            acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", acc.decode())
            self.end_headers(); self.wfile.flush()
            r = self.rfile
            b0, b1 = r.read(2)
            n = b1 & 0x7f
            if n == 126: n = struct.unpack(">H", r.read(2))[0]
            mask = r.read(4)
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(r.read(n)))
            self.wfile.write(bytes([0x81, len(data)]) + data); self.wfile.flush()
            self.close_connection = True
        elif self.path.startswith("/big"):
            n = int(self.path[4:] or 0)
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            blk = b"x" * 65536
            while n > 0:
                self.wfile.write(blk[:min(n, len(blk))]); n -= len(blk)
        else:
            body = b"path " + self.path.encode() + b"\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)
    def do_POST(self):                        # sha256 of the body
        n = int(self.headers["Content-Length"]); h = hashlib.sha256()
        while n > 0:
            b = self.rfile.read(min(n, 1 << 16)); h.update(b); n -= len(b)
        body = (h.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(("127.0.0.1", 8090), H).serve_forever()
PY
n1=$(sbx_exec box1 'cd /workspace && exec python3 -m http.server --bind 127.0.0.1 8080')
n2=$(sbx_exec box1 'cd /workspace && exec python3 srv.py')
like "$n1 $n2" '^[0-9]+ [0-9]+$' "two long-running servers started ($n1, $n2)"

# ---- the listener
addr=$(cat "$SBX_STATE/preview.addr")
like "$addr" '^127\.0\.0\.1:[0-9]+$' "preview.addr records the listener ($addr)"
LP=${addr##*:}

# ---- expose, url, token, readiness
is "$(ls "$B/ports")" "" "ports/ is empty at first"
check "mkdir ports/8080 exposes" timeout "$SBX_T" mkdir "$B/ports/8080"
check "mkdir ports/8090 exposes" timeout "$SBX_T" mkdir "$B/ports/8090"
is "$(ls "$B/ports" | tr '\n' ' ')" "8080 8090 " "ls ports shows what is exposed"
is "$(ls "$B/ports/8080" | tr '\n' ' ')" "ctl ready status tcp token url " "a port's files"
is "$(timeout 30 cat "$B/ports/8080/ready")" "ready" "ports/8080/ready: the server accepts"
is "$(timeout 30 cat "$B/ports/8090/ready")" "ready" "ports/8090/ready: the server accepts"
U=$(cat "$B/ports/8080/url")
T=$(cat "$B/ports/8080/token")
like "$T" '^[a-z2-7]{16}$' "a default token is 16 base32 chars (80 bits)"
is "$U" "http://8080-box1-$T.localhost:$LP/" "url is http://<port>-<box>-<token>.localhost:<listener>/"
is "$(cat "$B/ports/8080/token")" "$T" "the token stays the same"
U2=$(cat "$B/ports/8090/url")
T2=$(cat "$B/ports/8090/token")
isnt "$T2" "$T" "each port has its own token"

# ---- plain requests
is "$(curl -sS --max-time 10 "$U")" "hello from box1" "curl through the router reaches http.server in the sandbox"
is "$(curl -sS --max-time 10 "${U2}a/b?c=1")" "path /a/b?c=1" "the path and query pass unchanged"
is "$(curl -sS --max-time 10 -H "Host: 8080-BOX1-${T^^}.LOCALHOST:$LP" "http://127.0.0.1:$LP/")" \
   "hello from box1" "the Host is matched case-insensitively"
st=$(cat "$B/ports/8080/status")
like "$st" 'listening yes' "status: listening yes"
like "$st" 'connections_total [1-9]' "status: connections counted"
like "$st" 'bytes_out [1-9]' "status: bytes counted"

# ---- everything that should not route gets the same 404
code() { curl -s -o "$SBX_TMP/body" -w '%{http_code}' --max-time 10 "$@"; }
timeout "$SBX_T" mkdir "$MNT/box2" || bail_out "mkdir box2 failed"
timeout "$SBX_T" mkdir "$MNT/box2/ports/8080"
T3=$(cat "$MNT/box2/ports/8080/token")
is "$(code -H "Host: 8080-box1-wrongtoken.localhost" "http://127.0.0.1:$LP/")" 404 "wrong token: 404"
ref=$(cat "$SBX_TMP/body")
is "$(code -H "Host: 8080-box1.localhost" "http://127.0.0.1:$LP/")" 404 "no token: 404"
is "$(cat "$SBX_TMP/body")" "$ref" "the same 404 body"
is "$(code -H "Host: 8080-box1-$T3.localhost" "http://127.0.0.1:$LP/")" 404 "another sandbox's token: 404"
is "$(code -H "Host: 8080-box1-$T2.localhost" "http://127.0.0.1:$LP/")" 404 "another port's token: 404"
is "$(code -H "Host: 8081-box1-$T.localhost" "http://127.0.0.1:$LP/")" 404 "an unexposed port: 404"
is "$(code -H "Host: 8080-nosuchbox-$T.localhost" "http://127.0.0.1:$LP/")" 404 "an unknown sandbox: 404"
is "$(code -H "Host: 127.0.0.1" "http://127.0.0.1:$LP/")" 404 "no preview host: 404"
is "$(cat "$SBX_TMP/body")" "$ref" "and always the same body"
is "$(code -H "Host:" "http://127.0.0.1:$LP/")" 404 "no Host header: 404"

# ---- refusals, with a reason in events
is "$(sbx_errno mkdir "$B/ports/80")" EINVAL "port 80: EINVAL"
is "$(sbx_errno mkdir "$B/ports/70000")" EINVAL "port 70000: EINVAL"
is "$(sbx_errno mkdir "$B/ports/web")" EINVAL "port 'web': EINVAL"
is "$(sbx_errno mkdir "$B/ports/8080")" EEXIST "an exposed port again: EEXIST"
like "$(sbx_snap "$B/events")" "error ports/80: EINVAL .*1024-65535" "the reason is in events"
timeout "$SBX_T" mkdir "$B/ports/8091"
is "$(sbx_errno write "$B/ports/8091/token" 'bad-token')" EINVAL "a token with '-': EINVAL"
is "$(sbx_errno write "$B/ports/8091/token" '01234567890123456')" EINVAL "a 17-char token: EINVAL"
like "$(sbx_snap "$B/events")" "error ports/8091/token: EINVAL bad token" "the reason is in events"
check "a custom token before first use" sh -c "echo my_token_1 > '$B/ports/8091/token'"
is "$(cat "$B/ports/8091/url")" "http://8091-box1-my_token_1.localhost:$LP/" "the url uses it"
is "$(sbx_errno write "$B/ports/8091/token" 'other')" EBUSY "once used it cannot change: EBUSY"
long=box-with-a-rather-long-name-for-dns-labels-xyz
timeout "$SBX_T" mkdir "$MNT/$long" && {
        is "$(sbx_errno mkdir "$MNT/$long/ports/8080")" ENAMETOOLONG "a name too long for a 63-char label: ENAMETOOLONG"
        like "$(sbx_snap "$MNT/$long/events")" "DNS label" "with the reason in events"
        timeout "$SBX_T" rmdir "$MNT/$long"
}

# ---- large bodies both ways, keep-alive
h=$(head -c 5000000 /dev/urandom | tee "$SBX_TMP/up" | curl -sS --max-time 30 --data-binary @- "$U2")
is "$h" "$(sha256sum <"$SBX_TMP/up" | cut -d' ' -f1)" "a 5 MB upload arrives whole"
is "$(curl -sS --max-time 30 "${U2}big20000000" | wc -c)" 20000000 "a 20 MB download arrives whole"
is "$(curl -sS --max-time 10 "${U2}one" "${U2}two" | tr '\n' ' ')" "path /one path /two " \
   "two requests on one keep-alive connection"

# ---- streamed (chunked, SSE) response arrives incrementally
rm -f "$B/files/workspace/go"
sbx_bg curl -sSN --max-time 30 "${U2}stream"; cpid=$SBX_BG; cout=$SBX_BG_OUT
ok "$(wait_for 10 grep -q first "$cout"; echo $?)" "the first chunk arrives while the response is open"
sleep 0.5
ok "$(grep -q second "$cout"; [ $? -ne 0 ]; echo $?)" "the second has not (the server waits)"
: | sbx_put "$B/files/workspace/go"
ok "$(wait_for 10 grep -q second "$cout"; echo $?)" "the second chunk arrives once the server sends it"
ok "$(wait_for 10 eval '! sbx_alive '"$cpid"; echo $?)" "and the response ends"

# ---- WebSocket upgrade and one frame each way
ws=$("$PY" - "$LP" "8090-box1-$T2.localhost:$LP" <<'PY'
import base64, os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (sys.argv[2], key)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, rest = buf.split(b"\r\n\r\n", 1)
print(head.split(b"\r\n")[0].decode())
msg = b"hello over ws"; mask = os.urandom(4)
s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(msg)))
while len(rest) < 2 + len(msg):
    d = s.recv(4096)
    if not d: break
    rest += d
print(rest[2:2 + rest[1]].decode())
PY
)
like "$ws" '^HTTP/1.1 101' "WebSocket: 101 Switching Protocols through the router"
like "$ws" 'hello over ws$' "WebSocket: a frame echoed back"

# ---- concurrency
seq 60 | xargs -P 60 -I{} curl -s --max-time 30 "${U}" >"$SBX_TMP/conc" 2>/dev/null
is "$(grep -c 'hello from box1' "$SBX_TMP/conc")" 60 "60 concurrent requests all answered"
seq 60 | xargs -P 60 -I{} curl -s --max-time 30 "${U2}c{}" >"$SBX_TMP/conc2" 2>/dev/null
is "$(grep -c '^path /c' "$SBX_TMP/conc2")" 60 "60 concurrent requests to a threaded server all answered"

# ---- raw TCP forward
is "$(cat "$B/ports/8080/tcp")" "" "tcp is empty while no forward is on"
check "echo tcp > ctl starts a forward" sh -c "echo tcp > '$B/ports/8080/ctl'"
fw=$(cat "$B/ports/8080/tcp")
like "$fw" '^127\.0\.0\.1:[0-9]+$' "tcp shows the host loopback address ($fw)"
is "$(curl -sS --max-time 10 "http://$fw/")" "hello from box1" "the forward reaches the port inside (no Host needed)"
like "$(cat "$B/ports/8080/status")" "tcp $fw" "status shows the forward"
is "$(sbx_errno write "$B/ports/8080/ctl" 'bogus')" EINVAL "an unknown ctl command: EINVAL"

# ---- readiness of a port nobody listens on yet
timeout "$SBX_T" mkdir "$B/ports/8095"
like "$(cat "$B/ports/8095/status")" 'listening no' "status: listening no"
timeout 1 cat "$B/ports/8095/ready" >/dev/null 2>&1
is "$?" 124 "ready blocks while nothing listens"
sbx_bg timeout 30 cat "$B/ports/8095/ready"; rpid=$SBX_BG; rout=$SBX_BG_OUT
sleep 0.3
sbx_exec box1 'cd /workspace && exec python3 -m http.server --bind 127.0.0.1 8095' >/dev/null
ok "$(wait_for 20 eval '! sbx_alive '"$rpid"; echo $?)" "a blocked ready read returns once the server listens"
is "$(cat "$rout")" "ready" "with 'ready'"

# ---- survives a restart of sbxfs
sbx_remount -o preview=127.0.0.1:0 || bail_out "remount failed"
addr2=$(cat "$SBX_STATE/preview.addr")
LP2=${addr2##*:}
is "$(ls "$B/ports" | tr '\n' ' ')" "8080 8090 8091 8095 " "the exposures are back after a restart"
is "$(cat "$B/ports/8080/token")" "$T" "with their tokens"
U=$(cat "$B/ports/8080/url")
is "$U" "http://8080-box1-$T.localhost:$LP2/" "the url has the new listener's port"
is "$(curl -sS --max-time 10 "$U")" "hello from box1" "and answers"
fw2=$(cat "$B/ports/8080/tcp")
like "$fw2" '^127\.0\.0\.1:[0-9]+$' "the tcp forward is back ($fw2)"
is "$(curl -sS --max-time 10 "http://$fw2/")" "hello from box1" "and works"

# ---- unexpose: 404 from then on, open connections cut
U2=$(cat "$B/ports/8090/url")
rm -f "$B/files/workspace/go"
sbx_bg curl -sSN --max-time 30 "${U2}stream"; cpid=$SBX_BG; cout=$SBX_BG_OUT
wait_for 10 grep -q first "$cout"
check "rmdir ports/8090 unexposes" timeout "$SBX_T" rmdir "$B/ports/8090"
ok "$(wait_for 10 eval '! sbx_alive '"$cpid"; echo $?)" "an open streamed response is cut"
is "$(code "$U2")" 404 "the URL answers 404 from then on"
check "rmdir ports/8080" timeout "$SBX_T" rmdir "$B/ports/8080"
is "$(code "$U")" 404 "ports/8080's URL answers 404"
ok "$(curl -s --max-time 3 "http://$fw2/" >/dev/null; [ $? -ne 0 ]; echo $?)" "its tcp forward is closed"
is "$(ls "$B/ports" | tr '\n' ' ')" "8091 8095 " "ls ports no longer shows them"
is "$(sbx_errno rmdir "$B/ports/8090")" ENOENT "rmdir of an unexposed port: ENOENT"
like "$(sbx_snap "$B/events")" "port 8090 unexposed" "events record the unexpose"

done_testing
