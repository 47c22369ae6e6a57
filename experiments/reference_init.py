"""The weight initialisation of the authors' MNIST code, as a callback for experiments.

takerum/vat draws every linear layer's weights from ``N(0, 1/fan_in)`` and sets its biases to 0;
``torch.nn.Linear`` draws ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, a standard deviation sqrt(3)
times smaller. Behind batch norm the scale leaves the function unchanged but not Adam's effective
step on the weights' direction. Add it to any fit from the repository root::

    python -m ssl_kit.cli fit --config configs/vat/mnist_quick.yaml \\
        --trainer.callbacks+=experiments.reference_init.ReferenceLinearInit
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch import nn


class ReferenceLinearInit(pl.Callback):
    """Redraws every ``nn.Linear`` of the module as ``N(0, 1/fan_in)`` with zero bias before the first update.

    Resumed runs (``global_step > 0``) are left alone. Under DDP every rank draws from its own
    generator state: seed the run (``seed_everything``) so that the ranks agree.
    """

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_step > 0:
            return
        layers = [m for m in pl_module.modules() if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for layer in layers:
                layer.weight.normal_(0.0, 1.0 / math.sqrt(layer.in_features))
                if layer.bias is not None:
                    layer.bias.zero_()
        rank_zero_info(f"ReferenceLinearInit: redrew {len(layers)} linear layers as N(0, 1/fan_in)")
