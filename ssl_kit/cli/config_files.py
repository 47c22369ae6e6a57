"""Shipped configs found by name: ``--config vat/mnist_quick`` works from any folder."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import ssl_kit

CONFIG_PACKAGE = "ssl_kit_configs"  # setup.py installs the top-level configs/ folder under this name


def configs_dir() -> Path | None:
    """The folder of the shipped configs: the installed ``ssl_kit_configs`` package data, else the
    ``configs/`` folder of the source checkout that holds this ``ssl_kit`` (its ``setup.py`` beside it).

    A folder merely named ``configs`` elsewhere (the working directory, site-packages) is never used.
    """
    try:
        folder = importlib.resources.files(CONFIG_PACKAGE)
    except ModuleNotFoundError:
        folder = None
    if folder is not None and folder.is_dir():
        return Path(str(folder))
    checkout = Path(ssl_kit.__file__).resolve().parents[1]
    if (checkout / "setup.py").is_file() and (checkout / "configs").is_dir():
        return checkout / "configs"
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
