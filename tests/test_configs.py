"""Every training config in configs/ runs end to end with ``fast_dev_run`` through the Lightning CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import REAL_DATA_FILES, REPO, real_data_available
from ssl_kit.cli.lightning import build_cli

# Grids and the parts they combine (configs/benchmark/<grid>/...) are not training configs on their own.
TRAINING_CONFIGS = sorted(p for p in (REPO / "configs").rglob("*.yaml")
                          if "benchmark" not in p.relative_to(REPO / "configs").parts)


def dataset_of(config: Path) -> str | None:
    """The real data set (mnist, svhn, cifar10) a config is named after, if any."""
    return next((name for name in REAL_DATA_FILES if name in config.stem), None)


def needs_missing_data(config: Path) -> bool:
    """Configs named after a real data set need its files under ``$SSL_KIT_DATA``."""
    dataset = dataset_of(config)
    return dataset is not None and not real_data_available(dataset)


@pytest.mark.parametrize("config", TRAINING_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_fast_dev_run(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if needs_missing_data(config):
        pytest.skip(f"real {dataset_of(config)} data not present (tests/test_data_images.py runs it on fake files)")
    monkeypatch.chdir(tmp_path)
    cli = build_cli(["--config", str(config), "--trainer.fast_dev_run", "true", "--trainer.logger", "false",
                     "--trainer.enable_progress_bar", "false"], run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.trainer.state.finished and cli.trainer.global_step >= 1
    loss = cli.trainer.callback_metrics.get("train/loss")
    assert loss is not None and torch.isfinite(loss), config


def test_configs_exist() -> None:
    """The configs the issues ask for are all there (and so all run above)."""
    names = {f"{p.parent.name}/{p.stem}" for p in TRAINING_CONFIGS}
    required = {
        "supervised/mnist", "supervised/toy_rings",
        "vat/mnist", "vat/mnist_quick", "vat/mnist_entmin", "vat/toy_rings",
        "improved_gan/mnist", "improved_gan/mnist_quick",
        "ladder/mnist", "ladder/mnist_gamma", "ladder/mnist_quick", "ladder/toy_rings",
        "van/mnist", "van/mnist_quick", "van/toy_rings",
        *(f"{method}/{dataset}" for method in ("pseudo_label", "pi_model", "mean_teacher", "fixmatch")
          for dataset in ("toy_rings", "mnist_quick", "cifar10_4000", "cifar10_250", "svhn_1000")),
    }
    assert required <= names, sorted(required - names)
