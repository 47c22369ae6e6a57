"""Class-balanced labeled / validation splits that can be saved and reloaded."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch


@dataclass
class SplitIndices:
    """Indices into the training set that define one semi-supervised protocol.

    Attributes:
        labeled: indices whose labels the model may see.
        unlabeled: indices of the unlabeled pool (labels dropped); in the papers this is the
            whole training set, the labeled examples included.
        val: indices held out of both for validation (may be empty).
    """

    labeled: list[int]
    unlabeled: list[int]
    val: list[int] = field(default_factory=list)

    def save(self, path: str | Path) -> None:
        """Write the split as JSON, so a run can be reproduced exactly.

        The file appears whole or not at all (written beside it, then renamed), so a process
        reading it meanwhile never sees half a split.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(asdict(self)))
        os.replace(partial, path)

    @classmethod
    def load(cls, path: str | Path) -> SplitIndices:
        """Read a split written by :meth:`save`."""
        data = json.loads(Path(path).read_text())
        return cls(labeled=data["labeled"], unlabeled=data["unlabeled"], val=data.get("val", []))


def _balanced_pick(
    labels: np.ndarray, candidates: np.ndarray, count: int, num_classes: int, rng: np.random.Generator, what: str
) -> np.ndarray:
    """Pick ``count`` of ``candidates`` with exactly ``count / num_classes`` per class."""
    if count % num_classes:
        raise ValueError(
            f"{what}={count} cannot be split evenly over {num_classes} classes; "
            f"use a multiple of {num_classes} (e.g. {max(num_classes, count - count % num_classes)})."
        )
    per_class = count // num_classes
    picked = []
    for c in range(num_classes):
        pool = candidates[labels[candidates] == c]
        if len(pool) < per_class:
            raise ValueError(
                f"{what}={count} needs {per_class} examples of class {c}, but only {len(pool)} are "
                f"available; lower {what}."
            )
        picked.append(rng.choice(pool, size=per_class, replace=False))
    return np.sort(np.concatenate(picked))


def class_balanced_split(
    labels: torch.Tensor | np.ndarray,
    num_labeled: int,
    num_classes: int,
    seed: int = 0,
    num_val: int = 0,
) -> SplitIndices:
    """Draw a class-balanced labeled set and an optional class-balanced validation set.

    The validation examples are drawn first and removed from both the labeled and the unlabeled
    pools; the unlabeled pool is every remaining training example (the labeled ones included), as
    in the VAT, Improved GAN and Ladder papers.

    Args:
        labels: training labels, integers in ``[0, num_classes)``.
        num_labeled: how many labeled examples; a multiple of ``num_classes``.
        num_classes: number of classes.
        seed: seed of the draw (the same seed gives the same split).
        num_val: how many validation examples to hold out (0 for none).

    Raises:
        ValueError: with the problem and its fix, for impossible requests.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if num_val < 0:
        raise ValueError(f"num_val must be 0 (no validation split) or positive, got {num_val}.")
    if num_labeled < num_classes:
        raise ValueError(
            f"num_labeled={num_labeled} is fewer than the {num_classes} classes; every class needs "
            f"at least one labeled example."
        )
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes}); found values from {labels.min()} to {labels.max()}."
        )
    if num_labeled + num_val > n:
        raise ValueError(
            f"num_labeled={num_labeled} + num_val={num_val} exceeds the {n} training examples."
        )
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    everything = np.arange(n)
    val = _balanced_pick(labels, everything, num_val, num_classes, rng, "num_val") if num_val else np.array([], int)
    rest = np.setdiff1d(everything, val)
    labeled = _balanced_pick(labels, rest, num_labeled, num_classes, rng, "num_labeled")
    return SplitIndices(labeled=labeled.tolist(), unlabeled=rest.tolist(), val=val.tolist())
