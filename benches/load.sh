#!/usr/bin/env bash
# Load benchmark: feedloom serving a 100-item topic feed on loopback, against
# nginx serving the same bytes as a static file, in the same run.
#
#   bash benches/load.sh            # 10 s per case, 64 connections
#   DURATION=30s CONNS=128 bash benches/load.sh
#
# Cases: 200 with gzip (both serve precompressed bytes: feedloom from its
# cache, nginx with gzip_static), and 304 (If-None-Match with each server's
# ETag). Prints requests/s, p99 latency and the feedloom/nginx ratio.
# Needs wrk and nginx (Debian: wrk, nginx-light; installed when missing and
# running as root) and python3 (a local upstream for the first poll).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
export PATH="$PATH:/usr/sbin"

# shellcheck source=benches/prelude.sh
source benches/prelude.sh

wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# A local upstream with 120 real paper titles and abstracts as RSS.
mkdir -p "$work/upstream" "$work/feeds" "$work/static"
python3 - "$work/upstream/papers.rss" <<'PY'
import json, sys
from xml.sax.saxutils import escape
papers = [e["paper"] for e in json.load(open("tests/fixtures/hf-trending-2026-10-07.props.json"))["dailyPapers"]]
items = []
for i in range(120):
    p = papers[i % len(papers)]
    pid = p["id"] if i < len(papers) else f"2699.{i:05d}"
    items.append(f"<item><title>{escape(p['title'])}</title><link>https://arxiv.org/abs/{pid}</link>"
                 f"<description>{escape(p['summary'])}</description>"
                 f"<pubDate>Wed, 07 Oct 2026 {i // 60:02d}:{i % 60:02d}:00 +0000</pubDate></item>")
open(sys.argv[1], "w").write('<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>'
                             '<link>http://example.org/</link><description>d</description>'
                             + "".join(items) + "</channel></rss>")
PY
up_port=$(free_port)
python3 -m http.server "$up_port" --bind 127.0.0.1 --directory "$work/upstream" >/dev/null 2>&1 & pids+=($!)
wait_port "$up_port"

cat > "$work/feeds/bench.toml" <<TOML
[[source]]
id = "papers"
kind = "feed"
url = "http://127.0.0.1:$up_port/papers.rss"
interval = "1d"

[[topic]]
id = "bench"
title = "Benchmark topic"
TOML
FEEDLOOM_LOG=warn "$bin" --data "$work/data" --feeds "$work/feeds" poll --once >/dev/null

fl_port=$(free_port)
FEEDLOOM_LOG=warn "$bin" --data "$work/data" --feeds "$work/feeds" serve --bind "127.0.0.1:$fl_port" >/dev/null & pids+=($!)
wait_port "$fl_port"
path="/bench.rss?limit=100"
curl -s "http://127.0.0.1:$fl_port$path" -o "$work/static/bench.rss"
items=$(grep -o '<item>' "$work/static/bench.rss" | wc -l)
[ "$items" -eq 100 ] || { echo "expected 100 items, got $items" >&2; exit 1; }
gzip -9 -k -n "$work/static/bench.rss"
# nginx workers run as an unprivileged user: let them read the files.
chmod 755 "$work" && chmod -R a+rX "$work/static"

ng_port=$(free_port)
mkdir -p "$work/nginx/tmp"
cat > "$work/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $work/nginx/tmp;
    proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp;
    scgi_temp_path $work/nginx/tmp;
    types { application/rss+xml rss; }
    server {
        listen 127.0.0.1:$ng_port;
        root $work/static;
        gzip_static on;
    }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" & pids+=($!)
wait_port "$ng_port"

fl_etag=$(curl -s -D - -o /dev/null "http://127.0.0.1:$fl_port$path" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
ng_etag=$(curl -s -D - -o /dev/null "http://127.0.0.1:$ng_port/bench.rss" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $fl_etag" "http://127.0.0.1:$fl_port$path")" = 304 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ng_etag" "http://127.0.0.1:$ng_port/bench.rss")" = 304 ]
[ "$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$ng_port/bench.rss" | grep -ci '^content-encoding: gzip')" = 1 ]

# Runs wrk; prints "requests_per_second p99_ms".
run() {
  local out rps p99
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  echo "$rps $p99"
}

printf 'feed: %s bytes, %s gzipped; %s connections, %s threads, %s per case\n\n' \
  "$(stat -c %s "$work/static/bench.rss")" "$(stat -c %s "$work/static/bench.rss.gz")" "$CONNS" "$THREADS" "$DURATION"
printf '%-14s %14s %10s %14s %10s %8s\n' case "feedloom req/s" "p99 ms" "nginx req/s" "p99 ms" ratio
for case in gzip-200 304; do
  if [ "$case" = gzip-200 ]; then
    fl=$(run -H 'Accept-Encoding: gzip' "http://127.0.0.1:$fl_port$path")
    ng=$(run -H 'Accept-Encoding: gzip' "http://127.0.0.1:$ng_port/bench.rss")
  else
    fl=$(run -H "If-None-Match: $fl_etag" "http://127.0.0.1:$fl_port$path")
    ng=$(run -H "If-None-Match: $ng_etag" "http://127.0.0.1:$ng_port/bench.rss")
  fi
  read -r fl_rps fl_p99 <<<"$fl"
  read -r ng_rps ng_p99 <<<"$ng"
  ratio=$(awk -v a="$fl_rps" -v b="$ng_rps" 'BEGIN {printf "%.2f", a/b}')
  printf '%-14s %14s %10s %14s %10s %8s\n' "$case" "$fl_rps" "$fl_p99" "$ng_rps" "$ng_p99" "$ratio"
done
