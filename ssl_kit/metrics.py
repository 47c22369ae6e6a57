"""Classification metrics in the units the papers report (percent)."""

from __future__ import annotations

import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassCalibrationError


class PercentAccuracy(MulticlassAccuracy):
    """Micro accuracy in percent."""

    def compute(self) -> torch.Tensor:
        return 100.0 * super().compute()


class ErrorRate(MulticlassAccuracy):
    """Classification error in percent: ``100 * (1 - accuracy)``."""

    def compute(self) -> torch.Tensor:
        return 100.0 * (1.0 - super().compute())


def classification_metrics(num_classes: int) -> MetricCollection:
    """Accuracy and error (percent), macro accuracy (percent) and expected calibration error.

    Update them with class probabilities: the calibration error takes inputs that all lie in
    [0, 1] for probabilities as they are, so logits would be misread.
    """
    return MetricCollection(
        {
            "acc": PercentAccuracy(num_classes=num_classes, average="micro"),
            "error": ErrorRate(num_classes=num_classes, average="micro"),
            "macro_acc": PercentAccuracy(num_classes=num_classes, average="macro"),
            "ece": MulticlassCalibrationError(num_classes=num_classes),
        }
    )


def rarest_class_share(logits: torch.Tensor) -> torch.Tensor:
    """Share of the batch predicted as its rarest class, relative to a uniform share.

    ``num_classes * min_k count_k / batch_size`` for the argmax predictions ``logits.argmax(1)``:
    1.0 when every class is predicted equally often, 0.0 when some class is never predicted. On
    unlabeled batches of a class-balanced data set it shows a failure the training losses hide: a
    whole cluster taking another class's label (VAT with 100 MNIST labels, the labeled
    cross-entropy still near 0; docs/results/vat_mnist100_full.md). It does not show part of a
    cluster merging into a neighbour (one class over-predicted while every class is still
    predicted, as in VAT seeds 6 and 7 there); a validation curve does.

    Args:
        logits: ``(batch, num_classes)`` class scores.

    Returns:
        A scalar tensor in ``[0, 1]``.
    """
    num_classes = logits.shape[1]
    # Counted by comparison, not torch.bincount: on CUDA bincount reads the largest label back to
    # the host to size its output, a sync in every training step.
    classes = torch.arange(num_classes, device=logits.device)
    counts = (logits.argmax(1, keepdim=True) == classes).sum(0)
    return num_classes * counts.min().float() / logits.shape[0]
