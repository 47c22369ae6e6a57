"""Optimiser and learning-rate schedule of a method, from its ``optimizer`` / ``schedule`` arguments."""

from __future__ import annotations

import math
from typing import Any

import torch

from ssl_kit.methods.attached import attached_trainer, total_steps
from ssl_kit.methods.optim import adam, sgd
from ssl_kit.methods.schedules import build_scheduler


class Optimisation:
    """Mixin of :class:`~ssl_kit.methods.base.SSLModule`: ``configure_optimizers`` and its parts.

    Reads ``optimizer``, ``lr``, ``betas``, ``weight_decay``, ``momentum``, ``nesterov``,
    ``schedule``, ``lr_decay_start``, ``lr_epoch_decay`` and ``decay_beta1`` from the hyperparameters.
    """

    hparams: Any
    global_step: int

    def training_progress(self) -> float:
        """Fraction of training done, ``global_step / max_steps`` (ramp-ups are fractions of the run)."""
        if attached_trainer(self) is None:  # type: ignore[arg-type]
            return 0.0
        return self.global_step / total_steps(self)  # type: ignore[arg-type]

    def build_optimizer(self, params: Any) -> torch.optim.Optimizer:
        """The optimiser named by ``optimizer`` (Adam or SGD) over ``params``, with this module's settings."""
        hp = self.hparams
        if hp.get("optimizer", "adam") == "sgd":
            return sgd(params, lr=hp.lr, momentum=hp.momentum, nesterov=hp.nesterov, weight_decay=hp.weight_decay)
        return adam(params, lr=hp.lr, betas=tuple(hp.betas), weight_decay=hp.weight_decay)

    def lr_schedule(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        """Per-update rate factor: constant then linear decay to zero over the last
        ``1 - lr_decay_start`` of training, or ``lr_epoch_decay ** epoch`` when that is set, or the
        cosine schedule; with ``decay_beta1``, Adam's beta1 changes where the decay phase starts
        (:func:`~ssl_kit.methods.schedules.build_scheduler`)."""
        hp = self.hparams
        return build_scheduler(optimizer, hp.get("schedule", "linear"), total_steps(self),  # type: ignore[arg-type]
                               hp.lr_decay_start, hp.get("lr_epoch_decay"), hp.get("decay_beta1"),
                               self._steps_per_epoch)

    def _steps_per_epoch(self) -> int:
        """Training batches per epoch: the datamodule's ``batches_per_epoch()`` (known before the
        training loader exists), else the trainer's count once its loader is set up."""
        trainer = attached_trainer(self)  # type: ignore[arg-type]
        if trainer is None:
            raise ValueError("lr_epoch_decay needs a trainer to know the epoch length.")
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "batches_per_epoch"):
            batches = int(datamodule.batches_per_epoch())
            if trainer.fast_dev_run:  # True or a number of batches
                return min(batches, int(trainer.fast_dev_run))
            limit = trainer.limit_train_batches
            if isinstance(limit, int):
                return max(1, min(batches, limit))
            return max(1, int(batches * limit)) if limit is not None else batches
        batches = trainer.num_training_batches
        if not math.isfinite(batches) or batches < 1:
            raise ValueError("lr_epoch_decay needs a datamodule of this toolkit (batches_per_epoch) or a training "
                             "loader with a known length (steps_per_epoch).")
        return int(batches)

    def configure_optimizers(self) -> Any:
        """One optimiser over the trainable parameters, its schedule stepped every update."""
        optimizer = self.build_optimizer([p for p in self.parameters() if p.requires_grad])  # type: ignore[attr-defined]
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.lr_schedule(optimizer), "interval": "step"}}


__all__ = ["Optimisation"]
