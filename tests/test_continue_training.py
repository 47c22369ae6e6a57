"""Continuing a run that stopped at ``max_steps`` equals the uninterrupted run, for every method."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from ssl_kit.datamodules import ToyDataModule
from ssl_kit.checkpoints.atomic import AtomicCheckpointIO
from ssl_kit.methods import VAT, ImprovedGAN, LadderNetwork, Supervised, VirtualAdversarialLadder

NET = {"hidden": [16, 16], "noise_std": 0.3}  # batch norm + noise: RNG and buffers both matter
CONSTANT = {"lr_decay_start": 1.0}  # a decay over max_steps changes with max_steps, by design

METHODS = {
    "supervised": lambda: Supervised(2, (2,), backbone_kwargs=NET, **CONSTANT),
    "vat": lambda: VAT(2, (2,), backbone_kwargs=NET, eps=0.2, entmin=True, ema_decay=0.9, **CONSTANT),
    "improved_gan": lambda: ImprovedGAN(2, (2,), backbone_kwargs={"hidden": [16, 16]},
                                        generator_kwargs={"hidden": [16], "output_activation": "none"},
                                        ema_decay=0.9, **CONSTANT),
    "ladder": lambda: LadderNetwork(2, (2,), backbone_kwargs={"hidden": (16, 8)}, **CONSTANT),
    "van": lambda: VirtualAdversarialLadder(2, (2,), backbone_kwargs={"hidden": (16, 8)}, variant="lvan_lw", eps=0.1,
                                            **CONSTANT),
}


class _Batches(pl.Callback):
    """Records the epoch, batch index and first unlabeled value of every training step."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[int, int, float]] = {}

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int) -> None:
        self.seen[trainer.global_step] = (trainer.current_epoch, batch_idx, float(batch.x_u[0, 0]))


def _fit(root: Path, max_steps: int, model: pl.LightningModule, ckpt: Path | None = None,
         at_epoch_end: bool = True) -> tuple[pl.Trainer, _Batches]:
    """``at_epoch_end``: last.ckpt written in on_train_epoch_end, else in on_train_end (as when validation
    decides the saves and has not run yet: the CLI's configs with val_check_interval)."""
    batches = _Batches()
    saver = ModelCheckpoint(dirpath=root / "ckpt", save_last=True, save_on_train_epoch_end=at_epoch_end)
    trainer = pl.Trainer(
        max_steps=max_steps, logger=False, enable_progress_bar=False, enable_model_summary=False,
        use_distributed_sampler=False, default_root_dir=root, limit_val_batches=0, num_sanity_val_steps=0,
        plugins=[AtomicCheckpointIO()], callbacks=[saver, batches],
    )
    trainer.fit(model, ToyDataModule(num_train=120, num_test=40, unlabeled_batch_size=40, steps_per_epoch=4),
                ckpt_path=ckpt)
    return trainer, batches


# (method, stop step, last.ckpt written in on_train_epoch_end rather than on_train_end)
CASES = [(method, 8, True) for method in sorted(METHODS)] + [
    ("supervised", 6, True), ("improved_gan", 6, True), ("supervised", 6, False), ("vat", 8, False)]


@pytest.mark.parametrize(("method", "stop", "at_epoch_end"), CASES,
                         ids=[f"{m}-step{s}-{'epoch_end_hook' if e else 'train_end_hook'}" for m, s, e in CASES])
def test_run_continued_past_max_steps_equals_uninterrupted_run(method: str, stop: int, at_epoch_end: bool,
                                                               tmp_path: Path) -> None:
    """4 batches per epoch: step 8 ends the second epoch, step 6 is inside it; both continue to 12."""
    pl.seed_everything(3)
    full = METHODS[method]()
    full_trainer, full_batches = _fit(tmp_path / "full", 12, full)

    pl.seed_everything(3)
    _fit(tmp_path / "part", stop, METHODS[method](), at_epoch_end=at_epoch_end)
    pl.seed_everything(99)  # a different seed: everything must come from the checkpoint
    continued = METHODS[method]()
    trainer, batches = _fit(tmp_path / "continued", 12, continued, tmp_path / "part/ckpt/last.ckpt")

    assert trainer.current_epoch == full_trainer.current_epoch == 3
    assert trainer.global_step == 12
    assert batches.seen == {step: full_batches.seen[step] for step in range(stop, 12)}  # epoch, index, data
    for (name, a), b in zip(full.state_dict().items(), continued.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
