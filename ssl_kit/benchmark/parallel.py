"""``--jobs N``: N runs of a grid at once on one machine, each in its own worker process.

Each worker (:mod:`.worker`) is a fresh Python process (``subprocess``, no fork) with its share
of the CPU threads (``OMP_NUM_THREADS`` = cores // N, at most the serial count) or its own GPU
(``CUDA_VISIBLE_DEVICES``, round robin over the visible ones), and runs one run after another
with the same :func:`~ssl_kit.benchmark.runner.execute_run` as the serial grid, so a run gets
the same config, seed and thread count and gives the same numbers. Only this (parent) process
writes ``results.csv``, one row at a time as runs end, and the one progress display.

A run that raises (out of memory included) is a failed row from its worker; a worker that dies
(a segfault, the kernel's out-of-memory killer) makes a failed row for the run it held, is
replaced, and the grid goes on. Ctrl-C or a killed parent stops the workers; re-running resumes.
"""

from __future__ import annotations

import datetime as _dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import IO, Any

import torch

from ssl_kit.benchmark.grid import RunSpec
from ssl_kit.benchmark.progress import GridProgress
from ssl_kit.benchmark.results import FAILED
from ssl_kit.benchmark.runner import LOG_DIR

#: Environment variables of a multi-process launcher (torchrun, srun): there --jobs stays 1.
LAUNCHER_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE")


def cpu_cores() -> int:
    """CPU cores this process may use (its affinity mask, e.g. under taskset or a SLURM allocation)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """IDs of the CUDA devices this process sees, as ``CUDA_VISIBLE_DEVICES`` entries."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    listed = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return listed[:count] if listed else [str(i) for i in range(count)]


def under_launcher() -> bool:
    """Whether this process is one rank of torchrun / srun (each rank then walks the grid itself)."""
    slurm_tasks = os.environ.get("SLURM_NTASKS", "")
    return any(os.environ.get(v) for v in LAUNCHER_VARS) or (slurm_tasks.isdigit() and int(slurm_tasks) > 1)


def default_jobs() -> int:
    """``--jobs`` when not given: one per visible GPU, else 1 (and 1 under torchrun / srun)."""
    return 1 if under_launcher() else max(1, len(visible_gpus()))


def worker_threads(jobs: int, cores: int | None = None) -> int:
    """CPU threads of each of ``jobs`` workers: an equal share of the cores, at most torch's serial count."""
    cores = cpu_cores() if cores is None else cores
    return max(1, min(torch.get_num_threads(), cores // jobs))


def worker_env(slot: int, jobs: int, gpus: list[str], cores: int | None = None) -> dict[str, str]:
    """Environment of worker ``slot`` of ``jobs``: its thread share and, if there are GPUs, one GPU."""
    env = dict(os.environ)
    threads = str(worker_threads(jobs, cores))
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, PYTHONUNBUFFERED="1")
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
    return env


@dataclass
class Worker:
    """One worker process, its socket, its log and the run it holds."""

    slot: int
    process: subprocess.Popen
    conn: Connection
    log: IO[str]
    spec: RunSpec | None = None
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    def start(cls, slot: int, env: dict[str, str], log_path: Path) -> Worker:
        """Start ``python -m ssl_kit.benchmark.worker`` with ``env``; its output goes to ``log_path``."""
        ours, theirs = socket.socketpair()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("a")
        process = subprocess.Popen(
            [sys.executable, "-m", "ssl_kit.benchmark.worker", str(theirs.fileno()), str(os.getpid())],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=[theirs.fileno()])
        theirs.close()
        return cls(slot, process, Connection(ours.detach()), log)

    def give(self, spec: RunSpec | None, output_dir: Path) -> None:
        """Send the next run (or ``None``: stop)."""
        self.spec, self.started = spec, time.perf_counter()
        self.conn.send(None if spec is None else (spec, str(output_dir)))

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the process (SIGTERM, then SIGKILL) and close its socket and log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.conn.close()
        self.log.close()


def died_row(worker: Worker, output_dir: Path) -> dict[str, Any]:
    """The failed row of the run a dead worker held, with an ``error.txt`` naming the likely cause."""
    spec = worker.spec
    assert spec is not None
    code = worker.process.wait()
    cause = f"exit code {code}"
    if code < 0:
        cause = f"killed by {signal.Signals(-code).name}"
        if -code == signal.SIGKILL:
            cause += " (often the out-of-memory killer: lower --jobs or the batch size)"
    run_dir = (output_dir / "runs" / spec.run_id).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    message = f"the worker process died during the run ({cause}); its output: {worker.log.name}"
    (run_dir / "error.txt").write_text(message + "\n")
    return {"run_id": spec.run_id, "method": spec.method, "setting": spec.setting, "seed": spec.seed,
            "key": spec.key, "metrics_path": str(run_dir / LOG_DIR / "metrics.csv"), "status": FAILED,
            "error": f"WorkerDied: {message}", "wall_time_s": time.perf_counter() - worker.started,
            "finished_at": _dt.datetime.now().isoformat(timespec="seconds")}


def run_parallel(todo: list[RunSpec], output_dir: Path, jobs: int, display: GridProgress,
                 on_row: Callable[[RunSpec, dict[str, Any], int], None]) -> None:
    """Run ``todo`` on ``jobs`` worker processes; ``on_row(spec, row, slot)`` as each run ends.

    ``on_row`` is called in this process, one row at a time, so rows that end together are
    written one after the other. Returns when every run has a row.
    """
    gpus, cores = visible_gpus(), cpu_cores()
    log_dir = output_dir / "workers"
    pending = deque(todo)
    workers: dict[int, Worker] = {}

    def start(slot: int) -> None:
        workers[slot] = Worker.start(slot, worker_env(slot, jobs, gpus, cores), log_dir / f"worker{slot}.log")

    def hand_out(worker: Worker) -> None:
        spec = pending.popleft() if pending else None
        worker.give(spec, output_dir)
        if spec is not None:
            display.start_slot(worker.slot, f"{spec.method} / {spec.setting} / seed {spec.seed}")

    try:
        for slot in range(min(jobs, len(todo))):
            start(slot)
            hand_out(workers[slot])
        while any(w.spec is not None for w in workers.values()):
            busy = {w.conn: w for w in workers.values() if w.spec is not None}
            for conn in wait(list(busy)):
                worker = busy[conn]
                try:
                    kind, value = conn.recv()
                except (EOFError, ConnectionError):  # the worker died: its run failed, a new one goes on
                    spec, row = worker.spec, died_row(worker, output_dir)
                    worker.spec = None
                    worker.stop()
                    on_row(spec, row, worker.slot)
                    if pending:
                        start(worker.slot)
                        hand_out(workers[worker.slot])
                    continue
                if kind == "total":
                    display.set_slot(worker.slot, step=0, total=value)
                elif kind == "step":
                    display.set_slot(worker.slot, step=value)
                elif kind == "row":
                    on_row(worker.spec, value, worker.slot)  # first: it ends the slot's bar
                    hand_out(worker)
    finally:
        for worker in workers.values():
            worker.stop()
