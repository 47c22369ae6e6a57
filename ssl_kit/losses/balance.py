"""A safeguard against cluster merging for any method: keep the unlabeled predictions' marginal
near the class prior.

Semi-supervised methods that sharpen or copy their own predictions (pseudo-labels, consistency,
VAT's smoothness) can let a class lose its unlabeled examples to a neighbour: every example is
then confidently, consistently and smoothly wrong. The marginal-entropy term of regularised
information maximisation (Krause, Perona & Gomes 2010, "Discriminative clustering by regularized
information maximization", the ``H(p_hat)`` of their objective) and of IMSAT (Hu et al. 2017,
``H(Y)``) counters it; this is its form against a prior other than the uniform one.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def batch_marginal_log(logits: torch.Tensor) -> torch.Tensor:
    """``log pbar`` with ``pbar = mean_b softmax(logits_b)``, in log space (a vanishing class gives a finite value)."""
    log_p = F.log_softmax(logits.float(), dim=-1)
    return torch.logsumexp(log_p, dim=0) - math.log(len(logits))


def class_balance_loss(logits: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
    """``KL(pbar || prior) = sum_k pbar_k (log pbar_k - log prior_k)``, ``pbar`` the batch's mean prediction.

    With a uniform ``prior`` (``None``) this is ``log K - H(pbar)``: minus the marginal entropy of
    Krause et al. 2010 (their ``H(p_hat(y))``) and IMSAT's ``H(Y)``, shifted to be 0 at balance.
    It is 0 when the batch's predictions are spread as the prior, whatever each one's confidence,
    so it leaves per-example predictions free and only penalises a class losing (or taking) mass.

    Args:
        logits: ``(B, K)`` unlabeled logits (the gradient flows through them).
        prior: ``(K,)`` class shares summing to 1 (e.g. of the labeled examples); ``None``: uniform.
    """
    log_pbar = batch_marginal_log(logits)
    if prior is None:
        log_prior = torch.full_like(log_pbar, -math.log(logits.shape[-1]))
    else:
        log_prior = prior.to(log_pbar).clamp_min(1e-12).log()
    return (log_pbar.exp() * (log_pbar - log_prior)).sum()


__all__ = ["batch_marginal_log", "class_balance_loss"]
