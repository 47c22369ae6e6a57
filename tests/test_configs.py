"""Every training config in configs/ runs end to end with ``fast_dev_run`` through ``main``."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, real_mnist_available
from ssl_kit.cli import main

TRAINING_CONFIGS = sorted(p for p in (REPO / "configs").rglob("*.yaml") if p.parent.name != "benchmark")


def needs_missing_data(config: Path) -> bool:
    return "mnist" in config.stem and not real_mnist_available()


@pytest.mark.parametrize("config", TRAINING_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_fast_dev_run(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if needs_missing_data(config):
        pytest.skip("real MNIST not present")
    monkeypatch.chdir(tmp_path)
    main(["fit", "--config", str(config), "--trainer.fast_dev_run", "true", "--trainer.logger", "false",
          "--trainer.enable_progress_bar", "false"])


def test_configs_exist() -> None:
    assert {p.parent.name for p in TRAINING_CONFIGS} >= {"supervised"}
