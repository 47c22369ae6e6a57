"""The results table: one row per run, kept in ``results.csv`` and never left half written."""

from __future__ import annotations

import csv
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

COLUMNS = [
    "run_id", "method", "setting", "dataset", "labels", "seed", "status",
    "test_error", "test_acc", "best_val_error", "best_val_step", "last_val_error",
    "steps", "epochs", "wall_time_s", "time_per_step_s", "peak_memory_mb", "memory_kind",
    "device", "config_path", "checkpoint_path", "metrics_path", "key", "error", "finished_at",
]
FLOAT_COLUMNS = {"test_error", "test_acc", "best_val_error", "last_val_error", "wall_time_s",
                 "time_per_step_s", "peak_memory_mb"}
INT_COLUMNS = {"labels", "seed", "steps", "epochs", "best_val_step"}
OK, FAILED = "ok", "failed"


def _parse(column: str, text: str) -> Any:
    if text == "":
        return None
    if column in FLOAT_COLUMNS:
        return float(text)
    if column in INT_COLUMNS:
        return int(float(text))
    return text


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``results.csv`` (numbers parsed, empty cells as None); [] if the file is absent."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [{c: _parse(c, row.get(c) or "") for c in COLUMNS} for row in csv.DictReader(f)]


def write_results(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write all rows atomically: a temporary file in the same folder, then ``os.replace``.

    A crash (or Ctrl-C) while writing leaves the previous complete file in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in COLUMNS})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def upsert(rows: list[dict[str, Any]], row: dict[str, Any]) -> list[dict[str, Any]]:
    """Replace the row with the same ``run_id`` (or append it); returns the new list."""
    out = [r for r in rows if r["run_id"] != row["run_id"]]
    for i, r in enumerate(rows):
        if r["run_id"] == row["run_id"]:
            out.insert(i, row)
            return out
    return out + [row]


@contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<path>.lock`` (several grid shards may share one folder)."""
    lock = Path(path).with_name(f".{Path(path).name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def record(path: str | Path, row: dict[str, Any],
           order: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = lambda rows: rows) -> None:
    """Add or replace ``row`` in the CSV under the lock: read, update, reorder, write atomically."""
    with locked(path):
        write_results(path, order(upsert(read_results(path), row)))
