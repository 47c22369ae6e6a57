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
