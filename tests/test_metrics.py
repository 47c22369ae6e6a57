"""The training diagnostic in ssl_kit.metrics against hand-counted predictions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ssl_kit.metrics import rarest_class_share


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
