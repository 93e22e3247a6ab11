#!/usr/bin/env bash
# Before/after for the feed extractor's well-formed path, in one run:
# benches/feeds.rs (its `well_formed` group) built on BASE (default
# 4ed3441, the last commit before issue 27's repair path) and on the work
# tree, then run alternately ROUNDS times (default 3) so both see the same
# machine; per benchmark, the best median of each side and after/before.
# Run it on a quiet machine: a build beside it moves figures by 30%.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE:-4ed3441}
rounds=${ROUNDS:-3}
tmp=$(mktemp -d)
wt="$tmp/base"
git worktree add --detach "$wt" "$base" >/dev/null
trap 'git worktree remove --force "$wt"; rm -rf "$tmp"' EXIT
# The bench uses only `extract`, whose signature is older than the base.
cp benches/feeds.rs "$wt/benches/feeds.rs"
grep -q 'name = "feeds"' "$wt/Cargo.toml" ||
  printf '\n[[bench]]\nname = "feeds"\nharness = false\n' >> "$wt/Cargo.toml"
export FEEDLOOM_BENCH_WELL_FORMED_ONLY=1
# Each side in its own target directory: a shared one reuses the test
# harness crate built in the base worktree, whose fixture paths then point
# into a folder this script deletes.
exe() { # the bench executable cargo builds in $1, into target directory $2
  (cd "$1" && CARGO_TARGET_DIR="$2" cargo bench --bench feeds --no-run --message-format=json 2>/dev/null) |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "feeds" and m.get("executable"):
        print(m["executable"])' | tail -1
}
before_exe="$tmp/feeds-before"; cp "$(exe "$wt" "$PWD/target/bench-base")" "$before_exe"
after_exe="$tmp/feeds-after"; cp "$(exe "$PWD" "$PWD/target")" "$after_exe"
for i in $(seq "$rounds"); do
  for side in before after; do
    "$tmp/feeds-$side" --bench well_formed --noplot 2>/dev/null |
      awk -v side="$side" '/^well_formed\// { name = $1 }
        /time:/ { for (k = 1; k <= NF; k++) if ($k == "time:") print side, name, $(k + 3), $(k + 4) }' >> "$tmp/times"
  done
done
python3 - "$tmp/times" <<'PY'
import sys, collections
unit = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
best = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    side, name, value, u = line.split()
    t = float(value) * unit[u]
    best[name][side] = min(t, best[name].get(side, float("inf")))
print(f"{'benchmark':44} {'before':>10} {'after':>10} {'after/before':>12}")
for name, s in sorted(best.items()):
    print(f"{name:44} {s['before']*1e3:9.3f}ms {s['after']*1e3:9.3f}ms {s['after']/s['before']:12.3f}")
PY
