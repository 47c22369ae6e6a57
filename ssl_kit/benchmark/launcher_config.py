"""The ``launcher:`` block of a grid file: where a cluster launcher sends the grid's runs.

::

    launcher:                  # every key optional; the block selects --launcher submitit
      cluster: slurm           # submitit executor: slurm (default where sbatch exists), local, debug
      partition: gpu           # SLURM partition
      timeout_min: 60          # per run (default 60)
      gpus_per_node: 1         # per run
      cpus_per_task: 4         # per run (also the run's torch threads)
      mem_gb: 16
      array_parallelism: 8     # runs at once (SLURM array throttle; local: default cores / cpus_per_task)
      account: proj, qos: normal, constraint: a100    # more SLURM options
      setup: ["module load cuda"]                     # shell lines before each run (SLURM)
      additional_parameters: {mail-type: END}         # any other sbatch option

The block is not part of a run's resume key: the same runs give the same rows wherever they ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CLUSTERS = ("slurm", "local", "debug")
INT_KEYS = ("timeout_min", "gpus_per_node", "cpus_per_task", "mem_gb", "array_parallelism")
STR_KEYS = ("cluster", "partition", "account", "qos", "constraint")
KEYS = (*STR_KEYS, *INT_KEYS, "setup", "additional_parameters")
DEFAULT_TIMEOUT_MIN = 60


def check_launcher(value: Any) -> dict[str, Any]:
    """The checked ``launcher:`` mapping; raises ValueError with a message that names the fix."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"'launcher' must be a mapping (cluster, partition, timeout_min, ...), got {value!r}.")
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise ValueError(f"launcher: unknown key(s) {unknown}; allowed: {sorted(KEYS)}.")
    out = dict(value)
    for key in STR_KEYS:
        if key in out and not isinstance(out[key], str):
            raise ValueError(f"launcher.{key} must be a string, got {out[key]!r}.")
    for key in INT_KEYS:
        if key in out and (isinstance(out[key], bool) or not isinstance(out[key], int) or out[key] < 1):
            raise ValueError(f"launcher.{key} must be a positive integer, got {out[key]!r}.")
    if "cluster" in out and out["cluster"] not in CLUSTERS:
        raise ValueError(f"launcher.cluster must be one of {list(CLUSTERS)}, got {out['cluster']!r}.")
    setup = out.get("setup", [])
    if not isinstance(setup, list) or not all(isinstance(line, str) for line in setup):
        raise ValueError(f"launcher.setup must be a list of shell lines, got {setup!r}.")
    if not isinstance(out.get("additional_parameters", {}), Mapping):
        raise ValueError("launcher.additional_parameters must map sbatch option names to values.")
    return out


def executor_parameters(launcher: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``AutoExecutor.update_parameters`` keywords for a checked ``launcher:`` block."""
    params: dict[str, Any] = {"name": name, "timeout_min": launcher.get("timeout_min", DEFAULT_TIMEOUT_MIN)}
    for key in ("gpus_per_node", "cpus_per_task", "mem_gb"):
        if key in launcher:
            params[key] = launcher[key]
    for key in ("partition", "account", "qos", "constraint", "setup", "additional_parameters", "array_parallelism"):
        if key in launcher:
            params[f"slurm_{key}"] = launcher[key]
    return params
