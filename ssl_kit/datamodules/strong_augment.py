"""The strong view of FixMatch-style methods: batched RandAugment + Cutout, or noise + dropout for vectors.

Images: :class:`BatchRandAugment` draws, for every image independently, ``num_ops`` operations from
FixMatch's RandAugment list (Sohn et al. 2020, arXiv 2001.07685, appendix: identity, autocontrast,
equalize, brightness, color, contrast, sharpness, posterize, solarize, rotate, shear x/y, translate
x/y) each with its own random magnitude, then cuts out one square of up to ``cutout`` of the image
side (always, as FixMatch and USB do). Operations run on whole sub-batches (every image that drew
the same operation at once, geometric ones through one ``grid_sample``), so the cost per image is
a few tensor operations instead of a PIL round trip.

Black-background digits are not photographs: an image whose border is plain (within
:data:`~ssl_kit.defaults.views.PLAIN_BORDER_TOLERANCE` of its median) has a background, and
uncovered pixels take that background's colour instead of FixMatch's grey, and solarize (which
inverts the bright strokes of a digit on black, erasing it) leaves such an image unchanged
(:func:`plain_background`).

Vectors (and any non-image input, e.g. the 2-D toy sets): :class:`~ssl_kit.datamodules.noise_view.NoiseDropout`
adds Gaussian noise and zeroes random features, within a displacement budget; these inputs have no
natural "strong augmentation", so this is the toolkit's stand-in, documented as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from ssl_kit.datamodules.noise_view import NoiseDropout
from ssl_kit.datamodules.transforms import single_threaded
from ssl_kit.defaults.views import PLAIN_BORDER_TOLERANCE

BatchTransform = Callable[[torch.Tensor], torch.Tensor]

#: FixMatch's RandAugment operations (magnitudes drawn uniformly per image, ranges in ``_apply``).
RANDAUGMENT_OPS: tuple[str, ...] = (
    "identity", "autocontrast", "equalize", "brightness", "color", "contrast", "sharpness",
    "posterize", "solarize", "rotate", "shear_x", "shear_y", "translate_x", "translate_y",
)


def _blend(image: torch.Tensor, degenerate: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ``ImageEnhance``: ``degenerate + factor * (image - degenerate)``, clipped to [0, 1]."""
    return (degenerate + factor.view(-1, 1, 1, 1) * (image - degenerate)).clamp_(0.0, 1.0)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """Luma ``0.299 R + 0.587 G + 0.114 B`` (the image itself when it has one channel), ``(B, 1, H, W)``."""
    if x.shape[1] != 3:
        return x.mean(dim=1, keepdim=True)
    return (x * torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)).sum(1, keepdim=True)


#: FixMatch's grey for pixels uncovered by geometric operations and Cutout (128 of 255).
REFERENCE_FILL = 0.5


def plain_background(x: torch.Tensor, tolerance: float = PLAIN_BORDER_TOLERANCE) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's background colour ``(B, C, 1, 1)`` and whether it has one ``(B,)``, for ``x`` in [0, 1].

    The background is the per-channel median of the outermost ring of pixels; the image has one
    (a plain border) when those pixels lie within ``tolerance`` (mean absolute deviation, every
    channel) of it, as black-background digits do and most photographs do not.
    """
    ring = torch.cat([x[..., 0, :], x[..., -1, :], x[..., 1:-1, 0], x[..., 1:-1, -1]], dim=-1)  # (B, C, P)
    colour = ring.median(dim=-1).values
    plain = (ring - colour.unsqueeze(-1)).abs().mean(dim=-1).amax(dim=1) <= tolerance
    return colour.view(*colour.shape, 1, 1), plain


def _affine(x: torch.Tensor, theta: torch.Tensor, fill: float | torch.Tensor) -> torch.Tensor:
    """Resample every image with its own ``2x3`` matrix (normalised coordinates); outside pixels ``fill``
    (a number, or one colour per image, ``(B, C, 1, 1)``)."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)


GEOMETRIC_OPS = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")


def _affine_matrix(op: str, m: torch.Tensor) -> torch.Tensor:
    """Sampling matrices ``(B, 2, 3)`` (normalised coordinates) of a geometric operation, magnitudes ``m`` in [0, 1]."""
    signed = 2.0 * m - 1.0  # the ranges are symmetric: rotate +-30 degrees, shear +-0.3, translate +-30 %
    theta = torch.eye(2, 3, dtype=m.dtype, device=m.device).expand(len(m), 2, 3).clone()
    if op == "rotate":
        angle = math.radians(30.0) * signed
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = angle.cos(), -angle.sin(), angle.sin(), angle.cos()
    elif op == "shear_x":
        theta[:, 0, 1] = 0.3 * signed
    elif op == "shear_y":
        theta[:, 1, 0] = 0.3 * signed
    elif op == "translate_x":
        theta[:, 0, 2] = 2 * 0.3 * signed  # the normalised width is 2
    elif op == "translate_y":
        theta[:, 1, 2] = 2 * 0.3 * signed
    else:
        raise ValueError(f"{op!r} is not a geometric operation; choose from {GEOMETRIC_OPS}.")
    return theta


def _apply(op: str, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Colour operation ``op`` on images ``x`` in [0, 1] with per-image magnitudes ``m`` in [0, 1]."""
    factor = 0.05 + 0.9 * m  # enhancement factors in [0.05, 0.95], as FixMatch's list
    if op == "identity":
        return x
    if op == "autocontrast":
        lo, hi = x.amin(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)
        return torch.where(hi > lo, (x - lo) / (hi - lo).clamp_min(1e-12), x)
    if op == "equalize":
        return TF.equalize(_to_uint8(x)).to(x.dtype) / 255.0
    if op == "brightness":
        return _blend(x, torch.zeros_like(x), factor)
    if op == "color":
        return _blend(x, _gray(x).expand_as(x), factor)
    if op == "contrast":
        return _blend(x, _gray(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x), factor)
    if op == "sharpness":
        # PIL's SMOOTH kernel (ones, centre 5, over 13) = (9 * 3x3 mean + 4 * centre) / 13; borders stay.
        smooth = x.clone()
        smooth[..., 1:-1, 1:-1] = (9.0 * F.avg_pool2d(x, 3, stride=1) + 4.0 * x[..., 1:-1, 1:-1]) / 13.0
        return _blend(x, smooth, factor)
    if op == "posterize":
        bits = (4 + (4 * m).round()).to(torch.int32)  # keep 4..8 bits
        mask = ((0xFF << (8 - bits)) & 0xFF).to(torch.uint8).view(-1, 1, 1, 1)
        return (_to_uint8(x) & mask).to(x.dtype) / 255.0
    if op == "solarize":
        return torch.where(x >= m.view(-1, 1, 1, 1), 1.0 - x, x)
    raise ValueError(f"Unknown RandAugment operation {op!r}; choose from {RANDAUGMENT_OPS}.")


def cutout(x: torch.Tensor, max_fraction: float, fill: float | torch.Tensor,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill one square per image, of side ``U(0, max_fraction) * width`` at a uniform centre, with ``fill``
    (a number, or one colour per image, ``(B, C, 1, 1)``)."""
    b, _, h, w = x.shape
    side = torch.rand(b, generator=generator) * max_fraction * w
    cy, cx = torch.rand(b, generator=generator) * h, torch.rand(b, generator=generator) * w
    y0, x0 = (cy - side / 2).clamp_min(0), (cx - side / 2).clamp_min(0)
    rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
    inside = ((rows >= y0.view(b, 1, 1)) & (rows < (y0 + side).view(b, 1, 1))
              & (cols >= x0.view(b, 1, 1)) & (cols < (x0 + side).view(b, 1, 1)))
    filled = torch.full_like(x, fill) if isinstance(fill, (int, float)) else fill.to(x).expand_as(x)
    return torch.where(inside.unsqueeze(1).to(x.device), filled, x)


class BatchRandAugment:
    """RandAugment (``num_ops`` random operations with random magnitudes) + Cutout, per image, batched.

    Args:
        num_ops: operations per image (USB's classic-CV strong augmentation uses 3, FixMatch 2).
        cutout: largest Cutout side as a fraction of the image width (USB: 0.5; 0: no Cutout).
        value_range: ``(low, high)`` of the pixel scale the images come in (e.g. ``(0, 1)`` or
            ``(-0.5, 0.5)``); operations work in [0, 1] and the result is mapped back.
        fill: grey level (in [0, 1]) of pixels uncovered by rotation, shear, translation and Cutout;
            ``None`` (default): each image's background (:func:`plain_background`) where its border is
            plain, else FixMatch's grey, 0.5. Solarize leaves plain-background images unchanged.
        ops: the operation list (default :data:`RANDAUGMENT_OPS`).
        generator: optional ``torch.Generator``; default torch's global RNG (seeded by
            ``seed_everything``, restored on resume).
    """

    def __init__(self, num_ops: int = 3, cutout: float = 0.5, value_range: tuple[float, float] = (0.0, 1.0),
                 fill: float | None = None, ops: Sequence[str] = RANDAUGMENT_OPS,
                 generator: torch.Generator | None = None) -> None:
        if num_ops < 0 or not 0.0 <= cutout <= 1.0 or value_range[1] <= value_range[0]:
            raise ValueError(f"BatchRandAugment needs num_ops >= 0, cutout in [0, 1] and low < high; got "
                             f"num_ops={num_ops}, cutout={cutout}, value_range={value_range}.")
        unknown = set(ops) - set(RANDAUGMENT_OPS)
        if unknown:
            raise ValueError(f"Unknown RandAugment operations {sorted(unknown)}; choose from {RANDAUGMENT_OPS}.")
        self.num_ops, self.cutout, self.value_range, self.fill = num_ops, cutout, tuple(value_range), fill
        self.ops, self.generator = tuple(ops), generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Augment ``x`` of shape ``(B, C, H, W)``; returns a new tensor of the same shape and dtype."""
        if x.ndim != 4:
            raise ValueError(f"Expected images (B, C, H, W), got shape {tuple(x.shape)}.")
        with single_threaded():
            low, high = self.value_range
            out = (x.float() - low) / (high - low)
            background, plain = plain_background(out)
            fill = torch.where(plain.view(-1, 1, 1, 1), background, REFERENCE_FILL) if self.fill is None else self.fill
            chosen = torch.randint(0, len(self.ops), (len(x), self.num_ops), generator=self.generator)
            magnitude = torch.rand(len(x), self.num_ops, generator=self.generator).to(x.device)
            for slot in range(self.num_ops):
                theta = torch.eye(2, 3).expand(len(x), 2, 3).clone().to(x.device)
                geometric = torch.zeros(len(x), dtype=torch.bool, device=x.device)
                for index in chosen[:, slot].unique().tolist():
                    rows = (chosen[:, slot] == index).nonzero().squeeze(1).to(x.device)
                    op = self.ops[index]
                    if op in GEOMETRIC_OPS:  # collected, then one resampling for all of them
                        theta[rows], geometric[rows] = _affine_matrix(op, magnitude[rows, slot]), True
                    else:
                        if op == "solarize":  # it erases ink on a plain background (digits)
                            rows = rows[~plain[rows]]
                        out[rows] = _apply(op, out[rows], magnitude[rows, slot])
                if geometric.any():
                    part = fill[geometric] if isinstance(fill, torch.Tensor) else fill
                    out[geometric] = _affine(out[geometric], theta[geometric], part)
            if self.cutout > 0:
                out = cutout(out, self.cutout, fill, self.generator)
            return (out * (high - low) + low).to(x.dtype)

    def __repr__(self) -> str:
        return f"BatchRandAugment(num_ops={self.num_ops}, cutout={self.cutout}, value_range={self.value_range})"


class Compose:
    """Apply batch transforms one after the other (``None`` entries are skipped)."""

    def __init__(self, *transforms: BatchTransform | None) -> None:
        self.transforms = [t for t in transforms if t is not None]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.transforms))})"


def build_strong_augmentation(input_shape: Sequence[int], weak: BatchTransform | None,
                              value_range: tuple[float, float] = (0.0, 1.0), **kwargs: Any) -> BatchTransform:
    """The strong view: the weak augmentation, then :class:`BatchRandAugment` for images ``(C, H, W)``
    or :class:`NoiseDropout` for any other input.

    Args:
        input_shape: shape of one input.
        weak: the training (weak) augmentation, applied first; ``None`` for none.
        value_range: pixel range of the images (ignored for non-images).
        **kwargs: arguments of :class:`BatchRandAugment` (images) or
            :class:`~ssl_kit.datamodules.noise_view.NoiseDropout` (others).
    """
    if len(input_shape) == 3:
        return Compose(weak, BatchRandAugment(value_range=value_range, **kwargs))
    return Compose(weak, NoiseDropout(**kwargs))


__all__ = ["BatchRandAugment", "Compose", "NoiseDropout", "RANDAUGMENT_OPS", "build_strong_augmentation", "cutout",
           "plain_background"]
