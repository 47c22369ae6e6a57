"""Predict on new data with a trained checkpoint: ``ssl_kit.load`` and ``ssl-kit predict-files``.

Python::

    model = ssl_kit.load("runs/.../checkpoints/last.ckpt")   # the method is read from the checkpoint
    probs = model.predict_proba(raw_images_uint8)               # the training preprocessing is applied
    names = [model.class_names[i] for i in model.predict(raw_images_uint8)]

Command line (also ``ssl-kit predict --ckpt_path ... --inputs ...``)::

    ssl-kit predict-files --ckpt last.ckpt --inputs photos/ --output predictions.csv

Inputs: a folder of images (searched recursively; ids are the paths below the folder), one image
file, a ``.npy`` / ``.npz`` / ``.pt`` tensor file (ids are row numbers) or a ``.csv`` of feature
rows (an ``id`` column, if any, gives the ids; label columns are ignored). Raw inputs are what the
training data came as: ``uint8`` pixels for image data (files are read, resized and cropped as the
training images were), feature values otherwise. The CSV holds ``id``, ``prediction`` (the class
name) and ``p_<class name>`` per class.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssl_kit.datamodules.image_folder import list_images
from ssl_kit.datamodules.preprocessing import Preprocessing
from ssl_kit.datamodules.table_io import read_table_inputs
from ssl_kit.datamodules.user_inputs import INPUT_KEYS, LABEL_KEYS
from ssl_kit.checkpoints.provenance import read_record
from ssl_kit.text.predict import text_inputs

TENSOR_SUFFIXES = (".npy", ".npz", ".pt", ".pth")
ID_COLUMNS = ("id", "name", "file", "filename")


def method_class(name: str) -> type:
    """The method class a checkpoint names (see :func:`ssl_kit.methods.registry.get_method`)."""
    from ssl_kit.methods.registry import get_method

    try:
        return get_method(name)
    except KeyError:
        raise ValueError(f"The checkpoint names the method {name!r}, which is not installed here; import the module "
                         "that defines it first, or call TheMethod.load_from_checkpoint(path).") from None


def load(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """A trained model, ready to predict: the checkpoint's method, weights and record, in eval mode.

    Args:
        path: a checkpoint written while training with ssl_kit.
        map_location: device of the weights.

    Returns:
        The :class:`~ssl_kit.methods.base.SSLModule`; call ``predict_proba(x)`` / ``predict(x)`` on raw
        inputs and read ``class_names``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {str(path)!r}.")
    record = read_record(path)
    name = record.get("method")
    if name is None:
        hparams = torch.load(path, map_location="cpu", weights_only=True).get("hyper_parameters", {})
        name = hparams.get("_class_path")
        if name is None:
            raise ValueError(f"{path} records no method (not written by ssl_kit?); use TheMethod.load_from_checkpoint.")
    model = method_class(name).load_from_checkpoint(path, map_location=map_location)
    return model.eval()


load_model = load


# ----------------------------------------------------------------------------- reading inputs
def _pick_array(arrays: dict[str, Any], source: str) -> Any:
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    for key in INPUT_KEYS:
        if key in arrays:
            return arrays[key]
    raise ValueError(f"{source} holds several arrays ({sorted(arrays)}); name the inputs one of {list(INPUT_KEYS)}.")


def _read_tensor_file(path: Path) -> torch.Tensor:
    if path.suffix == ".npy":
        return torch.from_numpy(np.load(path, allow_pickle=False))
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return torch.from_numpy(np.asarray(_pick_array(dict(archive), str(path))))
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    loaded = _pick_array(loaded, str(path)) if isinstance(loaded, dict) else loaded
    return torch.as_tensor(loaded)


def _read_csv(path: Path) -> tuple[list[str], torch.Tensor]:
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise ValueError(f"{path} is empty.")

    def numeric(value: str) -> bool:
        try:
            float(value)
        except ValueError:
            return False
        return True

    header = None if all(numeric(v) for v in rows[0]) else [h.strip() for h in rows[0]]
    body = rows[1:] if header else rows
    columns = list(range(len(rows[0])))
    ids = [str(i) for i in range(len(body))]
    if header:
        lowered = [h.lower() for h in header]
        id_col = next((lowered.index(c) for c in ID_COLUMNS if c in lowered), None)
        if id_col is not None:
            ids = [row[id_col] for row in body]
        columns = [i for i, h in enumerate(lowered) if i != id_col and h not in LABEL_KEYS]
    try:
        values = np.array([[float(row[i]) for i in columns] for row in body], dtype=np.float32)
    except ValueError as err:
        raise ValueError(f"{path}: every column but an id and a label column must hold numbers ({err}).") from err
    return ids, torch.from_numpy(values)


def read_inputs(path: str | Path, preprocessing: Preprocessing) -> tuple[list[str], torch.Tensor]:
    """Ids and raw inputs of a folder of images, an image file, a tensor file or a CSV of feature rows."""
    path = Path(path)
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise FileNotFoundError(f"No image files were found under {str(path)!r}.")
        return [f.relative_to(path).as_posix() for f in files], preprocessing.read_image_files(files)
    if not path.is_file():
        raise FileNotFoundError(f"No input file or folder at {str(path)!r}.")
    if preprocessing.table is not None:  # a model trained on a table: raw rows of a CSV / TSV / Parquet file
        return read_table_inputs(path, preprocessing.table)  # type: ignore[return-value]
    if path.suffix.lower() in TENSOR_SUFFIXES:
        x = _read_tensor_file(path)
        return [str(i) for i in range(len(x))], x
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    return [path.name], preprocessing.read_image_files([path])


# ----------------------------------------------------------------------------- writing
def write_predictions(output: str | Path, ids: Sequence[str], probs: torch.Tensor, class_names: Sequence[str]) -> Path:
    """CSV with ``id``, ``prediction`` (class name) and ``p_<class name>`` per class."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    predicted = probs.argmax(dim=1).tolist()
    with output.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prediction", *(f"p_{name}" for name in class_names)])
        for ident, row, k in zip(ids, probs.tolist(), predicted):
            writer.writerow([ident, class_names[k], *(f"{p:.6g}" for p in row)])
    return output


def predict_files(ckpt: str | Path, inputs: str | Path, output: str | Path = "predictions.csv",
                  preprocessed: bool = False, device: str = "cpu", batch_size: int = 1024,
                  text_column: str | None = None) -> Path:
    """Load ``ckpt``, predict every input of ``inputs`` and write the CSV ``output``; returns its path.

    A text model reads documents (:func:`ssl_kit.text.predict.text_inputs`: a .txt, one a line, or
    the ``text_column`` of a .csv) with the vocabulary stored in its checkpoint."""
    model = load(ckpt, map_location=device)
    documents = text_inputs(ckpt, inputs, model, text_column)
    if documents is not None:
        (ids, x), preprocessed = documents, True  # token ids of the checkpoint's vocabulary
    else:
        ids, x = read_inputs(inputs, model.preprocessing)
    probs = model.predict_proba(x, preprocessed=preprocessed, batch_size=batch_size)
    return write_predictions(output, ids, probs, model.class_names)


def main(argv: Sequence[str] | None = None) -> None:
    """``ssl-kit predict-files --ckpt PATH --inputs PATH [--output predictions.csv]``."""
    parser = argparse.ArgumentParser(
        prog="ssl-kit predict-files",
        description="Predict new inputs with a trained checkpoint and write id, predicted class name and class "
                    "probabilities to a CSV file. Inputs: a folder of images, an image, a .npy/.npz/.pt tensor "
                    "file or a .csv of feature rows, as raw as the training data came (uint8 pixels for images).")
    parser.add_argument("--ckpt", "--ckpt_path", required=True, help="checkpoint written by ssl-kit fit")
    parser.add_argument("--inputs", required=True, help="folder of images, image file, .npy/.npz/.pt or .csv")
    parser.add_argument("--output", default="predictions.csv", help="CSV file to write (default: predictions.csv)")
    parser.add_argument("--preprocessed", action="store_true",
                        help="the tensor inputs are already preprocessed (skip the training preprocessing)")
    parser.add_argument("--device", default="cpu", help="device of the model, e.g. cpu or cuda (default: cpu)")
    parser.add_argument("--batch_size", type=int, default=1024, help="inputs per forward pass")
    parser.add_argument("--text_column", default=None,
                        help="text models: the CSV column of the documents (default: 'text' or the only other column)")
    args = parser.parse_args(argv)
    try:
        path = predict_files(args.ckpt, args.inputs, args.output, args.preprocessed, args.device, args.batch_size,
                             args.text_column)
    except (ValueError, TypeError, FileNotFoundError, KeyError) as err:
        parser.exit(2, f"ssl-kit predict-files: error: {err}\n")
    print(f"Predictions written to {path}")


if __name__ == "__main__":
    main()
