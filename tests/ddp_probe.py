"""A callback for the DDP tests: each rank writes the training batches it saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch


class RecordBatches(pl.Callback):
    """Saves every training batch of this rank to ``out_dir/rank{r}.pt`` when training ends."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.batches: list[Any] = []

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        self.batches.append(tuple(t.detach().cpu() for t in batch if t is not None))  # x_u_strong may be None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save({"batches": self.batches, "world_size": trainer.world_size},
                   self.out_dir / f"rank{trainer.global_rank}.pt")


class RecordTestMetrics(pl.Callback):
    """Rank 0 writes the synced test metrics to ``out_file`` when testing ends."""

    def __init__(self, out_file: str) -> None:
        self.out_file = Path(out_file)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            self.out_file.parent.mkdir(parents=True, exist_ok=True)
            torch.save({k: float(v) for k, v in trainer.callback_metrics.items()}, self.out_file)
