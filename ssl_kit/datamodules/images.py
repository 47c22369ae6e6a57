"""Base of the image datamodules: raw uint8 images in, scaled / whitened / augmented tensors out."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from pytorch_lightning.utilities import rank_zero_warn

from ssl_kit.datamodules.labeled_unlabeled import LabeledUnlabeledDataModule, default_data_dir
from ssl_kit.datamodules.preprocessing import Preprocessing
from ssl_kit.datamodules.transforms import SCALINGS, Backend, Scaling, build_augmentation, scale_images
from ssl_kit.datamodules.zca import ZCA, fit_zca_cached
from ssl_kit.utils.paths import cache_dir


class RawImages(NamedTuple):
    """What an image source returns: ``uint8`` images ``(N, C, H, W)`` and integer labels.

    ``x_extra`` holds images without any label (appended to the unlabeled pool), or ``None``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_extra: torch.Tensor | None = None


class ImageDataModule(LabeledUnlabeledDataModule):
    """Images kept in memory as float tensors ``(C, H, W)``, preprocessed as a paper does.

    Subclasses implement :meth:`load_images` and set ``num_classes`` and ``input_shape``. The
    pipeline is: ``uint8`` pixels -> :func:`~ssl_kit.datamodules.transforms.scale_images` (``scaling``)
    -> optional ZCA whitening fitted on the training images (labeled, unlabeled and extra
    unlabeled, not the ``num_val`` validation images; no labels are used) and applied to every
    split -> at training time, optional translation / flip augmentation drawn independently for
    the labeled and unlabeled batches.

    Args:
        data_dir: root of the data files; default ``$SSL_KIT_DATA`` or ``./data``.
        scaling: ``"unit"`` ([0, 1]), ``"vat"`` ((x - 127.5) / 255), ``"gan"``
            ((x - 127.5) / 127.5) or ``"gan128"`` ((x - 127.5) / 128).
        zca: whiten with ZCA fitted on the training images.
        zca_eps: ZCA regulariser added to the covariance eigenvalues.
        zca_cache_dir: where fitted ZCA transforms are cached; default the user cache folder (``$SSL_KIT_CACHE/zca``, see
            :func:`ssl_kit.utils.paths.cache_dir`); data folders are only read.
        translate: random translation of training images by up to this many pixels (0: off).
        hflip: random horizontal flips of training images.
        augment_backend: ``"torch"`` (batch-level, default) or ``"albumentations"`` (per image).
        **kwargs: see :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        scaling: Scaling = "unit",
        zca: bool = False,
        zca_eps: float = 1e-6,
        zca_cache_dir: str | None = None,
        translate: int = 0,
        hflip: bool = False,
        augment_backend: Backend = "torch",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_dir = data_dir or default_data_dir()
        self.scaling = scaling
        self.zca = zca
        self.zca_eps = zca_eps
        self.zca_cache_dir = zca_cache_dir or str(cache_dir("zca"))
        self.translate = translate
        self.hflip = hflip
        self.augment_backend = augment_backend
        self._extra_images: torch.Tensor | None = None
        self._whiten: ZCA | None = None

    def configure_augmentation(self) -> None:
        """Set ``train_transform`` from ``translate``, ``hflip`` and ``augment_backend``.

        Call at the end of a subclass's ``__init__``, once ``input_shape`` is known.
        """
        self.train_transform = build_augmentation(self.input_shape, self.translate, self.hflip, self.augment_backend)

    def preprocessing(self) -> Preprocessing:
        """Scaling and (fitted) ZCA of these images, for prediction on new raw images."""
        if self.zca and self._whiten is None:
            self.tensors  # noqa: B018  (fits the whitening)
        channels, height, width = self.input_shape
        return Preprocessing("images", self.scaling, self._whiten, (height, width), channels)

    def pixel_range(self) -> tuple[float, float]:
        """The range ``scaling`` maps 0..255 to; refused with ZCA, whose outputs are not pixels."""
        if self.zca:
            raise ValueError("strong_view 'strong' applies colour operations to pixels; it cannot follow ZCA "
                             "whitening (set zca: false).")
        shift, divisor = SCALINGS[self.scaling]
        return (-shift / divisor, (255.0 - shift) / divisor)

    def load_images(self) -> RawImages:
        """Return the raw ``uint8`` images and labels; subclasses implement this."""
        raise NotImplementedError

    def prepare_data(self) -> None:
        """Fit (and cache) ZCA once, on one process, before the ranks load the data."""
        if self.zca:
            self.tensors  # noqa: B018

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Read, scale and (optionally) whiten every split."""
        raw = self.load_images()
        x_train, x_test = scale_images(raw.x_train, self.scaling), scale_images(raw.x_test, self.scaling)
        x_extra = None if raw.x_extra is None else scale_images(raw.x_extra, self.scaling)
        if self.zca:
            fit_on = self._without_validation_rows(x_train, raw.y_train)
            fit_on = fit_on if x_extra is None else torch.cat([fit_on, x_extra])
            dims = fit_on[0].numel()
            if len(fit_on) < dims:
                rank_zero_warn(
                    f"ZCA is fitted on {len(fit_on)} images of {dims} values each: directions the images do not "
                    f"span are scaled by 1/sqrt(zca_eps) = {self.zca_eps ** -0.5:.3g}, which inflates test images "
                    "that have any component there. Use more (unlabeled) images, a larger zca_eps, or zca: false."
                )
            whiten = self._whiten = fit_zca_cached(fit_on, self.zca_eps, self.zca_cache_dir)
            x_train, x_test = whiten(x_train), whiten(x_test)
            x_extra = None if x_extra is None else whiten(x_extra)
        self._extra_images = x_extra
        return x_train, raw.y_train, x_test, raw.y_test

    def _without_validation_rows(self, x_train: torch.Tensor, y_train: torch.Tensor) -> torch.Tensor:
        """The training images outside the validation split (all of them when ``num_val`` is 0)."""
        if not self.num_val:
            return x_train
        keep = torch.ones(len(x_train), dtype=torch.bool)
        keep[self.resolve_split(torch.as_tensor(y_train).long()).val] = False
        return x_train[keep]

    def load_extra_unlabeled(self) -> torch.Tensor | None:
        """The preprocessed unlabeled-only images of :meth:`load_images`, if any."""
        return self._extra_images
