"""What the columns of a table hold: numbers or categories, read the same way in training and prediction.

A cell is *missing* when it is empty (pandas reads an empty CSV cell as NaN), blank text, or one
of the ``na_values`` a user names (e.g. ``"?"``). Numbers are read as ``float64`` with NaN for the
gaps; categories as text, integral numbers without a decimal point (``1``, not ``1.0``: a CSV
column of integers with a gap is read by pandas as floats), so ``1`` in training and ``1.0`` in
new rows are one category.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

Kind = Literal["numeric", "categorical"]

#: The category of a missing cell (a category like any other when the training rows have gaps).
MISSING = "<missing>"
#: Integer columns with at most this many distinct values are categorical by default.
MAX_INTEGER_CATEGORIES = 10
#: A text column with more distinct values than this is refused as a category (an id, free text?).
MAX_TEXT_CATEGORIES = 50


def _blank_to_nan(series: pd.Series) -> pd.Series:
    """Text cells stripped; blank ones missing."""
    if series.dtype.kind not in "OSU" and not isinstance(series.dtype, pd.StringDtype):
        return series
    stripped = series.map(lambda v: v.strip() if isinstance(v, str) else v)
    return stripped.mask(stripped.map(lambda v: isinstance(v, str) and not v))


def text_cells(series: pd.Series) -> pd.Series:
    """Cells that are text and not numbers (empty when the column is numeric)."""
    values = _blank_to_nan(series).dropna()
    if values.dtype.kind in "biuf":
        return values.iloc[:0]
    parsed = pd.to_numeric(values, errors="coerce")
    return values[parsed.isna()]


def numeric_values(series: pd.Series, column: str, where: str, hint: str = "") -> np.ndarray:
    """The column as ``float64`` with NaN for the gaps; text cells are refused, named with their rows."""
    series = _blank_to_nan(series)
    if series.dtype.kind == "b":
        return series.astype(np.float64).to_numpy()
    bad = text_cells(series)
    if len(bad):
        shown = ", ".join(repr(v) for v in pd.unique(bad)[:3])
        raise ValueError(f"{where}: column {column!r} holds text where numbers are expected: {shown} "
                         f"({len(bad)} row(s), e.g. row {bad.index[0]}).{hint}")
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)


def category_texts(series: pd.Series) -> np.ndarray:
    """The column as category texts (:data:`MISSING` for gaps), integral numbers written as integers."""
    series = _blank_to_nan(series)

    def text(value: object) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return MISSING
        if isinstance(value, (bool, np.bool_)):
            return str(bool(value))
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)):
            return str(int(value)) if float(value).is_integer() else repr(float(value))
        return str(value)

    return np.asarray([text(v) for v in series.tolist()], dtype=object)


def detect_kinds(frame: pd.DataFrame, columns: Sequence[str], categorical_columns: Sequence[str] | None,
                 where: str, max_integer_categories: int = MAX_INTEGER_CATEGORIES) -> dict[str, Kind]:
    """Numeric or categorical, for every column (in ``columns`` order).

    With ``categorical_columns`` given, exactly those are categorical and every other column must
    hold numbers. Otherwise a column is categorical when it holds text (not numbers) or when it
    holds integers of at most ``max_integer_categories`` distinct values.

    Raises:
        ValueError: a column mixes numbers and text (gaps marked ``"?"``, say), or holds text with
            so many distinct values that it is no category; the message names the fix.
    """
    if categorical_columns is not None:
        unknown = [c for c in categorical_columns if c not in columns]
        if unknown:
            raise ValueError(f"categorical_columns names {unknown}, which are not feature columns of {where} "
                             f"(features: {list(columns)}).")
        for column in columns:
            if column not in categorical_columns:
                numeric_values(frame[column], column, where, " List the column in categorical_columns if it is a "
                               "category, or drop it (drop_columns).")
        return {c: "categorical" if c in categorical_columns else "numeric" for c in columns}
    kinds: dict[str, Kind] = {}
    for column in columns:
        series = _blank_to_nan(frame[column])
        present = series.dropna()
        text = text_cells(series)
        if len(text) == 0:
            values = pd.to_numeric(present, errors="coerce").to_numpy(dtype=np.float64)
            integral = series.dtype.kind == "b" or bool(np.all(np.equal(np.round(values), values)))
            few = len(np.unique(values)) <= max_integer_categories
            kinds[column] = "categorical" if len(values) and integral and few else "numeric"
            continue
        if len(text) < len(present) / 2:
            shown = ", ".join(repr(v) for v in pd.unique(text)[:3])
            raise ValueError(
                f"{where}: column {column!r} holds numbers but also text: {shown} ({len(text)} of {len(present)} "
                f"filled rows). If that text marks a gap, name it in na_values (e.g. na_values: [{shown}]); if the "
                "column is a category, list it in categorical_columns; else fix or drop the column (drop_columns).")
        distinct = present.astype(str).nunique()
        if distinct > MAX_TEXT_CATEGORIES:
            raise ValueError(
                f"{where}: column {column!r} holds text with {distinct} distinct values, too many for a category "
                f"(over {MAX_TEXT_CATEGORIES}): an identifier or free text? Drop it (drop_columns), or list it in "
                "categorical_columns to one-hot encode it anyway.")
        kinds[column] = "categorical"
    return kinds
