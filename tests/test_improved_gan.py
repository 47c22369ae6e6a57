"""Improved GAN: losses against an explicit (K+1)-way softmax, step isolation, building, fitting, DDP."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ssl_kit.datamodules import LabeledUnlabeledDataModule, MixedBatch
from ssl_kit.callbacks import SampleGrid
from ssl_kit.losses import feature_matching_loss, gan_supervised_loss, gan_unsupervised_loss, real_logit
from ssl_kit.methods import ImprovedGAN
from ssl_kit.nets.gan import GanConvDiscriminator, GanMLPDiscriminator, GanMLPGenerator
from test_ddp import run_ddp_fit


# ---------------------------------------------------------------- losses vs. explicit K+1 softmax
def explicit_log_probs(logits: torch.Tensor) -> torch.Tensor:
    """log softmax over K+1 classes whose last logit is 0, in float64."""
    full = torch.cat([logits.double(), torch.zeros(len(logits), 1, dtype=torch.float64)], dim=1)
    return torch.log_softmax(full, dim=1)


def reference_losses(l_lab, y, l_unl, l_fake, smoothing=0.0):
    """Eqs. 4-5 written directly with p_model(y|x) over K+1 classes (fake = last class)."""
    lp_lab, lp_unl, lp_fake = explicit_log_probs(l_lab), explicit_log_probs(l_unl), explicit_log_probs(l_fake)
    k = l_lab.shape[1]
    # log P(real|x) = log sum_{k<=K} p(k|x), summed from the explicit softmax's probabilities
    log_real_lab = torch.logsumexp(lp_lab[:, :k], dim=1)
    # -log p(y | x, y < K+1) = -log p(y|x) + log P(real|x)
    sup = -(lp_lab[torch.arange(len(y)), y] - log_real_lab).mean()
    log_d_unl = torch.logsumexp(lp_unl[:, :k], dim=1)  # log D(x) = log(1 - p(fake|x))
    log_1md_unl = lp_unl[:, k]
    real_term = -((1 - smoothing) * log_d_unl + smoothing * log_1md_unl).mean()
    fake_term = -lp_fake[:, k].mean()  # -log(1 - D(G(z))) = -log p(fake | G(z))
    return sup, 0.5 * real_term + 0.5 * fake_term


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_losses_match_explicit_softmax(smoothing: float) -> None:
    g = torch.Generator().manual_seed(0)
    l_lab, l_unl, l_fake = (3 * torch.randn(16, 10, generator=g) for _ in range(3))
    y = torch.randint(0, 10, (16,), generator=g)
    sup_ref, unsup_ref = reference_losses(l_lab, y, l_unl, l_fake, smoothing)
    torch.testing.assert_close(gan_supervised_loss(l_lab, y).double(), sup_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gan_unsupervised_loss(l_unl, l_fake, label_smoothing=smoothing).double(), unsup_ref,
                               rtol=1e-5, atol=1e-6)


def test_reference_code_form_of_unsupervised_loss() -> None:
    """The authors' form -1/2 E lse + 1/2 E softplus(lse_unl) + 1/2 E softplus(lse_fake) is the same loss."""
    g = torch.Generator().manual_seed(1)
    l_unl, l_fake = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    lse_u, lse_f = torch.logsumexp(l_unl, 1), torch.logsumexp(l_fake, 1)
    ref = -0.5 * lse_u.mean() + 0.5 * F.softplus(lse_u).mean() + 0.5 * F.softplus(lse_f).mean()
    torch.testing.assert_close(gan_unsupervised_loss(l_unl, l_fake), ref)


@pytest.mark.parametrize("value", [100.0, -100.0])
def test_losses_extreme_logits_finite_and_correct(value: float) -> None:
    logits = torch.full((4, 10), value)
    logits[:, 0] += 1.0  # distinct classes
    y = torch.zeros(4, dtype=torch.long)
    sup, unsup = gan_supervised_loss(logits, y), gan_unsupervised_loss(logits, logits)
    sup_ref, unsup_ref = reference_losses(logits, y, logits, logits)
    assert torch.isfinite(sup) and torch.isfinite(unsup)
    torch.testing.assert_close(sup.double(), sup_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(unsup.double(), unsup_ref, rtol=1e-5, atol=1e-5)
    # gradients are finite as well
    x = logits.clone().requires_grad_(True)
    (gan_supervised_loss(x, y) + gan_unsupervised_loss(x, x)).backward()
    assert torch.isfinite(x.grad).all()
    # with value = +100 the real term vanishes and the fake term is ~ lse = 100 + log(9 + e)
    if value > 0:
        expected = 0.5 * (value + math.log(9 + math.e))
        assert unsup.item() == pytest.approx(expected, rel=1e-5)


def test_explicit_fake_logit_equals_implicit_zero() -> None:
    """A (K+1)-th logit is equivalent to shifting every class logit by minus it."""
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(6, 11, generator=g)
    shifted = logits[:, :10] - logits[:, 10:]
    y = torch.randint(0, 10, (6,), generator=g)
    torch.testing.assert_close(real_logit(logits, True), real_logit(shifted))
    torch.testing.assert_close(gan_supervised_loss(logits, y, True), gan_supervised_loss(shifted, y))
    torch.testing.assert_close(gan_unsupervised_loss(logits, logits.flip(0), True),
                               gan_unsupervised_loss(shifted, shifted.flip(0)))


def test_feature_matching() -> None:
    g = torch.Generator().manual_seed(3)
    real = torch.randn(32, 20, generator=g)
    assert feature_matching_loss(real, real).item() == 0.0
    assert feature_matching_loss(real, real[torch.randperm(32, generator=g)]).item() == pytest.approx(0.0, abs=1e-12)
    fake = torch.randn(16, 20, generator=g)
    diff = real.mean(0) - fake.mean(0)
    torch.testing.assert_close(feature_matching_loss(real, fake), (diff**2).mean())
    torch.testing.assert_close(feature_matching_loss(real, fake, "l1"), diff.abs().mean())
    with pytest.raises(ValueError, match="l1"):
        feature_matching_loss(real, fake, "l3")


def _hand_features(model: ImprovedGAN, x: torch.Tensor) -> torch.Tensor:
    """Last hidden layer of the MLP discriminator, written out: ReLU(x W_l^T + b_l), W = g v / ||v|| per row."""
    h = x.flatten(1)
    for layer in model.discriminator.layers:
        w = layer.scale[:, None] * layer.direction / layer.direction.norm(dim=1, keepdim=True)
        h = torch.relu(h @ w.T + layer.bias)
    return h


def test_generator_loss_is_feature_matching_of_the_last_hidden_layer() -> None:
    """Eq. (Sec. 3.1): ||E f(x) - E f(G(z))||^2 on the discriminator's last hidden layer (noise off)."""
    torch.manual_seed(0)
    model = ImprovedGAN(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [16, 8]},
                        generator_kwargs={"hidden": [16], "output_activation": "none"}, feature_matching="l2")
    model.eval()
    x = torch.randn(20, 5)
    torch.manual_seed(1)
    loss = model.generator_loss(x)
    torch.manual_seed(1)
    fake = model.generator.generate(20)
    with torch.no_grad():
        expected = (_hand_features(model, x).mean(0) - _hand_features(model, fake).mean(0)).square().mean()
    # rtol: the layers add 1e-6 under the norm's square root (a guard the formula above leaves out)
    torch.testing.assert_close(loss.detach(), expected, atol=1e-6, rtol=1e-3)
    assert loss.item() > 0


# ---------------------------------------------------------------- networks and building
@pytest.mark.parametrize("shape", [(2,), (5,), (784,), (1, 28, 28), (3, 32, 32), (3, 8, 8)])
def test_builds_from_num_classes_and_shape(shape: tuple[int, ...]) -> None:
    model = ImprovedGAN(num_classes=4, input_shape=shape)
    x = torch.rand(6, *shape)
    assert model(x).shape == (6, 4)
    assert model.sample(6).shape == (6, *shape)
    expected = GanConvDiscriminator if len(shape) == 3 and min(shape[1:]) >= 9 else GanMLPDiscriminator
    assert isinstance(model.discriminator, expected)


def test_mnist_discriminator_sizes() -> None:
    d = GanMLPDiscriminator((784,), 10)
    widths = [layer.direction.shape[0] for layer in d.layers]
    assert widths == [1000, 500, 250, 250, 250] and d.head.direction.shape == (10, 250)
    assert d.input_noise.std == 0.3 and d.noise.std == 0.5


def test_explicit_fake_logit_and_generic_backbone() -> None:
    model = ImprovedGAN(num_classes=3, input_shape=(5,), explicit_fake_logit=True, backbone="mlp",
                        backbone_kwargs={"hidden": [8]})
    logits, features = model.discriminator.discriminate(torch.randn(4, 5))
    assert logits.shape == (4, 4) and features.shape == (4, 8)
    assert model(torch.randn(4, 5)).shape == (4, 3)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="generator_batch"):
        ImprovedGAN(num_classes=3, input_shape=(5,), generator_batch="other")
    with pytest.raises(ValueError, match="unsup_weight"):
        ImprovedGAN(num_classes=3, input_shape=(5,), unsup_weight=-1.0)
    with pytest.raises(ValueError, match="9x9"):
        GanConvDiscriminator((3, 4, 4), 10)
    with pytest.raises(ValueError, match="softplus"):
        GanMLPGenerator((5,), output_activation="relu")


@pytest.mark.parametrize("name", ["sigmoid", "softplus"])
def test_generator_output_activation_sets_range(name: str) -> None:
    gen = GanMLPGenerator((7,), latent_dim=4, hidden=[8], output_activation=name)
    with torch.no_grad():
        gen.net[-2].bias.fill_(6.0)  # pre-activations 6 +- ||features|| (< 4 here): all well above 1
        x = gen.generate(32)
    assert x.shape == (32, 7) and bool((x > 0).all())
    # the sigmoid keeps [0, 1] data in range; softplus is unbounded above
    assert bool((x < 1).all()) if name == "sigmoid" else bool((x > 1).all())


@pytest.mark.parametrize(("low", "high", "squash"), [(0.0, 1.0, True), (-1.5, 1.5, False), (0.0, 255.0, False)])
def test_auto_output_squashes_only_data_in_the_unit_interval(low: float, high: float, squash: bool) -> None:
    """``output_activation: auto`` (the MLP generator's default) is decided on the first batch and saved."""
    model = ImprovedGAN(num_classes=2, input_shape=(2,))
    x = torch.linspace(low, high, 20).reshape(10, 2)
    model._data_dependent_init(MixedBatch(x[:4], torch.tensor([0, 1, 0, 1]), x[4:]))
    with torch.no_grad():
        model.generator.net[-2].bias.fill_(-6.0)  # pre-activations well below 0
    generated = model.sample(16)
    assert bool((generated > 0).all()) is squash  # a sigmoid keeps them in (0, 1); the identity does not
    state = {k: v for k, v in model.state_dict().items() if k.endswith("squash")}
    assert [bool(v) for v in state.values()] == [squash]
    fresh = ImprovedGAN(num_classes=2, input_shape=(2,))
    fresh.load_state_dict(model.state_dict())
    assert bool(fresh.generator.net[-1].squash) is squash
    noise = model.discriminator
    assert (noise.input_noise.std, noise.noise.std) == (0.05, 0.1)  # low-dimensional inputs: small noise
    big = ImprovedGAN(num_classes=2, input_shape=(64,)).discriminator
    assert (big.input_noise.std, big.noise.std) == (0.3, 0.5)


# ---------------------------------------------------------------- steps touch only their network
def small_batch() -> MixedBatch:
    g = torch.Generator().manual_seed(4)
    return MixedBatch(torch.randn(6, 5, generator=g), torch.arange(6) % 3, torch.randn(10, 5, generator=g))


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> set[str]:
    return {k for k, v in module.state_dict().items() if not torch.equal(before[k], v)}


def test_each_step_changes_only_its_network() -> None:
    model = ImprovedGAN(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [16, 8]},
                        generator_kwargs={"hidden": [16], "output_activation": "none"})
    opt_d, opt_g = model.configure_optimizers()[0]
    batch = small_batch()
    model._data_dependent_init(batch)
    x_d, x_g = model._split_unlabeled(batch.x_u)
    assert len(x_d) == len(x_g) == 5 and not torch.equal(x_d, x_g)

    d_before, g_before = snapshot(model.discriminator), snapshot(model.generator)
    for opt in (opt_d, opt_g):
        opt.zero_grad()
    sup, unsup, _ = model.discriminator_losses(batch, x_d)
    (sup + unsup).backward()
    assert all(p.grad is None for p in model.generator.parameters())
    opt_d.step()
    opt_g.step()  # no gradients: must not move the generator
    assert changed(d_before, model.discriminator) and not changed(g_before, model.generator)

    d_before, g_before = snapshot(model.discriminator), snapshot(model.generator)
    model.discriminator.requires_grad_(False)  # what toggled_optimizer(opt_g) does
    for opt in (opt_d, opt_g):
        opt.zero_grad(set_to_none=True)
    model.generator_loss(x_g).backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    opt_g.step()
    opt_d.step()
    assert changed(g_before, model.generator) and not changed(d_before, model.discriminator)


# ---------------------------------------------------------------- fitting
def blobs_module(blobs, **kwargs) -> LabeledUnlabeledDataModule:
    x, y, xt, yt = blobs
    return LabeledUnlabeledDataModule.from_tensors(x, y, xt, yt, num_labeled=15, labeled_batch_size=15,
                                                   unlabeled_batch_size=40, **kwargs)


class _ReplayAverage(pl.Callback):
    """The exponential average the model should hold, replayed from the weights after each batch."""

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.average: dict[str, torch.Tensor] | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        weights = {k: v.detach().clone() for k, v in pl_module.discriminator.state_dict().items()}
        if self.average is None:
            self.average = weights  # the first update copies the weights
        else:
            self.average = {k: self.decay * self.average[k] + (1 - self.decay) * weights[k]
                            if weights[k].is_floating_point() else weights[k] for k in weights}


class _FakeColumnWins(ImprovedGAN):
    """Unlabeled logits whose explicit fake column beats every class, classes balanced among themselves."""

    def discriminator_losses(self, batch, x_u):
        losses = super().discriminator_losses(batch, x_u)
        crafted = torch.zeros_like(losses.logits_unlabeled)
        crafted[torch.arange(len(crafted)), torch.arange(len(crafted)) % self.num_classes] = 1.0
        crafted[:, self.num_classes] = 100.0
        return losses._replace(logits_unlabeled=crafted)


def test_rarest_class_share_ignores_the_fake_column(blobs, tmp_path: Path) -> None:
    model = _FakeColumnWins(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [16]},
                            generator_kwargs={"hidden": [16], "output_activation": "none"},
                            explicit_fake_logit=True, generator_batch="same")
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         use_distributed_sampler=False, limit_val_batches=0)
    trainer.fit(model, blobs_module(blobs))
    # 3 classes over the batch in turn; counting the fake column (argmax everywhere) would give 0
    batch_size = blobs_module(blobs).unlabeled_batch_size
    assert trainer.callback_metrics["train/rarest_class_share"].item() == pytest.approx(
        3 * (batch_size // 3) / batch_size)


def test_tiny_fit_counts_batches_and_samples(blobs, tmp_path: Path) -> None:
    model = ImprovedGAN(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [32, 16]},
                        generator_kwargs={"hidden": [32], "output_activation": "none"}, ema_decay=0.9)
    replay = _ReplayAverage(0.9)
    trainer = pl.Trainer(max_steps=12, logger=pl.loggers.CSVLogger(tmp_path), enable_checkpointing=False,
                         enable_progress_bar=False, use_distributed_sampler=False, val_check_interval=6,
                         check_val_every_n_epoch=None,
                         callbacks=[SampleGrid(every_n_epochs=1, num_samples=16), replay])
    d_init = snapshot(model.discriminator)
    trainer.fit(model, blobs_module(blobs, num_val=30))  # a validation split: val/* is logged
    assert trainer.global_step == 12  # one step per batch, not two
    assert trainer.fit_loop.epoch_loop.batch_progress.total.completed == 12
    assert bool(model.initialised) and changed(d_init, model.discriminator)
    metrics = trainer.callback_metrics
    for name in ("train/loss", "train/loss_sup", "train/loss_unsup", "train/loss_gen", "val/error"):
        assert torch.isfinite(metrics[name]), name
    assert 0.0 <= metrics["train/rarest_class_share"].item() <= 1.0
    # manual optimisation: the average is updated once per batch (regression: it never was)
    assert int(model.ema.n_averaged) == 12
    # the fixed scales g are set by the data-dependent init before the first update, so the
    # average of a constant equals it exactly (an average never updated keeps g = 1)
    for layer, avg in zip(model.discriminator.layers, model.ema.module.layers):
        assert torch.equal(avg.scale, layer.scale) and not torch.allclose(avg.scale, torch.ones_like(avg.scale))
    # the average started from the weights (not zero) and folds in every batch's weights once
    ema = model.ema.module.state_dict()
    for key, expected in replay.average.items():
        torch.testing.assert_close(ema[key], expected, atol=1e-6, rtol=1e-5, msg=key)
    # 2-D/5-D data cannot be drawn as images: the callback writes a scatter of samples instead
    assert list(Path(trainer.log_dir).glob("samples/*.png"))


def test_schedule_decays_both_optimizers(blobs, tmp_path: Path) -> None:
    model = ImprovedGAN(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [8]},
                        generator_kwargs={"hidden": [8], "output_activation": "none"}, lr_decay_start=0.5, lr=1e-3)
    trainer = pl.Trainer(max_steps=10, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         use_distributed_sampler=False, limit_val_batches=0)
    trainer.fit(model, blobs_module(blobs))
    for opt in trainer.optimizers:
        assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # linear decay reached 0 at step 10


def test_ddp_improved_gan_toy(tmp_path: Path) -> None:
    """Plain ``ddp`` (the CLI turns on find_unused_parameters for the GAN); both ranks end with the same weights."""
    out = tmp_path / "weights"
    ranks = run_ddp_fit("configs/improved_gan/toy_rings.yaml", tmp_path,
                        "--trainer.callbacks+=gan_ddp_probe.RecordWeights", f"--trainer.callbacks.out_dir={out}")
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert len(ranks[0]["batches"]) == len(ranks[1]["batches"]) == 6
    for x_l, _, x_u in ranks[0]["batches"]:
        assert len(x_l) == 8 and len(x_u) == 100  # global 16 + 200 over 2 ranks
    w0, w1 = torch.load(out / "weights0.pt"), torch.load(out / "weights1.pt")
    assert bool(w0["initialised"])
    for key in w0:  # data-dependent init broadcast from rank 0, gradients averaged: identical weights
        torch.testing.assert_close(w0[key], w1[key], msg=key)


def test_adam_sqrt_eps_matches_reference_update() -> None:
    """Equals torch Adam when eps = 0; otherwise p -= lr * m_hat / sqrt(v_hat + eps) (the authors' Adam)."""
    from ssl_kit.methods.optim import AdamSqrtEps

    g = torch.Generator().manual_seed(5)
    start = torch.randn(7, generator=g)
    p1, p2 = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    o1, o2 = AdamSqrtEps([p1], lr=0.1, betas=(0.5, 0.999), eps=0.0), torch.optim.Adam([p2], lr=0.1, betas=(0.5, 0.999), eps=0.0)
    for _ in range(4):
        for p, o in ((p1, o1), (p2, o2)):
            o.zero_grad()
            (p**2).sum().backward()
            o.step()
    torch.testing.assert_close(p1, p2)
    # one step with a tiny gradient: m_hat = g, v_hat = g^2, step = lr * g / sqrt(g^2 + eps)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = AdamSqrtEps([p], lr=1.0, eps=1e-8)
    p.grad = torch.full((1,), 1e-5)
    opt.step()
    assert p.item() == pytest.approx(-1e-5 / math.sqrt(1e-10 + 1e-8), rel=1e-5)


def test_plain_ddp_wrapper_refused_with_advice(blobs) -> None:
    """A DDP wrapper without find_unused_parameters is refused at fit start, naming the flag."""

    class _FakeStrategy:
        model = torch.nn.parallel.DistributedDataParallel.__new__(torch.nn.parallel.DistributedDataParallel)

    _FakeStrategy.model.find_unused_parameters = False
    model = ImprovedGAN(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [8]},
                        generator_kwargs={"hidden": [8], "output_activation": "none"})

    class _FakeTrainer:
        strategy = _FakeStrategy()

    model.trainer = _FakeTrainer()  # type: ignore[assignment]
    with pytest.raises(ValueError, match="ddp_find_unused_parameters_true"):
        model.on_fit_start()


def test_single_discriminator_pass_equals_one_pass_per_part() -> None:
    """Without batch statistics (and with the noise off), one pass over the concatenated parts gives each
    part's logits exactly; a discriminator with batch norm keeps one pass per part."""
    torch.manual_seed(0)
    model = ImprovedGAN(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [8, 6], "input_noise_std": 0.0,
                                                                          "noise_std": 0.0},
                        generator_kwargs={"hidden": [8], "output_activation": "none"})
    parts = [torch.randn(4, 5), torch.randn(7, 5), torch.randn(2, 5)]
    joint = model._discriminate_parts(*parts)
    for x, logits in zip(parts, joint):
        torch.testing.assert_close(logits, model.discriminator.discriminate(x)[0])
    batch_norm = torch.nn.BatchNorm1d(6)
    model.discriminator.layers.append(batch_norm)  # batch statistics: one pass per part again
    batch_sizes: list[int] = []
    batch_norm.register_forward_hook(lambda module, inputs, output: batch_sizes.append(len(inputs[0])))
    model._discriminate_parts(*parts)
    assert batch_sizes == [4, 7, 2]
