"""``TokenShape``: the ``input_shape`` of token-id inputs, carrying the vocabulary size.

A method built as ``VAT(num_classes=dm.num_classes, input_shape=dm.input_shape)`` sees only these
two values; a :class:`TokenShape` is a plain ``(max_length,)`` tuple (it compares, indexes and
prints as one) that also says ``input_kind == "tokens"`` and ``vocab_size``, so ``backbone: auto``
can build a text network with enough embedding rows, and methods that cannot take tokens refuse
at construction. It pickles through :func:`token_shape` (registered as a safe global, so
checkpoints still load with ``weights_only=True``) and writes to YAML as a list.
"""

from __future__ import annotations

from typing import Any

import torch


class TokenShape(tuple):
    """``(max_length,)`` of token ids (0 = padding) with the vocabulary size of the data.

    Args:
        max_length: tokens per text.
        vocab_size: vocabulary entries (``[PAD]`` and ``[UNK]`` included).
    """

    input_kind = "tokens"

    def __new__(cls, max_length: int, vocab_size: int) -> TokenShape:
        if int(max_length) < 1 or int(vocab_size) < 3:
            raise ValueError(f"TokenShape needs max_length >= 1 and vocab_size >= 3; got {max_length}, {vocab_size}.")
        shape = super().__new__(cls, (int(max_length),))
        shape.vocab_size = int(vocab_size)
        return shape

    def __reduce__(self) -> tuple[Any, tuple[int, int]]:
        return token_shape, (self[0], self.vocab_size)

    def __repr__(self) -> str:
        return f"TokenShape(max_length={self[0]}, vocab_size={self.vocab_size})"


def token_shape(max_length: int, vocab_size: int) -> TokenShape:
    """Rebuild a :class:`TokenShape` (the pickling constructor)."""
    return TokenShape(max_length, vocab_size)


def is_token_shape(shape: Any) -> bool:
    """Whether ``shape`` describes token-id inputs (a :class:`TokenShape` or anything with ``input_kind == "tokens"``)."""
    return getattr(shape, "input_kind", None) == "tokens" and hasattr(shape, "vocab_size")


torch.serialization.add_safe_globals([token_shape, TokenShape])

try:  # Lightning writes hparams.yaml with PyYAML's default dumper
    import yaml

    yaml.add_representer(TokenShape, lambda dumper, shape: dumper.represent_list(list(shape)))
except ImportError:  # pragma: no cover - PyYAML comes with Lightning
    pass


#: Methods that take token ids, named in refusals.
TOKEN_METHODS = "Supervised, VAT (adv_weight for FGM), PseudoLabel, MeanTeacher, PiModel or FixMatch"


def refuse_token_inputs(model: Any, input_shape: Any) -> None:
    """Raise at construction when ``input_shape`` is token ids and ``model.refuses_tokens`` says why it cannot take them."""
    reason = getattr(model, "refuses_tokens", "")
    if reason and is_token_shape(input_shape):
        raise ValueError(f"{type(model).__name__} cannot train on text (token ids): {reason} Use {TOKEN_METHODS} "
                         "on this datamodule (their backbone: auto builds a text network).")


def token_shape_of(input_shape: Any, hparams: Any) -> Any:
    """``input_shape``, or the :class:`TokenShape` of the same length among a model's ``hparams``.

    LightningCLI links the datamodule's ``input_shape`` into the model's arguments, and jsonargparse
    hands the constructor a plain list (``Sequence[int]``) while the model's hyperparameters keep
    the linked object: the vocabulary size is read back from there.
    """
    if is_token_shape(input_shape):
        return input_shape
    stored = hparams.get("input_shape") if hasattr(hparams, "get") else None
    if is_token_shape(stored) and tuple(stored) == tuple(input_shape):
        return stored
    return input_shape
