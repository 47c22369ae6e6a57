"""Two CPU processes under DDP (gloo): equal batch counts, disjoint unlabeled shards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO

TESTS = Path(__file__).resolve().parent


def run_ddp_fit(config: str, tmp_path: Path, *extra: str) -> list[dict]:
    out = tmp_path / "batches"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO), os.environ.get("PYTHONPATH", "")])}
    command = [
        sys.executable, "-m", "ssl_kit.cli", "fit", "--config", str(REPO / config),
        "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
        "--trainer.max_steps", "6", "--trainer.logger", "false", "--trainer.enable_checkpointing", "false",
        "--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "0",
        "--trainer.callbacks+=ddp_probe.RecordBatches", f"--trainer.callbacks.out_dir={out}", *extra,
    ]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


def test_ddp_supervised_toy(tmp_path: Path) -> None:
    ranks = run_ddp_fit("configs/supervised/toy_rings.yaml", tmp_path)
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert len(ranks[0]["batches"]) == len(ranks[1]["batches"]) == 6
    for r in ranks:
        for x_l, _y_l, x_u in r["batches"]:
            assert len(x_l) == 8 and len(x_u) == 50  # global 16 + 100 split over 2 ranks
    # within one pass over the 1000 points the two ranks never see the same unlabeled point
    u0 = torch.cat([b[2] for b in ranks[0]["batches"]])
    u1 = torch.cat([b[2] for b in ranks[1]["batches"]])
    assert not (torch.cdist(u0, u1) == 0).any()


@pytest.mark.parametrize("method", ["pseudo_label", "pi_model", "mean_teacher", "fixmatch"])
def test_ddp_baselines_toy_shard_both_unlabeled_views(method: str, tmp_path: Path) -> None:
    ranks = run_ddp_fit(f"configs/{method}/toy_rings.yaml", tmp_path)
    assert len(ranks[0]["batches"]) == len(ranks[1]["batches"]) == 6
    for r in ranks:
        for batch in r["batches"]:
            assert [len(t) for t in batch] == [8, 8, 50, 50]  # Pseudo-Label too: its noisy second view
    u0 = torch.cat([b[2] for b in ranks[0]["batches"]])
    u1 = torch.cat([b[2] for b in ranks[1]["batches"]])
    assert not (torch.cdist(u0, u1) == 0).any()  # disjoint shards, the second view follows its own rank's rows


def run_cli(tmp_path: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "ssl_kit.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_ddp_test_metrics_equal_single_process(tmp_path: Path) -> None:
    """1001 test points over 2 ranks: no padded duplicate may be counted."""
    config = str(REPO / "configs/supervised/toy_rings.yaml")
    common = ["--config", config, "--data.init_args.num_test", "1001", "--trainer.enable_progress_bar", "false",
              "--trainer.logger", "false"]
    run_cli(tmp_path, "fit", *common, "--trainer.max_steps", "10", "--trainer.limit_val_batches", "0",
            "--trainer.callbacks+=ModelCheckpoint", f"--trainer.callbacks.dirpath={tmp_path}",
            "--trainer.callbacks.filename=model", "--trainer.callbacks.every_n_train_steps=10")
    metrics = {}
    for devices in ("1", "2"):
        out = tmp_path / f"metrics{devices}.pt"
        run_cli(tmp_path, "test", *common, "--ckpt_path", str(tmp_path / "model.ckpt"), "--trainer.accelerator", "cpu",
                "--trainer.devices", devices, "--trainer.strategy", "ddp" if devices == "2" else "auto",
                "--trainer.callbacks+=ddp_probe.RecordTestMetrics", f"--trainer.callbacks.out_file={out}")
        metrics[devices] = torch.load(out)
    assert 0 < metrics["1"]["test/error"] < 100
    for key in ("test/error", "test/acc", "test/macro_acc", "test/ece"):
        assert abs(metrics["1"][key] - metrics["2"][key]) < 1e-4, key


def test_ddp_batch_norm_refit_in_last_checkpoint_matches_one_process(tmp_path: Path) -> None:
    """Under 2-process DDP the refit statistics in last.ckpt equal a one-process refit of the same weights."""
    import yaml

    from ssl_kit.datamodules import ToyDataModule
    from ssl_kit.callbacks import recompute_batch_norm_statistics
    from ssl_kit.methods import VAT

    config = REPO / "configs/vat/toy_rings.yaml"
    run_cli(tmp_path, "fit", "--config", str(config), "--model.init_args.backbone_kwargs.batch_norm", "true",
            "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
            "--trainer.max_steps", "6", "--trainer.limit_val_batches", "0", "--trainer.logger", "false",
            "--trainer.enable_progress_bar", "false", "--trainer.callbacks+=PopulationBatchNorm",
            "--trainer.callbacks+=ModelCheckpoint", f"--trainer.callbacks.dirpath={tmp_path}",
            "--trainer.callbacks.save_last=true")
    model = VAT.load_from_checkpoint(tmp_path / "last.ckpt", map_location="cpu")
    saved = [b.clone() for name, b in model.classifier.named_buffers() if "running" in name]
    assert saved
    data = ToyDataModule(**yaml.safe_load(config.read_text())["data"]["init_args"])
    recompute_batch_norm_statistics(model.classifier, data.unlabeled_inputs(), batch_size=250)
    again = [b for name, b in model.classifier.named_buffers() if "running" in name]
    for a, b in zip(saved, again):
        assert torch.allclose(a, b, atol=1e-5)
