"""Grids at scale: --jobs N worker processes and the submitit launcher (its real local executor).

The parallel grids run real worker processes on the tiny rings toy; each comparison is against
the serial grid of the same file, row by row.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import ssl_kit.benchmark.parallel as parallel
from conftest import REPO
from ssl_kit.benchmark import GridError, parse_grid, read_results, run_benchmark
from ssl_kit.benchmark.launcher_config import executor_parameters

TOY = str(REPO / "configs" / "supervised" / "toy_rings.yaml")
#: Columns that must be equal between a serial and a parallel run (times and paths may differ).
SAME = ("run_id", "method", "setting", "dataset", "labels", "seed", "status", "test_error", "test_acc",
        "best_val_error", "best_val_step", "last_val_error", "steps", "epochs", "device", "key")
HERE = str(Path(__file__).parent)


def die(datamodule: object) -> float:
    """A reference 'method' whose process is killed, as by the out-of-memory killer."""
    os.kill(os.getpid(), signal.SIGKILL)
    return 0.0


def out_of_memory(datamodule: object) -> float:
    """A reference 'method' that runs out of memory in Python."""
    raise MemoryError("simulated: cannot allocate 64 GiB")


def grid(methods: dict | None = None, seeds: tuple[int, ...] = (1, 2), **extra: object) -> dict:
    """A tiny supervised grid on the rings (20 steps a run)."""
    return {
        "name": "tiny", "methods": methods or {"supervised": TOY}, "seeds": list(seeds),
        "settings": {"rings16": {"data.init_args.num_labeled": 16}},
        "overrides": {"trainer.max_steps": 20, "trainer.val_check_interval": 10, "data.init_args.num_val": 20,
                      "data.init_args.num_train": 200, "data.init_args.num_test": 200},
        **extra,
    }


def write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def same_columns(rows: list[dict]) -> list[tuple]:
    return [tuple(r[c] for c in SAME) for r in rows]


@pytest.fixture(autouse=True)
def _importable_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers are fresh interpreters: they find this module's reference helpers on PYTHONPATH."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])))


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], list[dict], Path]:
    """The same 4-row grid (3 runs and a broken one) serially and with --jobs 2."""
    root = tmp_path_factory.mktemp("jobs")
    methods = {"supervised": TOY, "broken": {"config": TOY, "overrides": {"model.init_args.no_such_arg": 1}}}
    path = write(root / "grid.yaml", grid(methods, seeds=(1, 2)))
    serial = run_benchmark(path, root / "serial", progress=False)
    par = run_benchmark(path, root / "parallel", progress=False, jobs=2)
    return serial, par, root / "parallel"


def test_jobs_2_gives_the_serial_rows(serial_and_parallel) -> None:
    serial, par, out = serial_and_parallel
    assert [r["status"] for r in serial] == ["ok", "ok", "failed", "failed"]
    assert same_columns(par) == same_columns(serial)  # same numbers, run by run, in grid order
    assert same_columns(read_results(out / "results.csv")) == same_columns(serial)  # no row lost
    assert (out / "results.md").exists() and (out / "workers" / "worker0.log").exists()
    assert "no_such_arg" in par[2]["error"]


def test_a_dead_worker_and_an_out_of_memory_run_fail_alone(tmp_path: Path) -> None:
    methods = {"supervised": TOY, "dies": {"config": TOY, "reference": "test_benchmark_parallel.die"},
               "oom": {"config": TOY, "reference": "test_benchmark_parallel.out_of_memory"}}
    path = write(tmp_path / "grid.yaml", grid(methods, seeds=(1,)))
    rows = {r["method"]: r for r in run_benchmark(path, tmp_path / "out", progress=False, jobs=2)}
    assert rows["supervised"]["status"] == "ok"
    assert rows["dies"]["status"] == "failed" and "SIGKILL" in rows["dies"]["error"]
    assert "out-of-memory killer" in (tmp_path / "out" / "runs" / "dies__rings16__seed1" / "error.txt").read_text()
    assert rows["oom"]["status"] == "failed" and rows["oom"]["error"].startswith("MemoryError")


def test_a_killed_parallel_grid_resumes(tmp_path: Path) -> None:
    raw = grid(seeds=(1, 2, 3, 4))
    raw["overrides"]["trainer.max_steps"] = 60
    path = write(tmp_path / "grid.yaml", raw)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "ssl_kit.cli", "benchmark", "--config", str(path), "--output_dir", str(out),
           "--jobs", "2", "--no_progress"]
    grid_process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not read_results(out / "results.csv") and time.monotonic() < deadline:
        time.sleep(0.2)
    grid_process.kill()  # SIGKILL: no clean-up at all; the workers leave on their own
    grid_process.wait()
    first = read_results(out / "results.csv")
    assert 1 <= len(first) < 4
    rows = run_benchmark(path, out, progress=False, jobs=2)
    assert [r["seed"] for r in rows] == [1, 2, 3, 4] and all(r["status"] == "ok" for r in rows)
    kept = {r["run_id"]: r["finished_at"] for r in first}
    assert all(r["finished_at"] == kept[r["run_id"]] for r in rows if r["run_id"] in kept)  # not run again


def test_worker_environment_shares_cores_and_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.torch, "get_num_threads", lambda: 16)
    envs = [parallel.worker_env(slot, 3, ["4", "7"], cores=8) for slot in range(3)]
    assert [e["OMP_NUM_THREADS"] for e in envs] == ["2", "2", "2"]  # 3 x 2 <= 8 cores
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["4", "7", "4"]
    assert parallel.worker_threads(4, cores=2) == 1
    monkeypatch.setattr(parallel.torch, "get_num_threads", lambda: 1)  # never more than the serial grid
    assert parallel.worker_threads(2, cores=8) == 1


def test_default_jobs_is_one_per_gpu_and_one_under_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*parallel.LAUNCHER_VARS, "SLURM_NTASKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(parallel, "visible_gpus", lambda: ["0", "1", "2"])
    assert parallel.default_jobs() == 3
    monkeypatch.setattr(parallel, "visible_gpus", lambda: [])
    assert parallel.default_jobs() == 1
    monkeypatch.setattr(parallel, "visible_gpus", lambda: ["0", "1"])
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert parallel.default_jobs() == 1


def test_jobs_under_torchrun_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(GridError, match="torchrun"):
        run_benchmark(write(tmp_path / "g.yaml", grid()), tmp_path / "out", progress=False, jobs=2)


# ----------------------------------------------------------------------------- submitit
@pytest.mark.parametrize("change, message", [
    ({"launcher": {"partition": 3}}, "launcher.partition must be a string"),
    ({"launcher": {"gpus": 1}}, "unknown key(s) ['gpus']"),
    ({"launcher": {"cluster": "pbs"}}, "launcher.cluster must be one of"),
    ({"launcher": {"timeout_min": 0}}, "positive integer"),
])
def test_bad_launcher_blocks_are_named(change: dict, message: str) -> None:
    with pytest.raises(GridError, match=re.escape(message)):
        parse_grid({**grid(), **change})


def test_launcher_block_maps_to_submitit_parameters() -> None:
    launcher = parse_grid(grid(launcher={"partition": "gpu", "timeout_min": 30, "gpus_per_node": 1,
                                         "cpus_per_task": 4})).launcher
    assert executor_parameters(launcher, "x") == {"name": "x", "timeout_min": 30, "gpus_per_node": 1,
                                                  "cpus_per_task": 4, "slurm_partition": "gpu"}
    assert parse_grid(grid()).launcher == {}
    assert parse_grid(grid()).runs()[0].key == parse_grid(grid(launcher={"partition": "a"})).runs()[0].key


def test_submitit_local_executor_gives_the_serial_rows_and_resumes(serial_and_parallel, tmp_path: Path) -> None:
    pytest.importorskip("submitit")
    serial, _, _ = serial_and_parallel
    methods = {"supervised": TOY, "broken": {"config": TOY, "overrides": {"model.init_args.no_such_arg": 1}}}
    path = write(tmp_path / "grid.yaml", grid(methods, launcher={"cluster": "local", "timeout_min": 10,
                                                                 "array_parallelism": 2}))
    out = tmp_path / "out"
    rows = run_benchmark(path, out, progress=False)  # the launcher: block selects submitit
    assert same_columns(rows) == same_columns(serial)
    assert list((out / "submitit").glob("*_result.pkl"))  # really through submitit's jobs
    first = {r["run_id"]: r["finished_at"] for r in rows}
    again = run_benchmark(path, out, progress=False, retry_failed=False)
    assert {r["run_id"]: r["finished_at"] for r in again} == first  # nothing ran again
