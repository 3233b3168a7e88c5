#!/bin/sh
# Writes the five HDF5 domain datasets of the side-by-side comparison with DAKit's own generators.
#   sh Benchmarks/peers/make_data.sh [DAKIT] [FOLDER]      (defaults: .build/release/dakit, runs/peers/data)
# Every file is drawn with data seed 0 (--seed 0), the same for all five run seeds: the seeds of the
# comparison vary the initial weights and the batch order, not the data, so DAKit and skada train
# and score on exactly the same samples. Each file holds /source (x, y), /source/val, /target (x,
# labels used only for scoring) and /target/test, the held-out target split both sides score on.
# The shifted sets use --strength 3 (covariate: target translated by 3; conditional: class c rotated
# by (c+1)·45°): at the default strength 1 a source-only 2-15-2 net already scores about 100 % on
# the target of both, which leaves nothing to compare.
set -eu
DAKIT=${1:-.build/release/dakit}
FOLDER=${2:-runs/peers/data}
mkdir -p "$FOLDER"
"$DAKIT" data make moons --seed 0 --rotation 35 --output "$FOLDER/moons-35.h5"
"$DAKIT" data make moons --seed 0 --rotation 50 --output "$FOLDER/moons-50.h5"
"$DAKIT" data make shifted --seed 0 --shift covariate --strength 3 --output "$FOLDER/shifted-covariate.h5"
"$DAKIT" data make shifted --seed 0 --shift conditional --strength 3 --output "$FOLDER/shifted-conditional.h5"
"$DAKIT" data make digits --seed 0 --shift rotation --amount 30 --output "$FOLDER/digits-rotation-30.h5"
