"""The unlabeled pool as an uncopied view, and the data's scales measured on it."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ssl_kit.defaults import input_norm, neighbour_distance

#: Pool examples the data's scales are measured on (a seeded sample of a larger pool).
SAMPLE_SIZE = 10_000


class UnlabeledPool:
    """The unlabeled pool as a view: rows ``index`` of the training inputs, then the extra inputs.

    Gathering a batch by position reads the training tensor directly, so the pool costs no copy
    of the training set (about 600 MB for CIFAR-10 in float32).

    Args:
        x_train: the training inputs.
        index: the rows of ``x_train`` that are in the pool.
        extra: inputs without any labels, appended to the pool (or ``None``).
    """

    def __init__(self, x_train: torch.Tensor, index: torch.Tensor, extra: torch.Tensor | None) -> None:
        self.x_train, self.index, self.extra = x_train, index, extra
        self.num_train = len(index)

    def __len__(self) -> int:
        return self.num_train + (len(self.extra) if self.extra is not None else 0)

    def __getitem__(self, positions: torch.Tensor) -> torch.Tensor:
        if self.extra is None:
            return self.x_train[self.index[positions]]
        in_train = positions < self.num_train
        dtype = torch.promote_types(self.x_train.dtype, self.extra.dtype)
        out = torch.empty((len(positions), *self.x_train.shape[1:]), dtype=dtype)
        out[in_train] = self.x_train[self.index[positions[in_train]]].to(dtype)
        out[~in_train] = self.extra[positions[~in_train] - self.num_train].to(dtype)
        return out

    def head(self, limit: int | None = None) -> torch.Tensor:
        """A copy of the first ``limit`` inputs (``None``: the whole pool)."""
        count = len(self) if limit is None else min(limit, len(self))
        return self[torch.arange(count)]

    def sample(self, size: int = SAMPLE_SIZE) -> torch.Tensor:
        """A seeded random sample of ``size`` inputs (all of a smaller pool)."""
        return self[torch.randperm(len(self), generator=torch.Generator().manual_seed(0))[:size]]


class PoolStatistics:
    """The scales of the unlabeled inputs, each measured once on a seeded sample of the pool and kept.

    Methods set their default perturbation radii (``eps: null``) as a fraction of them.

    Args:
        pool: returns the unlabeled pool; called at the first measurement only.
    """

    def __init__(self, pool: Callable[[], UnlabeledPool]) -> None:
        self.pool = pool
        self._input_norm: float | None = None
        self._neighbour_distance: float | None = None

    @property
    def input_norm(self) -> float:
        """Median L2 distance to the mean (:func:`ssl_kit.defaults.input_norm`)."""
        if self._input_norm is None:
            self._input_norm = input_norm(self.pool().sample())
        return self._input_norm

    @property
    def neighbour_distance(self) -> float:
        """Median distance to the 10th nearest neighbour (:func:`ssl_kit.defaults.neighbour_distance`)."""
        if self._neighbour_distance is None:
            self._neighbour_distance = neighbour_distance(self.pool().sample())
        return self._neighbour_distance
