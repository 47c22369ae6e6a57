"""Defaults derived from the data and the run, so every method trains on data nobody tuned for.

Each rule is a small pure function; the methods call them when an argument is left unset
(``backbone: auto``, ``eps: null``, ``ema_decay: auto``) and an explicit value always wins.
Why each rule, and the evidence for its constant, is in the docstring of the function; rules
of one method or concern live in a submodule (:mod:`ssl_kit.defaults.van`, ...) and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ssl_kit.defaults.views import vector_strong_view  # noqa: F401 (re-exported)
from ssl_kit.defaults.van import (  # noqa: F401 (re-exported)
    VAN_DEEP_FRACTION,
    VAN_HIDDEN_FRACTION,
    VAN_INPUT_FRACTION,
    van_layer_fraction,
    van_layer_radii,
)

#: Default virtual adversarial radius as a fraction of :func:`neighbour_distance`, the median
#: distance of an input to its 10th nearest neighbour: IMSAT's rule (Hu et al. 2017, Sec. 4.1:
#: ``eps(x) = 0.25 * sigma_10(x)``) with the median for one radius. It follows the gap between
#: the data's clusters, not the data's size: rings toy 0.026 (VAT, 2,000 steps, seed 1: 1.10 %
#: test error, where 0.15 of the input norm, 0.11, gave 17.6, 29.1, 18.8 % on seeds 1-3), 8x8
#: digits 0.37 (the 0.3 found by hand), MNIST 1.49 (the reference script's 2.0).
EPS_FRACTION = 0.25

#: Neighbour whose distance sets the radius (:func:`neighbour_distance`).
NEIGHBOUR_RANK = 10

#: Above this many input values the default radius grows as ``sqrt(d / RADIUS_REFERENCE_DIM)``
#: (:func:`default_radius`).
RADIUS_REFERENCE_DIM = 64

#: Radius as a fraction of :func:`input_norm`, when only a batch is at hand (text embeddings, a
#: plain dataloader): neighbours within one batch say little about the data's density.
NORM_EPS_FRACTION = 0.15

#: Horizon of the automatic weight average as a fraction of the run: ``1 / (1 - decay)`` steps.
#: 0.05 gives the reference GAN's 0.9999 at the MNIST protocol's 180,000 steps and forgets the
#: initial weights (``decay ** steps = exp(-20)``) on a run of any length.
EMA_HORIZON_FRACTION = 0.05

#: Smallest image side for which ``backbone: auto`` picks the convolutional network (two 2x2
#: poolings and a valid 3x3 convolution need 12 pixels).
MIN_CONV_SIDE = 12


def input_norm(x: torch.Tensor, max_examples: int = 10_000, seed: int = 0) -> float:
    """Median per-example L2 distance of the inputs to their mean: the scale of the data.

    Centred, so shifting the data leaves it unchanged, and doubling the inputs doubles it. A
    seeded random subset of ``max_examples`` rows keeps it cheap on large data sets.
    """
    if len(x) == 0:
        raise ValueError("Cannot measure the input scale of an empty data set.")
    if len(x) > max_examples:
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:max_examples]]
    flat = x.reshape(len(x), -1).double()
    norm = float((flat - flat.mean(dim=0)).norm(dim=1).median())
    if not norm > 0:
        raise ValueError("Every input is the same: the data has no scale to set a perturbation radius from.")
    return norm


def neighbour_distance(x: torch.Tensor, rank: int = NEIGHBOUR_RANK, max_queries: int = 1_000,
                       max_reference: int = 10_000, seed: int = 0) -> float:
    """Median L2 distance of an input to its ``rank``-th nearest neighbour: the gap between clusters.

    Measured for a seeded sample of ``max_queries`` inputs against a seeded sample of
    ``max_reference`` (the same cost on any data set; on a larger pool the distance is that of a
    10,000-example sample, MNIST 5.97 instead of about 5.2). Doubling the inputs doubles it. Falls
    back to :func:`input_norm` scaled by ``NORM_EPS_FRACTION / EPS_FRACTION`` when most inputs
    have ``rank`` exact duplicates, and to the farthest neighbour in a pool of ``rank`` inputs or fewer.
    """
    if len(x) < 2:
        raise ValueError(f"Cannot measure distances between inputs: the pool has {len(x)}.")
    rank = min(rank, len(x) - 1)
    g = torch.Generator().manual_seed(seed)
    flat = x.reshape(len(x), -1).double()
    reference = flat[torch.randperm(len(flat), generator=g)[:max_reference]]
    queries = reference[:max_queries]  # a random subset of the (already shuffled) reference
    distances = torch.cdist(queries, reference)
    distance = float(distances.kthvalue(rank + 1, dim=1).values.median())  # the query itself is at 0
    return distance if distance > 0 else input_norm(x) * NORM_EPS_FRACTION / EPS_FRACTION


def default_radius(neighbour: float, input_shape: Sequence[int]) -> float:
    """VAT's default radius: :data:`EPS_FRACTION` x ``neighbour`` (:func:`neighbour_distance`), times
    ``sqrt(d / 64)`` for inputs of ``d`` > 64 values.

    The factor is measured, not derived. On MNIST (784 values, 100 labels, 2,000 steps, seed 1)
    0.25 x the neighbour distance (1.49) let VAT collapse to one predicted class (89.9 % test
    error; 1.06 gave 69.1 %) while 5.0, the paper's radius, gave 12.7 % (supervised 21.1 %); the
    factor makes it 5.2. A likely reason: in float32 the power iteration's direction at the
    reference ``xi`` (1e-6) is mostly rounding, close to a random direction, whose component
    along any one direction shrinks as ``1 / sqrt(d)``. The 2-D toys and the 64-value 8x8 digits,
    where the factor is 1, work with 0.25 x the neighbour distance.
    """
    d = math.prod(input_shape)
    return EPS_FRACTION * neighbour * math.sqrt(max(1.0, d / RADIUS_REFERENCE_DIM))


def relative_eps(eps: float | None, scale: float, fraction: float | None = None) -> float:
    """``eps`` if given, else ``fraction`` (default :data:`EPS_FRACTION`) of ``scale``."""
    if eps is not None:
        return float(eps)
    return (EPS_FRACTION if fraction is None else fraction) * scale


def ema_decay_for_run(total_steps: int, fraction: float = EMA_HORIZON_FRACTION) -> float:
    """Decay whose averaging horizon ``1 / (1 - decay)`` is ``fraction`` of a run of ``total_steps``."""
    horizon = max(1.0, fraction * total_steps)
    return 1.0 - 1.0 / horizon


def ema_initial_share(decay: float, total_steps: int) -> float:
    """Weight of the initial weights in an average started from them, after ``total_steps`` updates."""
    return decay ** max(0, total_steps)


def is_image_shape(input_shape: Sequence[int], min_side: int = MIN_CONV_SIDE) -> bool:
    """``(channels, height, width)`` with both sides at least ``min_side`` pixels."""
    shape = tuple(input_shape)
    return len(shape) == 3 and min(shape[1:]) >= min_side and shape[0] <= min(shape[1:])


#: Batch norm on the logits of the automatic MLP: off. The VAT authors' MNIST network
#: (takerum/vat, ``models/fnn_mnist_semisup.py``) normalises every layer, the logits included, and
#: their TensorFlow CNN (takerum/vat_tf) uses ``--top_bn`` on SVHN only. Measured with VAT's defaults
#: on MNIST-100 (2,000 steps, seed 1, no batch-norm refit): 13.19 % test error with it, 7.54 %
#: without, so the default stays off; ``backbone_kwargs: {top_bn: true}`` turns it on.
AUTO_MLP_TOP_BN = False

#: Hidden widths of ``backbone: auto`` for vectors of fewer than :data:`SMALL_INPUT` values: the
#: paper's 1200-600-300-150 MNIST network costs 80 s per 100 VAT steps on the 2-D toy on a busy
#: 2-core machine, where this one needs a few seconds and reaches the same error.
SMALL_MLP_HIDDEN = (256, 256)
SMALL_INPUT = 256

#: Inputs of fewer values than this are low-dimensional (2-D toys, small tables): the ladder's
#: Gaussian corruption is :data:`LOW_DIMENSIONAL_LADDER_NOISE` and the strong view of FixMatch
#: drops no features (zeroing one of two coordinates moves a point onto an axis).
LOW_DIMENSIONAL_INPUT = 16

#: Gaussian corruption of the ladder (every layer) for low-dimensional inputs; the paper's 0.3
#: above. The hidden layers' noise acts on batch-normalised units, so no data scale sets it; what
#: differs is the dimension: on the 2-D rings toy 0.3 corrupts the few directions that carry the
#: classes (seeds 1-3, 500 steps, population statistics: 5.2, 2.6, 21.2 % test error; 0.1: 1.2,
#: 1.4, 1.8 %), while on the 64-value 8x8 digits 0.1 was worse than 0.3 (7.5, 9.8, 9.5 % against
#: 6.1, 6.7, 7.0 %).
LOW_DIMENSIONAL_LADDER_NOISE = 0.1

#: Gaussian noise of the Improved GAN's MLP discriminator (input, hidden layers) for
#: low-dimensional inputs, the rings toy config's; the reference's 0.3 / 0.5 above. Rings, 2,000
#: steps, seeds 1-2, with a generator that can reach the data (``output_activation: auto``): 0.8,
#: 0.8 % test error (6.1, 3.7 % with 0.3 / 0.5; supervised 1.4 %).
LOW_DIMENSIONAL_GAN_NOISE = (0.05, 0.1)


def is_low_dimensional(input_shape: Sequence[int]) -> bool:
    """Fewer than :data:`LOW_DIMENSIONAL_INPUT` values per example."""
    return math.prod(input_shape) < LOW_DIMENSIONAL_INPUT


def auto_backbone(input_shape: Sequence[int]) -> tuple[str, dict[str, object]]:
    """Backbone name and arguments chosen by shape.

    ``conv_small`` (VAT paper, Table 6) for images of at least 12x12 pixels; ``mlp`` for anything
    else: the paper's MNIST widths from :data:`SMALL_INPUT` values on, two hidden layers of 256
    below (small inputs, small data: the big network only costs time). The MLP normalises its
    logits too (:data:`AUTO_MLP_TOP_BN`).
    """
    if is_image_shape(input_shape):
        return "conv_small", {}
    if is_small_input(input_shape):
        return "mlp", {"hidden": SMALL_MLP_HIDDEN, "top_bn": AUTO_MLP_TOP_BN}
    return "mlp", {"top_bn": AUTO_MLP_TOP_BN}


def is_small_input(input_shape: Sequence[int]) -> bool:
    """Fewer than :data:`SMALL_INPUT` values per example: dense networks get :data:`SMALL_MLP_HIDDEN`."""
    return math.prod(input_shape) < SMALL_INPUT


def horizon_steps(decay: float) -> float:
    """Averaging horizon ``1 / (1 - decay)`` in steps (infinite for ``decay = 1``)."""
    return math.inf if decay >= 1.0 else 1.0 / (1.0 - decay)
