#!/usr/bin/env bash
# Disk under churn: poll cycles that each bring new entries while retention
# keeps the newest MAX_ENTRIES, and the store's size on disk after each
# cycle, then after `feedloom compact`. A store that stops growing once
# retention bites is bounded.
#
#   bash benches/churn.sh                     # 12 cycles of 20,000 new entries, keep 40,000
#   CYCLES=30 SOURCES=40 ITEMS=500 MAX_ENTRIES=40000 bash benches/churn.sh
#   MODE=serve bash benches/churn.sh          # one `serve` polling each minute
#
# MODE=once (the default) runs one `poll --once` process per cycle: sled
# never has the time to clean up, and the store stays bounded only because
# `poll --once` compacts it in place once it has outgrown its live data;
# MODE=serve runs the service for CYCLES minutes (its sources polled every
# minute, new items each minute) and reads the size each minute, which is
# what a deployment sees.
set -euo pipefail
cd "$(dirname "$0")/.."

CYCLES=${CYCLES:-12}
SOURCES=${SOURCES:-40}
ITEMS=${ITEMS:-500}
MAX_ENTRIES=${MAX_ENTRIES:-40000}
MODE=${MODE:-once}

# shellcheck source=benches/prelude.sh
source benches/prelude.sh

port=$(free_port)
# /feed/N: ITEMS items of about 1 KB, new ones every round (the round is
# read from a file the script advances before each cycle).
echo 0 > "$work/round"
python3 benches/rss_upstream.py "$port" "$ITEMS" "$work/round" & pids+=($!)
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done

mkdir -p "$work/feeds"
python3 - "$work/feeds/churn.toml" "$SOURCES" "$port" "$MAX_ENTRIES" <<'PY'
import sys
path, sources, port, keep = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = ['[[host]]\nname = "127.0.0.1"\nmin_spacing = "0s"\nmax_requests = 1000000\n',
       f'[retention]\nmax_entries = {keep}\n']
for n in range(sources):
    out.append(f'[[source]]\nid = "s{n}"\nkind = "feed"\nurl = "http://127.0.0.1:{port}/feed/{n}"\ntimeout = "60s"\nmax_body = "64MiB"\ninterval = "1m"\n')
out.append('[[topic]]\nid = "all"\n')
open(path, "w").write("\n".join(out))
PY

printf '%s new entries per cycle, retention keeps %s\n\n' "$((SOURCES * ITEMS))" "$MAX_ENTRIES"
printf '%-6s %10s\n' cycle "store MB"
if [ "$MODE" = serve ]; then
  sport=$(free_port)
  echo 1 > "$work/round"
  "$bin" --data "$work/data" --feeds "$work/feeds" serve --bind "127.0.0.1:$sport" > "$work/serve.log" 2>&1 & spid=$!
  pids+=("$spid")
  for cycle in $(seq 1 "$CYCLES"); do
    sleep 60
    printf '%-6s %10s\n' "$cycle" "$(du -sm "$work/data" | cut -f1)"
    echo "$((cycle + 1))" > "$work/round"
  done
  kill "$spid"; wait "$spid" 2>/dev/null || true
else
  for cycle in $(seq 1 "$CYCLES"); do
    echo "$cycle" > "$work/round"
    "$bin" --data "$work/data" --feeds "$work/feeds" poll --once > /dev/null 2>&1 || true
    printf '%-6s %10s\n' "$cycle" "$(du -sm "$work/data" | cut -f1)"
  done
fi
# What a compaction (`feedloom compact`) leaves of the last cycle's store.
"$bin" --data "$work/data" --feeds "$work/feeds" compact "$work/compacted" > /dev/null
printf '\ncompacted: %s MB\n' "$(du -sm "$work/compacted" | cut -f1)"
