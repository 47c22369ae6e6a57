"""What a datamodule keeps in a checkpoint: the split and the position of the batch stream."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from ssl_kit.datamodules.sampler import MixedBatchSampler
from ssl_kit.datamodules.splits import SplitIndices
from ssl_kit.datamodules.world import batches_trained_this_epoch


def split_state(split: SplitIndices | None) -> dict[str, Any]:
    """``{"split": indices}`` as plain lists (empty before the split is drawn)."""
    if split is None:
        return {}
    return {"split": {"labeled": split.labeled, "unlabeled": split.unlabeled, "val": split.val}}


def split_of_state(state: dict[str, Any]) -> SplitIndices | None:
    """The split saved by :func:`split_state` (``None`` if the state holds none)."""
    return SplitIndices(**state["split"]) if "split" in state else None


def sampler_state(sampler: MixedBatchSampler | None, trainer: pl.Trainer | None) -> dict[str, Any]:
    """``{"sampler": position}`` of the training stream (empty before the training loader is built)."""
    if sampler is None:
        return {}
    state = sampler.state_dict()
    if trainer is not None and trainer.state.fn == "fit":
        # The loader prefetches (and loader workers run further ahead), so the sampler's own
        # position runs early; the batches whose training step has run are what a resumed run
        # must skip. Also when the checkpoint is written at the end of a mid-epoch validation.
        state["next_step"] = batches_trained_this_epoch(trainer)
    return {"sampler": state}
