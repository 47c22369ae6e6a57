"""Writes what ``ssl-kit predict`` computes to a CSV file, one row per example."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import BasePredictionWriter
from pytorch_lightning.utilities import rank_zero_info


class PredictionCSVWriter(BasePredictionWriter):
    """Save the class probabilities of a predict run as ``predictions.csv`` in the run's log folder.

    Columns: ``index`` (position in the predict set), ``label`` (when the batches carry labels, as
    the datamodules' ``(x, y)`` batches do), ``prediction`` (argmax), ``predicted_class`` (its name,
    from the model's ``class_names``) and ``p_0 .. p_{K-1}``. New inputs (files, tensor files, CSV
    rows) are predicted by ``ssl-kit predict-files`` (:mod:`ssl_kit.checkpoints.predict`). With
    several predict loaders, loader ``i`` goes to ``predictions_<i>.csv``. The datamodules give
    every process the whole predict set, so only global rank 0 writes.

    Args:
        output_dir: folder of the file; default the trainer's ``log_dir`` (else its
            ``default_root_dir``).
        filename: name of the file.
    """

    def __init__(self, output_dir: str | None = None, filename: str = "predictions.csv") -> None:
        super().__init__(write_interval="epoch")
        self.output_dir = output_dir
        self.filename = filename
        self._labels: dict[int, list[torch.Tensor]] = {}

    def on_predict_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._labels = {}

    def on_predict_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                             batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if isinstance(batch, (tuple, list)) and len(batch) > 1 and isinstance(batch[1], torch.Tensor):
            self._labels.setdefault(dataloader_idx, []).append(batch[1].detach().cpu())
        super().on_predict_batch_end(trainer, pl_module, outputs, batch, batch_idx, dataloader_idx)

    def path(self, trainer: pl.Trainer, loader: int | None = None) -> Path:
        """Where the file of predict loader ``loader`` goes (``None``: the only loader)."""
        folder = self.output_dir or trainer.log_dir or trainer.default_root_dir
        name = self.filename if loader is None else f"{Path(self.filename).stem}_{loader}{Path(self.filename).suffix}"
        return Path(folder) / name

    def write_on_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           predictions: Sequence[Any], batch_indices: Sequence[Any]) -> None:
        if not trainer.is_global_zero or not predictions:
            return
        names = getattr(pl_module, "class_names", None)
        if isinstance(predictions[0], list):  # one list per predict loader
            for loader, loader_predictions in enumerate(predictions):
                self._write(self.path(trainer, loader), loader_predictions, self._labels.get(loader, []), names)
        else:
            self._write(self.path(trainer), predictions, self._labels.get(0, []), names)

    @staticmethod
    def _write(path: Path, predictions: Sequence[torch.Tensor], label_batches: list[torch.Tensor],
               class_names: Sequence[str] | None = None) -> None:
        if not predictions:
            return
        probs = torch.cat([p.detach().float().cpu() for p in predictions])
        labels = torch.cat(label_batches) if label_batches else None
        if labels is not None and len(labels) != len(probs):
            labels = None
        path.parent.mkdir(parents=True, exist_ok=True)
        if class_names is None or len(class_names) != probs.shape[1]:
            class_names = [str(k) for k in range(probs.shape[1])]
        header = ["index", *(["label"] if labels is not None else []), "prediction", "predicted_class",
                  *(f"p_{k}" for k in range(probs.shape[1]))]
        with path.open("w") as handle:
            handle.write(",".join(header) + "\n")
            for i, (row, predicted) in enumerate(zip(probs.tolist(), probs.argmax(1).tolist())):
                label = [str(int(labels[i]))] if labels is not None else []
                name = class_names[predicted].replace('"', '""')
                handle.write(",".join([str(i), *label, str(predicted), f'"{name}"', *(f"{p:.6g}" for p in row)]) + "\n")
        rank_zero_info(f"Predictions of {len(probs)} examples written to {path}")
