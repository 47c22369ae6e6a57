"""Validation error against updates, one line per run, coloured by group (e.g. two schedules).

``ssl-kit benchmark`` plots the mean over seeds; a late cluster merge in one seed shows up as a
jump in that seed's curve and is averaged away there. This script draws every run of the given
Lightning log folders (each holding ``metrics.csv`` with ``val/error``)::

    python -m experiments.plot_val_curves --out curves.png --published 1.36 \\
        "linear:RUN_A/lightning_logs/version_0" "linear:RUN_B/..." "0.9 per epoch:RUN_C/..."
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ssl_kit.benchmark.runner import read_curve


def parse_run(text: str) -> tuple[str, Path]:
    """``"GROUP:LOG_DIR"`` as ``(group, metrics.csv path)``; refuses a folder without ``metrics.csv``."""
    group, sep, folder = text.rpartition(":")
    if not sep or not group:
        raise argparse.ArgumentTypeError(f"expected GROUP:LOG_DIR, got {text!r}")
    path = Path(folder) / "metrics.csv"
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path} does not exist")
    return group, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=parse_run, help="GROUP:LOG_DIR (a folder holding metrics.csv)")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--metric", default="val/error", help="column of metrics.csv to plot (percent)")
    parser.add_argument("--published", type=float, default=None, help="draw the published test error as a line")
    parser.add_argument("--title", default="validation error per run")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    groups = list(dict.fromkeys(group for group, _ in args.runs))
    colors = {group: plt.get_cmap("tab10")(i % 10) for i, group in enumerate(groups)}
    fig, ax = plt.subplots(figsize=(8, 4.5))
    labelled: set[str] = set()
    for group, path in args.runs:
        curve = read_curve(path, args.metric)
        if not curve:
            raise SystemExit(f"{path}: no {args.metric} values logged")
        steps, values = zip(*curve)
        ax.plot(steps, values, "-", linewidth=1.2, alpha=0.8, color=colors[group],
                label=None if group in labelled else group)
        labelled.add(group)
    if args.published is not None:
        ax.axhline(args.published, color="black", linestyle="--", linewidth=1,
                   label=f"published test error ({args.published} %)")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")  # 2, 3, 5 instead of 2x10^0
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("updates")
    ax.set_ylabel(f"{args.metric} (%, log scale)")
    ax.set_title(args.title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out} ({len(args.runs)} runs)")


if __name__ == "__main__":
    main()
