"""The toolkit as a newcomer installs and runs it: beside a user's own ``datamodules``/``configs``
packages, with a relative ``$SSL_KIT_DATA``, and with caches kept out of the data folders."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ssl_kit.utils.paths import cache_dir

REPO = Path(__file__).resolve().parents[1]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
         "--trainer.logger", "false", "--trainer.enable_checkpointing", "false"]


def write_user_packages(root: Path) -> None:
    """A user's own ``datamodules`` package (the natural name) and a ``configs`` package, in ``root``."""
    (root / "datamodules").mkdir()
    (root / "datamodules" / "__init__.py").write_text("")
    (root / "datamodules" / "my_data.py").write_text(textwrap.dedent("""
        from ssl_kit.datamodules import ToyDataModule


        class MyRings(ToyDataModule):
            def __init__(self, num_labeled: int = 16) -> None:
                super().__init__(dataset="rings", num_labeled=num_labeled)
        """))
    (root / "configs").mkdir()
    (root / "configs" / "__init__.py").write_text("raise ImportError('the user configs package was imported')\n")


@pytest.mark.parametrize("command", [["ssl-kit"], [sys.executable, "-m", "ssl_kit.cli"]])
def test_user_package_named_datamodules_does_not_break_the_cli(tmp_path: Path, command: list[str]) -> None:
    write_user_packages(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(tmp_path)}
    args = ["fit", "--config", "vat/toy_rings", "--data", "datamodules.my_data.MyRings",
            "--trainer.max_steps", "2", "--trainer.limit_val_batches", "0", *QUIET]
    proc = subprocess.run([*command, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_compatibility_name_datamodules_gives_the_same_classes() -> None:
    code = ("import datamodules, ssl_kit.datamodules as real; from datamodules.toy import ToyDataModule; "
            "import ssl_kit.datamodules.toy as toy; "
            "print(datamodules is real, ToyDataModule is toy.ToyDataModule, toy.__spec__.name)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "ssl_kit.datamodules.toy"]


def test_relative_data_env_is_resolved_once_against_the_start_folder(tmp_path: Path) -> None:
    (tmp_path / "here" / "data").mkdir(parents=True)
    code = ("import os, ssl_kit; from ssl_kit.utils.paths import default_data_dir; os.chdir('/'); "
            "print(default_data_dir())")
    env = {**os.environ, "SSL_KIT_DATA": "data"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "here", env=env, capture_output=True,
                         text=True, check=True).stdout
    assert Path(out.strip()) == (tmp_path / "here" / "data").resolve()


def test_caches_go_to_the_user_cache_folder_not_the_data_folder(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from ssl_kit.datamodules import CIFAR10DataModule

    monkeypatch.setenv("SSL_KIT_CACHE", str(tmp_path / "cache"))
    assert cache_dir("zca") == (tmp_path / "cache" / "zca").resolve()
    data = CIFAR10DataModule(num_labeled=10, data_dir=str(tmp_path / "data"), zca=True)
    assert Path(data.zca_cache_dir) == (tmp_path / "cache" / "zca").resolve()
