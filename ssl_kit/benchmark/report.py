"""Summaries of ``results.csv``: the Markdown table and the figure."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from ssl_kit.benchmark.grid import Grid
from ssl_kit.benchmark.results import FAILED, OK
from ssl_kit.benchmark.runner import read_curve


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1); the deviation of a single value is 0."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def format_mean_std(values: list[float]) -> str:
    """``"mean ± std"`` with two decimals; a single seed has no spread, so just its value."""
    mean, std = mean_std(values)
    return f"{mean:.2f} ± {std:.2f}" if len(values) > 1 else f"{mean:.2f} (1 seed)"


def ordered_methods(grid: Grid, methods: list[str]) -> list[str]:
    """Methods in grid order with the baseline first."""
    order = [m for m in grid.methods if m in methods]
    if grid.baseline in order:
        order.remove(grid.baseline)
        order.insert(0, grid.baseline)
    return order


def group_ok(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Finished rows with a finite test error, grouped by ``(setting, method)``."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["status"] == OK and row["test_error"] is not None and math.isfinite(row["test_error"]):
            groups[(row["setting"], row["method"])].append(row)
    return groups


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _mean(rows: list[dict[str, Any]], column: str) -> float | None:
    values = [r[column] for r in rows if r[column] is not None]
    return statistics.fmean(values) if values else None


def _failure(row: dict[str, Any]) -> str:
    """Why a row is not in the table: its error, or the unusable test error of a finished run."""
    if row["error"]:
        return row["error"]
    return f"finished without a finite test error ({row['test_error']})" if row["status"] == OK else "no error recorded"


def markdown_table(grid: Grid, rows: list[dict[str, Any]]) -> str:
    """The report: mean ± std test error per setting and method, published error, costs, failures."""
    groups = group_ok(rows)
    lines = [f"# Benchmark `{grid.name}`", ""]
    if grid.description:
        lines += [grid.description.strip(), ""]
    lines += [
        "Test error (%) at the end of training: mean ± sample standard deviation over seeds (n - 1). "
        f"Baseline: {grid.baseline or 'none'}. Time per run includes building and testing; "
        "memory is the peak of the kind named in `results.csv` (`memory_kind`).",
        "",
        "| setting | method | test error (%) | seeds | published (%) | best val error (%) | steps "
        "| time / run (s) | time / step (ms) | peak memory (MiB) | device |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setting in grid.settings:
        methods = ordered_methods(grid, [m for s, m in groups if s == setting])
        for method in methods:
            runs = groups[(setting, method)]
            label = f"{method} (baseline)" if method == grid.baseline else method
            per_step = _mean(runs, "time_per_step_s")
            devices = sorted({r["device"] for r in runs if r["device"]})
            lines.append(
                f"| {setting} | {label} | {format_mean_std([r['test_error'] for r in runs])} | {len(runs)} "
                f"| {_fmt(grid.published_error(method, setting))} | {_fmt(_mean(runs, 'best_val_error'))} "
                f"| {_fmt(_mean(runs, 'steps'), 0)} | {_fmt(_mean(runs, 'wall_time_s'), 1)} "
                f"| {_fmt(None if per_step is None else 1000 * per_step, 1)} "
                f"| {_fmt(_mean(runs, 'peak_memory_mb'), 0)} | {', '.join(devices) or '—'} |"
            )
    if not groups:
        lines.append("| — | no finished runs | | | | | | | | | |")
    finished = {id(r) for runs in groups.values() for r in runs}
    failed = [r for r in rows if r["status"] == FAILED or (r["status"] == OK and id(r) not in finished)]
    if failed:
        lines += ["", "## Failed runs", "", "| run | error |", "|---|---|"]
        lines += [f"| {r['run_id']} | {_failure(r).replace('|', '/')} |" for r in failed]
    return "\n".join(lines) + "\n"


def _mean_curve(curves: list[list[tuple[int, float]]]) -> tuple[list[int], list[float], list[float]]:
    """Mean and standard deviation over seeds at every step logged by all of them."""
    by_step: dict[int, list[float]] = defaultdict(list)
    for curve in curves:
        for step, value in curve:
            by_step[step].append(value)
    steps = sorted(s for s, v in by_step.items() if len(v) == len(curves))
    means, stds = zip(*(mean_std(by_step[s]) for s in steps)) if steps else ((), ())
    return steps, list(means), list(stds)


def plot(grid: Grid, rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Test error per method with error bars (std over seeds) and, per setting, learning curves.

    Panel 1 groups bars by setting (crosses: published errors); each further panel shows the
    validation error against the step for every method of one setting (mean over seeds, band ±1 std).
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # drawn without pyplot: no backend switch

    groups = group_ok(rows)
    settings = [s for s in grid.settings if any(k[0] == s for k in groups)]
    methods = ordered_methods(grid, sorted({m for _, m in groups}))
    colors = {m: colormaps["tab10"](i % 10) for i, m in enumerate(ordered_methods(grid, list(grid.methods)))}
    n = 1 + len(settings)
    fig = Figure(figsize=(5.2 * n, 4.2))
    axes = fig.subplots(1, n, squeeze=False)
    ax = axes[0, 0]
    if not groups:
        ax.text(0.5, 0.5, "no finished runs", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        xs, means, stds, pub = [], [], [], []
        for j, setting in enumerate(settings):
            runs = groups.get((setting, method))
            if not runs:
                continue
            mean, std = mean_std([r["test_error"] for r in runs])
            x = j + (i - (len(methods) - 1) / 2) * width
            xs.append(x)
            means.append(mean)
            stds.append(std)
            published = grid.published_error(method, setting)
            if published is not None:
                pub.append((x, published))
        lower = [min(m, sd) for m, sd in zip(means, stds)]  # errors are >= 0: clip the bar's whisker at 0
        ax.bar(xs, means, width * 0.9, yerr=[lower, stds], capsize=4, color=colors[method], label=method)
        for x, value in pub:
            ax.plot(x, value, "kx", markersize=8)
    if groups:
        ax.set_xticks(range(len(settings)), settings)
        ax.set_ylabel("test error (%)")
        ax.set_title(f"{grid.name}: test error, mean ± std over seeds" + (" (x: published)" if grid.published else ""),
                     fontsize=10)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for k, setting in enumerate(settings, start=1):
        ax = axes[0, k]
        for method in methods:
            runs = groups.get((setting, method))
            curves = [read_curve(Path(r["metrics_path"])) for r in runs or [] if r["metrics_path"]]
            curves = [c for c in curves if c]
            if not curves:
                continue
            steps, means, stds = _mean_curve(curves)
            ax.plot(steps, means, "-o", markersize=3, color=colors[method], label=f"{method} (n={len(curves)})")
            ax.fill_between(steps, [max(0.0, m - s) for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)],
                            color=colors[method], alpha=0.2)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("step")
        ax.set_ylabel("validation error (%)")
        ax.set_title(f"{setting}: learning curves (mean ± std)", fontsize=10)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # reference rows (no training) have no curve
            ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def write_report(grid: Grid, rows: list[dict[str, Any]], output_dir: str | Path) -> tuple[Path, Path]:
    """Write ``results.md`` and ``results.png`` into ``output_dir`` for the grid's rows."""
    output_dir = Path(output_dir)
    md = output_dir / "results.md"
    md.write_text(markdown_table(grid, rows))
    return md, plot(grid, rows, output_dir / "results.png")
