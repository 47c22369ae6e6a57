"""Progress display of a grid with rich: one bar for the grid (runs, time left), one for the run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytorch_lightning as pl
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from ssl_kit.benchmark.grid import RunSpec
from ssl_kit.benchmark.results import OK


class GridProgress:
    """Two rich bars: the grid (runs done of runs to do, time left) and the current run's steps.

    Usable as a context manager; with ``enabled=False`` every method does nothing.
    """

    def __init__(self, total_runs: int, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=console,
            disable=not enabled,
        )
        self.grid_task: TaskID = self.progress.add_task("grid", total=total_runs)
        self.run_task: TaskID | None = None
        self.slot_tasks: dict[int, TaskID] = {}

    def __enter__(self) -> GridProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def start_run(self, label: str) -> None:
        """Show a fresh bar for the run ``label`` (its total is set when training starts)."""
        if self.run_task is not None:
            self.progress.remove_task(self.run_task)
        self.run_task = self.progress.add_task(label, total=None)

    def set_run_total(self, total: int | None) -> None:
        if self.run_task is not None:
            self.progress.update(self.run_task, total=total)

    def set_run_step(self, step: int) -> None:
        if self.run_task is not None:
            self.progress.update(self.run_task, completed=step)

    def end_run(self, message: str) -> None:
        """Advance the grid bar and print one line about the finished run."""
        self.progress.advance(self.grid_task)
        if self.enabled:
            self.progress.console.print(message)


    # Several runs at once (``--jobs N``): one bar per worker slot under the one grid bar.
    def start_slot(self, slot: int, label: str) -> None:
        """Show a fresh bar for the run ``label`` that worker ``slot`` has just started."""
        if slot in self.slot_tasks:
            self.progress.remove_task(self.slot_tasks[slot])
        self.slot_tasks[slot] = self.progress.add_task(f"[{slot}] {label}", total=None)

    def set_slot(self, slot: int, step: int | None = None, total: int | None = None) -> None:
        """Update worker ``slot``'s bar: steps done and/or the run's total steps."""
        if slot not in self.slot_tasks:
            return
        changes: dict[str, Any] = {}
        if step is not None:
            changes["completed"] = step
        if total is not None:
            changes["total"] = total
        self.progress.update(self.slot_tasks[slot], **changes)

    def clear_slot(self, slot: int) -> None:
        """Remove worker ``slot``'s bar, if any."""
        if slot in self.slot_tasks:
            self.progress.remove_task(self.slot_tasks.pop(slot))

    def end_slot(self, slot: int, message: str) -> None:
        """Remove worker ``slot``'s bar, advance the grid bar and print one line about the run."""
        self.clear_slot(slot)
        self.end_run(message)


class RunProgressCallback(pl.Callback):
    """Feeds a :class:`GridProgress` with the optimizer steps of the running fit."""

    def __init__(self, display: GridProgress) -> None:
        self.display = display

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        total = trainer.estimated_stepping_batches
        self.display.set_run_total(int(total) if total != float("inf") else None)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        self.display.set_run_step(trainer.global_step)


def run_label(spec: RunSpec) -> str:
    """``method / setting / seed k``: how the display names a run."""
    return f"{spec.method} / {spec.setting} / seed {spec.seed}"


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's per-run info lines ("GPU available: ...") while the grid runs."""
    loggers = [logging.getLogger(name) for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def row_message(spec: RunSpec, row: dict[str, Any]) -> str:
    """The display's line about a finished run (rich markup)."""
    label = escape(run_label(spec))
    if row["status"] == OK:
        return f"[green]done[/] {label}: test error {row['test_error']:.2f}% ({row['wall_time_s']:.0f} s)"
    return f"[red]failed[/] {label}: {escape(str(row['error']))}"
