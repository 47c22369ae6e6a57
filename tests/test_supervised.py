"""The supervised baseline and the shared SSLModule behaviour."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from ssl_kit.datamodules import LabeledUnlabeledDataModule, ToyDataModule
from ssl_kit.methods import ImprovedGAN, LadderNetwork, Supervised
from ssl_kit.methods.base import linear_decay
from ssl_kit.methods.optim import DecayPhaseBeta1, adam


def make_trainer(tmp_path, **kwargs) -> pl.Trainer:
    args = dict(
        max_steps=60, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        use_distributed_sampler=False, default_root_dir=tmp_path, enable_model_summary=False,
    )
    args.update(kwargs)
    return pl.Trainer(**args)


@pytest.mark.parametrize("shape", [(5,), (3, 8, 8), (1, 28, 28)])
def test_defaults_build_a_model_for_any_shape(shape) -> None:
    model = Supervised(num_classes=4, input_shape=shape)
    model.eval()
    assert model(torch.randn(2, *shape)).shape == (2, 4)


def test_learns_blobs_and_reports_percent_metrics(blobs, tmp_path) -> None:
    pl.seed_everything(0)
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, labeled_batch_size=30, unlabeled_batch_size=30)
    model = Supervised(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [32]}, lr=0.01)
    trainer = make_trainer(tmp_path)
    trainer.fit(model, dm)
    result = trainer.test(model, dm, verbose=False)[0]
    assert result["test/error"] == pytest.approx(100.0 - result["test/acc"])
    assert result["test/error"] < 5.0  # separable blobs
    probs = torch.cat(trainer.predict(model, dm))
    assert probs.shape == (90, 3) and torch.allclose(probs.sum(1), torch.ones(90))
    assert (probs.argmax(1) == blobs[3]).float().mean() * 100 == pytest.approx(result["test/acc"], abs=1e-3)
    confused = [
        100.0 * ((blobs[3] == true) & (probs.argmax(1) == pred)).sum().item() / (blobs[3] == true).sum().item()
        for true in range(3) for pred in range(3) if pred != true
    ]
    assert result["test/largest_confusion"] == pytest.approx(max(confused), abs=1e-3)


def test_supervised_ignores_unlabeled_inputs(blobs) -> None:
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, labeled_batch_size=30, unlabeled_batch_size=30)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    model = Supervised(num_classes=3, input_shape=(5,), backbone_kwargs={"batch_norm": False})
    torch.manual_seed(0)
    a = model.training_step(batch, 0)
    torch.manual_seed(0)
    b = model.training_step(batch._replace(x_u=torch.randn_like(batch.x_u) * 1e3), 0)
    assert torch.equal(a, b)


def test_linear_decay_schedule() -> None:
    assert [linear_decay(s, 100, 0.5) for s in (0, 49, 50, 75, 100)] == [1.0, 1.0, 1.0, 0.5, 0.0]
    assert linear_decay(99, 100, 1.0) == 1.0


def test_ema_weights_used_for_evaluation(tmp_path) -> None:
    dm = ToyDataModule(num_train=200, num_test=50)
    model = Supervised(num_classes=2, input_shape=(2,), ema_decay=0.9)
    trainer = make_trainer(tmp_path, max_steps=30)
    trainer.fit(model, dm)
    with torch.no_grad():
        for p in model.classifier.parameters():
            p.zero_()  # the raw network now predicts class 0 everywhere
    _, _, x_test, y_test = dm.tensors
    with torch.no_grad():
        ema_error = 100 * (model.ema.module.eval()(x_test).argmax(1) != y_test).float().mean().item()
    assert ema_error != pytest.approx(100 * (y_test != 0).float().mean().item())  # the two networks differ
    assert trainer.test(model, dm, verbose=False)[0]["test/error"] == pytest.approx(ema_error)


class _RecordRate(pl.Callback):
    """Records the learning rate and Adam's beta1 each update runs with."""

    def __init__(self) -> None:
        self.rates: list[float] = []
        self.beta1: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        group = trainer.optimizers[0].param_groups[0]
        self.rates.append(group["lr"])
        self.beta1.append(group["betas"][0])


EPOCH_DECAY_MODELS = {
    "supervised": lambda: Supervised(num_classes=3, input_shape=(5,), lr=0.01, lr_epoch_decay=0.5),
    "ladder": lambda: LadderNetwork(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": (8,)}, lr=0.01, lr_epoch_decay=0.5),
    "improved_gan": lambda: ImprovedGAN(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": (8,)},
                                        generator_kwargs={"hidden": (8,), "latent_dim": 4}, lr=0.01,
                                        lr_epoch_decay=0.5, data_init=False),
}


@pytest.mark.parametrize("method", EPOCH_DECAY_MODELS)
def test_epoch_decay_multiplies_the_rate_once_per_epoch(method: str, blobs, tmp_path) -> None:
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, labeled_batch_size=10,
                                                 unlabeled_batch_size=10, steps_per_epoch=4)
    model = EPOCH_DECAY_MODELS[method]()
    record = _RecordRate()
    make_trainer(tmp_path, max_steps=10, callbacks=[record]).fit(model, dm)
    assert record.rates == pytest.approx([0.01] * 4 + [0.005] * 4 + [0.0025] * 2)


@pytest.mark.parametrize("factor", [0.0, 1.5, -0.9])
def test_epoch_decay_outside_unit_interval_is_refused(factor) -> None:
    with pytest.raises(ValueError, match="lr_epoch_decay"):
        Supervised(num_classes=3, input_shape=(5,), lr_epoch_decay=factor)


def test_methods_use_fused_adam_with_the_default_updates() -> None:
    """``ssl_kit.methods.optim.adam`` fuses on CPU and follows torch's reference (single-tensor) Adam."""
    model = Supervised(3, (4,))
    optimizer = model.configure_optimizers()["optimizer"]
    assert optimizer.defaults["fused"] is True

    g = torch.Generator().manual_seed(0)
    start = torch.randn(6, 5, generator=g)
    targets = torch.randn(6, 5, generator=g)
    fused_p, plain_p = start.clone().requires_grad_(), start.clone().requires_grad_()
    fused = adam([fused_p], lr=0.05, betas=(0.8, 0.99), weight_decay=0.01)
    plain = torch.optim.Adam([plain_p], lr=0.05, betas=(0.8, 0.99), weight_decay=0.01, foreach=False)
    for _ in range(20):
        for p, opt in ((fused_p, fused), (plain_p, plain)):
            opt.zero_grad()
            ((p - targets) ** 4).sum().backward()
            opt.step()
    assert not torch.equal(fused_p, start)
    torch.testing.assert_close(fused_p, plain_p)


class _FixedLogits(torch.nn.Module):
    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits


def test_calibration_error_is_computed_on_probabilities() -> None:
    """Logits inside [0, 1] must not be read as probabilities by the calibration error."""
    logits = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.8, 0.1]])
    y = torch.tensor([0, 0])
    model = Supervised(3, (5,))
    model.classifier = _FixedLogits(logits)
    model.test_metrics.update(*model._evaluate((torch.zeros(2, 5), y)))
    confidence, prediction = logits.softmax(-1).max(-1)  # 0.539 and 0.489: two of the 15 bins
    expected = 100 * ((prediction == y).float() - confidence).abs().mean()  # percent, like the other rates
    assert model.test_metrics.compute()["test/ece"].item() == pytest.approx(expected.item(), abs=1e-4)


@pytest.mark.parametrize(("schedule", "expected"), [
    ({"lr_decay_start": 0.5}, [0.9] * 5 + [0.5] * 5),  # linear decay from update 5 of 10 (vat_tf's switch)
    ({"lr_decay_start": 0.25}, [0.9] * 3 + [0.5] * 7),  # 2.5 rounds up: update 3 is the first decayed one
    ({"lr_epoch_decay": 0.5}, [0.9] * 4 + [0.5] * 6),  # the first epoch (4 updates) is undecayed
    ({"lr_decay_start": 1.0}, [0.9] * 10),  # constant rate: no decay phase, no switch
    ({"lr_epoch_decay": 1.0}, [0.9] * 10),  # the same constant rate, written as an epoch factor
])
def test_decay_beta1_switches_where_the_rate_starts_to_decay(schedule, expected, blobs, tmp_path) -> None:
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, labeled_batch_size=10,
                                                 unlabeled_batch_size=10, steps_per_epoch=4)
    model = Supervised(num_classes=3, input_shape=(5,), lr=0.01, decay_beta1=0.5, **schedule)
    record = _RecordRate()
    make_trainer(tmp_path, max_steps=10, callbacks=[record]).fit(model, dm)
    assert record.beta1 == pytest.approx(expected)
    decaying = [i for i, r in enumerate(record.rates) if r < 0.01 - 1e-12]
    first = expected.index(0.5) if 0.5 in expected else None
    if first is None:
        assert decaying == []
    else:
        assert decaying[0] in (first, first + 1)  # the factor is still 1 at a whole-number start
    assert model.trainer.optimizers[0].param_groups[0]["betas"][1] == 0.999


def test_decay_beta1_survives_a_resume(blobs, tmp_path) -> None:
    """The switched beta1 is part of the optimiser state: a run resumed in the decay phase keeps it."""
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, labeled_batch_size=10,
                                                 unlabeled_batch_size=10, steps_per_epoch=4)
    model = Supervised(num_classes=3, input_shape=(5,), lr=0.01, decay_beta1=0.5, lr_decay_start=0.5)
    trainer = make_trainer(tmp_path, max_steps=7)
    trainer.fit(model, dm)
    trainer.save_checkpoint(tmp_path / "mid.ckpt")
    resumed = Supervised(num_classes=3, input_shape=(5,), lr=0.01, decay_beta1=0.5, lr_decay_start=0.5)
    record = _RecordRate()
    make_trainer(tmp_path, max_steps=10, callbacks=[record]).fit(resumed, dm, ckpt_path=tmp_path / "mid.ckpt")
    assert record.beta1 == pytest.approx([0.5] * 3)


@pytest.mark.parametrize("beta1", [-0.1, 1.0])
def test_decay_beta1_outside_unit_interval_is_refused(beta1) -> None:
    with pytest.raises(ValueError, match="decay_beta1"):
        Supervised(num_classes=3, input_shape=(5,), decay_beta1=beta1)


def test_decay_beta1_needs_an_optimiser_with_betas() -> None:
    sgd = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        DecayPhaseBeta1(sgd, lambda step: 1.0, 0.5, 3)
