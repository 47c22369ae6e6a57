"""Datamodules: mixed batches, user data, MNIST files, toy sets and clear errors."""

from __future__ import annotations

import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from lightning_fabric.utilities.distributed import DistributedSamplerWrapper
from torch.utils.data import DataLoader, TensorDataset

from conftest import real_mnist_available
from ssl_kit.datamodules import LabeledUnlabeledDataModule, MixedBatch, MNISTDataModule, ToyDataModule


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in the idx format of the MNIST files."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 200), ("t10k", 50)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return tmp_path


def test_from_tensors_gives_mixed_batches(blobs) -> None:
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, labeled_batch_size=15, unlabeled_batch_size=50)
    assert dm.num_classes == 3 and dm.input_shape == (5,)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 6  # one pass over the 300 unlabeled points
    batch = batches[0]
    assert isinstance(batch, MixedBatch)
    assert batch.x_l.shape == (15, 5) and batch.y_l.shape == (15,) and batch.x_u.shape == (50, 5)
    x_train, y_train = blobs[0], blobs[1]
    # labeled inputs and labels stay paired
    for x, y in zip(batch.x_l, batch.y_l):
        row = (x_train == x).all(dim=1).nonzero().item()
        assert y_train[row] == y
    x, y = next(iter(dm.test_dataloader()))
    assert x.shape == (90, 5) and y.dtype == torch.long


def test_no_labels_gives_batches_with_an_empty_labeled_part(blobs) -> None:
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=0, labeled_batch_size=15, unlabeled_batch_size=50)
    batches = list(dm.train_dataloader())
    assert len(batches) == 6 and dm.split.labeled == [] and len(dm.split.unlabeled) == 300
    for batch in batches:
        assert batch.x_l.shape == (0, 5) and batch.y_l.shape == (0,) and batch.y_l.dtype == torch.long
        assert batch.x_u.shape == (50, 5)


def test_all_labels_make_the_labeled_and_unlabeled_pools_the_same_data(blobs) -> None:
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled="all", num_val=30, labeled_batch_size=100,
                                                 unlabeled_batch_size=100)
    dm.setup("fit")
    assert dm.split.labeled == dm.split.unlabeled and len(dm.split.labeled) == 270
    assert not set(dm.split.val) & set(dm.split.labeled)
    seen = torch.cat([b.y_l for b in dm.train_dataloader()])
    assert len(seen) == 300  # three batches of 100 over a pool of 270 labeled examples


def test_from_datasets_reads_any_dataset(blobs) -> None:
    train, test = TensorDataset(blobs[0], blobs[1]), TensorDataset(blobs[2], blobs[3])
    dm = LabeledUnlabeledDataModule.from_datasets(train, test, num_labeled=9, labeled_batch_size=9, unlabeled_batch_size=30)
    dm.setup("fit")
    assert torch.equal(dm.tensors[0], blobs[0])
    assert next(iter(dm.train_dataloader())).x_u.shape == (30, 5)


def test_validation_split_held_out(blobs) -> None:
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, num_val=30, labeled_batch_size=10, unlabeled_batch_size=10)
    dm.setup("fit")
    assert len(dm.split.unlabeled) == 270
    assert sum(len(x) for x, _ in dm.val_dataloader()) == 30


def test_split_file_and_checkpoint_state(blobs, tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, split_file=str(path), labeled_batch_size=10)
    dm.setup("fit")
    other = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, split_seed=9, split_file=str(path), labeled_batch_size=10)
    other.setup("fit")
    assert other.split == dm.split  # read from the file, not drawn again
    restored = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, split_seed=9, labeled_batch_size=10)
    restored.load_state_dict(dm.state_dict())
    restored.setup("fit")
    assert restored.split == dm.split


def test_split_file_that_does_not_fit_is_refused(blobs, tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    make = lambda data, **kw: LabeledUnlabeledDataModule.from_tensors(  # noqa: E731
        *data, split_file=str(path), labeled_batch_size=10, **kw)
    make(blobs, num_labeled=30).setup("fit")
    with pytest.raises(ValueError, match="holds 30 labeled examples but num_labeled=60"):
        make(blobs, num_labeled=60).setup("fit")
    with pytest.raises(ValueError, match="holds 0 val examples but num_val=30"):
        make(blobs, num_labeled=30, num_val=30).setup("fit")
    smaller = (blobs[0][:150], blobs[1][:150], blobs[2], blobs[3])
    with pytest.raises(ValueError, match="outside this training set of 150 examples"):
        make(smaller, num_labeled=30).setup("fit")
    assert [p.name for p in tmp_path.iterdir()] == ["split.json"]  # written whole, nothing left beside it


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_val=-10), "num_val must be 0"),
        (dict(steps_per_epoch=0), "steps_per_epoch must be positive"),
        (dict(labeled_batch_size=0), "labeled_batch_size must be positive"),
        (dict(num_labeled=-1), "num_labeled must be a count >= 0"),
        (dict(num_labeled="most"), "or 'all'"),
    ],
)
def test_bad_settings_are_refused(blobs, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LabeledUnlabeledDataModule.from_tensors(*blobs, **kwargs)


@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda b: (b[0], b[1] + 5, b[2], b[3]), ValueError, r"labels must lie in \[0, 3\)"),
        (lambda b: (b[0], b[1].float() + 0.5, b[2], b[3]), TypeError, "class indices, integers or names"),
        (lambda b: (b[0].index_fill(0, torch.tensor([3]), float("nan")), b[1], b[2], b[3]), ValueError, "NaN"),
        (lambda b: (b[0], b[1][:-1], b[2], b[3]), ValueError, "300 inputs but 299 labels"),
        (lambda b: (b[0], torch.stack([b[1], b[1]], 1), b[2], b[3]), ValueError, r"1-D array of class indices or names \(one per input\), got shape \(300, 2\)"),
    ],
)
def test_bad_user_data_is_refused(blobs, change, error, message) -> None:
    with pytest.raises(error, match=message):
        LabeledUnlabeledDataModule.from_tensors(*change(blobs), num_classes=3)


def test_mnist_loader_reads_idx_files(tiny_mnist: Path) -> None:
    dm = MNISTDataModule(data_dir=str(tiny_mnist), num_labeled=20, labeled_batch_size=20, unlabeled_batch_size=50)
    dm.setup("fit")
    x_train, y_train, x_test, y_test = dm.tensors
    assert x_train.shape == (200, 784) and x_test.shape == (50, 784)
    assert x_train.dtype == torch.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert y_train.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    images = MNISTDataModule(data_dir=str(tiny_mnist), flatten=False, num_labeled=20, labeled_batch_size=20)
    assert images.input_shape == (1, 28, 28) and images.tensors[0].shape == (200, 1, 28, 28)
    assert torch.equal(images.tensors[0].flatten(1), x_train)


def test_mnist_missing_files_say_how_to_fix(tmp_path: Path) -> None:
    dm = MNISTDataModule(data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="SSL_KIT_DATA"):
        dm.setup("fit")


@pytest.mark.skipif(not real_mnist_available(), reason="real MNIST not present")
def test_real_mnist() -> None:
    dm = MNISTDataModule()
    dm.setup("fit")
    x_train, y_train, x_test, _ = dm.tensors
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert torch.bincount(y_train[dm.split.labeled]).tolist() == [10] * 10
    assert len(dm.train_dataloader()) == 240  # 60,000 / 250 unlabeled per batch


@pytest.mark.parametrize("dataset", ["rings", "moons"])
def test_toy_sets_are_seeded_and_two_class(dataset: str) -> None:
    a, b = ToyDataModule(dataset=dataset), ToyDataModule(dataset=dataset)
    assert torch.equal(a.tensors[0], b.tensors[0])
    assert not torch.equal(a.tensors[0], ToyDataModule(dataset=dataset, data_seed=1).tensors[0])
    a.setup("fit")
    assert torch.bincount(a.tensors[1][a.split.labeled]).tolist() == [8, 8]


def test_rings_have_the_inner_class_inside() -> None:
    x, y, _, _ = ToyDataModule(dataset="rings", noise=0.0).tensors
    radius = x.norm(dim=1)
    assert torch.allclose(radius[y == 0], torch.tensor(0.5)) and torch.allclose(radius[y == 1], torch.tensor(1.0))


def test_training_pool_reads_the_training_tensor_without_a_copy_and_appends_extra_inputs(blobs) -> None:
    """The loader's unlabeled pool gathers from the training tensor itself; extra inputs follow it."""
    x, y, x_test, y_test = blobs
    extra = torch.randn(7, 5) + 100.0
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x_test, y_test, x_unlabeled=extra, num_labeled=30,
                                                 num_val=30, labeled_batch_size=10, unlabeled_batch_size=20)
    dm.setup("fit")
    pool = dm.train_dataloader().dataset.x_unlabeled
    assert pool.x_train.data_ptr() == dm.tensors[0].data_ptr()  # no copy of the training set
    expected = torch.cat([x[torch.tensor(dm.split.unlabeled)], extra])
    assert len(pool) == len(expected) == 300 - 30 + 7
    positions = torch.tensor([0, len(pool) - 1, 5, len(pool) - 7, 100])
    assert torch.equal(pool[positions], expected[positions])
    assert torch.equal(dm.unlabeled_inputs(), expected)
    assert torch.equal(dm.unlabeled_inputs(limit=5), expected[:5])
    assert torch.equal(dm.unlabeled_inputs(limit=10_000), expected)


def test_lightnings_distributed_sampler_is_refused_on_several_devices(blobs) -> None:
    """Lightning would wrap the rank-sharded sampler again and silently drop most of each shard."""
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, labeled_batch_size=10, unlabeled_batch_size=10)
    dm.trainer = SimpleNamespace(global_rank=0, world_size=2, training=True)  # what a 2-process DDP trainer exposes
    loader = dm.train_dataloader()
    batch = next(iter(loader))
    assert len(batch.x_l) == 5  # this rank's half of the labeled batch
    # What Lightning does with use_distributed_sampler=True: the sampler inside a DistributedSampler.
    wrapped = DataLoader(loader.dataset, batch_size=None,
                         sampler=DistributedSamplerWrapper(loader.sampler, num_replicas=2, rank=0, shuffle=False))
    dm.trainer.train_dataloader = wrapped
    with pytest.raises(ValueError, match="use_distributed_sampler=False"):
        dm.on_before_batch_transfer(batch, 0)
    dm.trainer.train_dataloader = loader
    assert dm.on_before_batch_transfer(batch, 0) is batch
