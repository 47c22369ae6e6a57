"""Class-balanced, reproducible splits."""

from __future__ import annotations

import pytest
import torch

from ssl_kit.datamodules import SplitIndices, class_balanced_split
from ssl_kit.datamodules.splits import labeled_split

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
        (dict(num_labeled="all", num_val=1000), "exceeds the 1000 training examples"),
        (dict(num_labeled=-3), "count >= 0"),
        (dict(num_labeled="half"), "or 'all'"),
    ],
)
def test_impossible_requests_name_the_problem(kwargs: dict, message: str) -> None:
    labels = kwargs.pop("labels", LABELS)
    with pytest.raises(ValueError, match=message):
        class_balanced_split(labels, num_classes=10, **kwargs)


#: 23 examples of three classes in proportions 12 : 7 : 4.
UNEVEN = torch.tensor([0] * 12 + [1] * 7 + [2] * 4)[torch.randperm(23, generator=torch.Generator().manual_seed(0))]


def test_all_labels_every_example_once() -> None:
    split = labeled_split(UNEVEN, "all", num_classes=3, seed=1, num_val=0)
    assert split.labeled == split.unlabeled == list(range(23))
    split = labeled_split(UNEVEN, "all", num_classes=3, seed=1, num_val=3)
    assert len(set(split.labeled)) == len(split.labeled) == 20 and split.labeled == split.unlabeled
    assert sorted(split.labeled + split.val) == list(range(23))
    assert torch.bincount(UNEVEN[split.val], minlength=3).tolist() == [1, 1, 1]  # balanced by default


def test_stratified_keeps_natural_proportions() -> None:
    split = labeled_split(UNEVEN, 11, num_classes=3, seed=2, num_val=5, stratified=True)
    # validation 5 of 23 in proportion 12:7:4 -> quotas 2.61, 1.52, 0.87 -> 3, 1, 1 (largest remainders)
    assert torch.bincount(UNEVEN[split.val], minlength=3).tolist() == [3, 1, 1]
    # labeled 11 of the other 18 (9:6:3) -> quotas 5.5, 3.67, 1.83 -> 5, 4, 2
    assert torch.bincount(UNEVEN[split.labeled], minlength=3).tolist() == [5, 4, 2]
    assert len(set(split.labeled)) == 11 and not set(split.labeled) & set(split.val)
    assert split == labeled_split(UNEVEN, 11, num_classes=3, seed=2, num_val=5, stratified=True)
    assert labeled_split(UNEVEN, "all", 3, seed=2, num_val=5, stratified=True).val == split.val  # same draw


def test_stratified_refuses_a_draw_that_leaves_a_class_out() -> None:
    with pytest.raises(ValueError, match="gives class 2 .* no example"):
        labeled_split(UNEVEN, 3, num_classes=3, stratified=True)  # quotas 1.57, 0.91, 0.52 -> 2, 1, 0


def test_no_labels_keeps_the_whole_pool_unlabeled() -> None:
    split = labeled_split(UNEVEN, 0, num_classes=3, num_val=3)
    assert split.labeled == [] and len(split.unlabeled) == 20
