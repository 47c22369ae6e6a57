"""Unlabeled-term defaults by their papers' rules, and the class-balance safeguard (issue 42)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from ssl_kit.datamodules import LabeledUnlabeledDataModule
from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.defaults.consistency import BALANCE_WEIGHT, class_prior, pi_model_weight
from ssl_kit.losses import class_balance_loss, marginal_entropy
from ssl_kit.methods import VAT, FixMatch, LadderNetwork, MeanTeacher, PiModel, PseudoLabel, Supervised

NET = {"hidden": [16, 16]}


def _data(num_labeled: int = 10, n: int = 80) -> LabeledUnlabeledDataModule:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    x = torch.randn(n, 4, generator=g)
    x[:, 0] += 3 * y
    return LabeledUnlabeledDataModule.from_tensors(x, y, x[:20], y[:20], num_labeled=num_labeled,
                                                   labeled_batch_size=10, unlabeled_batch_size=20, steps_per_epoch=2)


def _fit(model: pl.LightningModule, data: LabeledUnlabeledDataModule, tmp_path: Path, steps: int = 2) -> None:
    pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
               default_root_dir=tmp_path, max_steps=steps, limit_val_batches=0).fit(model, datamodule=data)


# ---------------------------------------------------------------------------- Π-model weight
def test_pi_model_weight_is_temporal_ensemblings_w_max_times_the_labeled_share() -> None:
    assert pi_model_weight(100, 60_000) == pytest.approx(100 / 600)
    assert pi_model_weight(4_000, 50_000) == pytest.approx(8.0)
    with pytest.raises(ValueError, match="num_labeled <= num_train"):
        pi_model_weight(10, 5)


def test_pi_model_takes_its_weight_from_the_split(tmp_path: Path) -> None:
    model = PiModel(2, (4,), backbone_kwargs=NET)
    _fit(model, _data(num_labeled=10, n=80), tmp_path)
    assert model.consistency_weight == pytest.approx(100 * 10 / 80)
    fixed = PiModel(2, (4,), backbone_kwargs=NET, unsup_weight=3.0)
    _fit(fixed, _data(), tmp_path)
    assert fixed.consistency_weight == 3.0  # an explicit weight wins


# ---------------------------------------------------------------------------- weight averaging
@pytest.mark.parametrize("method", [FixMatch, PiModel, MeanTeacher])
def test_weight_averaging_is_on_by_default_where_the_papers_evaluate_it(method: type) -> None:
    assert method(2, (4,)).ema is not None
    assert Supervised(2, (4,)).ema is None  # the baseline evaluates its trained weights


# ---------------------------------------------------------------------------- Pseudo-Label's noisy pass
def test_pseudo_label_fits_the_noisy_view_to_the_clean_views_labels() -> None:
    torch.manual_seed(0)
    model = PseudoLabel(2, (4,), backbone_kwargs=NET, threshold=0.0, rampup_length=0.0, balance_weight=0.0)
    model.eval()  # no dropout / batch statistics: the views alone change the prediction
    x_l, y_l, x_u = torch.randn(6, 4), torch.arange(6) % 2, torch.randn(8, 4)
    same = model.training_step(MixedBatch(x_l, y_l, x_u), 0)
    assert model.training_step(MixedBatch(x_l, y_l, x_u, x_u.clone()), 0).item() == pytest.approx(same.item())
    noisy = model.training_step(MixedBatch(x_l, y_l, x_u, x_u + 3.0), 0)
    assert noisy.item() != pytest.approx(same.item())


# ---------------------------------------------------------------------------- class balance
def test_class_balance_is_zero_at_the_prior_and_grows_as_a_class_vanishes() -> None:
    balanced = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
    assert class_balance_loss(balanced) == pytest.approx(0.0, abs=1e-6)
    merged = torch.tensor([[5.0, 0.0], [5.0, 0.0]])
    assert class_balance_loss(merged) == pytest.approx(math.log(2) - marginal_entropy(merged).item(), abs=1e-6)
    assert class_balance_loss(merged) > 0.6
    prior = torch.tensor([0.75, 0.25])
    skewed = torch.tensor([[9.0, 0.0], [9.0, 0.0], [9.0, 0.0], [0.0, 9.0]])
    assert class_balance_loss(skewed, prior) == pytest.approx(0.0, abs=1e-3)
    logits = merged.clone().requires_grad_(True)
    class_balance_loss(logits).backward()
    assert (logits.grad[:, 1] < 0).all()  # descent moves mass back to the vanished class


def test_class_prior_counts_the_labels_with_one_pseudo_count() -> None:
    torch.testing.assert_close(class_prior(torch.tensor([3, 0, 1])), torch.tensor([4 / 7, 1 / 7, 2 / 7]))


@pytest.mark.parametrize("method", [FixMatch, PseudoLabel])
def test_the_balance_safeguard_is_on_by_default_and_counts_the_labels(method: type, tmp_path: Path) -> None:
    model = method(2, (4,), backbone_kwargs=NET)
    assert model.balance_weight == BALANCE_WEIGHT
    _fit(model, _data(), tmp_path, steps=2)
    assert int(model.labeled_class_counts.sum()) == 2 * 10  # two labeled batches of 10
    assert method(2, (4,), balance_weight=0.0).balance_weight == 0.0


@pytest.mark.parametrize("method", [VAT, MeanTeacher, PiModel, LadderNetwork])
def test_the_balance_safeguard_is_available_where_it_is_off_by_default(method: type, tmp_path: Path) -> None:
    assert method(2, (4,)).balance_weight == 0.0
    model = method(2, (4,), balance_weight=0.5)
    _fit(model, _data(), tmp_path, steps=1)
    assert int(model.labeled_class_counts.sum()) == 10


def test_a_checkpoint_without_the_label_counter_still_loads(tmp_path: Path) -> None:
    model = FixMatch(2, (4,), backbone_kwargs=NET)
    checkpoint = {"state_dict": {k: v for k, v in model.state_dict().items() if k != "labeled_class_counts"}}
    model.on_load_checkpoint(checkpoint)
    model.load_state_dict(checkpoint["state_dict"])
    assert int(model.labeled_class_counts.sum()) == 0
    with pytest.raises(ValueError, match="balance_weight"):
        FixMatch(2, (4,), balance_weight="lots")
