"""The inputs users have: NumPy arrays, labels as names or arbitrary integers, datasets of dicts.

Every datamodule entry point that takes tensors (``from_tensors``, ``from_datasets``,
``TensorDataModule``) passes its inputs and labels through this module, so:

* inputs may be ``torch.Tensor``, ``numpy.ndarray`` or nested lists (float64 becomes float32);
* labels may be class indices ``0..K-1``, any other integers (``1..10``, ``{3, 7, 42}``), integral
  floats (``1.0`` from a CSV file) or names (``"cat"``, ``"dog"``); :func:`encode_labels` maps them
  to ``0..K-1`` and keeps the names, which predictions and the confusion matrix use;
* a ``Dataset`` item may be an ``(x, y)`` tuple or a dict with one input key of
  :data:`INPUT_KEYS` and one label key of :data:`LABEL_KEYS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

#: What the tensor entry points accept: a tensor, a NumPy array or nested lists.
ArrayLike = torch.Tensor | np.ndarray | Sequence[Any]

#: Keys read as the input of a dict item, in this order of preference.
INPUT_KEYS = ("x", "input", "inputs", "image", "img", "features", "data")
#: Keys read as the label of a dict item, in this order of preference.
LABEL_KEYS = ("y", "label", "labels", "target", "targets", "class")


def as_input_tensor(x: Any, name: str = "inputs") -> torch.Tensor:
    """``x`` (tensor, NumPy array or nested list) as a tensor; float64 becomes float32."""
    if isinstance(x, torch.Tensor):
        tensor = x
    else:
        array = np.asarray(x)
        if array.dtype == object or array.dtype.kind in "US":
            raise TypeError(f"The {name} must be numbers, got an array of dtype {array.dtype}.")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype == torch.float64:
        tensor = tensor.float()
    if tensor.dtype == torch.bool:
        tensor = tensor.to(torch.uint8)
    return tensor


def _label_values(y: Any) -> np.ndarray:
    """Labels as a 1-D NumPy array (numbers, or strings for names); a column ``(N, 1)`` is flattened,
    any other shape (one-hot rows, say) refused rather than read as ``N * K`` labels."""
    shape = tuple(y.shape) if hasattr(y, "shape") else np.shape(y)
    if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise ValueError(f"Labels must be a 1-D array of class indices or names (one per input), got shape {shape}; "
                         "for one-hot rows pass their argmax.")
    if isinstance(y, torch.Tensor):
        return y.detach().cpu().reshape(-1).numpy()
    array = np.asarray(y)
    if array.dtype == object:  # e.g. a list mixing str and numbers, or pandas' object columns
        array = np.asarray([str(v) for v in array.reshape(-1)])
    return array.reshape(-1)


def _integral(values: np.ndarray, name: str) -> np.ndarray:
    if values.dtype.kind == "b":
        return values.astype(np.int64)
    if values.dtype.kind == "f":
        if not np.isfinite(values).all() or not np.equal(np.round(values), values).all():
            raise TypeError(f"The {name} labels must be class indices, integers or names; got non-integral "
                            f"floats such as {values[~np.equal(np.round(values), values)][:3].tolist()}.")
        return values.astype(np.int64)
    return values.astype(np.int64)


def encode_labels(
    *labels: Any, num_classes: int | None = None, class_names: Sequence[str] | None = None,
    names: Sequence[str] = ("training", "test"),
) -> tuple[list[torch.Tensor], list[str]]:
    """Map every label array to class indices ``0..K-1`` with one shared class list.

    Rules, applied to all arrays together (a class only in the test set still gets its index):

    * names (strings): ``class_names`` if given (each label must be one of them), else the sorted
      distinct names;
    * integers with ``class_names`` or ``num_classes`` given: already indices (checked in range);
    * integers ``0..K-1`` (every value from 0 to the largest present): kept, named ``"0".."K-1"``;
    * other integers (``1..10``, ``{3, 7, 42}``): their sorted distinct values become ``0..K-1``,
      named by the value (``"1".."10"``), never silently an extra empty class.

    Args:
        *labels: label arrays (tensor, NumPy array or list).
        num_classes: number of classes, when labels are already indices.
        class_names: names of the classes, in index order.
        names: what each array is, for error messages.

    Returns:
        The index tensors (``torch.long``, one per array) and the class names.
    """
    values = [_label_values(y) for y in labels]
    texts = [v.dtype.kind in "USO" for v in values]
    names = tuple(names) + tuple(f"array {i}" for i in range(len(names), len(values)))
    if any(texts):
        if not all(texts) and any(len(v) for v, t in zip(values, texts) if not t):
            raise TypeError("Labels must all be names or all be numbers, not a mix across the training and test sets.")
        vocabulary = list(class_names) if class_names is not None else sorted({str(s) for v in values for s in v})
        index = {name: i for i, name in enumerate(vocabulary)}
        out = []
        for v, name in zip(values, names):
            unknown = sorted({str(s) for s in v} - index.keys())
            if unknown:
                raise ValueError(f"The {name} labels {unknown[:5]} are not among the class names {vocabulary}.")
            out.append(torch.tensor([index[str(s)] for s in v], dtype=torch.long))
        return out, vocabulary
    ints = [_integral(v, name) for v, name in zip(values, names)]
    present = np.unique(np.concatenate(ints)) if any(len(v) for v in ints) else np.array([], np.int64)
    known = len(class_names) if class_names is not None else num_classes
    if known is not None or (len(present) and present[0] == 0 and present[-1] == len(present) - 1):
        count = int(known if known is not None else len(present))
        if class_names is not None and num_classes is not None and num_classes != len(class_names):
            raise ValueError(f"num_classes={num_classes} but {len(class_names)} class_names were given.")
        for v, name in zip(ints, names):
            if len(v) and (v.min() < 0 or v.max() >= count):
                raise ValueError(f"The {name} labels must lie in [0, {count}) (class indices); found "
                                 f"{int(v.min())}..{int(v.max())}. Leave num_classes unset to map arbitrary "
                                 "integer labels to classes.")
        return [torch.from_numpy(v) for v in ints], list(class_names or [str(k) for k in range(count)])
    lookup = {int(value): i for i, value in enumerate(present)}
    return ([torch.tensor([lookup[int(s)] for s in v], dtype=torch.long) for v in ints],
            [str(int(value)) for value in present])


def _split_item(item: Any) -> tuple[Any, Any]:
    """``(x, y)`` of one collated batch: a tuple / list of two, or a dict with documented keys."""
    if isinstance(item, Mapping):
        x_key = next((k for k in INPUT_KEYS if k in item), None)
        y_key = next((k for k in LABEL_KEYS if k in item), None)
        if x_key is None or y_key is None:
            raise KeyError(f"A dataset of dicts needs an input key (one of {list(INPUT_KEYS)}) and a label key "
                           f"(one of {list(LABEL_KEYS)}); its items have keys {sorted(item)}.")
        return item[x_key], item[y_key]
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return item[0], item[1]
    raise TypeError(f"A dataset item must be an (x, y) pair or a dict with keys such as 'image' and 'label'; "
                    f"got {type(item).__name__}.")


def read_dataset(dataset: Dataset, batch_size: int = 1024) -> tuple[torch.Tensor, np.ndarray | torch.Tensor]:
    """Read a whole dataset of ``(x, y)`` pairs or dicts into inputs and raw labels (names kept)."""
    xs, ys = [], []
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        x, y = _split_item(batch)
        xs.append(as_input_tensor(x))
        ys.append(np.asarray([str(s) for s in y]) if isinstance(y, (list, tuple)) else _label_values(y))
    if not xs:
        raise ValueError("The dataset is empty.")
    return torch.cat(xs), np.concatenate(ys)
