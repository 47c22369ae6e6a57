"""Continuing a run exactly from a checkpoint written where an epoch ended or ``max_steps`` stopped it.

A checkpoint written in ``on_train_epoch_end`` (``ModelCheckpoint``'s ``last.ckpt`` without
validation, or the one written when ``max_steps`` ends the run) stores the fit loop's epoch
progress with the epoch *processed* but not yet *completed*. Lightning resumes a run that counts
steps (``max_steps`` set) from such a state as "restarted at the end of an epoch": it skips the
epoch-start hooks, keeps the old epoch's batch index, hands the sampler the *next* epoch number
while still finishing the old epoch, and counts the epoch twice. Measured on the rings toy (issue
29): 25 steps, then resumed to 60, ended at epoch 7 where the uninterrupted run ended at 6, with
other batches and weights up to 0.125 apart.

:func:`settle_epoch_end` rewrites that loop state, in the model's ``on_load_checkpoint`` (before
Lightning restores the loops), into the state Lightning resumes correctly:

* the epoch's batches were all run (the usual end of an epoch): the epoch is marked completed
  and the next one starts at batch 0, as it does in the uninterrupted run;
* ``max_steps`` stopped the run inside the epoch: the epoch is marked as not yet processed, so
  Lightning continues it at the next batch, with the sampler of the same epoch.

The random-number generators are then restored where the uninterrupted run would be: before
the training loader is iterated for a new epoch (iterating draws a worker seed from torch's
generator), or just before the next batch when continuing inside an epoch.
"""

from __future__ import annotations

from typing import Any


def settle_epoch_end(checkpoint: dict[str, Any]) -> bool:
    """Make a checkpoint written at an epoch's end (or a ``max_steps`` stop) resume exactly.

    Args:
        checkpoint: the loaded checkpoint; its ``"loops"`` entry is changed in place.

    Returns:
        Whether training continues at the start of a new epoch (restore the random state before
        the loader is iterated) rather than inside one (restore it before the next batch).
    """
    fit = checkpoint.get("loops", {}).get("fit_loop")
    if not fit:
        return False
    epochs = fit["epoch_progress"]
    batches = fit.get("epoch_loop.batch_progress")
    if batches is None:
        return False
    for scope in ("total", "current"):
        ep = epochs[scope]
        if not (ep["ready"] == ep["started"] == ep["processed"] == ep["completed"] + 1):
            return False  # not written in on_train_epoch_end: Lightning resumes it as it is
    if batches.get("is_last_batch"):
        for scope in ("total", "current"):
            epochs[scope]["completed"] = epochs[scope]["processed"]
        for counter in ("ready", "started", "processed", "completed"):
            batches["current"][counter] = 0
        batches["is_last_batch"] = False
        return True
    for scope in ("total", "current"):
        epochs[scope]["processed"] -= 1
    return False
