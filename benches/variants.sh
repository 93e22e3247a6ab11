#!/usr/bin/env bash
# Memory under client-chosen variants: a 500-entry topic, then every
# `?limit=1..LIMITS` in all three formats (1,500 distinct documents by
# default), the attack that once took the process from 24 MB to 1.7 GB.
# Prints the resident memory (VmRSS) before and after and what /metrics says
# of the cache, for the default --cache-bytes and for CACHE_BYTES.
#
#   bash benches/variants.sh
#   LIMITS=200 CACHE_BYTES=8MiB bash benches/variants.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LIMITS=${LIMITS:-500}
CACHE_BYTES=${CACHE_BYTES:-32MiB}

# shellcheck source=benches/prelude.sh
source benches/prelude.sh

wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# 500 real paper titles and abstracts (the 50 of the fixture, each ten
# times under other ids) as RSS from a local upstream.
mkdir -p "$work/upstream" "$work/feeds"
python3 - "$work/upstream/papers.rss" <<'PY'
import json, sys
from xml.sax.saxutils import escape
papers = [e["paper"] for e in json.load(open("tests/fixtures/hf-trending-2026-10-07.props.json"))["dailyPapers"]]
items = []
for i in range(500):
    p = papers[i % len(papers)]
    items.append(f"<item><title>{escape(p['title'])} ({i})</title><link>https://example.org/paper/{i}</link>"
                 f"<description>{escape(p['summary'])}</description>"
                 f"<pubDate>Wed, 07 Oct 2026 {i // 60 % 24:02d}:{i % 60:02d}:00 +0000</pubDate></item>")
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
max_items = 500
TOML
FEEDLOOM_LOG=warn "$bin" --data "$work/data" --feeds "$work/feeds" poll --once >/dev/null

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1==m {print $2}'; }

printf '%-12s %10s %10s %14s %14s %10s %10s\n' cache-bytes "RSS before" "RSS after" "variant bytes" "variant docs" evictions seconds
for budget in 32MiB "$CACHE_BYTES"; do
  port=$(free_port)
  FEEDLOOM_LOG=warn "$bin" --data "$work/data" --feeds "$work/feeds" serve --bind "127.0.0.1:$port" --cache-bytes "$budget" >/dev/null & pid=$!
  pids+=($pid)
  wait_port "$port"
  curl -s -o /dev/null "http://127.0.0.1:$port/bench.rss"
  before=$(rss_kb "$pid")
  start=$(date +%s.%N)
  for n in $(seq 1 "$LIMITS"); do
    for ext in rss atom json; do
      printf 'url = "http://127.0.0.1:%s/bench.%s?limit=%s"\noutput = "/dev/null"\n' "$port" "$ext" "$n"
    done
  done > "$work/urls"
  # curl 7.88 draws its parallel progress meter even with -s: keep stderr
  # aside and show it only if a request failed.
  curl -s --fail --parallel --parallel-max 8 -K "$work/urls" 2>"$work/curl.err" \
    || { cat "$work/curl.err" >&2; exit 1; }
  took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e-s}')
  after=$(rss_kb "$pid")
  printf '%-12s %8s MB %8s MB %14s %14s %10s %10s\n' "$budget" "$((before / 1024))" "$((after / 1024))" \
    "$(metric "$port" feedloom_cache_variant_bytes)" "$(metric "$port" feedloom_cache_variant_entries)" \
    "$(metric "$port" feedloom_cache_evictions_total)" "$took"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ "$budget" = "$CACHE_BYTES" ] && break
done
