"""How many CPU threads torch uses: one for small models, so a busy machine does not stall them.

A small model's matrix products are too short to gain from several threads, and when another
process keeps the cores busy, torch's threads wait for each other at every operation: the same
toy run took 7 s alone and 185-320 s beside a busy process with two threads on a 2-core machine
(issue 26), while one thread does not slow down. The environment variable ``SSL_KIT_NUM_THREADS``
overrides the choice (e.g. ``SSL_KIT_NUM_THREADS=4``).
"""

from __future__ import annotations

import os

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info

#: Environment variable that fixes the number of torch threads (a positive integer).
ENV_VAR = "SSL_KIT_NUM_THREADS"

#: Models with fewer parameters than this run on one thread.
SMALL_MODEL_PARAMETERS = 2_000_000


def threads_from_env() -> int | None:
    """The thread count of ``SSL_KIT_NUM_THREADS``, or ``None`` when it is unset or empty."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{ENV_VAR} must be a positive integer, got {text!r}.")
    return int(text)


def idle_cores() -> int:
    """CPU cores not busy with other work: the core count minus the 1-minute load average (at least 1)."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on every platform
        return cores
    return max(1, int(cores - load + 0.5))


def choose_num_threads(num_parameters: int) -> int:
    """Threads for a model of ``num_parameters`` on the CPU.

    ``SSL_KIT_NUM_THREADS`` if set; else 1 for a model below :data:`SMALL_MODEL_PARAMETERS`;
    else torch's current count, lowered to the cores other processes leave idle.
    """
    fixed = threads_from_env()
    if fixed is not None:
        return fixed
    if num_parameters < SMALL_MODEL_PARAMETERS:
        return 1
    return max(1, min(torch.get_num_threads(), idle_cores()))


class ThreadPolicy(pl.Callback):
    """Set torch's CPU threads from the model's size at setup (:func:`choose_num_threads`).

    Only for training on the CPU: on an accelerator the threads feed the device and are left alone.
    """

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if trainer.strategy.root_device.type != "cpu":
            return
        count = sum(p.numel() for p in pl_module.parameters())
        threads = choose_num_threads(count)
        if threads != torch.get_num_threads():
            rank_zero_info(f"torch threads: {threads} (model of {count:,} parameters; set {ENV_VAR} to choose).")
            torch.set_num_threads(threads)
