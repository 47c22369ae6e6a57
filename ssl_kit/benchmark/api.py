"""``run_benchmark`` (Python API) and ``ssl-kit benchmark`` (command line)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any


from ssl_kit.benchmark.grid import Grid, GridError, RunSpec, load_grid
from ssl_kit.benchmark.parallel import default_jobs, run_parallel, under_launcher
from ssl_kit.benchmark.progress import GridProgress, RunProgressCallback, quiet_lightning, row_message, run_label
from ssl_kit.benchmark.report import write_report
from ssl_kit.benchmark.results import FAILED, OK, read_results, record
from ssl_kit.benchmark.runner import execute_run, global_rank

DEFAULT_OUTPUT_ROOT = Path("benchmarks") / "output"


def is_done(row: dict[str, Any] | None, spec: RunSpec, retry_failed: bool) -> bool:
    """Whether ``row`` already holds ``spec``'s result (same resume key; failed ones only if not retried)."""
    if row is None or row["key"] != spec.key:
        return False
    return row["status"] == OK or (row["status"] == FAILED and not retry_failed)


def in_grid_order(rows: list[dict[str, Any]], specs: list[RunSpec]) -> list[dict[str, Any]]:
    """The grid's rows in grid order, then rows of runs the grid no longer has (kept, never lost)."""
    position = {s.run_id: i for i, s in enumerate(specs)}
    return sorted(rows, key=lambda r: position.get(r["run_id"], len(position)))


def run_benchmark(
    grid: str | Path | Grid,
    output_dir: str | Path | None = None,
    methods: list[str] | None = None,
    retry_failed: bool = True,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    settings: list[str] | None = None,
    seeds: list[int] | None = None,
    jobs: int | None = 1,
    launcher: str | None = None,
    cluster: str | None = None,
) -> list[dict[str, Any]]:
    """Run every unfinished run of a grid (one after another, ``jobs`` at once, or on a cluster) and write the report.

    ``results.csv`` is rewritten (atomically) after every run, so an interrupted grid resumes
    where it stopped: a run is skipped when the CSV has a finished row with the same resume key
    (method, setting, seed, config files and overrides). A failed run is recorded with its error
    and the grid goes on; it is tried again on the next call unless ``retry_failed`` is False.

    Args:
        grid: a grid file or a parsed :class:`Grid`.
        output_dir: output folder; default ``benchmarks/output/<grid name>``.
        methods: run only these methods of the grid.
        settings: run only these settings of the grid.
        seeds: run only these seeds of the grid.
        retry_failed: run previously failed runs again.
        progress: show the rich progress display.
        shard: ``(k, n)``: run only the runs whose index in the grid is ``k`` modulo ``n``, so that
            ``n`` processes (one per GPU or node) share a grid and one output folder; the CSV is
            updated under a file lock.
        jobs: runs at once on this machine, each in its own worker process (:mod:`.parallel`);
            ``None``: one per visible GPU, else 1. With 1 the runs run in this process.
        launcher: ``"local"`` (this machine, ``jobs``), ``"submitit"`` (a cluster, :mod:`.launchers`)
            or ``None``: submitit when the grid file has a ``launcher:`` block, else local.
        cluster: submitit executor (``slurm``, ``local``, ``debug``), beating the grid's ``launcher.cluster``.

    Under a multi-process launcher (``torchrun``, ``srun``), every rank walks the same grid and
    joins each run's DDP group; only global rank 0 writes the CSV, the report and the display.

    Returns:
        The rows of the grid's runs (grid order), as written to ``results.csv``.
    """
    grid = grid if isinstance(grid, Grid) else load_grid(grid, check_files=False)
    grid.require_files(methods)  # only the methods that will run need their configs
    out = Path(output_dir) if output_dir is not None else DEFAULT_OUTPUT_ROOT / grid.name
    out.mkdir(parents=True, exist_ok=True)
    zero = global_rank() == 0
    if grid.path is not None and zero:
        shutil.copyfile(grid.path, out / "grid.yaml")
    csv_path = out / "results.csv"
    by_id = {r["run_id"]: r for r in read_results(csv_path)}
    all_specs = grid.runs()
    specs = grid.runs(methods, settings, seeds)
    if shard is not None:
        k, n = shard
        if not 0 <= k < n:
            raise GridError(f"shard {k}/{n}: need 0 <= k < n.")
        specs = [s for i, s in enumerate(specs) if i % n == k]
    todo = [s for s in specs if not is_done(by_id.get(s.run_id), s, retry_failed)]
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise GridError(f"--jobs must be at least 1, got {jobs}.")
    if launcher not in (None, "local", "submitit"):
        raise GridError(f"launcher must be 'local' or 'submitit', got {launcher!r}.")
    if launcher == "submitit" or (launcher is None and (grid.launcher or cluster)):
        from ssl_kit.benchmark.launchers import run_submitit  # submitit only when asked for

        if zero:
            run_submitit(grid, todo, out, [s.run_id for s in all_specs], cluster, progress,
                         skipped=len(specs) - len(todo))
        return report_only(grid, out) if zero else []
    if jobs > 1 and under_launcher():
        raise GridError(f"--jobs {jobs} under torchrun / srun: every rank already walks the grid; "
                        "leave --jobs out (or use --shard K/N without a launcher).")
    with quiet_lightning(), GridProgress(len(todo), enabled=progress and zero) as display:
        if progress and len(todo) < len(specs):
            display.progress.console.print(f"{len(specs) - len(todo)} of {len(specs)} runs already done "
                                           f"in {csv_path}; skipping them.")
        if jobs > 1 and todo:
            def on_row(spec: RunSpec, row: dict[str, Any], slot: int) -> None:
                record(csv_path, row, order=lambda rows: in_grid_order(rows, all_specs))
                display.end_slot(slot, row_message(spec, row))

            run_parallel(todo, out, jobs, display, on_row)
        else:
            for spec in todo:
                display.start_run(run_label(spec))
                row = execute_run(spec, out, callbacks=[RunProgressCallback(display)])
                if zero:
                    record(csv_path, row, order=lambda rows: in_grid_order(rows, all_specs))
                display.end_run(row_message(spec, row))
    if not zero:
        return []
    return report_only(grid, out)


def report_only(grid: str | Path | Grid, output_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Rewrite ``results.md`` and ``results.png`` from ``results.csv``; return the grid's rows."""
    grid = grid if isinstance(grid, Grid) else load_grid(grid, check_files=False)
    out = Path(output_dir) if output_dir is not None else DEFAULT_OUTPUT_ROOT / grid.name
    specs = grid.runs()
    ids = {s.run_id for s in specs}
    if not (out / "results.csv").exists():
        raise GridError(f"{out / 'results.csv'} does not exist yet: run the grid (or a shard of it) first, "
                        "then --report_only rewrites its table and plot.")
    rows = [r for r in in_grid_order(read_results(out / "results.csv"), specs) if r["run_id"] in ids]
    write_report(grid, rows, out)
    return rows


def _parse_shard(text: str) -> tuple[int, int] | None:
    """``"K/N"`` as ``(K, N)``; ``None`` when the text is not two integers separated by a slash."""
    parts = text.split("/")
    if len(parts) != 2 or not all(part.strip().lstrip("-").isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1])


def main(argv: list[str] | None = None) -> None:
    """``ssl-kit benchmark --config GRID.yaml [--output_dir DIR] [--methods a,b] [--jobs N] ...``."""
    parser = argparse.ArgumentParser(
        prog="ssl-kit benchmark",
        description="Run a grid of methods x settings x seeds (fit + test each) and write "
                    "results.csv, results.md and results.png. Re-running resumes.",
    )
    parser.add_argument("--config", required=True, help="grid YAML, e.g. configs/benchmark/toy.yaml")
    parser.add_argument("--output_dir", default=None, help="default: benchmarks/output/<grid name>")
    parser.add_argument("--methods", default=None, help="comma-separated subset of the grid's methods")
    parser.add_argument("--settings", default=None, help="comma-separated subset of the grid's settings")
    parser.add_argument("--seeds", default=None, help="comma-separated subset of the grid's seeds")
    parser.add_argument("--no_retry_failed", action="store_true", help="keep failed runs as they are")
    parser.add_argument("--no_progress", action="store_true", help="no progress display")
    parser.add_argument("--report_only", action="store_true", help="only rewrite results.md / results.png")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="run only runs with index K modulo N (one process per GPU or node)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="runs at once on this machine, each in its own process with cores/N threads or "
                             "its own GPU (default: the number of GPUs, else 1)")
    parser.add_argument("--launcher", choices=["local", "submitit"], default=None,
                        help="local: this machine (--jobs); submitit: one cluster job per run (SLURM), options "
                             "from the grid's launcher: block (default: submitit if the grid has one)")
    parser.add_argument("--cluster", choices=["slurm", "local", "debug"], default=None,
                        help="submitit executor, beating the grid's launcher.cluster (local: test a cluster "
                             "grid on this machine)")
    ns = parser.parse_args(argv)
    try:
        if ns.report_only:
            rows = report_only(ns.config, ns.output_dir)
        else:
            methods = [m.strip() for m in ns.methods.split(",") if m.strip()] if ns.methods else None
            settings = [s.strip() for s in ns.settings.split(",") if s.strip()] if ns.settings else None
            try:
                seeds = [int(s) for s in ns.seeds.split(",") if s.strip()] if ns.seeds else None
            except ValueError:
                parser.error(f"--seeds must be comma-separated integers, got {ns.seeds!r}.")
            shard = _parse_shard(ns.shard) if ns.shard else None
            if ns.shard and shard is None:
                parser.error(f"--shard must look like K/N (e.g. 0/4), got {ns.shard!r}.")
            rows = run_benchmark(ns.config, ns.output_dir, methods, not ns.no_retry_failed, not ns.no_progress,
                                 shard, settings, seeds, jobs=ns.jobs, launcher=ns.launcher, cluster=ns.cluster)
    except GridError as err:
        parser.error(str(err))
    if global_rank() != 0:
        return
    failed = sum(r["status"] == FAILED for r in rows)
    out = ns.output_dir or DEFAULT_OUTPUT_ROOT / load_grid(ns.config, check_files=False).name
    print(f"{len(rows)} runs in {out}/results.csv ({failed} failed); table: results.md, plot: results.png")
