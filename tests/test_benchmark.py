"""The benchmark runner: grid checks, a tiny grid end to end, resume, failures, report, shipped grids."""

from __future__ import annotations

import math
import re
import signal
import statistics
from pathlib import Path

import matplotlib.image
import pytest
import yaml

import ssl_kit.benchmark.api as api
import ssl_kit.benchmark.runner
from ssl_kit.cli.lightning import build_cli
from conftest import REPO
from ssl_kit.benchmark import GridError, load_grid, parse_grid, read_results, run_benchmark
from ssl_kit.benchmark.report import markdown_table
from ssl_kit.benchmark.results import COLUMNS, write_results
from ssl_kit.benchmark.runner import read_curve, runner_args
from ssl_kit.methods.base import SSLModule

TOY = str(REPO / "configs" / "supervised" / "toy_rings.yaml")


def tiny_grid() -> dict:
    """Two tiny supervised runs (seeds 1, 2) and a method whose override is wrong (fails at parse)."""
    return {
        "name": "tiny",
        "methods": {
            "supervised": TOY,
            "broken": {"config": TOY, "overrides": {"model.init_args.no_such_arg": 1}},
        },
        "settings": {"rings16": {"data.init_args.num_labeled": 16}},
        "seeds": [1, 2],
        # a validation split: without one the periodic evaluation is the test set, logged as test/*
        "overrides": {"trainer.max_steps": 20, "trainer.val_check_interval": 10, "data.init_args.num_val": 20,
                      "data.init_args.num_train": 200, "data.init_args.num_test": 200},
        "published": {"supervised/rings16": 5.0},
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    out = tmp_path_factory.mktemp("bench")
    grid_file = out / "grid.in.yaml"
    grid_file.write_text(yaml.safe_dump(tiny_grid(), sort_keys=False))
    rows = run_benchmark(grid_file, out / "result", progress=False)
    return grid_file, out / "result", rows


# ----------------------------------------------------------------------------- grid files
@pytest.mark.parametrize(
    "change, message",
    [
        ({"methods": {"vat": "configs/vat/nowhere.yaml"}}, "configs/vat/nowhere.yaml"),
        ({"seeds": []}, "seeds"),
        ({"seeds": [1, 1]}, "duplicates"),
        ({"epochs": 3}, "unknown key"),
        ({"published": {"vat": 1.0}}, "published key 'vat'"),
        ({"overrides": {"seed_everything": 3}}, "seed_everything"),
        ({"overrides": {"--trainer.max_steps": 3}}, "without '--'"),
        ({"baseline": "nobody"}, "baseline"),
        ({"settings": {"a__b": {}}}, "setting name"),
        ({"methods": {"linear": {"config": TOY, "reference": "not a path"}}}, "dotted path"),
        ({"methods": {"linear": {"config": TOY, "script": "x.y"}}}, "'reference' only"),
    ],
)
def test_bad_grids_give_clear_errors(change: dict, message: str) -> None:
    with pytest.raises(GridError, match=re.escape(message)):
        parse_grid({**tiny_grid(), **change})


def test_missing_configs_are_required_only_for_the_methods_that_run(tmp_path: Path) -> None:
    raw = {**tiny_grid(), "methods": {"supervised": TOY, "vat": "configs/vat/nowhere.yaml"}}
    grid = parse_grid(raw, check_files=False)
    grid.require_files(["supervised"])
    with pytest.raises(GridError, match="methods.vat: config file 'configs/vat/nowhere.yaml' does not exist"):
        grid.require_files()
    grid_file = tmp_path / "g.yaml"
    grid_file.write_text(yaml.safe_dump(raw))
    with pytest.raises(SystemExit) as exit_info:
        api.main(["--config", str(grid_file), "--output_dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2 and not (tmp_path / "out" / "results.csv").exists()


def test_shards_partition_the_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = parse_grid({**tiny_grid(), "seeds": [1, 2, 3]})
    seen: dict[int, list[str]] = {}
    for k in range(2):
        seen[k] = []
        monkeypatch.setattr(api, "execute_run", lambda spec, out, callbacks, k=k: seen[k].append(spec.run_id) or {
            "run_id": spec.run_id, "method": spec.method, "setting": spec.setting, "seed": spec.seed,
            "key": spec.key, "status": "failed", "error": "not run"})
        api.run_benchmark(grid, tmp_path, progress=False, shard=(k, 2))
    assert sorted(seen[0] + seen[1]) == sorted(s.run_id for s in grid.runs()) and not set(seen[0]) & set(seen[1])
    assert len(read_results(tmp_path / "results.csv")) == 6  # both shards' rows kept in one file


def test_missing_grid_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GridError, match="nope.yaml"):
        load_grid(tmp_path / "nope.yaml")


def test_runs_merge_overrides_in_order_and_keys_change_with_them() -> None:
    raw = tiny_grid()
    raw["methods"]["supervised"] = {"config": TOY, "overrides": {"trainer.max_steps": 30}}
    raw["settings"]["rings16"]["trainer.max_steps"] = 40
    grid = parse_grid(raw)
    runs = grid.runs(["supervised"])
    assert [(r.method, r.setting, r.seed) for r in runs] == [("supervised", "rings16", 1), ("supervised", "rings16", 2)]
    args = runs[0].cli_args()
    assert args[:2] == ["--config", TOY] and "--trainer.max_steps=40" in args and args[-1] == "--seed_everything=1"
    assert len({r.key for r in runs}) == 2
    raw["settings"]["rings16"]["trainer.max_steps"] = 41
    assert parse_grid(raw).runs(["supervised"])[0].key != runs[0].key
    with pytest.raises(GridError, match="Unknown method"):
        grid.runs(["vat"])
    assert {r.setting for r in grid.runs(settings=["rings16"])} == {"rings16"}
    with pytest.raises(GridError, match=r"Unknown setting\(s\) \['mnist'\]; the grid has \['rings16'\]"):
        grid.runs(settings=["mnist"])
    assert [r.seed for r in grid.runs(["supervised"], seeds=[2])] == [2]
    with pytest.raises(GridError, match=r"Unknown seed\(s\) \[7\]"):
        grid.runs(seeds=[7])


def test_editing_a_config_file_changes_the_resume_key(tmp_path: Path) -> None:
    config = tmp_path / "toy.yaml"
    config.write_text(Path(TOY).read_text())
    raw = tiny_grid()
    raw["methods"]["supervised"] = {"config": str(config)}
    before = parse_grid(raw).runs(["supervised"])[0].key
    assert parse_grid(raw).runs(["supervised"])[0].key == before
    config.write_text(config.read_text().replace("lr: 0.01", "lr: 0.02"))
    assert parse_grid(raw).runs(["supervised"])[0].key != before


# ----------------------------------------------------------------------------- a tiny grid
def test_grid_writes_three_files_with_the_right_rows(finished) -> None:
    _, out, rows = finished
    assert {p.name for p in out.iterdir()} >= {"results.csv", "results.md", "results.png", "grid.yaml", "runs"}
    csv_rows = read_results(out / "results.csv")
    assert csv_rows == rows
    assert [(r["method"], r["seed"], r["status"]) for r in rows] == [
        ("supervised", 1, "ok"), ("supervised", 2, "ok"), ("broken", 1, "failed"), ("broken", 2, "failed")]
    for row in rows[:2]:
        assert row["dataset"] == "toy_rings" and row["labels"] == 16 and row["steps"] == 20
        assert row["test_error"] == pytest.approx(100 - row["test_acc"], abs=1e-3)
        curve = read_curve(Path(row["metrics_path"]))
        assert [s for s, _ in curve] == [9, 19]  # validation after steps 10 and 20
        assert row["best_val_error"] == min(v for _, v in curve) and row["last_val_error"] == curve[-1][1]
        assert row["wall_time_s"] > 0 and row["time_per_step_s"] > 0 and row["peak_memory_mb"] > 0
        assert row["device"] == "cpu" and Path(row["checkpoint_path"]).is_file()
        saved = yaml.safe_load(Path(row["config_path"]).read_text())
        assert saved["seed_everything"] == row["seed"] and saved["trainer"]["max_steps"] == 20
    image = matplotlib.image.imread(out / "results.png")
    assert image.shape[0] > 200 and image.shape[1] > 2 * image.shape[0]  # bars + one learning-curve panel


def test_saved_config_reproduces_the_run_settings(finished) -> None:
    from ssl_kit.cli.lightning import build_cli

    row = finished[2][0]
    cli = build_cli(["--config", row["config_path"], "--trainer.logger=false"], run=False)
    assert cli.trainer.max_steps == 20 and cli.datamodule.num_labeled == 16 and cli.datamodule.num_train == 200


def test_failed_run_is_recorded_with_its_error(finished) -> None:
    _, out, rows = finished
    for row in rows[2:]:
        assert "no_such_arg" in row["error"] and row["test_error"] is None
        assert (out / "runs" / row["run_id"] / "error.txt").read_text().strip()
    assert "## Failed runs" in (out / "results.md").read_text()


def test_rerun_skips_finished_runs(finished, monkeypatch: pytest.MonkeyPatch) -> None:
    grid_file, out, rows = finished
    calls = []
    real = api.execute_run
    monkeypatch.setattr(api, "execute_run", lambda spec, *a, **k: calls.append(spec.run_id) or real(spec, *a, **k))
    again = run_benchmark(grid_file, out, progress=False, retry_failed=False)
    assert calls == [] and again == rows
    again = run_benchmark(grid_file, out, progress=False)  # failed runs are tried again by default
    assert calls == ["broken__rings16__seed1", "broken__rings16__seed2"]
    assert again[:2] == rows[:2] and [r["status"] for r in again[2:]] == ["failed", "failed"]


def test_markdown_mean_std_matches_csv(finished) -> None:
    _, out, _ = finished
    errors = [r["test_error"] for r in read_results(out / "results.csv") if r["status"] == "ok"]
    line = next(l for l in (out / "results.md").read_text().splitlines() if "supervised (baseline)" in l)
    cells = [c.strip() for c in line.strip("|").split("|")]
    mean, std = (float(x) for x in cells[2].split("±"))
    assert mean == pytest.approx(statistics.mean(errors), abs=0.006)
    assert std == pytest.approx(statistics.stdev(errors), abs=0.006)
    assert cells[3] == "2" and cells[4] == "5.00"  # seeds, published


def test_markdown_statistics_on_known_values() -> None:
    grid = parse_grid({"methods": {"supervised": TOY, "other": TOY}, "seeds": [1, 2, 3]})
    rows = [{c: None for c in COLUMNS} | {"run_id": f"{m}{e}", "method": m, "setting": "default", "status": "ok",
                                          "test_error": e, "device": "cpu"}
            for m, errs in (("other", [1.0, 2.0, 4.0]), ("supervised", [3.0])) for e in errs]
    table = markdown_table(grid, rows).splitlines()
    body = [l for l in table if l.startswith("| default")]
    # baseline first; sample std of (1, 2, 4) is sqrt(7/3) = 1.53, mean 7/3 = 2.33
    assert body[0].startswith("| default | supervised (baseline) | 3.00 (1 seed) | 1 |")  # no spread from one seed
    assert body[1].startswith(f"| default | other | 2.33 ± {math.sqrt(7 / 3):.2f} | 3 |")


def test_results_csv_is_never_left_truncated(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    good = [{c: None for c in COLUMNS} | {"run_id": "a", "status": "ok", "test_error": 1.5}]
    write_results(path, good)
    before = path.read_bytes()

    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_results(path, good + [{"run_id": "b", "status": "ok", "test_error": Boom()}])
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["results.csv"]


# ----------------------------------------------------------------------------- shipped grids
ALL_METHODS = {"supervised", "vat", "improved_gan", "ladder", "van"}
BASELINES = {"pseudo_label", "pi_model", "mean_teacher", "fixmatch"}
SHIPPED = {
    "toy": ALL_METHODS | BASELINES,
    "mnist100_quick": ALL_METHODS | BASELINES,
    "mnist100": ALL_METHODS | {"vat_entmin", "ladder_gamma"},
    "supervised_quick": {"supervised"},
}


def test_shipped_grid_by_name_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ssl-kit benchmark --config benchmark/toy`` from any folder: the grid and its method configs
    are found among the shipped configs."""
    monkeypatch.chdir(tmp_path)
    grid = load_grid("benchmark/toy", check_files=True)
    assert grid.path == REPO / "configs/benchmark/toy.yaml"
    for spec in grid.runs():
        assert all(Path(p).is_file() and Path(p).is_relative_to(REPO / "configs") for p in spec.config_paths)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_grids(name: str) -> None:
    """Structure, method names, and every referenced config exists and parses as a grid entry."""
    path = REPO / "configs" / "benchmark" / f"{name}.yaml"
    grid = load_grid(path, check_files=True)
    assert set(grid.methods) == SHIPPED[name] and grid.baseline == "supervised" and len(grid.runs()) > 0
    for config in grid.config_files():
        assert re.fullmatch(r"configs/(supervised|vat|improved_gan|ladder|van|pseudo_label|pi_model|mean_teacher|fixmatch)"
                            r"/\w+\.yaml", config), config
        assert (REPO / config).is_file(), config


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_grid_runs_build_through_the_cli(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every (method, setting) of a shipped grid, overrides included, builds its model, data and trainer."""
    monkeypatch.chdir(REPO)  # grids name configs relative to the repository
    grid = load_grid(REPO / "configs" / "benchmark" / f"{name}.yaml")
    _build_first_seed_of_every_run(grid, tmp_path, monkeypatch)


@pytest.mark.parametrize("shard", ["x/2", "1", "1/2/3"])
def test_malformed_shard_is_a_usage_error(shard: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        api.main(["--config", TOY, "--shard", shard])
    assert "--shard must look like K/N" in capsys.readouterr().err


def test_run_without_a_test_error_is_failed_and_a_nan_row_does_not_break_the_report(tmp_path: Path) -> None:
    raw = tiny_grid()
    raw["methods"] = {"supervised": {"config": TOY, "overrides": {"trainer.limit_test_batches": 0}}}
    raw["seeds"] = [1]
    rows = run_benchmark(parse_grid(raw), tmp_path, progress=False)
    assert rows[0]["status"] == "failed" and "no finite test/error" in rows[0]["error"]
    nan_row = {**rows[0], "run_id": "supervised__rings16__seed2", "seed": 2, "status": "ok", "error": None,
               "test_error": float("nan")}
    table = markdown_table(parse_grid(raw), [nan_row])
    assert "no finished runs" in table and "finished without a finite test error (nan)" in table


def test_interrupt_stops_the_grid_and_restores_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lightning answers Ctrl-C with SIG_IGN and sys.exit(1): the grid must stop, not record a failure."""
    def interrupted_fit(*args, **kwargs):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise SystemExit(1)

    monkeypatch.setattr(ssl_kit.benchmark.runner, "build_cli", interrupted_fit)
    spec = parse_grid(tiny_grid()).runs(["supervised"])[0]
    try:
        with pytest.raises(SystemExit):
            api.execute_run(spec, tmp_path)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_report_only_without_results_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text(yaml.safe_dump(tiny_grid(), sort_keys=False))
    with pytest.raises(SystemExit):
        api.main(["--config", str(grid_file), "--output_dir", str(tmp_path / "empty"), "--report_only"])
    assert "does not exist yet: run the grid" in capsys.readouterr().err


def _build_first_seed_of_every_run(grid, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each (method, setting) of ``grid`` builds its model, data and trainer through the CLI."""
    first_seed = {(s.method, s.setting): s for s in reversed(grid.runs())}
    _fake_png_folder(tmp_path / "data" / "mnist_png")  # the small grid's image-folder setting reads it
    monkeypatch.chdir(tmp_path)  # its relative data paths; the grid's config paths are resolved
    for spec in first_seed.values():
        cli = build_cli(spec.cli_args() + runner_args(tmp_path), run=False, save_config_callback=None,
                                    parser_kwargs={"exit_on_error": False})
        assert isinstance(cli.model, SSLModule), spec.run_id


def _fake_png_folder(root: Path) -> None:
    """Two grayscale 28x28 PNGs per digit in ``root/{train,test}/<digit>/``."""
    from PIL import Image

    for split in ("train", "test"):
        for digit in range(10):
            folder = root / split / str(digit)
            folder.mkdir(parents=True)
            for i in range(2):
                Image.new("L", (28, 28), color=20 * digit + i).save(folder / f"{i}.png")


LAYERED_GRIDS = ["configs/benchmark/small.yaml", "configs/benchmark/text.yaml"]
EXPERIMENT_GRIDS = sorted(str(p.relative_to(REPO)) for p in (REPO / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", LAYERED_GRIDS + EXPERIMENT_GRIDS)
def test_layered_and_experiment_grids_build_every_run_through_the_cli(path: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The grids made of layered parts (``small``: benchmark/small/{methods,datasets}; ``text``: the
    20 Newsgroups layer) and the investigation grids under experiments/ load with every file
    present, and each (method, setting) builds its model through the CLI."""
    monkeypatch.chdir(REPO)
    grid = load_grid(REPO / path, check_files=True)
    assert grid.baseline in grid.methods and len(grid.runs()) > 0
    if path in LAYERED_GRIDS:
        assert grid.baseline == "supervised"
    _build_first_seed_of_every_run(grid, tmp_path, monkeypatch)
