"""Labeled / validation splits (class-balanced or stratified) that can be saved and reloaded."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

#: ``num_labeled``: a count (0 for clustering, with no labels at all) or ``"all"`` (every training
#: example outside the validation split is labeled; the unlabeled pool is then the same data).
NumLabeled = int | Literal["all"]


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


def _stratified_pick(
    labels: np.ndarray, candidates: np.ndarray, count: int, num_classes: int, rng: np.random.Generator, what: str
) -> np.ndarray:
    """Pick ``count`` of ``candidates`` keeping the classes' proportions among them.

    Each class gets ``count * n_c / n`` examples rounded by largest remainder, so the counts sum
    to ``count`` exactly; a class present among the candidates must get at least one.
    """
    present = np.bincount(labels[candidates], minlength=num_classes)
    quota = count * present / len(candidates)
    per_class = np.floor(quota).astype(np.int64)
    per_class[np.argsort(per_class - quota, kind="stable")[: count - per_class.sum()]] += 1
    starved = np.flatnonzero((present > 0) & (per_class == 0))
    if len(starved):
        c = int(starved[0])
        needed = -(-len(candidates) // int(present[present > 0].min()))
        raise ValueError(
            f"{what}={count} in natural proportions gives class {c} ({present[c]} of {len(candidates)} examples) "
            f"no example; use {what} >= {needed}, or the class-balanced split (stratified: false)."
        )
    picked = [rng.choice(candidates[labels[candidates] == c], size=k, replace=False) for c, k in enumerate(per_class) if k]
    return np.sort(np.concatenate(picked))


def check_num_labeled(num_labeled: NumLabeled | None) -> None:
    """Refuse a ``num_labeled`` that is neither a count >= 0 nor ``"all"`` (``None``: the subclass decides)."""
    if num_labeled is None or num_labeled == "all":
        return
    if isinstance(num_labeled, bool) or not isinstance(num_labeled, int) or num_labeled < 0:
        raise ValueError(
            f"num_labeled must be a count >= 0 (0: no labels, for clustering) or 'all' (every training "
            f"example labeled), got {num_labeled!r}."
        )


def labeled_split(
    labels: torch.Tensor | np.ndarray,
    num_labeled: NumLabeled,
    num_classes: int,
    seed: int = 0,
    num_val: int = 0,
    stratified: bool = False,
) -> SplitIndices:
    """Draw a labeled set and an optional validation set, class-balanced or in natural proportions.

    The validation examples are drawn first and removed from both the labeled and the unlabeled
    pools; the unlabeled pool is every remaining training example (the labeled ones included), as
    in the VAT, Improved GAN and Ladder papers.

    Args:
        labels: training labels, integers in ``[0, num_classes)``.
        num_labeled: how many labeled examples: ``"all"`` labels every example outside the
            validation split (the unlabeled pool is then the same data: VAT becomes a supervised
            regulariser); ``0`` labels none (clustering); otherwise at least ``num_classes``, and
            a multiple of it unless ``stratified``.
        num_classes: number of classes.
        seed: seed of the draw (the same seed gives the same split).
        num_val: how many validation examples to hold out (0 for none).
        stratified: keep the classes' natural proportions (largest-remainder rounding) in the
            labeled and validation sets instead of exactly ``count / num_classes`` per class.

    Raises:
        ValueError: with the problem and its fix, for impossible requests.
    """
    check_num_labeled(num_labeled)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if num_val < 0:
        raise ValueError(f"num_val must be 0 (no validation split) or positive, got {num_val}.")
    if num_labeled != "all" and 0 < num_labeled < num_classes:
        raise ValueError(
            f"num_labeled={num_labeled} is fewer than the {num_classes} classes; every class needs "
            f"at least one labeled example (or use 0 for no labels at all)."
        )
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes}); found values from {labels.min()} to {labels.max()}."
        )
    wanted = 0 if num_labeled == "all" else num_labeled
    if wanted + num_val > n or (num_labeled == "all" and num_val >= n):
        raise ValueError(
            f"num_labeled={num_labeled} + num_val={num_val} exceeds the {n} training examples."
        )
    pick = _stratified_pick if stratified else _balanced_pick
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    everything = np.arange(n)
    val = pick(labels, everything, num_val, num_classes, rng, "num_val") if num_val else np.array([], int)
    rest = np.setdiff1d(everything, val)
    if num_labeled == "all":
        labeled = rest
    elif num_labeled == 0:
        labeled = np.array([], int)
    else:
        labeled = pick(labels, rest, num_labeled, num_classes, rng, "num_labeled")
    return SplitIndices(labeled=labeled.tolist(), unlabeled=rest.tolist(), val=val.tolist())


def class_balanced_split(
    labels: torch.Tensor | np.ndarray,
    num_labeled: NumLabeled,
    num_classes: int,
    seed: int = 0,
    num_val: int = 0,
) -> SplitIndices:
    """:func:`labeled_split` with exactly ``count / num_classes`` examples per class."""
    return labeled_split(labels, num_labeled, num_classes, seed, num_val, stratified=False)
