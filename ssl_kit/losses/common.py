"""Divergences and entropies on logits, shared by the methods."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kl_with_logits(q_logits: torch.Tensor, p_logits: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``KL(q || p)`` for categorical distributions given by logits.

    ``KL(q || p) = sum_k q_k (log q_k - log p_k)``, computed with ``log_softmax`` so that extreme
    logits stay finite. In VAT, ``q`` is the (detached) clean prediction and ``p`` the prediction
    on the perturbed input (Miyato et al. 2018, eq. 3).
    """
    q_log = F.log_softmax(q_logits, dim=-1)
    p_log = F.log_softmax(p_logits, dim=-1)
    return (q_log.exp() * (q_log - p_log)).sum(dim=-1).mean()


def entropy_with_logits(logits: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the entropy ``-sum_k p_k log p_k`` (Miyato et al. 2018, eq. 15)."""
    log_p = F.log_softmax(logits, dim=-1)
    return -(log_p.exp() * log_p).sum(dim=-1).mean()


def l2_normalize(d: torch.Tensor) -> torch.Tensor:
    """Scale every example of ``d`` (all dimensions but the first) to unit L2 norm.

    The example is first divided by its largest absolute entry, so the tiny gradients of the
    power iteration (of the order of ``xi``) neither underflow nor lose precision when squared;
    the divisors are clamped at the dtype's smallest normal number instead of adding a fixed
    epsilon, which would swamp gradients below it. An all-zero example stays zero.
    """
    tiny = torch.finfo(d.dtype).tiny
    flat = d.flatten(1)
    flat = flat / flat.abs().amax(dim=1, keepdim=True).clamp_min(tiny)
    flat = flat / flat.norm(dim=1, keepdim=True).clamp_min(tiny)
    return flat.view_as(d)
