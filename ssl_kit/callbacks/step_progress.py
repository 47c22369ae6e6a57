"""A progress bar in optimizer steps, for runs bounded by ``max_steps`` rather than epochs."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ProgressBar
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def format_metrics(metrics: dict[str, Any]) -> str:
    """``name value`` pairs, numbers with four significant digits."""
    parts = []
    for name, value in metrics.items():
        value = value.item() if hasattr(value, "item") else value
        parts.append(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}")
    return "  ".join(parts)


class StepProgressBar(ProgressBar):
    """Shows ``step s/max_steps`` (``trainer.global_step``, the counter ``max_steps`` bounds), the
    time left and the progress-bar metrics; the per-epoch bar of a run without ``max_epochs`` would
    read "Epoch 99/-2". Without ``max_steps`` the total is ``trainer.estimated_stepping_batches``.

    Args:
        refresh_rate: update the display every ``refresh_rate`` training batches.
        console: the rich console to draw on (default: standard output).
    """

    def __init__(self, refresh_rate: int = 1, console: Console | None = None) -> None:
        super().__init__()
        if refresh_rate < 1:
            raise ValueError(f"refresh_rate must be positive, got {refresh_rate}.")
        self.refresh_rate = refresh_rate
        self.console = console
        self._enabled = True
        self._progress: Progress | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def _update(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=trainer.global_step,
                                  metrics=format_metrics(self.get_metrics(trainer, pl_module)))

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._enabled:
            return
        total = trainer.max_steps if trainer.max_steps > 0 else int(trainer.estimated_stepping_batches)
        self._progress = Progress(TextColumn("step"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                  TimeRemainingColumn(), TextColumn("{task.fields[metrics]}"), console=self.console)
        self._task = self._progress.add_task("train", total=total, completed=trainer.global_step, metrics="")
        self._progress.start()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if (batch_idx + 1) % self.refresh_rate == 0:
            self._update(trainer, pl_module)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._update(trainer, pl_module)

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._update(trainer, pl_module)
        self._stop()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._stop()
