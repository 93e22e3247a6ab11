#!/usr/bin/env bash
# Before/after for the feed extractor's well-formed path, in one run:
# benches/feeds.rs (its `well_formed` group) on BASE (default 4ed3441,
# the last commit before issue 27's repair path) saved as criterion
# baseline `before`, then on the work tree compared with it; criterion
# prints each benchmark's change. Extra arguments go to criterion.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE:-4ed3441}
tmp=$(mktemp -d)
wt="$tmp/base"
git worktree add --detach "$wt" "$base" >/dev/null
trap 'git worktree remove --force "$wt"; rm -rf "$tmp"' EXIT
# The bench uses only `extract`, whose signature is older than the base.
cp benches/feeds.rs "$wt/benches/feeds.rs"
grep -q 'name = "feeds"' "$wt/Cargo.toml" ||
  printf '\n[[bench]]\nname = "feeds"\nharness = false\n' >> "$wt/Cargo.toml"
# One target directory: criterion keeps its baselines there.
export CARGO_TARGET_DIR="$PWD/target"
export FEEDLOOM_BENCH_WELL_FORMED_ONLY=1
echo "== before: $base"
(cd "$wt" && cargo bench --bench feeds -- well_formed --save-baseline before "$@")
echo "== after: $(git rev-parse --short HEAD) and the work tree"
cargo bench --bench feeds -- well_formed --baseline before "$@"
