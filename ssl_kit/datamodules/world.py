"""Where a datamodule runs: rank and world size, the stream seed, and the loader checks of DDP."""

from __future__ import annotations

import os
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DistributedSampler

#: The environment variable in which ``lightning.seed_everything`` publishes the seed it was given.
SEED_VARIABLE = "PL_GLOBAL_SEED"


def world_of(trainer: pl.Trainer | None) -> tuple[int, int]:
    """``(global_rank, world_size)`` of a trainer; ``(0, 1)`` without one."""
    return (0, 1) if trainer is None else (trainer.global_rank, trainer.world_size)


def global_seed() -> int:
    """The seed given to ``seed_everything`` (0 if it was not called).

    Lightning documents that ``seed_everything`` sets the environment variable ``PL_GLOBAL_SEED``
    (so that spawned processes and loader workers see the same seed); it has no other public
    accessor, so this function reads that documented variable, and nothing else in the toolkit does.
    """
    return int(os.environ.get(SEED_VARIABLE, 0))


def stream_seed(seed: int | None) -> int:
    """The seed of the batch streams: ``seed`` if given, else the one of ``seed_everything``."""
    return seed if seed is not None else global_seed()


def rank_shard(size: int, rank: int, world_size: int) -> torch.Tensor:
    """Positions of rank ``rank``'s contiguous, unpadded share of ``size`` examples.

    Metrics synced over the ranks then count every example once.
    """
    return torch.tensor_split(torch.arange(size), world_size)[rank]


def batches_trained_this_epoch(trainer: pl.Trainer) -> int:
    """The training batches of the current epoch whose training step has run.

    The one place where this toolkit reads a Lightning internal: Lightning has no public count of
    the batches done in the current epoch (``global_step`` counts optimizer steps over the whole
    run, several per batch for manual optimisation), and an exact mid-epoch resume needs it. The
    fit loop's progress tracker is read here and nowhere else; ``tests/test_sampler.py`` checks it
    against ``batch_idx`` and fails loudly when Lightning changes it.
    """
    return int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)


def refuse_distributed_sampler(loader: Any) -> None:
    """Raise if Lightning wrapped a training loader's rank-sharded sampler in a ``DistributedSampler``.

    The wrapper would shard the already sharded stream again and keep a fraction of each shard
    (12 of 40 unlabeled examples per rank on 2 processes), so the run would not train on what the
    protocol says.
    """
    if isinstance(getattr(loader, "sampler", None), DistributedSampler):
        raise ValueError(
            "This datamodule shards its batches by rank itself: build the Trainer with "
            "use_distributed_sampler=False (ssl-kit's CLI does) when training on several devices."
        )
