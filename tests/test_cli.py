"""The ``ssl-kit`` commands end to end: fit, then predict to a CSV file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from datamodules import ToyDataModule
from ssl_kit.callbacks import PredictionCSVWriter
from ssl_kit.cli import main
from ssl_kit.methods import Supervised

CONFIG = Path(__file__).resolve().parents[1] / "configs/supervised/toy_rings.yaml"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]"]


def test_predict_writes_probabilities_for_every_test_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    main(["fit", "--config", str(CONFIG), "--trainer.max_steps", "20", *QUIET])
    ckpt = tmp_path / "runs/lightning_logs/version_0/checkpoints/last.ckpt"
    assert ckpt.exists()
    main(["predict", "--config", str(CONFIG), "--ckpt_path", str(ckpt), *QUIET])
    path = tmp_path / "runs/lightning_logs/version_1/predictions.csv"
    rows = list(csv.DictReader(path.open()))
    data = ToyDataModule(dataset="rings", num_labeled=16)
    _, _, x_test, y_test = data.tensors
    assert len(rows) == len(x_test)
    assert [int(r["label"]) for r in rows] == y_test.tolist()
    for row in rows:
        probs = [float(row["p_0"]), float(row["p_1"])]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert int(row["prediction"]) == max(range(2), key=probs.__getitem__)


def test_top_level_help_names_the_benchmark_and_demo_commands(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "ssl-kit benchmark --config" in out and "ssl-kit demo" in out


def test_each_predict_loader_gets_its_own_file(tmp_path: Path) -> None:
    loaders = [DataLoader(TensorDataset(torch.randn(10, 4), torch.arange(10) % 3), batch_size=4),
               DataLoader(TensorDataset(torch.randn(7, 4), torch.arange(7) % 3), batch_size=4)]
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[PredictionCSVWriter(output_dir=str(tmp_path))], default_root_dir=tmp_path)
    trainer.predict(Supervised(3, (4,)), loaders)
    counts = {p.name: len(list(csv.DictReader(p.open()))) for p in tmp_path.glob("*.csv")}
    assert counts == {"predictions_0.csv": 10, "predictions_1.csv": 7}
