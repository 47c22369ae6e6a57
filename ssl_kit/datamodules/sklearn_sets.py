"""scikit-learn's bundled tables (iris, wine, breast cancer) and Gaussian blobs as semi-supervised data.

Both need no download: the tables ship with scikit-learn and the blobs are generated from a seed.
Features are standardised with the training set's statistics (the test set never enters them).
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from ssl_kit.datamodules.labeled_unlabeled import LabeledUnlabeledDataModule
from ssl_kit.datamodules.splits import NumLabeled

#: Bundled scikit-learn tables: name -> loader function name in ``sklearn.datasets``.
TABLE_LOADERS = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer"}


def standardise(x_train: torch.Tensor, x_test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre and scale every feature by the training set's mean and standard deviation.

    A feature that is constant on the training set is only centred.
    """
    mean = x_train.mean(0, keepdim=True)
    std = x_train.std(0, keepdim=True)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (x_train - mean) / std, (x_test - mean) / std


def stratified_test_mask(y: torch.Tensor, num_classes: int, test_fraction: float, seed: int) -> torch.Tensor:
    """A boolean mask holding out ``test_fraction`` of every class (rounded), drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    test = torch.zeros(len(y), dtype=torch.bool)
    for c in range(num_classes):
        members = torch.nonzero(y == c).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        test[members[: round(test_fraction * len(members))]] = True
    return test


def _sklearn_datasets() -> Any:
    try:
        from sklearn import datasets
    except ImportError as error:  # scikit-learn is optional for the library
        raise ImportError("The scikit-learn data sets need scikit-learn: pip install scikit-learn") from error
    return datasets


class SklearnTableDataModule(LabeledUnlabeledDataModule):
    """One of scikit-learn's bundled tables as standardised feature vectors.

    A fixed, class-stratified ``test_fraction`` of the table (seeded by ``data_seed``) is the test
    set; the rest is the training set, all of it unlabeled, ``num_labeled`` of it labeled
    (class-balanced). Sizes: iris 150 rows x 4 features, 3 classes; wine 178 x 13, 3 classes;
    breast cancer 569 x 30, 2 classes.

    Args:
        dataset: ``"iris"``, ``"wine"`` or ``"breast_cancer"``.
        test_fraction: share of each class held out as the test set.
        data_seed: seed of the train / test division.
        num_labeled: labeled examples, a multiple of the number of classes.
        **kwargs: see :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`.
    """

    def __init__(
        self,
        dataset: Literal["iris", "wine", "breast_cancer"] = "iris",
        test_fraction: float = 0.5,
        data_seed: int = 0,
        num_labeled: NumLabeled = 6,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_labeled=num_labeled, **kwargs)
        if dataset not in TABLE_LOADERS:
            raise ValueError(f"dataset must be one of {sorted(TABLE_LOADERS)}, got {dataset!r}.")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}.")
        self.dataset, self.test_fraction, self.data_seed = dataset, test_fraction, data_seed
        table = getattr(_sklearn_datasets(), TABLE_LOADERS[dataset])()
        self._table = (torch.tensor(table.data, dtype=torch.float32), torch.tensor(table.target, dtype=torch.long))
        self.num_classes = len(table.target_names)
        self.input_shape = (table.data.shape[1],)
        self.class_names = [str(name) for name in table.target_names]

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Divide the table into training and test rows and standardise with the training rows."""
        x, y = self._table
        test = stratified_test_mask(y, self.num_classes, self.test_fraction, self.data_seed)
        x_train, x_test = standardise(x[~test], x[test])
        return x_train, y[~test], x_test, y[test]


class BlobsDataModule(LabeledUnlabeledDataModule):
    """Isotropic Gaussian blobs (``sklearn.datasets.make_blobs``), standardised, one blob per class.

    The centres are drawn once from ``data_seed`` in the box ``[-center_box, center_box]^dim``;
    training and test points are then drawn independently around the same centres, so ``noise``
    (the blobs' standard deviation) sets how much the classes overlap.

    Args:
        num_classes: blobs (classes).
        dim: features per point.
        noise: standard deviation of each blob, in the units of ``center_box``.
        center_box: half-width of the box the centres are drawn from.
        num_train: training points (all of them form the unlabeled pool).
        num_test: test points.
        data_seed: seed of the centres and points.
        num_labeled: labeled examples, a multiple of ``num_classes``.
        **kwargs: see :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`.
    """

    default_labeled_batch_size = 16
    default_unlabeled_batch_size = 100

    def __init__(
        self,
        num_classes: int = 4,
        dim: int = 8,
        noise: float = 1.0,
        center_box: float = 2.0,
        num_train: int = 1000,
        num_test: int = 5000,
        data_seed: int = 0,
        num_labeled: NumLabeled = 16,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_labeled=num_labeled, **kwargs)
        if num_classes < 2 or dim < 1 or noise <= 0 or center_box <= 0:
            raise ValueError(f"need num_classes >= 2, dim >= 1, noise > 0 and center_box > 0; got "
                             f"{num_classes}, {dim}, {noise}, {center_box}.")
        self.num_classes, self.dim, self.noise, self.center_box = num_classes, dim, noise, center_box
        self.num_train, self.num_test, self.data_seed = num_train, num_test, data_seed
        self.input_shape = (dim,)

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw the centres, then the training and test points, and standardise with the training points."""
        make_blobs = _sklearn_datasets().make_blobs
        centres = torch.empty(self.num_classes, self.dim).uniform_(
            -self.center_box, self.center_box, generator=torch.Generator().manual_seed(self.data_seed))
        parts = []
        for offset, count in ((1, self.num_train), (2, self.num_test)):
            # make_blobs spreads n_samples over the centres as evenly as it can
            x, y = make_blobs(n_samples=count, centers=centres.numpy(), cluster_std=self.noise,
                              random_state=self.data_seed * 10 + offset)
            parts.append((torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long)))
        (x_train, y_train), (x_test, y_test) = parts
        x_train, x_test = standardise(x_train, x_test)
        return x_train, y_train, x_test, y_test
