"""Information maximisation for clustering: IMSAT (Hu et al. 2017, arXiv 1702.08720).

IMSAT trains a classifier without labels by maximising the mutual information between inputs
and cluster assignments, ``I(X; Y) = H(Y) - H(Y|X)``, while a self-augmentation term (VAT's
``KL(p(y|x) || p(y|x + r_vadv))``) keeps predictions smooth. The clustering objective, as in the
authors' code (weihua916/imsat, ``imsat_cluster.py``), is

    ``R_VAT + lam * (H(Y|X) - mu * H(Y))``,

with ``H(Y)`` the entropy of the batch-averaged prediction (the marginal ``p(y)`` estimated on a
mini-batch) and ``mu`` weighting it against the conditional entropy (``lam = 0.1``, ``mu = 4``
for MNIST in that code).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ssl_kit.losses.common import entropy_with_logits


def marginal_entropy(logits: torch.Tensor) -> torch.Tensor:
    """``H(Y) = -sum_k pbar_k log pbar_k`` with ``pbar = mean_i softmax(logits_i)`` (the batch's marginal).

    Computed in log space (``logsumexp`` of the log-probabilities), so a class whose mean
    probability underflows to 0 contributes 0, not ``0 * log 0`` (finite logits assumed).
    """
    log_p = F.log_softmax(logits, dim=-1)
    log_pbar = torch.logsumexp(log_p, dim=0) - torch.log(torch.tensor(float(len(logits)), device=logits.device))
    return -(log_pbar.exp() * log_pbar).sum()


def information_term(logits: torch.Tensor, mu: float) -> torch.Tensor:
    """``H(Y|X) - mu * H(Y)``: minus the mutual information ``I(X; Y)`` when ``mu = 1``.

    ``H(Y|X)`` is the batch mean of the per-example entropies; ``mu > 1`` weights the marginal
    entropy more, against collapsing into fewer clusters.
    """
    return entropy_with_logits(logits) - mu * marginal_entropy(logits)


def imsat_loss(r_vat: torch.Tensor, logits: torch.Tensor, lam: float, mu: float) -> torch.Tensor:
    """The IMSAT clustering objective ``R_VAT + lam * (H(Y|X) - mu * H(Y))`` (module docstring)."""
    return r_vat + lam * information_term(logits, mu)


@torch.no_grad()
def kth_neighbour_distance(
    x: torch.Tensor, k: int, rows: torch.Tensor | None = None, chunk_size: int = 1024
) -> torch.Tensor:
    """Euclidean distance from rows of ``x`` to their ``k``-th nearest other row of ``x``.

    IMSAT's adaptive perturbation radius is ``0.25`` times this distance with ``k = 10`` (Hu et
    al. 2017; the authors' MNIST code reads it from ``10th_neighbor.txt``, ``prop_eps = 0.25``),
    so dense regions get small perturbations and sparse ones large. Each example is excluded from
    its own neighbours (an exact duplicate still counts, at distance 0).

    Args:
        x: ``(n, ...)`` inputs, flattened per example; ``n > k``.
        k: which neighbour (1: the nearest).
        rows: indices of the rows to measure (default: all ``n``).
        chunk_size: rows compared at a time (memory ``chunk_size * n``).

    Returns:
        ``(len(rows),)`` distances, in the dtype of ``x`` (float32 at least).
    """
    flat = x.flatten(1).to(torch.promote_types(x.dtype, torch.float32))
    n = len(flat)
    if not 1 <= k < n:
        raise ValueError(f"The {k}-th nearest neighbour needs 1 <= k < {n} (the number of examples).")
    rows = torch.arange(n, device=flat.device) if rows is None else rows.to(flat.device)
    out = torch.empty(len(rows), dtype=flat.dtype, device=flat.device)
    for start in range(0, len(rows), chunk_size):
        chunk = rows[start : start + chunk_size]
        dist = torch.cdist(flat[chunk], flat)
        dist[torch.arange(len(chunk), device=flat.device), chunk] = float("inf")  # not its own neighbour
        out[start : start + len(chunk)] = dist.topk(k, dim=1, largest=False).values[:, -1]
    return out
