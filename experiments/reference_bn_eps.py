"""The batch-norm epsilon of the VAT authors' MNIST code, as a callback for experiments.

takerum/vat normalises with ``sqrt(var + 1e-6)``; ``torch.nn.BatchNorm1d`` defaults to
``eps=1e-5``. Add it to any fit from the repository root::

    python -m ssl_kit.cli fit --config configs/vat/mnist_quick.yaml \\
        --trainer.callbacks+=experiments.reference_bn_eps.ReferenceBatchNormEps
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch.nn.modules.batchnorm import _BatchNorm


def set_batch_norm_eps(module: torch.nn.Module, eps: float) -> int:
    """Sets ``eps`` of every batch-norm layer in ``module``; returns how many layers it set."""
    layers = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    for layer in layers:
        layer.eps = eps
    return len(layers)


class ReferenceBatchNormEps(pl.Callback):
    """Sets ``eps`` of every batch-norm layer of the module before fit, test or prediction starts.

    The value is not part of a checkpoint: pass the callback to ``test`` as well.

    Args:
        eps: the value added to the batch variance under the square root.
    """

    def __init__(self, eps: float = 1e-6) -> None:
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}.")
        self.eps = eps

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        count = set_batch_norm_eps(pl_module, self.eps)
        rank_zero_info(f"ReferenceBatchNormEps: eps = {self.eps} in {count} batch-norm layers")
