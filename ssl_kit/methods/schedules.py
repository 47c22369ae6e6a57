"""Learning-rate schedules as pure functions of the update index, and the scheduler they build."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ssl_kit.methods.optim import DecayPhaseBeta1


def linear_decay(step: int, total_steps: int, decay_start: float) -> float:
    """Learning-rate factor: 1 until ``decay_start * total_steps``, then linearly down to 0.

    This is the schedule of the VAT and Ladder papers (constant, then linear decay to zero);
    ``decay_start = 1`` keeps the rate constant.
    """
    start = decay_start * total_steps
    if step < start or total_steps <= start:
        return 1.0
    return max(0.0, (total_steps - step) / (total_steps - start))


def cosine_decay(step: int, total_steps: int, cycles: float = 7 / 16) -> float:
    """Learning-rate factor ``cos(pi * cycles * step / total_steps)``, floored at 0.

    FixMatch's schedule (Sohn et al. 2020, Section 4: ``eta cos(7 pi k / (16 K))``), used by USB
    for every classic-CV method; it ends at ``cos(7 pi / 16) ~ 0.2`` of the initial rate.
    """
    return max(0.0, math.cos(math.pi * cycles * min(step, total_steps) / max(1, total_steps)))


def check_schedule_arguments(optimizer: str, schedule: str, lr_decay_start: float, lr_epoch_decay: float | None,
                             decay_beta1: float | None) -> None:
    """Refuse an unknown optimiser or schedule and settings outside their ranges, naming the fix."""
    if optimizer not in ("adam", "sgd") or schedule not in ("linear", "cosine"):
        raise ValueError(f"optimizer is 'adam' or 'sgd' and schedule 'linear' or 'cosine'; got {optimizer!r}, "
                         f"{schedule!r}.")
    if decay_beta1 is not None and optimizer == "sgd":
        raise ValueError("decay_beta1 changes Adam's beta1; SGD has none (set decay_beta1: null).")
    if schedule == "cosine" and (lr_epoch_decay is not None or decay_beta1 is not None):
        raise ValueError("schedule 'cosine' replaces the linear / per-epoch decay: set lr_epoch_decay and "
                         "decay_beta1 to null.")
    if not 0.0 <= lr_decay_start <= 1.0:
        raise ValueError(f"lr_decay_start is a fraction of training in [0, 1]; got {lr_decay_start}.")
    if lr_epoch_decay is not None and not 0.0 < lr_epoch_decay <= 1.0:
        raise ValueError(f"lr_epoch_decay must lie in (0, 1]; got {lr_epoch_decay}.")
    if decay_beta1 is not None and not 0.0 <= decay_beta1 < 1.0:
        raise ValueError(f"decay_beta1 must lie in [0, 1); got {decay_beta1}.")


def build_scheduler(optimizer: torch.optim.Optimizer, schedule: str, total_steps: int, lr_decay_start: float,
                    lr_epoch_decay: float | None, decay_beta1: float | None,
                    steps_per_epoch: Callable[[], int]) -> torch.optim.lr_scheduler.LambdaLR:
    """The per-update scheduler of ``optimizer``.

    Args:
        optimizer: the optimiser whose rate it scales.
        schedule: ``"cosine"`` (:func:`cosine_decay` over ``total_steps``) or ``"linear"``.
        total_steps: updates in the run.
        lr_decay_start: with ``"linear"``, the fraction of the run after which the rate decays to 0.
        lr_epoch_decay: if set (``"linear"`` only), the factor ``lr_epoch_decay ** epoch`` instead.
        decay_beta1: if set, Adam's beta1 from the first update of the decay phase on
            (:class:`~ssl_kit.methods.optim.DecayPhaseBeta1`); a constant rate has no such phase.
        steps_per_epoch: called only with ``lr_epoch_decay``, for the epoch length.
    """
    if schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cosine_decay(step, total_steps))
    if lr_epoch_decay is not None:
        per_epoch = steps_per_epoch()
        factor = lambda step: lr_epoch_decay ** (step // per_epoch)  # noqa: E731
        decay_start_step = per_epoch if lr_epoch_decay < 1.0 else None
    else:
        factor = lambda step: linear_decay(step, total_steps, lr_decay_start)  # noqa: E731
        decay_start_step = math.ceil(lr_decay_start * total_steps) if lr_decay_start < 1.0 else None
    if decay_beta1 is None or decay_start_step is None:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return DecayPhaseBeta1(optimizer, factor, decay_beta1, decay_start_step)


__all__ = ["build_scheduler", "check_schedule_arguments", "cosine_decay", "linear_decay"]
