"""Default per-layer radii of the virtual adversarial ladder (VAN), in the reference's ratios.

The reference LVAN-LW run on MNIST with 100 labels (Shinoda, Worrall & Brostow 2017, arXiv
1711.07476; sakishinoda/tf-ssl, run ``full_nlw_labeled-100``) perturbs the 784-1000-500-250-250-250
network with radii 0.073 (input), 0.482 (first hidden layer), 0.0014 (the next three) and 0 (the
last hidden layer, never perturbed). Each is a ratio to its layer's scale, and the default keeps
those ratios on any network and data:

* the input's scale is the data's median distance to the 10th nearest neighbour
  (:func:`ssl_kit.defaults.neighbour_distance`, 5.97 on MNIST): 0.073 / 5.97 = 0.0122;
* a hidden layer's pre-activation is batch-normalised (unit variance per unit), so its
  per-example norm is ``sqrt(width)``: 0.482 / sqrt(1000) = 0.0152 for the first hidden layer,
  and 0.0014 / sqrt(500) = 6.3e-5, 0.0014 / sqrt(250) = 8.9e-5 above it (their geometric mean,
  7.5e-5, for every deeper layer);
* the last perturbable layer (the top hidden layer) gets 0, as in the reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Input radius as a fraction of the 10th-neighbour distance (0.073 / 5.97 on MNIST).
VAN_INPUT_FRACTION = 0.0122

#: First hidden layer's radius as a fraction of ``sqrt(width)`` (0.482 / sqrt(1000)).
VAN_HIDDEN_FRACTION = 0.015

#: Deeper hidden layers' radius as a fraction of ``sqrt(width)`` (0.0014 at widths 500 and 250).
VAN_DEEP_FRACTION = 7.5e-5


def van_layer_fraction(layer: int, num_layers: int) -> float:
    """Radius of layer ``layer`` (0: the input) of ``num_layers`` perturbable layers, as a fraction
    of that layer's scale: the input's, the first hidden layer's, deeper layers', 0 at the top."""
    if not 0 <= layer < num_layers:
        raise ValueError(f"layer {layer} is not one of the {num_layers} perturbable layers 0 .. {num_layers - 1}.")
    if layer == num_layers - 1 and layer > 0:
        return 0.0
    if layer == 0:
        return VAN_INPUT_FRACTION
    return VAN_HIDDEN_FRACTION if layer == 1 else VAN_DEEP_FRACTION


def van_layer_radii(input_scale: float, feature_shapes: Sequence[Sequence[int]]) -> list[float]:
    """Default radius of every perturbable layer: :func:`van_layer_fraction` times its scale.

    Args:
        input_scale: the input's scale, its median 10th-neighbour distance.
        feature_shapes: the shape of ``z_0`` (the input) .. ``z_{L-1}``, the perturbable layers
            (the logits, if listed last beyond them, are left out by the caller).
    """
    count = len(feature_shapes)
    scales = [input_scale] + [math.sqrt(math.prod(shape)) for shape in feature_shapes[1:]]
    return [van_layer_fraction(layer, count) * scale for layer, scale in enumerate(scales)]


__all__ = ["VAN_DEEP_FRACTION", "VAN_HIDDEN_FRACTION", "VAN_INPUT_FRACTION", "van_layer_fraction", "van_layer_radii"]
