"""Backbones, built by name so that YAML configs can choose them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from ssl_kit.defaults import auto_backbone
from ssl_kit.nets.conv import ConvNet, conv_large, conv_small
from ssl_kit.nets.gan import (
    GENERATORS,
    GanConvDiscriminator,
    GanConvGenerator,
    GanDiscriminator,
    GanGenerator,
    GanMLPDiscriminator,
    GanMLPGenerator,
    build_generator,
)
from ssl_kit.nets.layers import GaussianNoise
from ssl_kit.nets.mlp import MLP

BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLP,
    "conv_small": conv_small,
    "conv_large": conv_large,
    "gan_mlp": GanMLPDiscriminator,
    "gan_conv": GanConvDiscriminator,
}


def register_backbone(name: str, factory: Callable[..., nn.Module]) -> None:
    """Make ``factory(input_shape=..., num_classes=..., **kwargs)`` available as ``backbone: name``."""
    BACKBONES[name] = factory


def build_backbone(name: str, input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> nn.Module:
    """Build the classifier named ``name`` for inputs of ``input_shape``.

    ``auto`` chooses by shape (:func:`ssl_kit.defaults.auto_backbone`): ``conv_small`` for
    images of at least 12x12 pixels, ``mlp`` otherwise (two hidden layers of 256 for fewer than
    256 input values); ``kwargs`` override the chosen network's arguments.
    """
    if name == "auto":
        name, chosen = auto_backbone(input_shape)
        kwargs = {**chosen, **kwargs}
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; choose auto or one of {sorted(BACKBONES)}.")
    return BACKBONES[name](input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)


__all__ = [
    "BACKBONES",
    "GENERATORS",
    "ConvNet",
    "GanConvDiscriminator",
    "GanConvGenerator",
    "GanDiscriminator",
    "GanGenerator",
    "GanMLPDiscriminator",
    "GanMLPGenerator",
    "GaussianNoise",
    "MLP",
    "build_backbone",
    "build_generator",
    "conv_large",
    "conv_small",
    "register_backbone",
]
