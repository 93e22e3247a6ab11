#!/usr/bin/env bash
# Fetches the article pages `benches/extraction.rs` measures against:
# Mozilla Readability's test suite (130 real and unit-case pages, each a
# `source.html` and the `expected.html` extraction), as shipped inside the
# crates.io package readabilityrs 0.1.4 (Apache-2.0), so only the package
# registry is needed. Written to target/extraction-pages/ (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-target/extraction-pages}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"
cat > "$tmp/Cargo.toml" <<'TOML'
[package]
name = "extraction-pages"
version = "0.0.0"
edition = "2021"
[dependencies]
readabilityrs = "=0.1.4"
TOML
echo 'fn main() {}' > "$tmp/src/main.rs"
(cd "$tmp" && cargo fetch --quiet)
src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/readabilityrs-0.1.4/tests/test-pages | head -1)
rm -rf "$dest"
mkdir -p "$dest"
cp -r "$src"/. "$dest"/
echo "$(ls "$dest" | wc -l) pages in $dest"
