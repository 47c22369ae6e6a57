"""The diagnostics in ssl_kit.metrics against hand-counted predictions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ssl_kit.metrics import LargestConfusion, rarest_class_share


def logits_predicting(labels: list[int], num_classes: int) -> torch.Tensor:
    """Logits whose argmax is ``labels`` (one-hot scores)."""
    return F.one_hot(torch.tensor(labels), num_classes).float()


@pytest.mark.parametrize(
    "labels, expected",
    [
        ([0, 1, 2, 0, 1, 2], 1.0),  # balanced
        ([0, 0, 0, 1, 1, 2], 0.5),  # rarest class: 1 of 6 predictions, 3 * 1 / 6
        ([0, 0, 1, 1, 1, 1], 0.0),  # class 2 never predicted: a lost cluster
    ],
)
def test_rarest_class_share_counts_argmax_predictions(labels: list[int], expected: float) -> None:
    assert rarest_class_share(logits_predicting(labels, 3)).item() == pytest.approx(expected)


def test_rarest_class_share_ignores_the_scale_of_the_logits() -> None:
    logits = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    assert rarest_class_share(100.0 * logits) == rarest_class_share(logits)


def test_largest_confusion_is_the_largest_off_diagonal_share_of_a_true_class() -> None:
    # true 0: 4 examples, 1 predicted as 2 (25 %); true 1: 2 examples, both right;
    # true 2: 5 examples, 2 predicted as 0 (40 %) and 1 as 1 (20 %)
    y = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    pred = [0, 0, 0, 2, 1, 1, 0, 0, 1, 2, 2]
    metric = LargestConfusion(num_classes=3)
    metric.update(logits_predicting(pred, 3).softmax(-1), y)
    assert metric.compute().item() == pytest.approx(40.0)


def test_largest_confusion_ignores_the_diagonal_and_absent_classes() -> None:
    # every prediction right, class 2 absent: nothing is confused
    metric = LargestConfusion(num_classes=3)
    metric.update(logits_predicting([0, 1, 1], 3), torch.tensor([0, 1, 1]))
    assert metric.compute().item() == 0.0
    # a second batch accumulates: true 1 now 3 examples, 1 predicted as 0
    metric.update(logits_predicting([0], 3), torch.tensor([1]))
    assert metric.compute().item() == pytest.approx(100.0 / 3)
