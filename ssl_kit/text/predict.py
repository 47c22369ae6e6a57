"""New documents for ``ssl-kit predict-files``: a TXT (one document a line) or a CSV column of texts.

A text checkpoint stores its datamodule's fitted tokeniser (:class:`~ssl_kit.datamodules.TextDataModule`
``state_dict``), so new documents are encoded with the training vocabulary, lowercasing and
length, whatever data is at hand when predicting.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from ssl_kit.datamodules.text import encode_texts

TEXT_SUFFIXES = (".txt", ".csv", ".tsv")
ID_COLUMNS = ("id", "name", "file", "filename")
LABEL_COLUMNS = ("label", "labels", "target", "class", "y")


def checkpoint_vocabulary(ckpt: str | Path) -> Tokenizer | None:
    """The tokeniser stored in a checkpoint's datamodule state, or ``None`` (not a text checkpoint)."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    for value in state.values():
        if isinstance(value, dict) and isinstance(value.get("tokenizer"), str):
            return Tokenizer.from_str(value["tokenizer"])
    return None


def read_documents(path: str | Path, text_column: str | None = None) -> tuple[list[str], list[str]]:
    """Ids and texts: ``.txt`` one document a line (ids: line numbers from 1, blank lines skipped),
    or ``.csv`` / ``.tsv`` with a header (the ``text_column``, else ``text``, else the only column
    that is not an id or a label; ids from an ``id`` column, else row numbers from 1)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No document file at {str(path)!r} (give a .txt, one document a line, or a .csv).")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        lines = path.read_text(encoding="utf-8").splitlines()
        pairs = [(str(i), line) for i, line in enumerate(lines, start=1) if line.strip()]
        return [i for i, _ in pairs], [t for _, t in pairs]
    if suffix not in (".csv", ".tsv"):
        raise ValueError(f"A text model reads documents from .txt (one a line) or .csv / .tsv; got {path.name}.")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ","))
    columns = list(rows[0]) if rows else []
    lowered = {c.lower(): c for c in columns}
    if text_column is None:
        others = [c for c in columns if c.lower() not in ID_COLUMNS + LABEL_COLUMNS]
        text_column = lowered.get("text") or (others[0] if len(others) == 1 else None)
        if text_column is None:
            raise ValueError(f"{path.name}: cannot tell which column holds the texts among {columns}; "
                             "name it with --text_column.")
    elif text_column not in columns:
        raise ValueError(f"{path.name} has no column {text_column!r}; its columns are {columns}.")
    id_column = next((lowered[c] for c in ID_COLUMNS if c in lowered), None)
    ids = [row[id_column] for row in rows] if id_column else [str(i) for i in range(1, len(rows) + 1)]
    return ids, [row[text_column] or "" for row in rows]


def text_inputs(ckpt: str | Path, inputs: str | Path, model: Any, text_column: str | None = None
                ) -> tuple[list[str], torch.Tensor] | None:
    """Ids and token ids ``(N, max_length)`` of the documents in ``inputs``, encoded with the
    checkpoint's vocabulary; ``None`` when ``ckpt`` is not a text model (other readers apply)."""
    vocabulary = checkpoint_vocabulary(ckpt)
    if vocabulary is None:
        return None
    ids, texts = read_documents(inputs, text_column)
    return ids, encode_texts(vocabulary, texts, int(model.input_shape[0]))
