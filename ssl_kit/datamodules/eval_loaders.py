"""Plain labeled ``(x, y)`` loaders of the validation, test and predict splits, sharded by rank."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from ssl_kit.datamodules.mixed_batch import BatchTransform, TransformedCollate
from ssl_kit.datamodules.world import rank_shard


def eval_loader(x: torch.Tensor, y: torch.Tensor, batch_size: int, num_workers: int = 0,
                transform: BatchTransform | None = None, rank: int = 0, world_size: int = 1) -> DataLoader:
    """``(x, y)`` batches of rank ``rank``'s contiguous share of the examples, inputs through ``transform``."""
    shard = rank_shard(len(x), rank, world_size)
    collate = None if transform is None else TransformedCollate(transform)
    # A private generator: iterating a loader draws its workers' base seed from a generator, and
    # from torch's global one by default, which would shift the training noise after every
    # periodic validation; so evaluating never changes what training does.
    return DataLoader(TensorDataset(x[shard], y[shard]), batch_size=batch_size, num_workers=num_workers,
                      collate_fn=collate, generator=torch.Generator())
