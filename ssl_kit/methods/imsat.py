"""IMSAT: clustering without labels by information maximising self-augmented training (Hu et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.metrics.clustering import clustering_metrics
from ssl_kit.losses import (
    entropy_with_logits,
    frozen_batchnorm_stats,
    imsat_loss,
    kth_neighbour_distance,
    marginal_entropy,
    vat_loss,
    virtual_adversarial_perturbation,
)
from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.registry import register_method


class NeighbourRadii:
    """Each pool example's distance to its ``k``-th nearest neighbour, looked up from the inputs.

    Batches carry inputs, not pool indices, so each input is identified by a fingerprint: its
    projection on a fixed random vector (float64); a batch row whose fingerprint matches no pool
    row (an input transformed after it was drawn) is refused. Distances are computed the first
    time a row is looked up and kept, so the ``n^2`` comparisons spread over the first epoch and
    a short run (``fast_dev_run``) pays only for the rows it sees.

    Args:
        pool: the unlabeled pool, ``(n, ...)``, on the device where distances are computed.
        k: which neighbour (1: the nearest).
    """

    def __init__(self, pool: torch.Tensor, k: int) -> None:
        if not 1 <= k < len(pool):
            raise ValueError(f"eps_knn={k} needs more than {k} examples in the unlabeled pool, which has {len(pool)}.")
        self.pool, self.k = pool, k
        generator = torch.Generator().manual_seed(0)
        self.direction = torch.randn(pool[0].numel(), generator=generator, dtype=torch.float64)
        self.keys, self.order = self.fingerprint(pool).sort()
        self.radii = torch.full((len(pool),), float("nan"))
        self.tolerance = 1e-9 * float(self.keys.abs().max().clamp_min(1.0))

    def fingerprint(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` flattened, projected on the fixed direction, in float64 on the CPU."""
        return x.detach().flatten(1).cpu().double() @ self.direction

    def pool_rows(self, x: torch.Tensor) -> torch.Tensor:
        """Pool indices of the rows of ``x``."""
        keys = self.fingerprint(x)
        right = torch.searchsorted(self.keys, keys).clamp(max=len(self.keys) - 1)
        left = (right - 1).clamp(min=0)
        nearest = torch.where((self.keys[left] - keys).abs() < (self.keys[right] - keys).abs(), left, right)
        if ((self.keys[nearest] - keys).abs() > self.tolerance).any():
            raise ValueError("eps_knn looks the radius up by input, but a training input is not a row of the "
                             "unlabeled pool (transformed after it was drawn?); use a fixed eps with augmentation.")
        return self.order[nearest]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The radii of the rows of ``x`` (pool rows), on ``x``'s device."""
        rows = self.pool_rows(x)
        missing = rows[self.radii[rows].isnan()].unique()
        if len(missing):
            self.radii[missing] = kth_neighbour_distance(self.pool, self.k, rows=missing).cpu().to(self.radii.dtype)
        return self.radii[rows].to(x.device)


#: The paper's neighbour for the adaptive radius (Hu et al. 2017: ``eps(x) = 0.25 sigma_10(x)``).
DEFAULT_NEIGHBOUR_RANK = 10


@register_method
class IMSAT(SSLModule):
    """IMSAT clustering: ``R_VAT + lam * (H(Y|X) - mu * H(Y))`` on unlabeled batches, no labels.

    Trains on ``num_labeled: 0`` data; the ``num_classes`` outputs are the clusters. Where the
    batches do carry labels, their cross-entropy is added (``CE + unsup_weight * IMSAT``, which
    ties clusters to classes; not an experiment of the paper). One training step, as in the
    authors' code (weihua916/imsat, ``imsat_cluster.py``):

    1. the prediction on the unlabeled batch (the only pass that updates batch-norm running
       statistics), giving the conditional entropy ``H(Y|X)`` and the marginal entropy ``H(Y)``
       of the batch-averaged prediction;
    2. self-augmentation by VAT: the virtual adversarial direction by ``n_power`` power
       iterations (:func:`~ssl_kit.losses.virtual_adversarial_perturbation`), scaled to ``eps``,
       or, with ``eps_knn`` set, to ``eps`` times each example's distance to its ``eps_knn``-th
       nearest neighbour in the unlabeled pool (the paper's adaptive radius: 0.25 x the 10th);
       ``R_VAT = KL(p(y|x) || p(y|x + r))`` with the clean side detached;
    3. the loss :func:`~ssl_kit.losses.imsat_loss` (plus the labeled cross-entropy, if any,
       taken without updating batch-norm running statistics).

    Validation and test report ``cluster_acc`` (percent, best one-to-one map of clusters to
    classes by the Hungarian algorithm) and ``nmi``; the test confusion matrix written to the log
    folder has the clusters as columns.

    Args:
        num_classes: number of clusters (linked from the datamodule's classes by the CLI).
        input_shape: shape of one input.
        eps: perturbation radius, or its multiple of the neighbour distance with ``eps_knn``
            (default 1.0: each example's own 10th-neighbour distance; the paper's MNIST 0.25 put
            the two-moons toy at 90.9 %, 1.0 at 99.7 %, seed 1, 1,000 steps).
        xi: finite-difference step of the power iteration on the unit direction. The authors'
            code uses 10 on inputs in [-1, 1] (5 on [0, 1] pixels).
        n_power: power iterations.
        lam: weight ``lambda`` of the information term (0.1 in the authors' code).
        mu: weight ``mu`` of the marginal entropy against the conditional one (4 in that code).
        unsup_weight: weight of the whole IMSAT objective against the labeled cross-entropy
            (matters only when there are labels).
        eps_knn: if set, per-example radii from the ``eps_knn``-th nearest neighbour in the
            unlabeled pool (10 in the paper), computed when an example is first drawn and kept
            (:class:`NeighbourRadii`; the first epoch pays for ``n^2`` distances); ``"auto"``
            (default): 10, or ``None`` (``eps`` absolute) for augmented data (:meth:`neighbour_rank`).
        **kwargs: see :class:`~ssl_kit.methods.base.SSLModule`.
    """

    needs_labels = False
    refuses_tokens = "its self-augmentation perturbs the inputs themselves, which token ids do not allow."

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        eps: float = 1.0,
        xi: float = 1e-6,
        n_power: int = 1,
        lam: float = 0.1,
        mu: float = 4.0,
        eps_knn: int | Literal["auto"] | None = "auto",
        unsup_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        if eps <= 0 or xi <= 0 or n_power < 1:
            raise ValueError(f"IMSAT needs eps > 0, xi > 0 and n_power >= 1; got eps={eps}, xi={xi}, n_power={n_power}.")
        if eps_knn == "auto":
            pass
        elif isinstance(eps_knn, str) or (eps_knn is not None and eps_knn < 1):
            raise ValueError(f"IMSAT needs eps_knn >= 1, 'auto' or null; got {eps_knn!r}.")
        if lam < 0 or mu < 0 or unsup_weight < 0:
            raise ValueError(f"IMSAT needs lam >= 0, mu >= 0, unsup_weight >= 0 and eps_knn >= 1 (or null); got "
                             f"lam={lam}, mu={mu}, unsup_weight={unsup_weight}, eps_knn={eps_knn}.")
        super().__init__(num_classes, input_shape, **kwargs)
        self.save_hyperparameters()
        metrics = clustering_metrics(num_classes)
        self.val_clustering = metrics.clone(prefix="val/")
        self.test_clustering = metrics.clone(prefix="test/")
        self.radii: NeighbourRadii | None = None

    def neighbour_rank(self, data: Any) -> int | None:
        """``eps_knn`` with ``auto`` resolved: the paper's 10th neighbour, unless the data is augmented
        (the radii are looked up by input, which augmentation changes): then ``None``, a fixed ``eps``."""
        rank = self.hparams.eps_knn
        if rank != "auto":
            return rank
        return None if getattr(data, "train_transform", None) is not None else DEFAULT_NEIGHBOUR_RANK

    def on_fit_start(self) -> None:
        """With ``eps_knn``, prepare the pool's neighbour distances (computed as rows are first seen)."""
        super().on_fit_start()
        data = self.trainer.datamodule
        rank = self.neighbour_rank(data)
        if rank is not None and self.radii is None:
            if data is None or not hasattr(data, "unlabeled_inputs"):
                raise ValueError("eps_knn needs a LabeledUnlabeledDataModule, whose unlabeled pool it measures.")
            self.radii = NeighbourRadii(data.unlabeled_inputs().to(self.device), rank)

    def perturbation_radius(self, x: torch.Tensor) -> torch.Tensor | float:
        """``eps``, or ``eps`` times each row's neighbour distance, shaped to scale ``x``'s rows."""
        if self.radii is None:
            return self.hparams.eps
        return self.hparams.eps * self.radii(x).to(x.dtype).view(-1, *([1] * (x.dim() - 1)))

    def training_step(self, batch: MixedBatch, batch_idx: int) -> torch.Tensor:
        hp = self.hparams
        net, x = self.classifier, batch.x_u
        logits = net(x)
        with frozen_batchnorm_stats(net):
            direction = virtual_adversarial_perturbation(net, x, logits, hp.xi, 1.0, hp.n_power)
            r_vat = vat_loss(net, x, logits, self.perturbation_radius(x) * direction)
            loss_sup = self.supervised_loss(net(batch.x_l), batch.y_l) if len(batch.y_l) else logits.new_zeros(())
        loss = loss_sup + hp.unsup_weight * imsat_loss(r_vat, logits, hp.lam, hp.mu)
        self.log_dict({"train/loss_sup": loss_sup, "train/loss_vat": r_vat,
                       "train/cond_entropy": entropy_with_logits(logits.detach()),
                       "train/marginal_entropy": marginal_entropy(logits.detach())})
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """Clustering accuracy and NMI as ``val/*``, or ``test/*`` when the loader reads the test set."""
        probs, y = self._evaluate(batch)
        metrics = self.test_clustering if self.periodic_split() == "test" else self.val_clustering
        metrics.update(probs, y)
        self.log_dict(metrics, prog_bar=True)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        probs, y = self._evaluate(batch)
        self.test_clustering.update(probs, y)
        self.test_confusion.update(probs, y)
        self.log_dict(self.test_clustering)
