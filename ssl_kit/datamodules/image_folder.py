"""A user's own images: one folder per class, plus optional unlabeled and test folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import transforms as T
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes

from ssl_kit.datamodules.image_io import load_rgb, pixel_pipeline
from ssl_kit.datamodules.images import ImageDataModule, RawImages
from ssl_kit.datamodules.splits import SplitIndices


def _hidden(relative: Path) -> bool:
    """Whether a path (relative to a data folder) passes through a hidden entry, e.g. ``.ipynb_checkpoints``."""
    return any(part.startswith(".") for part in relative.parts)


def list_images(folder: str | Path) -> list[Path]:
    """Every image file under ``folder``, at any depth, in sorted order (hidden files and folders skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"The image folder {str(folder)!r} does not exist.")
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS and not _hidden(p.relative_to(folder)))


def find_visible_classes(directory: str | Path) -> tuple[list[str], dict[str, int]]:
    """torchvision's ``find_classes`` without hidden folders (``.ipynb_checkpoints`` is not a class)."""
    classes, _ = find_classes(str(directory))
    classes = [name for name in classes if not name.startswith(".")]
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {str(directory)!r}.")
    return classes, {name: i for i, name in enumerate(classes)}


class _VisibleImageFolder(ImageFolder):
    """``ImageFolder`` whose classes skip hidden folders and whose samples skip hidden files."""

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        return find_visible_classes(directory)

    @staticmethod
    def make_dataset(directory: str, class_to_idx: dict[str, int], extensions: Any = None,
                     is_valid_file: Any = None, allow_empty: bool = False) -> list[tuple[str, int]]:
        samples = ImageFolder.make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)
        return [(path, target) for path, target in samples if not _hidden(Path(path).relative_to(directory))]


class ImageFolderDataModule(ImageDataModule):
    """Semi-supervised learning on your own images.

    Layout::

        labeled_dir/<class name>/*.png      one folder per class (torchvision ImageFolder)
        unlabeled_dir/**/*.jpg              optional: images without labels, any layout
        test_dir/<class name>/*.png         optional: else ``test_fraction`` of labeled_dir

    Every image is converted to 8-bit RGB (or grayscale; 16-bit images are rescaled, not clipped),
    resized (aspect ratio kept) to the smallest size that covers ``image_size``, centre-cropped to
    ``image_size`` and kept in memory as ``uint8`` until the shared preprocessing (scaling, ZCA) of
    :class:`~ssl_kit.datamodules.images.ImageDataModule` turns it into floats. The unlabeled pool is every
    labeled training image (labels dropped) plus all of ``unlabeled_dir``.

    Args:
        labeled_dir: folder with one sub-folder of images per class.
        unlabeled_dir: optional folder of unlabeled images (searched recursively).
        test_dir: optional folder with the same class sub-folders (a subset of them is fine).
        test_fraction: without ``test_dir``, this fraction of each class of ``labeled_dir`` is
            held out (seeded by ``split_seed``) as the test set.
        image_size: ``size`` or ``[height, width]`` of the images given to the model.
        grayscale: one channel instead of RGB.
        num_labeled: labeled examples drawn class-balanced from the training images; ``None``
            (default) uses every training image of ``labeled_dir`` as labeled.
        **kwargs: preprocessing and augmentation (see :class:`~ssl_kit.datamodules.images.ImageDataModule`)
            and splits / batch sizes (see :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`).

    Example:
        >>> dm = ImageFolderDataModule("photos/labeled", unlabeled_dir="photos/unlabeled",
        ...                            image_size=32, translate=2, hflip=True)
    """

    default_labeled_batch_size = 32
    default_unlabeled_batch_size = 128

    def __init__(
        self,
        labeled_dir: str,
        unlabeled_dir: str | None = None,
        test_dir: str | None = None,
        test_fraction: float = 0.2,
        image_size: int | Sequence[int] = 32,
        grayscale: bool = False,
        num_labeled: int | None = None,
        labeled_batch_size: int | None = None,
        unlabeled_batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            num_labeled=num_labeled,  # type: ignore[arg-type]  (None: all labeled, see draw_split)
            labeled_batch_size=labeled_batch_size,
            unlabeled_batch_size=unlabeled_batch_size,
            **kwargs,
        )
        if not Path(labeled_dir).is_dir():
            raise FileNotFoundError(
                f"labeled_dir {labeled_dir!r} does not exist; it must hold one sub-folder of images per class."
            )
        if test_dir is None and not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1) when no test_dir is given, got {test_fraction}.")
        self.labeled_dir, self.unlabeled_dir, self.test_dir = labeled_dir, unlabeled_dir, test_dir
        self.test_fraction = test_fraction
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if len(size) != 2:
            raise ValueError(f"image_size must be an int or [height, width], got {image_size!r}.")
        self.image_size: tuple[int, int] = (int(size[0]), int(size[1]))
        self.grayscale = grayscale
        self.classes, self.class_to_idx = find_visible_classes(labeled_dir)
        self.class_names = self.classes
        self.num_classes = len(self.classes)
        self.input_shape = (1 if grayscale else 3, *self.image_size)
        self.configure_augmentation()

    # ----------------------------------------------------------------- reading
    def _pixels(self) -> T.Compose:
        return pixel_pipeline(self.image_size, self.grayscale)

    def _read_labeled(self, folder: str) -> tuple[torch.Tensor, torch.Tensor]:
        ds = _VisibleImageFolder(folder, transform=self._pixels(), loader=load_rgb)
        unknown = sorted(set(ds.classes) - set(self.classes))
        if unknown:
            raise ValueError(f"{folder!r} has classes {unknown} that {self.labeled_dir!r} lacks.")
        remap = torch.tensor([self.class_to_idx[name] for name in ds.classes])
        x = torch.stack([ds[i][0] for i in range(len(ds))])
        return x, remap[torch.tensor(ds.targets, dtype=torch.long)]

    def _read_unlabeled(self, folder: str) -> torch.Tensor:
        files = list_images(folder)
        if not files:
            raise FileNotFoundError(f"No images ({', '.join(IMG_EXTENSIONS)}) were found under {folder!r}.")
        pixels = self._pixels()
        return torch.stack([pixels(load_rgb(f)) for f in files])

    def _hold_out_test(self, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Per class, ``test_fraction`` of the images (rounded, seeded, at least one left for training)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.split_seed, 0x7E57]))
        labels = y.numpy()
        counts = [int((labels == c).sum()) for c in range(self.num_classes)]
        alone = [self.classes[c] for c, n in enumerate(counts) if n < 2]
        if alone:
            raise ValueError(f"Class(es) {alone} have fewer than 2 images in {self.labeled_dir!r}: one cannot be both "
                             "trained on and tested; add images or give a test_dir.")
        test = np.concatenate(
            [rng.permutation(np.flatnonzero(labels == c))[: min(int(round(self.test_fraction * n)), n - 1)]
             for c, n in enumerate(counts)]
        ).astype(np.int64)
        if len(test) == 0:
            raise ValueError(
                f"test_fraction={self.test_fraction} holds out no image of {self.labeled_dir!r}; "
                "raise it or give a test_dir."
            )
        return np.setdiff1d(np.arange(len(labels)), test), np.sort(test)

    def load_images(self) -> RawImages:
        """Read every folder into ``uint8`` tensors of ``input_shape``."""
        x, y = self._read_labeled(self.labeled_dir)
        if self.test_dir is not None:
            x_test, y_test = self._read_labeled(self.test_dir)
        else:
            train, test = self._hold_out_test(y)
            x, y, x_test, y_test = x[train], y[train], x[test], y[test]
        x_extra = self._read_unlabeled(self.unlabeled_dir) if self.unlabeled_dir else None
        return RawImages(x, y, x_test, y_test, x_extra)

    # ----------------------------------------------------------------- split
    def draw_split(self, y_train: torch.Tensor) -> SplitIndices:
        """Class-balanced draw when ``num_labeled`` is set; otherwise every training image is labeled.

        With ``num_labeled=None``, ``num_val`` images (seeded by ``split_seed``, not balanced)
        are held out for validation and all the others are labeled.
        """
        if self.num_labeled is not None:
            return super().draw_split(y_train)
        n = len(y_train)
        if self.num_val >= n:
            raise ValueError(f"num_val={self.num_val} leaves no training image out of {n}.")
        order = np.random.default_rng(np.random.SeedSequence([self.split_seed, 0x5EED])).permutation(n)
        val, rest = np.sort(order[: self.num_val]), np.sort(order[self.num_val :])
        return SplitIndices(labeled=rest.tolist(), unlabeled=rest.tolist(), val=val.tolist())
