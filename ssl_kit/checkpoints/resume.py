"""Continuing a run exactly from a checkpoint written where an epoch ended or ``max_steps`` stopped it.

``last.ckpt`` is written in ``on_train_epoch_end`` (no validation) or, when validation decides
the saves and ``max_steps`` ends the run first, in ``on_train_end``. The first stores the epoch as
*processed* but not *completed*; the second as completed even when ``max_steps`` stopped it
half-way. Lightning resumes a run that counts steps (``max_steps`` set) from either state without
noticing: it keeps the old epoch's batch index, hands the sampler the *next* epoch number while
finishing (or skipping the rest of) the old epoch, and counts an epoch too many. Measured with the
issue's command (``configs/vat/toy_rings.yaml``, seed 3, 25 steps then continued to 60): epoch 7
where the uninterrupted run ends at 6, weights up to 0.125 apart.

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
    """Make a checkpoint written at an epoch's end or at the end of a run resume exactly.

    Two states need it: written in ``on_train_epoch_end`` (the epoch processed, not yet
    completed) and written in ``on_train_end`` after ``max_steps`` stopped the run (``last.ckpt``
    when validation decides the saves: the epoch counted as completed although its batches may
    not all have run).

    Args:
        checkpoint: the loaded checkpoint; its ``"loops"`` entry is changed in place.

    Returns:
        Whether training continues at the start of a new epoch (restore the random state before
        the loader is iterated) rather than inside one (restore it before the next batch).
    """
    fit = checkpoint.get("loops", {}).get("fit_loop")
    batches = (fit or {}).get("epoch_loop.batch_progress")
    if not fit or batches is None:
        return False
    scopes = [fit["epoch_progress"][scope] for scope in ("total", "current")]
    epoch_end_hook = all(e["ready"] == e["started"] == e["processed"] == e["completed"] + 1 for e in scopes)
    run_end = all(e["ready"] == e["started"] == e["processed"] == e["completed"] for e in scopes) \
        and batches["current"]["processed"] > 0
    if not (epoch_end_hook or run_end):
        return False  # written inside an epoch: Lightning resumes it as it is
    if batches.get("is_last_batch"):  # every batch of the epoch ran: the next epoch starts at batch 0
        for e in scopes:
            e["completed"] = e["processed"]
        for counter in ("ready", "started", "processed", "completed"):
            batches["current"][counter] = 0
        batches["is_last_batch"] = False
        return True
    for e in scopes:  # max_steps stopped the epoch part-way: continue it at the next batch
        e["processed"] = e["completed"] = e["started"] - 1
    return False
