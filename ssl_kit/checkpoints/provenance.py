"""What a checkpoint was trained on, and one clear refusal when a model or data disagree with it.

Every checkpoint written by an :class:`~ssl_kit.methods.base.SSLModule` carries
``checkpoint["ssl_kit"]`` (:func:`training_record`): the method, the input shape, the number and
names of the classes, the preprocessing (:class:`~ssl_kit.datamodules.preprocessing.Preprocessing`,
fitted whitening included) and the split's settings. Testing, resuming or predicting with a
model or data that disagree stops with :class:`CheckpointMismatchError`, whose one message names
both sides, e.g. ``"This checkpoint was trained as VAT on (1, 28, 28) inputs, 10 classes; this
config builds LadderNetwork"``, instead of a silent switch or a state-dict size dump.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ssl_kit.datamodules.preprocessing import Preprocessing

#: Key of the record in a checkpoint.
RECORD_KEY = "ssl_kit"


class CheckpointMismatchError(ValueError):
    """A model, config or data disagrees with what the checkpoint was trained on."""


def training_record(model: Any, datamodule: Any | None = None) -> dict[str, Any]:
    """The record saved in a checkpoint: method, shapes, classes, preprocessing and split settings.

    Args:
        model: the :class:`~ssl_kit.methods.base.SSLModule` being saved.
        datamodule: the datamodule it trains on, if any (else the model's restored record is kept).
    """
    previous = dict(getattr(model, "training_record", None) or {})
    record: dict[str, Any] = {
        "method": type(model).__qualname__,
        "input_shape": list(model.input_shape),
        "num_classes": int(model.num_classes),
        "class_names": previous.get("class_names") or [str(k) for k in range(model.num_classes)],
        "preprocessing": previous.get("preprocessing") or {"kind": "none"},
        "datamodule": previous.get("datamodule"),
        "split": previous.get("split"),
    }
    if datamodule is not None:
        preprocessing = getattr(datamodule, "preprocessing", None)
        record.update(
            class_names=list(getattr(datamodule, "class_names", record["class_names"])),
            preprocessing=preprocessing().to_dict() if callable(preprocessing) else {"kind": "none"},
            datamodule=type(datamodule).__qualname__,
            split={name: getattr(datamodule, name, None) for name in ("num_labeled", "num_val", "split_seed")},
        )
    return record


def read_record(path: str | Path) -> dict[str, Any]:
    """The record of a checkpoint file (``{}`` for checkpoints written before records existed)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    return record_of(checkpoint)


def record_of(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The record of a loaded checkpoint; older ones name only the method (``ssl_kit_method``)."""
    record = checkpoint.get(RECORD_KEY)
    if record is None and "ssl_kit_method" in checkpoint:
        record = {"method": checkpoint["ssl_kit_method"]}
    return dict(record or {})


def _classes(names: Sequence[str] | None, count: int | None, with_names: bool = False) -> str:
    if count is None:
        return "? classes"
    default = names is None or (list(names) == [str(k) for k in range(count)] and not with_names)
    shown = "" if default else " (" + ", ".join(list(names)[:6]) + (", ..." if len(names) > 6 else "") + ")"
    return f"{count} classes{shown}"


def describe(record: dict[str, Any], with_names: bool = False) -> str:
    """``"VAT on (1, 28, 28) inputs, 10 classes"`` (+ class names and preprocessing when they say more)."""
    shape = record.get("input_shape")
    text = f"{record.get('method', '?')} on {tuple(shape) if shape is not None else '?'} inputs, "
    text += _classes(record.get("class_names"), record.get("num_classes"), with_names)
    preprocessing = record.get("preprocessing")
    if preprocessing and preprocessing.get("kind", "none") != "none":
        text += f", {Preprocessing.from_dict(preprocessing).describe()}"
    return text


def _sides(record: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """The fields of ``other`` (those it sets) that differ from the record."""
    differ = []
    for key in ("method", "input_shape", "num_classes", "class_names", "preprocessing"):
        if other.get(key) is None or record.get(key) is None:
            continue
        mine, theirs = record[key], other[key]
        if key == "preprocessing":
            mine, theirs = Preprocessing.from_dict(mine).summary(), Preprocessing.from_dict(theirs).summary()
        if key in ("input_shape", "class_names"):
            mine, theirs = list(mine), list(theirs)
        if mine != theirs:
            differ.append(key)
    return differ


def check_compatible(record: dict[str, Any], other: dict[str, Any], what: str) -> None:
    """Raise :class:`CheckpointMismatchError` if ``other`` (a model or data description) disagrees.

    Args:
        record: the checkpoint's record (:func:`training_record`).
        other: the same keys for the model / data at hand; missing or ``None`` keys are not compared.
        what: how to name ``other`` in the message, e.g. ``"this config builds"``.
    """
    differ = _sides(record, other)
    if not record or not differ:
        return
    theirs = []
    if "method" in differ:
        theirs.append(str(other["method"]))
    if "input_shape" in differ:
        theirs.append(f"{tuple(other['input_shape'])} inputs")
    if "num_classes" in differ or "class_names" in differ:
        theirs.append(_classes(other.get("class_names"), other.get("num_classes"), "class_names" in differ))
    if "preprocessing" in differ:
        theirs.append(Preprocessing.from_dict(other["preprocessing"]).describe())
    raise CheckpointMismatchError(
        f"This checkpoint was trained as {describe(record, 'class_names' in differ)}; {what} {', '.join(theirs)}. "
        "Use the config and data it was trained with (the run folder's config.yaml), or train a new model for this setup."
    )


def data_description(datamodule: Any) -> dict[str, Any]:
    """The record's data fields for a datamodule (shape, classes, preprocessing)."""
    preprocessing = getattr(datamodule, "preprocessing", None)
    num_classes = getattr(datamodule, "num_classes", None)
    return {
        "input_shape": getattr(datamodule, "input_shape", None),
        "num_classes": num_classes,
        "class_names": getattr(datamodule, "class_names", None) if num_classes is not None else None,
        "preprocessing": preprocessing().to_dict() if callable(preprocessing) else None,
    }
