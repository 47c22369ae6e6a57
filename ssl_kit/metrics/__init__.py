"""Metrics in the units the papers report: classification (percent) and clustering."""

from ssl_kit.metrics.classification import (
    ErrorRate,
    LargestConfusion,
    PercentAccuracy,
    PercentCalibrationError,
    classification_metrics,
    rarest_class_share,
)
from ssl_kit.metrics.clustering import (
    ClusterAccuracy,
    NormalizedMutualInfo,
    cluster_accuracy,
    clustering_metrics,
    normalized_mutual_info,
)

__all__ = [
    "ClusterAccuracy",
    "ErrorRate",
    "LargestConfusion",
    "NormalizedMutualInfo",
    "PercentAccuracy",
    "PercentCalibrationError",
    "classification_metrics",
    "cluster_accuracy",
    "clustering_metrics",
    "normalized_mutual_info",
    "rarest_class_share",
]
