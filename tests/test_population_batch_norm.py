"""End-of-training batch-norm refit: statistics against a direct computation, and the callback."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from torch import nn

from ssl_kit.datamodules import LabeledUnlabeledDataModule
from ssl_kit.callbacks import PopulationBatchNorm, recompute_batch_norm_statistics
from ssl_kit.methods import VAT
from ssl_kit.nets.layers import GaussianNoise


def small_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(GaussianNoise(1.0), nn.Linear(5, 4), nn.BatchNorm1d(4, momentum=0.3), nn.ReLU(), nn.Dropout(0.5))


def direct_population_stats(linear: nn.Linear, inputs: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of batch means and of unbiased batch variances of the noise-free pre-activations."""
    with torch.no_grad():
        batches = [linear(b) for b in inputs.split(batch_size) if len(b) == batch_size]
    means = torch.stack([b.mean(0) for b in batches])
    variances = torch.stack([b.var(0, unbiased=True) for b in batches])
    return means.mean(0), variances.mean(0)


def test_statistics_are_the_population_average_of_the_clean_network() -> None:
    net = small_net()
    inputs = torch.randn(22, 5) * 3 + 1  # 5 batches of 4, and a last batch of 2 that is dropped
    net.train()
    refitted = recompute_batch_norm_statistics(net, inputs, batch_size=4)
    mean, var = direct_population_stats(net[1], inputs, batch_size=4)
    bn = net[2]
    assert refitted == 1
    assert torch.allclose(bn.running_mean, mean, atol=1e-6)
    assert torch.allclose(bn.running_var, var, atol=1e-5)
    # modes and momentum come back as they were
    assert all(m.training for m in net.modules()) and bn.momentum == 0.3


def test_a_single_short_batch_is_used_and_eval_mode_is_restored() -> None:
    net = small_net().eval()
    inputs = torch.randn(3, 5)
    recompute_batch_norm_statistics(net, inputs, batch_size=10)
    mean, var = direct_population_stats(net[1], inputs, batch_size=3)
    assert torch.allclose(net[2].running_mean, mean, atol=1e-6)
    assert torch.allclose(net[2].running_var, var, atol=1e-5)
    assert not any(m.training for m in net.modules())


def test_network_without_batch_norm_is_untouched_and_bad_arguments_are_refused() -> None:
    net = nn.Sequential(nn.Linear(5, 3))
    before = [p.clone() for p in net.parameters()]
    assert recompute_batch_norm_statistics(net, torch.randn(8, 5)) == 0
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    with pytest.raises(ValueError, match="batch_size"):
        recompute_batch_norm_statistics(small_net(), torch.randn(8, 5), batch_size=0)
    with pytest.raises(ValueError, match="No inputs"):
        recompute_batch_norm_statistics(small_net(), torch.randn(0, 5))
    with pytest.raises(ValueError, match="max_inputs"):
        PopulationBatchNorm(max_inputs=0)


def test_callback_refits_after_training_and_rewrites_the_last_checkpoint(tmp_path, blobs) -> None:
    """After ``fit`` the in-memory model and ``last.ckpt`` hold the unlabeled pool's population statistics."""
    pl.seed_everything(0)
    x, y, x_test, y_test = blobs
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x_test, y_test, num_labeled=30, labeled_batch_size=10,
                                                 unlabeled_batch_size=50, steps_per_epoch=3)
    model = VAT(num_classes=3, input_shape=(5,), backbone_kwargs={"hidden": [8], "batch_norm": True}, eps=0.5)
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    trainer = pl.Trainer(max_steps=6, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path, callbacks=[checkpoints, PopulationBatchNorm(batch_size=25)])
    trainer.fit(model, dm)

    pool = dm.unlabeled_inputs()
    assert len(pool) == len(x)  # the papers' pool: the whole training set, labels dropped
    linear = model.classifier.features[2]
    bn = model.classifier.features[3]
    assert isinstance(linear, nn.Linear) and isinstance(bn, nn.BatchNorm1d)
    mean, var = direct_population_stats(linear, pool, batch_size=25)
    assert torch.allclose(bn.running_mean, mean, atol=1e-5)
    assert torch.allclose(bn.running_var, var, atol=1e-4)
    for path in (checkpoints.last_model_path, checkpoints.best_model_path):
        state = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
        assert torch.allclose(state["classifier.features.3.running_mean"], mean, atol=1e-5), path


def test_callback_needs_the_labeled_unlabeled_datamodule(tmp_path) -> None:
    class NoPool(pl.LightningDataModule):
        pass

    trainer = pl.Trainer(logger=False, enable_progress_bar=False, default_root_dir=tmp_path)
    trainer.datamodule = NoPool()  # type: ignore[misc]
    with pytest.raises(ValueError, match="unlabeled_inputs"):
        PopulationBatchNorm().on_train_end(trainer, VAT(num_classes=3, input_shape=(5,)))


def test_ladder_normalisation_is_refitted_to_the_clean_pass_population_statistics() -> None:
    """Every ladder layer's running statistics become the mean of the clean pass's batch moments."""
    from ssl_kit.nets import build_backbone

    torch.manual_seed(0)
    encoder = build_backbone("ladder_mlp", (5,), 3, hidden=[6, 4])
    inputs = torch.randn(23, 5) * 2 + 1  # batches of 5: four used, the last one of 3 dropped
    encoder.train()
    passes = [encoder.run(batch) for batch in inputs.split(5)[:4]]
    refitted = recompute_batch_norm_statistics(encoder, inputs, batch_size=5)
    assert refitted == encoder.num_layers == 3
    for index, layer in enumerate(encoder.layers, start=1):
        means = torch.stack([p.mean[index].detach().flatten() for p in passes])
        variances = torch.stack([(p.std[index].detach().flatten() ** 2 - layer.bn.eps) * 5 / 4 for p in passes])
        assert torch.allclose(layer.bn.running_mean, means.mean(0), atol=1e-5)
        assert torch.allclose(layer.bn.running_var, variances.mean(0), atol=1e-4)
        assert layer.bn.momentum == 0.01 and not layer.bn.track_running_stats  # restored
    # the training passes update the running statistics only on request, as before the refit
    before = encoder.layers[0].bn.running_mean.clone()
    encoder.run(inputs)
    assert torch.equal(encoder.layers[0].bn.running_mean, before)
