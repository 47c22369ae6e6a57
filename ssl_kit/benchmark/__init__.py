"""Benchmark runner: methods × settings × seeds, each a normal fit + test, side by side.

``ssl-kit benchmark --config configs/benchmark/<grid>.yaml [--output_dir DIR]`` or
:func:`run_benchmark`. Modules: :mod:`.grid` (grid files), :mod:`.runner` (one run),
:mod:`.results` (the CSV), :mod:`.report` (Markdown table and figure), :mod:`.progress` (rich
display), :mod:`.memory` (peak memory).
"""

from ssl_kit.benchmark.api import main, report_only, run_benchmark
from ssl_kit.benchmark.grid import Grid, GridError, RunSpec, load_grid, parse_grid
from ssl_kit.benchmark.results import read_results

__all__ = ["Grid", "GridError", "RunSpec", "load_grid", "main", "parse_grid", "read_results", "report_only",
           "run_benchmark"]
