"""``SSLModule``: what every semi-supervised method shares."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torchmetrics.classification import MulticlassConfusionMatrix

from ssl_kit.methods.inference import RecordedPredictor
from ssl_kit.defaults import (
    NORM_EPS_FRACTION,
    default_radius as radius_from_neighbours,
    ema_decay_for_run,
    ema_initial_share,
    horizon_steps,
    input_norm,
    relative_eps,
)
from ssl_kit.metrics import classification_metrics
from ssl_kit.nets import build_backbone
from ssl_kit.methods.optim import DecayPhaseBeta1, adam, sgd
from ssl_kit.checkpoints.resume import settle_epoch_end


def linear_decay(step: int, total_steps: int, decay_start: float) -> float:
    """Learning-rate factor: 1 until ``decay_start * total_steps``, then linearly down to 0.

    This is the schedule of the VAT and Ladder papers (constant, then linear decay to zero);
    ``decay_start = 1`` keeps the rate constant.
    """
    start = decay_start * total_steps
    if step < start or total_steps <= start:
        return 1.0
    return max(0.0, (total_steps - step) / (total_steps - start))


def cosine_decay(step: int, total_steps: int, cycles: float = 7 / 16) -> float:
    """Learning-rate factor ``cos(pi * cycles * step / total_steps)``, floored at 0.

    FixMatch's schedule (Sohn et al. 2020, Section 4: ``eta cos(7 pi k / (16 K))``), used by USB
    for every classic-CV method; it ends at ``cos(7 pi / 16) ~ 0.2`` of the initial rate.
    """
    return max(0.0, math.cos(math.pi * cycles * min(step, total_steps) / max(1, total_steps)))


def _numpy_state_to_plain(state: tuple) -> dict[str, Any]:
    """NumPy's RNG state as tensors and numbers, so checkpoints load with ``weights_only=True``."""
    name, keys, pos, has_gauss, cached = state
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _numpy_state_from_plain(state: dict[str, Any]) -> tuple:
    return (state["name"], state["keys"].numpy().astype(np.uint32), state["pos"], state["has_gauss"], state["cached"])


class _EMAUpdate:
    """In-place exponential moving average of parameter lists, with a decay set after construction.

    ``ema_decay: auto`` knows its decay only once the run's length is known (at fit start).
    """

    def __init__(self, decay: float) -> None:
        self.decay = decay

    @torch.no_grad()
    def __call__(self, averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged: Any) -> None:
        for avg, cur in zip(averaged, current):
            if avg.is_floating_point():
                avg.lerp_(cur, 1.0 - self.decay)
            else:  # counters such as batch norm's num_batches_tracked
                avg.copy_(cur)


class NonFiniteLossError(FloatingPointError):
    """A training loss term became NaN or infinite; the run stops before the weights are updated."""


class SSLModule(RecordedPredictor, pl.LightningModule):
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
    ) -> None:
        if optimizer not in ("adam", "sgd") or schedule not in ("linear", "cosine"):
            raise ValueError(f"optimizer is 'adam' or 'sgd' and schedule 'linear' or 'cosine'; got {optimizer!r}, "
                             f"{schedule!r}.")
        if decay_beta1 is not None and optimizer == "sgd":
            raise ValueError("decay_beta1 changes Adam's beta1; SGD has none (set decay_beta1: null).")
        if schedule == "cosine" and (lr_epoch_decay is not None or decay_beta1 is not None):
            raise ValueError("schedule 'cosine' replaces the linear / per-epoch decay: set lr_epoch_decay and "
                             "decay_beta1 to null.")
        if isinstance(ema_decay, str) and ema_decay != "auto":
            raise ValueError(f"ema_decay must be a number in [0, 1), 'auto' or null; got {ema_decay!r}.")
        if isinstance(ema_decay, (int, float)) and not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1); got {ema_decay}.")
        if not 0.0 <= lr_decay_start <= 1.0:
            raise ValueError(f"lr_decay_start is a fraction of training in [0, 1]; got {lr_decay_start}.")
        if lr_epoch_decay is not None and not 0.0 < lr_epoch_decay <= 1.0:
            raise ValueError(f"lr_epoch_decay must lie in (0, 1]; got {lr_epoch_decay}.")
        if decay_beta1 is not None and not 0.0 <= decay_beta1 < 1.0:
            raise ValueError(f"decay_beta1 must lie in [0, 1); got {decay_beta1}.")
        super().__init__()
        self.save_hyperparameters()
        self._rng_state_to_restore: dict[str, Any] | None = None
        self._rng_restore_at_epoch_start = False
        self.num_classes = num_classes
        self.input_shape = tuple(input_shape)
        self.classifier = self.build_classifier()
        #: Median centred L2 norm of the training inputs (:func:`ssl_kit.defaults.input_norm`),
        #: measured at setup (or on the first batch where the datamodule cannot).
        self.input_norm: float | None = None
        #: Median distance to the 10th nearest neighbour (:func:`ssl_kit.defaults.neighbour_distance`),
        #: measured at setup; radii left unset (``eps: null``) are fractions of it (:meth:`default_radius`).
        self.neighbour_distance: float | None = None
        self.ema: AveragedModel | None = None
        self._ema_update: _EMAUpdate | None = None
        if ema_decay is not None:
            self._ema_update = _EMAUpdate(0.0 if ema_decay == "auto" else float(ema_decay))
            self.ema = AveragedModel(self.classifier, multi_avg_fn=self._ema_update, use_buffers=True)
            self.ema.requires_grad_(False)  # never trained: keep it out of the optimiser and DDP's reducer
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

    def training_progress(self) -> float:
        """Fraction of training done, ``global_step / max_steps`` (ramp-ups are fractions of the run)."""
        if self._trainer is None:
            return 0.0
        return self.global_step / max(1, int(self.trainer.estimated_stepping_batches))

    def supervised_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the labeled part of the batch."""
        return F.cross_entropy(logits, y)

    # ------------------------------------------------------------------ guards
    def log(self, name: str, value: Any, *args: Any, **kwargs: Any) -> None:
        """``LightningModule.log``, refusing non-finite ``train/*`` loss terms (see ``check_finite``)."""
        if (
            self.hparams.get("check_finite", True)
            and name.startswith("train/")
            and isinstance(value, torch.Tensor)
            and not bool(torch.isfinite(value.detach()).all())
        ):
            step = self.trainer.global_step if self._trainer is not None else "?"
            raise NonFiniteLossError(
                f"Training stopped at step {step}: loss term {name!r} is {value.detach().flatten()[0].item()}. "
                "The weights were not updated with it and the last saved checkpoint is kept; lower the "
                "learning rate or check the inputs."
            )
        super().log(name, value, *args, **kwargs)

    def setup(self, stage: str) -> None:
        """Check, before any step runs, that the data's input shape and classes fit this model."""
        data = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        if data is None:
            return
        data_shape = tuple(getattr(data, "input_shape", self.input_shape))
        if data_shape != self.input_shape:
            raise ValueError(
                f"The data gives inputs of shape {data_shape} but the model was built for {self.input_shape}; "
                "build the model with the datamodule's input_shape (the CLI links them)."
            )
        data_classes = getattr(data, "num_classes", self.num_classes)
        if data_classes != self.num_classes:
            raise ValueError(f"The data has {data_classes} classes but the model predicts {self.num_classes}.")
        if getattr(data, "input_kind", None) == "tokens" and self.refuses_tokens:
            raise ValueError(f"{type(self).__name__} cannot train on text (token ids): {self.refuses_tokens} "
                             "Use Supervised or VAT (adv_weight for FGM) with backbone text_bilstm or text_cnn.")
        prepare = getattr(self.classifier, "prepare_for_data", None)
        if stage == "fit" and callable(prepare):  # e.g. word frequencies for a text backbone
            prepare(data)
        if self.needs_labels and getattr(data, "num_labeled", None) == 0:
            raise ValueError(f"{type(self).__name__} trains on labeled examples, but the data has num_labeled=0; "
                             "give it labels, or cluster without labels with IMSAT.")
        if stage == "fit":
            self.record_training_data(data)
            view = self.preferred_second_view(data)
            if view is not None and hasattr(data, "strong_view") and data.strong_view is None:
                data.strong_view = view
                rank_zero_info(f"{type(self).__name__}: the datamodule yields a second, {view!r} view of every "
                               f"unlabeled example (strong_view: {view}); set strong_view yourself to choose.")
        if (stage == "fit" and self.input_norm is None and getattr(data, "input_kind", None) != "tokens"
                and getattr(data, "input_norm", None) is not None):  # text: measured on embeddings instead
            self.input_norm = float(data.input_norm)
            if getattr(data, "neighbour_distance", None) is not None:
                self.neighbour_distance = float(data.neighbour_distance)

    def preferred_second_view(self, data: Any) -> str | None:
        """The second unlabeled view (``"weak"`` or ``"strong"``) this method asks of a datamodule
        built without one (``strong_view: None``); ``None``: it needs none."""
        return None

    @property
    def averaging_decay(self) -> float | None:
        """Decay of the evaluated weight average (``ema_decay: auto`` resolved at fit start), or ``None``."""
        return None if self._ema_update is None else self._ema_update.decay

    def on_fit_start(self) -> None:
        """Set ``ema_decay: auto`` from the run's length; warn when a fixed decay outlasts the run."""
        if self._ema_update is None:
            return
        total = int(self.trainer.estimated_stepping_batches)
        if self.hparams.ema_decay == "auto":
            self._ema_update.decay = ema_decay_for_run(total)
            return
        initial = ema_initial_share(self._ema_update.decay, total)
        if initial > 0.05:
            rank_zero_warn(
                f"ema_decay={self._ema_update.decay} averages over about {horizon_steps(self._ema_update.decay):.0f} "
                f"steps but the run has {total}: the evaluated weights keep {100 * initial:.0f} % of the initial "
                "ones. Use ema_decay: auto (horizon 5 % of the run) or null."
            )

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record what the model was trained on (:mod:`ssl_kit.checkpoints.provenance`) and the RNG states (for exact resume)."""
        self.save_record(checkpoint, self.trainer.datamodule if self._trainer is not None else None)
        checkpoint["rng_states"] = {
            "torch": torch.get_rng_state(),
            "numpy": _numpy_state_to_plain(np.random.get_state()),
            "python": random.getstate(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            # Noise, VAT's random start and dropout draw from the CUDA generators on a GPU.
            checkpoint["rng_states"]["cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another method, shape, classes or data; settle a checkpoint written at
        an epoch's end (:func:`~ssl_kit.checkpoints.resume.settle_epoch_end`); keep its RNG states for the resumed run."""
        self.check_record(checkpoint, self.trainer.datamodule if self._trainer is not None else None)
        self._rng_restore_at_epoch_start = settle_epoch_end(checkpoint)
        self._rng_state_to_restore = checkpoint.get("rng_states")

    def on_train_epoch_start(self) -> None:
        # A run continued at an epoch boundary: where the uninterrupted run iterates the training
        # loader again, which draws one int64 (the workers' base seed) from torch's generator.
        if self._rng_restore_at_epoch_start and self._rng_state_to_restore is not None:
            self._restore_rng_states()
            torch.empty((), dtype=torch.int64).random_()

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # Inside an epoch, restored here rather than at load time: building loaders consumes random numbers.
        self._restore_rng_states()

    def _restore_rng_states(self) -> None:
        self._rng_restore_at_epoch_start = False
        if self._rng_state_to_restore is not None:
            torch.set_rng_state(self._rng_state_to_restore["torch"])
            np.random.set_state(_numpy_state_from_plain(self._rng_state_to_restore["numpy"]))
            random.setstate(self._rng_state_to_restore["python"])
            cuda_states = self._rng_state_to_restore.get("cuda")
            if cuda_states is not None and torch.cuda.is_available():
                if len(cuda_states) == torch.cuda.device_count():
                    torch.cuda.set_rng_state_all(cuda_states)
                else:
                    rank_zero_warn(f"The checkpoint holds {len(cuda_states)} CUDA generator states for "
                                   f"{torch.cuda.device_count()} visible devices; CUDA random numbers are not restored.")
            self._rng_state_to_restore = None

    def default_radius(self, x: torch.Tensor | None = None) -> float:
        """The default perturbation radius (``eps: null``): :func:`ssl_kit.defaults.default_radius` of the
        datamodule's ``neighbour_distance`` measured at setup; without one (text embeddings, a plain
        dataloader), :data:`~ssl_kit.defaults.NORM_EPS_FRACTION` of the input norm of ``x`` (the first
        unlabeled batch), measured once and kept."""
        if self.neighbour_distance is not None:
            return radius_from_neighbours(self.neighbour_distance, self.input_shape)
        if self.input_norm is None:
            if x is None:
                raise RuntimeError("The input scale is measured on the first training batch; no batch was seen yet.")
            self.input_norm = input_norm(x.detach().cpu())
        return relative_eps(None, self.input_norm, NORM_EPS_FRACTION)

    # ------------------------------------------------------------------ steps
    def update_ema(self) -> None:
        """Fold the classifier's current weights into the moving average (if any).

        Called right after each optimizer step, so a checkpoint written at the end of a batch
        holds the average of that batch already. Methods with manual optimisation call it after
        their classifier's step.
        """
        if self.ema is not None:
            self.ema.update_parameters(self.classifier)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        self.update_ema()

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Class probabilities of the evaluated network, and the labels.

        Probabilities, not logits: the calibration error reads its input as probabilities
        whenever every value lies in [0, 1], which logits sometimes do.
        """
        x, y = batch
        return self.eval_classifier(x).softmax(dim=-1), y

    def periodic_split(self) -> str:
        """``"val"``, or ``"test"`` when the datamodule's validation loader reads the test set."""
        data = self.trainer.datamodule if self._trainer is not None else None
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
        probs, y = self._evaluate(batch)
        self.test_metrics.update(probs, y)
        self.test_confusion.update(probs, y)
        self.log_dict(self.test_metrics)

    def on_test_epoch_end(self) -> None:
        confusion = self.test_confusion.compute().cpu()
        self.test_confusion.reset()
        log_dir = self.trainer.log_dir if self.trainer is not None else None
        if log_dir and self.trainer.is_global_zero:
            path = Path(log_dir) / "confusion_matrix.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            names = [name.replace(",", ";") for name in self.class_names]
            rows = [",".join([name, *(str(int(v)) for v in row)]) for name, row in zip(names, confusion)]
            path.write_text("# rows: true class, columns: predicted class\n" + ",".join(["true", *names]) + "\n"
                            + "\n".join(rows) + "\n")

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Class probabilities, ``(batch, num_classes)``."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.eval_classifier(x).softmax(dim=-1)

    # ------------------------------------------------------------------ optimisation
    def lr_schedule(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        """Per-update rate factor: constant then linear decay to zero over the last
        ``1 - lr_decay_start`` of training, or ``lr_epoch_decay ** epoch`` when that is set; with
        ``decay_beta1``, Adam's beta1 changes where the decay phase starts."""
        epoch_decay = self.hparams.get("lr_epoch_decay")
        if self.hparams.get("schedule", "linear") == "cosine":
            total = max(1, int(self.trainer.estimated_stepping_batches)) if self._trainer is not None else 1
            return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cosine_decay(step, total))
        if epoch_decay is not None:
            steps_per_epoch = self._steps_per_epoch()
            factor = lambda step: epoch_decay ** (step // steps_per_epoch)  # noqa: E731
            decay_start_step = steps_per_epoch if epoch_decay < 1.0 else None
        else:
            total = max(1, int(self.trainer.estimated_stepping_batches)) if self._trainer is not None else 1
            start = self.hparams.lr_decay_start
            factor = lambda step: linear_decay(step, total, start)  # noqa: E731
            decay_start_step = math.ceil(start * total) if start < 1.0 else None
        decay_beta1 = self.hparams.get("decay_beta1")
        if decay_beta1 is None or decay_start_step is None:  # a constant rate has no decay phase
            return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return DecayPhaseBeta1(optimizer, factor, decay_beta1, decay_start_step)

    def _steps_per_epoch(self) -> int:
        """Training batches per epoch: the datamodule's ``batches_per_epoch()`` (known before the
        training loader exists), else the trainer's count once its loader is set up."""
        if self._trainer is None:
            raise ValueError("lr_epoch_decay needs a trainer to know the epoch length.")
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "batches_per_epoch"):
            batches = int(datamodule.batches_per_epoch())
            if self.trainer.fast_dev_run:  # True or a number of batches
                return min(batches, int(self.trainer.fast_dev_run))
            limit = self.trainer.limit_train_batches
            if isinstance(limit, int):
                return max(1, min(batches, limit))
            return max(1, int(batches * limit)) if limit is not None else batches
        batches = self.trainer.num_training_batches
        if not math.isfinite(batches) or batches < 1:
            raise ValueError("lr_epoch_decay needs a datamodule of this toolkit (batches_per_epoch) or a training "
                             "loader with a known length (steps_per_epoch).")
        return int(batches)

    def build_optimizer(self, params: Any) -> torch.optim.Optimizer:
        """The optimiser named by ``optimizer`` (Adam or SGD) over ``params``, with this module's settings."""
        hp = self.hparams
        if hp.get("optimizer", "adam") == "sgd":
            return sgd(params, lr=hp.lr, momentum=hp.momentum, nesterov=hp.nesterov, weight_decay=hp.weight_decay)
        return adam(params, lr=hp.lr, betas=tuple(hp.betas), weight_decay=hp.weight_decay)

    def configure_optimizers(self) -> Any:
        optimizer = self.build_optimizer([p for p in self.parameters() if p.requires_grad])
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.lr_schedule(optimizer), "interval": "step"}}
