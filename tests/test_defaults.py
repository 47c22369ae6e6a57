"""Defaults derived from the data and the run (issue 26): every method trains on untuned data."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from PIL import Image

from ssl_kit.datamodules import ImageFolderDataModule, LabeledUnlabeledDataModule
from ssl_kit.utils import threads
from ssl_kit.defaults import EMA_HORIZON_FRACTION, EPS_FRACTION, SMALL_MLP_HIDDEN, input_norm, neighbour_distance
from ssl_kit.methods import VAT, ImprovedGAN, LadderNetwork, Supervised, VirtualAdversarialLadder
from ssl_kit.nets import ConvNet, GanConvDiscriminator, GanMLPDiscriminator, MLP

ALL_METHODS = (Supervised, VAT, ImprovedGAN, LadderNetwork, VirtualAdversarialLadder)


def blobs(n: int, d: int = 4, scale: float = 1.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points of two Gaussian blobs in ``d`` dimensions, class = blob."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, d, generator=g) * 0.5 + (2.0 * y - 1.0).unsqueeze(1)
    return scale * x, y


def trainer(steps: int = 2) -> pl.Trainer:
    return pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0, accelerator="cpu",
                      devices=1, use_distributed_sampler=False)


def first_batch(dm: LabeledUnlabeledDataModule):
    dm.setup("fit")
    return next(iter(dm.train_dataloader()))


# ---------------------------------------------------------------------------- batch sizes
def test_batch_sizes_not_given_are_capped_at_the_pools(caplog: pytest.LogCaptureFixture) -> None:
    x, y = blobs(60)
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:10], y[:10], num_labeled=20)
    with caplog.at_level(logging.INFO):
        batch = first_batch(dm)
    assert (len(batch.x_l), len(batch.x_u)) == (20, 60)  # defaults 100 / 100, pools 20 / 60
    capped = [r.getMessage() for r in caplog.records if "capped at the pools" in r.getMessage()]
    assert len(capped) == 1 and "labeled_batch_size=20" in capped[0] and "unlabeled_batch_size=60" in capped[0]


def test_batch_sizes_within_the_pools_keep_the_class_default() -> None:
    x, y = blobs(300)
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:10], y[:10], num_labeled=20, labeled_batch_size=8)
    batch = first_batch(dm)
    assert (len(batch.x_l), len(batch.x_u)) == (8, 100)


def test_explicit_batch_sizes_that_cannot_be_met_fail_with_every_problem_at_once() -> None:
    x, y = blobs(60)
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:10], y[:10], num_labeled=20, labeled_batch_size=32,
                                                 unlabeled_batch_size=128)
    with pytest.raises(ValueError) as error:
        first_batch(dm)
    message = str(error.value)
    assert "labeled_batch_size=32 exceeds the 20 labeled" in message
    assert "unlabeled_batch_size=128 exceeds the 60 unlabeled" in message


def write_image_folder(root: Path, classes: int = 2, per_class: int = 10, size: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 80, (size, size, 3), dtype=np.uint8) + np.uint8(150 * c)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def test_a_tiny_image_folder_trains_with_no_batch_argument(tmp_path: Path) -> None:
    dm = ImageFolderDataModule(str(write_image_folder(tmp_path / "images")), image_size=12)
    model = Supervised(dm.num_classes, dm.input_shape)  # default backbone: chosen by the image shape
    fit = trainer(2)
    fit.fit(model, datamodule=dm)
    assert fit.global_step == 2
    assert isinstance(model.classifier, ConvNet)


# ---------------------------------------------------------------------------- backbones
@pytest.mark.parametrize("method", [Supervised, VAT])
def test_backbone_is_chosen_by_input_shape(method: type) -> None:
    assert isinstance(method(2, (3, 16, 16)).classifier, ConvNet)
    small = method(2, (2,)).classifier
    assert isinstance(small, MLP)
    assert [m.out_features for m in small.features if isinstance(m, torch.nn.Linear)] == list(SMALL_MLP_HIDDEN)
    mnist = method(10, (784,)).classifier
    assert [m.out_features for m in mnist.features if isinstance(m, torch.nn.Linear)] == [1200, 600, 300, 150]
    assert isinstance(method(10, (1, 8, 8)).classifier, MLP)  # too small for two poolings and a 3x3 conv
    assert isinstance(method(2, (3, 16, 16), backbone="mlp").classifier, MLP)  # an explicit name wins


def test_automatic_mlp_logit_batch_norm_follows_the_rule_and_explicit_arguments_win() -> None:
    from ssl_kit.defaults import AUTO_MLP_TOP_BN

    head = VAT(10, (784,)).classifier.head
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in head) == AUTO_MLP_TOP_BN
    forced = VAT(10, (784,), backbone_kwargs={"top_bn": True}).classifier.head
    assert [type(m) for m in forced] == [torch.nn.Linear, torch.nn.BatchNorm1d]


def test_gan_pairs_discriminator_and_generator_by_shape() -> None:
    image = ImprovedGAN(2, (3, 16, 16))
    assert isinstance(image.discriminator, GanConvDiscriminator)
    assert image.sample(3).shape == (3, 3, 16, 16)
    vector = ImprovedGAN(2, (5,))
    assert isinstance(vector.discriminator, GanMLPDiscriminator)
    assert vector.sample(3).shape == (3, 5)


def test_gan_generator_data_range_output_follows_the_data() -> None:
    # inputs far outside [0, 1], negative ones too
    model = fitted(ImprovedGAN, 10.0, steps=1, generator_kwargs={"output_activation": "data_range"})
    x, _ = blobs(64, scale=10.0)
    samples = model.sample(200)
    assert samples.min() >= x.min() - 1e-4 and samples.max() <= x.max() + 1e-4
    assert samples.min() < 0  # a sigmoid output could not reach the negative half


@pytest.mark.parametrize("method", [LadderNetwork, VirtualAdversarialLadder])
def test_ladder_encoder_is_sized_by_the_input(method: type) -> None:
    assert method(2, (2,)).encoder.num_layers == len(SMALL_MLP_HIDDEN) + 1
    assert method(10, (784,)).encoder.num_layers == 6  # the paper's 1000-500-250-250-250


# ---------------------------------------------------------------------------- radii
def test_input_norm_is_centred_and_scales_with_the_inputs() -> None:
    x, _ = blobs(200)
    assert input_norm(2 * x) == pytest.approx(2 * input_norm(x))
    assert input_norm(x + 100.0) == pytest.approx(input_norm(x), rel=1e-4)


def test_neighbour_distance_is_the_median_tenth_neighbour_distance_and_scales_with_the_inputs() -> None:
    x, _ = blobs(200)
    brute = torch.cdist(x.double(), x.double()).sort(dim=1).values[:, 10].median()  # column 0: itself
    assert neighbour_distance(x, max_queries=200) == pytest.approx(float(brute))
    assert neighbour_distance(2 * x) == pytest.approx(2 * neighbour_distance(x))
    assert neighbour_distance(x + 100.0) == pytest.approx(neighbour_distance(x), rel=1e-4)
    duplicated = x[:5].repeat(40, 1)  # every input has 39 exact copies: fall back to the input norm
    assert neighbour_distance(duplicated) == pytest.approx(input_norm(duplicated) * 0.15 / EPS_FRACTION)
    few = x[:4]  # fewer inputs than the rank: the farthest neighbour
    assert neighbour_distance(few) == pytest.approx(float(torch.cdist(few, few).max(dim=1).values.median()), rel=1e-5)
    with pytest.raises(ValueError, match="the pool has 1"):
        neighbour_distance(x[:1])


def test_default_radius_grows_with_the_square_root_of_the_dimension_above_64_values() -> None:
    from ssl_kit.defaults import default_radius

    assert default_radius(1.0, (2,)) == pytest.approx(EPS_FRACTION)
    assert default_radius(1.0, (64,)) == pytest.approx(EPS_FRACTION)
    assert default_radius(1.0, (1, 28, 28)) == pytest.approx(EPS_FRACTION * math.sqrt(784 / 64))
    assert default_radius(2.0, (784,)) == pytest.approx(2 * default_radius(1.0, (784,)))


def fitted(method: type, scale: float, steps: int = 1, **kwargs) -> pl.LightningModule:
    x, y = blobs(64, scale=scale)
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:8], y[:8], num_labeled=8, unlabeled_batch_size=32)
    torch.manual_seed(0)
    model = method(2, (4,), **kwargs)
    trainer(steps).fit(model, datamodule=dm)
    assert model.input_norm == pytest.approx(dm.input_norm)
    assert model.neighbour_distance == pytest.approx(dm.neighbour_distance)
    return model


def test_vat_default_radius_doubles_when_the_inputs_double(monkeypatch: pytest.MonkeyPatch) -> None:
    radii = []
    import ssl_kit.methods.vat as vat_module

    real = vat_module.virtual_adversarial_perturbation

    def spy(net, x, logits, xi, eps, n_power):
        radii.append(eps)
        return real(net, x, logits, xi, eps, n_power)

    monkeypatch.setattr(vat_module, "virtual_adversarial_perturbation", spy)
    one, two = fitted(VAT, 1.0), fitted(VAT, 2.0)
    assert radii[1] == pytest.approx(2 * radii[0])
    assert radii[0] == pytest.approx(EPS_FRACTION * one.neighbour_distance)
    assert two.neighbour_distance == pytest.approx(2 * one.neighbour_distance)
    fitted(VAT, 2.0, eps=0.7)
    assert radii[2] == 0.7  # an explicit radius is kept


def test_van_default_radii_double_when_the_inputs_double() -> None:
    one, two = fitted(VirtualAdversarialLadder, 1.0), fitted(VirtualAdversarialLadder, 2.0)
    assert two.layer_eps(0) == pytest.approx(2 * one.layer_eps(0))
    assert one.layer_eps(0) > 0
    for layer in one.adv_layers[1:]:  # hidden layers are batch-normalised: radius independent of the input scale
        assert two.layer_eps(layer) == pytest.approx(one.layer_eps(layer))


# ---------------------------------------------------------------------------- averaging
def test_gan_weight_average_horizon_lies_within_the_run() -> None:
    model = fitted(ImprovedGAN, 1.0, steps=40)
    decay = model.averaging_decay
    horizon = 1.0 / (1.0 - decay)
    assert horizon == pytest.approx(EMA_HORIZON_FRACTION * 40)
    assert decay ** 40 < 1e-6  # the evaluated average holds (almost) nothing of the initial weights


def test_a_fixed_decay_longer_than_the_run_is_warned_about() -> None:
    with pytest.warns(UserWarning, match="ema_decay=0.9999 averages over about 10000 steps but the run has 3"):
        fitted(Supervised, 1.0, steps=3, ema_decay=0.9999)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_every_method_trains_from_num_classes_and_input_shape_alone(method: type) -> None:
    x, y = blobs(40, d=3)
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:8], y[:8], num_labeled=6)
    model = method(dm.num_classes, dm.input_shape)
    fit = trainer(2)
    fit.fit(model, datamodule=dm)
    assert fit.global_step == 2
    assert all(math.isfinite(float(v)) for k, v in fit.callback_metrics.items() if k.startswith("train/"))


# ---------------------------------------------------------------------------- CPU threads
def test_small_models_run_on_one_thread_unless_the_variable_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    assert threads.choose_num_threads(10_000) == 1
    monkeypatch.setattr(threads, "idle_cores", lambda: 1)
    assert threads.choose_num_threads(10 * threads.SMALL_MODEL_PARAMETERS) == 1  # a busy machine
    monkeypatch.setenv(threads.ENV_VAR, "3")
    assert threads.choose_num_threads(10_000) == 3
    monkeypatch.setenv(threads.ENV_VAR, "two")
    with pytest.raises(ValueError, match="SSL_KIT_NUM_THREADS must be a positive integer"):
        threads.choose_num_threads(10_000)


def test_thread_policy_callback_sets_torch_threads_at_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.ENV_VAR, "2")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        fit = trainer(1)
        fit.callbacks.append(threads.ThreadPolicy())
        x, y = blobs(40)
        dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:8], y[:8], num_labeled=6)
        fit.fit(Supervised(2, (4,)), datamodule=dm)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------- the small-data grid
SMALL_GRID = Path(__file__).resolve().parents[1] / "configs" / "benchmark" / "small"


@pytest.mark.parametrize("method", sorted(p.stem for p in (SMALL_GRID / "methods").glob("*.yaml")))
def test_small_grid_method_with_defaults_runs_on_the_digits(method: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from ssl_kit.benchmark import load_grid
    from ssl_kit.cli import main

    grid = load_grid(str(SMALL_GRID.parent / "small.yaml"))
    assert method in grid.methods and {"rings", "moons", "digits", "mnist100"} <= set(grid.settings)
    monkeypatch.chdir(tmp_path)
    main(["fit", "--config", str(SMALL_GRID / "methods" / f"{method}.yaml"),
          "--config", str(SMALL_GRID / "datasets" / "digits.yaml"), "--trainer.fast_dev_run", "true",
          "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"])
