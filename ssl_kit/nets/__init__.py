"""Backbones, built by name so that YAML configs can choose them.

Every method chooses its network with ``backbone`` (a key of :data:`BACKBONES`) and
``backbone_kwargs`` (the factory's own arguments). A user network joins the same way::

    from ssl_kit.nets import register_backbone

    @register_backbone("my_net")
    class MyNet(nn.Module):
        def __init__(self, input_shape, num_classes, width=64): ...

after which a config may say ``backbone: my_net`` and ``backbone_kwargs: {width: 128}`` (the module
that registers it must be imported first, e.g. from the script that runs the CLI). The ladder
methods need a :class:`~ssl_kit.nets.ladder.LadderEncoder` (``ladder_mlp``, ``ladder_conv``); the
Improved GAN a :class:`~ssl_kit.nets.gan.GanDiscriminator` or any network with ``features`` and
``head`` submodules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

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
from ssl_kit.nets.ladder import LadderEncoder, conv_ladder_encoder, mlp_ladder_encoder
from ssl_kit.nets.layers import GaussianNoise
from ssl_kit.nets.mlp import MLP
from ssl_kit.nets.small_cnn import SmallCNN
from ssl_kit.nets.wrn import WideResNet, wrn28_2
from ssl_kit.nets.text import TextClassifier, text_backbone_for, text_bilstm, text_cnn, text_mean
from ssl_kit.text.shape import is_token_shape

BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLP,
    "conv_small": conv_small,
    "conv_large": conv_large,
    "small_cnn": SmallCNN,
    "gan_mlp": GanMLPDiscriminator,
    "gan_conv": GanConvDiscriminator,
    "ladder_mlp": mlp_ladder_encoder,
    "ladder_conv": conv_ladder_encoder,
    "wrn28_2": wrn28_2,
    "text_bilstm": text_bilstm,
    "text_cnn": text_cnn,
    "text_mean": text_mean,
}

F = TypeVar("F", bound=Callable[..., nn.Module])


def register_backbone(name: str, factory: F | None = None) -> F | Callable[[F], F]:
    """Make ``factory(input_shape=..., num_classes=..., **kwargs)`` available as ``backbone: name``.

    Call it as ``register_backbone("my_net", factory)`` or use it as a decorator,
    ``@register_backbone("my_net")``, on a class or function; a later registration under the same
    name replaces the earlier one.
    """

    def register(f: F) -> F:
        BACKBONES[name] = f
        return f

    return register if factory is None else register(factory)


def build_backbone(name: str, input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> nn.Module:
    """Build the classifier named ``name`` for inputs of ``input_shape``.

    ``auto`` chooses by shape (:func:`ssl_kit.defaults.auto_backbone`): ``conv_small`` for
    images of at least 12x12 pixels, ``mlp`` otherwise (two hidden layers of 256 for fewer than
    256 input values); ``kwargs`` override the chosen network's arguments. Token ids (a
    :class:`~ssl_kit.text.shape.TokenShape`, e.g. a text datamodule's ``input_shape``) get
    ``text_mean`` with the data's vocabulary size (:func:`~ssl_kit.nets.text.text_backbone_for`).
    """
    if is_token_shape(input_shape):
        name, kwargs = text_backbone_for(name, input_shape, kwargs)
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
    "LadderEncoder",
    "MLP",
    "SmallCNN",
    "WideResNet",
    "TextClassifier",
    "build_backbone",
    "build_generator",
    "conv_large",
    "conv_ladder_encoder",
    "conv_small",
    "mlp_ladder_encoder",
    "register_backbone",
    "wrn28_2",
    "text_bilstm",
    "text_cnn",
    "text_mean",
]
