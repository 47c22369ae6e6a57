"""Pseudo-labelling and consistency losses of the classic baselines, and their weight ramp-ups.

Pseudo-Label (Lee 2013), the Π-model (Laine & Aila 2017, arXiv 1610.02242), Mean Teacher
(Tarvainen & Valpola 2017, arXiv 1703.01780) and FixMatch (Sohn et al. 2020, arXiv 2001.07685).
Every loss is a mean over the unlabeled batch; targets never carry a gradient.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def linear_rampup(progress: float, length: float) -> float:
    """Weight factor rising linearly from 0 to 1 over the first ``length`` of training, then 1.

    Lee 2013, eq. 16: ``alpha(t)`` grows linearly between two epochs (here from the start);
    USB ramps every consistency weight this way over 40 % of training. ``progress`` and ``length``
    are fractions of the run (``step / max_steps``); ``length <= 0`` means no ramp-up.
    """
    if length <= 0:
        return 1.0
    return min(1.0, max(0.0, progress / length))


def sigmoid_rampup(progress: float, length: float) -> float:
    """``exp(-5 (1 - t)^2)`` with ``t = clip(progress / length, 0, 1)``; 1 once ``progress >= length``.

    The Gaussian ramp-up ``w(t)`` of Laine & Aila 2017 (Appendix A, there over the
    first 80 epochs), also used by Mean Teacher. ``length <= 0`` means no ramp-up.
    """
    if length <= 0:
        return 1.0
    t = min(1.0, max(0.0, progress / length))
    return math.exp(-5.0 * (1.0 - t) ** 2)


RAMPUPS = {"linear": linear_rampup, "sigmoid": sigmoid_rampup}


def check_rampup(kind: str, length: float) -> None:
    """Refuse an unknown ramp-up name or a length outside [0, 1] (a fraction of the run)."""
    if kind not in RAMPUPS or not 0.0 <= length <= 1.0:
        raise ValueError(f"rampup must be one of {sorted(RAMPUPS)} and rampup_length a fraction of training in "
                         f"[0, 1]; got {kind!r}, {length}.")


def rampup(kind: str, progress: float, length: float) -> float:
    """The ramp-up named ``kind`` (``"linear"`` or ``"sigmoid"``) at ``progress`` (fractions of the run)."""
    check_rampup(kind, length)
    return RAMPUPS[kind](progress, length)


def confident_pseudo_labels(logits: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard pseudo-labels ``argmax_k p_k`` and the float mask ``max_k p_k >= threshold`` (no gradient).

    Lee 2013, eq. 1 (the class of largest predicted probability), with FixMatch's confidence
    threshold ``tau`` (Sohn et al. 2020, eq. 2: ``1(max q_b >= tau)``).
    """
    probs = logits.detach().float().softmax(dim=-1)
    confidence, labels = probs.max(dim=-1)
    return labels, (confidence >= threshold).to(logits.dtype)


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``1/B sum_b mask_b * H(targets_b, softmax(logits_b))``: the mean over the *whole* batch.

    Masked examples count in the denominator, as in FixMatch's eq. 2 (``1/(mu B)``), so the term
    shrinks while few predictions are confident.
    """
    return (F.cross_entropy(logits, targets, reduction="none") * mask).mean()


def pseudo_label_loss(logits: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the unlabeled predictions against their own confident hard labels.

    Lee 2013, eq. 15, second term (without ``alpha(t)``): the pseudo-labels of eq. 1 come from the
    same forward pass and are constants; predictions below ``threshold`` are masked out (0: all
    count, as in the paper; USB uses 0.95).
    """
    labels, mask = confident_pseudo_labels(logits, threshold)
    return masked_cross_entropy(logits, labels, mask)


def softmax_mse(student_logits: torch.Tensor, target_logits: torch.Tensor) -> torch.Tensor:
    """``1/(C B) sum_b ||softmax(student_b) - softmax(target_b)||^2`` with the target detached.

    The Π-model's unsupervised term (Laine & Aila 2017, Algorithm 1: squared difference of the two
    stochastic predictions, divided by the number of classes ``C``) and Mean Teacher's consistency
    cost ``J = E ||f(x, theta', eta') - f(x, theta, eta)||^2`` (Tarvainen & Valpola 2017, Section 2),
    where the target is the teacher's prediction.
    """
    student = student_logits.float().softmax(dim=-1)
    target = target_logits.detach().float().softmax(dim=-1)
    return F.mse_loss(student, target)


def fixmatch_loss(weak_logits: torch.Tensor, strong_logits: torch.Tensor, threshold: float = 0.95) -> torch.Tensor:
    """FixMatch's unlabeled loss (Sohn et al. 2020, eq. 2).

    ``1/(mu B) sum_b 1(max q_b >= tau) H(argmax q_b, p(y | A(u_b)))`` where ``q_b`` is the
    prediction on the weak view (a constant) and ``A(u_b)`` the strong view.
    """
    labels, mask = confident_pseudo_labels(weak_logits, threshold)
    return masked_cross_entropy(strong_logits, labels, mask)
