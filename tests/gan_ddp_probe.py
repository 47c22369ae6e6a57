"""A callback for the Improved-GAN DDP test: each rank writes its final weights."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch


class RecordWeights(pl.Callback):
    """Saves the module's state dict to ``out_dir/weights{rank}.pt`` when training ends."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in pl_module.state_dict().items()}
        torch.save(state, self.out_dir / f"weights{trainer.global_rank}.pt")
