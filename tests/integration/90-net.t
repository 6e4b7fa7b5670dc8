#!/bin/bash
# Network egress policy (docs/trust-levels.md, "Network"): net none leaves
# nothing; net allow + allow/deny rules through the supervisor's proxy on
# the sandbox's 127.0.0.1:3128 (HTTP forward and CONNECT); refusals get 403
# with the reason, an events line and the note network-blocked; quotas;
# live changes; bad rules refused.  The only server is the test's own, on
# the host's loopback (python3 -m http.server), killed by pid at the end.
. "$(dirname "$0")/../lib/sbx.sh"
sbx_start
MNT=$SBX_MNT
B=$MNT/box1
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir box1 failed"

# ---- the host-side server
WWW=$SBX_TMP/www
mkdir -p "$WWW"
echo hello-net >"$WWW/hello.txt"
head -c 300000 /dev/zero >"$WWW/big.bin"
PORT=$("$SBX_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sbx_bg "$SBX_PYTHON" -m http.server --bind 127.0.0.1 --directory "$WWW" "$PORT"
SRV=$SBX_BG
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$PORT/hello.txt" || bail_out "test server did not start"

cfgw() { printf '%s\n' "$@" | sbx_put "$B/config"; }
out() { timeout "$SBX_T" cat "$B/execs/$SBX_N/stdout"; }
met() { timeout "$SBX_T" cat "$B/execs/$SBX_N/metrics"; }
events() { sbx_snap "$B/events"; }
code() { printf 'rm -f /tmp/body; curl -s -m 10 -o /tmp/body -w "%%{http_code}\\n" %s; cat /tmp/body' "$*"; }
# CONNECT refused: curl reports the proxy's answer as http_connect, and
# shows no body; --proxy-fail... is not there, so ask with -v
tcode() { printf 'curl -s -v -m 10 -p -o /dev/null %s 2>&1 | grep -E "^< HTTP/1.1 [0-9]+" | sed "s/^< HTTP\/1.1 //"' "$*"; }

# ---- net none (medium's default): no proxy in the env, nothing leaves
like "$(timeout "$SBX_T" cat "$B/config")" '^net none$' "a new medium sandbox has net none"
sbx_run box1 "env | grep -ci proxy; curl -sS -m 5 http://api.test:$PORT/hello.txt; echo rc=\$?"
like "$(out)" '^0$' "net none: no *_proxy variables in the exec's env"
like "$(out)" 'rc=[1-9]' "net none: curl to a name fails"
sbx_run box1 "curl -sS -m 5 --noproxy '*' http://1.2.3.4/ 2>&1; echo rc=\$?"
like "$(out)" 'rc=7' "a direct connection to the outside fails fast (no route)"
like "$SBX_STATUS" 'network-blocked' "and the exec's status carries network-blocked"
sbx_run box1 "$(code -x http://127.0.0.1:3128 http://api.test/hello.txt)"
like "$(out)" '^403' "net none: even asking the proxy directly gives 403"
like "$(out)" 'net none' "the 403 body names the reason"

# ---- net allow with a pinned name
cfgw 'net allow' "allow api.test=127.0.0.1:$PORT"
is "$?" 0 "write net allow + allow api.test=127.0.0.1:$PORT"
c=$(timeout "$SBX_T" cat "$B/config")
like "$c" '^net allow$' "config shows net allow"
like "$c" "^allow api.test=127.0.0.1:$PORT\$" "config shows the allow rule"
sbx_run box1 'curl -sS -m 10 http://api.test/hello.txt'
is "$SBX_STATUS" "exited 0" "curl http://api.test/ with no flags: exited 0"
is "$(out)" hello-net "the allowed name reaches the host's server through the proxy"
m=$(met)
like "$m" '^net_requests 1$' "exec metrics: net_requests 1"
like "$m" '^net_blocked 0$' "exec metrics: net_blocked 0"
like "$m" '^net_bytes_in [1-9][0-9]*$' "exec metrics: net_bytes_in > 0"
like "$m" '^net_bytes_out [1-9][0-9]*$' "exec metrics: net_bytes_out > 0"
sbx_run box1 'curl -sS -m 10 -p http://api.test/hello.txt'
is "$(out)" hello-net "a CONNECT tunnel (curl -p) reaches it too"
is "$SBX_STATUS" "exited 0" "CONNECT: exited 0"
sbx_run box1 '/usr/bin/python3 -c "import urllib.request as u; print(u.urlopen(\"http://api.test/hello.txt\", timeout=10).read().decode().strip())"'
is "$(out)" hello-net "python3 urllib works with no extra settings"
sbx_run box1 'env | grep -E "^(HTTP_PROXY|https_proxy|NO_PROXY)=" | sort'
is "$(out)" $'HTTP_PROXY=http://127.0.0.1:3128\nNO_PROXY=localhost,127.0.0.1,::1\nhttps_proxy=http://127.0.0.1:3128' \
        "net allow: the proxy variables are set"

# ---- refusals
blocked() {     # NAME SCRIPT REASON-REGEX EVENT-REGEX
        local n0
        n0=$(events | grep -c ' net blocked ')
        sbx_run box1 "$2"
        like "$(out)" '^403' "$1: HTTP 403"
        like "$(out)" "$3" "$1: the body says why"
        like "$SBX_STATUS" '^exited 0 network-blocked$' "$1: the exec goes on, with the note network-blocked"
        like "$(met)" '^net_blocked [1-9]' "$1: net_blocked in the exec's metrics"
        ok "$(wait_for 5 eval '[ "$(events | grep -c " net blocked ")" -gt "$n0" ]'; echo $?)" \
                "$1: an events line is written"
        like "$(events | grep ' net blocked ' | tail -n 1)" "$4" "$1: the events line names host and reason"
}
blocked "a name not on the list" "$(code http://other.test/)" 'other.test is not on the allow list' \
        'net blocked GET other.test:80: other.test is not on the allow list'
blocked "a raw IP" "$(code --noproxy "''" http://127.0.0.1:$PORT/hello.txt)" 'not on the allow list' \
        "net blocked GET 127.0.0.1:$PORT"
blocked "a CONNECT to a name not on the list" "$(tcode http://nothere.test/)" '^403 Forbidden' \
        'net blocked CONNECT nothere.test:80: nothere.test is not on the allow list'

cfgw "allow api.test:80=127.0.0.1:$PORT" "allow *.corp.test=127.0.0.1:$PORT" 'deny secret.corp.test'
sbx_run box1 "$(code http://ok.corp.test/hello.txt)"
like "$(out)" $'^200\nhello-net' "*.corp.test matches ok.corp.test"
blocked "a denied name" "$(code http://secret.corp.test/hello.txt)" "denied by rule 'deny secret.corp.test'" \
        'secret.corp.test:80: denied'
blocked "a different port" "$(code http://api.test:8080/hello.txt)" 'port 8080 of api.test is not allowed' \
        'api.test:8080'
sbx_run box1 "$(code http://api.test/hello.txt)"
like "$(out)" $'^200\nhello-net' "the same name on its allowed port still works"

# ---- the host's loopback needs an explicit rule
cfgw 'net all' 'allow none'
like "$(timeout "$SBX_T" cat "$B/config")" '^net all$' "net all"
unlike "$(timeout "$SBX_T" cat "$B/config")" '^allow ' "allow none empties the list"
blocked "net all: the host's loopback" "$(code --noproxy "''" http://127.0.0.1:$PORT/hello.txt)" \
        'internal address' "127.0.0.1:$PORT: 127.0.0.1 is an internal address"
blocked "net all: a name resolving to loopback" "$(code --noproxy "''" http://localhost:$PORT/hello.txt)" \
        'internal address' "localhost:$PORT"
cfgw 'net allow' "allow 127.0.0.1:$PORT"
sbx_run box1 "$(code --noproxy "''" http://127.0.0.1:$PORT/hello.txt)"
like "$(out)" $'^200\nhello-net' "allow 127.0.0.1:PORT names the host's loopback explicitly: reachable"

# ---- quotas
cfgw 'net allow' "allow api.test=127.0.0.1:$PORT" 'max_requests 2'
sbx_run box1 "$(code http://api.test/hello.txt); $(code http://api.test/hello.txt); $(code http://api.test/hello.txt)"
like "$(out)" $'^200\nhello-net\n200\nhello-net\n403' "max_requests 2: the third request is refused"
like "$(out)" 'max_requests 2 used up' "the body says max_requests"
like "$SBX_STATUS" 'network-blocked' "max_requests: network-blocked"
like "$(met)" '^net_requests 2$' "max_requests: the exec made 2 requests"
cfgw 'max_requests max' 'max_bytes 10K'
sbx_run box1 "curl -s -m 10 -o /tmp/big http://api.test/big.bin; echo rc=\$?; wc -c </tmp/big; $(code http://api.test/hello.txt)"
unlike "$(out)" '^300000$' "max_bytes 10K: a 300000-byte download is cut"
like "$(out)" 'max_bytes 10240 used up' "max_bytes: the next request is refused with the reason"
like "$SBX_STATUS" 'network-blocked' "max_bytes: network-blocked"
like "$(events | grep ' net blocked ' | tail -n 2 | head -n 1)" 'max_bytes 10240 used up \(connection cut\)' \
        "max_bytes: the cut is in events"
cfgw 'max_bytes max'

# ---- live change: applies to the next connection of a running exec
rm -f "$MNT/box1/files/workspace/go"
printf '%s\n' "$(code http://api.test/hello.txt); while [ ! -e /workspace/go ]; do sleep 0.1; done; $(code http://api.test/hello.txt)" \
        | sbx_put "$B/ctl/exec"
N=$(timeout "$SBX_T" readlink "$B/execs/last"); N=${N##*/}
ok "$(wait_for 15 eval 'timeout 2 cat "$B/execs/$N/stdout" | grep -q hello-net'; echo $?)" "live: the first request goes through"
cfgw 'deny api.test'
touch "$MNT/box1/files/workspace/go"
SBX_N=$N; SBX_STATUS=$(timeout "$SBX_WAIT_T" cat "$B/execs/$N/wait")
like "$(out)" $'^200\nhello-net\n403' "live: after 'deny api.test' the same exec's next request is refused"
like "$SBX_STATUS" 'network-blocked' "live: network-blocked"
cfgw 'deny none'

# ---- bad rules: EINVAL, old policy stays
c0=$(timeout "$SBX_T" cat "$B/config")
for bad in 'net maybe' 'allow bad..name' 'allow api.test:99999' 'allow api.test:0' 'deny x.test=1.2.3.4' \
           'allow api.test=notanip' 'allow *.1.2.3.4' 'allow http://api.test/' 'allow a_b$' \
           'max_requests 0' 'max_requests lots' 'max_bytes lots' $'allow ok.test\nallow -bad.test'; do
        is "$(sbx_errno write "$B/config" "$bad")" EINVAL "config '${bad//$'\n'/\\n}': EINVAL"
        is "$(timeout "$SBX_T" cat "$B/config")" "$c0" "and the config is unchanged"
done
sbx_run box1 "$(code http://api.test/hello.txt)"
like "$(out)" $'^200\nhello-net' "the old policy still works after the refusals"

# ---- sandbox totals
m=$(timeout "$SBX_T" cat "$B/metrics")
for k in net_requests net_blocked net_bytes_in net_bytes_out; do
        like "$m" "^$k [1-9][0-9]*\$" "sandbox metrics: $k > 0"
done

# ---- back to none: nothing leaves again
cfgw 'net none'
sbx_run box1 "env | grep -ci proxy; $(code -x http://127.0.0.1:3128 http://api.test/hello.txt)"
like "$(out)" $'^0\n403' "net none again: no proxy env, and the proxy refuses"

kill "$SRV" 2>/dev/null
done_testing
