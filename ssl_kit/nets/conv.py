"""Conv-small and conv-large of the VAT paper (Miyato et al. 2018, Table 6) for 32x32 images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ssl_kit.nets.layers import per_layer_rates


def _conv_bn(c_in: int, c_out: int, kernel: int, padding: int, slope: float) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, padding=padding, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(slope)]


class ConvNet(nn.Module):
    """Three conv blocks, global average pooling and a linear classifier.

    Layout (widths ``(a, b, c, d, e)``): ``3 x conv3x3(a)``, max-pool 2, dropout; ``3 x conv3x3(b)``,
    max-pool 2, dropout; ``conv3x3(c)`` (valid), ``conv1x1(d)``, ``conv1x1(e)``; global average
    pooling; linear. Every convolution is followed by batch norm and LeakyReLU(0.1).

    Args:
        input_shape: ``(channels, height, width)``; any spatial size of at least 12 pixels.
        num_classes: number of logits.
        widths: channel widths ``(a, b, c, d, e)``.
        dropout: dropout rate after each pooling: one rate, or one per pooling (two).
        slope: negative slope of the LeakyReLU.
        top_bn: batch norm on the logits (as the VAT reference code offers).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        widths: Sequence[int] = (128, 256, 512, 256, 128),
        dropout: float | Sequence[float] = 0.5,
        slope: float = 0.1,
        top_bn: bool = False,
    ) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"ConvNet needs image inputs (channels, height, width), got input_shape={tuple(input_shape)}.")
        if min(input_shape[1:]) < 12:
            raise ValueError(f"ConvNet needs images of at least 12x12 pixels, got {tuple(input_shape[1:])}.")
        a, b, c, d, e = widths
        first_rate, second_rate = per_layer_rates(dropout, 2)
        channels = input_shape[0]
        layers: list[nn.Module] = []
        for c_in, c_out in ((channels, a), (a, a), (a, a)):
            layers += _conv_bn(c_in, c_out, 3, 1, slope)
        layers += [nn.MaxPool2d(2), nn.Dropout(first_rate)]
        for c_in, c_out in ((a, b), (b, b), (b, b)):
            layers += _conv_bn(c_in, c_out, 3, 1, slope)
        layers += [nn.MaxPool2d(2), nn.Dropout(second_rate)]
        layers += _conv_bn(b, c, 3, 0, slope) + _conv_bn(c, d, 1, 0, slope) + _conv_bn(d, e, 1, 0, slope)
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(e, num_classes), *([nn.BatchNorm1d(num_classes)] if top_bn else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of images."""
        return self.head(self.features(x))


def conv_large(input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> ConvNet:
    """Conv-large: widths 128-256-512-256-128 (VAT paper, CIFAR-10 and SVHN)."""
    return ConvNet(input_shape, num_classes, widths=kwargs.pop("widths", (128, 256, 512, 256, 128)), **kwargs)


def conv_small(input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> ConvNet:
    """Conv-small: widths 96-192-192-192-192 (VAT paper, CIFAR-10; SVHN uses 64-128-128-128-128)."""
    return ConvNet(input_shape, num_classes, widths=kwargs.pop("widths", (96, 192, 192, 192, 192)), **kwargs)
