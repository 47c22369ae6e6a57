"""MNIST through torchvision, held in memory as float tensors in [0, 1]."""

from __future__ import annotations

from typing import Any

import torch
from torchvision.datasets import MNIST

from datamodules.labeled_unlabeled import LabeledUnlabeledDataModule, default_data_dir


class MNISTDataModule(LabeledUnlabeledDataModule):
    """MNIST digits (60,000 train / 10,000 test), float in [0, 1].

    Args:
        data_dir: root holding ``MNIST/raw`` (torchvision layout); default ``$SSL_KIT_DATA`` or
            ``./data``.
        flatten: give 784-vectors (for MLPs) instead of ``1x28x28`` images.
        download: let torchvision download the files when they are missing.
        **kwargs: see :class:`LabeledUnlabeledDataModule`.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        flatten: bool = True,
        download: bool = False,
        num_labeled: int = 100,
        labeled_batch_size: int = 100,
        unlabeled_batch_size: int = 250,
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

    def prepare_data(self) -> None:
        """Download MNIST if asked to (once, on rank 0)."""
        if self.download:
            MNIST(self.data_dir, train=True, download=True)
            MNIST(self.data_dir, train=False, download=True)

    def _read(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            ds = MNIST(self.data_dir, train=train, download=self.download)
        except RuntimeError as err:
            raise FileNotFoundError(
                f"MNIST was not found under {self.data_dir!r} (expected {self.data_dir}/MNIST/raw/*-ubyte). "
                "Set --data.data_dir or SSL_KIT_DATA to the folder that holds MNIST/, or pass "
                "--data.download true to fetch it."
            ) from err
        x = ds.data.to(torch.float32).div_(255.0).unsqueeze(1)
        return (x.flatten(1) if self.flatten else x), ds.targets.long()

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Read both splits into memory."""
        return (*self._read(True), *self._read(False))
