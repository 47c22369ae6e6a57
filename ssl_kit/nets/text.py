"""Text classifiers on normalised word embeddings (Miyato, Dai & Goodfellow 2017, arXiv 1605.07725).

The forward pass is split in two, ``embed(tokens) -> e`` and ``classify_embedded(e, mask)``, so
that adversarial and virtual adversarial perturbations are added to the normalised embeddings
``e`` (the paper's Sec. 3). Token id 0 is padding: its positions are zeroed after any
perturbation, so they neither carry a perturbation nor change the prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

PAD_ID = 0
ENCODERS = ("bilstm", "cnn", "mean")


def frequency_normalized(vectors: torch.Tensor, table: torch.Tensor, frequencies: torch.Tensor,
                         eps: float = 1e-6) -> torch.Tensor:
    """Normalise embedding ``vectors`` with the frequency-weighted moments of the whole ``table``.

    ``v_bar = (v - E(v)) / sqrt(Var(v))`` with ``E(v) = sum_j f_j v_j`` and
    ``Var(v) = sum_j f_j (v_j - E(v))^2`` per dimension, ``f_j`` the frequency of word ``j`` in the
    training texts (arXiv 1605.07725, Sec. 2). Without it the model could make perturbations of a
    fixed norm insignificant by growing the embeddings. All-zero ``frequencies`` weigh every row
    equally.

    Args:
        vectors: embeddings to normalise, ``(..., dim)``.
        table: the embedding table, ``(vocab, dim)``.
        frequencies: non-negative counts or frequencies, ``(vocab,)``.
        eps: added to the variance.
    """
    total = frequencies.sum()
    weights = frequencies / total if total > 0 else torch.full_like(frequencies, 1.0 / len(frequencies))
    weights = weights.unsqueeze(1).to(table.dtype)
    mean = (weights * table).sum(dim=0)
    var = (weights * (table - mean) ** 2).sum(dim=0)
    return (vectors - mean) / torch.sqrt(var + eps)


class TextClassifier(nn.Module):
    """Normalised word embeddings -> BiLSTM, convolution or average -> pooled features -> logits.

    ``encoder="bilstm"``: a bidirectional LSTM over the packed sequence (padding never enters it);
    the features are its last forward and backward states, as the paper's LSTM uses the last
    state. ``encoder="cnn"``: one width-3 convolution with ReLU, max-pooled over the real tokens
    (padding is zeroed before the convolution and masked out of the pooling); cheaper on CPUs.
    ``encoder="mean"``: the average of the real tokens' embeddings through one ReLU layer of
    ``hidden`` units (a deep averaging network, Iyyer et al. 2015): a bag of words, the cheapest,
    and the least data-hungry with few labels.

    Args:
        input_shape: ``(max_length,)`` of the datamodule (token ids).
        num_classes: number of logits.
        vocab_size: embedding rows; at least the datamodule's vocabulary size.
        embed_dim: embedding width.
        hidden: LSTM units per direction, convolution channels, or the averaging encoder's ReLU units.
        encoder: ``"bilstm"``, ``"cnn"`` or ``"mean"``.
        dropout: dropout on the embeddings (before any perturbation, as the paper's code).
        feature_dropout: dropout on the pooled features.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        vocab_size: int = 20000,
        embed_dim: int = 128,
        hidden: int = 128,
        encoder: Literal["bilstm", "cnn", "mean"] = "bilstm",
        dropout: float = 0.5,
        feature_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(tuple(input_shape)) != 1:
            raise ValueError(f"A text backbone takes token ids of shape (max_length,), got input_shape {tuple(input_shape)}.")
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(map(repr, ENCODERS))}; got {encoder!r}.")
        self.encoder_kind = encoder
        #: The arguments this network was built with (:meth:`backbone_spec`).
        self.arguments = {"vocab_size": vocab_size, "embed_dim": embed_dim, "hidden": hidden, "dropout": dropout,
                          "feature_dropout": feature_dropout}
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.register_buffer("token_counts", torch.zeros(vocab_size))
        self.embed_dropout = nn.Dropout(dropout)
        if encoder == "bilstm":
            self.encoder: nn.Module = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
            features = 2 * hidden
        elif encoder == "mean":
            self.encoder = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU())
            features = hidden
        else:
            self.encoder = nn.Conv1d(embed_dim, hidden, kernel_size=3, padding=1)
            features = hidden
        self.head = nn.Sequential(nn.Dropout(feature_dropout), nn.Linear(features, num_classes))

    def backbone_spec(self) -> tuple[str, dict[str, Any]]:
        """``(backbone name, backbone_kwargs)`` that rebuild this network, vocabulary size included."""
        return f"text_{self.encoder_kind}", dict(self.arguments)

    # ------------------------------------------------------------------ data
    def prepare_for_data(self, data: Any) -> None:
        """Take the word frequencies of a text datamodule (called by the method before training)."""
        counts = getattr(data, "token_counts", None)
        if counts is None:
            raise ValueError(f"A text backbone needs token ids from a text datamodule (e.g. ssl_kit.datamodules.TextDataModule); "
                             f"{type(data).__name__} gives none.")
        if len(counts) > len(self.token_counts):
            raise ValueError(f"The data's vocabulary has {len(counts)} entries but the backbone only "
                             f"{len(self.token_counts)} embedding rows; set backbone_kwargs.vocab_size >= {len(counts)} "
                             "or lower the datamodule's max_vocab_size.")
        self.token_counts.zero_()
        self.token_counts[: len(counts)] = counts.to(self.token_counts)
        word_vectors = getattr(data, "word_vectors", None)
        vectors = word_vectors(self.embedding.embedding_dim) if callable(word_vectors) else None
        if vectors is not None:
            self.load_word_vectors(vectors)

    @torch.no_grad()
    def load_word_vectors(self, vectors: torch.Tensor) -> None:
        """Start the embedding table from pre-trained vectors ``(vocab, embed_dim)`` (rows beyond keep
        their initialisation, padding stays 0); :meth:`embed` normalises them (Sec. 2 of the paper)."""
        if vectors.dim() != 2 or vectors.shape[1] != self.embedding.embedding_dim or len(vectors) > self.embedding.num_embeddings:
            raise ValueError(f"Word vectors of shape {tuple(vectors.shape)} do not fit an embedding table of "
                             f"{tuple(self.embedding.weight.shape)}.")
        self.embedding.weight[: len(vectors)] = vectors.to(self.embedding.weight)
        self.embedding.weight[PAD_ID] = 0.0

    # ------------------------------------------------------------------ forward
    @staticmethod
    def padding_mask(tokens: torch.Tensor) -> torch.Tensor:
        """``True`` at real tokens, ``False`` at padding, ``(batch, length)``."""
        return tokens != PAD_ID

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Normalised word embeddings ``(batch, length, embed_dim)``, zero at padding."""
        e = frequency_normalized(self.embedding(tokens), self.embedding.weight, self.token_counts)
        return self.embed_dropout(e) * self.padding_mask(tokens).unsqueeze(-1)

    def classify_embedded(self, e: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits from (possibly perturbed) embeddings; positions where ``mask`` is False are ignored."""
        e = e * mask.unsqueeze(-1).to(e.dtype)
        if self.encoder_kind == "bilstm":
            lengths = mask.sum(dim=1).clamp_min(1).cpu()
            packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
            _, (h_n, _) = self.encoder(packed)  # h_n: (2, batch, hidden), final states of both directions
            features = torch.cat([h_n[0], h_n[1]], dim=1)
        elif self.encoder_kind == "mean":
            counts = mask.sum(dim=1, keepdim=True).clamp_min(1).to(e.dtype)
            features = self.encoder(e.sum(dim=1) / counts)
        else:
            h = torch.relu(self.encoder(e.transpose(1, 2))).transpose(1, 2)
            features = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)
        return self.head(features)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits for token ids ``(batch, length)`` (0 = padding)."""
        return self.classify_embedded(self.embed(tokens), self.padding_mask(tokens))


#: Backbone names that take token ids, and the settings ``backbone: auto`` builds for text: the
#: averaging encoder with 64-dim embeddings and 64 ReLU units (the shipped text configs' network).
TEXT_BACKBONES = ("text_bilstm", "text_cnn", "text_mean")
AUTO_TEXT_BACKBONE = ("text_mean", {"embed_dim": 64, "hidden": 64, "dropout": 0.5})


def text_backbone_for(name: str, input_shape: Any, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The backbone name and arguments for token-id inputs (a :class:`~ssl_kit.text.shape.TokenShape`).

    ``auto`` becomes :data:`AUTO_TEXT_BACKBONE`; a text backbone gets ``vocab_size`` from the data
    unless given (and refuses one smaller than the data's vocabulary); a built-in network for dense
    inputs is refused, naming the fix. Other (user-registered) names pass through unchanged.
    """
    vocab = int(input_shape.vocab_size)
    if name == "auto":
        name, chosen = AUTO_TEXT_BACKBONE
        kwargs = {**chosen, **kwargs}
    if name in TEXT_BACKBONES:
        given = kwargs.get("vocab_size")
        if given is not None and int(given) < vocab:
            raise ValueError(f"backbone_kwargs.vocab_size={given} is smaller than the data's vocabulary of {vocab} "
                             "words; leave vocab_size out (it is read from the data) or lower the datamodule's max_vocab_size.")
        return name, {**kwargs, "vocab_size": vocab if given is None else int(given)}
    if name in DENSE_BACKBONES:
        raise ValueError(f"backbone {name!r} takes dense inputs, but the data gives token ids (text); use backbone: auto "
                         f"or one of {', '.join(TEXT_BACKBONES)}.")
    return name, kwargs


#: Built-in backbones that take pixels or feature vectors, never token ids.
DENSE_BACKBONES = ("mlp", "conv_small", "conv_large", "small_cnn", "gan_mlp", "gan_conv", "ladder_mlp",
                   "ladder_conv", "wrn28_2")


def text_bilstm(input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> TextClassifier:
    """:class:`TextClassifier` with a bidirectional LSTM encoder."""
    return TextClassifier(input_shape, num_classes, encoder="bilstm", **kwargs)


def text_cnn(input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> TextClassifier:
    """:class:`TextClassifier` with a convolution + max-pool encoder."""
    return TextClassifier(input_shape, num_classes, encoder="cnn", **kwargs)


def text_mean(input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> TextClassifier:
    """:class:`TextClassifier` averaging the embeddings (a deep averaging network)."""
    return TextClassifier(input_shape, num_classes, encoder="mean", **kwargs)


def record_text_backbone(checkpoint: dict[str, Any], classifier: nn.Module) -> None:
    """Write the text network a model built (``backbone: auto`` resolved, the data's vocabulary size)
    into a checkpoint's hyperparameters, so it reloads without the datamodule; ``input_shape`` is
    stored as a plain list. No-op for other networks."""
    hparams = checkpoint.get("hyper_parameters")
    if not isinstance(classifier, TextClassifier) or not isinstance(hparams, dict):
        return
    if hparams.get("backbone", "auto") in ("auto", *TEXT_BACKBONES):
        hparams["backbone"], spec = classifier.backbone_spec()
        hparams["backbone_kwargs"] = {**(hparams.get("backbone_kwargs") or {}), **spec}
    if "input_shape" in hparams:
        hparams["input_shape"] = [int(v) for v in hparams["input_shape"]]
