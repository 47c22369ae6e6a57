"""Peak memory of one run, on the device that ran it.

- CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` — the tensors'
  peak on the GPU (kind ``cuda_max_allocated``), without the caching allocator's slack.
- CPU (Linux): the process's peak resident set size (``VmHWM`` in ``/proc/self/status``), reset
  before each run by writing ``5`` to ``/proc/self/clear_refs`` (kind ``cpu_peak_rss``). It counts
  the whole process (Python, torch, the data in memory), so it is an upper bound of a run's need.
  ``tracemalloc`` is no use here: it does not see torch's allocations.
- Elsewhere: ``resource.getrusage().ru_maxrss``, the peak since the process started (kind
  ``cpu_peak_rss_process``): it never goes down, so later runs of a grid inherit earlier peaks.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak(device_type: str) -> bool:
    """Start a new peak measurement; returns whether the CPU peak could be reset."""
    if device_type == "cuda" and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _vmhwm_mb() -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        return None
    return None


def peak_mb(device_type: str, cpu_reset_worked: bool) -> tuple[float, str]:
    """The peak since :func:`reset_peak`, in MiB, and what kind of number it is."""
    if device_type == "cuda" and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20, "cuda_max_allocated"
    hwm = _vmhwm_mb() if cpu_reset_worked else None
    if hwm is not None:
        return hwm, "cpu_peak_rss"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 1024.0), "cpu_peak_rss_process"
