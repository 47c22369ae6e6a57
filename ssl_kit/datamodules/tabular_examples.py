"""scikit-learn's bundled tables as files: real tables for :class:`~ssl_kit.datamodules.tabular.TabularDataModule`.

``python -m ssl_kit.datamodules.tabular_examples --out DIR`` writes ``DIR/breast_cancer.csv`` and
``DIR/wine.csv`` (the label column holds class names); ``train: sklearn:breast_cancer`` reads the
same table without a file. Both ship with scikit-learn, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets

#: Table name -> (loader in ``sklearn.datasets``, label column written).
EXAMPLES = {"breast_cancer": ("load_breast_cancer", "diagnosis"), "wine": ("load_wine", "cultivar")}
#: The prefix of ``train`` that names a bundled table instead of a file.
SCHEME = "sklearn:"


def label_column_of(name: str) -> str:
    """The label column of the bundled table ``name``."""
    return EXAMPLES[_checked(name)][1]


def _checked(name: str) -> str:
    if name not in EXAMPLES:
        raise ValueError(f"No bundled table {name!r}; choose one of {sorted(EXAMPLES)}.")
    return name


def example_frame(name: str) -> pd.DataFrame:
    """The bundled table ``name``: its feature columns, then the label column with the class names."""
    loader, label = EXAMPLES[_checked(name)]
    bunch = getattr(datasets, loader)(as_frame=True)
    frame = bunch.data.copy()
    frame[label] = np.asarray(bunch.target_names)[np.asarray(bunch.target)]
    return frame


def write_examples(out: str | Path, names: Sequence[str] = tuple(EXAMPLES)) -> list[Path]:
    """Write each bundled table as ``<out>/<name>.csv`` (the folder is made) and return the paths."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / f"{_checked(name)}.csv"
        example_frame(name).to_csv(path, index=False)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ssl_kit.datamodules.tabular_examples --out DIR [--names breast_cancer wine]``."""
    parser = argparse.ArgumentParser(description="Write scikit-learn's bundled tables as CSV files for "
                                                 "TabularDataModule (train: DIR/<name>.csv).")
    parser.add_argument("--out", required=True, help="folder to write the CSV files into (made if absent)")
    parser.add_argument("--names", nargs="+", default=list(EXAMPLES), choices=sorted(EXAMPLES),
                        help="the tables to write (default: all)")
    args = parser.parse_args(argv)
    for path in write_examples(args.out, args.names):
        print(f"{path}  (label_column: {label_column_of(path.stem)})")


if __name__ == "__main__":
    main()
