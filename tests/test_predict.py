"""Predicting on new data from a checkpoint, and checkpoints that refuse what they were not trained on."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from PIL import Image

import ssl_kit
from ssl_kit.datamodules import ImageFolderDataModule, LabeledUnlabeledDataModule, MNISTDataModule, ToyDataModule
from ssl_kit.methods import VAT, LadderNetwork, Supervised
from ssl_kit.checkpoints.predict import main as predict_main
from ssl_kit.checkpoints.provenance import CheckpointMismatchError, read_record


def quick_trainer(root: Path, steps: int = 2) -> pl.Trainer:
    return pl.Trainer(max_steps=steps, logger=False, enable_progress_bar=False, enable_model_summary=False,
                      enable_checkpointing=False, use_distributed_sampler=False, default_root_dir=root,
                      limit_val_batches=0, num_sanity_val_steps=0)


def train_and_save(model: pl.LightningModule, data: pl.LightningDataModule, path: Path) -> Path:
    pl.seed_everything(0)
    trainer = quick_trainer(path.parent)
    trainer.fit(model, data)
    trainer.save_checkpoint(path)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# ----------------------------------------------------------------------------- image files
@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    """``labeled/<class>/`` and ``test/<class>/`` PNGs of three classes, 12x10 RGB (resized to 8x8)."""
    rng = np.random.default_rng(0)
    for split, count in (("labeled", 8), ("test", 3)):
        for k, name in enumerate(("circle", "square", "star")):
            folder = tmp_path / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8) // (k + 1)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return tmp_path


def test_predictions_on_image_files_equal_the_model_on_the_test_tensors(shapes: Path, tmp_path: Path) -> None:
    data = ImageFolderDataModule(str(shapes / "labeled"), test_dir=str(shapes / "test"), image_size=8,
                                 grayscale=True, scaling="vat", zca=True, zca_eps=0.1, labeled_batch_size=8,
                                 unlabeled_batch_size=8, zca_cache_dir=str(tmp_path / "zca"))
    ckpt = train_and_save(Supervised(3, (1, 8, 8), backbone_kwargs={"hidden": [16]}), data, tmp_path / "m.ckpt")
    record = read_record(ckpt)
    assert record["class_names"] == ["circle", "square", "star"] and record["preprocessing"]["zca"]

    out = tmp_path / "predictions.csv"
    predict_main(["--ckpt", str(ckpt), "--inputs", str(shapes / "test"), "--output", str(out)])
    rows = read_rows(out)
    model = ssl_kit.load(ckpt)
    assert not model.training
    expected = model.predict_proba(data.tensors[2], preprocessed=True)  # the datamodule's test tensors
    assert [r["id"] for r in rows] == [f"{c}/{i}.png" for c in ("circle", "square", "star") for i in range(3)]
    got = torch.tensor([[float(r[f"p_{c}"]) for c in model.class_names] for r in rows])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    assert [r["prediction"] for r in rows] == [model.class_names[k] for k in expected.argmax(1)]


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_checkpoint_predicts_raw_digits_from_files_and_tensor_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train, test = rng.integers(0, 256, (60, 28, 28)), rng.integers(0, 256, (12, 28, 28))
    write_idx(raw / "train-images-idx3-ubyte", train)
    write_idx(raw / "train-labels-idx1-ubyte", np.arange(60) % 10)
    write_idx(raw / "t10k-images-idx3-ubyte", test)
    write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(12) % 10)
    data = MNISTDataModule(data_dir=str(tmp_path), num_labeled=10, labeled_batch_size=10, unlabeled_batch_size=20)
    ckpt = train_and_save(VAT(10, (784,), backbone_kwargs={"hidden": [32]}), data, tmp_path / "mnist.ckpt")
    model = ssl_kit.load(ckpt)
    expected = model.predict_proba(data.tensors[2], preprocessed=True)

    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(test.astype(np.uint8)):
        Image.fromarray(image, mode="L").save(folder / f"{i:02d}.png")
    np.save(tmp_path / "digits.npy", test.astype(np.uint8))  # (N, 28, 28) raw pixels
    np.savez(tmp_path / "digits.npz", x=test.astype(np.uint8)[:, None], other=np.zeros(3))
    torch.save({"image": torch.from_numpy(test.astype(np.uint8))[:, None]}, tmp_path / "digits.pt")
    for inputs in ("digits", "digits.npy", "digits.npz", "digits.pt"):
        out = tmp_path / f"{inputs}.csv"
        predict_main(["--ckpt", str(ckpt), "--inputs", str(tmp_path / inputs), "--output", str(out)])
        got = torch.tensor([[float(r[f"p_{k}"]) for k in range(10)] for r in read_rows(out)])
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4, msg=inputs)
    torch.testing.assert_close(model.predict_proba(test.astype(np.uint8)), expected)  # NumPy, (N, H, W)
    with pytest.raises(TypeError, match="raw uint8 pixels"):
        model.predict_proba(test.astype(np.float32))


def test_csv_of_feature_rows_with_ids_and_named_classes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    y = np.array(["low", "high"])[(x[:, 0] > 0).astype(int)]
    data = LabeledUnlabeledDataModule.from_tensors(x, y, x[:20], y[:20], num_labeled=10, labeled_batch_size=10,
                                                   unlabeled_batch_size=20)
    ckpt = train_and_save(Supervised(2, (3,), backbone_kwargs={"hidden": [8]}), data, tmp_path / "rows.ckpt")
    table = tmp_path / "rows.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "a", "b", "c", "label"])
        writer.writerows([f"row{i}", *map(float, x[i]), "ignored"] for i in range(5))
    out = tmp_path / "out.csv"
    predict_main(["--ckpt", str(ckpt), "--inputs", str(table), "--output", str(out)])
    rows = read_rows(out)
    model = ssl_kit.load(ckpt)
    assert model.class_names == ["high", "low"] and list(rows[0]) == ["id", "prediction", "p_high", "p_low"]
    assert [r["id"] for r in rows] == [f"row{i}" for i in range(5)]
    expected = model.predict_proba(x[:5])
    assert [r["prediction"] for r in rows] == [model.class_names[k] for k in model.predict(x[:5])]
    torch.testing.assert_close(torch.tensor([[float(r["p_high"]), float(r["p_low"])] for r in rows]), expected,
                               atol=1e-5, rtol=1e-4)


# ----------------------------------------------------------------------------- refusals
@pytest.fixture
def vat_ckpt(tmp_path: Path) -> Path:
    return train_and_save(VAT(2, (2,), backbone_kwargs={"hidden": [8]}), ToyDataModule(num_train=60, num_test=20, unlabeled_batch_size=20),
                          tmp_path / "vat.ckpt")


def test_testing_with_another_method_names_both_sides(vat_ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointMismatchError,
                       match=r"trained as VAT on \(2,\) inputs, 2 classes; this model is LadderNetwork"):
        quick_trainer(tmp_path).test(LadderNetwork(2, (2,)), ToyDataModule(num_test=20), ckpt_path=vat_ckpt)


def test_data_of_another_shape_is_refused_before_any_size_mismatch(vat_ckpt: Path, tmp_path: Path) -> None:
    x = torch.randn(40, 5)
    other = LabeledUnlabeledDataModule.from_tensors(x, torch.arange(40) % 3, x[:9], torch.arange(9) % 3,
                                                    num_labeled=9, labeled_batch_size=9, unlabeled_batch_size=9)
    with pytest.raises(CheckpointMismatchError, match=r"trained as VAT on \(2,\) inputs, 2 classes; this model is "
                                                      r"\(5,\) inputs, 3 classes"):
        quick_trainer(tmp_path).test(VAT(3, (5,)), other, ckpt_path=vat_ckpt)


def test_data_with_other_class_names_is_refused(tmp_path: Path) -> None:
    x = torch.randn(40, 2)
    named = LabeledUnlabeledDataModule.from_tensors(x, np.array(["a", "b"])[np.arange(40) % 2], x[:8],
                                                    np.array(["a", "b"])[np.arange(8) % 2], num_labeled=8,
                                                    labeled_batch_size=8, unlabeled_batch_size=8)
    ckpt = train_and_save(Supervised(2, (2,)), named, tmp_path / "named.ckpt")
    with pytest.raises(CheckpointMismatchError, match=r"2 classes \(a, b\); the data gives 2 classes \(0, 1\)\."):
        quick_trainer(tmp_path).test(Supervised(2, (2,)), ToyDataModule(num_test=20), ckpt_path=ckpt)


def test_load_from_checkpoint_of_another_method_says_which(vat_ckpt: Path) -> None:
    with pytest.raises(CheckpointMismatchError, match="trained as VAT, not LadderNetwork"):
        LadderNetwork.load_from_checkpoint(vat_ckpt)
    model = ssl_kit.load(vat_ckpt)
    assert type(model).__name__ == "VAT" and model.class_names == ["0", "1"]


def test_lightning_predict_writes_class_names_beside_indices(tmp_path: Path) -> None:
    from torch.utils.data import DataLoader, TensorDataset

    from ssl_kit.callbacks import PredictionCSVWriter

    model = Supervised(3, (4,))
    model.training_record = {"class_names": ["ant", "bee", "cat"]}
    loader = DataLoader(TensorDataset(torch.randn(10, 4), torch.arange(10) % 3), batch_size=4)
    pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
               callbacks=[PredictionCSVWriter(output_dir=str(tmp_path))]).predict(model, loader)
    rows = read_rows(tmp_path / "predictions.csv")
    assert len(rows) == 10 and all(r["predicted_class"] == model.class_names[int(r["prediction"])] for r in rows)


def test_confusion_matrix_names_the_classes(tmp_path: Path) -> None:
    x = torch.randn(40, 2)
    names = np.array(["ham", "spam"])
    data = LabeledUnlabeledDataModule.from_tensors(x, names[np.arange(40) % 2], x[:8], names[np.arange(8) % 2],
                                                   num_labeled=8, labeled_batch_size=8, unlabeled_batch_size=8)
    model = Supervised(2, (2,))
    trainer = pl.Trainer(max_steps=1, logger=pl.loggers.CSVLogger(tmp_path), enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, use_distributed_sampler=False,
                         limit_val_batches=0)
    trainer.fit(model, data)
    trainer.test(model, data, verbose=False)
    lines = (Path(trainer.log_dir) / "confusion_matrix.csv").read_text().splitlines()
    assert lines[1] == "true,ham,spam" and lines[2].startswith("ham,") and lines[3].startswith("spam,")
    assert sum(int(v) for line in lines[2:] for v in line.split(",")[1:]) == 8
