#!/usr/bin/env bash
# Runs one small `dakit compare --plan` three ways and checks they agree:
#   1. a local `dakit compare` (the reference),
#   2. the plan's lines under GNU parallel, started from / (so the lines must be self-contained),
#   3. the same lines as a Slurm job array on a single-node cluster (Scripts/slurm-local.sh),
# then `dakit compare --collect` on 2 and 3 must give the local target accuracies.
#
#   bash Scripts/scheduler-check.sh [path/to/dakit]     (default .build/release/dakit)
# Debian: installs `parallel` (and, through slurm-local.sh, slurm-wlm and munge) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dakit=$(realpath "${1:-.build/release/dakit}")
[ -x "$dakit" ] || { echo "scheduler-check: no dakit at $dakit (swift build -c release first)" >&2; exit 2; }
have() { command -v "$1" >/dev/null 2>&1; }
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! have parallel; then
  echo "scheduler-check: installing GNU parallel" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends parallel >/dev/null
fi
bash Scripts/slurm-local.sh

work=$(mktemp -d /var/tmp/dakit-scheduler-check.XXXXXX)
chmod 755 "$work"
recipe=$(realpath Recipes/moons-dann.yaml)
args=(--seeds 2 --set epochs=20 --set evaluation.divergences=[mmd])

echo "scheduler-check: local compare" >&2
"$dakit" compare "$recipe" "${args[@]}" --jobs 2 --out "$work/local" >/dev/null

echo "scheduler-check: GNU parallel from /" >&2
"$dakit" compare "$recipe" "${args[@]}" --plan --out "$work/parallel" > "$work/parallel.jobs"
(cd / && parallel -j 2 --halt now,fail=1 :::: "$work/parallel.jobs")
"$dakit" compare --collect "$work/parallel" >/dev/null

echo "scheduler-check: Slurm job array" >&2
"$dakit" compare "$recipe" "${args[@]}" --plan --out "$work/slurm" > "$work/slurm.jobs"
n=$(wc -l < "$work/slurm.jobs")
sbatch --wait --quiet --array=1-"$n" --chdir=/ --output="$work/slurm-%a.out" \
  --wrap "eval \"\$(sed -n \"\${SLURM_ARRAY_TASK_ID}p\" $work/slurm.jobs)\""
"$dakit" compare --collect "$work/slurm" >/dev/null

# task, strategy, seeds, target accuracy mean and std: equal in all three.
columns() { cut -d, -f1,3,4,7,8 "$1/summary.csv"; }
status=0
for way in parallel slurm; do
  if ! diff <(columns "$work/local") <(columns "$work/$way") >/dev/null; then
    echo "scheduler-check: $way's summary differs from the local compare's:" >&2
    diff <(columns "$work/local") <(columns "$work/$way") >&2 || true
    status=1
  fi
done
runs=$(($(wc -l < "$work/local/summary.csv") - 1))
[ "$runs" -ge 3 ] || { echo "scheduler-check: expected 3 strategies in the summary, got $runs" >&2; status=1; }
if [ $status -eq 0 ]; then
  echo "scheduler-check: ok: $n runs each; local, GNU parallel and Slurm agree:" >&2
  columns "$work/local" >&2
  rm -rf "$work"
else
  echo "scheduler-check: outputs kept in $work" >&2
fi
exit $status
