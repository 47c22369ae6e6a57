"""Image data: SVHN / CIFAR-10 files through torchvision, scaling, ZCA, augmentation, image folders."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from ssl_kit.datamodules import (
    ZCA,
    CIFAR10DataModule,
    ImageFolderDataModule,
    LabeledUnlabeledDataModule,
    SVHNDataModule,
    build_augmentation,
    fit_zca_cached,
    scale_images,
)
from ssl_kit.datamodules import zca as zca_module
from ssl_kit.datamodules.labeled_unlabeled import _MixedBatchDataset
from fake_images import write_fake_cifar10, write_fake_svhn
from test_configs import TRAINING_CONFIGS, dataset_of
from ssl_kit.cli import main

SMALL = {"num_labeled": 20, "labeled_batch_size": 10, "unlabeled_batch_size": 30}


@pytest.fixture
def fake_svhn(tmp_path: Path) -> Path:
    return write_fake_svhn(tmp_path / "data")


@pytest.fixture
def fake_cifar(tmp_path: Path) -> Path:
    return write_fake_cifar10(tmp_path / "data")


# ----------------------------------------------------------------------------- SVHN / CIFAR-10
def test_svhn_reads_mat_files_through_torchvision(fake_svhn: Path) -> None:
    dm = SVHNDataModule(data_dir=str(fake_svhn), verify_checksums=False, **SMALL)
    dm.setup("fit")
    x_train, y_train, x_test, y_test = dm.tensors
    assert x_train.shape == (200, 3, 32, 32) and x_test.shape == (50, 3, 32, 32)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.long
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    # The files store labels 1..10 with 10 meaning the digit 0.
    assert y_train.tolist() == [(n % 10 + 1) % 10 for n in range(200)]
    assert set(y_test.tolist()) == set(range(10))
    # Pixel layout: X[h, w, c, n] of the file is image n, channel c, row h, column w.
    raw = scipy.io.loadmat(fake_svhn / "SVHN" / "train_32x32.mat")["X"]
    assert torch.equal((x_train * 255).round().to(torch.uint8), torch.from_numpy(raw).permute(3, 2, 0, 1))


def test_svhn_checks_md5_by_default_and_explains_missing_files(fake_svhn: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="verify_checksums false"):
        SVHNDataModule(data_dir=str(fake_svhn)).setup("fit")
    with pytest.raises(FileNotFoundError, match=r"ufldl\.stanford\.edu.*download true"):
        SVHNDataModule(data_dir=str(tmp_path / "nothing")).setup("fit")


def test_cifar10_reads_pickle_batches_through_torchvision(fake_cifar: Path) -> None:
    dm = CIFAR10DataModule(data_dir=str(fake_cifar), verify_checksums=False, **SMALL)
    dm.setup("fit")
    x_train, y_train, x_test, y_test = dm.tensors
    assert x_train.shape == (200, 3, 32, 32) and x_test.shape == (50, 3, 32, 32)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.long
    assert y_train.tolist() == [i % 10 for _ in range(5) for i in range(40)]
    assert y_test.min() == 0 and y_test.max() == 9
    # Rows of the pickles are CHW-ordered: row n reshaped to (3, 32, 32) is image n.
    first = pickle.loads((fake_cifar / "cifar-10-batches-py" / "data_batch_1").read_bytes())["data"]
    assert torch.equal((x_train[:40] * 255).round().to(torch.uint8), torch.from_numpy(first).view(40, 3, 32, 32))
    assert torch.bincount(y_train[dm.split.labeled]).tolist() == [2] * 10


def test_cifar10_checks_md5_by_default_and_explains_missing_files(fake_cifar: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="MD5"):
        CIFAR10DataModule(data_dir=str(fake_cifar)).setup("fit")
    (fake_cifar / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="lacks data_batch_3.*cifar.html"):
        CIFAR10DataModule(data_dir=str(fake_cifar), verify_checksums=False).setup("fit")


# ----------------------------------------------------------------------------- scaling
@pytest.mark.parametrize(
    "scaling, low, high",
    [("unit", 0.0, 1.0), ("vat", -0.5, 0.5), ("gan", -1.0, 1.0), ("gan128", -127.5 / 128, 127.5 / 128)],
)
def test_scalings_of_the_papers(scaling: str, low: float, high: float, fake_svhn: Path) -> None:
    pixels = torch.tensor([0, 51, 255], dtype=torch.uint8)
    shift, div = {"unit": (0, 255), "vat": (127.5, 255), "gan": (127.5, 127.5), "gan128": (127.5, 128)}[scaling]
    assert torch.allclose(scale_images(pixels, scaling), (pixels.double() - shift).div(div).float())
    assert torch.allclose(scale_images(pixels, scaling)[[0, 2]], torch.tensor([low, high]))
    x = SVHNDataModule(data_dir=str(fake_svhn), verify_checksums=False, scaling=scaling).tensors[0]
    assert low <= x.min() and x.max() <= high


def test_bad_scaling_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        scale_images(torch.zeros(2, dtype=torch.uint8), "imagenet")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uint8"):
        scale_images(torch.zeros(2), "unit")


# ----------------------------------------------------------------------------- ZCA
def correlated(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=g, dtype=torch.float64)
    return (torch.randn(n, d, generator=g, dtype=torch.float64) @ mixing + 3.0).float()


def test_zca_whitened_training_data_has_identity_covariance() -> None:
    x = correlated(5000, 48, seed=0)
    white = ZCA.fit(x, eps=1e-9)(x).double()
    centred = white - white.mean(0)
    cov = centred.T @ centred / len(x)
    assert (cov - torch.eye(48, dtype=torch.float64)).abs().max() < 1e-3
    assert white.mean(0).abs().max() < 1e-3


def test_zca_matches_the_textbook_matrix_in_both_regimes() -> None:
    """W = U diag(1/sqrt(lambda + eps)) U^T from numpy's eigh, for N >= D and for N < D."""
    for n, d in ((400, 30), (12, 30)):
        x = correlated(n, d, seed=n)
        data = x.double().numpy()
        centred = data - data.mean(0)
        lam, u = np.linalg.eigh(centred.T @ centred / n)
        eps = 1e-2
        expected = u @ np.diag(1 / np.sqrt(np.clip(lam, 0, None) + eps)) @ u.T
        fitted = ZCA.fit(x, eps=eps)
        assert np.allclose(fitted.matrix().double().numpy(), expected, rtol=1e-3, atol=1e-3)
        test = correlated(7, d, seed=99)
        assert np.allclose(fitted(test).numpy(), (test.double().numpy() - data.mean(0)) @ expected, rtol=1e-3, atol=1e-3)


def test_zca_cache_is_reused_and_invalidated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fits = []
    real_fit = ZCA.fit.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(ZCA, "fit", classmethod(lambda cls, *a, **k: fits.append(1) or real_fit(cls, *a, **k)))
    x = correlated(50, 12, seed=0)
    first = fit_zca_cached(x, 1e-3, tmp_path)
    again = fit_zca_cached(x.clone(), 1e-3, tmp_path)
    assert len(fits) == 1 and torch.equal(first.basis, again.basis)
    changed = x.clone()
    changed[0, 0] += 1.0
    fit_zca_cached(changed, 1e-3, tmp_path)
    fit_zca_cached(x, 1e-2, tmp_path)  # another eps is another fit
    assert len(fits) == 3 and len(list(tmp_path.glob("zca-*.pt"))) == 3


def test_cifar10_zca_is_cached_on_disk_and_refit_when_files_change(
    fake_cifar: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits = []
    real_fit = ZCA.fit.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(ZCA, "fit", classmethod(lambda cls, *a, **k: fits.append(1) or real_fit(cls, *a, **k)))
    options = {"data_dir": str(fake_cifar), "verify_checksums": False, "scaling": "vat", "zca": True,
               "zca_eps": 1e-2, "zca_cache_dir": str(tmp_path / "cache")}
    dm = CIFAR10DataModule(**options)
    dm.prepare_data()
    x_train, _, x_test, _ = dm.tensors
    assert x_train.shape == (200, 3, 32, 32) and torch.isfinite(x_test).all()
    assert x_train.flatten(1).mean(0).abs().max() < 1e-3  # centred by the training mean
    assert torch.allclose(CIFAR10DataModule(**options).tensors[0], x_train)
    assert len(fits) == 1  # the second datamodule loaded the cache
    write_fake_cifar10(fake_cifar, seed=1)  # new files: the hash changes, ZCA is fitted again
    CIFAR10DataModule(**options).tensors  # noqa: B018
    assert len(fits) == 2 and len(list((tmp_path / "cache").glob("zca-*.pt"))) == 2


def test_zca_leaves_the_validation_images_out_of_its_fit(fake_cifar: Path, tmp_path: Path) -> None:
    """With num_val, the whitening (here its mean) is fitted on the other training images only."""
    options = {"data_dir": str(fake_cifar), "verify_checksums": False, "scaling": "vat", "zca": True,
               "zca_eps": 1e-2, "zca_cache_dir": str(tmp_path / "cache"), "num_labeled": 20}
    dm = CIFAR10DataModule(**options, num_val=50)
    white, _, _, _ = dm.tensors
    val = dm.split.val
    assert len(val) == 50
    dm.setup("fit")
    assert dm.split.val == val  # setup keeps the split the fit left out
    rest = torch.ones(len(white), dtype=torch.bool)
    rest[val] = False
    assert white.flatten(1)[rest].mean(0).abs().max() < 1e-4  # centred by the other images' mean
    assert white.flatten(1)[~rest].mean(0).abs().max() > 1e-2  # not by the validation images'
    unsplit = CIFAR10DataModule(**options).tensors[0].flatten(1)  # num_val 0: fitted on every image
    assert unsplit.mean(0).abs().max() < 1e-4 and not torch.allclose(unsplit, white.flatten(1), atol=1e-3)


def test_zca_cache_dir_that_cannot_be_written_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    fit_zca_cached(correlated(20, 4, seed=0), 1e-3, blocker / "cache")
    assert "Could not cache" in caplog.text
    assert zca_module.inputs_hash(torch.ones(2), 1e-3) != zca_module.inputs_hash(torch.ones(2), 1e-2)


# ----------------------------------------------------------------------------- augmentation
def is_translated_copy(out: torch.Tensor, image: torch.Tensor, pad: int, flips: bool) -> bool:
    """Whether ``out`` is ``image`` shifted by some (dy, dx) in [-pad, pad] with zero fill (maybe flipped)."""
    _, h, w = image.shape
    padded = torch.nn.functional.pad(image, (pad, pad, pad, pad))
    candidates = [padded[:, dy : dy + h, dx : dx + w] for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)]
    if flips:
        candidates += [c.flip(-1) for c in candidates]
    return any(torch.equal(out, c) for c in candidates)


@pytest.mark.parametrize("backend", ["torch", "albumentations"])
@pytest.mark.parametrize("hflip", [False, True])
def test_augmentation_translates_flips_and_keeps_shape(backend: str, hflip: bool) -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 3, 12, 10)
    aug = build_augmentation((3, 12, 10), translate=2, hflip=hflip, backend=backend)  # type: ignore[arg-type]
    out = aug(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert all(is_translated_copy(o, i, 2, hflip) for o, i in zip(out, x))
    assert not torch.equal(out, x)
    if hflip:
        assert any(not is_translated_copy(o, i, 2, False) for o, i in zip(out, x))  # some were flipped


def test_augmentation_draws_differ_between_labeled_and_unlabeled_streams() -> None:
    torch.manual_seed(0)
    x = torch.randn(40, 3, 8, 8)
    y = torch.zeros(40, dtype=torch.long)
    positions = torch.arange(40)
    dataset = _MixedBatchDataset(x, y, x, build_augmentation((3, 8, 8), translate=2, hflip=True))
    batch = dataset[(positions, positions)]  # the same images in both streams
    assert not torch.equal(batch.x_l, batch.x_u)
    assert all(is_translated_copy(o, i, 2, True) for o, i in zip(batch.x_u, x))


def test_no_augmentation_unless_asked_and_bad_requests_refused(fake_svhn: Path) -> None:
    assert build_augmentation((3, 8, 8)) is None
    assert SVHNDataModule(data_dir=str(fake_svhn)).train_transform is None
    assert SVHNDataModule(data_dir=str(fake_svhn), translate=2).train_transform is not None
    with pytest.raises(ValueError, match="image inputs"):
        build_augmentation((784,), translate=2)
    with pytest.raises(ValueError, match="backend"):
        build_augmentation((3, 8, 8), translate=2, backend="opencv")  # type: ignore[arg-type]


def test_svhn_training_batches_are_augmented(fake_svhn: Path) -> None:
    dm = SVHNDataModule(data_dir=str(fake_svhn), verify_checksums=False, translate=2, **SMALL)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch.x_l.shape == (10, 3, 32, 32) and batch.x_u.shape == (30, 3, 32, 32)
    x_train = dm.tensors[0]
    # every unlabeled image is a translated copy of some training image
    assert all(any(is_translated_copy(u, x_train[i], 2, False) for i in range(200)) for u in batch.x_u[:5])


# ----------------------------------------------------------------------------- extra unlabeled data
def test_extra_unlabeled_inputs_join_only_the_unlabeled_pool(blobs) -> None:
    extra = torch.full((60, 5), 100.0)  # easy to recognise
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, x_unlabeled=extra, num_labeled=30,
                                                 labeled_batch_size=30, unlabeled_batch_size=60)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 6  # one pass over 300 + 60 unlabeled inputs
    seen_u = torch.cat([b.x_u for b in batches])
    assert (seen_u == 100.0).all(dim=1).sum() == 60  # every extra input once per pass
    assert not any((b.x_l == 100.0).all(dim=1).any() for b in batches)
    with pytest.raises(ValueError, match=r"extra unlabeled inputs have shape \(4,\)"):
        LabeledUnlabeledDataModule.from_tensors(*blobs, x_unlabeled=torch.zeros(3, 4), num_labeled=30)
    with pytest.raises(TypeError, match="extra unlabeled inputs have dtype torch.uint8"):  # raw pixels beside floats
        LabeledUnlabeledDataModule.from_tensors(*blobs, x_unlabeled=torch.zeros(3, 5, dtype=torch.uint8),
                                                num_labeled=30).setup("fit")
    # float64 (NumPy's default) becomes float32 like the training inputs
    assert LabeledUnlabeledDataModule.from_tensors(*blobs, x_unlabeled=torch.zeros(3, 5, dtype=torch.float64),
                                                   num_labeled=30).extra_unlabeled.dtype == torch.float32


# ----------------------------------------------------------------------------- image folders
def write_png(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (48, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    colours = {"cat": (255, 0, 0), "dog": (0, 0, 255)}
    for name, rgb in colours.items():
        for i in range(10):
            write_png(root / "labeled" / name / f"{i}.png", rgb)
        write_png(root / "test" / name / "0.png", rgb)
    for i in range(7):
        write_png(root / "unlabeled" / "a" / ("b" if i % 2 else "") / f"{i}.PNG", (0, 255, 0), size=(20, 30))
    (root / "unlabeled" / "notes.txt").write_text("not an image")
    write_png(root / "test_cats_only" / "cat" / "0.png", colours["cat"])
    return root


def test_image_folder_reads_resizes_and_splits(photos: Path) -> None:
    dm = ImageFolderDataModule(str(photos / "labeled"), unlabeled_dir=str(photos / "unlabeled"), image_size=16,
                               test_fraction=0.2, labeled_batch_size=4, unlabeled_batch_size=8)
    assert dm.num_classes == 2 and dm.input_shape == (3, 16, 16) and dm.classes == ["cat", "dog"]
    dm.setup("fit")
    x_train, y_train, x_test, y_test = dm.tensors
    assert x_train.shape == (16, 3, 16, 16) and torch.bincount(y_test).tolist() == [2, 2]
    red = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)
    assert torch.allclose(x_train[y_train == 0], red.expand(3, 16, 16))  # solid red cats stay red
    assert dm.extra_unlabeled.shape == (7, 3, 16, 16)  # recursive, any case, non-images skipped
    assert torch.allclose(dm.extra_unlabeled[:, 1], torch.ones(7, 16, 16))
    assert len(dm.split.labeled) == 16 and len(dm.split.unlabeled) == 16
    batch = next(iter(dm.train_dataloader()))
    assert batch.x_l.shape == (4, 3, 16, 16) and batch.x_u.shape == (8, 3, 16, 16)
    assert len(dm.train_dataloader()) == 3  # one pass over 16 + 7 unlabeled images


def test_image_folder_keeps_every_class_in_training(tmp_path: Path) -> None:
    for i in range(4):
        write_png(tmp_path / "labeled" / "cat" / f"{i}.png", (255, 0, 0))
    write_png(tmp_path / "labeled" / "dog" / "0.png", (0, 0, 255))
    dm = ImageFolderDataModule(str(tmp_path / "labeled"), image_size=8, test_fraction=0.6, labeled_batch_size=2)
    with pytest.raises(ValueError, match=r"\['dog'\] have fewer than 2 images"):
        dm.setup("fit")
    write_png(tmp_path / "labeled" / "dog" / "1.png", (0, 0, 255))
    dm = ImageFolderDataModule(str(tmp_path / "labeled"), image_size=8, test_fraction=0.6, labeled_batch_size=2)
    dm.setup("fit")
    _, y_train, _, y_test = dm.tensors
    assert torch.bincount(y_train, minlength=2).tolist() == [2, 1] and torch.bincount(y_test).tolist() == [2, 1]


def test_image_folder_skips_hidden_folders_and_files(photos: Path) -> None:
    """Jupyter's .ipynb_checkpoints is not a class, and hidden copies are not examples."""
    write_png(photos / "labeled" / ".ipynb_checkpoints" / "0.png", (9, 9, 9))
    write_png(photos / "labeled" / "cat" / ".0-checkpoint.png", (9, 9, 9))
    write_png(photos / "unlabeled" / ".ipynb_checkpoints" / "1.png", (9, 9, 9))
    dm = ImageFolderDataModule(str(photos / "labeled"), unlabeled_dir=str(photos / "unlabeled"), image_size=8,
                               labeled_batch_size=4)
    assert dm.classes == ["cat", "dog"]
    dm.setup("fit")
    x_train, _, x_test, _ = dm.tensors
    assert len(x_train) + len(x_test) == 20 and len(dm.extra_unlabeled) == 7


def test_image_folder_rescales_16_bit_images_instead_of_clipping(tmp_path: Path) -> None:
    """PIL's RGB conversion clips 16-bit values at 255: a 16-bit PNG of mid-grey came out white."""
    for name, level in {"dark": 10_000, "light": 50_000}.items():
        (tmp_path / "labeled" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((8, 8), level, dtype=np.uint16)).save(tmp_path / "labeled" / name / f"{i}.png")
    (tmp_path / "more").mkdir()
    Image.fromarray(np.full((8, 8), 30_000, dtype=np.uint16)).save(tmp_path / "more" / "0.png")
    assert Image.open(tmp_path / "more" / "0.png").mode == "I;16"
    dm = ImageFolderDataModule(str(tmp_path / "labeled"), unlabeled_dir=str(tmp_path / "more"), image_size=8,
                               test_fraction=0.5, labeled_batch_size=1, grayscale=True)
    dm.setup("fit")
    x_train, y_train, _, _ = dm.tensors
    assert torch.allclose(x_train[y_train == 0], torch.full((1, 1, 8, 8), round(10_000 / 257) / 255))
    assert torch.allclose(x_train[y_train == 1], torch.full((1, 1, 8, 8), round(50_000 / 257) / 255))
    assert torch.allclose(dm.extra_unlabeled, torch.full((1, 1, 8, 8), round(30_000 / 257) / 255))
    Image.fromarray(np.full((8, 8), 7, dtype=np.int32)).save(tmp_path / "more" / "1.tif")
    assert Image.open(tmp_path / "more" / "1.tif").mode == "I"
    with pytest.raises(ValueError, match="32-bit integer pixels"):
        ImageFolderDataModule(str(tmp_path / "labeled"), unlabeled_dir=str(tmp_path / "more"), image_size=8,
                              test_fraction=0.5, labeled_batch_size=1).setup("fit")


def test_image_folder_reuses_its_own_split_file(photos: Path, tmp_path: Path) -> None:
    """num_labeled None (every labeled image) must not make the module refuse the split it wrote."""
    make = lambda: ImageFolderDataModule(str(photos / "labeled"), image_size=8, labeled_batch_size=4,  # noqa: E731
                                         split_file=str(tmp_path / "split.json"))
    first = make()
    first.setup("fit")
    second = make()
    second.setup("fit")
    assert second.split == first.split


def test_image_folder_with_test_dir_maps_class_names(photos: Path) -> None:
    dm = ImageFolderDataModule(str(photos / "labeled"), test_dir=str(photos / "test_cats_only"), image_size=(8, 12),
                               grayscale=True, num_labeled=4, num_val=2, labeled_batch_size=4)
    dm.setup("fit")
    x_train, _, x_test, y_test = dm.tensors
    assert dm.input_shape == (1, 8, 12) and x_train.shape == (20, 1, 8, 12)
    grey_of_red = round(0.299 * 255) / 255  # PIL's "L" conversion of pure red, no zero padding
    assert torch.allclose(x_train[dm.tensors[1] == 0], torch.tensor(grey_of_red), atol=1 / 255)
    assert y_test.tolist() == [0]
    assert len(dm.split.labeled) == 4 and len(dm.split.val) == 2


def test_image_folder_errors_name_the_fix(photos: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="one sub-folder of images per class"):
        ImageFolderDataModule(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="classes \\['bird'\\]"):
        write_png(tmp_path / "odd" / "bird" / "0.png", (1, 2, 3))
        ImageFolderDataModule(str(photos / "labeled"), test_dir=str(tmp_path / "odd")).tensors  # noqa: B018
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No images"):
        ImageFolderDataModule(str(photos / "labeled"), unlabeled_dir=str(tmp_path / "empty")).tensors  # noqa: B018


def test_image_folder_end_to_end_training(photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    main(["fit", "--model", "ssl_kit.methods.Supervised", "--data", "ssl_kit.datamodules.ImageFolderDataModule",
          "--data.labeled_dir", str(photos / "labeled"), "--data.unlabeled_dir", str(photos / "unlabeled"),
          "--data.image_size", "16", "--data.translate", "2", "--data.hflip", "true",
          "--data.labeled_batch_size", "4", "--data.unlabeled_batch_size", "8",
          "--trainer.max_steps", "3", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
          "--trainer.default_root_dir", str(tmp_path)])
    ckpt = torch.load(next(tmp_path.glob("**/last.ckpt")), map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 3
    assert ckpt["ssl_kit"]["input_shape"] == [3, 16, 16] or tuple(ckpt["ssl_kit"]["input_shape"]) == (3, 16, 16)


# ----------------------------------------------------------------------------- configs on fake data
@pytest.mark.parametrize("dataset, writer", [("svhn", write_fake_svhn), ("cifar10", write_fake_cifar10)])
def test_image_configs_fast_dev_run_on_fake_files(dataset: str, writer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every svhn / cifar10 config runs on tiny fake files (the real data is too big for tests)."""
    root = writer(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    configs = [config for config in TRAINING_CONFIGS if dataset_of(config) == dataset]  # entmin variants too
    assert configs
    for config in configs:
        main(["fit", "--config", str(config), "--data.data_dir", str(root), "--data.verify_checksums", "false",
              # small batches and fp32: the wiring is tested here, not the WRN's bf16 speed on a CPU
              "--data.num_labeled", "100", "--data.labeled_batch_size", "16", "--data.unlabeled_batch_size", "32",
              "--data.eval_batch_size", "64", "--trainer.precision", "32-true",
              "--trainer.fast_dev_run", "true", "--trainer.logger", "false",
              "--trainer.enable_progress_bar", "false"])


def test_augmentation_runs_single_threaded_and_restores_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from ssl_kit.datamodules.transforms import AlbumentationsBatch, BatchTranslateFlip

    seen: list[int] = []
    real_augment = BatchTranslateFlip._augment

    def recording_augment(self, x):
        seen.append(torch.get_num_threads())
        return real_augment(self, x)

    def recording_transform(image):
        seen.append(torch.get_num_threads())
        return {"image": image}

    monkeypatch.setattr(BatchTranslateFlip, "_augment", recording_augment)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        build_augmentation((3, 8, 8), translate=2)(torch.randn(4, 3, 8, 8))
        AlbumentationsBatch(recording_transform)(torch.randn(2, 3, 8, 8))
        assert seen == [1, 1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_albumentations_draws_follow_torch_seed() -> None:
    """Same torch seed, same augmentation; another seed (as in another loader worker), another one."""
    from ssl_kit.datamodules.transforms import AlbumentationsBatch, translate_flip_pipeline

    x = torch.rand(6, 3, 8, 8)

    def augmented(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return AlbumentationsBatch(translate_flip_pipeline(8, 8, pad=2, hflip=True))(x)

    assert torch.equal(augmented(5), augmented(5))
    assert not torch.equal(augmented(5), augmented(6))


def test_zca_on_fewer_images_than_values_warns(photos: Path) -> None:
    dm = ImageFolderDataModule(str(photos / "labeled"), image_size=8, zca=True, labeled_batch_size=4)
    with pytest.warns(UserWarning, match=r"ZCA is fitted on 16 images of 192 values"):
        dm.setup("fit")
