"""The strong view of non-image inputs: Gaussian noise and feature dropout, within a displacement budget."""

from __future__ import annotations

import torch


class NoiseDropout:
    """``x`` with each feature zeroed with probability ``feature_drop``, the others plus ``noise_std * N(0, 1)``.

    Vectors (and any non-image input, e.g. the 2-D toy sets) have no natural "strong
    augmentation"; this is the toolkit's stand-in. With ``max_displacement`` set, every example
    moves by at most that L2 distance: the dropped features move towards zero by at most
    ``max_displacement / sqrt(2)`` (all of the way when that is within it, else the same fraction
    of the way each), and the noise is cut to the rest of the budget. The default of a datamodule
    (:func:`ssl_kit.defaults.vector_strong_view`) sets it below the data's neighbour distance, so
    the view stays in the example's neighbourhood, where the cluster assumption keeps its label.

    Args:
        noise_std: standard deviation of the added Gaussian noise (in the inputs' units).
        feature_drop: probability of zeroing each feature (no rescaling: a zero is a missing value).
        max_displacement: largest L2 distance of a view from its example, or ``None`` for no limit.
        generator: optional ``torch.Generator``; default torch's global RNG.
    """

    def __init__(self, noise_std: float = 0.1, feature_drop: float = 0.1, max_displacement: float | None = None,
                 generator: torch.Generator | None = None) -> None:
        if noise_std < 0 or not 0.0 <= feature_drop < 1.0 or (max_displacement is not None and max_displacement < 0):
            raise ValueError(f"NoiseDropout needs noise_std >= 0, feature_drop in [0, 1) and max_displacement >= 0 "
                             f"(or null); got {noise_std}, {feature_drop}, {max_displacement}.")
        self.noise_std, self.feature_drop, self.max_displacement = noise_std, feature_drop, max_displacement
        self.generator = generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        noise = self.noise_std * torch.randn(x.shape, generator=self.generator).to(x)
        drop = (torch.rand(x.shape, generator=self.generator) < self.feature_drop).to(x)
        noise, dropped = noise * (1.0 - drop), x * drop  # a dropped feature is missing: no noise on it
        if self.max_displacement is None:
            return x - dropped + noise
        rows = (len(x), *([1] * (x.dim() - 1)))
        drop_budget = self.max_displacement / 2**0.5
        drop_norm = dropped.flatten(1).norm(dim=1).view(rows)
        dropped = dropped * (drop_budget / drop_norm.clamp_min(1e-12)).clamp(max=1.0)
        left = (self.max_displacement**2 - dropped.flatten(1).norm(dim=1).view(rows) ** 2).clamp_min(0.0).sqrt()
        noise_norm = noise.flatten(1).norm(dim=1).view(rows)
        noise = noise * (left / noise_norm.clamp_min(1e-12)).clamp(max=1.0)
        return x - dropped + noise

    def __repr__(self) -> str:
        return (f"NoiseDropout(noise_std={self.noise_std}, feature_drop={self.feature_drop}, "
                f"max_displacement={self.max_displacement})")


__all__ = ["NoiseDropout"]
