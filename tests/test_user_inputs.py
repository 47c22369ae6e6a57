"""The inputs users have: NumPy arrays, labels as names or arbitrary integers, datasets of dicts;
and a periodic evaluation that never reads the test set under a validation name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import Dataset

from ssl_kit.datamodules import LabeledUnlabeledDataModule, ToyDataModule
from ssl_kit.datamodules.user_inputs import encode_labels
from ssl_kit.methods import Supervised

SMALL = {"num_labeled": 8, "labeled_batch_size": 8, "unlabeled_batch_size": 8}


def arrays(n: int = 40, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)), rng.normal(size=(n // 4, d))  # float64, as NumPy makes them


def test_numpy_arrays_are_accepted_wherever_tensors_are() -> None:
    x, x_test = arrays()
    data = LabeledUnlabeledDataModule.from_tensors(x, np.arange(40) % 2, x_test, np.arange(10) % 2,
                                                   x_unlabeled=x[:5], **SMALL)
    x_train, y_train, x_t, _ = data.tensors
    assert x_train.dtype == x_t.dtype == torch.float32 and torch.allclose(x_train, torch.from_numpy(x).float())
    assert y_train.dtype == torch.long and data.input_shape == (3,) and data.num_classes == 2
    assert len(data.unlabeled_inputs()) == 45


def test_labels_one_to_ten_are_ten_classes_named_by_their_value() -> None:
    x, x_test = arrays()
    y, y_test = np.arange(40) % 10 + 1, np.arange(10) + 1
    data = LabeledUnlabeledDataModule.from_tensors(x, y, x_test, y_test, num_labeled=10, labeled_batch_size=10,
                                                   unlabeled_batch_size=8)
    assert data.num_classes == 10
    assert data.class_names == [str(v) for v in range(1, 11)]
    assert data.tensors[1][:10].tolist() == list(range(10))  # label 1 is class 0, label 10 class 9


def test_string_labels_become_classes_with_their_names() -> None:
    x, x_test = arrays()
    names = np.array(["dog", "cat", "bird", "cat"])
    data = LabeledUnlabeledDataModule.from_tensors(x, names[np.arange(40) % 4], x_test, ["cat", "dog"] * 5, **SMALL)
    assert data.class_names == ["bird", "cat", "dog"] and data.num_classes == 3
    assert data.tensors[1][:4].tolist() == [2, 1, 0, 1]
    assert data.tensors[3][:2].tolist() == [1, 2]


def test_sparse_integer_labels_and_integral_floats() -> None:
    (y, y_test), names = encode_labels(np.array([42, 3, 7, 3]), np.array([7.0, 42.0]))
    assert names == ["3", "7", "42"] and y.tolist() == [2, 0, 1, 0] and y_test.tolist() == [1, 2]
    with pytest.raises(TypeError, match="non-integral"):
        encode_labels(np.array([0.5, 1.0]))


def test_indices_with_num_classes_or_names_keep_their_meaning() -> None:
    (y,), names = encode_labels(np.array([0, 2, 2]), num_classes=4)  # class 1 and 3 absent: still 4 classes
    assert names == ["0", "1", "2", "3"] and y.tolist() == [0, 2, 2]
    (y,), names = encode_labels([1, 0], class_names=["no", "yes"])
    assert names == ["no", "yes"] and y.tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\)"):
        encode_labels([0, 5], num_classes=2)
    with pytest.raises(ValueError, match="not among the class names"):
        encode_labels(["cat", "cow"], class_names=["cat", "dog"])


class TupleSet(Dataset):
    def __init__(self, x: np.ndarray, y: list) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]


class DictSet(TupleSet):
    def __init__(self, x: np.ndarray, y: list, input_key: str = "image", label_key: str = "label") -> None:
        super().__init__(x, y)
        self.keys = input_key, label_key

    def __getitem__(self, i: int):
        return {self.keys[0]: self.x[i], self.keys[1]: self.y[i], "id": i}


@pytest.mark.parametrize("keys", [("image", "label"), ("input", "y"), ("x", "target")])
def test_dataset_of_dicts_with_documented_keys(keys: tuple[str, str]) -> None:
    x, x_test = arrays()
    words = ["ham", "spam"]
    data = LabeledUnlabeledDataModule.from_datasets(
        DictSet(x, [words[i % 2] for i in range(40)], *keys), DictSet(x_test, [words[i % 2] for i in range(10)], *keys),
        **SMALL)
    assert data.class_names == words and data.tensors[1][:4].tolist() == [0, 1, 0, 1]
    assert torch.allclose(data.tensors[0], torch.from_numpy(x).float())


def test_dataset_of_tuples_and_unknown_dict_keys() -> None:
    x, x_test = arrays()
    data = LabeledUnlabeledDataModule.from_datasets(TupleSet(x, list(np.arange(40) % 3 + 1)),
                                                    TupleSet(x_test, list(np.arange(10) % 3 + 1)), **SMALL)
    assert data.class_names == ["1", "2", "3"]
    with pytest.raises(KeyError, match="input key"):
        LabeledUnlabeledDataModule.from_datasets(DictSet(x, [0] * 40, "pixels", "label"),
                                                 DictSet(x_test, [0] * 10, "pixels", "label"))


# ----------------------------------------------------------------------------- validation naming
def _fit_logged(tmp_path: Path, num_val: int) -> dict[str, torch.Tensor]:
    pl.seed_everything(0)
    data = ToyDataModule(num_train=120, num_test=40, unlabeled_batch_size=40, steps_per_epoch=2, num_val=num_val)
    trainer = pl.Trainer(max_steps=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, use_distributed_sampler=False, default_root_dir=tmp_path,
                         num_sanity_val_steps=0)
    trainer.fit(Supervised(2, (2,)), data)
    return dict(trainer.callback_metrics)


def test_without_a_validation_split_the_periodic_evaluation_is_logged_as_test(tmp_path: Path) -> None:
    logged = _fit_logged(tmp_path, num_val=0)
    assert "test/error" in logged and not any(name.startswith("val/") for name in logged)


def test_with_a_validation_split_it_is_logged_as_val(tmp_path: Path) -> None:
    logged = _fit_logged(tmp_path, num_val=20)
    assert "val/error" in logged and not any(name.startswith("test/") for name in logged)
