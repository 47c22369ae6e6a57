"""A trained method and the data of its run, rebuilt from a checkpoint and the run's config."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml
from jsonargparse import ArgumentParser
from pytorch_lightning.utilities import rank_zero_warn
from torch import nn

import ssl_kit.datamodules  # noqa: F401  (registers the datamodule classes for short class names)
from ssl_kit.checkpoints.predict import load
from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.registry import get_method


def _model_class(name: str) -> type[SSLModule]:
    """``module.Class`` or a registered method name (:func:`~ssl_kit.methods.registry.get_method`)."""
    try:
        found = get_method(name)
    except KeyError:
        found = None
    if not (isinstance(found, type) and issubclass(found, pl.LightningModule)):
        raise ValueError(f"{name!r} is not a LightningModule class; pass model_class='module.Class'.")
    return found


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dictionary, on the CPU."""
    return torch.load(path, map_location="cpu", weights_only=False)


def load_checkpoint(path: str | Path, model_class: str | None = None) -> SSLModule:
    """The method saved in a checkpoint, in evaluation mode on the CPU.

    Args:
        path: a Lightning checkpoint written by ``ssl-kit fit`` (or any ``Trainer``).
        model_class: ``module.Class`` or a method name such as ``VAT``; default: the class the
            Lightning CLI recorded in the checkpoint's hyper-parameters (``_class_path``).
    """
    if model_class is None:
        return load(path)  # the method the checkpoint records, as ssl_kit.load reads it
    return _model_class(model_class).load_from_checkpoint(path, map_location="cpu").eval()


def run_config(checkpoint_path: str | Path) -> Path:
    """The ``config.yaml`` the Lightning CLI saved for the run of ``RUN/checkpoints/x.ckpt``."""
    path = Path(checkpoint_path).resolve()
    for folder in path.parents[:3]:
        if (folder / "config.yaml").is_file():
            return folder / "config.yaml"
    raise FileNotFoundError(
        f"No config.yaml found above {checkpoint_path}; pass the run's config with --config "
        "(the file ssl-kit fit --print_config writes, or the one saved beside the run's logs)."
    )


def datamodule_from_config(
    config: str | Path | dict[str, Any], overrides: Sequence[str] = ()
) -> pl.LightningDataModule:
    """Instantiate the ``data`` section of a LightningCLI config (a path or its parsed content).

    Args:
        config: the run's config; only its ``data`` entry (``class_path`` + ``init_args``) is used.
        overrides: LightningCLI-style flags for that entry, e.g. ``["--data.init_args.data_dir", "x"]``.
    """
    content = yaml.safe_load(Path(config).read_text()) if not isinstance(config, dict) else config
    section = (content or {}).get("data")
    if not section:
        raise ValueError(f"The config {config} has no 'data' entry to build the datamodule from.")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(pl.LightningDataModule, "data")
    parsed = parser.parse_args(["--data", json.dumps(section), *overrides])
    return parser.instantiate(parsed).data


def checkpoint_datamodule(
    checkpoint_path: str | Path, config: str | Path | None = None, overrides: Sequence[str] = ()
) -> pl.LightningDataModule:
    """The datamodule of a checkpoint's run, with the split stored in the checkpoint.

    Args:
        checkpoint_path: the checkpoint; its stored split (labeled, unlabeled, validation) and the rest
            of the datamodule's state (e.g. a text vocabulary) are restored.
        config: the run's LightningCLI config; default: the ``config.yaml`` saved with the run.
        overrides: flags for the ``data`` entry (e.g. another ``data_dir``).
    """
    data = datamodule_from_config(config or run_config(checkpoint_path), overrides)
    state = read_checkpoint(checkpoint_path).get(type(data).__qualname__, {})
    if "split" in state:
        data.load_state_dict(state)  # the split, and whatever else it keeps (a text vocabulary)
    else:
        rank_zero_warn(f"{checkpoint_path} stores no split of {type(data).__name__}; using the config's draw.")
    return data


def classifier(model: nn.Module) -> nn.Module:
    """The network a method evaluates with (its weight average if any), else the module itself."""
    return getattr(model, "eval_classifier", model)


def error_rate(model: nn.Module, loader: Any, device: str | torch.device = "cpu") -> float:
    """Error in percent of ``model``'s evaluated network, in evaluation mode, over ``(x, y)`` batches."""
    net = classifier(model).to(device).eval()
    wrong = total = 0
    with torch.no_grad():
        for x, y in loader:
            wrong += int((net(x.to(device)).argmax(-1) != y.to(device)).sum())
            total += len(y)
    if not total:
        raise ValueError("The loader yielded no examples.")
    return 100.0 * wrong / total


def checkpoint_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The arguments every evaluation subcommand takes: checkpoints, the run's config, the model class."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description,
        epilog="Other --data.* flags override the run config's data entry (e.g. --data.init_args.data_dir DIR).",
    )
    parser.add_argument("checkpoints", nargs="+", help="Lightning checkpoints (.ckpt) of ssl_kit methods")
    parser.add_argument("--config", help="the run's config (default: config.yaml saved with the run)")
    parser.add_argument("--model_class", help="module.Class or method name, when a checkpoint does not record it")
    return parser


def parse_with_data_flags(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> tuple[argparse.Namespace, list[str]]:
    """Parse ``argv``, keeping unknown ``--data.*`` flags (and their values) for the datamodule."""
    args, data_flags = parser.parse_known_args(argv)
    unknown = [flag for flag in data_flags if flag.startswith("-") and not flag.startswith("--data")]
    if unknown:
        parser.error(f"unrecognised arguments: {' '.join(unknown)}")
    return args, data_flags
