"""Reading tables: CSV, TSV and Parquet files (or a DataFrame) through pandas and pyarrow.

pandas does the parsing (quoting, encodings, compression by suffix such as ``.csv.gz``); pyarrow
reads Parquet. No CSV is parsed by hand here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ssl_kit.datamodules.table_encoding import TableEncoding
from ssl_kit.datamodules.tabular_examples import SCHEME, example_frame

#: A table's source: a file path, a bundled table (``"sklearn:wine"``) or, from Python, a pandas DataFrame.
#: The DataFrame is covered by ``Any``, not named: a class in this union makes the CLI's parser read
#: a file path given on the command line as a config of that class and pass on the file's text.
TableSource = str | Path | Any

#: File suffixes read as tables, and pandas' column separator for each text format.
SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSIONS = (".gz", ".bz2", ".zip", ".xz", ".zst")


def table_suffix(path: str | Path) -> str:
    """The table format of a file name, compression suffixes skipped (``"data.csv.gz"`` -> ``".csv"``)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    while suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def is_table_file(path: str | Path) -> bool:
    """Whether ``path`` names a CSV, TSV or Parquet file (by its suffix)."""
    return table_suffix(path) in SEPARATORS or table_suffix(path) in PARQUET_SUFFIXES


def read_table(source: TableSource, na_values: Sequence[str] | None = None,
               what: str = "table") -> pd.DataFrame:
    """A DataFrame of a CSV / TSV / Parquet file, a copy of a DataFrame, or a bundled table (``"sklearn:wine"``).

    ``na_values`` cells become gaps. Column names are stripped of surrounding spaces, so
    ``"age, sex"`` headers find ``sex``.
    """
    if isinstance(source, str) and source.startswith(SCHEME):
        source = example_frame(source[len(SCHEME):])
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        if na_values:
            frame = frame.replace(list(na_values), float("nan"))
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"The {what} file {str(path)!r} does not exist.")
        suffix = table_suffix(path)
        if suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path, engine="pyarrow")
            if na_values:
                frame = frame.replace(list(na_values), float("nan"))
        elif suffix in SEPARATORS:
            frame = pd.read_csv(path, sep=SEPARATORS[suffix], na_values=list(na_values or []), skipinitialspace=True)
        else:
            raise ValueError(f"The {what} file {str(path)!r} is not a table this toolkit reads: give a .csv, .tsv or "
                             ".parquet file (optionally compressed, e.g. .csv.gz).")
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise ValueError(f"The {what} has several columns named {duplicated}; rename them.")
    return frame


def read_table_inputs(path: str | Path, encoding: TableEncoding) -> tuple[list[str], pd.DataFrame]:
    """Ids and raw rows of a table file, for a model trained on a table (``ssl-kit predict-files``).

    Gaps are read as in training (the recorded ``na_values``); the ids are the recorded id column
    where the file has it, else the row numbers; the rows stay raw (columns by name), for the
    model's preprocessing to encode.
    """
    frame = read_table(path, encoding.na_values, what="input")
    if encoding.id_column is not None and encoding.id_column in frame.columns:
        return [str(v) for v in frame[encoding.id_column].tolist()], frame
    return [str(i) for i in range(len(frame))], frame
