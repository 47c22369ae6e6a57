"""The one API of issue 25: the method registry, shared argument names, base arguments everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ssl_kit
from ssl_kit.methods import SSLModule, get_method, register_method
from ssl_kit.methods.registry import METHODS


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
