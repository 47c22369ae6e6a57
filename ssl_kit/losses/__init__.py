"""Pure loss functions; each docstring cites the equation it implements."""

from ssl_kit.losses.common import entropy_with_logits, kl_with_logits, l2_normalize
from ssl_kit.losses.ladder import (
    batch_moments,
    combinator_init,
    denoising_cost,
    gauss_combinator,
    normalize_batch,
)
from ssl_kit.losses.vat import (
    fgm_perturbation,
    frozen_batchnorm_stats,
    vat_loss,
    virtual_adversarial_perturbation,
)

__all__ = [
    "batch_moments",
    "combinator_init",
    "denoising_cost",
    "gauss_combinator",
    "normalize_batch",
    "entropy_with_logits",
    "fgm_perturbation",
    "frozen_batchnorm_stats",
    "kl_with_logits",
    "l2_normalize",
    "vat_loss",
    "virtual_adversarial_perturbation",
]
