"""``--launcher submitit``: every unfinished run of a grid as one cluster job, through submitit.

submitit (https://github.com/facebookincubator/submitit) submits a pickled function as a SLURM
job (a job array) or, for a test on one machine, as a local process (``cluster: local``) or in
this process (``cluster: debug``). Each job runs one run with the same
:func:`~ssl_kit.benchmark.runner.execute_run` as the serial grid and writes its own row into the
grid's ``results.csv`` under the file lock, so a row survives this (submitting) process; this
process waits, shows the grid's progress and writes the report. A job that dies (timeout, out of
memory, preemption) gets a failed row from here. Re-running the command resumes like every grid:
finished rows are skipped. The job logs are in ``<output_dir>/submitit/``.
"""

from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path
from typing import Any

from ssl_kit.benchmark.grid import Grid, GridError, RunSpec
from ssl_kit.benchmark.launcher_config import executor_parameters
from ssl_kit.benchmark.parallel import cpu_cores
from ssl_kit.benchmark.progress import GridProgress
from ssl_kit.benchmark.results import FAILED, record

#: Seconds between two looks at the jobs' states.
POLL_S = 2.0


def _in_order(run_ids: list[str]) -> Any:
    position = {run_id: i for i, run_id in enumerate(run_ids)}
    return lambda rows: sorted(rows, key=lambda r: position.get(r["run_id"], len(position)))


def run_job(spec: RunSpec, output_dir: str, run_ids: list[str], threads: int | None = None) -> dict[str, Any]:
    """The body of one cluster job: run ``spec`` and record its row in ``results.csv`` (grid order ``run_ids``)."""
    import torch

    from ssl_kit.benchmark.progress import quiet_lightning
    from ssl_kit.benchmark.runner import execute_run

    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)
    out = Path(output_dir)
    with quiet_lightning():
        row = execute_run(spec, out)
    record(out / "results.csv", row, order=_in_order(run_ids))
    return row


def make_executor(grid: Grid, folder: Path, cluster: str | None = None) -> Any:
    """A submitit ``AutoExecutor`` for the grid's ``launcher:`` block (``cluster`` beats the block's)."""
    try:
        import submitit
    except ImportError as err:
        raise GridError("--launcher submitit needs submitit: pip install submitit") from err
    cluster = cluster or grid.launcher.get("cluster")
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
        executor.update_parameters(**executor_parameters(grid.launcher, f"ssl-kit-{grid.name}"))
    except (NameError, ValueError, AssertionError, RuntimeError) as err:
        raise GridError(f"{grid.path or '<grid>'}: launcher: {err}") from err
    return executor


def failed_row(spec: RunSpec, error: BaseException | str, wall_time_s: float) -> dict[str, Any]:
    """The row of a run whose job ended without one (killed, timed out, lost)."""
    import datetime as _dt

    text = " ".join(str(error).split())
    return {"run_id": spec.run_id, "method": spec.method, "setting": spec.setting, "seed": spec.seed,
            "key": spec.key, "status": FAILED, "wall_time_s": wall_time_s,
            "error": f"JobFailed: {text}"[:400], "finished_at": _dt.datetime.now().isoformat(timespec="seconds")}


def run_submitit(grid: Grid, todo: list[RunSpec], output_dir: Path, run_ids: list[str], cluster: str | None = None,
                 progress: bool = True, skipped: int = 0, poll_s: float = POLL_S) -> None:
    """Submit ``todo`` (one job per run) and wait for all of them, recording rows of failed jobs.

    On SLURM the runs go out at once as a job array (``launcher.array_parallelism`` of them
    running at a time); on the local executor at most ``array_parallelism`` processes run at once
    (default: the cores divided by ``cpus_per_task``). Ctrl-C cancels the unfinished jobs.
    """
    from ssl_kit.benchmark.progress import row_message

    executor = make_executor(grid, output_dir / "submitit", cluster)
    threads = grid.launcher.get("cpus_per_task")
    if executor.cluster == "local":
        threads = threads or 1
        at_once = grid.launcher.get("array_parallelism") or max(1, cpu_cores() // threads)
    else:
        at_once = len(todo)
    csv_path = output_dir / "results.csv"
    pending = deque(todo)
    running: dict[Any, tuple[RunSpec, float]] = {}
    with GridProgress(len(todo), enabled=progress) as display:
        console = display.progress.console
        if skipped and progress:
            console.print(f"{skipped} runs already done in {csv_path}; skipping them.")
        try:
            if executor.cluster == "slurm" and todo:
                jobs = executor.map_array(run_job, todo, [str(output_dir)] * len(todo), [run_ids] * len(todo),
                                          [threads] * len(todo))
                running = {job: (spec, time.perf_counter()) for job, spec in zip(jobs, todo)}
                pending.clear()
                if progress:
                    console.print(f"submitted {len(jobs)} SLURM jobs (array {jobs[0].job_id.split('_')[0]}); "
                                  f"logs in {output_dir / 'submitit'}")
            while pending or running:
                while pending and len(running) < at_once:
                    spec = pending.popleft()
                    job = executor.submit(run_job, spec, str(output_dir), run_ids, threads)
                    running[job] = (spec, time.perf_counter())
                display.start_slot(0, f"{executor.cluster}: {len(running)} running or queued, {len(pending)} "
                                      "waiting")
                for job in [j for j in running if j.done()]:
                    spec, started = running.pop(job)
                    try:
                        row = job.result()
                    except Exception as err:  # noqa: BLE001 - the job died: its run failed, the grid goes on
                        row = failed_row(spec, f"{err} (job {job.job_id}; logs in {job.paths.folder})",
                                         time.perf_counter() - started)
                        record(csv_path, row, order=_in_order(run_ids))
                    display.end_run(row_message(spec, row))
                if running:
                    time.sleep(poll_s)
            display.clear_slot(0)
        except KeyboardInterrupt:
            for job in running:
                job.cancel(check=False)
            raise
