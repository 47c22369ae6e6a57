"""Pseudo-Label (Lee 2013, ICML Workshop on Challenges in Representation Learning)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.losses import check_rampup, confident_pseudo_labels, masked_cross_entropy, rampup
from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.registry import register_method


@register_method
class PseudoLabel(SSLModule):
    """``CE(labeled) + unsup_weight * ramp(t) * CE(noisy unlabeled view, confident hard labels)`` (Lee 2013, eq. 15).

    The unlabeled targets are the argmax (eq. 1) of the predictions on ``x_u``, held constant, and
    count only where the predicted probability reaches ``threshold``. Lee trains the network that
    fits them with dropout, so the fitted prediction is a noisy one, not the target's own pass
    (which would only sharpen it): here the fitted pass is on the datamodule's second view
    ``x_u_strong`` (asked for as ``weak``, another draw of the training augmentation, or, for data
    without augmentation, ``strong``: noise within half the data's neighbour distance), or on
    ``x_u`` itself when the datamodule gives none. The weight ramps up over the first
    ``rampup_length`` of training (eq. 16 ramps it linearly).

    Args:
        num_classes: number of classes.
        input_shape: shape of one input.
        unsup_weight: final weight of the pseudo-label term (Lee's ``alpha_f`` is 3; USB uses 1).
        threshold: confidence below which an unlabeled prediction gives no pseudo-label (USB 0.95;
            0 keeps all, as in the paper).
        rampup: ``"linear"`` (the paper's, and USB's) or ``"sigmoid"``.
        rampup_length: fraction of ``max_steps`` over which the weight ramps up (USB 0.4).
        **kwargs: see :class:`~ssl_kit.methods.base.SSLModule`.
    """

    balance_by_default = True

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        unsup_weight: float = 1.0,
        threshold: float = 0.95,
        rampup: Literal["linear", "sigmoid"] = "linear",
        rampup_length: float = 0.4,
        **kwargs: Any,
    ) -> None:
        if unsup_weight < 0 or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"PseudoLabel needs unsup_weight >= 0 and threshold in [0, 1]; got {unsup_weight}, {threshold}.")
        check_rampup(rampup, rampup_length)
        super().__init__(num_classes, input_shape, **kwargs)
        self.save_hyperparameters()

    def preferred_second_view(self, data: Any) -> str | None:
        """The noisy pass: another draw of the training augmentation (``weak``), or the strong view
        (bounded noise) where the data has no augmentation."""
        return "weak" if getattr(data, "train_transform", None) is not None else "strong"

    def training_step(self, batch: MixedBatch, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        parts = [batch.x_l, batch.x_u] + ([] if batch.x_u_strong is None else [batch.x_u_strong])
        logits_l, logits_u, *noisy = self.classifier(torch.cat(parts)).split([len(x) for x in parts])
        logits_noisy = noisy[0] if noisy else logits_u  # no second view: Lee's pass without dropout
        loss_sup = self.supervised_loss(logits_l, batch.y_l)
        labels, mask = confident_pseudo_labels(logits_u, hp.threshold)
        loss_unsup = masked_cross_entropy(logits_noisy, labels, mask)
        weight = hp.unsup_weight * rampup(hp.rampup, self.training_progress(), hp.rampup_length)
        loss = loss_sup + weight * loss_unsup + self.balance_term(logits_u, batch.y_l)
        self.log_dict({"train/loss_sup": loss_sup, "train/loss_unsup": loss_unsup, "train/mask_rate": mask.mean(),
                       "train/unsup_weight": weight})
        self.log("train/loss", loss, prog_bar=True)
        return loss
