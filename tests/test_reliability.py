"""Exact resume, foreign checkpoints, non-finite losses, atomic checkpoints and corrupt data files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

import ssl_kit
from ssl_kit.datamodules import MNISTDataModule, ToyDataModule
from ssl_kit.datamodules.mnist import MNIST_RAW_FILES
from ssl_kit.checkpoints.atomic import AtomicCheckpointIO
from ssl_kit.cli import main
from ssl_kit.methods import (
    IMSAT,
    VAT,
    FixMatch,
    ImprovedGAN,
    LadderNetwork,
    MeanTeacher,
    PiModel,
    PseudoLabel,
    Supervised,
    VirtualAdversarialLadder,
)
from ssl_kit.methods.base import NonFiniteLossError

NET = {"hidden": [16, 16], "noise_std": 0.3}  # batch norm + noise: RNG and buffers both matter


def toy_data(strong_view: str | None = None) -> ToyDataModule:
    return ToyDataModule(num_train=120, num_test=40, unlabeled_batch_size=40, steps_per_epoch=4, strong_view=strong_view)


def trainer(tmp_path: Path, max_steps: int, **kwargs) -> pl.Trainer:
    return pl.Trainer(
        max_steps=max_steps, logger=False, enable_progress_bar=False, enable_model_summary=False,
        use_distributed_sampler=False, default_root_dir=tmp_path, limit_val_batches=0,
        num_sanity_val_steps=0, plugins=[AtomicCheckpointIO()], **kwargs,
    )


#: A small instance of every registered method (ssl_kit.METHODS), by class name.
BUILDERS = {
    "Supervised": lambda: Supervised(2, (2,), backbone_kwargs=NET),
    "VAT": lambda: VAT(2, (2,), backbone_kwargs=NET, eps=0.2, entmin=True, ema_decay=0.9),
    # two optimizers, two schedulers, data-dependent init and an EMA of the discriminator
    "ImprovedGAN": lambda: ImprovedGAN(2, (2,), backbone_kwargs={"hidden": [16, 16]},
                                        generator_kwargs={"hidden": [16], "output_activation": "none"},
                                        ema_decay=0.9, lr_decay_start=0.5),
    "LadderNetwork": lambda: LadderNetwork(2, (2,), backbone_kwargs={"hidden": (16, 8)}),
    "VirtualAdversarialLadder": lambda: VirtualAdversarialLadder(2, (2,), backbone_kwargs={"hidden": (16, 8)}, variant="lvan_lw", eps=0.1),
    # ramp-ups read the step; the teacher is the EMA; the strong view draws from the same RNG
    "PseudoLabel": lambda: PseudoLabel(2, (2,), backbone_kwargs=NET, threshold=0.6),
    "PiModel": lambda: PiModel(2, (2,), backbone_kwargs=NET),
    "MeanTeacher": lambda: MeanTeacher(2, (2,), backbone_kwargs=NET, ema_decay=0.9),
    "FixMatch": lambda: FixMatch(2, (2,), backbone_kwargs=NET, threshold=0.6),
    # clustering: the VAT term and the two entropies, labels unused
    "IMSAT": lambda: IMSAT(2, (2,), backbone_kwargs=NET, eps=0.2),
}
#: Methods that train on a second unlabeled view in the resume test.
TWO_VIEWS = {"PiModel", "MeanTeacher", "FixMatch"}


def test_every_registered_method_has_a_resume_case() -> None:
    assert set(BUILDERS) == set(ssl_kit.METHODS)


@pytest.mark.parametrize("method", sorted(ssl_kit.METHODS))
def test_resume_mid_epoch_matches_uninterrupted_run(method: str, tmp_path: Path) -> None:
    pl.seed_everything(3)
    full = BUILDERS[method]()
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=6, save_top_k=-1)
    view = "strong" if method in TWO_VIEWS else None
    trainer(tmp_path, 10, callbacks=[saver]).fit(full, toy_data(view))
    mid = tmp_path / "ckpt" / "epoch=1-step=6.ckpt"
    assert mid.exists()  # 4 steps per epoch: step 6 is in the middle of the second epoch

    pl.seed_everything(99)  # a different seed: everything must come from the checkpoint
    resumed = BUILDERS[method]()
    trainer(tmp_path / "b", 10, enable_checkpointing=False).fit(resumed, toy_data(view), ckpt_path=mid)
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name


@pytest.mark.parametrize("method", ["LadderNetwork", "VAT"])
def test_periodic_validation_leaves_training_unchanged(method: str, tmp_path: Path) -> None:
    def fit(**validation) -> dict[str, torch.Tensor]:
        pl.seed_everything(5)
        model = BUILDERS[method]()
        pl.Trainer(max_steps=8, logger=False, enable_progress_bar=False, enable_model_summary=False,
                   enable_checkpointing=False, default_root_dir=tmp_path, **validation).fit(model, toy_data())
        return model.state_dict()

    quiet = fit(limit_val_batches=0, num_sanity_val_steps=0)
    validated = fit(val_check_interval=2, check_val_every_n_epoch=None, num_sanity_val_steps=2)
    for name, weights in quiet.items():
        torch.testing.assert_close(validated[name], weights, msg=name)


def test_cuda_generator_states_travel_with_the_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a GPU the noise comes from the CUDA generators: saved with the checkpoint, restored on resume."""
    saved_states = [torch.tensor([1, 2, 3], dtype=torch.uint8)]
    restored: list = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: saved_states)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    checkpoint: dict = {}
    Supervised(2, (2,)).on_save_checkpoint(checkpoint)
    assert checkpoint["rng_states"]["cuda"] is saved_states
    resumed = Supervised(2, (2,))
    resumed.on_load_checkpoint(checkpoint)
    resumed.on_train_batch_start(None, 0)
    assert restored == [saved_states]


class _RecordBatches(pl.LightningModule):
    """Records the first labeled and unlabeled value of every training batch; learns nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
        self.seen: dict[int, tuple[float, float]] = {}

    def training_step(self, batch, batch_idx):
        self.seen[self.global_step] = (float(batch.x_l[0, 0]), float(batch.x_u[0, 0]))
        return self.lin(batch.x_l).sum() * 0

    def validation_step(self, batch, batch_idx) -> None:
        pass

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_from_a_mid_epoch_validation_checkpoint_replays_the_same_batches(num_workers: int, tmp_path: Path) -> None:
    """Checkpoints written after a mid-epoch validation, with loader workers running ahead."""

    def run(out: Path, ckpt: Path | None = None) -> dict[int, tuple[float, float]]:
        data = ToyDataModule(num_train=40, num_test=10, num_labeled=4, labeled_batch_size=2, unlabeled_batch_size=10,
                             seed=3, num_workers=num_workers, eval_batch_size=10)
        model = _RecordBatches()
        pl.Trainer(max_steps=12, val_check_interval=2, check_val_every_n_epoch=None, num_sanity_val_steps=0,
                   use_distributed_sampler=False, logger=False, enable_progress_bar=False, enable_model_summary=False,
                   default_root_dir=out, callbacks=[ModelCheckpoint(dirpath=out, save_top_k=-1, filename="{step}")],
                   ).fit(model, data, ckpt_path=ckpt)
        return model.seen

    full = run(tmp_path / "full")
    resumed = run(tmp_path / "resumed", tmp_path / "full" / "step=6.ckpt")  # 4 batches per epoch: mid-epoch
    assert sorted(resumed) == list(range(6, 12))
    assert {step: full[step] for step in resumed} == resumed


def test_checkpoint_of_another_method_is_refused(tmp_path: Path) -> None:
    pl.seed_everything(0)
    trainer(tmp_path, 2, callbacks=[ModelCheckpoint(dirpath=tmp_path, filename="sup")]).fit(
        Supervised(2, (2,)), toy_data()
    )
    with pytest.raises(ValueError, match="trained as Supervised, not VAT"):
        VAT.load_from_checkpoint(tmp_path / "sup.ckpt")


class ExplodesAtStep3(Supervised):
    """Supervised, whose loss turns NaN at step 3 (to test the guard)."""

    def supervised_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = super().supervised_loss(logits, y)
        return loss * float("nan") if self.global_step == 3 else loss


def test_non_finite_loss_stops_with_step_and_term_and_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    pl.seed_everything(0)
    saver = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=1, save_last=True)
    with pytest.raises(NonFiniteLossError, match=r"step 3: loss term 'train/loss' is nan"):
        trainer(tmp_path, 10, callbacks=[saver]).fit(ExplodesAtStep3(2, (2,)), toy_data())
    last = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert last["global_step"] == 3
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())


class GANExplodesAtStep3(ImprovedGAN):
    """Improved GAN whose unsupervised loss turns NaN at step 3 (manual optimisation)."""

    def discriminator_losses(self, batch, x_u):
        losses = super().discriminator_losses(batch, x_u)
        return losses._replace(unsupervised=losses.unsupervised * float("nan")) if self.global_step == 3 else losses


def test_non_finite_gan_loss_stops_before_either_network_is_updated(tmp_path: Path) -> None:
    pl.seed_everything(0)
    model = GANExplodesAtStep3(2, (2,), backbone_kwargs={"hidden": [16]}, generator_kwargs={"hidden": [16]})
    with pytest.raises(NonFiniteLossError, match=r"step 3: loss term 'train/loss' is nan"):
        trainer(tmp_path, 10, enable_checkpointing=False).fit(model, toy_data())
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("method", [Supervised, VAT, ImprovedGAN, LadderNetwork, VirtualAdversarialLadder])
def test_every_method_accepts_check_finite(method: type) -> None:
    assert method(2, (2,), check_finite=False).hparams.check_finite is False


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": 1}, path)

    def killed_midway(obj, handle, *args, **kwargs):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def write_idx(path: Path, array: np.ndarray, extra: bytes = b"", cut: int = 0) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes() + extra
    path.write_bytes(data[: len(data) - cut])


def mnist_dir(tmp_path: Path, cut: int = 0, official_labels: bool = False) -> Path:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "train-images-idx3-ubyte", np.zeros((60, 28, 28)), cut=cut)
    labels = np.arange(60000 if official_labels else 60) % 10
    write_idx(raw / "train-labels-idx1-ubyte", labels)
    write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((20, 28, 28)))
    write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(20) % 10)
    return tmp_path


def test_truncated_mnist_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="train-images-idx3-ubyte is truncated or corrupt"):
        MNISTDataModule(data_dir=str(mnist_dir(tmp_path, cut=100)), num_labeled=10, labeled_batch_size=10).setup()


def test_official_size_file_with_wrong_md5_is_named(tmp_path: Path) -> None:
    data = mnist_dir(tmp_path, official_labels=True)
    assert (data / "MNIST/raw/train-labels-idx1-ubyte").stat().st_size == MNIST_RAW_FILES["train-labels-idx1-ubyte"][0]
    with pytest.raises(ValueError, match="MD5 .* differs from the official"):
        MNISTDataModule(data_dir=str(data), num_labeled=10, labeled_batch_size=10).setup()


@pytest.mark.parametrize("method", [Supervised, ImprovedGAN, LadderNetwork])
def test_model_and_data_shapes_must_agree(method: type, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"inputs of shape \(2,\) but the model was built for \(3,\)"):
        trainer(tmp_path, 1).fit(method(2, (3,)), toy_data())


def test_misspelled_config_key_is_named(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = Path(__file__).resolve().parents[1] / "configs/vat/toy_rings.yaml"
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(config), "--model.init_args.epsilonn", "0.3"])
    assert "epsilonn" in capsys.readouterr().err
