"""What a method reports: guarded training logs, validation / test metrics, the confusion matrix
and prediction outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics.classification import MulticlassConfusionMatrix

from ssl_kit.methods.attached import attached_datamodule, attached_trainer
from ssl_kit.metrics import classification_metrics


class NonFiniteLossError(FloatingPointError):
    """A training loss term became NaN or infinite; the run stops before the weights are updated."""


def confusion_csv(confusion: torch.Tensor, class_names: Sequence[str]) -> str:
    """The confusion matrix as CSV text: a comment line, a header of predicted classes, one row per true class."""
    names = [name.replace(",", ";") for name in class_names]
    rows = [",".join([name, *(str(int(v)) for v in row)]) for name, row in zip(names, confusion)]
    return "# rows: true class, columns: predicted class\n" + ",".join(["true", *names]) + "\n" + "\n".join(rows) + "\n"


class Reporting:
    """Mixin of :class:`~ssl_kit.methods.base.SSLModule`: logs and evaluation.

    Validation and test run :attr:`eval_classifier` on plain ``(x, y)`` batches and log
    ``val/*`` / ``test/*`` metrics (:func:`ssl_kit.metrics.classification_metrics`); ``test`` also
    writes ``confusion_matrix.csv`` to the log folder.
    """

    hparams: Any
    eval_classifier: nn.Module
    class_names: list[str]

    def init_metrics(self, num_classes: int) -> None:
        """Build the validation and test metrics and the test confusion matrix."""
        metrics = classification_metrics(num_classes)
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.test_confusion = MulticlassConfusionMatrix(num_classes=num_classes)

    def log(self, name: str, value: Any, *args: Any, **kwargs: Any) -> None:
        """``LightningModule.log``, refusing non-finite ``train/*`` loss terms (see ``check_finite``)."""
        if (
            self.hparams.get("check_finite", True)
            and name.startswith("train/")
            and isinstance(value, torch.Tensor)
            and not bool(torch.isfinite(value.detach()).all())
        ):
            trainer = attached_trainer(self)  # type: ignore[arg-type]
            step = trainer.global_step if trainer is not None else "?"
            raise NonFiniteLossError(
                f"Training stopped at step {step}: loss term {name!r} is {value.detach().flatten()[0].item()}. "
                "The weights were not updated with it and the last saved checkpoint is kept; lower the "
                "learning rate or check the inputs."
            )
        super().log(name, value, *args, **kwargs)  # type: ignore[misc]

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Class probabilities of the evaluated network, and the labels.

        Probabilities, not logits: the calibration error reads its input as probabilities
        whenever every value lies in [0, 1], which logits sometimes do.
        """
        x, y = batch
        return self.eval_classifier(x).softmax(dim=-1), y

    def periodic_split(self) -> str:
        """``"val"``, or ``"test"`` when the datamodule's validation loader reads the test set."""
        data = attached_datamodule(self)  # type: ignore[arg-type]
        return "test" if getattr(data, "val_split", "val") == "test" else "val"

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """Periodic evaluation, logged as ``val/*``, or as ``test/*`` when the datamodule's
        ``val_split`` says its loader reads the test set (``num_val`` 0): never the test set under
        a validation name."""
        probs, y = self._evaluate(batch)
        metrics = self.test_metrics if self.periodic_split() == "test" else self.val_metrics
        metrics.update(probs, y)
        for name, metric in metrics.items(keep_base=False):
            self.log(name, metric, prog_bar=name.endswith("/error"))

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """Test metrics (``test/*``) and the confusion matrix."""
        probs, y = self._evaluate(batch)
        self.test_metrics.update(probs, y)
        self.test_confusion.update(probs, y)
        self.log_dict(self.test_metrics)  # type: ignore[attr-defined]

    def on_test_epoch_end(self) -> None:
        """Write the test confusion matrix to ``<log_dir>/confusion_matrix.csv`` (rank zero)."""
        confusion = self.test_confusion.compute().cpu()
        self.test_confusion.reset()
        trainer = attached_trainer(self)  # type: ignore[arg-type]
        log_dir = trainer.log_dir if trainer is not None else None
        if log_dir and trainer is not None and trainer.is_global_zero:
            path = Path(log_dir) / "confusion_matrix.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(confusion_csv(confusion, self.class_names))

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Class probabilities, ``(batch, num_classes)``."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.eval_classifier(x).softmax(dim=-1)


__all__ = ["NonFiniteLossError", "Reporting", "confusion_csv"]
