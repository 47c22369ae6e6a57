"""FixMatch (Sohn et al. 2020, arXiv 2001.07685)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from pytorch_lightning.utilities import rank_zero_warn

from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.losses import confident_pseudo_labels, masked_cross_entropy
from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.registry import register_method


@register_method
class FixMatch(SSLModule):
    """``CE(labeled) + unsup_weight * l_u`` with ``l_u`` of eq. 2: confident hard labels from the weak
    view ``x_u`` (constants) enforced on the strong view ``x_u_strong``.

    One pass over the labeled batch and both unlabeled views together, so batch norm sees all of
    them (as USB's ``use_cat``). It asks a datamodule built without a second view for
    ``second_view: strong`` (RandAugment + Cutout on images, noise + feature dropout on other
    inputs); a datamodule that cannot give one makes it warn once and use ``x_u`` for both, where
    only the network's own noise or dropout makes the views differ (then it is Pseudo-Label with a
    threshold). No ramp-up: the threshold
    keeps the term small while predictions are unconfident.

    Args:
        num_classes: number of classes.
        input_shape: shape of one input.
        unsup_weight: weight of the unlabeled term (the paper's ``lambda_u`` = 1).
        threshold: confidence ``tau`` a weak-view prediction needs to become a pseudo-label (0.95).
        ema_decay: evaluate a moving average of the weights, as the paper (decay 0.999 there;
            ``"auto"``, the default: a horizon of 5 % of the run; ``None``: the trained weights).
        **kwargs: see :class:`~ssl_kit.methods.base.SSLModule`.
    """

    balance_by_default = True

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        unsup_weight: float = 1.0,
        threshold: float = 0.95,
        ema_decay: float | str | None = "auto",
        **kwargs: Any,
    ) -> None:
        if unsup_weight < 0 or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"FixMatch needs unsup_weight >= 0 and threshold in [0, 1]; got {unsup_weight}, {threshold}.")
        super().__init__(num_classes, input_shape, ema_decay=ema_decay, **kwargs)
        self.save_hyperparameters()
        self._warned_no_strong_view = False

    def preferred_second_view(self, data: Any) -> str | None:
        """The strong view (RandAugment + Cutout on images, noise on other inputs): eq. 2's ``A(u)``."""
        return "strong"

    def training_step(self, batch: MixedBatch, batch_idx: int) -> torch.Tensor:
        x_strong = batch.x_u_strong
        if x_strong is None:
            if not self._warned_no_strong_view:
                rank_zero_warn("FixMatch got no strong view of the unlabeled batch and uses x_u for both views; build "
                               "the datamodule with second_view='strong' (--data.init_args.second_view strong).")
                self._warned_no_strong_view = True
            x_strong = batch.x_u
        hp = self.hparams
        sizes = [len(batch.x_l), len(batch.x_u), len(x_strong)]
        logits = self.classifier(torch.cat([batch.x_l, batch.x_u, x_strong]))
        logits_l, logits_weak, logits_strong = logits.split(sizes)
        loss_sup = self.supervised_loss(logits_l, batch.y_l)
        labels, mask = confident_pseudo_labels(logits_weak, hp.threshold)
        loss_unsup = masked_cross_entropy(logits_strong, labels, mask)
        loss = loss_sup + hp.unsup_weight * loss_unsup + self.balance_term(logits_weak, batch.y_l)
        self.log_dict({"train/loss_sup": loss_sup, "train/loss_unsup": loss_unsup, "train/mask_rate": mask.mean()})
        self.log("train/loss", loss, prog_bar=True)
        return loss
