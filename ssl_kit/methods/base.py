"""``SSLModule``: what every semi-supervised method shares.

Its jobs live in one module each: optimiser and schedule (:mod:`~ssl_kit.methods.optimisation`,
:mod:`~ssl_kit.methods.schedules`), weight averaging (:mod:`~ssl_kit.methods.averaging`), generator
states for resume (:mod:`~ssl_kit.methods.rng_state`), logs and evaluation
(:mod:`~ssl_kit.methods.reporting`), set-up from the datamodule (:mod:`~ssl_kit.methods.data_link`)
and prediction (:mod:`~ssl_kit.methods.inference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from ssl_kit.checkpoints.resume import settle_epoch_end
from ssl_kit.methods.attached import attached_datamodule
from ssl_kit.methods.averaging import WeightAveraging, check_ema_decay
from ssl_kit.methods.balance import ClassBalance, check_balance_weight
from ssl_kit.methods.data_link import DataLink
from ssl_kit.methods.inference import RecordedPredictor
from ssl_kit.methods.optimisation import Optimisation
from ssl_kit.methods.reporting import NonFiniteLossError, Reporting
from ssl_kit.methods.rng_state import RngResume, capture_rng_states
from ssl_kit.methods.schedules import check_schedule_arguments, cosine_decay, linear_decay
from ssl_kit.nets import build_backbone
from ssl_kit.nets.text import record_text_backbone
from ssl_kit.text.shape import is_token_shape, refuse_token_inputs, token_shape_of


class SSLModule(RecordedPredictor, Reporting, WeightAveraging, ClassBalance, Optimisation, RngResume, DataLink,
                pl.LightningModule):
    """Base of every method: classifier, supervised loss, metrics, optimiser and prediction.

    Checkpoints record what the model was trained on and refuse other models or data
    (:mod:`ssl_kit.checkpoints.provenance`); ``predict_proba`` / ``predict`` take raw inputs
    (:class:`~ssl_kit.methods.inference.RecordedPredictor`).

    A method overrides :meth:`training_step` (and, with manual optimisation, its optimisers).
    Validation and test run the classifier (or its moving average) on plain ``(x, y)`` batches and
    log ``val/acc``, ``val/error``, ``test/acc``, ``test/error`` (percent), macro accuracy, the
    expected calibration error and the largest confusion between two classes
    (:class:`ssl_kit.metrics.LargestConfusion`); ``test`` also writes the confusion matrix to the
    log folder.

    Args:
        num_classes: number of classes (linked from the datamodule by the CLI).
        input_shape: shape of one input (linked from the datamodule by the CLI).
        backbone: name of the classifier in :data:`ssl_kit.nets.BACKBONES` (a user network joins
            them with :func:`ssl_kit.nets.register_backbone`), or ``auto`` (default): chosen by
            input shape (:func:`ssl_kit.defaults.auto_backbone`): ``conv_small`` for images of at
            least 12x12 pixels, else ``mlp`` (256-256 below 256 input values).
        backbone_kwargs: extra arguments of the backbone (sizes, noise, ...).
        optimizer: ``"adam"`` (the default) or ``"sgd"`` (with ``momentum`` and ``nesterov``; weight
            decay then skips biases and batch-norm parameters, every 1-D tensor, as USB does).
        lr: learning rate.
        betas: Adam betas.
        weight_decay: weight decay.
        momentum: SGD momentum.
        nesterov: Nesterov momentum for SGD.
        schedule: ``"linear"`` (constant, then linear decay, see ``lr_decay_start``) or
            ``"cosine"`` (:func:`cosine_decay` over ``max_steps``, FixMatch / USB; it ignores
            ``lr_decay_start`` and refuses ``lr_epoch_decay`` and ``decay_beta1``).
        lr_decay_start: fraction of training after which the rate decays linearly to 0
            (1.0: constant). Ignored when ``lr_epoch_decay`` is set.
        lr_epoch_decay: if set, multiply the rate by this factor after every epoch instead (the
            exponential schedule of the VAT authors' MNIST code, 0.9 per epoch of 500 updates).
        decay_beta1: if set, Adam's beta1 from the start of the decay phase on (update
            ``lr_decay_start * max_steps``, or the second epoch with ``lr_epoch_decay``); the VAT
            authors' TensorFlow code lowers it from 0.9 to 0.5 when its linear decay starts.
            ``None`` keeps ``betas`` throughout, as does a constant rate (``lr_decay_start`` or
            ``lr_epoch_decay`` 1.0), which has no decay phase.
        ema_decay: if set, evaluate an exponential moving average of the classifier's weights
            with this decay; ``"auto"``: the decay whose horizon ``1 / (1 - decay)`` is 5 % of the
            run (:func:`ssl_kit.defaults.ema_decay_for_run`), set when training starts. A fixed
            decay whose horizon exceeds the run is warned about (the average would still hold
            much of the initial weights).
        check_finite: stop with :class:`NonFiniteLossError`, naming the step and the term, when a
            logged ``train/*`` loss term is NaN or infinite (one host sync per term and step).
        balance_weight: weight of the safeguard against cluster merging,
            :func:`ssl_kit.losses.class_balance_loss` of the unlabeled predictions against the
            labeled class shares (:class:`~ssl_kit.methods.balance.ClassBalance`), in the methods
            that add it to their loss; ``"auto"``: on (1.0) where the method's page shows it helps,
            else 0.
    """

    #: Why this method cannot take token ids (text), or empty if it can.
    refuses_tokens: str = ""
    #: Whether the method trains on labeled examples (``num_labeled: 0`` is refused at set-up).
    needs_labels: bool = True

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        backbone: str = "auto",
        backbone_kwargs: dict[str, Any] | None = None,
        optimizer: Literal["adam", "sgd"] = "adam",
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        nesterov: bool = True,
        schedule: Literal["linear", "cosine"] = "linear",
        lr_decay_start: float = 0.5,
        lr_epoch_decay: float | None = None,
        decay_beta1: float | None = None,
        ema_decay: float | str | None = None,
        check_finite: bool = True,
        balance_weight: float | str | None = "auto",
    ) -> None:
        check_schedule_arguments(optimizer, schedule, lr_decay_start, lr_epoch_decay, decay_beta1)
        check_ema_decay(ema_decay)
        check_balance_weight(balance_weight)
        super().__init__()
        self.save_hyperparameters()
        self.num_classes = num_classes
        input_shape = token_shape_of(input_shape, self.hparams)  # text: vocabulary size kept (CLI too)
        refuse_token_inputs(self, input_shape)  # say at once what cannot take token ids
        self.input_shape = input_shape if is_token_shape(input_shape) else tuple(input_shape)
        self.classifier = self.build_classifier()
        #: Median centred L2 norm of the training inputs (:func:`ssl_kit.defaults.input_norm`),
        #: measured at setup (or on the first batch where the datamodule cannot).
        self.input_norm: float | None = None
        #: Median distance to the 10th nearest neighbour (:func:`ssl_kit.defaults.neighbour_distance`),
        #: measured at setup; radii left unset (``eps: null``) are fractions of it (:meth:`default_radius`).
        self.neighbour_distance: float | None = None
        self.init_averaging(ema_decay)
        self.init_metrics(num_classes)
        self.init_balance(num_classes)

    def build_classifier(self) -> nn.Module:
        """The network whose logits are evaluated; methods with special networks override this."""
        hp = self.hparams
        return build_backbone(hp.backbone, self.input_shape, self.num_classes, **(hp.backbone_kwargs or {}))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of the training network."""
        return self.classifier(x)

    def supervised_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the labeled part of the batch."""
        return F.cross_entropy(logits, y)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record what the model was trained on (:mod:`ssl_kit.checkpoints.provenance`) and the RNG
        states (for exact resume)."""
        self.save_record(checkpoint, attached_datamodule(self))
        record_text_backbone(checkpoint, self.classifier)  # text: the resolved network and vocabulary size
        checkpoint["rng_states"] = capture_rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another method, shape, classes or data; settle a checkpoint written at
        an epoch's end (:func:`~ssl_kit.checkpoints.resume.settle_epoch_end`); keep its RNG states for
        the resumed run."""
        self.check_record(checkpoint, attached_datamodule(self))
        self.fill_missing_balance_state(checkpoint)
        self.keep_rng_states(checkpoint, at_epoch_start=settle_epoch_end(checkpoint))


__all__ = ["NonFiniteLossError", "SSLModule", "cosine_decay", "linear_decay"]
