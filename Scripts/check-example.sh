#!/usr/bin/env bash
# Builds Examples/CustomStrategy (a separate package depending on DAKit by path), lists its
# strategies and runs its tiny recipe, which names the example's own `meanMatching` strategy.
set -euo pipefail
cd "$(dirname "$0")/../Examples/CustomStrategy"
scratch="${SCRATCH_PATH:-.build}"
swift build -c release --scratch-path "$scratch"
bin="$scratch/release/custom-dakit"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$bin" strategies > "$out/strategies.txt"
grep -q '^meanMatching:' "$out/strategies.txt"
"$bin" run --check tiny.yaml
"$bin" run tiny.yaml --out "$out/run"
test -s "$out/run/report.json"
grep -q '"strategy" : "meanMatching"' "$out/run/report.json"
echo "check-example: ok"
