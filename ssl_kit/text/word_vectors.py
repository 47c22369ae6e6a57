"""Word vectors pre-trained on the unlabeled texts: skip-gram with negative sampling, in torch.

Mikolov et al. 2013 (arXiv 1310.4546): for each word ``w`` and a word ``c`` within ``window``
positions of it, maximise ``log s(u_c . v_w) + sum_k log s(-u_k . v_w)`` (eq. 4) over ``negatives``
words ``k`` drawn from the unigram distribution to the 3/4 power, with frequent words subsampled
(keep probability ``sqrt(t / f) + t / f``, the released code's form of eq. 5). The vectors ``v``
initialise a text backbone's embedding table before the (virtual) adversarial fine-tuning, the
cheap stand-in for the language-model pre-training of Miyato, Dai & Goodfellow 2017
(arXiv 1605.07725, Sec. 4). Trained vectors are cached by a hash of the corpus and the settings
under :func:`ssl_kit.utils.paths.cache_dir` (``word_vectors``), never next to the data.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ssl_kit.utils.paths import cache_dir

PAD_ID, UNK_ID = 0, 1
CACHE_VERSION = 3


@dataclass(frozen=True)
class SkipGramSettings:
    """Settings of :func:`train_skipgram` (all part of the cache key).

    Args:
        epochs: passes over the (subsampled) corpus, fewer on a large corpus (``max_words``).
        window: largest distance between a word and its context (each pair's window is drawn
            uniformly in ``1 .. window``, so near words count more).
        negatives: noise words per pair.
        subsample: the threshold ``t`` of frequent-word subsampling.
        batch_size: pairs per update.
        lr: initial SGD rate (word2vec's 0.025), decayed linearly.
        seed: seed of the pair order, subsampling and noise words.
        max_words: at most this many words (before subsampling) over all epochs; at least one epoch.
    """

    epochs: int = 10
    window: int = 5
    negatives: int = 5
    subsample: float = 1e-4
    batch_size: int = 1024
    lr: float = 0.025
    seed: int = 0
    max_words: int = 15_000_000


def context_pairs(tokens: torch.Tensor, window: int, keep_prob: torch.Tensor, g: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(centre, context)`` word pairs of padded texts ``(N, L)``: subsampled, within one text.

    Padding and ``[UNK]`` never enter a pair.
    """
    real = tokens > UNK_ID
    real &= torch.rand(tokens.shape, generator=g) < keep_prob[tokens]
    # Close up the dropped words so the window counts kept words, as word2vec does.
    order = torch.argsort((~real).to(torch.int8), dim=1, stable=True)
    kept = torch.where(real, tokens, torch.zeros_like(tokens)).gather(1, order)
    centres, contexts = [], []
    for d in range(1, window + 1):
        a, b = kept[:, :-d], kept[:, d:]
        ok = (a > UNK_ID) & (b > UNK_ID) & (torch.rand(a.shape, generator=g) < (window - d + 1) / window)
        centres += [a[ok], b[ok]]
        contexts += [b[ok], a[ok]]
    return torch.cat(centres), torch.cat(contexts)


#: Most updates of one embedding row summed within a batch (:func:`train_skipgram`).
MAX_SUMMED = 8


def summed_share(rows: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Per vocabulary row, the weight of each of its updates in a batch: 1, or ``MAX_SUMMED / count``."""
    return (MAX_SUMMED / torch.bincount(rows, minlength=vocab_size).clamp_min(1).float()).clamp(max=1.0)


def train_skipgram(tokens: torch.Tensor, vocab_size: int, dim: int, settings: SkipGramSettings = SkipGramSettings()
                   ) -> torch.Tensor:
    """Skip-gram vectors ``(vocab_size, dim)`` of the texts ``tokens`` (``(N, L)``, 0 = padding).

    Plain SGD on the pairs of a batch at once (word2vec's updates, summed; see :data:`MAX_SUMMED`),
    the rate decaying linearly to 0.01 % of ``lr`` as in the released
    code. Rows of words that never occur keep their small random initialisation; the padding row is 0.
    """
    g = torch.Generator().manual_seed(settings.seed)
    counts = torch.bincount(tokens.flatten(), minlength=vocab_size).double()
    counts[:2] = 0
    freq = counts / counts.sum().clamp_min(1)
    keep_prob = ((settings.subsample / freq).sqrt() + settings.subsample / freq).clamp(max=1.0).nan_to_num(0.0).float()
    noise = (counts ** 0.75).float()
    noise = noise / noise.sum().clamp_min(1e-12)
    words = torch.empty(vocab_size, dim).uniform_(-0.5 / dim, 0.5 / dim, generator=g)
    ctx = torch.zeros(vocab_size, dim)
    num_epochs = max(1, min(settings.epochs, settings.max_words // max(1, int((tokens > UNK_ID).sum()))))
    epochs = [context_pairs(tokens, settings.window, keep_prob, g) for _ in range(num_epochs)]
    total = sum(-(-len(c) // settings.batch_size) for c, _ in epochs)
    done = 0
    for centre, context in epochs:
        perm = torch.randperm(len(centre), generator=g)
        for start in range(0, len(perm), settings.batch_size):
            lr = settings.lr * max(1e-4, 1.0 - done / max(1, total))
            done += 1
            idx = perm[start: start + settings.batch_size]
            c, o = centre[idx], context[idx]
            neg = torch.multinomial(noise, len(idx) * settings.negatives, replacement=True, generator=g)
            v, u_pos, u_neg = words[c], ctx[o], ctx[neg].view(len(idx), settings.negatives, dim)
            g_pos = lr * (1.0 - torch.sigmoid((v * u_pos).sum(-1)))                   # d log s(x) / dx = 1 - s(x)
            g_neg = -lr * torch.sigmoid(torch.bmm(u_neg, v.unsqueeze(-1)).squeeze(-1))  # d log s(-x) / dx = -s(x)
            # A row's updates are summed, as word2vec's sequential ones, but a row met more than
            # MAX_SUMMED times in one batch (a frequent word, a small vocabulary) gets their mean
            # times MAX_SUMMED: summed updates computed at one point would overshoot and diverge.
            per_word = summed_share(c, vocab_size)[c].unsqueeze(-1)
            words.index_add_(0, c, per_word * (g_pos.unsqueeze(-1) * u_pos + (g_neg.unsqueeze(-1) * u_neg).sum(1)))
            ctx_rows = summed_share(torch.cat([o, neg]), vocab_size)
            ctx.index_add_(0, o, ctx_rows[o].unsqueeze(-1) * g_pos.unsqueeze(-1) * v)
            ctx.index_add_(0, neg, ctx_rows[neg].unsqueeze(-1) * (g_neg.unsqueeze(-1) * v.unsqueeze(1)).reshape(-1, dim))
    words[PAD_ID] = 0.0
    return words


def corpus_key(tokens: torch.Tensor, vocabulary: str, dim: int, settings: SkipGramSettings) -> str:
    """Content hash of the corpus (token ids and the vocabulary that maps them) and the settings."""
    h = hashlib.sha256()
    h.update(json.dumps({"version": CACHE_VERSION, "dim": dim, **asdict(settings)}, sort_keys=True).encode())
    h.update(vocabulary.encode())
    h.update(tokens.contiguous().to(torch.int32).numpy().tobytes())
    return h.hexdigest()[:32]


def cached_skipgram(tokens: torch.Tensor, vocab_size: int, dim: int, vocabulary: str,
                    settings: SkipGramSettings = SkipGramSettings()) -> tuple[torch.Tensor, float, Path, bool]:
    """:func:`train_skipgram`, read from (or written to) the cache.

    Returns:
        The vectors, the seconds spent (training or reading), the cache file, and whether it was a cache hit.
    """
    start = time.perf_counter()
    path = cache_dir("word_vectors") / f"skipgram_{corpus_key(tokens, vocabulary, dim, settings)}.pt"
    if path.is_file():
        vectors = torch.load(path, map_location="cpu", weights_only=True)
        if tuple(vectors.shape) == (vocab_size, dim):
            return vectors, time.perf_counter() - start, path, True
    vectors = train_skipgram(tokens, vocab_size, dim, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(vectors, tmp)
    os.replace(tmp, path)  # atomic: concurrent runs never read half a file
    return vectors, time.perf_counter() - start, path, False
