"""MNIST through torchvision, held in memory as float tensors in [0, 1]."""

from __future__ import annotations

import hashlib
import math
import struct
from pathlib import Path
from typing import Any

import torch
from torchvision.datasets import MNIST

from ssl_kit.datamodules.labeled_unlabeled import LabeledUnlabeledDataModule, default_data_dir
from ssl_kit.datamodules.preprocessing import Preprocessing
from ssl_kit.datamodules.splits import NumLabeled


# Sizes and MD5 sums of the official, uncompressed idx files (torchvision only knows the .gz ones).
MNIST_RAW_FILES = {
    "train-images-idx3-ubyte": (47040016, "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (60008, "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (7840016, "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (10008, "27ae3e4e09519cfbb04c329615203637"),
}


def verify_idx_file(path: Path) -> None:
    """Refuse a truncated idx file (its size disagrees with its header) or a corrupt official one.

    A file of the official MNIST size must have the official MD5; other files (a user's own
    data in the idx format) are checked against the size their header announces.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(4)
        ndim = header[3] if len(header) == 4 else 0
        dims_raw = handle.read(4 * ndim)
    if len(header) < 4 or len(dims_raw) < 4 * ndim or ndim == 0:
        raise ValueError(f"{path} is not an idx file (its header is cut short); delete it and fetch MNIST again.")
    expected = 4 + 4 * ndim + math.prod(struct.unpack(f">{ndim}I", dims_raw))
    if size != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: its header announces {expected} bytes but it has {size}; "
            "delete it and fetch MNIST again (--data.init_args.download true)."
        )
    official = MNIST_RAW_FILES.get(path.name)
    if official and size == official[0]:
        digest = hashlib.md5(path.read_bytes()).hexdigest()
        if digest != official[1]:
            raise ValueError(
                f"{path} is corrupt: MD5 {digest} differs from the official {official[1]}; "
                "delete it and fetch MNIST again (--data.init_args.download true)."
            )


class MNISTDataModule(LabeledUnlabeledDataModule):
    """MNIST digits (60,000 train / 10,000 test), float in [0, 1].

    Args:
        data_dir: root holding ``MNIST/raw`` (torchvision layout); default ``$SSL_KIT_DATA`` or
            ``./data``.
        flatten: give 784-vectors (for MLPs) instead of ``1x28x28`` images.
        download: let torchvision download the files when they are missing.
        **kwargs: see :class:`LabeledUnlabeledDataModule`.
    """

    default_labeled_batch_size = 100
    default_unlabeled_batch_size = 250

    def __init__(
        self,
        data_dir: str | None = None,
        flatten: bool = True,
        download: bool = False,
        num_labeled: NumLabeled = 100,
        labeled_batch_size: int | None = None,
        unlabeled_batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            num_labeled=num_labeled,
            labeled_batch_size=labeled_batch_size,
            unlabeled_batch_size=unlabeled_batch_size,
            **kwargs,
        )
        self.data_dir = data_dir or default_data_dir()
        self.flatten = flatten
        self.download = download
        self.num_classes = 10
        self.input_shape = (784,) if flatten else (1, 28, 28)

    def preprocessing(self) -> Preprocessing:
        """uint8 28x28 digits scaled to [0, 1] (and flattened unless ``flatten`` is false)."""
        return Preprocessing("images", "unit", None, (28, 28), 1, flatten=self.flatten)

    def prepare_data(self) -> None:
        """Download MNIST if asked to (once, on rank 0)."""
        if self.download:
            MNIST(self.data_dir, train=True, download=True)
            MNIST(self.data_dir, train=False, download=True)

    def _read(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        raw = Path(self.data_dir) / "MNIST" / "raw"
        prefix = "train" if train else "t10k"
        for name in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
            if (raw / name).exists():
                verify_idx_file(raw / name)
        try:
            ds = MNIST(self.data_dir, train=train, download=self.download)
        except RuntimeError as err:
            raise FileNotFoundError(
                f"MNIST was not found under {self.data_dir!r} (expected {self.data_dir}/MNIST/raw/*-ubyte). "
                "Set --data.init_args.data_dir or SSL_KIT_DATA to the folder that holds MNIST/, or pass "
                "--data.init_args.download true to fetch it."
            ) from err
        x = ds.data.to(torch.float32).div_(255.0).unsqueeze(1)
        return (x.flatten(1) if self.flatten else x), ds.targets.long()

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Read both splits into memory."""
        return (*self._read(True), *self._read(False))
