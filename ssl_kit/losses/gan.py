"""Losses of the semi-supervised GAN with feature matching (Salimans et al. 2016, arXiv 1606.03498).

The discriminator is a classifier with ``K + 1`` classes, the last one meaning "generated"
(Sec. 5). Because a softmax is unchanged by adding the same function to every logit, the fake
class's logit can be fixed at 0, leaving ``K`` free logits ``l_1..l_K``; then, with
``Z(x) = sum_k exp(l_k(x))``, the probability that ``x`` is real is ``D(x) = Z(x) / (Z(x) + 1)``
(Sec. 5, the paragraph after Eq. 5), i.e. ``D(x) = sigmoid(logsumexp_k l_k(x))``. All losses
below are written with ``logsumexp`` and ``softplus`` on that "real logit", never with
``log(sum(exp(.)))``, so they stay finite for logits of any size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def real_logit(logits: torch.Tensor, explicit_fake_logit: bool = False) -> torch.Tensor:
    """Log-odds ``log D(x) - log(1 - D(x))`` that ``x`` is real, one value per row.

    With ``K`` class logits and the fake logit fixed at 0 this is ``logsumexp_k l_k``
    (``D = Z / (Z + 1)``, Sec. 5 of the paper). With an explicit ``K+1``-th column ``l_fake``
    it is ``logsumexp_k l_k - l_fake``.

    Args:
        logits: ``(batch, K)``, or ``(batch, K + 1)`` with the fake logit last.
        explicit_fake_logit: whether the last column is the fake class's logit.
    """
    if explicit_fake_logit:
        if logits.shape[-1] < 2:
            raise ValueError("An explicit fake logit needs at least one class logit beside it (K + 1 >= 2 columns).")
        return torch.logsumexp(logits[..., :-1], dim=-1) - logits[..., -1]
    return torch.logsumexp(logits, dim=-1)


def class_logits(logits: torch.Tensor, explicit_fake_logit: bool = False) -> torch.Tensor:
    """The ``K`` class logits (drops the explicit fake column if there is one)."""
    return logits[..., :-1] if explicit_fake_logit else logits


def gan_supervised_loss(logits: torch.Tensor, y: torch.Tensor, explicit_fake_logit: bool = False) -> torch.Tensor:
    """``L_supervised = -E log p(y | x, y < K + 1)`` (Eq. 4 / Sec. 5): cross-entropy over the K classes.

    Conditioning on "real" removes the fake class, so this is the ordinary softmax
    cross-entropy of the ``K`` class logits (the fake logit, implicit or explicit, drops out).

    Args:
        logits: discriminator outputs on labeled data, ``(batch, K)`` or ``(batch, K + 1)``.
        y: integer labels in ``[0, K)``.
        explicit_fake_logit: whether ``logits`` has the fake logit as its last column.
    """
    return F.cross_entropy(class_logits(logits, explicit_fake_logit), y)


def gan_unsupervised_loss(
    logits_real: torch.Tensor,
    logits_fake: torch.Tensor,
    explicit_fake_logit: bool = False,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """``L_unsupervised`` of Eq. 5, halved as in the authors' code: the GAN loss of the K+1 classifier.

    ``-1/2 E_x[log D(x)] - 1/2 E_z[log(1 - D(G(z)))]`` with ``D = sigmoid(r)`` and ``r`` the
    :func:`real_logit`, i.e. ``1/2 E[softplus(-r_real)] + 1/2 E[softplus(r_fake)]``. For the
    implicit zero logit this equals the reference form
    ``-1/2 E[lse(l_unl)] + 1/2 E[softplus(lse(l_unl))] + 1/2 E[softplus(lse(l_fake))]``
    since ``softplus(-r) = softplus(r) - r``.

    One-sided label smoothing (Sec. 3.4) replaces the target of real examples by
    ``1 - label_smoothing`` (fake targets stay 0): the real term becomes
    ``(1 - a) softplus(-r) + a softplus(r)`` with ``a = label_smoothing``.

    Args:
        logits_real: discriminator outputs on unlabeled real data.
        logits_fake: discriminator outputs on generated data.
        explicit_fake_logit: whether the last column is the fake logit.
        label_smoothing: ``a`` in ``[0, 1)``; 0 is the paper's default (no smoothing).
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing}.")
    r_real = real_logit(logits_real, explicit_fake_logit)
    r_fake = real_logit(logits_fake, explicit_fake_logit)
    real_term = F.softplus(-r_real)
    if label_smoothing > 0:
        real_term = (1.0 - label_smoothing) * real_term + label_smoothing * F.softplus(r_real)
    return 0.5 * real_term.mean() + 0.5 * F.softplus(r_fake).mean()


def feature_matching_loss(features_real: torch.Tensor, features_fake: torch.Tensor, norm: str = "l2") -> torch.Tensor:
    """Feature matching (Sec. 3.1): ``|| E_x f(x) - E_z f(G(z)) ||`` on a discriminator layer ``f``.

    The expectations are batch means. As in the authors' code the distance is averaged over
    features: ``mean_j (m_real_j - m_fake_j)^2`` for ``norm="l2"`` (their MNIST script) and
    ``mean_j |m_real_j - m_fake_j|`` for ``norm="l1"`` (their SVHN / CIFAR-10 scripts). Features
    of any shape are flattened per example.

    Args:
        features_real: ``f(x)`` for a batch of real (unlabeled) data.
        features_fake: ``f(G(z))`` for a batch of generated data.
        norm: ``"l2"`` (mean squared distance) or ``"l1"`` (mean absolute distance).
    """
    diff = features_real.flatten(1).mean(0) - features_fake.flatten(1).mean(0)
    if norm == "l2":
        return diff.square().mean()
    if norm == "l1":
        return diff.abs().mean()
    raise ValueError(f"Unknown feature-matching norm {norm!r}; choose 'l2' or 'l1'.")
