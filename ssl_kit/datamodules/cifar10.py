"""CIFAR-10 through torchvision, in memory as float image tensors."""

from __future__ import annotations

import os
from typing import Any

import torch
from torchvision.datasets import CIFAR10

from ssl_kit.datamodules.images import ImageDataModule, RawImages
from ssl_kit.datamodules.splits import NumLabeled


#: The class names of ``batches.meta``, in label order.
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class _CIFAR10WithoutChecksums(CIFAR10):
    """torchvision's CIFAR-10 reader with the MD5 checks reduced to "the file exists".

    torchvision checks the MD5 of every batch file and of ``batches.meta``; tests (tiny files in
    the real pickle format) and users with re-packed copies set ``verify_checksums=False``.
    """

    train_list = [[name, None] for name, _ in CIFAR10.train_list]
    test_list = [[name, None] for name, _ in CIFAR10.test_list]
    meta = {**CIFAR10.meta, "md5": None}


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10: 50,000 training and 10,000 test images, ``3x32x32`` floats, 10 classes.

    4000 labels (400 per class) by default, as in the VAT, Improved GAN and Ladder papers. The
    VAT and Ladder protocols whiten with ZCA (``zca: true``) and, with augmentation, translate
    by 2 pixels and flip horizontally (``translate: 2``, ``hflip: true``).

    Args:
        data_dir: root holding ``cifar-10-batches-py/`` (torchvision layout); default
            ``$SSL_KIT_DATA`` or ``./data``.
        download: let torchvision download the archive when the files are missing.
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
        num_labeled: NumLabeled = 4000,
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
        self.class_names = CIFAR10_CLASSES
        self.input_shape = (3, 32, 32)
        self.configure_augmentation()

    def prepare_data(self) -> None:
        """Download CIFAR-10 if asked to (once, on rank 0), then fit ZCA if asked to."""
        if self.download:
            CIFAR10(self.data_dir, train=True, download=True)
        super().prepare_data()

    def _read(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        reader = CIFAR10 if self.verify_checksums else _CIFAR10WithoutChecksums
        folder = os.path.join(self.data_dir, CIFAR10.base_folder)
        try:
            ds = reader(self.data_dir, train=train, download=self.download)
        except RuntimeError as err:
            names = [name for name, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
            missing = [n for n in names if not os.path.exists(os.path.join(folder, n))]
            if not missing:
                raise RuntimeError(
                    f"The CIFAR-10 files in {folder} failed torchvision's MD5 check (they are not the "
                    "official files). Download them again, or pass --data.verify_checksums false to "
                    "read a copy you trust."
                ) from err
            raise FileNotFoundError(
                f"CIFAR-10 was not found: {folder} lacks {', '.join(missing)}. Extract "
                "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html into "
                f"{self.data_dir}, set --data.data_dir or SSL_KIT_DATA to the folder that holds "
                "cifar-10-batches-py/, or pass --data.download true to fetch it."
            ) from err
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # HWC -> CHW
        return x, torch.tensor(ds.targets, dtype=torch.long)

    def load_images(self) -> RawImages:
        """Read the five training batches and the test batch (uint8, ``N x 3 x 32 x 32``)."""
        return RawImages(*self._read(True), *self._read(False))
