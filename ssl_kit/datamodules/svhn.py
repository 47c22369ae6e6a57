"""SVHN (Street View House Numbers) through torchvision, in memory as float image tensors."""

from __future__ import annotations

import os
from typing import Any

import torch
from torchvision.datasets import SVHN

from ssl_kit.datamodules.images import ImageDataModule, RawImages
from ssl_kit.datamodules.splits import NumLabeled


class _SVHNWithoutChecksums(SVHN):
    """torchvision's SVHN reader with the MD5 check reduced to "the file exists".

    torchvision refuses any ``.mat`` file whose MD5 differs from the official one. Tests (which
    write tiny files in the real format) and users with re-packed copies set
    ``verify_checksums=False`` to read such files through the very same loading code.
    """

    split_list = {name: [url, filename, None] for name, (url, filename, _) in SVHN.split_list.items()}


class SVHNDataModule(ImageDataModule):
    """SVHN digits: the 73,257 ``train`` images (not ``extra``, as in the papers) and 26,032 test.

    Images are ``3x32x32`` floats; labels are 0..9 (the files store the digit 0 as label 10,
    torchvision maps it to 0). 1000 labels (100 per class) by default, as in the VAT and
    Improved GAN papers.

    Args:
        data_dir: root holding ``SVHN/train_32x32.mat`` and ``SVHN/test_32x32.mat``; default
            ``$SSL_KIT_DATA`` or ``./data``.
        download: let torchvision download the files when they are missing.
        verify_checksums: check the files' MD5 against the official ones (switch off only for
            files that are not the official ones, e.g. in tests).
        **kwargs: preprocessing and augmentation (see :class:`~ssl_kit.datamodules.images.ImageDataModule`)
            and splits / batch sizes (see :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`).
    """

    default_labeled_batch_size = 32
    default_unlabeled_batch_size = 128

    def __init__(
        self,
        data_dir: str | None = None,
        download: bool = False,
        verify_checksums: bool = True,
        num_labeled: NumLabeled = 1000,
        labeled_batch_size: int | None = None,
        unlabeled_batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            data_dir=data_dir,
            num_labeled=num_labeled,
            labeled_batch_size=labeled_batch_size,
            unlabeled_batch_size=unlabeled_batch_size,
            **kwargs,
        )
        self.download = download
        self.verify_checksums = verify_checksums
        self.num_classes = 10
        self.input_shape = (3, 32, 32)
        self.configure_augmentation()

    @property
    def root(self) -> str:
        """The folder that holds the ``.mat`` files."""
        return os.path.join(self.data_dir, "SVHN")

    def prepare_data(self) -> None:
        """Download SVHN if asked to (once, on rank 0), then fit ZCA if asked to."""
        if self.download:
            for split in ("train", "test"):
                SVHN(self.root, split=split, download=True)
        super().prepare_data()

    def _read(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        reader = SVHN if self.verify_checksums else _SVHNWithoutChecksums
        try:
            ds = reader(self.root, split=split, download=self.download)
        except RuntimeError as err:
            path = os.path.join(self.root, SVHN.split_list[split][1])
            if os.path.exists(path):
                raise RuntimeError(
                    f"{path} failed torchvision's MD5 check (it is not the official file). Download it "
                    "again, or pass --data.verify_checksums false to read a copy you trust."
                ) from err
            raise FileNotFoundError(
                f"SVHN was not found: expected {path}. Put train_32x32.mat and test_32x32.mat from "
                f"http://ufldl.stanford.edu/housenumbers/ into {self.root}, set --data.data_dir or "
                "SSL_KIT_DATA to the folder that holds SVHN/, or pass --data.download true to fetch them."
            ) from err
        return torch.from_numpy(ds.data), torch.from_numpy(ds.labels).long()

    def load_images(self) -> RawImages:
        """Read the train and test ``.mat`` files (uint8, ``N x 3 x 32 x 32``)."""
        return RawImages(*self._read("train"), *self._read("test"))
