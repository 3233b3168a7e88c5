#!/usr/bin/env bash
# Builds Examples/CustomStrategy (a separate package depending on DAKit by path and calling
# DAKitCLI.main with its own registry), checks that its executable has dakit's command line under
# its own name (help, version, run help, strategies NAME, usage errors), and runs its tiny recipe,
# which names the example's own `meanMatching` strategy.
set -euo pipefail
cd "$(dirname "$0")/../Examples/CustomStrategy"
scratch="${SCRATCH_PATH:-.build}"
swift build -c release --scratch-path "$scratch"
bin="$scratch/release/custom-dakit"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
fail() { echo "check-example: $*" >&2; exit 1; }

"$bin" --help > "$out/help.txt"
grep -q '^USAGE: custom-dakit <subcommand>' "$out/help.txt" || fail "--help does not name custom-dakit"
for command in run compare strategies data weights divergence bench demo; do
    grep -q "^  $command " "$out/help.txt" || fail "--help does not list $command"
done
! grep -q '<tool>' "$out/help.txt" || fail "--help prints a placeholder"

version="$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' ../../Sources/TensorCore/Version.swift)"
[ "$("$bin" --version)" = "$version" ] || fail "--version is not DAKit's $version"

"$bin" run --help > "$out/run-help.txt"
grep -q '^USAGE: custom-dakit run <recipe>' "$out/run-help.txt" || fail "run --help"
grep -q -- '--resume' "$out/run-help.txt" || fail "run --help lacks --resume"

"$bin" strategies > "$out/strategies.txt"
grep -q '^meanMatching$' "$out/strategies.txt" || fail "strategies does not list meanMatching"
grep -q '^dann$' "$out/strategies.txt" || fail "strategies does not list the built-in dann"
"$bin" strategies meanMatching > "$out/one.txt"
[ "$(head -n 1 "$out/one.txt")" = meanMatching ] || fail "strategies meanMatching"
! grep -q '^dann$' "$out/one.txt" || fail "strategies meanMatching also lists dann"

status=0
"$bin" run --seed x tiny.yaml 2> "$out/usage.txt" || status=$?
[ "$status" = 2 ] || fail "a usage error exits $status, not 2"
[ "$(wc -l < "$out/usage.txt")" = 1 ] || fail "a usage error prints more than one line"
grep -q "(see 'custom-dakit run --help')" "$out/usage.txt" || fail "a usage error does not point at custom-dakit run --help"

"$bin" run --check tiny.yaml
"$bin" run tiny.yaml --out "$out/run"
test -s "$out/run/report.json"
grep -q '"strategy" : "meanMatching"' "$out/run/report.json"
echo "check-example: ok"
