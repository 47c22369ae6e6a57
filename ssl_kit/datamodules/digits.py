"""scikit-learn's 8x8 handwritten digits: a small real data set that needs no download."""

from __future__ import annotations

from typing import Any

import torch

from ssl_kit.datamodules.labeled_unlabeled import LabeledUnlabeledDataModule


class DigitsDataModule(LabeledUnlabeledDataModule):
    """The 1,797 8x8 digit images of ``sklearn.datasets.load_digits`` (UCI optdigits test set), in [0, 1].

    A fixed, class-stratified ``test_fraction`` (seeded by ``data_seed``) is the test set; the
    rest is the training set, all of it unlabeled, ``num_labeled`` of it labeled. Inputs are
    ``(1, 8, 8)`` images scaled from 0-16 to [0, 1].

    Args:
        num_labeled: labeled examples, class-balanced (50 by default: 5 per class).
        test_fraction: share of each class held out as the test set.
        data_seed: seed of the train / test division.
        **kwargs: see :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`.
    """

    def __init__(self, num_labeled: int = 50, test_fraction: float = 0.2, data_seed: int = 0, **kwargs: Any) -> None:
        super().__init__(num_labeled=num_labeled, **kwargs)
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}.")
        self.test_fraction, self.data_seed = test_fraction, data_seed
        self.num_classes = 10
        self.input_shape = (1, 8, 8)

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Load the images (bundled with scikit-learn) and divide them into training and test sets."""
        try:
            from sklearn.datasets import load_digits
        except ImportError as error:  # scikit-learn is optional for the library
            raise ImportError("DigitsDataModule needs scikit-learn: pip install scikit-learn") from error
        digits = load_digits()
        x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
        y = torch.tensor(digits.target, dtype=torch.long)
        generator = torch.Generator().manual_seed(self.data_seed)
        test = torch.zeros(len(y), dtype=torch.bool)
        for c in range(self.num_classes):
            members = torch.nonzero(y == c).flatten()
            members = members[torch.randperm(len(members), generator=generator)]
            test[members[: round(self.test_fraction * len(members))]] = True
        return x[~test], y[~test], x[test], y[test]
