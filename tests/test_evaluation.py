"""ssl_kit.evaluation: robustness and batch-norm refit on any datamodule, and their subcommands."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
import yaml
from torch import nn

from ssl_kit.datamodules import LabeledUnlabeledDataModule, ToyDataModule
from ssl_kit.evaluation import checkpoint_datamodule, error_rate, load_checkpoint, refit_batch_norm, robustness
from ssl_kit.evaluation import batch_norm as refit_cli
from ssl_kit.evaluation import attack as robustness_cli
from ssl_kit.methods import Supervised

TOY = {"dataset": "rings", "num_train": 200, "num_test": 100, "num_labeled": 16, "labeled_batch_size": 16,
       "unlabeled_batch_size": 50, "num_val": 20, "steps_per_epoch": 4}


def linear_margin_data(margins: torch.Tensor) -> LabeledUnlabeledDataModule:
    """Test points of class 1 at signed distance ``margins`` from the boundary of x -> [0, 2 x_0]."""
    x_test = torch.zeros(len(margins), 3)
    x_test[:, 0] = margins
    y_test = torch.ones(len(margins), dtype=torch.long)
    x_train, y_train = torch.randn(20, 3), torch.arange(20) % 2
    return LabeledUnlabeledDataModule.from_tensors(x_train, y_train, x_test, y_test, num_labeled=4,
                                                   labeled_batch_size=4, unlabeled_batch_size=4, eval_batch_size=4)


class TwoClassLinear(nn.Module):
    """Logits ``[0, 2 x_0]``: the decision boundary is x_0 = 0, and |grad of the margin| = 2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.zeros_like(x[:, 0]), 2 * x[:, 0]], dim=1)


def test_fgm_attack_flips_exactly_the_points_within_eps_of_a_linear_boundary() -> None:
    margins = torch.tensor([-0.5, 0.05, 0.15, 0.25, 0.35, 1.0, 2.0, 3.0, 0.29, 0.31])
    result = robustness(TwoClassLinear(), linear_margin_data(margins), eps=0.3)
    # The L2 attack moves every point by 0.3 straight towards the boundary.
    assert result.count == 10
    assert result.clean_error == pytest.approx(10.0)
    assert result.attacked_error == pytest.approx(100.0 * int((margins < 0.3).sum()) / 10)
    unattacked = robustness(TwoClassLinear(), linear_margin_data(margins), eps=0.0)
    assert unattacked.attacked_error == unattacked.clean_error
    clipped = robustness(TwoClassLinear(), linear_margin_data(margins), eps=0.3, clip=(0.2, 5.0))
    assert clipped.attacked_error == 0.0  # every attacked x_0 clipped up to 0.2 lies on the class-1 side
    with pytest.raises(ValueError, match="eps"):
        robustness(TwoClassLinear(), linear_margin_data(margins), eps=-1.0)


def test_refit_uses_the_datamodule_pool_and_refuses_other_datamodules() -> None:
    dm = ToyDataModule(**TOY)
    net = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    assert refit_batch_norm(net, dm, batch_size=1000) == 1
    pool = dm.unlabeled_inputs()
    assert len(pool) == 180  # the training set less the 20 validation points
    with torch.no_grad():
        features = net[0](pool)
    assert torch.allclose(net[1].running_mean, features.mean(0), atol=1e-5)
    assert torch.allclose(net[1].running_var, features.var(0), atol=1e-4)
    assert refit_batch_norm(nn.Linear(2, 2), dm) == 0
    with pytest.raises(TypeError, match="LabeledUnlabeledDataModule"):
        refit_batch_norm(net, pl.LightningDataModule())


@pytest.fixture
def trained_run(tmp_path):
    """A Supervised run on the rings with batch norm: ``RUN/config.yaml`` and ``RUN/checkpoints/last.ckpt``."""
    pl.seed_everything(0)
    dm = ToyDataModule(**TOY)
    model = Supervised(num_classes=2, input_shape=(2,), backbone_kwargs={"hidden": [16], "batch_norm": True}, lr=0.05)
    trainer = pl.Trainer(max_steps=8, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, use_distributed_sampler=False, default_root_dir=tmp_path)
    trainer.fit(model, dm)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    trainer.save_checkpoint(run / "checkpoints" / "last.ckpt")
    # Another split_seed in the config: the split must come from the checkpoint, not a new draw.
    data = {"class_path": "ssl_kit.datamodules.ToyDataModule", "init_args": {**TOY, "split_seed": 7}}
    config = {"data": data, "model": {"class_path": "ssl_kit.methods.Supervised"}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    test_error = trainer.test(model, dm, verbose=False)[0]["test/error"]
    return run / "checkpoints" / "last.ckpt", dm, test_error


def test_checkpoint_datamodule_restores_the_run_split(trained_run) -> None:
    path, dm, _ = trained_run
    restored = checkpoint_datamodule(path)
    assert isinstance(restored, ToyDataModule) and restored.split_seed == 7
    restored.setup("fit")
    assert restored.split == dm.split
    overridden = checkpoint_datamodule(path, overrides=["--data.init_args.num_test", "50"])
    assert len(overridden.tensors[3]) == 50


def test_robustness_subcommand_on_a_checkpoint(trained_run, tmp_path, capsys) -> None:
    path, _, test_error = trained_run
    table = tmp_path / "table.md"
    [unattacked] = robustness_cli.main([str(path), "--model_class", "Supervised", "--eps", "0", "--output", str(table)])
    assert unattacked.clean_error == pytest.approx(test_error, abs=1e-4)  # what `ssl-kit test` reports
    assert unattacked.attacked_error == unattacked.clean_error
    [attacked] = robustness_cli.main([str(path), "--model_class", "Supervised", "--eps", "0.5",
                                      "--data.init_args.num_test", "50"])
    assert attacked.attacked_error >= attacked.clean_error and attacked.count == 50  # the --data flag applied
    assert "Supervised" in table.read_text() and "Supervised" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        robustness_cli.main([str(path), "--model_class", "Supervised", "--epz", "0.3"])


def test_refit_subcommand_saves_a_refitted_copy(trained_run) -> None:
    path, _, test_error = trained_run
    [(before, after)] = refit_cli.main([str(path), "--model_class", "Supervised", "--save"])
    assert before == pytest.approx(test_error, abs=1e-4)
    refitted = load_checkpoint(path.with_suffix(".refit.ckpt"), "Supervised")
    original = load_checkpoint(path, "ssl_kit.methods.Supervised")
    bn = [m for m in refitted.classifier.modules() if isinstance(m, nn.BatchNorm1d)][0]
    bn_before = [m for m in original.classifier.modules() if isinstance(m, nn.BatchNorm1d)][0]
    assert not torch.allclose(bn.running_mean, bn_before.running_mean)
    dm = checkpoint_datamodule(path)
    dm.setup("test")
    assert error_rate(refitted, dm.test_dataloader()) == pytest.approx(after)
    with pytest.raises(ValueError, match="LightningModule"):
        load_checkpoint(path, "torch.nn.Linear")
