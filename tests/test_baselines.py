"""Pseudo-Label, Π-model, Mean Teacher, FixMatch: their losses, the teacher, the two views, and runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

from ssl_kit.datamodules import LabeledUnlabeledDataModule
from ssl_kit.datamodules.strong_augment import BatchRandAugment, NoiseDropout, build_strong_augmentation
from ssl_kit.datamodules.transforms import BatchTranslateFlip
from ssl_kit.losses import (
    confident_pseudo_labels,
    fixmatch_loss,
    linear_rampup,
    pseudo_label_loss,
    rampup,
    sigmoid_rampup,
    softmax_mse,
)
from ssl_kit.methods import FixMatch, MeanTeacher, PiModel, PseudoLabel
from ssl_kit.methods.base import cosine_decay
from ssl_kit.methods.optim import sgd

NET = {"hidden": [16, 16], "noise_std": 0.1}


def probs_to_logits(p: list[list[float]]) -> torch.Tensor:
    return torch.tensor(p).log()


# ----------------------------------------------------------------------------- losses
def test_rampups_take_their_published_values() -> None:
    assert linear_rampup(0.1, 0.4) == pytest.approx(0.25)
    assert linear_rampup(0.6, 0.4) == 1.0 and linear_rampup(0.0, 0.4) == 0.0
    assert sigmoid_rampup(0.2, 0.4) == pytest.approx(math.exp(-5 * 0.5**2))
    assert sigmoid_rampup(0.0, 0.4) == pytest.approx(math.exp(-5))
    assert sigmoid_rampup(0.5, 0.4) == 1.0
    assert linear_rampup(0.0, 0.0) == sigmoid_rampup(0.0, 0.0) == 1.0  # no ramp-up
    assert rampup("sigmoid", 0.2, 0.4) == sigmoid_rampup(0.2, 0.4)
    with pytest.raises(ValueError, match="rampup"):
        rampup("cosine", 0.2, 0.4)


def test_confidence_mask_and_hard_labels() -> None:
    logits = probs_to_logits([[0.96, 0.03, 0.01], [0.5, 0.3, 0.2], [0.02, 0.02, 0.96], [0.05, 0.95, 0.0 + 1e-9]])
    labels, mask = confident_pseudo_labels(logits, 0.95)
    assert labels.tolist() == [0, 0, 2, 1]
    assert mask.tolist() == [1.0, 0.0, 1.0, 1.0]  # 0.95 itself passes (>=)


def test_pseudo_label_loss_is_masked_cross_entropy_over_the_whole_batch() -> None:
    logits = probs_to_logits([[0.97, 0.03], [0.6, 0.4], [0.01, 0.99]])
    expected = (-math.log(0.97) + 0.0 - math.log(0.99)) / 3  # the unconfident row counts as 0, not dropped
    assert pseudo_label_loss(logits, 0.95).item() == pytest.approx(expected, rel=1e-5)
    assert pseudo_label_loss(logits, 0.0).item() == pytest.approx((expected * 3 - math.log(0.6)) / 3, rel=1e-5)


def test_fixmatch_loss_takes_labels_from_weak_and_loss_from_strong() -> None:
    weak = probs_to_logits([[0.98, 0.02], [0.7, 0.3], [0.04, 0.96]])
    strong = probs_to_logits([[0.4, 0.6], [0.1, 0.9], [0.2, 0.8]]).requires_grad_()
    expected = (-math.log(0.4) - math.log(0.8)) / 3
    loss = fixmatch_loss(weak.requires_grad_(), strong, threshold=0.95)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert weak.grad is None  # pseudo-labels are constants
    assert strong.grad[1].abs().sum() == 0 and strong.grad[0].abs().sum() > 0  # masked row gets no gradient


def test_softmax_mse_is_squared_difference_over_classes_and_batch() -> None:
    a = torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.0]], requires_grad=True)
    b = torch.tensor([[0.0, 0.0, 0.0], [2.0, -1.0, 0.0]], requires_grad=True)
    direct = ((a.softmax(-1) - b.softmax(-1)) ** 2).sum() / (2 * 3)
    loss = softmax_mse(a, b)
    assert loss.item() == pytest.approx(direct.item(), rel=1e-6)
    loss.backward()
    assert b.grad is None and a.grad.abs().sum() > 0


def test_cosine_schedule_and_sgd_decay_groups() -> None:
    assert cosine_decay(0, 100) == 1.0
    assert cosine_decay(100, 100) == pytest.approx(math.cos(7 * math.pi / 16))
    assert cosine_decay(50, 100) == pytest.approx(math.cos(7 * math.pi / 32))
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    groups = sgd(net.parameters(), lr=0.03, weight_decay=5e-4).param_groups
    assert [len(g["params"]) for g in groups] == [1, 3] and [g["weight_decay"] for g in groups] == [5e-4, 0.0]
    assert groups[0]["nesterov"] and groups[0]["momentum"] == 0.9


# ----------------------------------------------------------------------------- views
def test_randaugment_draws_independently_per_image_and_keeps_the_range() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 16).expand(64, 3, 16, 16) - 0.5  # 64 copies of one image, in [-0.5, 0.5]
    out = BatchRandAugment(num_ops=2, value_range=(-0.5, 0.5))(x)
    assert out.shape == x.shape and out.min() >= -0.5 - 1e-6 and out.max() <= 0.5 + 1e-6
    distinct = {tuple(row.flatten()[::37].tolist()) for row in out}
    assert len(distinct) > 50  # each copy drew its own operations, magnitudes and Cutout


def test_noise_dropout_is_the_strong_view_of_vectors() -> None:
    torch.manual_seed(0)
    x = torch.ones(2000, 10)
    out = NoiseDropout(noise_std=0.2, feature_drop=0.25)(x)
    assert (out == 0).float().mean().item() == pytest.approx(0.25, abs=0.02)
    assert out[out != 0].std().item() == pytest.approx(0.2, abs=0.02)
    assert isinstance(build_strong_augmentation((10,), None).transforms[0], NoiseDropout)


def _unlabeled_views(strong_view: str, x: torch.Tensor, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(len(x)) % 2
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:4], y[:4], num_labeled=4, labeled_batch_size=4,
                                                 unlabeled_batch_size=32, second_view=strong_view, **kwargs)
    dm.train_transform = BatchTranslateFlip(pad=2) if x.ndim == 4 else None
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    return batch.x_u, batch.x_u_strong


def test_two_views_are_independent_draws_of_the_same_examples() -> None:
    torch.manual_seed(0)
    values = torch.linspace(0.1, 0.9, 64)
    images = values.view(-1, 1, 1, 1).expand(64, 1, 8, 8).clone()  # example i is the constant image values[i]
    weak, second = _unlabeled_views("weak", images)
    for a, b in zip(weak, second):
        assert a.max() == b.max()  # the same example (its unique grey level) in both views
    shifted_differently = [not torch.equal(a != 0, b != 0) for a, b in zip(weak, second)]
    assert sum(shifted_differently) > len(weak) // 2  # the translations were drawn twice

    vectors = torch.randn(64, 5)
    plain, strong = _unlabeled_views("strong", vectors, strong_kwargs={"noise_std": 0.01, "feature_drop": 0.0})
    nearest = torch.cdist(strong, vectors).argmin(dim=1)
    assert torch.equal(vectors[nearest], plain)  # each strong row is a noisy copy of its own example
    assert not torch.equal(plain, strong)


def test_no_second_view_unless_asked() -> None:
    plain, second = _unlabeled_views(None, torch.randn(64, 5))  # type: ignore[arg-type]
    assert second is None


# ----------------------------------------------------------------------------- methods
def _vector_data(strong_view: str | None = "strong") -> LabeledUnlabeledDataModule:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 4, generator=g), torch.arange(200) % 2
    x[:, 0] += 3 * y
    return LabeledUnlabeledDataModule.from_tensors(x, y, x[:40], y[:40], num_labeled=10, labeled_batch_size=10,
                                                   unlabeled_batch_size=30, steps_per_epoch=3, second_view=strong_view,
                                                   strong_kwargs={"noise_std": 0.1, "feature_drop": 0.1})


def _trainer(tmp_path: Path, **kwargs) -> pl.Trainer:
    return pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                      use_distributed_sampler=False, default_root_dir=tmp_path, **kwargs)


@pytest.mark.parametrize("method", [PseudoLabel, PiModel, MeanTeacher, FixMatch])
def test_every_method_fast_dev_run(method: type, tmp_path: Path) -> None:
    model = method(2, (4,), backbone_kwargs=NET, threshold=0.5) if method in (PseudoLabel, FixMatch) else \
        method(2, (4,), backbone_kwargs=NET)
    trainer = _trainer(tmp_path, fast_dev_run=2)
    trainer.fit(model, datamodule=_vector_data())
    assert trainer.global_step == 2 and torch.isfinite(trainer.callback_metrics["train/loss"])


def test_fixmatch_on_images_with_wrn_sgd_and_cosine(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 3, 8, 8, generator=g), torch.arange(40) % 2
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:8], y[:8], num_labeled=4, labeled_batch_size=4,
                                                 unlabeled_batch_size=8, second_view="strong")
    model = FixMatch(2, (3, 8, 8), backbone="wrn28_2", optimizer="sgd", lr=0.03, weight_decay=5e-4,
                     schedule="cosine", ema_decay=0.999)
    _trainer(tmp_path, fast_dev_run=1).fit(model, datamodule=dm)
    assert isinstance(model.lr_schedulers().optimizer, torch.optim.SGD)


@pytest.mark.parametrize(("method", "augmented", "expected"), [
    (FixMatch, False, "strong"), (FixMatch, True, "strong"), (PiModel, False, "strong"), (PiModel, True, "weak"),
    (MeanTeacher, False, "strong"), (MeanTeacher, True, "weak"), (PseudoLabel, False, "strong"),
    (PseudoLabel, True, "weak"),
])
def test_a_method_asks_a_datamodule_without_a_second_view_for_its_own(tmp_path: Path, method, augmented: bool,
                                                                      expected: str | None) -> None:
    data = _vector_data(None)
    if augmented:
        data.train_transform = lambda x: x + 0.01 * torch.randn_like(x)
    _trainer(tmp_path, fast_dev_run=1).fit(method(2, (4,), backbone_kwargs=NET), datamodule=data)
    assert data.second_view == expected


def test_a_chosen_view_is_kept_and_vector_noise_follows_the_data_scale(tmp_path: Path) -> None:
    data = _vector_data("weak")
    _trainer(tmp_path, fast_dev_run=1).fit(FixMatch(2, (4,), backbone_kwargs=NET), datamodule=data)
    assert data.second_view == "weak"
    x, y = torch.randn(100, 2) * 10, torch.arange(100) % 2
    scaled = LabeledUnlabeledDataModule.from_tensors(x, y, x[:10], y[:10], num_labeled=10, second_view="strong")
    scaled.setup("fit")
    noise = scaled.second_view_transform()
    x = torch.zeros(20000, 2)
    # every view within half the data's neighbour distance; no features dropped from 2-D inputs
    moved = noise(x).norm(dim=1)
    assert moved.max() <= 0.5 * scaled.neighbour_distance * (1 + 1e-5)
    assert moved.median() > 0.25 * scaled.neighbour_distance
    assert (noise(x) != 0).all()


def test_the_old_name_strong_view_still_works_and_is_deprecated() -> None:
    x, y = torch.randn(40, 2), torch.arange(40) % 2
    with pytest.deprecated_call(match="second_view"):
        old = LabeledUnlabeledDataModule.from_tensors(x, y, x[:10], y[:10], num_labeled=10, strong_view="weak")
    assert old.second_view == old.strong_view == "weak"
    with pytest.raises(ValueError, match="disagree"):
        LabeledUnlabeledDataModule.from_tensors(x, y, x[:10], y[:10], num_labeled=10, strong_view="weak",
                                                second_view="strong")


def test_fixmatch_without_any_second_view_warns_and_names_the_setting(tmp_path: Path) -> None:
    class NoViews(pl.LightningDataModule):
        num_classes, input_shape = 2, (4,)

        def train_dataloader(self):
            data = _vector_data(None)
            data.setup("fit")
            return data.train_dataloader()

    with pytest.warns(UserWarning, match="second_view"):
        _trainer(tmp_path, fast_dev_run=1).fit(FixMatch(2, (4,), backbone_kwargs=NET), datamodule=NoViews())


class _TeacherProbe(Callback):
    """Records, per step, whether the teacher had gradients and the student / teacher weights after the update."""

    def __init__(self) -> None:
        self.teacher_grads: list[bool] = []
        self.student_grads: list[bool] = []
        self.weights: list[tuple[torch.Tensor, torch.Tensor]] = []

    def on_after_backward(self, trainer: pl.Trainer, pl_module: MeanTeacher) -> None:
        self.teacher_grads.append(any(p.grad is not None for p in pl_module.teacher.parameters()))
        self.student_grads.append(all(p.grad is not None for p in pl_module.classifier.parameters()))

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: MeanTeacher, *args) -> None:
        first = lambda net: next(net.parameters()).detach().clone()  # noqa: E731
        self.weights.append((first(pl_module.classifier), first(pl_module.teacher)))


def test_mean_teacher_teacher_gets_no_gradient_and_follows_the_moving_average(tmp_path: Path) -> None:
    probe = _TeacherProbe()
    model = MeanTeacher(2, (4,), backbone_kwargs=NET, ema_decay=0.9, unsup_weight=5.0, rampup_length=0.0)
    assert not any(p.requires_grad for p in model.teacher.parameters())
    _trainer(tmp_path, max_steps=4, limit_val_batches=0, num_sanity_val_steps=0, callbacks=[probe]).fit(
        model, datamodule=_vector_data("weak"))
    assert probe.student_grads == [True] * 4 and probe.teacher_grads == [False] * 4
    for (_, previous), (student, teacher) in zip(probe.weights[1:], probe.weights[2:]):
        torch.testing.assert_close(teacher, 0.9 * previous + 0.1 * student)
    assert not torch.equal(probe.weights[-1][0], probe.weights[-1][1])


def test_mean_teacher_teacher_sees_the_labeled_and_unlabeled_batch_as_the_student_does(tmp_path: Path) -> None:
    model = MeanTeacher(2, (4,), backbone_kwargs=NET, ema_decay=0.9)
    sizes: dict[str, list[int]] = {"teacher": [], "student": []}
    model.teacher.register_forward_hook(lambda m, args, out: sizes["teacher"].append(len(args[0])))
    model.classifier.register_forward_hook(lambda m, args, out: sizes["student"].append(len(args[0])))
    _trainer(tmp_path, max_steps=2, limit_val_batches=0, num_sanity_val_steps=0).fit(model, datamodule=_vector_data("weak"))
    # batch norm normalises the teacher's unlabeled examples together with labeled ones, as the student's
    assert sizes["teacher"] == sizes["student"] and len(sizes["teacher"]) == 2


def test_mean_teacher_always_has_a_teacher() -> None:
    assert MeanTeacher(2, (4,)).hparams.ema_decay == "auto"
    with pytest.raises(ValueError, match="ema_decay"):
        MeanTeacher(2, (4,), ema_decay=None)


@pytest.mark.parametrize(("steps", "decay"), [(40, 0.5), (100_000, 0.999)])
def test_mean_teacher_auto_decay_is_five_percent_of_the_run_at_most_usbs(steps: int, decay: float) -> None:
    model = MeanTeacher(2, (4,), backbone_kwargs=NET)

    class Run:
        estimated_stepping_batches = steps

    model.trainer = Run()  # type: ignore[assignment]  (on_fit_start reads only the run's length)
    model.on_fit_start()
    assert model.averaging_decay == pytest.approx(decay)
