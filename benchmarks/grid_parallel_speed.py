"""Wall time of shipped grids run serially against ``--jobs N``, and whether their numbers agree.

Runs each grid twice from scratch through the command line, ``ssl-kit benchmark`` serially and
with ``--jobs N``, into fresh output folders, compares the two ``results.csv`` row by row (test
and validation errors, steps, status: they must be equal), and writes a Markdown page with the
wall times, their ratio, the machine and how busy it was:

    python -m benchmarks.grid_parallel_speed [--jobs 2] [--grids toy,small_toys] [--seeds 1]
        [--methods a,b] [--note TEXT] [--out benchmarks/output/grid_parallel_speed]
        [--doc docs/results/benchmark_scale.md]

``toy`` is ``configs/benchmark/toy.yaml`` (9 methods x 5 seeds, 1,000 steps); ``small_toys`` is
the rings and moons settings of ``configs/benchmark/small.yaml`` (9 methods x 2 x 3 seeds, 2,000
steps). ``--seeds 1`` runs one seed of each grid (a quick check of the script).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ssl_kit.benchmark import read_results

GRIDS = {
    "toy": ["--config", "configs/benchmark/toy.yaml"],
    "small_toys": ["--config", "configs/benchmark/small.yaml", "--settings", "rings,moons"],
}
#: Columns that must be equal between the serial and the parallel grid.
SAME = ("run_id", "status", "test_error", "best_val_error", "best_val_step", "last_val_error", "steps", "epochs")


def machine() -> str:
    """CPU model, cores, memory and GPUs of this machine, in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        mem_gb = f"{int(mem.split()[1]) / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration):
        mem_gb = "RAM unknown"
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return (f"{platform.node()}: {model}, {len(os.sched_getaffinity(0))} usable cores, {mem_gb}, "
            f"{', '.join(gpus) if gpus else 'no GPU'}; Python {platform.python_version()}, torch {torch.__version__}")


def busy_processes() -> list[str]:
    """Other processes using more than 10 % of a core right now (``ps``), as ``pid %cpu command``."""
    ours = {os.getpid(), os.getppid()}
    text = subprocess.run(["ps", "-eo", "pid=,pcpu=,args="], capture_output=True, text=True).stdout
    busy = []
    for line in text.splitlines():
        pid, cpu, *cmd = line.split(None, 2)
        if float(cpu) > 10.0 and int(pid) not in ours and "ps -eo" not in line:
            busy.append(f"{pid} {cpu}% {' '.join(cmd)[:70]}")
    return busy


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run_grid(args: list[str], out: Path, jobs: int | None) -> float:
    """Run one grid into a fresh ``out``; return the wall time in seconds."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "ssl_kit.cli", "benchmark", *args, "--output_dir", str(out), "--no_progress"]
    cmd += ["--jobs", str(jobs)] if jobs else ["--jobs", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    start = time.perf_counter()
    with (out.parent / f"{out.name}.log").open("w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
    return time.perf_counter() - start


def compare(serial: Path, parallel: Path) -> tuple[int, int, int]:
    """(rows, rows equal in every compared column, failed rows) of two grids' results.csv."""
    a, b = read_results(serial / "results.csv"), read_results(parallel / "results.csv")
    by_id = {r["run_id"]: r for r in b}
    equal = sum(all(r[c] == by_id.get(r["run_id"], {}).get(c) for c in SAME) for r in a)
    return len(a) if len(a) == len(b) else -1, equal, sum(r["status"] != "ok" for r in a)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--grids", default="toy,small_toys", help=f"comma-separated, of {sorted(GRIDS)}")
    parser.add_argument("--seeds", default=None, help="only these seeds of each grid (e.g. 1: a quick check)")
    parser.add_argument("--methods", default=None, help="only these methods of each grid (a quick check)")
    parser.add_argument("--note", default="", help="a sentence for the page (e.g. who else used the machine)")
    parser.add_argument("--out", default="benchmarks/output/grid_parallel_speed")
    parser.add_argument("--doc", default="docs/results/benchmark_scale.md")
    ns = parser.parse_args(argv)
    root = Path(ns.out)
    root.mkdir(parents=True, exist_ok=True)
    before, busy = load(), busy_processes()
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = []
    for name in ns.grids.split(","):
        args = GRIDS[name] + (["--seeds", ns.seeds] if ns.seeds else []) + (
            ["--methods", ns.methods] if ns.methods else [])
        serial_s = run_grid(args, root / f"{name}_serial", None)
        load_serial = load()
        parallel_s = run_grid(args, root / f"{name}_jobs{ns.jobs}", ns.jobs)
        rows, equal, failed = compare(root / f"{name}_serial", root / f"{name}_jobs{ns.jobs}")
        lines.append(f"| {name} | {rows} | {serial_s:.0f} | {parallel_s:.0f} | {parallel_s / serial_s:.2f} | "
                     f"{equal} of {rows} | {failed} | {load_serial} / {load()} |")
        print(lines[-1], flush=True)
    command = "python -m benchmarks.grid_parallel_speed " + shlex.join(argv if argv is not None else sys.argv[1:])
    doc = [
        "## Benchmark grids: serial against `--jobs " + str(ns.jobs) + "`", "",
        f"Measured {started} on {machine()}.", "",
        f"Load average (1, 5, 15 min) at the start: {before}; processes of others using more than 10 % "
        f"of a core at the start: {len(busy)}" + (":" if busy else "."), "",
        *([*(f"    {b}" for b in busy), ""] if busy else []),
        *([ns.note, ""] if ns.note else []),
        f"Each grid ran from scratch twice through `ssl-kit benchmark ... --no_progress`: serially "
        f"(`--jobs 1`, one torch thread per run) and with `--jobs {ns.jobs}` (worker processes, "
        f"cores / {ns.jobs} threads each), into fresh output folders under `{ns.out}`. *Equal rows*: "
        f"rows whose {', '.join(SAME[1:])} are identical in the two `results.csv`.", "",
        f"| grid | runs | serial (s) | --jobs {ns.jobs} (s) | ratio | equal rows | failed | load after serial / "
        "parallel |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *lines, "",
        f"Reproduce: `{command.strip()}` (from the repository root; on a quiet machine for timings that mean "
        "something).", "",
    ]
    Path(ns.doc).parent.mkdir(parents=True, exist_ok=True)
    Path(ns.doc).write_text("\n".join(doc))
    print(f"wrote {ns.doc}")


if __name__ == "__main__":
    main()
