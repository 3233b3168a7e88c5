#!/bin/sh
# The sweep case of issue 13: wall time of a 5-seed comparison on the moons, DAKit against skada on
# the same grid (the strategies skada has: source-only, target-only, DANN, DeepCoral, DAN for
# dan/ddc/mmd, MCC, CDAN; 9 × 5 runs) with one job, with JOBS jobs, and with one job and without
# the divergence and plot reports (which skada does not make), then DAKit's whole moons grid
# (Recipes/moons-*.yaml).
#   swift build -c release && sh Benchmarks/sweep_moons.sh [DAKIT] [JOBS]
# Needs `pip install skada` for the skada half only (PYTHON=path/to/python to pick one); prints the
# load average with each timing. skada runs in one process with one torch thread.
set -eu
DAKIT=${1:-.build/release/dakit}
JOBS=${2:-2}
PYTHON=${PYTHON:-python3}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/dakit-sweep-XXXXXX")
trap 'rm -rf "$OUT"' EXIT
SAME="sourceOnly targetOnly dann coral dan ddc mmd mcc cdan"

timed() {  # NAME JOBS RECIPES...: one dakit compare, timed
    name=$1 jobs=$2
    shift 2
    echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
    start=$(date +%s.%N)
    "$DAKIT" compare "$@" --seeds 5 --jobs "$jobs" --out "$OUT/$name-$jobs" > "$OUT/$name-$jobs.log"
    end=$(date +%s.%N)
    runs=$(find "$OUT/$name-$jobs" -name report.json | wc -l)
    echo "{\"grid\": \"$name\", \"dakit_compare_wall_s\": $(echo "$end - $start" | bc), \"runs\": $runs, \"jobs\": $jobs}"
}

same_recipes=""
for s in $SAME; do same_recipes="$same_recipes Recipes/moons-$s.yaml"; done
# shellcheck disable=SC2086
timed same-as-skada 1 $same_recipes
# shellcheck disable=SC2086
timed same-as-skada "$JOBS" $same_recipes
# The same, without the reports skada does not make (divergences before/after, plots).
# shellcheck disable=SC2086
timed same-as-skada-no-diagnostics 1 $same_recipes --set 'evaluation.divergences=[]' --set 'evaluation.plots=[]'
timed all-moons "$JOBS" Recipes/moons-*.yaml
echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
if "$PYTHON" -c "import skada" 2>/dev/null; then
    "$PYTHON" "$(dirname "$0")/skada_moons.py" --seeds 5 --threads 1
    echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
else
    echo "skada not installed (pip install skada): skipped the skada half" >&2
fi
