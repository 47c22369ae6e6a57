"""Shipped configs found by name: ``--config vat/mnist_quick`` works from any folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ssl_kit

CONFIG_PACKAGE = "ssl_kit_configs"  # setup.py installs the top-level configs/ folder under this name


def configs_dir() -> Path | None:
    """The folder of the shipped configs: ``configs/`` beside a source checkout, else the installed copy."""
    checkout = Path(ssl_kit.__file__).resolve().parents[1] / "configs"
    if checkout.is_dir():
        return checkout
    spec = importlib.util.find_spec(CONFIG_PACKAGE)  # a folder without __init__.py: a namespace package
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(folder).is_dir():
            return Path(folder)
    return None


def resolve_config(value: str) -> str:
    """A ``--config`` value as a path: an existing file as given, else a shipped config of that name.

    ``vat/mnist_quick``, ``vat/mnist_quick.yaml`` and ``configs/vat/mnist_quick.yaml`` all name
    ``configs/vat/mnist_quick.yaml``. Anything else (inline YAML, a missing file) is returned
    unchanged for the parser to judge.
    """
    if Path(value).is_file() or "\n" in value or ":" in value:
        return value
    root = configs_dir()
    if root is None:
        return value
    name = value.removeprefix("configs/")
    for candidate in (root / name, root / f"{name}.yaml"):
        if candidate.is_file():
            return str(candidate)
    return value


def resolve_config_args(args: list[str]) -> list[str]:
    """``args`` with the value of every ``--config`` (``--config X`` or ``--config=X``) resolved."""
    out: list[str] = []
    follows_flag = False
    for arg in args:
        if follows_flag:
            out.append(resolve_config(arg))
        elif arg.startswith("--config="):
            out.append("--config=" + resolve_config(arg.split("=", 1)[1]))
        else:
            out.append(arg)
        follows_flag = arg == "--config"
    return out
