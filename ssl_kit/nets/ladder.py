"""Ladder network encoders and decoder (Rasmus et al. 2015, arXiv 1507.02672).

One :class:`LadderEncoder` holds the weights; its :meth:`~LadderEncoder.run` gives the clean pass
(no noise) or a corrupted pass (noise added to every layer's normalised pre-activation ``z_l``,
the input ``z_0 = x`` included) with the same weights. Every layer is
``z_l = BN(W_l h_{l-1}) (+ noise)``, ``h_l = act(gamma_l * (z_l + beta_l))``: batch normalisation
without a learned scale, a learned shift ``beta_l``, and a scale ``gamma_l`` only at the top
(softmax) layer, as in the paper's code (CuriousAI/ladder). :class:`LadderDecoder` reconstructs
``z_hat_l`` top-down with the vanilla combinator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from ssl_kit.losses.ladder import batch_moments, combinator_init, gauss_combinator, normalize_batch
from ssl_kit.nets.layers import make_activation

#: ``noise(layer, z) -> tensor to add to z``; layer 0 is the input.
NoiseFn = Callable[[int, torch.Tensor], torch.Tensor]

#: Conv-Large of the ladder paper (CIFAR-10 Γ-model): ``valid`` convolutions shrink a map by
#: ``k - 1``, ``full`` ones grow it by ``k - 1``; ``classes`` stands for ``num_classes``.
CONV_LARGE = (
    "conv:96:3:valid", "conv:96:3:full", "conv:96:3:full", "maxpool:2",
    "conv:192:3:valid", "conv:192:3:full", "conv:192:3:valid", "maxpool:2",
    "conv:192:3:valid", "conv:192:1:valid", "conv:classes:1:valid", "gap",
)


def gaussian_noise(std: float | Sequence[float]) -> NoiseFn:
    """A noise function adding ``N(0, std_l^2)`` at layer ``l`` (one ``std`` for all layers, or one per layer)."""

    def noise(layer: int, z: torch.Tensor) -> torch.Tensor:
        s = std if isinstance(std, (int, float)) else std[layer]
        return s * torch.randn_like(z) if s > 0 else torch.zeros_like(z)

    return noise


def _channel_view(v: torch.Tensor, dim: int) -> torch.Tensor:
    """A per-channel vector shaped to broadcast with a ``dim``-dimensional batch (channels on dim 1)."""
    return v.view(1, -1, *([1] * (dim - 2)))


class LadderBatchNorm(nn.Module):
    """Batch normalisation without learned parameters; running statistics only on request.

    In training mode a batch is normalised with its own statistics (per unit, or per channel for
    feature maps); the running averages (exponential, ``momentum`` = 1 - decay) are updated only when
    :meth:`forward` is called with ``update_stats=True``, which the ladder does for the clean pass
    alone. In evaluation mode the running averages are used.

    Like ``torch.nn.BatchNorm1d``, ``momentum=None`` makes the running statistics an equal-weight
    (cumulative) average of the batches since :meth:`reset_running_stats`, and ``track_running_stats``
    makes every training-mode pass update them: this is how
    :func:`ssl_kit.callbacks.recompute_batch_norm_statistics` refits the population statistics.
    """

    def __init__(self, channels: int, momentum: float | None = 0.01, eps: float = 1e-10) -> None:
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        #: Update the running statistics on every training-mode pass, not only with ``update_stats``.
        self.track_running_stats = False
        self.num_batches_tracked = 0
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, no batch counted (as ``torch.nn`` batch norm)."""
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked = 0

    @torch.no_grad()
    def _update(self, mean: torch.Tensor, unbiased: torch.Tensor) -> None:
        self.num_batches_tracked += 1
        rate = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean.lerp_(mean, rate)
        self.running_var.lerp_(unbiased, rate)

    def forward(self, x: torch.Tensor, update_stats: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(normalised x, mean, std)``, mean and std shaped to broadcast with ``x``."""
        if self.training:
            # The statistics are returned with their gradient (the clean pass's statistics normalise the
            # denoising targets); the normalised output comes from the fused kernel, whose backward
            # is several times cheaper than autograd through the separate operations.
            mean, var = batch_moments(x)
            if update_stats or self.track_running_stats:
                n = x.numel() // x.shape[1]
                self._update(mean.detach().flatten(), var.detach().flatten() * n / max(n - 1, 1))
            return normalize_batch(x, self.eps), mean, torch.sqrt(var + self.eps)
        mean = _channel_view(self.running_mean, x.dim())
        std = torch.sqrt(_channel_view(self.running_var, x.dim()) + self.eps)
        return (x - mean) / std, mean, std


class LadderLayer(nn.Module):
    """``z = BN(transform(h))`` and ``h' = act(gamma * (z + beta))`` for one encoder layer.

    Args:
        transform: the linear map (``Linear``/``Conv2d`` without bias) or pooling.
        channels: units (dense) or channels (maps) of the output.
        activation: activation name, or ``None`` for linear (pooling layers, the logits).
        bias: learn the shift ``beta``.
        scale: learn the scale ``gamma`` (the top layer only in the paper).
        bn_momentum: running-average rate of the batch statistics.
    """

    def __init__(
        self,
        transform: nn.Module,
        channels: int,
        activation: str | None,
        bias: bool,
        scale: bool,
        bn_momentum: float = 0.01,
    ) -> None:
        super().__init__()
        self.transform = transform
        self.bn = LadderBatchNorm(channels, bn_momentum)
        self.beta = nn.Parameter(torch.zeros(channels)) if bias else None
        self.gamma = nn.Parameter(torch.ones(channels)) if scale else None
        self.act = make_activation(activation) if activation else nn.Identity()

    def preactivation(self, h: torch.Tensor, update_stats: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(z, mean, std)``: the normalised pre-activation and the statistics that normalised it."""
        return self.bn(self.transform(h), update_stats)

    def activate(self, z: torch.Tensor) -> torch.Tensor:
        """``act(gamma * (z + beta))``."""
        if self.beta is not None:
            z = z + _channel_view(self.beta, z.dim())
        if self.gamma is not None:
            z = z * _channel_view(self.gamma, z.dim())
        return self.act(z)


@dataclass
class EncoderPass:
    """What one encoder pass leaves for the decoder: ``z[l]``, and the batch ``mean[l]``/``std[l]`` of layers >= 1."""

    z: dict[int, torch.Tensor] = field(default_factory=dict)
    mean: dict[int, torch.Tensor] = field(default_factory=dict)
    std: dict[int, torch.Tensor] = field(default_factory=dict)
    logits: torch.Tensor | None = None

    @property
    def probs(self) -> torch.Tensor:
        """The top activation ``h_L = softmax(logits)``."""
        return self.logits.softmax(dim=-1)


class LadderEncoder(nn.Module):
    """The shared-weight encoder of a ladder network; ``forward`` is the clean path's logits.

    Args:
        input_shape: shape of one example.
        layers: layers ``1 .. L``; the last one gives the logits.
        flatten: flatten the input first (dense encoders).
    """

    def __init__(self, input_shape: Sequence[int], layers: Sequence[LadderLayer], flatten: bool) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.flatten = flatten
        self.layers = nn.ModuleList(layers)
        self.feature_shapes = self._infer_shapes()

    @property
    def num_layers(self) -> int:
        """``L``, the index of the top (logit) layer."""
        return len(self.layers)

    def _infer_shapes(self) -> list[tuple[int, ...]]:
        """Per-example shapes of ``z_0 .. z_L``, by a dry run of the transforms."""
        with torch.no_grad():
            h = torch.zeros(2, *self.input_shape)
            h = h.flatten(1) if self.flatten else h
            shapes = [tuple(h.shape[1:])]
            too_small = (f"Input shape {self.input_shape} is too small for this encoder; use larger images, fewer "
                         "valid convolutions/poolings, or the dense encoder (backbone: ladder_mlp).")
            for layer in self.layers:
                try:
                    h = layer.transform(h)
                except RuntimeError as err:
                    raise ValueError(too_small) from err
                if h.numel() == 0:
                    raise ValueError(too_small)
                shapes.append(tuple(h.shape[1:]))
        return shapes

    def run(
        self,
        x: torch.Tensor,
        start: int = 0,
        noise: NoiseFn | None = None,
        update_stats: bool = False,
    ) -> EncoderPass:
        """One pass from layer ``start`` to the logits.

        Args:
            x: the input (``start = 0``), or the lateral value ``z_start`` of layer ``start``.
            start: where the pass begins (a per-layer perturbation re-enters here).
            noise: added to ``z_l`` for ``l >= start`` after normalisation (``None``: the clean pass).
            update_stats: update the running batch-norm statistics (the clean pass only).
        """
        out = EncoderPass()
        z = x.flatten(1) if (start == 0 and self.flatten) else x
        if noise is not None:
            z = z + noise(start, z)
        out.z[start] = z
        h = z if start == 0 else self.layers[start - 1].activate(z)
        for index in range(start + 1, self.num_layers + 1):
            layer = self.layers[index - 1]
            z, out.mean[index], out.std[index] = layer.preactivation(h, update_stats)
            if noise is not None:
                z = z + noise(index, z)
            out.z[index] = z
            h = layer.activate(z)
        out.logits = h
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the clean path (batch statistics in training mode, running ones in evaluation)."""
        return self.run(x).logits


def _dense(in_features: int, out_features: int) -> nn.Linear:
    linear = nn.Linear(in_features, out_features, bias=False)
    nn.init.normal_(linear.weight, std=1.0 / math.sqrt(in_features))  # W ~ N(0, 1/fan_in), as the paper's code
    return linear


def mlp_ladder_encoder(
    input_shape: Sequence[int],
    num_classes: int,
    hidden: Sequence[int] = (1000, 500, 250, 250, 250),
    activation: str = "relu",
    top_scale: bool = True,
    bn_momentum: float = 0.01,
) -> LadderEncoder:
    """The paper's dense encoder, 784-1000-500-250-250-250-10 on MNIST (any flattened input works).

    Registered as ``backbone: ladder_mlp``; the arguments after ``num_classes`` go in ``backbone_kwargs``.

    Args:
        input_shape: shape of one example; it is flattened.
        num_classes: number of logits.
        hidden: hidden widths (the paper's 1000-500-250-250-250).
        activation: hidden activation (``relu`` as in the paper's MNIST runs).
        top_scale: learn a scale ``gamma_L`` at the softmax, as the paper's code.
        bn_momentum: rate of the running batch-norm averages (decay 0.99 in the reference).
    """
    widths = [math.prod(input_shape), *hidden]
    layers = [LadderLayer(_dense(a, b), b, activation, bias=True, scale=False, bn_momentum=bn_momentum)
              for a, b in zip(widths[:-1], widths[1:])]
    layers.append(LadderLayer(_dense(widths[-1], num_classes), num_classes, None, bias=True, scale=top_scale,
                              bn_momentum=bn_momentum))
    return LadderEncoder(input_shape, layers, flatten=True)


def _conv(in_channels: int, out_channels: int, kernel: int, padding: str) -> nn.Conv2d:
    pads = {"valid": 0, "full": kernel - 1, "same": kernel // 2}
    if padding not in pads:
        raise ValueError(f"Unknown padding {padding!r}; choose one of {sorted(pads)}.")
    conv = nn.Conv2d(in_channels, out_channels, kernel, padding=pads[padding], bias=False)
    nn.init.normal_(conv.weight, std=1.0 / math.sqrt(in_channels * kernel * kernel))
    return conv


def conv_ladder_encoder(
    input_shape: Sequence[int],
    num_classes: int,
    conv_spec: Sequence[str] = CONV_LARGE,
    activation: str = "leaky_relu",
    top_scale: bool = False,
    bn_momentum: float = 0.01,
) -> LadderEncoder:
    """A convolutional encoder from a layer list; the default is the paper's Conv-Large (32x32 images).

    Registered as ``backbone: ladder_conv``; ``conv_spec``, ``activation``, ``top_scale`` and
    ``bn_momentum`` go in ``backbone_kwargs``.

    Tokens: ``conv:<channels>:<kernel>:<valid|full|same>`` (``channels`` may be ``classes``),
    ``maxpool:<size>``, ``gap`` (global mean pooling). Pooling layers are normalised and linear, as in
    the paper's code. If the list does not end with ``gap`` over ``num_classes`` channels, a dense
    layer to ``num_classes`` logits is appended. The CIFAR-10 Γ-model of the paper uses leaky ReLU
    (0.1) and no scale at the softmax, the defaults here.
    """
    if len(input_shape) != 3:
        raise ValueError(f"The convolutional ladder encoder needs (channels, height, width) inputs, got {tuple(input_shape)}; "
                         "use backbone: ladder_mlp for flat data.")
    channels = input_shape[0]
    layers: list[LadderLayer] = []
    for position, token in enumerate(conv_spec):
        kind, *args = token.split(":")
        last = position == len(conv_spec) - 1
        if kind == "conv":
            out = num_classes if args[0] == "classes" else int(args[0])
            layers.append(LadderLayer(_conv(channels, out, int(args[1]), args[2] if len(args) > 2 else "same"), out,
                                      activation, bias=True, scale=False, bn_momentum=bn_momentum))
            channels = out
        elif kind == "maxpool":
            layers.append(LadderLayer(nn.MaxPool2d(int(args[0])), channels, None, bias=False, scale=False,
                                      bn_momentum=bn_momentum))
        elif kind == "gap":
            top = last and channels == num_classes
            layers.append(LadderLayer(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), channels, None,
                                      bias=top, scale=top and top_scale, bn_momentum=bn_momentum))
        else:
            raise ValueError(f"Unknown layer token {token!r}; use conv:<c>:<k>:<padding>, maxpool:<k> or gap.")
    if not (conv_spec and conv_spec[-1] == "gap" and channels == num_classes):
        if not conv_spec or conv_spec[-1] != "gap":
            layers.append(LadderLayer(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), channels, None,
                                      bias=False, scale=False, bn_momentum=bn_momentum))
        layers.append(LadderLayer(_dense(channels, num_classes), num_classes, None, bias=True, scale=top_scale,
                                  bn_momentum=bn_momentum))
    return LadderEncoder(input_shape, layers, flatten=False)


class LadderDecoder(nn.Module):
    """Top-down denoising path: ``z_hat_l = g(z_tilde_l, u_l)`` for ``l = L .. lowest``.

    ``u_L = BN(h_tilde_L)`` (the corrupted softmax output) and ``u_l = BN(V_l z_hat_{l+1})`` below,
    with parameter-free batch normalisation and ``V_l`` initialised ``N(0, 1/fan_in)``. Each layer has
    its own vanilla combinator, ten parameters per unit (per channel for feature maps). With
    ``lowest = L`` this is the Γ-model's decoder, which needs no ``V``.

    Args:
        feature_shapes: per-example shapes of ``z_0 .. z_L`` (:attr:`LadderEncoder.feature_shapes`).
        lowest: the lowest layer reconstructed.
    """

    def __init__(self, feature_shapes: Sequence[Sequence[int]], lowest: int) -> None:
        super().__init__()
        self.top = len(feature_shapes) - 1
        if not 0 <= lowest <= self.top:
            raise ValueError(f"lowest must be in [0, {self.top}], got {lowest}.")
        self.lowest = lowest
        shapes = [tuple(s) for s in feature_shapes]
        if any(len(s) != 1 for s in shapes[lowest:self.top]):
            raise ValueError("The full decoder is implemented for dense layers only; for convolutional encoders "
                             "use the Γ-model (gamma: true), which reconstructs the top layer alone.")
        self.combinators = nn.ParameterDict({
            str(l): nn.Parameter(combinator_init((shapes[l][0], *([1] * (len(shapes[l]) - 1)))))
            for l in range(lowest, self.top + 1)
        })
        self.vertical = nn.ModuleDict({str(l): _dense(shapes[l + 1][0], shapes[l][0]) for l in range(lowest, self.top)})

    def forward(self, corrupted: EncoderPass) -> dict[int, torch.Tensor]:
        """Estimates ``z_hat_l`` for ``l = lowest .. L`` from a corrupted pass."""
        estimates: dict[int, torch.Tensor] = {}
        u = normalize_batch(corrupted.probs)
        for l in range(self.top, self.lowest - 1, -1):
            if l < self.top:
                u = normalize_batch(self.vertical[str(l)](estimates[l + 1]))
            estimates[l] = gauss_combinator(corrupted.z[l], u, self.combinators[str(l)])
        return estimates
