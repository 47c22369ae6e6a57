"""Text defaults from the datamodule: the backbone and vocabulary chosen from the data, refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from conftest import REPO
from ssl_kit.methods import IMSAT, VAT, FixMatch, ImprovedGAN, LadderNetwork, MeanTeacher, PiModel, PseudoLabel, Supervised
from ssl_kit.nets import build_backbone
from ssl_kit.nets.text import TextClassifier
from ssl_kit.text import TokenShape
from test_text import corpus, tiny_data, write_csv


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_KIT_CACHE", str(tmp_path / "cache"))


def quick_trainer(steps: int = 3) -> pl.Trainer:
    return pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, use_distributed_sampler=False, limit_val_batches=0)


def test_input_shape_carries_the_vocabulary_and_survives_pickling() -> None:
    data = tiny_data()
    shape = data.input_shape
    assert shape == (16,) and shape.vocab_size == data.vocab_size and shape.input_kind == "tokens"
    buffer = io.BytesIO()
    torch.save({"shape": shape}, buffer)
    buffer.seek(0)
    restored = torch.load(buffer, weights_only=True)["shape"]
    assert isinstance(restored, TokenShape) and restored.vocab_size == shape.vocab_size


@pytest.mark.parametrize("method", [VAT, Supervised, PseudoLabel, MeanTeacher, PiModel, FixMatch])
def test_methods_built_from_num_classes_and_input_shape_train_on_text(method: type) -> None:
    data = tiny_data()
    model = method(num_classes=data.num_classes, input_shape=data.input_shape)
    assert isinstance(model.classifier, TextClassifier) and model.classifier.encoder_kind == "mean"
    assert model.classifier.embedding.num_embeddings == data.vocab_size
    quick_trainer().fit(model, datamodule=data)
    assert model.global_step == 3


def test_auto_text_backbone_keeps_explicit_arguments_and_refuses_a_small_vocabulary() -> None:
    shape = TokenShape(12, 50)
    net = build_backbone("text_cnn", shape, 3, embed_dim=8)
    assert net.encoder_kind == "cnn" and net.embedding.weight.shape == (50, 8)
    with pytest.raises(ValueError, match="smaller than the data's vocabulary"):
        build_backbone("auto", shape, 3, vocab_size=20)
    with pytest.raises(ValueError, match="takes dense inputs.*backbone: auto"):
        build_backbone("mlp", shape, 3)


@pytest.mark.parametrize("method", [LadderNetwork, ImprovedGAN, IMSAT])
def test_methods_that_cannot_take_tokens_refuse_at_construction(method: type) -> None:
    data = tiny_data()
    with pytest.raises(ValueError, match="cannot train on text.*Use Supervised, VAT"):
        method(num_classes=data.num_classes, input_shape=data.input_shape)


def test_cli_defaults_build_the_text_network_and_the_checkpoint_reloads_it(tmp_path: Path) -> None:
    import ssl_kit
    from ssl_kit.cli import main

    write_csv(tmp_path / "train.csv", *corpus(60, 0))
    write_csv(tmp_path / "test.csv", *corpus(20, 1))
    main(["fit", "--model=VAT", "--data=TextDataModule", f"--data.train={tmp_path / 'train.csv'}",
          f"--data.test={tmp_path / 'test.csv'}", "--data.num_labeled=10", "--data.labeled_batch_size=10",
          "--data.unlabeled_batch_size=20", "--data.max_length=16", "--trainer.max_steps=2",
          "--trainer.enable_progress_bar=false",
          "--trainer.limit_val_batches=0", f"--trainer.default_root_dir={tmp_path}"])
    (checkpoint,) = tmp_path.rglob("last.ckpt")
    hparams = torch.load(checkpoint, weights_only=True)["hyper_parameters"]
    assert hparams["backbone"] == "text_mean" and hparams["input_shape"] == [16]
    model = ssl_kit.load(checkpoint)
    assert isinstance(model.classifier, TextClassifier)
    assert model.classifier.embedding.num_embeddings == hparams["backbone_kwargs"]["vocab_size"]


def test_shipped_text_configs_leave_the_vocabulary_to_the_data() -> None:
    for path in sorted((REPO / "configs").glob("*/*.yaml")):
        text = path.read_text()
        if "text_mean" in text or "TextDataModule" in text or "RottenTomatoes" in text or "Newsgroups" in text:
            assert "vocab_size: 10000" not in text.replace("max_vocab_size", ""), path
