"""``SSLModule``: what every semi-supervised method shares."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torchmetrics.classification import MulticlassConfusionMatrix

from ssl_kit.metrics import classification_metrics
from ssl_kit.nets import build_backbone


def linear_decay(step: int, total_steps: int, decay_start: float) -> float:
    """Learning-rate factor: 1 until ``decay_start * total_steps``, then linearly down to 0.

    This is the schedule of the VAT and Ladder papers (constant, then linear decay to zero);
    ``decay_start = 1`` keeps the rate constant.
    """
    start = decay_start * total_steps
    if step < start or total_steps <= start:
        return 1.0
    return max(0.0, (total_steps - step) / (total_steps - start))


class SSLModule(pl.LightningModule):
    """Base of every method: classifier, supervised loss, metrics, optimiser and prediction.

    A method overrides :meth:`training_step` (and, with manual optimisation, its optimisers).
    Validation and test run the classifier (or its moving average) on plain ``(x, y)`` batches and
    log ``val/acc``, ``val/error``, ``test/acc``, ``test/error`` (percent), macro accuracy and the
    expected calibration error; ``test`` also writes the confusion matrix to the log folder.

    Args:
        num_classes: number of classes (linked from the datamodule by the CLI).
        input_shape: shape of one input (linked from the datamodule by the CLI).
        backbone: name of the classifier in :data:`ssl_kit.nets.BACKBONES`.
        backbone_kwargs: extra arguments of the backbone (sizes, noise, ...).
        lr: Adam learning rate.
        betas: Adam betas.
        weight_decay: Adam weight decay.
        lr_decay_start: fraction of training after which the rate decays linearly to 0
            (1.0: constant).
        ema_decay: if set, evaluate an exponential moving average of the classifier's weights
            with this decay.
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        backbone: str = "mlp",
        backbone_kwargs: dict[str, Any] | None = None,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        lr_decay_start: float = 0.5,
        ema_decay: float | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.num_classes = num_classes
        self.input_shape = tuple(input_shape)
        self.classifier = self.build_classifier()
        self.ema: AveragedModel | None = None
        if ema_decay is not None:
            self.ema = AveragedModel(self.classifier, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)
        metrics = classification_metrics(num_classes)
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.test_confusion = MulticlassConfusionMatrix(num_classes=num_classes)

    def build_classifier(self) -> nn.Module:
        """The network whose logits are evaluated; methods with special networks override this."""
        hp = self.hparams
        return build_backbone(hp.backbone, self.input_shape, self.num_classes, **(hp.backbone_kwargs or {}))

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of the training network."""
        return self.classifier(x)

    @property
    def eval_classifier(self) -> nn.Module:
        """The network used for validation, test and prediction (the moving average if any)."""
        return self.ema.module if self.ema is not None else self.classifier

    def supervised_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the labeled part of the batch."""
        return F.cross_entropy(logits, y)

    # ------------------------------------------------------------------ steps
    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.ema is not None:
            self.ema.update_parameters(self.classifier)

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        return self.eval_classifier(x), y

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        logits, y = self._evaluate(batch)
        self.val_metrics.update(logits, y)
        for name, metric in self.val_metrics.items(keep_base=False):
            self.log(name, metric, prog_bar=name == "val/error")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        logits, y = self._evaluate(batch)
        self.test_metrics.update(logits, y)
        self.test_confusion.update(logits, y)
        self.log_dict(self.test_metrics)

    def on_test_epoch_end(self) -> None:
        confusion = self.test_confusion.compute().cpu()
        self.test_confusion.reset()
        log_dir = self.trainer.log_dir if self.trainer is not None else None
        if log_dir and self.trainer.is_global_zero:
            path = Path(log_dir) / "confusion_matrix.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = [",".join(str(int(v)) for v in row) for row in confusion]
            path.write_text("# rows: true class, columns: predicted class\n" + "\n".join(rows) + "\n")

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Class probabilities, ``(batch, num_classes)``."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.eval_classifier(x).softmax(dim=-1)

    # ------------------------------------------------------------------ optimisation
    def lr_schedule(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        """Constant, then linear decay to zero over the last ``1 - lr_decay_start`` of training."""
        total = max(1, int(self.trainer.estimated_stepping_batches)) if self._trainer is not None else 1
        start = self.hparams.lr_decay_start
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: linear_decay(step, total, start))

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        optimizer = torch.optim.Adam(self.parameters(), lr=hp.lr, betas=tuple(hp.betas), weight_decay=hp.weight_decay)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.lr_schedule(optimizer), "interval": "step"}}
