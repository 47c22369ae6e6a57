"""Prediction on new documents with a trained text checkpoint: the vocabulary comes from the checkpoint."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from ssl_kit.checkpoints.predict import main as predict_files_main
from ssl_kit.methods import VAT
from ssl_kit.text.predict import checkpoint_vocabulary, read_documents
from test_text import tiny_data


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_KIT_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def checkpoint(tmp_path: Path) -> tuple[Path, object]:
    torch.manual_seed(0)
    data = tiny_data(pretrain_kwargs={"epochs": 2})
    model = VAT(num_classes=data.num_classes, input_shape=data.input_shape, lr=0.01)
    trainer = pl.Trainer(max_steps=60, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path, limit_val_batches=0, use_distributed_sampler=False)
    trainer.fit(model, datamodule=data)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    return path, data


def test_documents_are_encoded_with_the_checkpoints_vocabulary(checkpoint: tuple[Path, object], tmp_path: Path) -> None:
    path, data = checkpoint
    vocabulary = checkpoint_vocabulary(path)
    assert vocabulary is not None and vocabulary.get_vocab() == data.fitted_tokenizer().get_vocab()
    (tmp_path / "new.txt").write_text("a superb and lovely film\n\nawful dull boring plot\nzebra unicorn\n")
    predict_files_main(["--ckpt", str(path), "--inputs", str(tmp_path / "new.txt"), "--output", str(tmp_path / "p.csv")])
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert [r["id"] for r in rows] == ["1", "3", "4"]  # line numbers, the blank line skipped
    assert [r["prediction"] for r in rows[:2]] == ["good", "bad"]
    assert all(abs(float(r["p_bad"]) + float(r["p_good"]) - 1) < 1e-4 for r in rows)


def test_a_csv_column_of_texts_gives_ids_and_the_same_probabilities(checkpoint: tuple[Path, object], tmp_path: Path) -> None:
    path, _ = checkpoint
    (tmp_path / "new.txt").write_text("a superb and lovely film\nawful dull boring plot\n")
    with (tmp_path / "new.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["id", "review", "label"], ["r1", "a superb and lovely film", "x"],
                                      ["r2", "awful dull boring plot", "y"]])
    for name, extra in (("new.txt", []), ("new.csv", ["--text_column", "review"])):
        predict_files_main(["--ckpt", str(path), "--inputs", str(tmp_path / name), "--output", str(tmp_path / f"{name}.out"),
                            *extra])
    from_txt = list(csv.DictReader((tmp_path / "new.txt.out").open()))
    from_csv = list(csv.DictReader((tmp_path / "new.csv.out").open()))
    assert [r["id"] for r in from_csv] == ["r1", "r2"]
    assert [r["p_good"] for r in from_csv] == [r["p_good"] for r in from_txt]


def test_csv_without_a_clear_text_column_names_the_fix(tmp_path: Path) -> None:
    with (tmp_path / "two.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["title", "body"], ["a", "b"]])
    with pytest.raises(ValueError, match="--text_column"):
        read_documents(tmp_path / "two.csv")
    assert read_documents(tmp_path / "two.csv", "body") == (["1"], ["b"])
