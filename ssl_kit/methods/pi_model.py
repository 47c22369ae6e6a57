"""The Π-model (Laine & Aila 2017, arXiv 1610.02242; Sajjadi et al. 2016, arXiv 1606.04586)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from pytorch_lightning.utilities import rank_zero_info

from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.defaults.consistency import PI_MODEL_W_MAX, pi_model_weight
from ssl_kit.losses import check_rampup, rampup, softmax_mse
from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.data_link import label_counts
from ssl_kit.methods.registry import register_method


@register_method
class PiModel(SSLModule):
    """``CE(labeled) + unsup_weight * w(t) * mean ||softmax(z) - softmax(z~)||^2`` (Laine & Aila 2017, Algorithm 1).

    ``z`` and ``z~`` are two stochastic predictions of each unlabeled example: on ``x_u`` and on
    the second view ``x_u_strong`` when the datamodule yields one (``second_view: weak`` draws the
    training augmentation twice, as USB does; asked for when the datamodule was built without a
    second view, ``strong`` noise for data without augmentation), else on ``x_u`` twice, where only the network's own
    noise or dropout (e.g. ``backbone_kwargs.input_noise_std``) makes them differ: with neither,
    the term is zero. The first prediction is the (constant) target, as in USB. The weight ramps
    up over the first ``rampup_length`` of training (the paper's Gaussian ``exp(-5 (1 - t)^2)``).

    Args:
        num_classes: number of classes.
        input_shape: shape of one input.
        unsup_weight: final weight of the consistency term; ``None`` (default): the paper's
            ``w_max * M / N`` with ``w_max = 100`` and ``M`` of ``N`` training examples labeled
            (:func:`ssl_kit.defaults.consistency.pi_model_weight`; 0.17 for MNIST's 100 labels,
            USB uses 10 whatever the labels), set when training starts.
        rampup: ``"sigmoid"`` (the paper's) or ``"linear"`` (USB's).
        rampup_length: fraction of ``max_steps`` over which the weight ramps up (USB 0.4).
        ema_decay: evaluate a moving average of the weights (``"auto"``, the default: a horizon
            of 5 % of the run; ``None``: the trained weights, as the paper).
        **kwargs: see :class:`~ssl_kit.methods.base.SSLModule`.
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        unsup_weight: float | None = None,
        rampup: Literal["linear", "sigmoid"] = "sigmoid",
        rampup_length: float = 0.4,
        ema_decay: float | str | None = "auto",
        **kwargs: Any,
    ) -> None:
        if unsup_weight is not None and unsup_weight < 0:
            raise ValueError(f"PiModel needs unsup_weight >= 0 (or null: w_max M / N); got {unsup_weight}.")
        check_rampup(rampup, rampup_length)
        super().__init__(num_classes, input_shape, ema_decay=ema_decay, **kwargs)
        self.save_hyperparameters()
        #: The consistency weight in use (``unsup_weight``, or the paper's rule once the split is known).
        self.consistency_weight = 1.0 if unsup_weight is None else float(unsup_weight)

    def setup(self, stage: str) -> None:
        """The base class's checks, then ``unsup_weight: null`` from the split's label counts."""
        super().setup(stage)
        counts = label_counts(self)
        if self.hparams.unsup_weight is None and counts is not None:
            self.consistency_weight = pi_model_weight(*counts)
            rank_zero_info(f"PiModel: unsup_weight {self.consistency_weight:.3g} = {PI_MODEL_W_MAX:g} x "
                           f"{counts[0]} labeled / {counts[1]} training examples (Laine & Aila 2017).")

    def preferred_second_view(self, data: Any) -> str | None:
        """Another draw of the training augmentation (``weak``), as the paper; the strong view (noise on
        vectors) when the data has no augmentation, where two draws would be the same input."""
        return "weak" if getattr(data, "train_transform", None) is not None else "strong"

    def training_step(self, batch: MixedBatch, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        x_u2 = batch.x_u if batch.x_u_strong is None else batch.x_u_strong
        sizes = [len(batch.x_l), len(batch.x_u), len(x_u2)]
        logits_l, logits_u, logits_u2 = self.classifier(torch.cat([batch.x_l, batch.x_u, x_u2])).split(sizes)
        loss_sup = self.supervised_loss(logits_l, batch.y_l)
        loss_unsup = softmax_mse(logits_u2, logits_u)
        weight = self.consistency_weight * rampup(hp.rampup, self.training_progress(), hp.rampup_length)
        loss = loss_sup + weight * loss_unsup + self.balance_term(logits_u, batch.y_l)
        self.log_dict({"train/loss_sup": loss_sup, "train/loss_unsup": loss_unsup, "train/unsup_weight": weight})
        self.log("train/loss", loss, prog_bar=True)
        return loss
