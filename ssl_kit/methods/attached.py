"""The trainer and datamodule a module is attached to, through Lightning's public API only."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl


def attached_trainer(module: pl.LightningModule) -> pl.Trainer | None:
    """The :class:`~pytorch_lightning.Trainer` running ``module``, or ``None`` when there is none.

    ``LightningModule.trainer`` raises ``RuntimeError`` for a module not attached to a trainer
    (Lightning 2.x); this returns ``None`` instead, for code that also runs outside a fit (building
    an optimiser by hand, loading a checkpoint without a trainer).
    """
    try:
        return module.trainer
    except RuntimeError:
        return None


def attached_datamodule(module: pl.LightningModule) -> Any | None:
    """The datamodule of the trainer running ``module``, or ``None`` (no trainer, or plain dataloaders)."""
    trainer = attached_trainer(module)
    return getattr(trainer, "datamodule", None) if trainer is not None else None


def total_steps(module: pl.LightningModule) -> int:
    """Optimiser steps of the whole run (``Trainer.estimated_stepping_batches``), 1 without a trainer."""
    trainer = attached_trainer(module)
    return max(1, int(trainer.estimated_stepping_batches)) if trainer is not None else 1


__all__ = ["attached_datamodule", "attached_trainer", "total_steps"]
