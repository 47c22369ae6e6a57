"""A user's table (CSV, TSV, Parquet or a DataFrame) as semi-supervised data: rows with an empty label are unlabeled.

The fitted preprocessing (:class:`~ssl_kit.datamodules.table_encoding.TableEncoding`) is part of the
datamodule's checkpoint state and of the checkpoint's record, so ``ssl-kit predict-files`` applies
it to raw new rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from pytorch_lightning.utilities import rank_zero_info
from sklearn.model_selection import train_test_split

from ssl_kit.datamodules.labeled_unlabeled import LabeledUnlabeledDataModule
from ssl_kit.datamodules.preprocessing import Preprocessing
from ssl_kit.datamodules.splits import NumLabeled
from ssl_kit.datamodules.table_columns import MAX_INTEGER_CATEGORIES, detect_kinds
from ssl_kit.datamodules.table_encoding import TableEncoding
from ssl_kit.datamodules.table_io import TableSource, read_table
from ssl_kit.datamodules.table_labels import encode_table_labels, label_array, table_labels

#: Share of the labeled rows held out as the test set when neither ``test`` nor ``num_test`` is given.
TEST_SHARE = 0.2


class TabularDataModule(LabeledUnlabeledDataModule):
    """Semi-supervised classification on a table: a label column, empty where a row is unlabeled.

    Rows with a label form the training set (``num_labeled`` of them labeled, class-balanced; the
    unlabeled pool is every training row, as for the other data sets); rows with an empty label join
    the unlabeled pool only. Feature columns are encoded by a
    :class:`~ssl_kit.datamodules.table_encoding.TableEncoding` fitted on the training rows (labeled,
    unlabeled and validation rows; never a test row): numeric gaps imputed with the median plus a
    missing indicator, categories one-hot with an ``<unseen>`` bucket, numbers standardised.

    Args:
        train: a ``.csv`` / ``.tsv`` / ``.parquet`` file (optionally compressed, e.g. ``.csv.gz``), a
            pandas ``DataFrame``, or ``sklearn:<name>`` for one of scikit-learn's bundled tables
            (:data:`~ssl_kit.datamodules.tabular_examples.EXAMPLES`).
        label_column: the column of class labels (names or integers); an empty cell marks an
            unlabeled row.
        test: a table with the same columns, labeled (rows with an empty label are left out and
            counted in the log); default: ``num_test`` labeled rows of ``train`` are held out.
        num_test: labeled rows held out as the test set when ``test`` is not given (stratified by
            class, seeded by ``test_seed``); default: a fifth of them.
        test_seed: seed of that hold-out.
        feature_columns: the columns to learn from; default: every column but the label, the
            id column and ``drop_columns``.
        drop_columns: columns to leave out.
        categorical_columns: exactly these columns are categorical (the others must hold numbers);
            default: detected (text columns, and integer columns of at most
            ``max_integer_categories`` distinct values).
        max_integer_categories: see ``categorical_columns``.
        na_values: cell texts that mark a gap besides an empty cell, e.g. ``["?"]``.
        id_column: a column naming the rows (never a feature; predictions are written under it).
        num_labeled: labeled rows drawn from the rows with a label; ``"all"`` (default) keeps every label.
        **kwargs: batch sizes, ``num_val`` and the rest of
            :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`.

    Example:
        >>> dm = TabularDataModule("patients.csv", label_column="diagnosis", num_labeled=20, na_values=["?"])
    """

    default_labeled_batch_size = 64
    default_unlabeled_batch_size = 128

    def __init__(
        self,
        train: TableSource,
        label_column: str = "label",
        test: TableSource | None = None,
        num_test: int | None = None,
        test_seed: int = 0,
        feature_columns: list[str] | None = None,
        drop_columns: list[str] | None = None,
        categorical_columns: list[str] | None = None,
        max_integer_categories: int = MAX_INTEGER_CATEGORIES,
        na_values: list[str] | None = None,
        id_column: str | None = "id",
        num_labeled: NumLabeled = "all",
        **kwargs: Any,
    ) -> None:
        super().__init__(num_labeled=num_labeled, **kwargs)
        self.label_column, self.id_column, self.na_values = label_column, id_column, list(na_values or [])
        where = _name(train, "the training table")
        frame = read_table(train, self.na_values, "training")
        columns = self._feature_columns(frame, where, feature_columns, drop_columns or [])
        labels = table_labels(frame, label_column, where)
        labeled, unlabeled = frame[labels.notna()], frame[labels.isna()]
        if test is not None:
            test_frame = self._read_test(test, frame, drop_columns or [])
            train_frame = labeled
        else:
            train_frame, test_frame = self._hold_out(labeled, label_array(labeled[label_column]), num_test, test_seed)
        y_train, y_test, self.class_names = encode_table_labels(train_frame[label_column], test_frame[label_column],
                                                                where)
        self.num_classes = len(self.class_names)
        fit_rows = pd.concat([train_frame, unlabeled])  # every training row; never a test row
        kinds = detect_kinds(fit_rows, columns, categorical_columns, where, max_integer_categories)
        self.encoding, empty = TableEncoding.fit(fit_rows, kinds, where, id_column, self.na_values)
        self.input_shape = (len(self.encoding.feature_names),)
        self._frames = {"train": train_frame, "test": test_frame, "unlabeled": unlabeled}
        self._labels = (y_train, y_test)
        self._log(where, len(frame), len(train_frame), len(unlabeled), len(test_frame), test is None, empty)

    # ----------------------------------------------------------------- reading
    def _feature_columns(self, frame: pd.DataFrame, where: str, feature_columns: Sequence[str] | None,
                         drop_columns: Sequence[str]) -> list[str]:
        named = [*(feature_columns or []), *drop_columns]
        unknown = [c for c in named if c not in frame.columns]
        if unknown:
            raise ValueError(f"{where} has no column(s) {unknown}; its columns are {list(frame.columns)}.")
        if self.label_column in (feature_columns or []):
            raise ValueError(f"The label column {self.label_column!r} cannot also be a feature column.")
        if feature_columns is not None:
            return [c for c in feature_columns if c not in drop_columns]
        left_out = {self.label_column, self.id_column, *drop_columns}
        return [c for c in frame.columns if c not in left_out]

    def _read_test(self, test: TableSource, train: pd.DataFrame, drop_columns: Sequence[str]) -> pd.DataFrame:
        """The test table, refused unless it has the training table's columns; rows without a label left out."""
        where = _name(test, "the test table")
        frame = read_table(test, self.na_values, "test")
        ignored = {*drop_columns, self.id_column}
        wanted, found = set(train.columns) - ignored, set(frame.columns) - ignored
        if wanted != found:
            raise ValueError(f"{where} has other columns than the training table: it lacks {sorted(wanted - found)} "
                             f"and adds {sorted(found - wanted)}; give it the training table's columns.")
        labels = table_labels(frame, self.label_column, where, require_labels=False)
        if labels.isna().any():
            rank_zero_info(f"{where}: left out {int(labels.isna().sum())} of {len(frame)} test rows, whose label "
                           f"{self.label_column!r} is empty.")
        if labels.notna().sum() == 0:
            raise ValueError(f"{where} has no row with a label {self.label_column!r}: a test table needs labels.")
        return frame[labels.notna()]

    def _hold_out(self, labeled: pd.DataFrame, y: np.ndarray, num_test: int | None,
                  seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``num_test`` labeled rows as the test set, stratified by class where every class has 2 rows or more."""
        count = round(TEST_SHARE * len(labeled)) if num_test is None else num_test
        if not 1 <= count < len(labeled):
            raise ValueError(f"num_test={count} must leave at least one of the {len(labeled)} labeled rows for "
                             "training and hold out at least one; or give a test table (test).")
        _, counts = np.unique(y, return_counts=True)
        stratify = y if counts.min() >= 2 and count >= len(counts) and len(labeled) - count >= len(counts) else None
        train, test = train_test_split(np.arange(len(labeled)), test_size=count, random_state=seed, stratify=stratify)
        return labeled.iloc[np.sort(train)], labeled.iloc[np.sort(test)]

    def _log(self, where: str, rows: int, train: int, unlabeled: int, test: int, held_out: bool,
             empty: Sequence[str]) -> None:
        source = "held out of the labeled rows" if held_out else "from the test table"
        rank_zero_info(f"{where}: {rows} rows: {train} labeled training rows, {unlabeled} unlabeled (empty "
                       f"{self.label_column!r}), {test} test rows {source}; {self.encoding.describe()}.")
        if empty:
            rank_zero_info(f"{where}: left out the column(s) {list(empty)}, which hold no value in any training row.")

    # ----------------------------------------------------------------- tensors
    def _encoded(self, part: str) -> torch.Tensor:
        return torch.from_numpy(self.encoding.transform(self._frames[part], f"the {part} rows"))

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The labeled training and test rows, encoded, with their class indices."""
        return self._encoded("train"), self._labels[0], self._encoded("test"), self._labels[1]

    def load_extra_unlabeled(self) -> torch.Tensor | None:
        """The rows with an empty label, encoded."""
        return self._encoded("unlabeled") if len(self._frames["unlabeled"]) else None

    def preprocessing(self) -> Preprocessing:
        """The fitted table encoding, kept in checkpoints so predictions apply it to raw rows."""
        return Preprocessing("table", table=self.encoding)

    # ----------------------------------------------------------------- checkpoint state
    def state_dict(self) -> dict[str, Any]:
        """The split, the stream position and the fitted table encoding."""
        return {**super().state_dict(), "table_encoding": self.encoding.to_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the checkpoint's split, stream position and table encoding (the rows are encoded again)."""
        super().load_state_dict(state_dict)
        if "table_encoding" in state_dict and state_dict["table_encoding"] != self.encoding.to_dict():
            self.encoding = TableEncoding.from_dict(state_dict["table_encoding"])
            self._tensors, self._extra_unlabeled, self._extra_loaded = None, None, False


def _name(source: TableSource, default: str) -> str:
    """How messages name a table: its file, or ``default`` for a DataFrame."""
    return default if isinstance(source, pd.DataFrame) else str(source)
