"""Exponential moving average (EMA) of the classifier's weights, evaluated in its place.

The average of Polyak & Juditsky (1992) in its exponential form, as Mean Teacher (Tarvainen &
Valpola 2017, Eq. 1: ``theta'_t = alpha theta'_{t-1} + (1 - alpha) theta_t``) and FixMatch's
evaluation use it.
"""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ssl_kit.defaults import ema_decay_for_run, ema_initial_share, horizon_steps
from ssl_kit.methods.attached import total_steps


class EMAUpdate:
    """In-place exponential moving average of parameter lists, with a decay set after construction.

    ``ema_decay: auto`` knows its decay only once the run's length is known (at fit start).
    """

    def __init__(self, decay: float) -> None:
        self.decay = decay

    @torch.no_grad()
    def __call__(self, averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged: Any) -> None:
        for avg, cur in zip(averaged, current):
            if avg.is_floating_point():
                avg.lerp_(cur, 1.0 - self.decay)
            else:  # counters such as batch norm's num_batches_tracked
                avg.copy_(cur)


def check_ema_decay(ema_decay: float | str | None) -> None:
    """Refuse an ``ema_decay`` that is not a number in [0, 1), ``"auto"`` or ``None``."""
    if isinstance(ema_decay, str) and ema_decay != "auto":
        raise ValueError(f"ema_decay must be a number in [0, 1), 'auto' or null; got {ema_decay!r}.")
    if isinstance(ema_decay, (int, float)) and not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must lie in [0, 1); got {ema_decay}.")


class WeightAveraging:
    """Mixin of :class:`~ssl_kit.methods.base.SSLModule`: ``self.ema``, the averaged classifier.

    :meth:`init_averaging` builds it after the classifier; every optimiser step folds the new
    weights in; :attr:`eval_classifier` is what validation, test and prediction run.
    """

    hparams: Any
    classifier: nn.Module
    # Annotations only: a class-level ``ema = None`` would hide the registered submodule.
    ema: AveragedModel | None
    _ema_update: EMAUpdate | None

    def init_averaging(self, ema_decay: float | str | None) -> None:
        """Average ``self.classifier`` with ``ema_decay`` (``"auto"``: set at fit start), or not (``None``)."""
        self.ema = None
        self._ema_update = None
        if ema_decay is not None:
            self._ema_update = EMAUpdate(0.0 if ema_decay == "auto" else float(ema_decay))
            self.ema = AveragedModel(self.classifier, multi_avg_fn=self._ema_update, use_buffers=True)
            self.ema.requires_grad_(False)  # never trained: keep it out of the optimiser and DDP's reducer

    @property
    def eval_classifier(self) -> nn.Module:
        """The network used for validation, test and prediction (the moving average if any)."""
        return self.ema.module if self.ema is not None else self.classifier

    @property
    def averaging_decay(self) -> float | None:
        """Decay of the evaluated weight average (``ema_decay: auto`` resolved at fit start), or ``None``."""
        return None if self._ema_update is None else self._ema_update.decay

    def on_fit_start(self) -> None:
        """Set ``ema_decay: auto`` from the run's length; warn when a fixed decay outlasts the run."""
        if self._ema_update is None:
            return
        total = total_steps(self)  # type: ignore[arg-type]
        if self.hparams.ema_decay == "auto":
            self._ema_update.decay = ema_decay_for_run(total)
            return
        initial = ema_initial_share(self._ema_update.decay, total)
        if initial > 0.05:
            rank_zero_warn(
                f"ema_decay={self._ema_update.decay} averages over about {horizon_steps(self._ema_update.decay):.0f} "
                f"steps but the run has {total}: the evaluated weights keep {100 * initial:.0f} % of the initial "
                "ones. Use ema_decay: auto (horizon 5 % of the run) or null."
            )

    def update_ema(self) -> None:
        """Fold the classifier's current weights into the moving average (if any).

        Called right after each optimizer step, so a checkpoint written at the end of a batch
        holds the average of that batch already. Methods with manual optimisation call it after
        their classifier's step.
        """
        if self.ema is not None:
            self.ema.update_parameters(self.classifier)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """Lightning's optimiser step, then :meth:`update_ema`."""
        super().optimizer_step(*args, **kwargs)  # type: ignore[misc]
        self.update_ema()


__all__ = ["EMAUpdate", "WeightAveraging", "check_ema_decay"]
