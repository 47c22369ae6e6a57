"""Checks of what a datamodule is given: its settings, its tensors and a split read from a file.

Each check raises at once with a message that names the fix, before any training starts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ssl_kit.datamodules.splits import NumLabeled, SplitIndices

Tensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def check_batch_settings(strong_view: str | None, steps_per_epoch: int | None, **batch_sizes: int | None) -> None:
    """Refuse batch settings no data can meet (``batch_sizes``: name -> size; ``None`` is a default)."""
    if strong_view not in (None, "weak", "strong"):
        raise ValueError(f"strong_view must be 'weak', 'strong' or null, got {strong_view!r}.")
    for name, value in batch_sizes.items():
        if value is not None and value < 1:  # subclasses may take None (ImageFolder: every labeled image)
            raise ValueError(f"{name} must be positive, got {value}.")
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be positive or null (one pass over the unlabeled pool), "
                         f"got {steps_per_epoch}.")


def check_inputs(name: str, x: torch.Tensor, input_shape: Sequence[int]) -> torch.Tensor:
    """``x`` itself, refused if it holds NaN / inf or its examples are not of ``input_shape``."""
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"The {name} inputs contain NaN or inf values.")
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(
            f"The {name} inputs have shape {tuple(x.shape[1:])} per example, but input_shape is {tuple(input_shape)}."
        )
    return x


def check_tensors(tensors: Tensors, num_classes: int, input_shape: Sequence[int]) -> Tensors:
    """``(x_train, y_train, x_test, y_test)`` checked, with the labels as ``long``."""
    x_train, y_train, x_test, y_test = tensors
    for name, x, y in (("training", x_train, y_train), ("test", x_test, y_test)):
        if y.dim() != 1:
            raise ValueError(f"The {name} labels must be a 1-D tensor of class indices, got shape {tuple(y.shape)}.")
        if len(x) != len(y):
            raise ValueError(f"The {name} set has {len(x)} inputs but {len(y)} labels.")
        if y.is_floating_point() or y.dtype == torch.bool:
            raise TypeError(f"The {name} labels must be integer class indices, got dtype {y.dtype}.")
        if len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"The {name} labels must lie in [0, {num_classes}); found {int(y.min())}..{int(y.max())}.")
        check_inputs(name, x, input_shape)
    return x_train, y_train.long(), x_test, y_test.long()


def check_extra_unlabeled(extra: torch.Tensor, x_train: torch.Tensor, input_shape: Sequence[int]) -> torch.Tensor:
    """Inputs without labels, refused unless they match the training inputs' dtype and shape."""
    if extra.dtype != x_train.dtype:  # e.g. uint8 pixels beside [0, 1] floats in one batch
        raise TypeError(f"The extra unlabeled inputs have dtype {extra.dtype} but the training inputs "
                        f"{x_train.dtype}; convert them to the same dtype and scale.")
    return check_inputs("extra unlabeled", extra, input_shape)


def check_loaded_split(split: SplitIndices, num_train: int, split_file: str, num_labeled: NumLabeled | None,
                       num_val: int) -> SplitIndices:
    """A split read from ``split_file``, refused if it does not fit this data and these settings."""
    for name, indices in (("labeled", split.labeled), ("unlabeled", split.unlabeled), ("val", split.val)):
        if indices and (min(indices) < 0 or max(indices) >= num_train):
            raise ValueError(
                f"split_file {split_file}: {name} indices run from {min(indices)} to {max(indices)}, "
                f"outside this training set of {num_train} examples (a split of another data set?)."
            )
    for name, wanted, found in (("num_labeled", num_labeled, len(split.labeled)), ("num_val", num_val, len(split.val))):
        if wanted not in (None, "all") and wanted != found:  # None: the subclass takes what the data gives
            raise ValueError(
                f"split_file {split_file} holds {found} {name[4:]} examples but {name}={wanted}; "
                f"set {name}: {found} to reuse the file, or point split_file elsewhere to draw a new split."
            )
    return split
