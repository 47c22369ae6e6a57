"""Assemble docs/results/generalization.md from the target check of the before and after runs.

    python experiments/generalization/write_page.py --intro INTRO.md --after AFTER_DIR --before BEFORE_DIR

Each DIR holds results.csv; ``targets.py`` is run on it (targets.md, targets.png), the heat maps
are copied beside the page, and the page is INTRO.md, the after tables, then the before tables.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs" / "results"


def check(results_dir: Path, grid: Path) -> str:
    """Run the target check on ``results_dir/results.csv``; return its Markdown."""
    prefix = results_dir / "targets"
    subprocess.run([sys.executable, str(HERE / "targets.py"), str(results_dir / "results.csv"), "--grid", str(grid),
                    "--out", str(prefix)], check=True)
    return prefix.with_suffix(".md").read_text()


def demote(markdown: str) -> str:
    """Headings one level down (### -> ####) so they sit under the page's sections."""
    return "\n".join("#" + line if line.startswith("###") else line for line in markdown.splitlines()) + "\n"


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intro", type=Path, required=True, help="Markdown put first (data sets, how measured)")
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after_title", default="After the defaults fixes")
    parser.add_argument("--before_title", default="Before the defaults fixes")
    parser.add_argument("--grid", type=Path, default=Path("configs/benchmark/generalization.yaml"))
    ns = parser.parse_args()
    parts = [ns.intro.read_text().rstrip() + "\n"]
    for title, folder, image in ((ns.after_title, ns.after, "generalization.png"),
                                 (ns.before_title, ns.before, "generalization_before.png")):
        tables = check(folder, ns.grid)
        shutil.copyfile(folder / "targets.png", DOCS / image)
        parts.append(f"## {title}\n\n![method minus supervised, mean over seeds]({image})\n\n{demote(tables)}")
    (DOCS / "generalization.md").write_text("\n".join(parts))
    print(f"wrote {DOCS / 'generalization.md'}")


if __name__ == "__main__":
    main()
