"""Image preprocessing (pixel scaling) and training augmentation for image datamodules.

Scaling follows each paper:

* ``"unit"``: ``x / 255`` in [0, 1] (the toolkit's default, as for MNIST);
* ``"vat"``: ``(x - 127.5) / 255`` in [-0.5, 0.5] (Miyato et al. 2018, reference code's
  SVHN / CIFAR-10 loaders, before ZCA on CIFAR-10);
* ``"gan"``: ``(x - 127.5) / 127.5`` in [-1, 1] (Salimans et al. 2016, SVHN reference code,
  matching the generator's tanh output);
* ``"gan128"``: ``(x - 127.5) / 128`` in [-0.996, 0.996] (the same paper's CIFAR-10 reference code).

Augmentation is the papers' "translation by up to 2 pixels" (pad with zeros, random crop of the
original size; zero is the mean of whitened or centred data) and, for CIFAR-10 only, a random
horizontal flip. It is a *batch* transform: the datamodule's ``train_transform`` hook calls it
once on the labeled batch and once on the unlabeled batch, so the two streams get independent
draws. Two interchangeable back-ends implement it:

* :class:`BatchTranslateFlip` (``backend="torch"``): a few tensor operations for the whole batch;
* :class:`AlbumentationsBatch` (``backend="albumentations"``): an albumentations ``Compose``
  applied image by image on numpy HWC arrays.

The torch one is the default: for 32x32 images it is several times faster (a whole 32 + 128 image
training batch: about 4 ms against 12 ms on the 2-core development CPU), since it does one indexed copy per
batch where albumentations makes a NumPy round trip per image.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

if TYPE_CHECKING:  # albumentations (and OpenCV) load only when the albumentations back-end is used
    import albumentations as A

Scaling = Literal["unit", "vat", "gan", "gan128"]
Backend = Literal["torch", "albumentations"]

#: ``scaling name -> (shift, divisor)``: pixels become ``(x - shift) / divisor``.
SCALINGS: dict[str, tuple[float, float]] = {
    "unit": (0.0, 255.0),
    "vat": (127.5, 255.0),
    "gan": (127.5, 127.5),
    "gan128": (127.5, 128.0),
}


def scale_images(x: torch.Tensor, scaling: Scaling = "unit") -> torch.Tensor:
    """Turn ``uint8`` pixels (0..255) into float32 as the named paper does (see :data:`SCALINGS`)."""
    if scaling not in SCALINGS:
        raise ValueError(f"Unknown scaling {scaling!r}; choose one of {sorted(SCALINGS)}.")
    if x.dtype != torch.uint8:
        raise TypeError(f"scale_images expects uint8 pixels in 0..255, got dtype {x.dtype}.")
    shift, divisor = SCALINGS[scaling]
    return x.to(torch.float32).sub_(shift).div_(divisor)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run the enclosed CPU tensor ops on one intra-op thread, then restore the thread count.

    The augmentation's ops are tiny (a 128-image batch is ~0.5 M values): split over threads
    they spend their time waking threads up, and on a busy machine that collapses throughput
    (measured on 2 busy cores: ~0.4-20 k images/s with 2 threads against ~60-100 k with this guard).
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class BatchTranslateFlip:
    """Random translation (zero padding + random crop) and horizontal flip of a whole batch.

    Every image draws its own offsets ``(dy, dx)`` uniformly in ``[-pad, pad]`` and its own flip
    (probability 1/2 when ``hflip``); randomness comes from ``generator`` or torch's global RNG
    (seeded by ``seed_everything``).

    Args:
        pad: largest shift in pixels (2 in the VAT paper).
        hflip: also flip left-right with probability 1/2.
        generator: optional ``torch.Generator`` for the draws.
    """

    def __init__(self, pad: int = 2, hflip: bool = False, generator: torch.Generator | None = None) -> None:
        if pad < 0:
            raise ValueError(f"pad must be >= 0, got {pad}.")
        self.pad, self.hflip, self.generator = pad, hflip, generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Augment ``x`` of shape ``(B, C, H, W)``; returns a new tensor of the same shape and dtype."""
        if x.ndim != 4:
            raise ValueError(f"Expected images (B, C, H, W), got shape {tuple(x.shape)}.")
        if x.device.type == "cpu":
            with single_threaded():
                return self._augment(x)
        return self._augment(x)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        if self.pad:
            # One gather over the flattened padded images: output pixel (i, j) of image n reads
            # padded pixel (i + oy_n, j + ox_n); measured several times faster than fancy indexing.
            p, c = self.pad, x.shape[1]
            padded = torch.nn.functional.pad(x, (p, p, p, p)).flatten(2)
            oy = torch.randint(0, 2 * p + 1, (b, 1, 1), generator=self.generator).to(x.device)
            ox = torch.randint(0, 2 * p + 1, (b, 1, 1), generator=self.generator).to(x.device)
            rows = oy + torch.arange(h, device=x.device).view(1, h, 1)
            cols = ox + torch.arange(w, device=x.device).view(1, 1, w)
            index = (rows * (w + 2 * p) + cols).view(b, 1, h * w).expand(b, c, h * w)
            x = padded.gather(2, index).view(b, c, h, w)
        if self.hflip:
            flip = (torch.rand(b, generator=self.generator) < 0.5).to(x.device)
            x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
        return x

    def __repr__(self) -> str:
        return f"BatchTranslateFlip(pad={self.pad}, hflip={self.hflip})"


class AlbumentationsBatch:
    """Apply an albumentations pipeline to every image of a ``(B, C, H, W)`` float batch.

    Each image is converted to a numpy HWC array, transformed with its own random draw, and the
    results are stacked back into a tensor of the input's shape and dtype.

    Args:
        transform: any albumentations transform; default: :func:`translate_flip_pipeline`.
    """

    def __init__(self, transform: A.BasicTransform | A.Compose | Any) -> None:
        self.transform = transform
        self._seeded_from: int | None = None

    def _reseed(self) -> None:
        """Seed albumentations' own generator from torch's seed of this process, once per seed.

        albumentations draws from its own generator, which neither ``seed_everything`` nor the
        loader workers' per-worker seeds reach: runs were not reproducible and every worker drew
        the same augmentations.
        """
        seed = torch.initial_seed()
        if seed != self._seeded_from and hasattr(self.transform, "set_random_seed"):
            self.transform.set_random_seed(seed % 2**32)
            self._seeded_from = seed

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Augment ``x`` image by image; returns a tensor with the same shape and dtype."""
        if x.ndim != 4:
            raise ValueError(f"Expected images (B, C, H, W), got shape {tuple(x.shape)}.")
        self._reseed()
        with single_threaded():
            images = x.detach().cpu().permute(0, 2, 3, 1).numpy()
            out = np.stack([self.transform(image=np.ascontiguousarray(im))["image"] for im in images])
            return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous().to(x.dtype)

    def __repr__(self) -> str:
        return f"AlbumentationsBatch({self.transform!r})"


def translate_flip_pipeline(height: int, width: int, pad: int = 2, hflip: bool = False) -> A.Compose:
    """The albumentations form of :class:`BatchTranslateFlip`: zero pad, random crop, optional flip."""
    import albumentations as A
    import cv2

    steps: list[A.BasicTransform] = []
    if pad:
        steps += [
            A.PadIfNeeded(height + 2 * pad, width + 2 * pad, border_mode=cv2.BORDER_CONSTANT, fill=0),
            A.RandomCrop(height, width),
        ]
    if hflip:
        steps.append(A.HorizontalFlip(p=0.5))
    return A.Compose(steps)


def build_augmentation(
    input_shape: tuple[int, ...], translate: int = 0, hflip: bool = False, backend: Backend = "torch"
) -> BatchTranslateFlip | AlbumentationsBatch | None:
    """The training batch transform a config asks for, or ``None`` when it asks for none.

    Args:
        input_shape: ``(C, H, W)`` of one image.
        translate: largest translation in pixels (0: none).
        hflip: random horizontal flips.
        backend: ``"torch"`` (batch-level, fast) or ``"albumentations"`` (per image).
    """
    if translate < 0:
        raise ValueError(f"translate must be >= 0 pixels, got {translate}.")
    if not translate and not hflip:
        return None
    if len(input_shape) != 3:
        raise ValueError(f"Augmentation needs image inputs (C, H, W), but input_shape is {tuple(input_shape)}.")
    if backend == "torch":
        return BatchTranslateFlip(pad=translate, hflip=hflip)
    if backend == "albumentations":
        return AlbumentationsBatch(translate_flip_pipeline(input_shape[1], input_shape[2], translate, hflip))
    raise ValueError(f"Unknown augmentation backend {backend!r}; choose 'torch' or 'albumentations'.")
