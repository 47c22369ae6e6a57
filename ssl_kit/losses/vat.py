"""Virtual adversarial perturbations (Miyato et al. 2018, arXiv 1704.03976) and the FGM baseline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ssl_kit.losses.common import kl_with_logits, l2_normalize

Forward = Callable[[torch.Tensor], torch.Tensor]


@contextmanager
def frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """Inside the block, batch norm layers (any ``_BatchNorm``) leave their running statistics alone.

    In training mode they still normalise with the batch's statistics, as the VAT reference does
    for perturbed passes; the running mean, variance and ``num_batches_tracked`` are untouched
    because ``track_running_stats`` is switched off for the block and restored afterwards.
    """
    layers = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    saved = [m.track_running_stats for m in layers]
    for m in layers:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m, flag in zip(layers, saved):
            m.track_running_stats = flag


def virtual_adversarial_perturbation(
    forward: Forward,
    x: torch.Tensor,
    logits: torch.Tensor,
    xi: float = 1e-6,
    eps: float = 1.0,
    n_power: int = 1,
) -> torch.Tensor:
    """The virtual adversarial perturbation ``r_vadv`` of ``x`` (Miyato et al. 2018, eqs. 10-13).

    Power iteration on the Hessian of ``D(r) = KL(p(y|x) || p(y|x + r))`` at ``r = 0``:
    ``d <- grad_r D(r)|_{r = xi d}`` with ``d`` a unit vector, so ``d`` converges to the dominant
    eigenvector; the result is ``eps * d / ||d||`` per example.

    The gradient is taken with ``torch.autograd.grad`` with respect to ``d`` alone (no weight
    gradients are accumulated), the clean ``logits`` are detached, and the iteration runs in fp32
    with autocast off, since ``xi`` (1e-6 by default) is below half precision's resolution. When
    ``logits`` come from a lower-precision (autocast) pass, the clean logits are recomputed in
    fp32 so that both ends of the finite difference share one precision. The same holds for
    randomness: a ``forward`` that draws fresh noise (as VAN's does, after its reference's
    ``vadv_sd``) adds a first-order term, and the direction then mostly follows the gradient of
    the divergence between the clean and the noisy prediction rather than the Hessian's top
    eigenvector.
    Even in fp32, the paper's ``xi = 1e-6`` moves the logits by a fraction of an ulp, so the
    direction is mostly rounding error within the span of the logit gradients (median cosine to
    the exact fp64 direction 0.28 untrained, -0.15 trained, on the MNIST MLP; 0.99-1.00 at
    ``xi = 1e-3``).
    The paper's ``eps`` was tuned with that direction: with the exact one (``xi = 1e-3`` in fp32)
    MNIST training flattened its unlabeled predictions at eps 5.0, 2.0 and 1.0. Raise ``xi`` (or
    use fp64) only where the direction itself matters. An example whose finite difference
    vanishes exactly keeps its previous direction.

    Args:
        forward: maps a perturbed input to logits; any input shape (vectors, images, embeddings).
        x: clean inputs, ``(batch, ...)``.
        logits: the model's logits on ``x`` (detached here).
        xi: finite-difference step on the unit direction.
        eps: L2 norm of the returned perturbation, per example.
        n_power: power iterations.

    Returns:
        A detached tensor shaped like ``x`` with L2 norm ``eps`` per example.
    """
    dtype = torch.promote_types(x.dtype, torch.float32)  # fp32 at least (fp64 stays fp64)
    lower_precision = logits.dtype != dtype or torch.is_autocast_enabled(x.device.type)
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = x.detach().to(dtype)
        if lower_precision:
            # Logits of an autocast pass differ from this fp32 pass by ~1e-3, far more than the
            # xi-step moves them: the difference would swamp the Hessian term. Both ends of the
            # finite difference are taken in fp32 instead (one more forward pass).
            with torch.no_grad():
                clean = forward(x).to(dtype)
        else:
            clean = logits.detach()
        d = torch.randn_like(x)
        for _ in range(n_power):
            d = (xi * l2_normalize(d)).requires_grad_()
            divergence = kl_with_logits(clean, forward(x + d).to(dtype))
            (grad,) = torch.autograd.grad(divergence, d)
            # Where x + xi*d rounds back to x (fp32 inputs of order 1 in many dimensions), the
            # finite difference vanishes exactly; such examples keep their last direction
            # instead of silently getting no perturbation at all.
            vanished = (grad.flatten(1) == 0).all(dim=1).view(-1, *([1] * (x.dim() - 1)))
            d = torch.where(vanished, d.detach(), grad)
        return (eps * l2_normalize(d)).detach()


def vat_loss(forward: Forward, x: torch.Tensor, logits: torch.Tensor, r_adv: torch.Tensor) -> torch.Tensor:
    """Local distributional smoothness ``LDS = KL(p(y|x) || p(y|x + r_vadv))`` (eq. 4), clean side detached."""
    return kl_with_logits(logits.detach(), forward(x + r_adv))


def fgm_perturbation(forward: Forward, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Fast gradient method with an L2 constraint (Goodfellow et al. 2015; eq. 8 of the VAT paper).

    ``r_adv = eps * g / ||g||`` with ``g`` the gradient of the cross-entropy with respect to the
    input; the supervised adversarial-training baseline, and an attack for robustness checks.
    """
    x = x.detach().requires_grad_()
    (grad,) = torch.autograd.grad(F.cross_entropy(forward(x), y), x)
    return (eps * l2_normalize(grad)).detach()
