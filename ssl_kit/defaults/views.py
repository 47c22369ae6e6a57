"""Default second views: how far the strong view of a vector may move it, and image backgrounds."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Largest displacement of a vector's strong view, as a fraction of the data's median distance to
#: the 10th nearest neighbour (:func:`ssl_kit.defaults.neighbour_distance`). The cluster assumption
#: (Chapelle, Schölkopf & Zien 2006, *Semi-Supervised Learning*, ch. 1) holds labels constant within a neighbourhood of
#: the data, not beyond; half of its typical radius keeps the view inside it. For comparison
#: VAT's adversarial radius is 0.25 of it on low-dimensional data (IMSAT's rule), and a random
#: direction changes a prediction less than the adversarial one.
STRONG_VIEW_NEIGHBOUR_FRACTION = 0.5

#: Share of features the strong view of a vector drops (none for low-dimensional inputs, where
#: zeroing one of two coordinates moves a point onto an axis).
STRONG_VIEW_FEATURE_DROP = 0.1


def vector_strong_view(neighbour: float, input_shape: Sequence[int], low_dimensional: bool) -> dict[str, float]:
    """Default :class:`~ssl_kit.datamodules.noise_view.NoiseDropout` arguments for non-image inputs.

    Every view moves its example by at most ``STRONG_VIEW_NEIGHBOUR_FRACTION x neighbour``
    (``max_displacement``), split between dropped features and Gaussian noise whose expected norm
    ``noise_std * sqrt(d)`` is that budget (cut to what the dropout leaves of it).

    Args:
        neighbour: the data's median 10th-neighbour distance.
        input_shape: shape of one input (``d`` values).
        low_dimensional: drop no features (:func:`ssl_kit.defaults.is_low_dimensional`).
    """
    budget = STRONG_VIEW_NEIGHBOUR_FRACTION * neighbour
    return {"max_displacement": budget, "noise_std": budget / math.sqrt(math.prod(input_shape)),
            "feature_drop": 0.0 if low_dimensional else STRONG_VIEW_FEATURE_DROP}


#: An image's border is "plain" (a background, as black-background digits or scanned pages have)
#: when its pixels lie within this mean absolute deviation of their median, on a [0, 1] scale.
PLAIN_BORDER_TOLERANCE = 0.05


__all__ = ["PLAIN_BORDER_TOLERANCE", "STRONG_VIEW_FEATURE_DROP", "STRONG_VIEW_NEIGHBOUR_FRACTION", "vector_strong_view"]
