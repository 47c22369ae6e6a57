#!/usr/bin/env bash
# Fit one config, then test its last checkpoint; prints wall times. Usage:
#   experiments/run_one.sh CONFIG OUT_DIR [extra LightningCLI flags...]
# One thread per process: on a shared 2-core machine two OpenMP threads fight other jobs and run
# many times slower (measured: 0.19 s vs 3.4 s per ladder step under load).
set -euo pipefail
config=$1; out=$2; shift 2
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export SSL_KIT_DATA=${SSL_KIT_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
start=$(date +%s)
python -m ssl_kit.cli fit --config "$config" --trainer.enable_progress_bar false \
  --trainer.logger.init_args.save_dir "$out" "$@"
fit_end=$(date +%s)
ckpt=$(ls -t "$out"/lightning_logs/version_*/checkpoints/*.ckpt | head -1)
python -m ssl_kit.cli test --config "$config" --ckpt_path "$ckpt" --trainer.enable_progress_bar false \
  --trainer.logger.init_args.save_dir "$out/test" "$@"
echo "checkpoint: $ckpt"
echo "fit wall seconds: $((fit_end - start)); total wall seconds: $(( $(date +%s) - start ))"
