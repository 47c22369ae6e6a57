#!/usr/bin/env bash
# Run a grid seed by seed (all settings of the first seed first, so that a run cut short still
# covers every setting) from an exported source tree, one process at a time; logs each seed's CPU time.
#   experiments/generalization/run_grid.sh SRC_TREE OUT_DIR [GRID] [SEEDS...]
# SRC_TREE: a `git archive` export of the commit to measure (isolated from uncommitted edits).
set -u
src=$1; out=$2; grid=${3:-configs/benchmark/generalization.yaml}; shift 3 || shift $#
seeds=${*:-1 2 3}
export OMP_NUM_THREADS=1 PYTHONPATH=$src
cd "$src" || exit 1
echo "commit: $(cat "$src/COMMIT" 2>/dev/null) start: $(date -u +%FT%TZ)"
for seed in $seeds; do
  /usr/bin/time -f "seed $seed: %U s user + %S s system CPU, %e s wall" \
    python -m ssl_kit.cli benchmark --config "$grid" --output_dir "$out" --seeds "$seed" --no_progress
  echo "seed $seed done: $(date -u +%FT%TZ)"
done
