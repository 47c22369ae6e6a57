"""One training batch and how it is gathered: :class:`MixedBatch`, its dataset and a collate."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch.utils.data import Dataset, default_collate

from ssl_kit.datamodules.transforms import single_threaded
from ssl_kit.datamodules.unlabeled_pool import UnlabeledPool

BatchTransform = Callable[[torch.Tensor], torch.Tensor]


class MixedBatch(NamedTuple):
    """One training batch: labeled inputs ``x_l`` with labels ``y_l``, and unlabeled ``x_u``.

    ``x_u_strong`` is a second view of the same unlabeled examples, drawn independently, when the
    datamodule is asked for one (``strong_view``); otherwise ``None``.
    """

    x_l: torch.Tensor
    y_l: torch.Tensor
    x_u: torch.Tensor
    x_u_strong: torch.Tensor | None = None


def identity(x: torch.Tensor) -> torch.Tensor:
    """The second view of data without augmentation: the inputs themselves."""
    return x


class MixedBatchDataset(Dataset):
    """Gathers a whole mixed batch by tensor indexing (no per-item Python work).

    An item is a pair of index tensors ``(labeled_positions, unlabeled_positions)``, as
    :class:`~ssl_kit.datamodules.sampler.MixedBatchSampler` yields them; the item is the
    :class:`MixedBatch` of those positions.

    Args:
        x_labeled: the labeled inputs.
        y_labeled: their class indices.
        x_unlabeled: the unlabeled pool (a tensor or an uncopied :class:`UnlabeledPool`).
        transform: training augmentation, drawn independently for the labeled and unlabeled inputs.
        second_view: the transform making ``x_u_strong`` (``None``: no second view).
        seed: the stream seed; the second view's draws are a function of it and the batch.
    """

    def __init__(
        self,
        x_labeled: torch.Tensor,
        y_labeled: torch.Tensor,
        x_unlabeled: torch.Tensor | UnlabeledPool,
        transform: BatchTransform | None,
        second_view: BatchTransform | None = None,
        seed: int = 0,
    ) -> None:
        self.x_labeled, self.y_labeled, self.x_unlabeled = x_labeled, y_labeled, x_unlabeled
        self.transform, self.second_view, self.seed = transform, second_view, seed

    def second_view_of(self, x_u: torch.Tensor, u_pos: torch.Tensor) -> torch.Tensor:
        """The second view, drawn from a generator seeded by the stream seed and the batch's indices.

        Its draws are then a function of the batch alone: a run resumed mid-epoch (whose global RNG
        is restored only once the first batch has been built) and loader workers draw the same views.
        """
        assert self.second_view is not None
        mixed = int(((torch.arange(len(u_pos)) + 1) * (u_pos.long() * 2654435761 % 2147483647)).sum())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((self.seed * 1_000_003 + mixed) % 2**63)
            return self.second_view(x_u)

    def __getitem__(self, positions: tuple[torch.Tensor, torch.Tensor]) -> MixedBatch:
        l_pos, u_pos = positions
        # A batch gather is tiny: on one thread it is fast, split over busy cores it stalls
        # (a whole MixedBatch: ~10 k images/s split over 2 busy threads, 30-42 k on one).
        with single_threaded():
            x_l, x_u = self.x_labeled[l_pos], self.x_unlabeled[u_pos]
            x_u_strong = self.second_view_of(x_u, u_pos) if self.second_view is not None else None
            if self.transform is not None:  # independent draws for the two streams
                x_l, x_u = self.transform(x_l), self.transform(x_u)
        return MixedBatch(x_l, self.y_labeled[l_pos], x_u, x_u_strong)


class TransformedCollate:
    """Collates ``(x, ...)`` items, then applies a batch transform to ``x`` (picklable for loader workers)."""

    def __init__(self, transform: BatchTransform) -> None:
        self.transform = transform

    def __call__(self, items: list[tuple[torch.Tensor, ...]]) -> list[torch.Tensor]:
        x, *rest = default_collate(items)
        return [self.transform(x), *rest]
