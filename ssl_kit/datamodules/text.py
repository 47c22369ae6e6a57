"""Text classification data: word-level token ids, padded per batch, with the usual splits.

Texts come from Python lists, CSV / TSV / JSONL files or a Hugging Face ``datasets.Dataset``.
A word-level vocabulary (the ``tokenizers`` library) is fitted on the training texts only (the
labeled / unlabeled training rows and the extra unlabeled texts, never the validation or test
rows) and is stored in every checkpoint, so prediction encodes new texts with the same
vocabulary. Inputs are token ids ``(N, max_length)`` padded with id 0 on the right; each batch is
trimmed to its longest sequence, and networks read the padding mask as ``tokens != 0``.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_info
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from torch.utils.data import DataLoader, TensorDataset

from ssl_kit.datamodules.labeled_unlabeled import (
    BatchTransform,
    LabeledUnlabeledDataModule,
    MixedBatch,
    TransformedCollate,
    default_data_dir,
)
from ssl_kit.text.shape import TokenShape
from ssl_kit.text.views import VIEW_SETTINGS, TextView, trim_batch
from ssl_kit.text.word_vectors import SkipGramSettings, cached_skipgram

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread: the cores are the training's

PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1


# ----------------------------------------------------------------------------- reading texts
def read_texts(source: Any, text_column: str = "text", label_column: str | None = "label"
               ) -> tuple[list[str], list[Any] | None]:
    """Texts (and labels, if ``label_column`` is present) from a file, a mapping or a dataset.

    Args:
        source: a path to ``.csv``, ``.tsv`` or ``.jsonl`` (one JSON object per line), ``.txt``
            (one text per line, no labels), a ``datasets.Dataset`` or a mapping of columns, or a
            list of texts (no labels).
        text_column: name of the text column.
        label_column: name of the label column; ``None`` or absent: no labels.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"Text file {str(path)!r} does not exist.")
        suffix = path.suffix.lower()
        if suffix == ".txt":
            return [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()], None
        if suffix == ".jsonl":
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        elif suffix in (".csv", ".tsv"):
            csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # newsgroup posts exceed the 128 kB default
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ","))
        else:
            raise ValueError(f"Unknown text file type {suffix!r} ({path}); use .csv, .tsv, .jsonl or .txt.")
        columns = {key: [row.get(key) for row in rows] for key in (rows[0] if rows else {})}
    elif isinstance(source, (list, tuple)) and all(isinstance(t, str) for t in source):
        return list(source), None
    elif hasattr(source, "column_names") or isinstance(source, dict):  # datasets.Dataset or a mapping
        names = source.column_names if hasattr(source, "column_names") else list(source)
        columns = {key: list(source[key]) for key in names if key in (text_column, label_column)}
    else:
        raise TypeError(f"Cannot read texts from {type(source).__name__}; give a file path, a list of texts, "
                        "a mapping of columns or a datasets.Dataset.")
    if text_column not in columns:
        raise ValueError(f"The text column {text_column!r} is missing; found {sorted(columns)} "
                         "(set text_column).")
    texts = ["" if t is None else str(t) for t in columns[text_column]]
    labels = columns.get(label_column) if label_column else None
    return texts, labels


def _sorted_names(labels: Sequence[Any]) -> list[str]:
    """Class names in a stable order: numerically if every label is an integer, else alphabetically."""
    names = sorted({str(v) for v in labels})
    if all(n.lstrip("-").isdigit() for n in names):
        names.sort(key=int)
    return names


def label_indices(labels: Sequence[Any], class_names: Sequence[str], what: str) -> torch.Tensor:
    """Class indices of ``labels`` given by name (or by a value whose ``str`` is a name)."""
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted({str(v) for v in labels} - set(index))
    if unknown:
        raise ValueError(f"The {what} labels {unknown[:5]} are not among the classes {list(class_names)}.")
    return torch.tensor([index[str(v)] for v in labels], dtype=torch.long)


# ----------------------------------------------------------------------------- tokeniser
def fit_tokenizer(texts: Sequence[str], min_frequency: int = 2, max_vocab_size: int = 20000,
                  lowercase: bool = True) -> Tokenizer:
    """A word-level tokeniser (``[PAD]`` = 0, ``[UNK]`` = 1) fitted on ``texts``.

    Words are split on whitespace and punctuation; a word enters the vocabulary if it occurs at
    least ``min_frequency`` times, the most frequent ``max_vocab_size`` entries (specials
    included) kept.
    """
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    steps = [normalizers.NFD(), normalizers.StripAccents()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=max_vocab_size, min_frequency=min_frequency,
                                        special_tokens=[PAD_TOKEN, UNK_TOKEN], show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def encode_texts(tokenizer: Tokenizer, texts: Sequence[str], max_length: int) -> torch.Tensor:
    """Token ids ``(len(texts), max_length)``: truncated, right-padded with 0; an empty text is ``[UNK]``."""
    out = torch.zeros(len(texts), max_length, dtype=torch.long)
    for row, encoding in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        ids = encoding.ids[:max_length] or [UNK_ID]
        out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


def trim_padding(tokens: torch.Tensor) -> torch.Tensor:
    """Drop the padding columns beyond the longest sequence of the batch (per-batch padding)."""
    longest = int((tokens != PAD_ID).sum(dim=1).max()) if len(tokens) else 0
    return tokens[:, : max(longest, 1)]


# ----------------------------------------------------------------------------- datamodule
class TextDataModule(LabeledUnlabeledDataModule):
    """Semi-supervised text classification from files, lists or a ``datasets.Dataset``.

    The training texts give the labeled split (class-balanced, ``num_labeled``) and, with the
    ``unlabeled`` texts appended, the unlabeled pool. Labels are kept by name in ``class_names``.

    Args:
        train: training texts with labels (see :func:`read_texts` for the accepted sources).
        test: test texts with labels; ``None``: hold out ``num_test`` random training rows.
        unlabeled: extra texts without labels (same sources, labels ignored), or ``None``.
        text_column: name of the text column / field.
        label_column: name of the label column / field.
        class_names: class order; default: the training labels sorted (numerically if integers).
        num_test: size of the held-out test set when ``test`` is ``None``.
        test_seed: seed of that hold-out draw (fixed, so every run tests on the same rows).
        max_length: tokens kept per text (longer texts are truncated).
        min_frequency: minimum count of a word in the training texts to enter the vocabulary.
        max_vocab_size: largest vocabulary (specials included); text backbones need at least this
            many embedding rows.
        lowercase: lowercase (and strip accents) before splitting into words.
        predict_file: texts to classify with ``ssl-kit predict`` (``.txt``: one text per line, or
            any source of :func:`read_texts`); default: the test set.
        pretrain_embeddings: pre-train word vectors (skip-gram, :mod:`ssl_kit.text.word_vectors`) on
            the fitting texts (never the test texts) and load them into the text backbone's
            embedding before training; done only when there are unlabeled texts. ``False``: the
            embedding starts random.
        pretrain_kwargs: settings of the skip-gram training
            (:class:`~ssl_kit.text.word_vectors.SkipGramSettings`: ``epochs``, ``window``, ...).
        **kwargs: see :class:`~ssl_kit.datamodules.labeled_unlabeled.LabeledUnlabeledDataModule`.
    """

    #: Networks and methods read this to know that inputs are token ids (0 = padding).
    input_kind = "tokens"

    def __init__(
        self,
        train: Any,
        test: Any = None,
        unlabeled: Any = None,
        text_column: str = "text",
        label_column: str = "label",
        class_names: list[str] | None = None,
        num_test: int = 0,
        test_seed: int = 0,
        max_length: int = 400,
        min_frequency: int = 2,
        max_vocab_size: int = 20000,
        lowercase: bool = True,
        predict_file: str | None = None,
        pretrain_embeddings: bool = True,
        pretrain_kwargs: dict[str, Any] | None = None,
        num_labeled: int = 500,
        labeled_batch_size: int = 32,
        unlabeled_batch_size: int = 64,
        eval_batch_size: int = 256,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_labeled=num_labeled, labeled_batch_size=labeled_batch_size,
                         unlabeled_batch_size=unlabeled_batch_size, eval_batch_size=eval_batch_size, **kwargs)
        if max_length < 1 or min_frequency < 1 or max_vocab_size < 3:
            raise ValueError(f"TextDataModule needs max_length >= 1, min_frequency >= 1 and max_vocab_size >= 3; "
                             f"got {max_length}, {min_frequency}, {max_vocab_size}.")
        self.max_length, self.min_frequency = max_length, min_frequency
        self.max_vocab_size, self.lowercase = max_vocab_size, lowercase
        train_texts, train_labels = read_texts(train, text_column, label_column)
        if train_labels is None:
            raise ValueError(f"The training texts have no label column {label_column!r} (set label_column).")
        if test is None:
            if not 0 < num_test < len(train_texts):
                raise ValueError(f"Without test texts, num_test must hold out part of the {len(train_texts)} "
                                 f"training texts; got num_test={num_test}.")
            order = np.random.default_rng(test_seed).permutation(len(train_texts))
            held, kept = np.sort(order[:num_test]), np.sort(order[num_test:])
            test_texts, test_labels = [train_texts[i] for i in held], [train_labels[i] for i in held]
            train_texts, train_labels = [train_texts[i] for i in kept], [train_labels[i] for i in kept]
        else:
            test_texts, test_labels = read_texts(test, text_column, label_column)
            if test_labels is None:
                raise ValueError(f"The test texts have no label column {label_column!r} (set label_column).")
        self.class_names = list(class_names) if class_names is not None else _sorted_names(train_labels)
        self.num_classes = len(self.class_names)
        self.texts = {"train": train_texts, "test": test_texts,
                      "unlabeled": read_texts(unlabeled, text_column, None)[0] if unlabeled is not None else []}
        self.labels = {"train": label_indices(train_labels, self.class_names, "training"),
                       "test": label_indices(test_labels, self.class_names, "test")}
        self.predict_file, self.text_column, self.label_column = predict_file, text_column, label_column
        self.tokenizer: Tokenizer | None = None
        self.eval_transform = trim_padding
        # Training batches are trimmed in on_after_batch_transfer, all parts to one width.
        self.train_transform = None
        self.pretrain_embeddings = pretrain_embeddings
        self.skipgram = SkipGramSettings(**(pretrain_kwargs or {}))
        #: Seconds the last :meth:`word_vectors` call spent training (or reading the cache); ``None`` before.
        self.pretrain_seconds: float | None = None

    @classmethod
    def from_lists(cls, train_texts: Sequence[str], train_labels: Sequence[Any], test_texts: Sequence[str],
                   test_labels: Sequence[Any], unlabeled_texts: Sequence[str] | None = None,
                   **kwargs: Any) -> TextDataModule:
        """A datamodule over Python lists of texts and labels (``kwargs`` as for the constructor)."""
        return cls(train={"text": list(train_texts), "label": list(train_labels)},
                   test={"text": list(test_texts), "label": list(test_labels)},
                   unlabeled=list(unlabeled_texts) if unlabeled_texts is not None else None, **kwargs)

    # ------------------------------------------------------------------ tokens
    def fitting_texts(self) -> list[str]:
        """The texts the vocabulary is fitted on: training rows outside the validation split, and the extra texts."""
        split = self.resolve_split(self.labels["train"])
        held_out = set(split.val)
        train = [t for i, t in enumerate(self.texts["train"]) if i not in held_out]
        return train + self.texts["unlabeled"]

    def fitted_tokenizer(self) -> Tokenizer:
        """The tokeniser of this run: restored from a checkpoint, or fitted once on :meth:`fitting_texts`."""
        if self.tokenizer is None:
            self.tokenizer = fit_tokenizer(self.fitting_texts(), self.min_frequency, self.max_vocab_size, self.lowercase)
        return self.tokenizer

    @property
    def vocab_size(self) -> int:
        """Size of the fitted vocabulary (``[PAD]`` and ``[UNK]`` included)."""
        return self.fitted_tokenizer().get_vocab_size()

    @property
    def input_shape(self) -> TokenShape:
        """``(max_length,)`` as a :class:`~ssl_kit.text.shape.TokenShape` that also carries ``vocab_size``
        (fitting the vocabulary on first use), so ``backbone: auto`` builds a text network."""
        return TokenShape(self.max_length, self.vocab_size)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Token ids ``(len(texts), max_length)`` of new texts, with this run's vocabulary."""
        return encode_texts(self.fitted_tokenizer(), texts, self.max_length)

    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode the training and test texts (fitting the vocabulary first if needed)."""
        return (self.encode(self.texts["train"]), self.labels["train"],
                self.encode(self.texts["test"]), self.labels["test"])

    def load_extra_unlabeled(self) -> torch.Tensor | None:
        """The extra unlabeled texts, encoded."""
        return self.encode(self.texts["unlabeled"]) if self.texts["unlabeled"] else None

    def fitting_tokens(self) -> torch.Tensor:
        """Token ids of :meth:`fitting_texts` (training rows outside the validation split, then the
        extra unlabeled texts), ``(M, max_length)``: never a test text."""
        x_train = self.tensors[0]
        split = self.resolve_split(self.labels["train"])
        rows = torch.ones(len(x_train), dtype=torch.bool)
        rows[torch.tensor(split.val, dtype=torch.long)] = False
        parts = [x_train[rows]] + ([self.extra_unlabeled] if self.extra_unlabeled is not None else [])
        return torch.cat(parts)

    @property
    def token_counts(self) -> torch.Tensor:
        """How often each vocabulary entry occurs in the encoded fitting texts (padding: 0), ``(vocab_size,)``.

        Text backbones weight the embedding normalisation with these frequencies.
        """
        counts = torch.bincount(self.fitting_tokens().flatten(), minlength=self.vocab_size).float()
        counts[PAD_ID] = 0.0
        return counts

    @property
    def has_unlabeled_texts(self) -> bool:
        """Whether the unlabeled pool holds any text (training rows without labels or extra texts)."""
        split = self.resolve_split(self.labels["train"])
        return len(split.unlabeled) > 0 or bool(self.texts["unlabeled"])

    def word_vectors(self, dim: int) -> torch.Tensor | None:
        """Skip-gram vectors ``(vocab_size, dim)`` of the fitting texts (cached by content hash), or
        ``None`` when ``pretrain_embeddings`` is off or there are no unlabeled texts.

        Text backbones load them into their embedding table before training
        (:meth:`~ssl_kit.nets.text.TextClassifier.prepare_for_data`); the time spent is
        ``pretrain_seconds`` and is logged.
        """
        if not self.pretrain_embeddings or not self.has_unlabeled_texts:
            return None
        tokens = self.fitting_tokens()
        vectors, seconds, path, hit = cached_skipgram(tokens, self.vocab_size, dim, self.fitted_tokenizer().to_str(),
                                                      self.skipgram)
        self.pretrain_seconds = seconds
        done = "read from the cache" if hit else f"trained on {int((tokens > UNK_ID).sum()):,} words"
        rank_zero_info(f"Word vectors ({dim}-dim skip-gram, {len(tokens):,} texts) {done} in {seconds:.1f} s: {path} "
                       "(pretrain_embeddings: false skips them).")
        return vectors

    # ------------------------------------------------------------------ training batches
    def second_view_transform(self) -> BatchTransform | None:
        """The text view of :class:`~ssl_kit.text.views.TextView` for ``strong_view: weak`` (word
        dropout) or ``strong`` (word dropout and random replacement); ``strong_kwargs`` override."""
        if self.strong_view is None:
            return None
        return TextView(self.vocab_size, **{**VIEW_SETTINGS[self.strong_view], **self.strong_kwargs})

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Trim a training batch's labeled texts and unlabeled views to one common width."""
        if isinstance(batch, MixedBatch):
            x_l, x_u, x_u_strong = trim_batch(batch.x_l, batch.x_u, batch.x_u_strong)
            return batch._replace(x_l=x_l, x_u=x_u, x_u_strong=x_u_strong)
        return batch

    def predict_dataloader(self) -> DataLoader:
        """Batches of ``predict_file`` (``(x,)``, or ``(x, y)`` if it has known labels), else of the test set."""
        if self.predict_file is None:
            return super().predict_dataloader()
        texts, labels = read_texts(self.predict_file, self.text_column, self.label_column)
        tensors = [self.encode(texts)]
        if labels is not None:
            tensors.append(label_indices(labels, self.class_names, "predict"))
        return DataLoader(TensorDataset(*tensors), batch_size=self.eval_batch_size,
                          collate_fn=TransformedCollate(trim_padding))

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict[str, Any]:
        """Split, stream position, class names and the fitted tokeniser (as its JSON string)."""
        state = super().state_dict()
        state["class_names"] = list(self.class_names)
        if self.tokenizer is not None:
            state["tokenizer"] = self.tokenizer.to_str()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore split, stream position and the checkpoint's tokeniser (re-encoding if it differs);
        refuse a checkpoint trained on other classes."""
        names = state_dict.get("class_names")
        if names is not None and list(names) != list(self.class_names):
            raise ValueError(f"The checkpoint was trained on the classes {list(names)} but these texts give "
                             f"{list(self.class_names)}; pass class_names={list(names)} to keep its order.")
        super().load_state_dict(state_dict)
        stored = state_dict.get("tokenizer")
        if stored is not None and (self.tokenizer is None or self.tokenizer.to_str() != stored):
            self.tokenizer = Tokenizer.from_str(stored)
            self._tensors, self._extra_unlabeled, self._extra_loaded = None, None, False  # encode again


def _text_dir(data_dir: str | None) -> Path:
    return Path(data_dir or default_data_dir()) / "text"


class RottenTomatoesDataModule(TextDataModule):
    """Rotten Tomatoes snippets (fresh / rotten, 12,808), 2,808 held out as the test set.

    Files: ``<data_dir>/text/rotten_tomatoes.csv`` (``label,text``) and, as extra unlabeled texts,
    the 1,097 plot summaries of ``rotten_tomatoes_plots.csv``.

    Args:
        data_dir: data root; default ``$SSL_KIT_DATA`` (else ``./data``).
        use_plots: add the plot summaries to the unlabeled pool.
        **kwargs: see :class:`TextDataModule`.
    """

    def __init__(self, data_dir: str | None = None, use_plots: bool = True, num_test: int = 2808,
                 max_length: int = 64, num_labeled: int = 500, **kwargs: Any) -> None:
        root = _text_dir(data_dir)
        super().__init__(train=str(root / "rotten_tomatoes.csv"), test=None, num_test=num_test,
                         unlabeled=str(root / "rotten_tomatoes_plots.csv") if use_plots else None,
                         max_length=max_length, num_labeled=num_labeled, **kwargs)


class NewsgroupsDataModule(TextDataModule):
    """20 Newsgroups (11,293 training / 7,528 test posts, 20 classes), 20 labels per class by default.

    Files: ``<data_dir>/text/20newsgroups_{train,test}.csv`` (``label,text``).

    Args:
        data_dir: data root; default ``$SSL_KIT_DATA`` (else ``./data``).
        **kwargs: see :class:`TextDataModule`.
    """

    def __init__(self, data_dir: str | None = None, max_length: int = 200, num_labeled: int = 400,
                 **kwargs: Any) -> None:
        root = _text_dir(data_dir)
        super().__init__(train=str(root / "20newsgroups_train.csv"), test=str(root / "20newsgroups_test.csv"),
                         max_length=max_length, num_labeled=num_labeled, **kwargs)


__all__ = ["NewsgroupsDataModule", "RottenTomatoesDataModule", "TextDataModule", "encode_texts",
           "fit_tokenizer", "read_texts", "trim_padding"]
