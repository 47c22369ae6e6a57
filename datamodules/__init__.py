"""Compatibility name for :mod:`ssl_kit.datamodules`, where the data code lives.

``from datamodules import MNISTDataModule`` and ``class_path: datamodules.toy.ToyDataModule`` in
older configs keep working: ``datamodules`` and each ``datamodules.<module>`` are the very module
objects of ``ssl_kit.datamodules`` (one class, one ``isinstance``). ssl_kit itself imports only
``ssl_kit.datamodules``, so a user's own package named ``datamodules`` in the working directory
shadows this alias, never the toolkit.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

_ALIAS = __name__
_TARGET = "ssl_kit.datamodules"


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already imported ``ssl_kit.datamodules.<name>`` module."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.own = (module.__spec__, module.__loader__)
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run (the target ran once, under its own name); give it back its own spec."""
        module.__spec__, module.__loader__ = self.own


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``datamodules.<name>`` to ``ssl_kit.datamodules.<name>``."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_ALIAS + "."):
            return None
        real = _TARGET + fullname[len(_ALIAS):]
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))


if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())
sys.modules[_ALIAS] = importlib.import_module(_TARGET)
