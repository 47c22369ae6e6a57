"""Rank-aware sampler yielding the index pairs of mixed labeled + unlabeled batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler


def _stream(size: int, length: int, seed: int, epoch: int, stream_id: int) -> np.ndarray:
    """Concatenated random permutations of ``range(size)``, ``length`` indices in all.

    Each pass over the pool is a fresh permutation (no identical order in every cycle), and the
    whole stream is a pure function of ``(seed, epoch, stream_id)``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, epoch, stream_id]))
    passes = -(-length // size)
    return np.concatenate([rng.permutation(size) for _ in range(passes)])[:length]


def batch_size_problems(
    num_labeled: int, num_unlabeled: int, labeled_batch_size: int, unlabeled_batch_size: int, world_size: int = 1
) -> list[str]:
    """Every reason why these GLOBAL batch sizes cannot be drawn from these pools (empty: none).

    All problems are named at once, so a user fixes them in one go rather than one run each.
    """
    problems = []
    for name, value in (("labeled_batch_size", labeled_batch_size), ("unlabeled_batch_size", unlabeled_batch_size)):
        no_labels = name == "labeled_batch_size" and num_labeled == 0 and value == 0  # clustering: empty x_l
        if (value <= 0 and not no_labels) or value % world_size:
            problems.append(f"{name}={value} is the GLOBAL batch size and must be a positive multiple of the "
                            f"{world_size} devices, so every rank gets an equal share")
    if labeled_batch_size > num_labeled:
        problems.append(f"labeled_batch_size={labeled_batch_size} exceeds the {num_labeled} labeled examples, so one "
                        f"batch would repeat examples; set labeled_batch_size <= {num_labeled} (or leave it unset)")
    if unlabeled_batch_size > num_unlabeled:
        problems.append(f"unlabeled_batch_size={unlabeled_batch_size} exceeds the {num_unlabeled} unlabeled "
                        f"examples; set unlabeled_batch_size <= {num_unlabeled} (or leave it unset)")
    return problems


class MixedBatchSampler(Sampler[tuple[torch.Tensor, torch.Tensor]]):
    """Yields ``(labeled_positions, unlabeled_positions)`` for one rank, batch after batch.

    Two independent index streams, one cycling over the labeled pool and one over the unlabeled
    pool, are drawn from ``(seed, epoch)``. Global batch ``s`` is the slice
    ``[s * B, (s + 1) * B)`` of each stream and rank ``r`` of ``W`` takes the ``r``-th of its ``W``
    equal parts, so:

    * every rank yields exactly ``steps_per_epoch`` batches (DDP never waits on a missing one);
    * the union of the ranks' batches is the single-device global batch, whatever ``W`` is;
    * within a pass over a pool the ranks' shards are disjoint.

    Lightning cannot put a ``DistributedSampler`` around a custom sampler, so training loaders
    that use this class need ``Trainer(use_distributed_sampler=False)``.

    Args:
        num_labeled: size of the labeled pool; 0 (with ``labeled_batch_size`` 0) for data without
            labels, whose batches then carry empty labeled positions.
        num_unlabeled: size of the unlabeled pool.
        labeled_batch_size: GLOBAL labeled batch size (over all ranks).
        unlabeled_batch_size: GLOBAL unlabeled batch size (over all ranks).
        steps_per_epoch: batches per epoch; default: one pass over the unlabeled pool.
        seed: seed of the streams.
        rank: this process's rank.
        world_size: number of processes.
    """

    def __init__(
        self,
        num_labeled: int,
        num_unlabeled: int,
        labeled_batch_size: int,
        unlabeled_batch_size: int,
        steps_per_epoch: int | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if num_labeled < 0 or (num_labeled == 0) != (labeled_batch_size == 0):
            raise ValueError("The labeled pool is empty: semi-supervised training needs labeled examples "
                             "(an empty pool goes with labeled_batch_size=0, for clustering without labels).")
        if num_unlabeled <= 0:
            raise ValueError("The unlabeled pool is empty: give the datamodule unlabeled examples.")
        problems = batch_size_problems(num_labeled, num_unlabeled, labeled_batch_size, unlabeled_batch_size, world_size)
        if problems:
            raise ValueError("The batch sizes cannot be met: " + "; ".join(problems) + ".")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank={rank} is outside [0, {world_size}).")
        self.num_labeled = num_labeled
        self.num_unlabeled = num_unlabeled
        self.labeled_batch_size = labeled_batch_size
        self.unlabeled_batch_size = unlabeled_batch_size
        self.steps_per_epoch = steps_per_epoch or -(-num_unlabeled // unlabeled_batch_size)
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._next_step = 0  # batches of the current epoch already handed out (for resume)

    def __len__(self) -> int:
        return self.steps_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose streams are drawn next (Lightning calls this every epoch)."""
        if epoch != self.epoch:
            self.epoch = epoch
            self._next_step = 0

    def _rank_slice(self, stream: np.ndarray, step: int, global_batch: int) -> torch.Tensor:
        per_rank = global_batch // self.world_size
        start = step * global_batch + self.rank * per_rank
        return torch.from_numpy(stream[start : start + per_rank].copy())

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        steps = self.steps_per_epoch
        labeled = np.empty(0, dtype=np.int64)  # no labels at all: every batch's labeled part is empty
        if self.num_labeled:
            labeled = _stream(self.num_labeled, steps * self.labeled_batch_size, self.seed, self.epoch, 0)
        unlabeled = _stream(self.num_unlabeled, steps * self.unlabeled_batch_size, self.seed, self.epoch, 1)
        while self._next_step < steps:
            step = self._next_step
            self._next_step += 1
            yield (
                self._rank_slice(labeled, step, self.labeled_batch_size),
                self._rank_slice(unlabeled, step, self.unlabeled_batch_size),
            )
        # A finished epoch starts over when iterated again without set_epoch.
        self._next_step = 0

    def state_dict(self) -> dict[str, Any]:
        """Position in the streams: enough to continue a run resumed mid-epoch."""
        return {"epoch": self.epoch, "next_step": self._next_step, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the streams from a :meth:`state_dict`."""
        self.epoch = int(state["epoch"])
        self._next_step = int(state["next_step"])
        self.seed = int(state["seed"])
