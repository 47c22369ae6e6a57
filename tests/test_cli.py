"""The ``ssl-kit`` commands: help, configs by name, where runs go, defaults, fit then predict to a CSV file."""

from __future__ import annotations

import ast
import csv
import importlib.util
import io
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ssl_kit.datamodules import ToyDataModule
from pytorch_lightning.callbacks import RichProgressBar
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger
from rich.console import Console

from conftest import REPO
from ssl_kit.callbacks import PredictionCSVWriter, StepProgressBar
from ssl_kit.checkpoints.atomic import AtomicCheckpointIO
from ssl_kit.cli import main
from ssl_kit.cli.lightning import build_cli
from ssl_kit.cli.config_files import resolve_config, resolve_config_args
from ssl_kit.methods import Supervised

CONFIG = REPO / "configs/supervised/toy_rings.yaml"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]"]


def test_fit_by_config_name_writes_under_default_root_dir_then_predict_writes_probabilities(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd, root = tmp_path / "cwd", tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    main(["fit", "--config", "supervised/toy_rings", "--trainer.max_steps", "20",
          "--trainer.default_root_dir", str(root), *QUIET])
    ckpt = root / "lightning_logs/version_0/checkpoints/last.ckpt"
    assert ckpt.exists()
    assert list(cwd.iterdir()) == []  # nothing in ./runs: default_root_dir decides
    main(["predict", "--config", str(CONFIG), "--ckpt_path", str(ckpt), "--trainer.default_root_dir", str(root), *QUIET])
    path = root / "lightning_logs/version_1/predictions.csv"
    rows = list(csv.DictReader(path.open()))
    data = ToyDataModule(dataset="rings", num_labeled=16)
    _, _, x_test, y_test = data.tensors
    assert len(rows) == len(x_test)
    assert [int(r["label"]) for r in rows] == y_test.tolist()
    for row in rows:
        probs = [float(row["p_0"]), float(row["p_1"])]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert int(row["prediction"]) == max(range(2), key=probs.__getitem__)


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "{fit,validate,test,predict,benchmark,demo,robustness,refit-bn,predict-files}" in out
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and line.split()}
    assert {"fit", "validate", "test", "predict", "benchmark", "demo", "robustness", "refit-bn", "predict-files"} <= listed


def test_evaluation_subcommands_reach_their_parsers(capsys: pytest.CaptureFixture) -> None:
    for command in ("robustness", "refit-bn"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--model_class" in capsys.readouterr().out


def test_subcommand_help_reaches_its_own_parser(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "--steps" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["vat/mnist_quick", "vat/mnist_quick.yaml", "configs/vat/mnist_quick.yaml"])
def test_shipped_config_found_by_name_from_any_folder(value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Path(resolve_config(value)) == REPO / "configs/vat/mnist_quick.yaml"
    assert resolve_config_args(["fit", f"--config={value}"]) == ["fit", f"--config={REPO / 'configs/vat/mnist_quick.yaml'}"]


def test_config_path_and_unknown_names_pass_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "vat" / "mnist_quick.yaml"  # a user's file shadows the shipped config of that name
    own.parent.mkdir()
    own.write_text("trainer: {}\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_config("vat/mnist_quick.yaml") == "vat/mnist_quick.yaml"
    assert resolve_config("vat/no_such_config") == "vat/no_such_config"
    assert resolve_config_args(["fit", "--config", "supervised/toy_rings", "--trainer.max_steps", "vat/mnist"]) == [
        "fit", "--config", str(REPO / "configs/supervised/toy_rings.yaml"), "--trainer.max_steps", "vat/mnist"]


@pytest.mark.parametrize("bound, bar", [(["--trainer.max_steps", "7"], StepProgressBar),
                                         (["--trainer.max_epochs", "2"], RichProgressBar)])
def test_cli_defaults_logger_checkpoints_and_progress_display(bound: list[str], bar: type, tmp_path: Path) -> None:
    cli = build_cli(["--config", "supervised/toy_rings", "--trainer.default_root_dir", str(tmp_path), *bound],
                    run=False)
    logger = cli.trainer.logger
    expected = TensorBoardLogger if importlib.util.find_spec("tensorboard") else CSVLogger
    assert type(logger) is expected and Path(logger.save_dir) == tmp_path
    assert type(cli.trainer.progress_bar_callback) is bar
    assert [cb.save_last for cb in cli.trainer.checkpoint_callbacks] == [True]
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_step_progress_bar_counts_steps_not_epochs(tmp_path: Path) -> None:
    buffer = io.StringIO()
    bar = StepProgressBar(console=Console(file=buffer, force_terminal=True, width=120))
    data = ToyDataModule(dataset="rings", num_labeled=16, labeled_batch_size=8, unlabeled_batch_size=32)
    trainer = pl.Trainer(max_steps=6, callbacks=[bar], logger=False, enable_checkpointing=False,
                         enable_model_summary=False, use_distributed_sampler=False, limit_val_batches=0,
                         default_root_dir=tmp_path)
    trainer.fit(Supervised(2, (2,)), data)
    out = buffer.getvalue()
    assert "6/6" in out and "step" in out and "Epoch" not in out and "train/loss" in out


def test_importing_the_toolkit_leaves_the_matplotlib_backend_alone() -> None:
    code = ("import matplotlib, sys; matplotlib.use('svg'); "
            "import ssl_kit.callbacks, ssl_kit.benchmark, ssl_kit.cli, ssl_kit.cli.demo; "
            "print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "svg"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code (function-level imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_cli_is_imported_by_no_library_module() -> None:
    """``ssl_kit.cli.commands`` dispatches to the benchmark and the demo; nothing they import leads back to it."""
    dispatcher = ("ssl_kit.cli.commands", "ssl_kit.cli.demo")
    importers = [p for p in (REPO / "ssl_kit").rglob("*.py")
                 if p.parent.name != "cli" and any(n == "ssl_kit.cli" or n.startswith(dispatcher)
                                                  for n in imported_modules(p))]
    assert importers == []
    helpers = imported_modules(REPO / "ssl_kit/cli/lightning.py")
    assert not any(n.startswith(("ssl_kit.benchmark", "ssl_kit.cli.demo")) for n in helpers)


def test_each_predict_loader_gets_its_own_file(tmp_path: Path) -> None:
    loaders = [DataLoader(TensorDataset(torch.randn(10, 4), torch.arange(10) % 3), batch_size=4),
               DataLoader(TensorDataset(torch.randn(7, 4), torch.arange(7) % 3), batch_size=4)]
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[PredictionCSVWriter(output_dir=str(tmp_path))], default_root_dir=tmp_path)
    trainer.predict(Supervised(3, (4,)), loaders)
    counts = {p.name: len(list(csv.DictReader(p.open()))) for p in tmp_path.glob("*.csv")}
    assert counts == {"predictions_0.csv": 10, "predictions_1.csv": 7}
