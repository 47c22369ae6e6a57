"""A worker process of ``ssl-kit benchmark --jobs N``: runs the runs its parent sends, one at a time.

Started by :mod:`.parallel` as ``python -m ssl_kit.benchmark.worker FD PARENT_PID`` with its own
environment (threads, GPU). It talks to the parent over the socket ``FD`` with pickled messages:

- parent -> worker: ``(spec, output_dir)`` to run, ``None`` to stop;
- worker -> parent: ``("total", steps)``, ``("step", step)`` while training, then ``("row", row)``.

The worker never writes ``results.csv`` (the parent alone does), and it exits when the parent
goes away (a killed grid leaves no run behind).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

#: Seconds between two step messages of a running fit (the display needs no more).
STEP_INTERVAL_S = 0.25


def _exit_with_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    """Leave at once (mid-run) when the parent process has died: its grid is gone."""
    while True:
        time.sleep(interval_s)
        if os.getppid() != parent_pid:
            os._exit(3)


def _progress_callback(conn: Connection) -> Any:
    """A Lightning callback that reports the fit's total and current steps to the parent."""
    import pytorch_lightning as pl

    class PipeProgress(pl.Callback):
        last = 0.0

        def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            total = trainer.estimated_stepping_batches
            conn.send(("total", int(total) if total != float("inf") else None))

        def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
            now = time.monotonic()
            if now - self.last >= STEP_INTERVAL_S:
                self.last = now
                conn.send(("step", trainer.global_step))

    return PipeProgress()


def serve(conn: Connection) -> None:
    """Run the parent's runs until it sends ``None`` or closes the socket."""
    from ssl_kit.benchmark.progress import quiet_lightning
    from ssl_kit.benchmark.runner import execute_run

    with quiet_lightning():
        while True:
            try:
                task = conn.recv()
            except EOFError:
                return
            if task is None:
                return
            spec, output_dir = task
            row = execute_run(spec, Path(output_dir), callbacks=[_progress_callback(conn)])
            conn.send(("row", row))


def main(argv: list[str]) -> None:
    """``python -m ssl_kit.benchmark.worker FD PARENT_PID``."""
    fd, parent_pid = int(argv[0]), int(argv[1])
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    conn = Connection(fd)
    try:
        serve(conn)
    except (KeyboardInterrupt, SystemExit, BrokenPipeError):  # Ctrl-C of the grid, or the parent left
        sys.exit(130)


if __name__ == "__main__":
    main(sys.argv[1:])
