"""The batch-size rule: a size not given is the class default capped at its pool."""

from __future__ import annotations

from pytorch_lightning.utilities import rank_zero_info


def capped_batch_size(default: int, pool: int, world_size: int = 1) -> int:
    """``default`` capped at ``pool``, rounded down to a multiple of ``world_size`` (at least ``world_size``)."""
    return max(world_size, min(default, pool) // world_size * world_size)


def resolve_batch_sizes(
    given: tuple[int | None, int | None], defaults: tuple[int, int], pools: tuple[int, int], world_size: int = 1
) -> tuple[int, int]:
    """The GLOBAL ``(labeled, unlabeled)`` batch sizes of training on pools of sizes ``pools``.

    A size left ``None`` is its default capped at its pool (:func:`capped_batch_size`), so a small
    data set trains without any batch argument; one info line names the capped sizes. Explicit
    sizes are kept; the sampler refuses those the pools cannot meet, naming every problem at once.
    """
    sizes, capped = [], []
    for name, size, default, pool in zip(("labeled_batch_size", "unlabeled_batch_size"), given, defaults, pools):
        if size is None:
            size = capped_batch_size(default, pool, world_size)
            if size < default:
                capped.append(f"{name}={size} (default {default}, pool of {pool})")
        sizes.append(size)
    if capped:
        rank_zero_info("Batch sizes not given, capped at the pools: " + ", ".join(capped) + ".")
    return sizes[0], sizes[1]
