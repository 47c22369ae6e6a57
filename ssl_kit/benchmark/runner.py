"""One benchmark run: a normal ``fit`` then ``test`` through the ssl-kit CLI machinery.

Each run lives in ``<output_dir>/runs/<run_id>/`` with
``config.yaml`` (the fully resolved config: ``ssl-kit fit --config config.yaml`` repeats the run),
``command.txt`` (the CLI arguments it came from), ``logs/metrics.csv`` (Lightning's CSV logs),
``logs/checkpoints/`` (Lightning's last checkpoint) and, if it failed, ``error.txt``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import gc
import json
import math
import os
import shlex
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from ssl_kit.benchmark import memory
from ssl_kit.benchmark.grid import RunSpec
from ssl_kit.benchmark.results import FAILED, OK
from ssl_kit.utils.imports import import_object
from ssl_kit.cli.lightning import build_cli

VAL_METRIC = "val/error"
LOG_DIR = "logs"


def runner_args(run_dir: Path) -> list[str]:
    """Flags the runner appends to every run: logs and checkpoints in the run folder, quiet trainer."""
    logger = {"class_path": "pytorch_lightning.loggers.CSVLogger",
              "init_args": {"save_dir": str(run_dir), "name": LOG_DIR, "version": ""}}
    return [f"--trainer.logger={json.dumps(logger)}", f"--trainer.default_root_dir={run_dir}",
            "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def read_curve(metrics_path: Path, metric: str = VAL_METRIC) -> list[tuple[int, float]]:
    """``(step, value)`` pairs of ``metric`` from a Lightning ``metrics.csv`` (empty if none)."""
    if not metrics_path.exists():
        return []
    with metrics_path.open(newline="") as f:
        return [(int(row["step"]), float(row[metric])) for row in csv.DictReader(f)
                if row.get(metric) not in (None, "") and row.get("step") not in (None, "")]


def global_rank() -> int:
    """This process's global rank under torchrun / SLURM / Lightning's launcher (0 when alone)."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


@contextmanager
def _bare_argv() -> Iterator[None]:
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        yield
    finally:
        sys.argv = saved


def dataset_name(datamodule: Any) -> str:
    """Short data set name: the datamodule class without ``DataModule``, plus its ``dataset`` if any."""
    name = type(datamodule).__name__.removesuffix("DataModule").lower() or "data"
    sub = getattr(datamodule, "dataset", None)
    return f"{name}_{sub}" if isinstance(sub, str) else name


def _device_label(trainer: pl.Trainer) -> str:
    device = trainer.strategy.root_device
    label = device.type
    if device.type == "cuda":
        label = f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{label} x{trainer.num_devices}" if trainer.num_devices > 1 else label


def _first_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}"[:400]


def load_reference(path: str) -> Any:
    """The callable at dotted ``path`` (``package.module.function``), with an error naming the fix."""
    try:
        function = import_object(path)
    except ImportError as err:
        raise ValueError(f"reference {path!r} cannot be imported ({err}); name an importable "
                         "callable(datamodule) -> test error (%)") from err
    if not callable(function):
        raise ValueError(f"reference {path!r} is not callable")
    return function


def reference_row(path: str, data: Any) -> dict[str, Any]:
    """Results of a reference run: the callable's test error on ``data``, no training steps."""
    test_error = float(load_reference(path)(data))
    if not math.isfinite(test_error):
        raise RuntimeError(f"reference {path!r} returned a non-finite test error ({test_error!r})")
    return {"status": OK, "test_error": test_error, "test_acc": 100.0 - test_error, "steps": 0,
            "epochs": 0, "device": "cpu"}


def execute_run(spec: RunSpec, output_dir: Path, callbacks: list[pl.Callback] | None = None) -> dict[str, Any]:
    """Fit and test one run (or call its reference); return its results row. Never raises (except KeyboardInterrupt).

    Args:
        spec: the run.
        output_dir: the grid's output folder; the run writes into ``runs/<run_id>`` there.
        callbacks: extra callbacks for the trainer (e.g. the progress display).
    """
    run_dir = (output_dir / "runs" / spec.run_id).resolve()
    zero = global_rank() == 0
    if zero and run_dir.exists():  # leftovers of a failed or interrupted attempt
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    args = spec.cli_args() + runner_args(run_dir)
    if zero:
        (run_dir / "command.txt").write_text("ssl-kit fit " + shlex.join(args) + "\n")
    row: dict[str, Any] = {"run_id": spec.run_id, "method": spec.method, "setting": spec.setting,
                           "seed": spec.seed, "key": spec.key, "metrics_path": str(run_dir / LOG_DIR / "metrics.csv")}
    start = time.perf_counter()
    cli = None
    try:
        with _bare_argv():  # LightningCLI warns when sys.argv (``benchmark ...``) and args are both given
            cli = build_cli(args, run=False, save_config_callback=None, parser_kwargs={"exit_on_error": False})
        config_path = run_dir / "config.yaml"
        if zero:
            cli.parser.save(cli.config, config_path, overwrite=True, multifile=False)
        row["config_path"] = str(config_path)
        trainer, model, data = cli.trainer, cli.model, cli.datamodule
        trainer.callbacks.extend(callbacks or [])
        row["dataset"], row["labels"] = dataset_name(data), getattr(data, "num_labeled", None)
        if spec.reference is not None:
            row.update(reference_row(spec.reference, data))
            return row
        device_type = trainer.strategy.root_device.type
        reset_ok = memory.reset_peak(device_type)
        fit_start = time.perf_counter()
        trainer.fit(model, datamodule=data)
        fit_time = time.perf_counter() - fit_start
        results = trainer.test(model, datamodule=data, verbose=False)
        test_error = results[0].get("test/error") if results else None
        if test_error is None or not math.isfinite(test_error):
            raise RuntimeError(f"the test gave no finite test/error (got {test_error!r}); "
                               "check limit_test_batches and that the method logs test/error")
        row["peak_memory_mb"], row["memory_kind"] = memory.peak_mb(device_type, reset_ok)
        row.update(
            status=OK, test_error=test_error, test_acc=results[0].get("test/acc"),
            steps=trainer.global_step, epochs=trainer.current_epoch, device=_device_label(trainer),
            time_per_step_s=fit_time / max(1, trainer.global_step),
            checkpoint_path=(trainer.checkpoint_callback.last_model_path or trainer.checkpoint_callback.best_model_path
                             if trainer.checkpoint_callback is not None else None) or None,
        )
        curve = read_curve(run_dir / LOG_DIR / "metrics.csv")
        if curve:
            best_step, best = min(curve, key=lambda p: p[1])
            row.update(best_val_error=best, best_val_step=best_step, last_val_error=curve[-1][1])
    except (KeyboardInterrupt, SystemExit):
        # Lightning turns Ctrl-C into SIG_IGN + sys.exit(1) and SIGTERM into a SystemExit: both stop
        # the grid (the interrupted run starts afresh next time), with Ctrl-C working again.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise
    except BaseException as err:  # noqa: BLE001 - a failed run is recorded, the grid goes on
        (run_dir / f"error{'' if zero else f'.rank{global_rank()}'}.txt").write_text(
            "".join(traceback.format_exception(err)))
        row.update(status=FAILED, error=_first_line(err))
    finally:
        row["wall_time_s"] = time.perf_counter() - start
        row["finished_at"] = _dt.datetime.now().isoformat(timespec="seconds")
        del cli
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return row
