"""Reading image files as the image datamodules do: 8-bit RGB, resized to cover, centre-cropped.

Shared by :mod:`~ssl_kit.datamodules.image_folder` (training on folders of images) and
:mod:`~ssl_kit.datamodules.preprocessing` (prediction on new image files), so both read a file
the same way.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from torchvision import transforms as T


def load_rgb(path: str | Path) -> Image.Image:
    """Open an image as 8-bit RGB, as torchvision's default loader does, without clipping 16-bit images.

    PIL's conversion to RGB clips 16-bit grayscale values at 255, so a 16-bit PNG would come out
    almost white; its values are mapped to 8 bits here instead (``round(v / 257)``). Images of
    32-bit integers or floats are refused, since their value range is unknown.
    """
    with Image.open(path) as image:
        if image.mode.startswith("I;16"):
            values = np.asarray(image, dtype=np.float64)
            return Image.fromarray(np.rint(values / 257.0).astype(np.uint8), mode="L").convert("RGB")
        if image.mode in ("I", "F"):
            raise ValueError(f"{str(path)!r} holds 32-bit {'integer' if image.mode == 'I' else 'float'} pixels, "
                             "whose range is unknown; save it as an 8- or 16-bit image.")
        return image.convert("RGB")


class ResizeToCover:
    """Resize a PIL image, keeping its aspect ratio, to the smallest size that covers ``(height, width)``."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def __call__(self, image: Image.Image) -> Image.Image:
        (height, width), (w, h) = self.size, image.size
        scale = max(height / h, width / w)
        cover = (max(width, math.ceil(w * scale - 1e-6)), max(height, math.ceil(h * scale - 1e-6)))
        return image.resize(cover, Image.Resampling.BILINEAR, reducing_gap=None) if cover != image.size else image


def pixel_pipeline(size: tuple[int, int], grayscale: bool = False) -> T.Compose:
    """RGB PIL image -> ``uint8`` tensor ``(C, H, W)``: resized to cover ``size``, centre-cropped, optionally gray."""
    steps: list[Any] = [ResizeToCover(size), T.CenterCrop(size)]
    if grayscale:
        steps.append(T.Grayscale(1))
    return T.Compose([*steps, T.PILToTensor()])
