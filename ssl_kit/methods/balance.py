"""The class-balance safeguard every method can add to its unlabeled loss (``balance_weight``)."""

from __future__ import annotations

from typing import Any

import torch

from ssl_kit.defaults.consistency import BALANCE_WEIGHT, class_prior
from ssl_kit.losses.balance import class_balance_loss

#: Name of the buffer counting the labeled classes seen (saved in checkpoints).
COUNTS_KEY = "labeled_class_counts"


def check_balance_weight(balance_weight: float | str | None) -> None:
    """Refuse a ``balance_weight`` that is not a number >= 0, ``"auto"`` or ``None``."""
    if isinstance(balance_weight, str) and balance_weight != "auto":
        raise ValueError(f"balance_weight must be a number >= 0, 'auto' or null; got {balance_weight!r}.")
    if isinstance(balance_weight, (int, float)) and balance_weight < 0:
        raise ValueError(f"balance_weight must be >= 0; got {balance_weight}.")


class ClassBalance:
    """Mixin of :class:`~ssl_kit.methods.base.SSLModule`: ``balance_weight x KL(pbar || prior)``.

    :func:`ssl_kit.losses.class_balance_loss` of the unlabeled predictions against the class
    shares of the labeled examples seen so far (:func:`ssl_kit.defaults.consistency.class_prior`).
    ``balance_weight: auto`` is :data:`~ssl_kit.defaults.consistency.BALANCE_WEIGHT` for the
    methods whose class sets ``balance_by_default``, else 0; a method adds :meth:`balance_term`
    to its loss.
    """

    #: Whether ``balance_weight: auto`` turns the safeguard on for this method.
    balance_by_default: bool = False
    hparams: Any

    def init_balance(self, num_classes: int) -> None:
        """Create the labeled-class counter (a buffer, so it resumes with the checkpoint)."""
        self.register_buffer(COUNTS_KEY, torch.zeros(num_classes, dtype=torch.long))  # type: ignore[attr-defined]

    @property
    def balance_weight(self) -> float:
        """The weight of the safeguard (``auto`` resolved)."""
        weight = self.hparams.get("balance_weight", "auto")
        if weight is None:
            return 0.0
        if weight == "auto":
            return BALANCE_WEIGHT if self.balance_by_default else 0.0
        return float(weight)

    def balance_term(self, logits_u: torch.Tensor, y_l: torch.Tensor | None = None) -> torch.Tensor:
        """``balance_weight * KL(pbar || prior)`` of ``logits_u`` (0 when off); counts ``y_l`` into the prior."""
        counts: torch.Tensor = getattr(self, COUNTS_KEY)
        if y_l is not None and len(y_l):
            counts += torch.bincount(y_l.detach().to(counts.device), minlength=len(counts))
        weight = self.balance_weight
        if weight == 0 or len(logits_u) == 0:
            return logits_u.new_zeros(())
        loss = class_balance_loss(logits_u, class_prior(counts).to(logits_u.device))
        self.log("train/loss_balance", loss.detach())  # type: ignore[attr-defined]
        return weight * loss

    def fill_missing_balance_state(self, checkpoint: dict[str, Any]) -> None:
        """A checkpoint written before the counter existed loads with a zero count."""
        state = checkpoint.get("state_dict")
        if isinstance(state, dict) and COUNTS_KEY not in state:
            state[COUNTS_KEY] = torch.zeros_like(getattr(self, COUNTS_KEY))


__all__ = ["COUNTS_KEY", "ClassBalance", "check_balance_weight"]
