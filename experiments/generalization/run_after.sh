#!/usr/bin/env bash
# The "after" measurement, one process at a time: seed 1 of the generalization grid (every
# setting), then the toy grid (all methods, 5 seeds), then seeds 2 and 3 of the generalization grid.
#   experiments/generalization/run_after.sh SRC_TREE OUT_ROOT
set -u
src=$1; root=$2
here=$(dirname "$(readlink -f "$0")")
"$here/run_grid.sh" "$src" "$root/gen_after" configs/benchmark/generalization.yaml 1
"$here/run_grid.sh" "$src" "$root/toy_after" configs/benchmark/toy.yaml 1 2 3 4 5
"$here/run_grid.sh" "$src" "$root/gen_after" configs/benchmark/generalization.yaml 2 3
