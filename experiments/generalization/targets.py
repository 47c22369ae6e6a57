"""Issue 42's targets on a generalization-grid results.csv: tables, the misses and a heat map.

Targets (test error, %): every method's mean over seeds at or below the supervised baseline's mean
+ 0.5 points on every setting, and no seed of any method more than 2 points above the baseline's
worst seed. A miss also names what the seeds show (a seed at chance: the network collapsed to one
class; all seeds above the baseline: a systematic loss; one seed far off: instability).

    python experiments/generalization/targets.py RESULTS.csv [--grid GRID.yaml] [--out PREFIX]

writes PREFIX.md (tables and misses) and PREFIX.png (method minus supervised, mean over seeds).
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

BASELINE = "supervised"
MEAN_MARGIN = 0.5
SEED_MARGIN = 2.0
#: Classes of each data set (for the chance error of a network that predicts one class).
CLASSES = {"rings": 2, "moons": 2, "blobs": 4, "iris": 3, "wine": 3, "breast": 2, "digits": 10, "mnist": 10}


@dataclass
class Cell:
    """The finished seeds of one (method, setting): test errors and wall times by seed."""

    errors: dict[int, float]
    walls: dict[int, float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.errors.values())

    @property
    def std(self) -> float:
        return statistics.stdev(self.errors.values()) if len(self.errors) > 1 else 0.0

    @property
    def worst(self) -> float:
        return max(self.errors.values())

    def text(self) -> str:
        return f"{self.mean:.2f} ± {self.std:.2f}" if len(self.errors) > 1 else f"{self.mean:.2f} (1 seed)"


def read_cells(paths: list[Path]) -> dict[tuple[str, str], Cell]:
    """Finished rows of one or more results.csv files, by (method, setting); later files win."""
    cells: dict[tuple[str, str], Cell] = defaultdict(lambda: Cell({}, {}))
    for path in paths:
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if row["status"] != "ok" or not row["test_error"]:
                    continue
                cell = cells[(row["method"], row["setting"])]
                cell.errors[int(row["seed"])] = float(row["test_error"])
                cell.walls[int(row["seed"])] = float(row["wall_time_s"])
    return dict(cells)


def chance_error(setting: str) -> float:
    """Test error (%) of predicting one class on a balanced test set of this setting's data."""
    classes = next((k for prefix, k in CLASSES.items() if setting.startswith(prefix)), 2)
    return 100.0 * (1 - 1 / classes)


def likely_cause(cell: Cell, base: Cell, setting: str) -> str:
    """What the seeds of a missing cell show, in a few words."""
    chance = chance_error(setting)
    collapsed = [s for s, e in sorted(cell.errors.items()) if e >= chance - 0.1 * (100 - chance)]
    above = [s for s, e in sorted(cell.errors.items()) if e > base.mean + MEAN_MARGIN]
    notes = []
    if collapsed:
        notes.append(f"seed(s) {', '.join(map(str, collapsed))} near chance ({chance:.0f} %): collapsed to one class")
    if len(above) == len(cell.errors) and len(cell.errors) > 1:
        notes.append("every seed above the baseline: systematic")
    elif above and not collapsed:
        notes.append(f"seed(s) {', '.join(map(str, above))} above the baseline, others not: unstable")
    if cell.std > 5 and not collapsed:
        notes.append(f"seeds spread {cell.std:.1f} points")
    return "; ".join(notes) or "close to the margin"


def misses(cells: dict[tuple[str, str], Cell], settings: list[str], methods: list[str]) -> list[tuple[str, str, str, str]]:
    """Every (method, setting) that misses a target: (method, setting, what, likely cause)."""
    found = []
    for setting in settings:
        base = cells.get((BASELINE, setting))
        if base is None:
            continue
        for method in methods:
            cell = cells.get((method, setting))
            if method == BASELINE or cell is None:
                continue
            what = []
            if cell.mean > base.mean + MEAN_MARGIN:
                what.append(f"mean {cell.mean:.2f} > {base.mean:.2f} + {MEAN_MARGIN}")
            bad = {s: e for s, e in cell.errors.items() if e > base.worst + SEED_MARGIN}
            if bad:
                seeds = ", ".join(f"seed {s}: {e:.2f}" for s, e in sorted(bad.items()))
                what.append(f"{seeds} > worst baseline seed {base.worst:.2f} + {SEED_MARGIN:g}")
            if what:
                found.append((method, setting, "; ".join(what), likely_cause(cell, base, setting)))
    return found


def tables(cells: dict[tuple[str, str], Cell], settings: list[str], methods: list[str]) -> str:
    """Markdown: error table (mean ± std, seeds), wall-time table, misses, per-method summary."""
    head = "| setting | " + " | ".join(methods) + " |\n|---|" + "---|" * len(methods)
    err_rows, wall_rows = [], []
    for setting in settings:
        base = cells.get((BASELINE, setting))
        errs, walls = [], []
        for method in methods:
            cell = cells.get((method, setting))
            if cell is None:
                errs.append("—")
                walls.append("—")
                continue
            flag = ""
            if method != BASELINE and base is not None and (
                    cell.mean > base.mean + MEAN_MARGIN or cell.worst > base.worst + SEED_MARGIN):
                flag = " ✗"
            errs.append(f"{cell.text()}{flag}" + (f" (n={len(cell.errors)})" if len(cell.errors) not in (1, 3) else ""))
            walls.append(f"{statistics.fmean(cell.walls.values()):.1f}")
        err_rows.append(f"| {setting} | " + " | ".join(errs) + " |")
        wall_rows.append(f"| {setting} | " + " | ".join(walls) + " |")
    found = misses(cells, settings, methods)
    out = ["### Test error (%), mean ± std over seeds (✗: misses a target)", "", head, *err_rows, "",
           "### Wall time per run (s, mean over seeds: build, fit and test)", "", head, *wall_rows, "",
           f"### Misses ({len(found)} of {sum(1 for m in methods if m != BASELINE) * len(settings)} "
           "(method, setting) pairs)", "", "| method | setting | target missed | likely cause |", "|---|---|---|---|"]
    out += [f"| {m} | {s} | {w} | {c} |" for m, s, w, c in found]
    out += ["", "### Per method", "", "| method | mean test error over settings (%) | settings meeting both targets "
            "| mean gap to supervised (points) | worst gap | total wall time (s) |", "|---|---|---|---|---|---|"]
    for method in methods:
        done = [s for s in settings if (method, s) in cells and (BASELINE, s) in cells]
        if not done:
            continue
        gaps = [cells[(method, s)].mean - cells[(BASELINE, s)].mean for s in done]
        missed = {s for m, s, _, _ in found if m == method}
        wall = sum(sum(cells[(method, s)].walls.values()) for s in done)
        out.append(f"| {method} | {statistics.fmean(cells[(method, s)].mean for s in done):.2f} "
                   f"| {len(done) - len(missed)} / {len(done)} | {statistics.fmean(gaps):+.2f} | {max(gaps):+.2f} "
                   f"| {wall:.0f} |")
    return "\n".join(out) + "\n"


def heatmap(cells: dict[tuple[str, str], Cell], settings: list[str], methods: list[str], path: Path) -> None:
    """Method minus supervised (mean test error, points) per setting; cells over the target outlined."""
    import numpy as np
    from matplotlib.figure import Figure

    others = [m for m in methods if m != BASELINE]
    gap = np.full((len(settings), len(others)), np.nan)
    for i, s in enumerate(settings):
        for j, m in enumerate(others):
            if (m, s) in cells and (BASELINE, s) in cells:
                gap[i, j] = cells[(m, s)].mean - cells[(BASELINE, s)].mean
    fig = Figure(figsize=(1.1 * len(others) + 3, 0.38 * len(settings) + 1.6))
    ax = fig.subplots()
    limit = max(5.0, float(np.nanmax(np.abs(gap))) if np.isfinite(gap).any() else 5.0)
    image = ax.imshow(np.clip(gap, -limit, limit), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(len(settings)):
        for j in range(len(others)):
            if np.isfinite(gap[i, j]):
                ax.text(j, i, f"{gap[i, j]:+.1f}", ha="center", va="center", fontsize=7,
                        fontweight="bold" if gap[i, j] > MEAN_MARGIN else "normal")
    ax.set_xticks(range(len(others)), others, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(settings)), [f"{s} ({cells[(BASELINE, s)].mean:.1f})" if (BASELINE, s) in cells else s
                                         for s in settings], fontsize=8)
    ax.set_title("test error minus supervised (points, mean over seeds; bold: > +0.5)\n"
                 "row label: supervised error (%)", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="results.csv file(s) of the grid")
    parser.add_argument("--grid", type=Path, default=Path("configs/benchmark/generalization.yaml"))
    parser.add_argument("--out", type=Path, default=None, help="prefix of the .md and .png (default: beside the CSV)")
    ns = parser.parse_args()
    grid = yaml.safe_load(ns.grid.read_text())
    methods = [BASELINE] + [m for m in grid["methods"] if m != BASELINE]
    settings = list(grid["settings"])
    cells = read_cells(ns.results)
    prefix = ns.out or ns.results[0].with_name("targets")
    prefix.with_suffix(".md").write_text(tables(cells, settings, methods))
    heatmap(cells, settings, methods, prefix.with_suffix(".png"))
    print(f"wrote {prefix.with_suffix('.md')} and {prefix.with_suffix('.png')}")


if __name__ == "__main__":
    main()
