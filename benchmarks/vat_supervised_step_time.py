"""Time per training step (and per epoch) of the four cells of VAT-as-a-regulariser on MNIST.

The cells of configs/vat/mnist_supervised.yaml: VAT or Supervised, with or without dropout
(0.25 after the conv block, 0.5 before the last layer), small CNN, all 60,000 labels, batches
of 128. Each cell trains ``--steps`` steps after ``--warmup`` through ``Trainer.fit`` (no
validation); the median time between batch starts, times the steps of one epoch, estimates the
epoch's training time.

    python -m benchmarks.vat_supervised_step_time [--steps 20] [--warmup 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml

from ssl_kit.datamodules import MNISTDataModule
from ssl_kit.methods import VAT, Supervised
from ssl_kit.methods.base import SSLModule

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "vat" / "mnist_supervised.yaml"
DROPOUT = [0.25, 0.5]


class StepTimes(pl.Callback):
    """Seconds between consecutive training-batch starts."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        self.starts.append(time.perf_counter())

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.starts.append(time.perf_counter())


def build_model(vat: bool, dropout: bool, model_args: dict[str, Any]) -> SSLModule:
    args = dict(model_args, backbone_kwargs={**model_args.get("backbone_kwargs", {}), "dropout": DROPOUT if dropout else 0.0})
    if vat:
        return VAT(num_classes=10, input_shape=(1, 28, 28), **args)
    base_args = set(inspect.signature(SSLModule.__init__).parameters)
    return Supervised(num_classes=10, input_shape=(1, 28, 28), **{k: v for k, v in args.items() if k in base_args})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(CONFIG.read_text())
    data_args = config["data"]["init_args"]
    data = MNISTDataModule(**data_args)
    data.setup("fit")
    steps_per_epoch = len(data.train_dataloader())
    print(f"{steps_per_epoch} steps per epoch; median seconds per step over {args.steps} steps after {args.warmup}")
    for vat in (False, True):
        for dropout in (False, True):
            pl.seed_everything(1)
            timer = StepTimes()
            trainer = pl.Trainer(max_steps=args.warmup + args.steps, limit_val_batches=0, logger=False,
                                 enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                                 use_distributed_sampler=False, callbacks=[timer])
            trainer.fit(build_model(vat, dropout, config["model"]["init_args"]), data)
            gaps = [b - a for a, b in zip(timer.starts, timer.starts[1:])][args.warmup:]
            step = statistics.median(gaps)
            name = f"{'VAT' if vat else 'Supervised'}{' + dropout' if dropout else ''}"
            print(f"{name:22s} {step:7.3f} s/step  ~{step * steps_per_epoch / 60:6.1f} min/epoch", flush=True)


if __name__ == "__main__":
    main()
