"""Default weights of the unlabeled terms, from the split's label counts, by their papers' rules."""

from __future__ import annotations

import torch

#: The Π-model's largest consistency weight before scaling (Laine & Aila 2017, Appendix A:
#: ``w_max = 100``, scaled by ``M / N``, the share of labeled training examples).
PI_MODEL_W_MAX = 100.0

#: Weight of :func:`ssl_kit.losses.class_balance_loss` on the unlabeled predictions, where a
#: method turns the safeguard on (``balance_weight: auto``). IMSAT weights the marginal entropy
#: ``lam * mu = 0.4`` against its smoothness term (Hu et al. 2017; weihua916/imsat); as a
#: safeguard beside a supervised cross-entropy the term needs no more than unit weight, at which
#: it is about 0.1 when one of ten classes vanishes from a batch (``log(10 / 9)``).
BALANCE_WEIGHT = 1.0


def pi_model_weight(num_labeled: int, num_train: int, w_max: float = PI_MODEL_W_MAX) -> float:
    """Laine & Aila's consistency weight ``w_max * M / N`` (``M`` labeled of ``N`` training examples).

    0.17 for 100 of MNIST's 60,000 labels, 8 for CIFAR-10's 4,000 of 50,000: the fewer labels, the
    less the unlabeled term may outweigh them.
    """
    if num_train <= 0 or not 0 <= num_labeled <= num_train:
        raise ValueError(f"Need 0 <= num_labeled <= num_train and num_train > 0; got {num_labeled}, {num_train}.")
    return w_max * num_labeled / num_train


def class_prior(label_counts: torch.Tensor) -> torch.Tensor:
    """The class shares of the labeled examples seen, with one pseudo-count per class (Laplace's rule
    of succession), so a class not yet seen keeps a share and the prior is defined from step 0."""
    counts = label_counts.double() + 1.0
    return (counts / counts.sum()).float()


__all__ = ["BALANCE_WEIGHT", "PI_MODEL_W_MAX", "class_prior", "pi_model_weight"]
