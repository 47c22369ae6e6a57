"""Pure loss functions; each docstring cites the equation it implements."""

from ssl_kit.losses.balance import batch_marginal_log, class_balance_loss
from ssl_kit.losses.common import entropy_with_logits, kl_with_logits, l2_normalize
from ssl_kit.losses.consistency import (
    check_rampup,
    confident_pseudo_labels,
    fixmatch_loss,
    linear_rampup,
    masked_cross_entropy,
    pseudo_label_loss,
    rampup,
    sigmoid_rampup,
    softmax_mse,
)
from ssl_kit.losses.gan import (
    class_logits,
    feature_matching_loss,
    gan_supervised_loss,
    gan_unsupervised_loss,
    real_logit,
)
from ssl_kit.losses.imsat import imsat_loss, information_term, kth_neighbour_distance, marginal_entropy
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
    "batch_marginal_log",
    "class_balance_loss",
    "check_rampup",
    "class_logits",
    "confident_pseudo_labels",
    "fixmatch_loss",
    "linear_rampup",
    "masked_cross_entropy",
    "pseudo_label_loss",
    "rampup",
    "sigmoid_rampup",
    "softmax_mse",
    "batch_moments",
    "combinator_init",
    "denoising_cost",
    "gauss_combinator",
    "imsat_loss",
    "information_term",
    "kth_neighbour_distance",
    "normalize_batch",
    "entropy_with_logits",
    "feature_matching_loss",
    "fgm_perturbation",
    "frozen_batchnorm_stats",
    "gan_supervised_loss",
    "gan_unsupervised_loss",
    "kl_with_logits",
    "l2_normalize",
    "marginal_entropy",
    "real_logit",
    "vat_loss",
    "virtual_adversarial_perturbation",
]
