#!/usr/bin/env bash
# Runs every fuzz target in tests/fuzz.rs for longer than CI does, in a
# release build: SECONDS_PER_TARGET (default 300) each, THREADS (default 2)
# at a time. Findings land in target/fuzz-findings/ (see tests/fuzz.rs);
# FEEDLOOM_FUZZ_SEED=N replays a run.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SECONDS_PER_TARGET:=300}"
: "${THREADS:=2}"
FEEDLOOM_FUZZ_SECONDS="$SECONDS_PER_TARGET" \
  cargo test --release --locked --test fuzz -- --nocapture --test-threads="$THREADS"
