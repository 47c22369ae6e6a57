"""Multilayer perceptrons with batch norm, Gaussian noise and dropout, for flat or image inputs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ssl_kit.nets.layers import GaussianNoise, dropout_layers, make_activation, per_layer_rates


class MLP(nn.Module):
    """Flatten -> [noise] -> (Linear -> BN -> activation -> noise -> dropout) x L -> Linear logits.

    The default sizes are the VAT paper's MNIST network (784-1200-600-300-150-10).

    Args:
        input_shape: shape of one example; it is flattened.
        num_classes: number of output logits.
        hidden: widths of the hidden layers.
        batch_norm: batch normalisation after every hidden linear layer.
        noise_std: Gaussian noise added after every hidden activation (training only).
        input_noise_std: Gaussian noise added to the input (training only).
        activation: hidden activation name.
        top_bn: batch norm on the logits too (the VAT reference's MNIST network has it).
        dropout: dropout rate after every hidden layer (training only): one rate, or one per
            hidden layer; 0 adds no layer.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        hidden: Sequence[int] = (1200, 600, 300, 150),
        batch_norm: bool = True,
        noise_std: float = 0.0,
        input_noise_std: float = 0.0,
        activation: str = "relu",
        top_bn: bool = False,
        dropout: float | Sequence[float] = 0.0,
    ) -> None:
        super().__init__()
        rates = per_layer_rates(dropout, len(hidden))
        layers: list[nn.Module] = [nn.Flatten(), GaussianNoise(input_noise_std)]
        width = math.prod(input_shape)
        for out, rate in zip(hidden, rates):
            layers += [nn.Linear(width, out, bias=not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm1d(out))
            layers += [make_activation(activation), GaussianNoise(noise_std), *dropout_layers(rate)]
            width = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(width, num_classes), *([nn.BatchNorm1d(num_classes)] if top_bn else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch."""
        return self.head(self.features(x))
