"""Second views that keep the label: vector views inside the data's neighbourhood, digit-safe images."""

from __future__ import annotations

import pytest
import torch

from ssl_kit.datamodules.noise_view import NoiseDropout
from ssl_kit.datamodules.strong_augment import BatchRandAugment, plain_background
from ssl_kit.defaults import is_low_dimensional, neighbour_distance
from ssl_kit.defaults.views import STRONG_VIEW_NEIGHBOUR_FRACTION, vector_strong_view


def clusters(n: int = 600, d: int = 64, seed: int = 0) -> torch.Tensor:
    """Ten tight clusters in [0, 1]^d, as pixels of small digits are."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(10, d, generator=g)
    return (centres[torch.arange(n) % 10] + 0.05 * torch.randn(n, d, generator=g)).clamp(0, 1)


@pytest.mark.parametrize("d", [2, 64, 784])
def test_vector_strong_view_moves_every_example_less_than_the_neighbour_distance(d: int) -> None:
    x = clusters(d=d)
    neighbour = neighbour_distance(x)
    view = NoiseDropout(**vector_strong_view(neighbour, (d,), is_low_dimensional((d,))),
                        generator=torch.Generator().manual_seed(1))
    moved = (view(x) - x).norm(dim=1)
    assert moved.max() <= STRONG_VIEW_NEIGHBOUR_FRACTION * neighbour * (1 + 1e-5)
    assert moved.median() > 0.2 * neighbour  # still a different input: noise fills the budget the dropout leaves


def test_vector_strong_view_drops_features_only_above_low_dimensional_inputs() -> None:
    x = clusters(d=64) + 0.5
    rule = vector_strong_view(neighbour_distance(x), (64,), False)
    out = NoiseDropout(**{**rule, "noise_std": 0.0})(x)
    moved = (out - x).norm(dim=1)  # the dropout alone: features moved towards zero, within its half of the budget
    assert moved.median() == pytest.approx(rule["max_displacement"] / 2**0.5, rel=1e-4)
    assert (out <= x + 1e-6).all()
    assert vector_strong_view(1.0, (2,), True)["feature_drop"] == 0.0


def test_noise_dropout_without_a_budget_is_unchanged() -> None:
    torch.manual_seed(0)
    x = torch.ones(2000, 10)
    out = NoiseDropout(noise_std=0.2, feature_drop=0.25)(x)
    assert (out == 0).float().mean().item() == pytest.approx(0.25, abs=0.02)
    assert (out - x).norm(dim=1).max() > 1.0  # no budget: a row loses whole features


def digit_images(n: int = 32) -> torch.Tensor:
    """White strokes on black, 28x28, as MNIST."""
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0
    x[:, :, 6:9, 8:20] = 0.9
    return x


def test_plain_background_is_found_on_digits_not_on_noise() -> None:
    colour, plain = plain_background(digit_images(4))
    assert plain.all() and (colour == 0).all()
    colour, plain = plain_background(torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)))
    assert not plain.any()


def test_solarize_leaves_digits_unchanged_and_geometry_fills_with_their_background() -> None:
    x = digit_images()
    torch.testing.assert_close(BatchRandAugment(num_ops=1, cutout=0.0, ops=("solarize",))(x), x)
    rotated = BatchRandAugment(num_ops=2, cutout=0.5, ops=("rotate", "translate_x"))(x)
    border = torch.cat([rotated[..., 0, :], rotated[..., -1, :]], dim=-1)
    assert border.abs().max() < 1e-6  # black, not FixMatch's grey 0.5
    photos = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    changed = BatchRandAugment(num_ops=1, cutout=0.0, ops=("solarize",))(photos)
    assert not torch.allclose(changed, photos)  # photographs keep the whole operation list
    translated = BatchRandAugment(num_ops=1, cutout=0.0, ops=("translate_x",))(photos)
    assert ((translated - 0.5).abs() < 1e-6).float().mean() > 0.05  # uncovered pixels: the reference's grey
