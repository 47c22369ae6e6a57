"""The preprocessing a datamodule applies, as a record a checkpoint keeps and prediction replays.

A datamodule turns *raw* inputs into the tensors the model sees. :class:`Preprocessing` records
that pipeline so a trained model can apply it to new raw inputs:

* ``kind="none"``: inputs are used as given (tensors a user passed to ``from_tensors``, the toy
  sets, rows of features);
* ``kind="images"``: ``uint8`` pixels ``(N, C, H, W)`` -> :func:`~ssl_kit.datamodules.transforms.scale_images`
  (``scaling``) -> optional ZCA whitening (the fitted transform is stored) -> optional
  flattening; image *files* are first read as the datamodule read them (8-bit RGB or grayscale,
  resized to cover ``image_size`` with the aspect ratio kept, centre-cropped);
* ``kind="table"``: raw rows of a table (a pandas ``DataFrame``, columns by name) -> the fitted
  :class:`~ssl_kit.datamodules.table_encoding.TableEncoding` (imputation, one-hot categories,
  standardisation).

Augmentation is a training-time draw and is not part of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssl_kit.datamodules.image_io import load_rgb, pixel_pipeline
from ssl_kit.datamodules.table_encoding import TableEncoding
from ssl_kit.datamodules.transforms import SCALINGS, scale_images
from ssl_kit.datamodules.zca import ZCA


@dataclass
class Preprocessing:
    """Raw inputs -> model inputs, as the training datamodule did it.

    Attributes:
        kind: ``"none"`` (identity), ``"images"`` or ``"table"``.
        scaling: pixel scaling name (:data:`~ssl_kit.datamodules.transforms.SCALINGS`) for images.
        zca: the fitted ZCA transform, if the images were whitened.
        image_size: ``(height, width)`` the images were resized / cropped to.
        channels: 1 (grayscale) or 3 (RGB).
        flatten: images were given to the model as vectors ``C * H * W``.
        table: the fitted encoding of a table's rows.
    """

    kind: str = "none"
    scaling: str | None = None
    zca: ZCA | None = None
    image_size: tuple[int, int] | None = None
    channels: int | None = None
    flatten: bool = False
    table: TableEncoding | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("none", "images", "table"):
            raise ValueError(f"Preprocessing kind must be 'none', 'images' or 'table', got {self.kind!r}.")
        if self.kind == "table" and self.table is None:
            raise ValueError("Table preprocessing needs the fitted table encoding.")
        if self.kind == "images" and (self.scaling not in SCALINGS or self.image_size is None or not self.channels):
            raise ValueError("Image preprocessing needs a scaling, an image_size and a channel count.")

    # ------------------------------------------------------------------ record
    def summary(self) -> dict[str, Any]:
        """What must agree between a checkpoint and the data it is used with (no fitted tensors)."""
        if self.kind == "none":
            return {"kind": "none"}
        if self.table is not None:
            return self.table.summary()
        return {"kind": "images", "scaling": self.scaling, "zca": self.zca is not None,
                "image_size": list(self.image_size or ()), "channels": self.channels, "flatten": self.flatten}

    def describe(self) -> str:
        """One line, e.g. ``"uint8 images 1x28x28, scaling unit, flattened"``."""
        if self.kind == "none":
            return "inputs used as given"
        if self.table is not None:
            return self.table.describe()
        height, width = self.image_size or (0, 0)
        parts = [f"uint8 images {self.channels}x{height}x{width}", f"scaling {self.scaling}"]
        parts += ["ZCA-whitened"] if self.zca is not None else []
        parts += ["flattened"] if self.flatten else []
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain values and tensors (loadable with ``torch.load(weights_only=True)``)."""
        if self.table is not None:
            return {"kind": "table", "table": self.table.to_dict()}
        record = self.summary()
        if self.zca is not None:
            record["zca"] = {"mean": self.zca.mean, "basis": self.zca.basis, "scale": self.zca.scale,
                             "null_scale": float(self.zca.null_scale)}
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any] | None) -> Preprocessing:
        """Inverse of :meth:`to_dict` (``None`` or an empty record: identity)."""
        if not record or record.get("kind", "none") == "none":
            return cls()
        if record["kind"] == "table":
            return cls(kind="table", table=TableEncoding.from_dict(record["table"]))
        zca = record.get("zca")
        return cls(kind="images", scaling=record["scaling"], zca=ZCA(**zca) if isinstance(zca, dict) else None,
                   image_size=tuple(record["image_size"]), channels=int(record["channels"]),
                   flatten=bool(record.get("flatten", False)))

    # ------------------------------------------------------------------ apply
    def raw_images(self, x: Any) -> torch.Tensor:
        """``uint8`` pixels ``(N, C, H, W)`` from a tensor / array in CHW, HWC or (for one channel) HW layout."""
        x = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
        if x.dtype != torch.uint8:
            raise TypeError(f"This model was trained on images and takes raw uint8 pixels (0..255), got dtype "
                            f"{x.dtype}; convert them (x.astype('uint8')), or pass inputs that are already "
                            "preprocessed with preprocessed=True.")
        height, width = self.image_size or (0, 0)
        channels = self.channels or 0
        if x.ndim == 3 and channels == 1:
            x = x.unsqueeze(1)
        if x.ndim == 4 and tuple(x.shape[1:]) != (channels, height, width) and \
                tuple(x.shape[1:]) == (height, width, channels):
            x = x.permute(0, 3, 1, 2)
        if x.ndim != 4 or tuple(x.shape[1:]) != (channels, height, width):
            raise ValueError(f"Expected images of {channels}x{height}x{width} pixels (N, C, H, W or N, H, W, C), "
                             f"got shape {tuple(x.shape)}; image files are resized by predict_files.")
        return x.contiguous()

    def __call__(self, x: Any) -> torch.Tensor:
        """Apply the training preprocessing to raw inputs (see the module docstring)."""
        if self.table is not None:
            return torch.from_numpy(self.table.transform(x))
        if self.kind == "none":
            tensor = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
            return tensor.float() if tensor.dtype == torch.float64 else tensor
        out = scale_images(self.raw_images(x), self.scaling)  # type: ignore[arg-type]
        if self.zca is not None:
            out = self.zca(out)
        return out.flatten(1) if self.flatten else out

    def read_image_files(self, paths: Sequence[str | Path]) -> torch.Tensor:
        """Read image files as the training datamodule read its images: ``uint8 (N, C, H, W)``."""
        if self.kind != "images":
            raise ValueError("This model was not trained on images; give it a tensor or CSV file instead.")
        size = tuple(self.image_size or ())
        pixels = pixel_pipeline(size, grayscale=self.channels == 1)  # type: ignore[arg-type]
        return torch.stack([pixels(load_rgb(path)) for path in paths]) if paths else \
            torch.empty((0, self.channels or 0, *size), dtype=torch.uint8)
