"""Random-number generator states saved in checkpoints, so that a resumed run draws what the
uninterrupted run would have drawn."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_warn


def numpy_state_to_plain(state: tuple) -> dict[str, Any]:
    """NumPy's RNG state as tensors and numbers, so checkpoints load with ``weights_only=True``."""
    name, keys, pos, has_gauss, cached = state
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def numpy_state_from_plain(state: dict[str, Any]) -> tuple:
    """Inverse of :func:`numpy_state_to_plain`, for ``np.random.set_state``."""
    return (state["name"], state["keys"].numpy().astype(np.uint32), state["pos"], state["has_gauss"], state["cached"])


def capture_rng_states() -> dict[str, Any]:
    """The torch, NumPy and Python generator states, and CUDA's where CUDA is in use."""
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": numpy_state_to_plain(np.random.get_state()),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        # Noise, VAT's random start and dropout draw from the CUDA generators on a GPU.
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set every generator from :func:`capture_rng_states`' result; CUDA's only on as many devices."""
    torch.set_rng_state(states["torch"])
    np.random.set_state(numpy_state_from_plain(states["numpy"]))
    random.setstate(states["python"])
    cuda_states = states.get("cuda")
    if cuda_states is not None and torch.cuda.is_available():
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            rank_zero_warn(f"The checkpoint holds {len(cuda_states)} CUDA generator states for "
                           f"{torch.cuda.device_count()} visible devices; CUDA random numbers are not restored.")


class RngResume:
    """Mixin of :class:`~ssl_kit.methods.base.SSLModule`: keeps a loaded checkpoint's generator
    states and restores them where the uninterrupted run would be."""

    _rng_state_to_restore: dict[str, Any] | None = None
    _rng_restore_at_epoch_start: bool = False

    def keep_rng_states(self, checkpoint: dict[str, Any], at_epoch_start: bool) -> None:
        """Restore ``checkpoint["rng_states"]`` at the next epoch start (a checkpoint written at an
        epoch's end) or the next batch (one written inside an epoch)."""
        self._rng_restore_at_epoch_start = at_epoch_start
        self._rng_state_to_restore = checkpoint.get("rng_states")

    def on_train_epoch_start(self) -> None:
        # A run continued at an epoch boundary: where the uninterrupted run iterates the training
        # loader again, which draws one int64 (the workers' base seed) from torch's generator.
        if self._rng_restore_at_epoch_start and self._rng_state_to_restore is not None:
            self._restore_rng_states()
            torch.empty((), dtype=torch.int64).random_()

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # Inside an epoch, restored here rather than at load time: building loaders consumes random numbers.
        self._restore_rng_states()

    def _restore_rng_states(self) -> None:
        self._rng_restore_at_epoch_start = False
        if self._rng_state_to_restore is not None:
            restore_rng_states(self._rng_state_to_restore)
            self._rng_state_to_restore = None


__all__ = ["RngResume", "capture_rng_states", "numpy_state_from_plain", "numpy_state_to_plain", "restore_rng_states"]
