#!/bin/bash
# ports/ in a real browser: a page served from a sandbox (HTML plus a
# script that fetches JSON from the same origin) opened through its preview
# URL in headless Chromium; the rendered DOM must show the fetched data.
# *.localhost resolves to loopback in Chromium itself, so no DNS set-up.
. "$(dirname "$0")/../lib/sbx.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
        # scripts/deps.sh installs it; without it this file cannot say anything.
        echo "1..0 # SKIP chromium is not installed (scripts/deps.sh installs it)"
        exit 0
fi

sbx_start -o preview=127.0.0.1:0
B=$SBX_MNT/web
timeout "$SBX_T" mkdir "$B" || bail_out "mkdir web failed"

sbx_put "$B/files/workspace/index.html" <<'HTML'
<!doctype html>
<html><head><meta charset="utf-8"><title>sbx</title></head>
<body><p id="out">loading</p>
<script>
fetch("/data.json").then(r => r.json()).then(d => {
        document.getElementById("out").textContent = "fetched:" + d.greeting + ":" + d.n;
}).catch(e => { document.getElementById("out").textContent = "error:" + e; });
</script></body></html>
HTML
printf '{"greeting": "hello-from-sandbox", "n": 42}\n' | sbx_put "$B/files/workspace/data.json"
n=$(sbx_exec web 'cd /workspace && exec python3 -m http.server --bind 127.0.0.1 8080')
like "$n" '^[0-9]+$' "an http.server runs in the sandbox ($n)"

timeout "$SBX_T" mkdir "$B/ports/8080"; ok $? "mkdir ports/8080 exposes it"
is "$(timeout 40 cat "$B/ports/8080/ready")" ready "ports/8080/ready: the server listens"
U=$(cat "$B/ports/8080/url")
like "$U" '^http://8080-web-[a-z2-7]{16}\.localhost:[0-9]+/$' "a preview url ($U)"

profile=$(mktemp -d "$SBX_TMP/chromium.XXXXXX")
dom=$(timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$profile" --virtual-time-budget=5000 \
        --dump-dom "$U" 2>"$SBX_TMP/chromium.err")
st=$?
is "$st" 0 "chromium --dump-dom of the preview url ends well"
like "$dom" 'fetched:hello-from-sandbox:42' "the rendered DOM shows the JSON the page fetched"
[ "$st" -eq 0 ] || diag "$(tail -n 5 "$SBX_TMP/chromium.err")"

# A wrong token: the same 404 for the browser as for curl.
bad=$(printf '%s' "$U" | sed 's/-[a-z2-7]\{16\}\.localhost/-aaaaaaaaaaaaaaaa.localhost/')
dom2=$(timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$profile" --dump-dom "$bad" 2>/dev/null)
unlike "$dom2" 'hello-from-sandbox' "with a wrong token the browser gets nothing of the sandbox"

done_testing
