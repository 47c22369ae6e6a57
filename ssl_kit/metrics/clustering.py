"""Clustering metrics: accuracy under the best one-to-one cluster-to-class match, and NMI."""

from __future__ import annotations

from typing import Any

import torch
from scipy.optimize import linear_sum_assignment
from torchmetrics import Metric, MetricCollection


def cluster_accuracy(counts: torch.Tensor) -> torch.Tensor:
    """Accuracy in percent under the best one-to-one map of clusters to classes.

    ``counts[i, j]`` is the number of examples of cluster ``i`` and class ``j``; the map maximising
    the matched count is found by the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``),
    as in the clustering literature (e.g. Hu et al. 2017). Unmatched clusters (more clusters than
    classes) count as errors.
    """
    table = counts.detach().cpu().double().numpy()
    rows, cols = linear_sum_assignment(table, maximize=True)
    total = table.sum()
    return torch.tensor(100.0 * table[rows, cols].sum() / total if total else 0.0, dtype=torch.float32)


def normalized_mutual_info(counts: torch.Tensor) -> torch.Tensor:
    """``I(C; K) / ((H(C) + H(K)) / 2)`` from a cluster-by-class count table (scikit-learn's default NMI).

    In [0, 1]; 1 when clusters and classes determine each other. Defined as 1 when both
    partitions have a single block (both entropies 0), as scikit-learn does.
    """
    table = counts.detach().cpu().double()
    joint = table / table.sum().clamp_min(1.0)
    p_cluster, p_class = joint.sum(1), joint.sum(0)
    outer = p_cluster[:, None] * p_class[None, :]
    nonzero = joint > 0
    mutual = (joint[nonzero] * (joint[nonzero] / outer[nonzero]).log()).sum()

    def entropy(p: torch.Tensor) -> torch.Tensor:
        p = p[p > 0]
        return -(p * p.log()).sum()

    mean_entropy = (entropy(p_cluster) + entropy(p_class)) / 2
    if mean_entropy <= 0:
        return torch.tensor(1.0, dtype=torch.float64)
    return (mutual / mean_entropy).clamp(0.0, 1.0)


class _ContingencyMetric(Metric):
    """Accumulates the cluster-by-class count table over batches (summed over devices)."""

    full_state_update = False

    def __init__(self, num_clusters: int, num_classes: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_clusters, self.num_classes = num_clusters, num_classes or num_clusters
        self.add_state("counts", default=torch.zeros(self.num_clusters, self.num_classes, dtype=torch.long),
                       dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """``preds``: cluster scores ``(batch, num_clusters)`` or cluster indices ``(batch,)``."""
        clusters = preds.argmax(-1) if preds.dim() == 2 else preds
        flat = clusters.long() * self.num_classes + target.long()
        self.counts += torch.bincount(flat, minlength=self.num_clusters * self.num_classes).view_as(self.counts)


class ClusterAccuracy(_ContingencyMetric):
    """Clustering accuracy in percent (:func:`cluster_accuracy`)."""

    def compute(self) -> torch.Tensor:
        return cluster_accuracy(self.counts)


class NormalizedMutualInfo(_ContingencyMetric):
    """Normalised mutual information between clusters and classes (:func:`normalized_mutual_info`)."""

    def compute(self) -> torch.Tensor:
        return normalized_mutual_info(self.counts).float()


def clustering_metrics(num_clusters: int, num_classes: int | None = None) -> MetricCollection:
    """``cluster_acc`` (percent) and ``nmi``, updated with cluster scores and true classes."""
    return MetricCollection({"cluster_acc": ClusterAccuracy(num_clusters, num_classes),
                             "nmi": NormalizedMutualInfo(num_clusters, num_classes)})


__all__ = ["ClusterAccuracy", "NormalizedMutualInfo", "cluster_accuracy", "clustering_metrics",
           "normalized_mutual_info"]
