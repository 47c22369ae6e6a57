"""The small CNN of the Keras MNIST example, a common supervised baseline for VAT as a regulariser."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ssl_kit.nets.layers import per_layer_rates


class SmallCNN(nn.Module):
    """conv3x3(32) -> ReLU -> conv3x3(64) -> ReLU -> max-pool 2 -> dropout -> dense(128) -> ReLU -> dropout -> logits.

    Convolutions without padding, as in the Keras example (28x28 -> 26 -> 24 -> 12, so
    64 * 12 * 12 = 9216 features), no batch norm. The example's rates are 0.25 after the conv
    block and 0.5 before the last layer; the default here is no dropout, so that dropout is
    switched on explicitly (``dropout: [0.25, 0.5]``) when it is compared with VAT.

    Args:
        input_shape: ``(channels, height, width)``, at least 6x6 pixels.
        num_classes: number of logits.
        channels: widths of the two convolutions.
        hidden: width of the dense layer.
        dropout: rate after the conv block and before the last layer: one rate for both, or two.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        channels: Sequence[int] = (32, 64),
        hidden: int = 128,
        dropout: float | Sequence[float] = 0.0,
    ) -> None:
        super().__init__()
        if len(input_shape) != 3 or min(input_shape[1:]) < 6:
            raise ValueError(f"SmallCNN needs images (channels, height, width) of at least 6x6 pixels, "
                             f"got input_shape={tuple(input_shape)}; use flatten: false for MNIST.")
        conv_rate, dense_rate = per_layer_rates(dropout, 2)
        c_in, (c1, c2) = input_shape[0], channels
        height, width = ((size - 4) // 2 for size in input_shape[1:])
        self.features = nn.Sequential(
            nn.Conv2d(c_in, c1, 3), nn.ReLU(), nn.Conv2d(c1, c2, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(conv_rate), nn.Flatten(),
            nn.Linear(c2 * math.prod((height, width)), hidden), nn.ReLU(), nn.Dropout(dense_rate),
        )
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of images."""
        return self.head(self.features(x))
