"""Class-balanced, reproducible splits."""

from __future__ import annotations

import pytest
import torch

from datamodules import SplitIndices, class_balanced_split

LABELS = torch.arange(1000) % 10


def test_balanced_and_reproducible() -> None:
    split = class_balanced_split(LABELS, num_labeled=100, num_classes=10, seed=3, num_val=50)
    assert torch.bincount(LABELS[split.labeled], minlength=10).tolist() == [10] * 10
    assert torch.bincount(LABELS[split.val], minlength=10).tolist() == [5] * 10
    assert not set(split.val) & set(split.unlabeled)
    assert not set(split.val) & set(split.labeled)
    assert set(split.labeled) <= set(split.unlabeled)  # unlabeled pool = whole training set
    assert len(split.unlabeled) == 950
    assert split == class_balanced_split(LABELS, 100, 10, seed=3, num_val=50)
    assert split.labeled != class_balanced_split(LABELS, 100, 10, seed=4, num_val=50).labeled


def test_round_trip_through_a_file(tmp_path) -> None:
    split = class_balanced_split(LABELS, 20, 10, seed=0, num_val=10)
    split.save(tmp_path / "split.json")
    assert SplitIndices.load(tmp_path / "split.json") == split


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_labeled=5), "fewer than the 10 classes"),
        (dict(num_labeled=25), "multiple of 10"),
        (dict(num_labeled=2000), "exceeds the 1000 training examples"),
        (dict(num_labeled=990, num_val=0, labels=torch.cat([LABELS[:900], torch.zeros(100, dtype=torch.long)])),
         "class 1"),
        (dict(num_labeled=20, labels=LABELS + 1), r"labels must lie in \[0, 10\)"),
        (dict(num_labeled=20, num_val=-10), "num_val must be 0"),
    ],
)
def test_impossible_requests_name_the_problem(kwargs: dict, message: str) -> None:
    labels = kwargs.pop("labels", LABELS)
    with pytest.raises(ValueError, match=message):
        class_balanced_split(labels, num_classes=10, **kwargs)
