"""The labeled-only baseline."""

from __future__ import annotations

import torch

from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.registry import register_method


@register_method
class Supervised(SSLModule):
    """Cross-entropy on the labeled examples only; the unlabeled part of each batch is ignored.

    Takes the arguments of :class:`~ssl_kit.methods.base.SSLModule`.
    """

    def training_step(self, batch: MixedBatch, batch_idx: int) -> torch.Tensor:
        loss = self.supervised_loss(self.classifier(batch.x_l), batch.y_l)
        self.log("train/loss", loss, prog_bar=True)
        return loss
