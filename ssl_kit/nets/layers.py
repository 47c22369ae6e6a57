"""Small layers shared by the backbones."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class GaussianNoise(nn.Module):
    """Adds ``N(0, std^2)`` noise in training mode; the identity in evaluation mode."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.std > 0:
            return x + self.std * torch.randn_like(x)
        return x

    def extra_repr(self) -> str:
        return f"std={self.std}"


ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "softplus": nn.Softplus,
    "tanh": nn.Tanh,
}


def make_activation(name: str) -> nn.Module:
    """An activation module by name (``relu``, ``leaky_relu`` (slope 0.1), ``softplus``, ``tanh``)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}.")
    return ACTIVATIONS[name]()


def per_layer_rates(rates: float | Sequence[float], count: int, what: str = "dropout") -> list[float]:
    """Dropout rates for ``count`` layers: one rate for all, or one per layer (each in [0, 1))."""
    rates = [float(rates)] * count if isinstance(rates, (int, float)) else [float(r) for r in rates]
    if len(rates) != count:
        raise ValueError(f"{what} needs one rate or {count} rates (one per layer), got {len(rates)}.")
    if any(not 0.0 <= r < 1.0 for r in rates):
        raise ValueError(f"{what} rates must lie in [0, 1), got {rates}.")
    return rates


def dropout_layers(rate: float) -> list[nn.Module]:
    """``[nn.Dropout(rate)]``, or nothing for rate 0 (so a network without dropout keeps its layout)."""
    return [nn.Dropout(rate)] if rate > 0 else []
