"""The generalization grid (configs/benchmark/generalization*.yaml): defaults only, every run builds,
a one-seed few-step slice runs; and its scikit-learn datamodules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import REPO
from ssl_kit.benchmark import load_grid, run_benchmark
from ssl_kit.benchmark.runner import runner_args
from ssl_kit.cli.lightning import build_cli
from ssl_kit.datamodules.sklearn_sets import BlobsDataModule, SklearnTableDataModule, standardise
from ssl_kit.methods import METHODS
from ssl_kit.methods.base import SSLModule

GRID = REPO / "configs" / "benchmark" / "generalization.yaml"
MNIST_GRID = REPO / "configs" / "benchmark" / "generalization_mnist.yaml"
TEXT_GRID = REPO / "configs" / "benchmark" / "generalization_text.yaml"
#: Methods that cannot train on token ids (their generator or decoder makes dense inputs).
DENSE_ONLY = {"ImprovedGAN", "LadderNetwork", "VirtualAdversarialLadder"}
#: What a setting may set: the labels, the synthetic sets' noise, and (for tests) nothing else.
SETTING_KEYS = {"data.init_args.num_labeled", "data.init_args.noise"}


def _model_section(config: str) -> dict:
    return yaml.safe_load(Path(config).read_text())["model"]


@pytest.mark.parametrize("path", [GRID, MNIST_GRID, TEXT_GRID])
def test_every_method_runs_with_its_defaults_only(path: Path) -> None:
    """Every method that can train on the data is a row; its entry is a class path and nothing else;
    settings set only labels and noise."""
    grid = load_grid(path, check_files=True)
    assert grid.baseline == "supervised" and len(grid.seeds) >= 3
    trained = {cls.__name__ for cls in METHODS.values()} - {"IMSAT"}  # IMSAT clusters: no test error
    if path == TEXT_GRID:
        trained -= DENSE_ONLY
    assert {_model_section(paths[0])["class_path"].rsplit(".", 1)[1] for _, paths, _ in grid.methods.values()} == trained
    for name, (_, paths, overrides) in grid.methods.items():
        assert overrides == {} and len(paths) == 1, name
        assert _model_section(paths[0]).keys() == {"class_path"}, name
    assert not grid.overrides
    for name, (_, paths, overrides) in grid.settings.items():
        assert set(overrides) <= SETTING_KEYS and "data.init_args.num_labeled" in overrides, name
        data_config = yaml.safe_load(Path(paths[0]).read_text())
        assert "model" not in data_config and data_config["trainer"]["max_steps"] > 0, name


def test_grid_covers_the_issue_data_sets_at_two_label_counts() -> None:
    """At least 8 data sets, each at two label counts; three synthetic families at two noise levels."""
    grid = load_grid(GRID, check_files=True)
    labels: dict[str, set[int]] = {}
    noises: dict[str, set[float]] = {}
    for configs, _, overrides in grid.settings.values():
        data_set = Path(configs[0]).stem
        key = f"{data_set}@{overrides.get('data.init_args.noise', '')}"
        labels.setdefault(key, set()).add(overrides["data.init_args.num_labeled"])
        if "data.init_args.noise" in overrides:
            noises.setdefault(data_set, set()).add(overrides["data.init_args.noise"])
    assert len({k.split("@")[0] for k in labels}) >= 7 and len(labels) >= 10
    assert all(len(counts) == 2 for counts in labels.values()), labels
    assert {"iris", "wine", "breast_cancer", "digits"} <= {k.split("@")[0] for k in labels}
    assert len(noises) >= 3 and all(len(levels) == 2 for levels in noises.values()), noises


@pytest.mark.parametrize("path", [GRID, MNIST_GRID])
def test_every_run_of_the_grid_builds_through_the_cli(path: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each (method, setting) builds its model, data and trainer through the CLI (the seed only seeds)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", sys.argv[:1])  # LightningCLI warns when pytest's flags and args are both given
    grid = load_grid(path, check_files=True)
    first_seed = {(s.method, s.setting): s for s in reversed(grid.runs())}
    assert len(first_seed) * len(grid.seeds) == len(grid.runs())
    for spec in first_seed.values():
        cli = build_cli(spec.cli_args() + runner_args(tmp_path), run=False, save_config_callback=None,
                        parser_kwargs={"exit_on_error": False})
        assert isinstance(cli.model, SSLModule), spec.run_id
        assert cli.datamodule.num_labeled == dict(spec.overrides)["data.init_args.num_labeled"], spec.run_id


def test_a_one_seed_few_step_slice_runs(tmp_path: Path) -> None:
    """A handful of settings x methods, seed 1, 3 steps: every run finishes with a test error."""
    grid = load_grid(GRID, check_files=True)
    grid.seeds = [1]
    grid.overrides = {"trainer.max_steps": 3}
    methods = ["supervised", "van", "fixmatch"]
    settings = ["rings_n05_l8", "blobs_n80_l32", "iris_l6", "digits_l50"]
    rows = run_benchmark(grid, tmp_path, methods=methods, settings=settings, progress=False)
    assert len(rows) == len(methods) * len(settings)
    assert all(r["status"] == "ok" and r["steps"] == 3 and 0 <= r["test_error"] <= 100 for r in rows), \
        [(r["run_id"], r["error"]) for r in rows if r["status"] != "ok"]
    assert (tmp_path / "results.md").read_text().count("(baseline)") == len(settings)


@pytest.mark.parametrize(("name", "shape", "classes", "rows"),
                         [("iris", (4,), 3, 150), ("wine", (13,), 3, 178), ("breast_cancer", (30,), 2, 569)])
def test_tables_are_split_by_class_and_standardised_on_the_training_rows(name: str, shape: tuple[int, ...],
                                                                         classes: int, rows: int) -> None:
    data = SklearnTableDataModule(name, test_fraction=0.5, num_labeled=2 * classes)
    x_train, y_train, x_test, y_test = data.tensors
    assert data.input_shape == shape and data.num_classes == classes and len(data.class_names) == classes
    assert len(x_train) + len(x_test) == rows and abs(len(x_test) - rows / 2) <= classes
    assert torch.bincount(y_test, minlength=classes).tolist() == pytest.approx(
        (torch.bincount(y_train, minlength=classes)).tolist(), abs=1)
    assert torch.allclose(x_train.mean(0), torch.zeros(shape), atol=1e-5)
    assert torch.allclose(x_train.std(0), torch.ones(shape), atol=1e-4)
    assert not torch.allclose(x_test.mean(0), torch.zeros(shape), atol=1e-3)  # the test rows never enter the fit
    again = SklearnTableDataModule(name, test_fraction=0.5).tensors
    assert torch.equal(again[3], y_test) and torch.equal(again[2], x_test)
    other = SklearnTableDataModule(name, test_fraction=0.5, data_seed=1).tensors
    assert not torch.equal(other[2], x_test)


def test_standardise_leaves_a_constant_feature_centred() -> None:
    x_train = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
    train, test = standardise(x_train, torch.tensor([[2.0, 6.0]]))
    assert torch.isfinite(train).all() and train[:, 1].eq(0).all() and test.tolist() == [[0.0, 1.0]]


def test_blobs_share_their_centres_between_training_and_test_points() -> None:
    data = BlobsDataModule(num_classes=3, dim=5, noise=0.3, num_train=600, num_test=900, num_labeled=6)
    x_train, y_train, x_test, y_test = data.tensors
    assert x_train.shape == (600, 5) and x_test.shape == (900, 5) and data.input_shape == (5,)
    assert torch.bincount(y_test).tolist() == [300, 300, 300]
    train_means = torch.stack([x_train[y_train == c].mean(0) for c in range(3)])
    test_means = torch.stack([x_test[y_test == c].mean(0) for c in range(3)])
    assert (train_means - test_means).norm(dim=1).max() < 0.2 < torch.cdist(train_means, train_means).max()
    noisier = BlobsDataModule(num_classes=3, dim=5, noise=3.0, num_train=600, num_test=900).tensors[0]
    spread = [float(torch.stack([x[y_train == c].std(0).mean() for c in range(3)]).mean()) for x in (x_train, noisier)]
    assert spread[0] < spread[1]


def test_sklearn_datamodules_refuse_bad_arguments() -> None:
    with pytest.raises(ValueError, match="dataset must be one of"):
        SklearnTableDataModule("titanic")
    with pytest.raises(ValueError, match="test_fraction"):
        SklearnTableDataModule("iris", test_fraction=1.0)
    with pytest.raises(ValueError, match="noise > 0"):
        BlobsDataModule(noise=0.0)
