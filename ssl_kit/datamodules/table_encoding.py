"""The fitted preprocessing of a table: raw rows (by column name) -> the model's feature vectors.

Per feature column, in training order:

* numeric: gaps imputed with the training median, then standardised with the training mean and
  standard deviation (after imputing, as scikit-learn's ``SimpleImputer`` -> ``StandardScaler``);
  a column with gaps in the training rows also gets a 0 / 1 missing-indicator feature;
* categorical: one-hot over the training categories (a gap is the category ``<missing>``), plus an
  ``<unseen>`` feature for a value the training rows never had.

Every fitted value is a plain number, string or list (:meth:`TableEncoding.to_dict`), so the
encoding travels in a checkpoint that ``torch.load(weights_only=True)`` reads, and one
:meth:`TableEncoding.transform` serves training, testing and prediction alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ssl_kit.datamodules.table_columns import Kind, category_texts, numeric_values

#: The one-hot feature of a category the training rows never had.
UNSEEN = "<unseen>"


@dataclass
class ColumnEncoding:
    """How one raw column becomes features (see the module docstring).

    Attributes:
        name: the column's name.
        kind: ``"numeric"`` or ``"categorical"``.
        median: training median (numeric).
        mean: training mean after imputation (numeric).
        scale: training standard deviation after imputation, 1 for a constant column (numeric).
        indicator: a missing-indicator feature follows the value (numeric).
        categories: training categories in one-hot order (categorical).
    """

    name: str
    kind: Kind
    median: float = 0.0
    mean: float = 0.0
    scale: float = 1.0
    indicator: bool = False
    categories: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, name: str, kind: Kind, series: pd.Series, where: str) -> ColumnEncoding | None:
        """Fit on the training rows; ``None`` for a numeric column without any value to fit on."""
        if kind == "categorical":
            return cls(name, kind, categories=sorted(set(category_texts(series).tolist())))
        values = numeric_values(series, name, where)
        missing = np.isnan(values)
        if missing.all():
            return None
        median = float(np.median(values[~missing]))
        filled = np.where(missing, median, values)
        std = float(filled.std())
        return cls(name, kind, median=median, mean=float(filled.mean()), scale=std if std > 0 else 1.0,
                   indicator=bool(missing.any()))

    @property
    def feature_names(self) -> list[str]:
        """Names of the features this column gives, e.g. ``["age", "age_missing"]`` or ``["cp=1", "cp=<unseen>"]``."""
        if self.kind == "numeric":
            return [self.name, *([f"{self.name}_missing"] if self.indicator else [])]
        return [f"{self.name}={value}" for value in (*self.categories, UNSEEN)]

    def transform(self, series: pd.Series, where: str) -> np.ndarray:
        """``(rows, len(feature_names))`` features of the raw column."""
        if self.kind == "categorical":
            index = {value: i for i, value in enumerate(self.categories)}
            codes = np.asarray([index.get(v, len(self.categories)) for v in category_texts(series)], dtype=np.int64)
            return np.eye(len(self.categories) + 1, dtype=np.float64)[codes]
        values = numeric_values(series, self.name, where)
        missing = np.isnan(values)
        standard = (np.where(missing, self.median, values) - self.mean) / self.scale
        parts = [standard, *([missing.astype(np.float64)] if self.indicator else [])]
        return np.stack(parts, axis=1)


@dataclass
class TableEncoding:
    """The fitted preprocessing of a table's feature columns (see the module docstring).

    Attributes:
        columns: one :class:`ColumnEncoding` per feature column, in feature order.
        id_column: the column that names the rows in predictions (not a feature), if any.
        na_values: cell texts read as gaps (besides empty cells), as the training file was read.
    """

    columns: list[ColumnEncoding]
    id_column: str | None = None
    na_values: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, frame: pd.DataFrame, kinds: dict[str, Kind], where: str, id_column: str | None = None,
            na_values: list[str] | None = None) -> tuple[TableEncoding, list[str]]:
        """Fit on the training rows; also returns the numeric columns left out for having no value at all."""
        fitted = {name: ColumnEncoding.fit(name, kind, frame[name], where) for name, kind in kinds.items()}
        empty = [name for name, column in fitted.items() if column is None]
        return cls([c for c in fitted.values() if c is not None], id_column, list(na_values or [])), empty

    @property
    def column_names(self) -> list[str]:
        """The raw columns new rows must have."""
        return [c.name for c in self.columns]

    @property
    def feature_names(self) -> list[str]:
        """Names of the model's input features, in order."""
        return [name for c in self.columns for name in c.feature_names]

    def transform(self, frame: pd.DataFrame, where: str = "The rows") -> np.ndarray:
        """``float32 (rows, features)`` of raw rows: columns found by name, in any order; others ignored.

        Raises:
            ValueError: a feature column is missing (named), or a numeric column holds text.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"This model was trained on a table; give it rows as a pandas DataFrame (or a CSV / "
                            f"Parquet file) with the columns {self.column_names}, not {type(frame).__name__}.")
        absent = [name for name in self.column_names if name not in frame.columns]
        if absent:
            raise ValueError(f"{where} lack the column(s) {absent} that the model was trained on; the rows need every "
                             f"feature column {self.column_names} (in any order; other columns are ignored).")
        if not self.columns:
            return np.zeros((len(frame), 0), dtype=np.float32)
        return np.concatenate([c.transform(frame[c.name], where) for c in self.columns], axis=1).astype(np.float32)

    def describe(self) -> str:
        """One line, e.g. ``"table of 12 columns (3 categorical) -> 25 features"``."""
        categorical = sum(c.kind == "categorical" for c in self.columns)
        return f"table of {len(self.columns)} columns ({categorical} categorical) -> {len(self.feature_names)} features"

    def summary(self) -> dict[str, Any]:
        """What must agree between a checkpoint and data (columns and features, no fitted statistics)."""
        return {"kind": "table", "columns": self.column_names, "features": self.feature_names}

    def to_dict(self) -> dict[str, Any]:
        """Plain values (loadable with ``torch.load(weights_only=True)``)."""
        return {"columns": [vars(c) | {"categories": list(c.categories)} for c in self.columns],
                "id_column": self.id_column, "na_values": list(self.na_values)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> TableEncoding:
        """Inverse of :meth:`to_dict`."""
        return cls([ColumnEncoding(**column) for column in record["columns"]], record.get("id_column"),
                   list(record.get("na_values", [])))

