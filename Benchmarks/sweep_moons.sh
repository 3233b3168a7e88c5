#!/bin/sh
# The sweep case of issue 13: wall time of a 5-seed comparison of every strategy on the moons
# (dakit compare over Recipes/moons-*.yaml), then the same grid run by skada (skada_moons.py).
#   swift build -c release && sh Benchmarks/sweep_moons.sh [DAKIT] [JOBS]
# Needs `pip install skada` for the second half only (PYTHON=path/to/python to pick one); prints the load average with each timing.
set -eu
DAKIT=${1:-.build/release/dakit}
JOBS=${2:-2}
PYTHON=${PYTHON:-python3}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/dakit-sweep-XXXXXX")
trap 'rm -rf "$OUT"' EXIT
echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
start=$(date +%s.%N)
"$DAKIT" compare Recipes/moons-*.yaml --seeds 5 --jobs "$JOBS" --out "$OUT/compare" > "$OUT/compare.log"
end=$(date +%s.%N)
echo "{\"dakit_compare_wall_s\": $(echo "$end - $start" | bc), \"runs\": $(find "$OUT/compare" -name report.json | wc -l), \"jobs\": $JOBS}"
echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
if "$PYTHON" -c "import skada" 2>/dev/null; then
    "$PYTHON" "$(dirname "$0")/skada_moons.py" --seeds 5 --threads 1
    echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
else
    echo "skada not installed (pip install skada): skipped the skada half" >&2
fi
