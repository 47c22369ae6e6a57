"""Discriminator / generator pairs of Improved GAN (Salimans et al. 2016, arXiv 1606.03498).

Two pairs, with the sizes of the authors' code (openai/improved-gan, ``mnist_svhn_cifar10``):

* MLP pair (their MNIST script): a weight-normalised discriminator 1000-500-250-250-250 with
  Gaussian noise of std 0.3 on the input and 0.5 after every hidden layer, and a generator
  100-500-500-784 (softplus, batch norm without scale, sigmoid output with a weight-normalised
  last layer) driven by uniform noise. Any flat or image input shape works: the first layer of
  the discriminator and the last of the generator take ``prod(input_shape)`` units.
* Conv pair (their SVHN / CIFAR-10 scripts, "DCGAN-style"): a weight-normalised conv
  discriminator (dropout 0.2 on the input, 3x3 convs of ``widths[0]`` then ``widths[1]`` channels,
  each group ending in a stride-2 conv and dropout 0.5, then a 3x3 valid conv, two 1x1 convs,
  leaky ReLU 0.2 and global average pooling) and a transposed-conv generator (dense to
  ``widths[0] x H/8 x W/8``, 5x5 stride-2 transposed convs with batch norm and ReLU, a
  weight-normalised last layer and tanh). Widths 96/192 are their CIFAR-10 net, 64/128 SVHN.

Every discriminator returns the ``K`` class logits from ``forward`` (so it can be evaluated
like any classifier) and ``(logits, features)`` from :meth:`discriminate`, where ``features``
is the layer used for feature matching (the last hidden layer of the MLP, the pooled features
of the conv net, as in the reference) and ``logits`` has a ``K+1``-th column when
``explicit_fake_logit`` is set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ssl_kit.nets.layers import GaussianNoise
from ssl_kit.nets.weight_norm import WeightNormConv2d, WeightNormConvTranspose2d, WeightNormLinear

class DataRange(nn.Module):
    """``low + (high - low) * sigmoid(x)``: generated values inside the data's range.

    ``low`` and ``high`` are buffers, 0 and 1 (a plain sigmoid) until :meth:`fit` sets them from
    real data (the Improved GAN does so on its first batch), so a generator built before the data
    is seen matches data in [0, 1], [-1, 1] or any other range.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("low", torch.tensor(0.0))
        self.register_buffer("high", torch.tensor(1.0))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """Take the range of ``x``."""
        self.low.fill_(x.min().item())
        self.high.fill_(x.max().item())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.low + (self.high - self.low) * torch.sigmoid(x)


class AutoOutput(nn.Module):
    """``sigmoid`` when the data lies in [0, 1] (pixels), the identity otherwise, decided by :meth:`fit`.

    A generator whose output cannot reach the data cannot match its features: a sigmoid generator
    on the rings toy (values in about [-1.5, 1.5]) left the Improved GAN at 5.7, 5.8, 4.6 % test
    error where the identity (with the low-dimensional discriminator noise) gave 0.8, 0.8 %
    (seeds 1-2, 2,000 steps). The choice is a buffer, so a checkpoint keeps it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("squash", torch.tensor(True))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """Sigmoid if every value of ``x`` lies in [0, 1]."""
        self.squash.fill_(bool(x.min() >= 0 and x.max() <= 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x) if bool(self.squash) else x


OUTPUT_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "auto": AutoOutput,
    "data_range": DataRange,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
    "none": nn.Identity,
}


def _output_activation(name: str) -> nn.Module:
    if name not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"Unknown generator output activation {name!r}; choose one of {sorted(OUTPUT_ACTIVATIONS)} "
            "(it must match the data range: sigmoid for [0, 1], tanh for [-1, 1], softplus for non-negative data, "
            "none otherwise)."
        )
    return OUTPUT_ACTIVATIONS[name]()


class BatchStatNorm(nn.Module):
    """Batch normalisation with batch statistics only and a learned shift, no scale.

    This is the generator normalisation of the reference (``batch_norm(..., g=None)``): it
    always normalises with the statistics of the current batch (the reference never uses its
    running averages for the generator) and adds a trainable bias.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = [0, *range(2, x.dim())]
        mean = x.mean(dims, keepdim=True)
        var = (x - mean).square().mean(dims, keepdim=True)
        return (x - mean) / (var + 1e-6).sqrt() + self.bias.view([1, -1] + [1] * (x.dim() - 2))


class GanDiscriminator(nn.Module):
    """Common interface: ``forward`` gives class logits, :meth:`discriminate` logits and features.

    Args:
        num_classes: ``K``.
        explicit_fake_logit: output a ``K+1``-th logit for the fake class instead of fixing it at 0.
    """

    def __init__(self, num_classes: int, explicit_fake_logit: bool) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.explicit_fake_logit = explicit_fake_logit
        self.num_outputs = num_classes + int(explicit_fake_logit)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits, features)``: ``K`` (or ``K+1``) logits and the feature-matching layer."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The ``K`` class logits."""
        return self.discriminate(x)[0][:, : self.num_classes]


class GanMLPDiscriminator(GanDiscriminator):
    """The reference MNIST discriminator: weight-normalised ReLU MLP with Gaussian noise.

    Args:
        input_shape: shape of one example (flattened).
        num_classes: ``K``.
        hidden: hidden widths (reference: 1000, 500, 250, 250, 250).
        input_noise_std: Gaussian noise on the input (reference: 0.3).
        noise_std: Gaussian noise after every hidden layer (reference: 0.5).
        init_std: standard deviation of the weight directions (reference: 0.1).
        explicit_fake_logit: see :class:`GanDiscriminator`.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        hidden: Sequence[int] = (1000, 500, 250, 250, 250),
        input_noise_std: float = 0.3,
        noise_std: float = 0.5,
        init_std: float = 0.1,
        explicit_fake_logit: bool = False,
    ) -> None:
        super().__init__(num_classes, explicit_fake_logit)
        if not hidden:
            raise ValueError("The MLP discriminator needs at least one hidden layer (its features are matched).")
        self.input_noise = GaussianNoise(input_noise_std)
        widths = [math.prod(input_shape), *hidden]
        self.layers = nn.ModuleList(WeightNormLinear(a, b, init_std=init_std) for a, b in zip(widths, widths[1:]))
        self.noise = GaussianNoise(noise_std)
        self.head = WeightNormLinear(widths[-1], self.num_outputs, init_std=init_std, train_scale=True)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.input_noise(x.flatten(1))
        features = h
        for layer in self.layers:
            features = torch.relu(layer(h))
            h = self.noise(features)
        return self.head(h), features


class GanConvDiscriminator(GanDiscriminator):
    """The reference SVHN / CIFAR-10 discriminator (weight-normalised, dropout, global average pooling).

    Args:
        input_shape: ``(channels, height, width)``, height and width at least 9.
        num_classes: ``K``.
        widths: channels of the first and second conv groups (CIFAR-10: 96, 192; SVHN: 64, 128).
        input_dropout: dropout on the input (reference: 0.2).
        dropout: dropout after each stride-2 group (reference: 0.5).
        slope: leaky-ReLU slope (reference: 0.2).
        init_std: standard deviation of the weight directions (reference: 0.05).
        explicit_fake_logit: see :class:`GanDiscriminator`.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        widths: Sequence[int] = (96, 192),
        input_dropout: float = 0.2,
        dropout: float = 0.5,
        slope: float = 0.2,
        init_std: float = 0.05,
        explicit_fake_logit: bool = False,
    ) -> None:
        super().__init__(num_classes, explicit_fake_logit)
        if len(input_shape) != 3 or min(input_shape[1:]) < 9:
            raise ValueError(
                f"The conv discriminator needs images (channels, height, width) of at least 9x9, got "
                f"{tuple(input_shape)}; use backbone 'gan_mlp' for flat or smaller inputs."
            )
        if len(widths) != 2:
            raise ValueError(f"widths must give the channels of the two conv groups, got {tuple(widths)}.")
        c, w1, w2 = input_shape[0], widths[0], widths[1]

        def conv(a: int, b: int, k: int = 3, stride: int = 1, pad: int = 1) -> list[nn.Module]:
            return [WeightNormConv2d(a, b, k, stride, pad, init_std=init_std), nn.LeakyReLU(slope)]

        self.body = nn.Sequential(
            nn.Dropout(input_dropout),
            *conv(c, w1), *conv(w1, w1), *conv(w1, w1, stride=2), nn.Dropout(dropout),
            *conv(w1, w2), *conv(w2, w2), *conv(w2, w2, stride=2), nn.Dropout(dropout),
            *conv(w2, w2, pad=0), *conv(w2, w2, k=1, pad=0), *conv(w2, w2, k=1, pad=0),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = WeightNormLinear(w2, self.num_outputs, init_std=init_std, train_scale=True, init_scale=0.1)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.head(features), features


class FeatureHeadDiscriminator(GanDiscriminator):
    """Adapts any backbone with ``features`` and ``head`` submodules (e.g. ``mlp``) to the GAN.

    The features fed to ``head`` are the ones matched. Build the backbone with ``K+1`` outputs
    when ``explicit_fake_logit`` is set.
    """

    def __init__(self, backbone: nn.Module, num_classes: int, explicit_fake_logit: bool = False) -> None:
        super().__init__(num_classes, explicit_fake_logit)
        if not (hasattr(backbone, "features") and hasattr(backbone, "head")):
            raise TypeError(
                f"{type(backbone).__name__} has no `features`/`head` submodules, so its features cannot be "
                "matched; use backbone 'gan_mlp' or 'gan_conv', or give it a `discriminate(x)` method."
            )
        self.backbone = backbone

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone.features(x)
        return self.backbone.head(features), features


class GanGenerator(nn.Module):
    """Common interface: maps uniform noise ``U(0, 1)^latent_dim`` (as the reference) to examples."""

    latent_dim: int

    def sample_latent(self, n: int, device: torch.device | None = None) -> torch.Tensor:
        """``n`` latent vectors drawn from ``U(0, 1)``."""
        return torch.rand(n, self.latent_dim, device=device)

    def generate(self, n: int) -> torch.Tensor:
        """``n`` generated examples."""
        device = next(self.parameters()).device
        return self(self.sample_latent(n, device))


class GanMLPGenerator(GanGenerator):
    """The reference MNIST generator: 100-500-500-784, softplus with batch norm, sigmoid output.

    Args:
        output_shape: shape of one generated example (``input_shape`` of the data).
        latent_dim: noise dimension (reference: 100).
        hidden: hidden widths (reference: 500, 500).
        output_activation: ``auto`` (default: ``sigmoid`` for data in [0, 1], as the reference,
            else none; :class:`AutoOutput`), ``sigmoid``, ``softplus`` (non-negative, unbounded:
            kept the generator diverse in short MNIST runs, where the sigmoid one collapsed within
            about 10 batches), ``tanh``, ``data_range`` or ``none``.
    """

    def __init__(
        self,
        output_shape: Sequence[int],
        latent_dim: int = 100,
        hidden: Sequence[int] = (500, 500),
        output_activation: str = "auto",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.output_shape = tuple(output_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for out in hidden:
            linear = nn.Linear(width, out, bias=False)
            nn.init.xavier_uniform_(linear.weight)  # Lasagne's default (Glorot uniform)
            layers += [linear, BatchStatNorm(out), nn.Softplus()]
            width = out
        n_out = math.prod(output_shape)
        # The reference's last layer is weight-normalised with a trainable scale and no data init;
        # its direction is drawn with the Glorot standard deviation.
        layers += [
            WeightNormLinear(width, n_out, init_std=math.sqrt(2.0 / (width + n_out)), train_scale=True,
                             data_init=False),
            _output_activation(output_activation),
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.output_shape)


class GanConvGenerator(GanGenerator):
    """The reference SVHN / CIFAR-10 generator: dense, then 5x5 stride-2 transposed convs, tanh.

    The spatial size starts at ``ceil(H / 2^n) x ceil(W / 2^n)`` with ``n = len(widths)`` and
    doubles ``n`` times; the result is centre-cropped to ``H x W`` (a no-op for 32x32).

    Args:
        output_shape: ``(channels, height, width)`` of one generated image.
        latent_dim: noise dimension (reference: 100).
        widths: channels before each upsampling (reference: 512, 256, 128).
        init_std: standard deviation of the initial weights (reference: 0.05).
        output_activation: ``tanh`` (data in [-1, 1], reference), ``sigmoid`` or ``none``.
    """

    def __init__(
        self,
        output_shape: Sequence[int],
        latent_dim: int = 100,
        widths: Sequence[int] = (512, 256, 128),
        init_std: float = 0.05,
        output_activation: str = "tanh",
    ) -> None:
        super().__init__()
        if len(output_shape) != 3:
            raise ValueError(f"The conv generator makes images (channels, height, width), got {tuple(output_shape)}; "
                             "use generator 'gan_mlp' for flat data.")
        if not widths:
            raise ValueError("widths must name at least one layer.")
        self.latent_dim = latent_dim
        self.output_shape = tuple(output_shape)
        c, h, w = output_shape
        scale = 2 ** len(widths)
        self.start = (widths[0], math.ceil(h / scale), math.ceil(w / scale))
        dense = nn.Linear(latent_dim, math.prod(self.start), bias=False)
        nn.init.normal_(dense.weight, std=init_std)
        self.dense = nn.Sequential(dense, BatchStatNorm(math.prod(self.start)), nn.ReLU())
        ups: list[nn.Module] = []
        for a, b in zip(widths, widths[1:]):
            deconv = nn.ConvTranspose2d(a, b, 5, stride=2, padding=2, output_padding=1, bias=False)
            nn.init.normal_(deconv.weight, std=init_std)
            ups += [deconv, BatchStatNorm(b), nn.ReLU()]
        ups += [
            WeightNormConvTranspose2d(widths[-1], c, 5, stride=2, padding=2, output_padding=1, init_std=init_std,
                                      train_scale=True, init_scale=0.1),
            _output_activation(output_activation),
        ]
        self.ups = nn.Sequential(*ups)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.ups(self.dense(z).view(len(z), *self.start))
        _, h, w = self.output_shape
        top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
        return x[:, :, top : top + h, left : left + w]


GENERATORS: dict[str, Callable[..., GanGenerator]] = {"gan_mlp": GanMLPGenerator, "gan_conv": GanConvGenerator}


def build_generator(name: str, output_shape: Sequence[int], **kwargs: Any) -> GanGenerator:
    """Build the generator named ``name`` (``gan_mlp`` or ``gan_conv``) for examples of ``output_shape``."""
    if name not in GENERATORS:
        raise ValueError(f"Unknown generator {name!r}; choose one of {sorted(GENERATORS)}.")
    return GENERATORS[name](output_shape=tuple(output_shape), **kwargs)


def default_gan_pair(input_shape: Sequence[int]) -> str:
    """``gan_conv`` for images of at least 9x9 pixels, ``gan_mlp`` for anything else."""
    shape = tuple(input_shape)
    return "gan_conv" if len(shape) == 3 and min(shape[1:]) >= 9 else "gan_mlp"
