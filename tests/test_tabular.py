"""TabularDataModule: tables from files with categoricals, gaps and empty labels, and predictions on raw rows."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import ssl_kit
from ssl_kit.checkpoints.predict import main as predict_main
from ssl_kit.checkpoints.provenance import read_record
from ssl_kit.cli.lightning import build_cli
from ssl_kit.datamodules import TabularDataModule
from ssl_kit.datamodules.tabular_examples import EXAMPLES, example_frame
from ssl_kit.datamodules.tabular_examples import main as examples_main
from ssl_kit.methods import Supervised

REPO = Path(__file__).resolve().parents[1]


def make_table(rows: int = 120, seed: int = 0, unlabeled: int = 20) -> pd.DataFrame:
    """Numbers with gaps, a text category, a small-integer category, an id, and names as labels (some empty)."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10.0, 3.0, rows)
    weight = rng.normal(-5.0, 0.5, rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    grade = rng.integers(1, 4, rows)
    label = np.where(size + 2.0 * (colour == "red") > 11.0, "big", "small").astype(object)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(rows)], "size": size, "weight": weight,
                          "colour": colour, "grade": grade, "label": label})
    frame.loc[rng.choice(rows, 10, replace=False), "size"] = np.nan
    frame.loc[rng.choice(rows, 5, replace=False), "colour"] = None
    frame.loc[rng.choice(rows, unlabeled, replace=False), "label"] = None
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def small(train: object, **kwargs: object) -> TabularDataModule:
    return TabularDataModule(train, label_column="label", labeled_batch_size=8, unlabeled_batch_size=16, **kwargs)


# ----------------------------------------------------------------------------- reading and encoding
def test_categoricals_gaps_and_empty_labels(tmp_path: Path) -> None:
    frame = make_table()
    dm = small(write(frame, tmp_path / "train.csv"), num_test=20)
    kinds = {c.name: c.kind for c in dm.encoding.columns}
    assert kinds == {"size": "numeric", "weight": "numeric", "colour": "categorical", "grade": "categorical"}
    assert dm.encoding.feature_names == ["size", "size_missing", "weight",
                                         "colour=<missing>", "colour=blue", "colour=green", "colour=red",
                                         "colour=<unseen>", "grade=1", "grade=2", "grade=3", "grade=<unseen>"]
    assert dm.input_shape == (12,) and dm.class_names == ["big", "small"]
    x_train, y_train, x_test, _ = dm.tensors
    assert len(x_train) == 100 - 20 and len(x_test) == 20 and torch.isfinite(x_train).all()
    assert dm.extra_unlabeled is not None and len(dm.extra_unlabeled) == 20  # the rows with an empty label
    dm.setup("fit")
    assert len(dm.unlabeled_inputs()) == 80 + 20
    batch = next(iter(dm.train_dataloader()))
    assert batch.x_l.shape == (8, 12) and batch.x_u.shape == (16, 12)


def test_statistics_come_from_the_training_rows_only(tmp_path: Path) -> None:
    frame = make_table()
    test = make_table(rows=30, seed=1, unlabeled=0)
    shifted = test.assign(size=test["size"] + 1000.0, colour="purple")
    dm = small(frame, test=test)
    other = small(frame, test=shifted)
    assert dm.encoding.to_dict() == other.encoding.to_dict()
    train_rows = pd.concat([frame[frame["label"].notna()], frame[frame["label"].isna()]])
    size = train_rows["size"].fillna(train_rows["size"].median())
    column = dm.encoding.columns[0]
    assert column.median == pytest.approx(train_rows["size"].median())
    assert (column.mean, column.scale) == (pytest.approx(size.mean()), pytest.approx(size.std(ddof=0)))
    unseen = other.tensors[2][:, dm.encoding.feature_names.index("colour=<unseen>")]
    assert torch.equal(unseen, torch.ones(30))  # a colour no training row has


def test_encoding_equals_scikit_learn_imputer_scaler_and_one_hot(tmp_path: Path) -> None:
    frame = make_table()
    dm = small(frame, num_test=20)
    fit_rows = pd.concat([dm._frames["train"], dm._frames["unlabeled"]])  # noqa: SLF001 (the rows it was fitted on)
    new = make_table(rows=40, seed=3)
    new.loc[0, "colour"] = "purple"
    got = dm.encoding.transform(new)
    names = dm.encoding.feature_names
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit(fit_rows[["size", "weight"]])
    expected = numbers.transform(new[["size", "weight"]])
    np.testing.assert_allclose(got[:, [names.index("size"), names.index("weight")]], expected, rtol=1e-5, atol=1e-5)
    indicator = MissingIndicator().fit(fit_rows[["size"]]).transform(new[["size"]])[:, 0]
    np.testing.assert_array_equal(got[:, names.index("size_missing")], indicator)
    colours = fit_rows[["colour"]].fillna("<missing>")
    one_hot = OneHotEncoder(handle_unknown="ignore").fit(colours).transform(new[["colour"]].fillna("<missing>"))
    columns = [names.index(f"colour={c}") for c in ["<missing>", "blue", "green", "red"]]
    np.testing.assert_array_equal(got[:, columns], one_hot.toarray())
    np.testing.assert_array_equal(got[:, names.index("colour=<unseen>")], one_hot.toarray().sum(1) == 0)


def test_csv_tsv_and_parquet_read_the_same_table(tmp_path: Path) -> None:
    frame = make_table()
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    tensors = [small(source, num_test=20).tensors for source in
               (write(frame, tmp_path / "t.csv"), tmp_path / "t.tsv", tmp_path / "t.parquet", frame)]
    for other in tensors[1:]:
        for a, b in zip(tensors[0], other):
            torch.testing.assert_close(a, b)


def test_feature_drop_categorical_columns_and_na_values(tmp_path: Path) -> None:
    frame = make_table().assign(code=lambda f: f["grade"].astype(str).where(f.index % 7 > 0, "?"))
    with pytest.raises(ValueError, match=r"column 'code' holds numbers but also text: '\?'.*na_values"):
        small(frame)
    dm = small(frame, na_values=["?"], drop_columns=["grade"], categorical_columns=["colour"])
    assert {c.name: c.kind for c in dm.encoding.columns} == {"size": "numeric", "weight": "numeric",
                                                             "colour": "categorical", "code": "numeric"}
    assert "code_missing" in dm.encoding.feature_names
    only = small(frame, feature_columns=["weight", "grade"])
    assert only.encoding.column_names == ["weight", "grade"]


# ----------------------------------------------------------------------------- clear errors
@pytest.mark.parametrize(("change", "kwargs", "message"), [
    (lambda f: f, {"label_column": "lable"}, r"no label column 'lable'.*Did you mean 'label'"),
    (lambda f: f.assign(label="big"), {}, r"holds a single class \(\['big'\]\)"),
    (lambda f: f.assign(label=None), {}, r"Every row of .* has an empty label 'label'"),
    (lambda f: f, {"categorical_columns": ["grade"]}, r"column 'colour' holds text where numbers are expected"),
    (lambda f: f.assign(name=[f"patient {i}" for i in range(len(f))]), {}, r"'name' holds text with 100 distinct"),
    (lambda f: f, {"num_test": 200}, r"num_test=200 must leave"),
])
def test_clear_errors_before_training(change, kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TabularDataModule(change(make_table()), **{"label_column": "label", **kwargs})


def test_a_test_table_with_other_columns_is_refused_and_unlabeled_test_rows_are_counted(tmp_path: Path,
                                                                                         caplog) -> None:
    train, test = make_table(), make_table(rows=30, seed=1, unlabeled=4)
    with pytest.raises(ValueError, match=r"lacks \['weight'\] and adds \['mass'\]"):
        small(train, test=write(test.rename(columns={"weight": "mass"}), tmp_path / "test.csv"))
    with caplog.at_level(logging.INFO):
        dm = small(train, test=write(test, tmp_path / "test.csv"))
    assert len(dm.tensors[2]) == 26
    assert "left out 4 of 30 test rows, whose label 'label' is empty" in caplog.text
    assert "100 labeled training rows, 20 unlabeled" in caplog.text


# ----------------------------------------------------------------------------- checkpoints and prediction
def test_encoding_is_checkpoint_state() -> None:
    dm = small(make_table(), num_test=20)
    state = dm.state_dict()
    other = small(make_table(seed=5), num_test=20)
    other.load_state_dict(state)
    assert other.encoding.to_dict() == dm.encoding.to_dict() == state["table_encoding"]


def test_predict_files_on_raw_rows_equals_trainer_predict(tmp_path: Path) -> None:
    train, test = make_table(), make_table(rows=30, seed=1, unlabeled=0)
    dm = small(write(train, tmp_path / "train.csv"), test=write(test, tmp_path / "test.csv"))
    pl.seed_everything(0)
    trainer = pl.Trainer(max_steps=20, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, use_distributed_sampler=False, default_root_dir=tmp_path,
                         limit_val_batches=0, num_sanity_val_steps=0)
    model = Supervised(dm.num_classes, dm.input_shape, backbone_kwargs={"hidden": [16]})
    trainer.fit(model, dm)
    trainer.save_checkpoint(tmp_path / "table.ckpt")
    expected = torch.cat(trainer.predict(model, datamodule=dm))
    assert read_record(tmp_path / "table.ckpt")["preprocessing"]["kind"] == "table"

    shuffled = test.drop(columns=["label"]).assign(note="ignored")[["note", "grade", "weight", "id", "colour", "size"]]
    out = tmp_path / "predictions.csv"
    predict_main(["--ckpt", str(tmp_path / "table.ckpt"), "--inputs", str(write(shuffled, tmp_path / "new.csv")),
                  "--output", str(out)])
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == list(test["id"])
    assert list(rows[0]) == ["id", "prediction", "p_big", "p_small"]
    got = torch.tensor([[float(r["p_big"]), float(r["p_small"])] for r in rows])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    assert [r["prediction"] for r in rows] == [dm.class_names[k] for k in expected.argmax(1)]

    loaded = ssl_kit.load(tmp_path / "table.ckpt")
    torch.testing.assert_close(loaded.predict_proba(shuffled), expected)
    with pytest.raises(ValueError, match=r"lack the column\(s\) \['colour'\]"):
        loaded.predict_proba(shuffled.drop(columns=["colour"]))


# ----------------------------------------------------------------------------- CLI and example tables
def test_cli_fit_on_a_csv_with_the_tabular_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = write(make_table().rename(columns={"label": "y"}), tmp_path / "my.csv")
    monkeypatch.chdir(tmp_path)
    cli = build_cli(["--config", str(REPO / "configs" / "vat" / "tabular.yaml"), "--data.train", str(table),
                     "--data.label_column", "y", "--data.num_labeled", "20", "--trainer.fast_dev_run", "true",
                     "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"], run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.datamodule.class_names == ["big", "small"] and len(cli.datamodule.split.labeled) == 20
    assert cli.trainer.global_step >= 1


def test_example_tables_are_written_where_asked_and_read_back(tmp_path: Path, capsys) -> None:
    examples_main(["--out", str(tmp_path / "tables")])
    assert "label_column: diagnosis" in capsys.readouterr().out
    for name, (_, label) in EXAMPLES.items():
        dm = TabularDataModule(tmp_path / "tables" / f"{name}.csv", label_column=label, num_labeled="all")
        bundled = TabularDataModule(f"sklearn:{name}", label_column=label, num_labeled="all")
        assert dm.class_names == bundled.class_names == sorted(set(example_frame(name)[label]))
        torch.testing.assert_close(dm.tensors[0], bundled.tensors[0])
