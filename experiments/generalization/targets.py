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
#: Test-set class counts of each data set (for the error of a network that predicts one class).
TEST_CLASSES = {"rings": [1, 1], "moons": [1, 1], "blobs": [1] * 4, "iris": [25, 25, 25], "wine": [30, 36, 24],
                "breast_cancer": [106, 178], "digits": [1] * 10, "mnist": [1] * 10, "rt": [1, 1]}


@dataclass
class Cell:
    """The finished seeds of one (method, setting): test errors and wall times by seed."""

    errors: dict[int, float]
    walls: dict[int, float]
    confusions: dict[int, Path]

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
    cells: dict[tuple[str, str], Cell] = defaultdict(lambda: Cell({}, {}, {}))
    for path in paths:
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if row["status"] != "ok" or not row["test_error"]:
                    continue
                cell = cells[(row["method"], row["setting"])]
                cell.errors[int(row["seed"])] = float(row["test_error"])
                cell.walls[int(row["seed"])] = float(row["wall_time_s"])
                if row.get("metrics_path"):
                    cell.confusions[int(row["seed"])] = Path(row["metrics_path"]).with_name("confusion_matrix.csv")
    return dict(cells)


def chance_error(setting: str) -> float:
    """Test error (%) of predicting the test set's largest class: the least a one-class network makes."""
    counts = next((c for prefix, c in TEST_CLASSES.items() if setting.startswith(prefix)), [1, 1])
    return 100.0 * (1 - max(counts) / sum(counts))


def read_confusion(path: Path) -> list[list[int]] | None:
    """The run's test confusion matrix (rows: true class, columns: predicted), or None if absent."""
    if not path.is_file():
        return None
    rows = [line.split(",") for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return [[int(v) for v in r[1:]] for r in rows[1:]]


def merged_classes(matrix: list[list[int]]) -> str | None:
    """Classes the run (nearly) never predicts though the test set holds them, or one class taking
    far more predictions than its share: the clusters merged. None when the predictions look balanced."""
    true = [sum(r) for r in matrix]
    predicted = [sum(col) for col in zip(*matrix)]
    total = sum(true)
    missing = [k for k, (t, p) in enumerate(zip(true, predicted)) if t and p < 0.1 * t]
    if missing:
        return f"class(es) {', '.join(map(str, missing))} (almost) never predicted"
    k = max(range(len(predicted)), key=predicted.__getitem__)
    if predicted[k] - true[k] > 0.25 * total:
        return f"class {k} takes {100 * predicted[k] / total:.0f} % of the predictions ({100 * true[k] / total:.0f} % true)"
    return None


def likely_cause(cell: Cell, base: Cell, setting: str) -> str:
    """What the seeds of a missing cell show, in a few words (from their errors and confusion matrices)."""
    chance = chance_error(setting)
    collapsed = [s for s, e in sorted(cell.errors.items()) if e >= chance - 0.1 * (100 - chance)]
    # (an error at least that of predicting the largest class, less a tenth of the way to 100 %)
    merges = []
    for seed, path in sorted(cell.confusions.items()):
        matrix = read_confusion(path)
        what = merged_classes(matrix) if matrix else None
        if what and seed in cell.errors and cell.errors[seed] > base.mean + MEAN_MARGIN:
            merges.append(f"seed {seed}: {what}")
    above = [s for s, e in sorted(cell.errors.items()) if e > base.mean + MEAN_MARGIN]
    notes = merges[:]
    if collapsed and not merges:
        notes.append(f"seed(s) {', '.join(map(str, collapsed))} at or above the one-class error ({chance:.0f} %): collapsed")
    if len(above) == len(cell.errors):
        notes.append("every seed above the baseline: systematic" if len(above) > 1 else "one seed run, above the baseline")
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


#: Display names of the methods (README style).
DISPLAY = {"supervised": "Supervised", "vat": "VAT", "improved_gan": "Improved GAN", "ladder": "Ladder",
           "van": "VAN (LVAN-LW)", "pseudo_label": "Pseudo-Label", "pi_model": "Π-model",
           "mean_teacher": "Mean Teacher", "fixmatch": "FixMatch"}


def family_rows(cells: dict[tuple[str, str], Cell], settings: list[str], methods: list[str]) -> str:
    """README-style rows: per method, the mean test error over each data set's settings, and the
    settings that meet both targets."""
    families = list(dict.fromkeys(s.rsplit("_l", 1)[0].split("_n")[0] for s in settings))
    found = misses(cells, settings, methods)
    head = ("| method | " + " | ".join(f"{f} ({sum(s.startswith(f) for s in settings)})" for f in families)
            + " | settings meeting both targets |\n| --- |" + " --- |" * (len(families) + 1))
    rows = [head]
    for method in methods:
        values = []
        for family in families:
            done = [cells[(method, s)].mean for s in settings if s.startswith(family) and (method, s) in cells]
            values.append(f"{statistics.fmean(done):.2f}" if done else "—")
        done = [s for s in settings if (method, s) in cells and (BASELINE, s) in cells]
        missed = {s for m, s, _, _ in found if m == method}
        score = "baseline" if method == BASELINE else f"{len(done) - len(missed)} / {len(done)}"
        rows.append(f"| {DISPLAY.get(method, method)} | " + " | ".join(values) + f" | {score} |")
    return "\n".join(rows) + "\n"


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
    prefix.with_suffix(".md").write_text(tables(cells, settings, methods) + "\n### README rows (mean test error "
                                         "over each data set's settings, %; in brackets: settings)\n\n"
                                         + family_rows(cells, settings, methods))
    heatmap(cells, settings, methods, prefix.with_suffix(".png"))
    print(f"wrote {prefix.with_suffix('.md')} and {prefix.with_suffix('.png')}")


if __name__ == "__main__":
    main()
