#!/usr/bin/env bash
# Memory benchmark: one poll cycle that ingests many new entries (default
# 200 sources x 500 items of about 1 KB text = 100,000 entries) from a
# local upstream, then `serve` on the store it made; run once per store
# page-cache size, in the same session, so the figures compare.
#
#   bash benches/ingest.sh                       # 200 x 500, caches 1GiB and 64MiB
#   SOURCES=20 ITEMS=500 CACHES="64MiB" bash benches/ingest.sh
#
# Reports per cache size: poll wall time and peak RSS, store size on disk,
# `serve`'s resident memory once it is ready (every topic rendered, every
# source polled once more), and how long after start /healthz and /readyz
# first answer 200.
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCES=${SOURCES:-200}
ITEMS=${ITEMS:-500}
CACHES=${CACHES:-1GiB 64MiB}

command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
# shellcheck source=benches/prelude.sh
source benches/prelude.sh

port=$(free_port)
# /feed/N: an RSS feed of ITEMS items, each with about 1 KB of text.
python3 benches/rss_upstream.py "$port" "$ITEMS" & pids+=($!)
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done

mkdir -p "$work/feeds"
python3 - "$work/feeds/ingest.toml" "$SOURCES" "$port" <<'PY'
import sys
path, sources, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = ['[[host]]\nname = "127.0.0.1"\nmin_spacing = "0s"\nmax_requests = 1000000\n',
       '[retention]\nmax_entries = 10000000\n']
for n in range(sources):
    out.append(f'[[source]]\nid = "s{n}"\nkind = "feed"\nurl = "http://127.0.0.1:{port}/feed/{n}"\ntimeout = "60s"\nmax_body = "64MiB"\n')
for t in range(10):
    out.append(f'[[tag]]\nid = "t{t}"\nany = [{{ words = ["{t}"] }}]\n[[topic]]\nid = "topic{t}"\ntags = {{ any = ["t{t}"] }}\n')
out.append('[[topic]]\nid = "all"\n')
open(path, "w").write("\n".join(out))
PY

printf '%s sources x %s items\n\n' "$SOURCES" "$ITEMS"
printf '%-8s %8s %14s %10s %14s %10s %10s\n' cache "poll s" "poll RSS MB" "store MB" "serve RSS MB" "healthz s" "readyz s"
for cache in $CACHES; do
  rm -rf "$work/data"
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" --data "$work/data" --feeds "$work/feeds" --cache "$cache" poll --once > /dev/null 2>&1 || true
  read -r wall rss_kb < <(tail -n 1 "$work/time")
  store=$(du -sm "$work/data" | cut -f1)
  # `serve` on that store: it renders every topic, polls every source once
  # more (all unchanged), and is measured when /readyz says that is done.
  sport=$(free_port)
  started=$(date +%s.%N)
  "$bin" --data "$work/data" --feeds "$work/feeds" --cache "$cache" serve --bind "127.0.0.1:$sport" > /dev/null 2>&1 & spid=$!
  pids+=($spid)
  for _ in $(seq 12000); do curl -sf "http://127.0.0.1:$sport/healthz" > /dev/null 2>&1 && break; sleep 0.01; done
  healthz=$(python3 -c "import time; print(f'{time.time() - $started:.2f}')")
  for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$sport/readyz" > /dev/null 2>&1 && break; sleep 0.1; done
  readyz=$(python3 -c "import time; print(f'{time.time() - $started:.2f}')")
  sleep 3
  serve_kb=$(awk '/VmRSS/ {print $2}' "/proc/$spid/status")
  kill "$spid"; wait "$spid" 2>/dev/null || true
  printf '%-8s %8s %14s %10s %14s %10s %10s\n' "$cache" "$wall" "$((rss_kb / 1024))" "$store" "$((serve_kb / 1024))" "$healthz" "$readyz"
done
