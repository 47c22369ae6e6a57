"""The label column of a table: where it is, which rows it leaves unlabeled, and the class of each labeled row."""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
import torch

from ssl_kit.datamodules.table_columns import MISSING, category_texts, text_cells
from ssl_kit.datamodules.user_inputs import encode_labels


def table_labels(frame: pd.DataFrame, label_column: str, where: str, require_labels: bool = True) -> pd.Series:
    """The label column, with every empty (or blank) cell as NaN: those rows are unlabeled.

    Raises:
        ValueError: the table has no such column (the message lists its columns and the closest
            name), or, with ``require_labels``, every label is empty.
    """
    if label_column not in frame.columns:
        close = difflib.get_close_matches(label_column, [str(c) for c in frame.columns], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{where} has no label column {label_column!r}; set label_column to one of its columns "
                         f"{list(frame.columns)}.{hint}")
    texts = category_texts(frame[label_column])
    labels = frame[label_column].where(texts != MISSING)
    if require_labels and labels.isna().all():
        raise ValueError(f"Every row of {where} has an empty label {label_column!r}: at least a few labeled rows are "
                         "needed (or is label_column the wrong column?).")
    return labels


def label_array(labels: pd.Series) -> np.ndarray:
    """Labels as integers when they are numbers (``1.0`` from a column with gaps is ``1``), else as text."""
    if len(text_cells(labels)) == 0:
        values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=np.float64)
        if np.equal(np.round(values), values).all():
            return values.astype(np.int64)
        raise ValueError(f"The label column {labels.name!r} holds non-integral numbers such as "
                         f"{values[np.round(values) != values][:3].tolist()}: class labels are names or integers "
                         "(is it a regression target?).")
    return np.asarray(category_texts(labels), dtype=str)


def encode_table_labels(train: pd.Series, test: pd.Series, where: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Class indices of the training and test labels and the class names (sorted names, or sorted integers).

    Raises:
        ValueError: the training rows hold a single class, or the test rows a class they lack.
    """
    y_train, y_test = label_array(train), label_array(test)
    if y_train.dtype.kind != y_test.dtype.kind and len(y_test):
        y_train, y_test = y_train.astype(str), y_test.astype(str)
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise ValueError(f"The label column {train.name!r} of {where} holds a single class ({classes.tolist()}) in its "
                         f"{len(y_train)} labeled training rows: classification needs at least two classes.")
    unknown = sorted({str(v) for v in np.setdiff1d(y_test, classes)})
    if unknown:
        raise ValueError(f"The test rows have label(s) {unknown[:5]} that no labeled training row has; a model cannot "
                         "learn a class it never sees labeled.")
    (train_index, test_index), names = encode_labels(y_train, y_test, names=("training", "test"))
    return train_index, test_index, names
