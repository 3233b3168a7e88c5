#!/bin/sh
# DAKit side by side with skada on DAKit's own generated datasets (issue 9). From the repository root:
#   swift build -c release && sh Benchmarks/peers/run.sh [DAKIT]
# 1. make_data.sh writes the five HDF5 files into runs/peers/data (data seed 0);
# 2. dakit compare runs every unsupervised strategy on each file, seeds 0..4, one run at a time (so
#    that the wall time per fit is not shared with a parallel run), and the summaries
#    (summary.csv/json/md) are copied to Benchmarks/peers/results/dakit-DATASET/;
# 3. skada_peers.py trains skada's SourceOnly, DANN, DAN, DeepCoral and scikit-learn's
#    SelfTrainingClassifier on the same files and seeds (one torch thread) and writes
#    Benchmarks/peers/results/skada.csv (needs `pip install skada skorch h5py`; PYTHON=… picks the
#    interpreter; SKIP_SKADA=1 skips this step);
# 4. dakit tables regenerates the marked tables in README.md and Papers.md.
# Finished runs are kept under runs/peers and skipped when the command is repeated.
set -eu
DAKIT=${1:-.build/release/dakit}
PYTHON=${PYTHON:-python3}
HERE=Benchmarks/peers
WORK=runs/peers
echo "load: $(cat /proc/loadavg 2>/dev/null || uptime)"
sh "$HERE/make_data.sh" "$DAKIT" "$WORK/data"
for dataset in moons-35 moons-50 shifted-covariate shifted-conditional digits-rotation-30; do
    "$DAKIT" compare --grid "$HERE/grids/$dataset.yaml" --jobs 1 --out "$WORK/dakit-$dataset" > "$WORK/dakit-$dataset.log"
    mkdir -p "$HERE/results/dakit-$dataset"
    cp "$WORK/dakit-$dataset/summary.csv" "$WORK/dakit-$dataset/summary.json" "$WORK/dakit-$dataset/summary.md" "$HERE/results/dakit-$dataset/"
    echo "dakit: $dataset done; load: $(cat /proc/loadavg 2>/dev/null || uptime)"
done
if [ "${SKIP_SKADA:-0}" = 1 ]; then
    echo "SKIP_SKADA=1: kept $HERE/results/skada.csv as it is"
elif "$PYTHON" -c "import skada, skorch, h5py" 2>/dev/null; then
    "$PYTHON" "$HERE/skada_peers.py" --data "$WORK/data" --out "$HERE/results/skada.csv" --threads 1
    echo "skada: done; load: $(cat /proc/loadavg 2>/dev/null || uptime)"
else
    echo "skada, skorch or h5py is not installed (pip install skada skorch h5py): kept $HERE/results/skada.csv as it is" >&2
fi
"$DAKIT" tables README.md Papers.md
