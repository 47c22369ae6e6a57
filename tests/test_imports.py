"""ssl_kit.utils.imports.import_object: dotted paths from configs and the command line."""

import pytest

from ssl_kit.utils.imports import import_object
from ssl_kit.methods import VAT
from ssl_kit.benchmark.reference import tfidf_logistic_regression


def test_dotted_and_bare_names_resolve() -> None:
    assert import_object("ssl_kit.benchmark.reference.tfidf_logistic_regression") is tfidf_logistic_regression
    assert import_object("VAT", default_module="ssl_kit.methods") is VAT


@pytest.mark.parametrize("path, default, fragment", [
    ("ssl_kit.methods.NoSuchMethod", None, "has no attribute 'NoSuchMethod'"),
    ("no_such_package.Thing", None, "no_such_package"),
    ("VAT", None, "not a dotted path"),
])
def test_unknown_paths_raise_import_errors_naming_them(path: str, default: str | None, fragment: str) -> None:
    with pytest.raises(ImportError, match=fragment):
        import_object(path, default_module=default)
