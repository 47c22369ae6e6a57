"""Text views for the consistency methods: word dropout and random token replacement.

FixMatch, the Π-model and Mean Teacher compare predictions on two views of an unlabeled example;
for images the second view is a crop / RandAugment, for token ids it is the same text with some
words dropped (the remaining words close up) and some replaced by random vocabulary words, the
"word dropout" of Iyyer et al. 2015 and the token replacement of Xie et al. 2020 (UDA, arXiv
1904.12848, Sec. 3.2, there TF-IDF-guided; here uniform). Padding (id 0) stays padding, and every
text keeps at least one word.
"""

from __future__ import annotations

import torch

PAD_ID, FIRST_WORD_ID = 0, 2  # 1 is [UNK]: replacements draw real words


class TextView:
    """A batch transform of token ids ``(N, L)`` (0 = padding), picklable for loader workers.

    Args:
        vocab_size: vocabulary size; replacements are drawn uniformly from the words ``2 .. vocab_size - 1``.
        word_dropout: probability that a word is removed.
        replace: probability that a kept word is replaced by a random word.
    """

    def __init__(self, vocab_size: int, word_dropout: float = 0.1, replace: float = 0.1) -> None:
        if not (0.0 <= word_dropout < 1.0 and 0.0 <= replace <= 1.0):
            raise ValueError(f"TextView needs word_dropout in [0, 1) and replace in [0, 1]; got {word_dropout}, {replace}.")
        if vocab_size <= FIRST_WORD_ID:
            raise ValueError(f"TextView needs a vocabulary with words beyond [PAD] and [UNK]; got vocab_size={vocab_size}.")
        self.vocab_size, self.word_dropout, self.replace = vocab_size, word_dropout, replace

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        real = tokens != PAD_ID
        keep = real & (torch.rand(tokens.shape) >= self.word_dropout)
        first = real.long().argmax(dim=1)  # texts left empty keep their first word
        empty = ~keep.any(dim=1) & real.any(dim=1)
        keep[empty.nonzero(as_tuple=True)[0], first[empty]] = True
        out = torch.where(keep, tokens, torch.zeros_like(tokens))
        swap = keep & (torch.rand(tokens.shape) < self.replace)
        random_words = torch.randint(FIRST_WORD_ID, self.vocab_size, tokens.shape, dtype=tokens.dtype)
        out = torch.where(swap, random_words, out)
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # kept words first, in order
        return out.gather(1, order)

    def __repr__(self) -> str:
        return f"TextView(word_dropout={self.word_dropout}, replace={self.replace})"


#: The views a datamodule gives for ``strong_view: weak`` / ``strong`` (``strong_kwargs`` override).
VIEW_SETTINGS = {"weak": {"word_dropout": 0.1, "replace": 0.0}, "strong": {"word_dropout": 0.1, "replace": 0.1}}


def trim_batch(*parts: torch.Tensor | None) -> list[torch.Tensor | None]:
    """Drop the padding columns beyond the longest text of all ``parts`` together (same width,
    so methods can concatenate the labeled batch and the unlabeled views)."""
    longest = max((int((p != PAD_ID).sum(dim=1).max()) for p in parts if p is not None and len(p)), default=1)
    return [None if p is None else p[:, : max(longest, 1)] for p in parts]
