"""Weight-normalised layers with data-dependent initialisation (Salimans & Kingma 2016, arXiv 1602.07868).

Each layer computes ``w = g * v / ||v||`` per output unit (Eq. 2 of that paper) and adds a bias.
A layer asked for data-dependent initialisation (:func:`data_dependent_init`) rescales ``g`` and
sets the bias on its next batch so that its pre-activations have zero mean and standard
deviation ``init_scale`` per unit (Sec. 3 there), as the Improved-GAN reference code does before
training. As in that code, ``g`` is a trainable parameter only where asked (``train_scale``, the
output layers); elsewhere it is a buffer that the initialisation sets once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class WeightNormLayer(nn.Module):
    """Base of the weight-normalised layers; subclasses supply the linear operation.

    Args:
        weight_shape: shape of the direction ``v`` (as the matching ``torch.nn`` layer's weight).
        out_axis: the axis of ``v`` that indexes output units.
        init_std: standard deviation of the normal draw of ``v`` (it sets the scale at which
            Adam moves the direction).
        train_scale: make ``g`` trainable (else a buffer set by the data-dependent init).
        init_scale: standard deviation of the pre-activations after data-dependent init.
        data_init: take part in :func:`data_dependent_init`.
    """

    def __init__(
        self,
        weight_shape: Sequence[int],
        out_axis: int,
        init_std: float,
        train_scale: bool,
        init_scale: float = 1.0,
        data_init: bool = True,
    ) -> None:
        super().__init__()
        self.out_axis = out_axis
        num_out = weight_shape[out_axis]
        self.direction = nn.Parameter(torch.randn(*weight_shape) * init_std)
        self.bias = nn.Parameter(torch.zeros(num_out))
        if train_scale:
            self.scale = nn.Parameter(torch.ones(num_out))
        else:
            self.register_buffer("scale", torch.ones(num_out))
        self.init_scale = init_scale
        self.data_init = data_init
        self.init_pending = False

    def weight(self) -> torch.Tensor:
        """``g * v / ||v||`` with the norm taken over every axis but the output axis."""
        dims = [d for d in range(self.direction.dim()) if d != self.out_axis]
        shape = [1] * self.direction.dim()
        shape[self.out_axis] = -1
        norm = self.direction.square().sum(dims, keepdim=True).add(1e-6).sqrt()
        return self.direction * (self.scale.view(shape) / norm)

    def apply_weight(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The layer's linear operation without bias."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.apply_weight(x, self.weight())
        bshape = [1, -1] + [1] * (out.dim() - 2)
        if self.init_pending:
            out = out * self._initialise(out.detach()).view(bshape)
        return out + self.bias.view(bshape)

    @torch.no_grad()
    def _initialise(self, out: torch.Tensor) -> torch.Tensor:
        """Set ``g`` and the bias from this batch's outputs; returns the factor applied to them."""
        dims = [0, *range(2, out.dim())]
        mean = out.mean(dims)
        std = (out - mean.view([1, -1] + [1] * (out.dim() - 2))).square().mean(dims).sqrt()
        factor = self.init_scale / (std + 1e-8)
        self.scale.mul_(factor)
        self.bias.copy_(-mean * factor)
        self.init_pending = False
        return factor


class WeightNormLinear(WeightNormLayer):
    """Weight-normalised ``nn.Linear`` (see :class:`WeightNormLayer` for the arguments)."""

    def __init__(self, in_features: int, out_features: int, init_std: float = 0.05, train_scale: bool = False,
                 init_scale: float = 1.0, data_init: bool = True) -> None:
        super().__init__((out_features, in_features), 0, init_std, train_scale, init_scale, data_init)

    def apply_weight(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.linear(x, weight)


class WeightNormConv2d(WeightNormLayer):
    """Weight-normalised ``nn.Conv2d`` (square kernel; see :class:`WeightNormLayer`)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 init_std: float = 0.05, train_scale: bool = False, init_scale: float = 1.0,
                 data_init: bool = True) -> None:
        super().__init__((out_channels, in_channels, kernel_size, kernel_size), 0, init_std, train_scale,
                         init_scale, data_init)
        self.stride, self.padding = stride, padding

    def apply_weight(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, weight, stride=self.stride, padding=self.padding)


class WeightNormConvTranspose2d(WeightNormLayer):
    """Weight-normalised ``nn.ConvTranspose2d`` (norm per output channel; see :class:`WeightNormLayer`)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 output_padding: int = 0, init_std: float = 0.05, train_scale: bool = False,
                 init_scale: float = 1.0, data_init: bool = True) -> None:
        super().__init__((in_channels, out_channels, kernel_size, kernel_size), 1, init_std, train_scale,
                         init_scale, data_init)
        self.stride, self.padding, self.output_padding = stride, padding, output_padding

    def apply_weight(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, weight, stride=self.stride, padding=self.padding,
                                  output_padding=self.output_padding)


@torch.no_grad()
def data_dependent_init(module: nn.Module, run: Callable[[], object]) -> None:
    """Initialise every weight-normalised layer of ``module`` from the batch that ``run()`` feeds it.

    ``run`` must push one batch through ``module`` (in training mode, as the reference does);
    each layer then rescales ``g`` and sets its bias so that its outputs on that batch have zero
    mean and ``init_scale`` standard deviation per unit, layer after layer.
    """
    layers = [m for m in module.modules() if isinstance(m, WeightNormLayer) and m.data_init]
    for layer in layers:
        layer.init_pending = True
    try:
        run()
    finally:
        for layer in layers:
            layer.init_pending = False
