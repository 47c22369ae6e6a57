"""The one API of issue 25: the method registry, shared argument names, base arguments everywhere."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

import ssl_kit
from ssl_kit.datamodules import LabeledUnlabeledDataModule
from ssl_kit.methods import LadderNetwork, SSLModule, get_method, register_method
from ssl_kit.methods.registry import METHODS
from ssl_kit.nets import BACKBONES, mlp_ladder_encoder, register_backbone


def test_import_ssl_kit_gives_version_and_registry_without_loading_torch() -> None:
    code = "import sys, ssl_kit; assert ssl_kit.__version__; assert 'torch' not in sys.modules; print(sorted(ssl_kit.METHODS))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert eval(out) == sorted(METHODS)
    assert ssl_kit.METHODS is METHODS


def test_registry_holds_every_method_under_its_class_name() -> None:
    assert {"Supervised", "VAT", "ImprovedGAN", "LadderNetwork", "VirtualAdversarialLadder"} <= set(METHODS)
    for name, cls in METHODS.items():
        assert cls.__name__ == name and issubclass(cls, SSLModule)
        assert get_method(name) is cls


def test_unknown_method_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="VAT") as info:
        get_method("NoSuchMethod")
    assert "NoSuchMethod" in str(info.value)


def test_register_method_refuses_a_second_class_under_a_taken_name() -> None:
    class VAT(SSLModule):  # same name as the real one
        pass

    with pytest.raises(ValueError, match="registered already"):
        register_method(VAT)
    assert get_method("VAT") is not VAT


# ---------------------------------------------------------------------------- every method, one API
#: A non-default, valid value for every argument of ``SSLModule.__init__`` (the network aside).
BASE_VALUES: dict[str, Any] = {
    "lr": 5e-3,
    "betas": (0.8, 0.99),
    "weight_decay": 1e-4,
    "lr_decay_start": 0.3,
    "lr_epoch_decay": 0.5,
    "decay_beta1": 0.6,
    "ema_decay": 0.9,
    "check_finite": False,
    "balance_weight": 0.0,  # off, so that unsup_weight 0 leaves the supervised term alone
}

#: Non-default values of the optimiser choice (USB's protocol), checked apart from ``BASE_VALUES``:
#: SGD has no betas and the cosine schedule refuses the per-epoch decay and ``decay_beta1``.
SGD_VALUES: dict[str, Any] = {"optimizer": "sgd", "momentum": 0.8, "nesterov": False, "schedule": "cosine"}

#: Methods whose unlabeled term is zero at the first step by design (a ramp-up from 0, or a
#: confidence threshold an untrained network does not reach).
ZERO_AT_START = {"PseudoLabel", "PiModel", "MeanTeacher", "FixMatch"}

#: A small network of the kind each method needs; a method not named here takes an MLP.
SMALL_NET: dict[str, dict[str, Any]] = {
    "ImprovedGAN": {"backbone": "gan_mlp", "backbone_kwargs": {"hidden": [8]}},
    "LadderNetwork": {"backbone": "ladder_mlp", "backbone_kwargs": {"hidden": [8]}},
    "VirtualAdversarialLadder": {"backbone": "ladder_mlp", "backbone_kwargs": {"hidden": [8]}},
}

#: Methods without an unlabeled term, hence without ``unsup_weight``.
LABELED_ONLY = {"Supervised"}


def small_net(name: str) -> dict[str, Any]:
    return SMALL_NET.get(name, {"backbone": "mlp", "backbone_kwargs": {"hidden": [8]}})


def fast_dev_run(model: SSLModule, blobs, tmp_path) -> pl.Trainer:
    """One training step (and one validation batch) on the blobs."""
    dm = LabeledUnlabeledDataModule.from_tensors(*blobs, num_labeled=30, labeled_batch_size=10, unlabeled_batch_size=20,
                                                 steps_per_epoch=4)
    trainer = pl.Trainer(fast_dev_run=True, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         use_distributed_sampler=False, default_root_dir=tmp_path)
    trainer.fit(model, dm)
    return trainer


def test_base_values_cover_every_base_argument() -> None:
    """A new SSLModule argument must join BASE_VALUES, so that every method is checked to accept it."""
    params = inspect.signature(SSLModule.__init__).parameters
    base = {n: p.default for n, p in params.items() if n not in ("self", "num_classes", "input_shape")}
    assert set(base) == set(BASE_VALUES) | set(SGD_VALUES) | {"backbone", "backbone_kwargs"}
    assert all(values[n] != base[n] for values in (BASE_VALUES, SGD_VALUES) for n in values)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_builds_and_trains_from_num_classes_and_input_shape_alone(name: str, blobs, tmp_path) -> None:
    model = get_method(name)(num_classes=3, input_shape=(5,))
    trainer = fast_dev_run(model, blobs, tmp_path)
    logged = trainer.callback_metrics
    assert torch.isfinite(logged["train/loss"])
    if name in ZERO_AT_START:  # the term is there, and starts at zero
        weight = model.hparams.unsup_weight  # None: the paper's rule sets it from the data
        assert (weight is None or weight > 0) and torch.isfinite(logged["train/loss_unsup"])
    elif name not in LABELED_ONLY:  # the unlabeled term counts with its default weight
        assert model.hparams.unsup_weight == 1.0
        assert not torch.allclose(logged["train/loss"], logged["train/loss_sup"])


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_accepts_every_base_argument_and_unsup_weight(name: str, blobs, tmp_path) -> None:
    shared = {} if name in LABELED_ONLY else {"unsup_weight": 0.0}
    model = get_method(name)(num_classes=3, input_shape=(5,), **small_net(name), **BASE_VALUES, **shared)
    for key, value in {**BASE_VALUES, **small_net(name), **shared}.items():
        assert model.hparams[key] == value, key
    assert model.ema is not None
    trainer = fast_dev_run(model, blobs, tmp_path)
    for optimizer in trainer.optimizers:
        for group in optimizer.param_groups:
            assert group["initial_lr"] == BASE_VALUES["lr"]
            # fast_dev_run makes an epoch one step long: the decay phase, and decay_beta1, begin at once
            assert group["betas"] == (BASE_VALUES["decay_beta1"], BASE_VALUES["betas"][1])
            assert group["weight_decay"] == BASE_VALUES["weight_decay"]
    if shared:  # weight 0: the loss is the supervised term alone
        logged = trainer.callback_metrics
        torch.testing.assert_close(logged["train/loss"], logged["train/loss_sup"])


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_accepts_sgd_and_the_cosine_schedule(name: str, blobs, tmp_path) -> None:
    model = get_method(name)(num_classes=3, input_shape=(5,), **small_net(name), **SGD_VALUES, lr=0.03)
    trainer = fast_dev_run(model, blobs, tmp_path)
    for optimizer in trainer.optimizers:
        assert isinstance(optimizer, torch.optim.SGD)
        assert {(g["momentum"], g["nesterov"], g["initial_lr"]) for g in optimizer.param_groups} == {(0.8, False, 0.03)}
    for config in trainer.lr_scheduler_configs:  # fast_dev_run: one step of one
        assert config.scheduler.lr_lambdas[0](1) == pytest.approx(math.cos(7 * math.pi / 16))


def test_unsup_weight_is_refused_where_there_is_no_unlabeled_term() -> None:
    for name in LABELED_ONLY:
        with pytest.raises(TypeError, match="unsup_weight"):
            get_method(name)(num_classes=3, input_shape=(5,), unsup_weight=1.0)


@pytest.mark.parametrize("name", ["VAT", "VirtualAdversarialLadder"])
def test_virtual_adversarial_methods_share_eps_xi_n_power(name: str) -> None:
    model = get_method(name)(num_classes=3, input_shape=(5,), **small_net(name), eps=0.3, xi=1e-5, n_power=2)
    assert (model.hparams.eps, model.hparams.xi, model.hparams.n_power) == (0.3, 1e-5, 2)


# ---------------------------------------------------------------------------- configs name methods briefly
def _plain(value: Any) -> Any:
    """Tuples as lists, recursively, so that values from YAML and from Python compare equal."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name", sorted(METHODS))
def test_cli_resolves_the_short_class_name_with_the_methods_own_defaults(name: str, tmp_path, monkeypatch) -> None:
    """``class_path: <Name>`` works, and the CLI builds the same model as Python does from the defaults
    (a default hidden from the signature, e.g. set inside ``__init__``, would be overridden by the CLI)."""
    from ssl_kit.cli.lightning import build_cli

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(f"model:\n  class_path: {name}\ndata:\n  class_path: ToyDataModule\n")
    cli = build_cli(["--config", str(config), "--trainer.logger", "false"], run=False)
    assert type(cli.model) is METHODS[name]
    direct = METHODS[name](num_classes=cli.datamodule.num_classes, input_shape=cli.datamodule.input_shape)
    from_cli = {k: v for k, v in cli.model.hparams.items() if not k.startswith("_")}  # minus Lightning's _class_path
    assert _plain(from_cli) == _plain(dict(direct.hparams))


def test_cli_short_name_takes_the_shared_argument_names(tmp_path, monkeypatch) -> None:
    from ssl_kit.cli.lightning import build_cli

    monkeypatch.chdir(tmp_path)
    cli = build_cli(["--model", "VirtualAdversarialLadder", "--model.unsup_weight", "0.5",
                     "--model.eps", "0.2", "--model.backbone_kwargs", "{hidden: [8]}", "--model.decay_beta1", "0.5",
                     "--data", "ToyDataModule", "--trainer.logger", "false"], run=False)
    hp = cli.model.hparams
    assert (hp.unsup_weight, hp.eps, hp.backbone, hp.backbone_kwargs, hp.decay_beta1) == (0.5, 0.2, "ladder_mlp", {"hidden": [8]}, 0.5)


# ---------------------------------------------------------------------------- user networks
class TinyNet(nn.Module):
    """A user classifier: ``features`` then ``head``, so the Improved GAN can match its features."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, width: int = 4) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), width), nn.ReLU())
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@pytest.fixture
def user_backbones():
    """Registers ``tiny`` (decorator form) and ``tiny_ladder`` (call form); removes them afterwards."""
    register_backbone("tiny")(TinyNet)
    register_backbone("tiny_ladder", lambda input_shape, num_classes, **kw: mlp_ladder_encoder(input_shape, num_classes, [6], **kw))
    yield
    for name in ("tiny", "tiny_ladder"):
        BACKBONES.pop(name)


def test_register_backbone_as_decorator_returns_the_class() -> None:
    try:
        assert register_backbone("tiny_decorated")(TinyNet) is TinyNet
        assert BACKBONES["tiny_decorated"] is TinyNet
    finally:
        BACKBONES.pop("tiny_decorated")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_trains_a_registered_user_network(name: str, user_backbones, blobs, tmp_path) -> None:
    ladder = issubclass(METHODS[name], LadderNetwork)
    backbone = "tiny_ladder" if ladder else "tiny"
    kwargs = {} if ladder else {"width": 6}
    model = get_method(name)(num_classes=3, input_shape=(5,), backbone=backbone, backbone_kwargs=kwargs)
    if ladder:
        assert model.encoder.feature_shapes == [(5,), (6,), (3,)]
    else:
        (net,) = [m for m in model.classifier.modules() if isinstance(m, TinyNet)]
        assert net.head.in_features == 6
    fast_dev_run(model, blobs, tmp_path)
