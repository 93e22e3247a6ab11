#!/usr/bin/env bash
# Scale benchmark: one full poll cycle over 2,000 sources served by a local
# upstream (loopback only), spread over 20 loopback hosts (127.0.0.1-20),
# with a mix of answers: 200 with an ETag, 304 on the second cycle, errors.
#
#   bash benches/scale.sh                 # 2000 sources, 20 hosts, 100 ms spacing
#   SOURCES=500 SPACING=50ms bash benches/scale.sh
#
# Reports, for a cold and a warm cycle: wall time, the politeness bound
# (sources per host x spacing), peak memory (max RSS) and store size.
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCES=${SOURCES:-2000}
HOSTS=${HOSTS:-20}
SPACING=${SPACING:-100ms}

command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
# shellcheck source=benches/prelude.sh
source benches/prelude.sh

port=$(free_port)
# The upstream: /feed/N answers, by N: 80% a small RSS feed with an ETag
# (304 when asked with it), 10% HTTP 500, 5% 404, 5% an HTML error page.
cat > "$work/upstream.py" <<'PY'
import sys, http.server, socketserver
ITEMS = 10
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        n = int(self.path.rsplit("/", 1)[1])
        kind = n % 20
        if kind in (0, 1):
            return self.reply(500, b"oops", "text/plain")
        if kind == 2:
            return self.reply(404, b"gone", "text/plain")
        if kind == 3:
            return self.reply(200, b"<!DOCTYPE html><html><body>maintenance</body></html>", "text/html")
        etag = f'"f{n}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304); self.send_header("ETag", etag); self.send_header("Content-Length", "0"); self.end_headers(); return
        items = "".join(f"<item><title>Feed {n} item {i}</title><link>https://example.org/{n}/{i}</link><description>Text of item {i} of feed {n}.</description><pubDate>Wed, 07 Oct 2026 10:{i:02d}:00 GMT</pubDate></item>" for i in range(ITEMS))
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>f{n}</title><link>https://example.org/</link><description>d</description>{items}</channel></rss>'.encode()
        self.reply(200, body, "application/rss+xml", etag)
    def reply(self, code, body, ctype, etag=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if etag: self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512
S(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
PY
python3 "$work/upstream.py" "$port" & pids+=($!)
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done

mkdir -p "$work/feeds"
python3 - "$work/feeds/scale.toml" "$SOURCES" "$HOSTS" "$SPACING" "$port" <<'PY'
import sys
path, sources, hosts, spacing, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
out = []
for h in range(1, hosts + 1):
    out.append(f'[[host]]\nname = "127.0.0.{h}"\nmin_spacing = "{spacing}"\nmax_requests = 100000\n')
for n in range(sources):
    out.append(f'[[source]]\nid = "s{n}"\nkind = "feed"\nurl = "http://127.0.0.{n % hosts + 1}:{port}/feed/{n}"\ntimeout = "10s"\n')
out.append('[[tag]]\nid = "even"\nany = [{ regex = "item [02468]" }]\n')
out.append('[[topic]]\nid = "all"\n[[topic]]\nid = "even"\ntags = { any = ["even"] }\n')
open(path, "w").write("\n".join(out))
PY

spacing_ms=$(python3 -c "import sys; s='$SPACING'; print(int(s[:-2]) if s.endswith('ms') else int(float(s[:-1])*1000))")
bound=$(python3 -c "import math; print(round(math.ceil($SOURCES/$HOSTS) * $spacing_ms / 1000, 1))")
printf 'sources: %s on %s hosts, spacing %s: politeness bound %s s per cycle\n\n' "$SOURCES" "$HOSTS" "$SPACING" "$bound"
printf '%-6s %10s %12s %10s %8s %6s %7s\n' cycle "wall s" "max RSS MB" "store MB" fetched 304 errors
for cycle in cold warm; do
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" --data "$work/data" --feeds "$work/feeds" poll --once > "$work/out" 2>/dev/null || true
  read -r wall rss_kb < <(tail -n 1 "$work/time")
  ok=$(grep -c ': fetched ' "$work/out" || true)
  nm=$(grep -c '(304 Not Modified)' "$work/out" || true)
  err=$(grep -c ': error: ' "$work/out" || true)
  store=$(du -sm "$work/data" | cut -f1)
  printf '%-6s %10s %12s %10s %8s %6s %7s\n' "$cycle" "$wall" "$((rss_kb / 1024))" "$store" "$ok" "$nm" "$err"
done
