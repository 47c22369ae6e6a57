"""Two-dimensional toy sets that show what semi-supervised learning buys: rings and moons."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from ssl_kit.datamodules.labeled_unlabeled import LabeledUnlabeledDataModule
from ssl_kit.datamodules.splits import NumLabeled


def make_rings(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two concentric rings (radii 0.5 and 1.0): class 0 inside, class 1 outside."""
    y = torch.arange(n) % 2
    angle = torch.rand(n, generator=generator) * 2 * math.pi
    radius = torch.where(y == 0, 0.5, 1.0) + noise * torch.randn(n, generator=generator)
    x = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
    return x, y


def make_moons(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles, centred on the origin."""
    y = torch.arange(n) % 2
    t = torch.rand(n, generator=generator) * math.pi
    upper = torch.stack([t.cos(), t.sin()], dim=1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)
    x = torch.where((y == 0).unsqueeze(1), upper, lower) - torch.tensor([0.5, 0.25])
    return x + noise * torch.randn(n, 2, generator=generator), y


TOY_GENERATORS = {"rings": make_rings, "moons": make_moons}


class ToyDataModule(LabeledUnlabeledDataModule):
    """Rings or moons in 2-D, generated from ``data_seed``; 8 labeled points per class by default.

    Args:
        dataset: ``"rings"`` (concentric circles) or ``"moons"``.
        num_train: training points (all of them form the unlabeled pool).
        num_test: test points, drawn independently.
        noise: standard deviation of the Gaussian noise added to the points.
        data_seed: seed of the point generator.
        **kwargs: see :class:`LabeledUnlabeledDataModule`.
    """

    default_labeled_batch_size = 16
    default_unlabeled_batch_size = 100

    def __init__(
        self,
        dataset: Literal["rings", "moons"] = "rings",
        num_train: int = 1000,
        num_test: int = 1000,
        noise: float = 0.1,
        data_seed: int = 0,
        num_labeled: NumLabeled = 16,
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
        if dataset not in TOY_GENERATORS:
            raise ValueError(f"dataset must be one of {sorted(TOY_GENERATORS)}, got {dataset!r}.")
        self.dataset, self.num_train, self.num_test = dataset, num_train, num_test
        self.noise, self.data_seed = noise, data_seed
        self.num_classes = 2
        self.input_shape = (2,)

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Generate the training and test points."""
        make = TOY_GENERATORS[self.dataset]
        x_train, y_train = make(self.num_train, self.noise, torch.Generator().manual_seed(self.data_seed))
        x_test, y_test = make(self.num_test, self.noise, torch.Generator().manual_seed(self.data_seed + 1))
        return x_train, y_train, x_test, y_test
