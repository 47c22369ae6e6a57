"""Improved GAN with feature matching (Salimans et al. 2016, arXiv 1606.03498), semi-supervised."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import torch
from torch import nn

from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.defaults import LOW_DIMENSIONAL_GAN_NOISE, SMALL_MLP_HIDDEN, is_low_dimensional, is_small_input
from ssl_kit.losses.gan import feature_matching_loss, gan_supervised_loss, gan_unsupervised_loss
from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.registry import register_method
from ssl_kit.metrics import rarest_class_share
from ssl_kit.nets import BACKBONES, build_backbone
from ssl_kit.nets.gan import (
    AutoOutput,
    BatchStatNorm,
    GENERATORS,
    DataRange,
    FeatureHeadDiscriminator,
    GanDiscriminator,
    GanGenerator,
    build_generator,
    default_gan_pair,
)
from ssl_kit.nets.weight_norm import data_dependent_init
from ssl_kit.methods.optim import AdamSqrtEps, adam


class DiscriminatorLosses(NamedTuple):
    """The discriminator step's two loss terms and the unlabeled logits they were computed from."""

    supervised: torch.Tensor
    unsupervised: torch.Tensor
    logits_unlabeled: torch.Tensor


@register_method
class ImprovedGAN(SSLModule):
    """Semi-supervised GAN: a ``K+1``-class discriminator trained against a feature-matching generator.

    One training batch does, as Algorithm 1 would if the paper had one (and as the authors' code
    ``train_mnist_feature_matching.py`` does):

    1. **Discriminator step** (its own backward and Adam step): ``L_D = L_supervised +
       unsup_weight * L_unsupervised`` (Eqs. 4-5) on the labeled batch, the first half of
       the unlabeled batch and as many generated examples; the fake class's logit is fixed at 0
       (``D(x) = Z(x) / (Z(x) + 1)``) unless ``explicit_fake_logit``; see :mod:`ssl_kit.losses.gan`.
    2. **Generator step** (its own backward and Adam step, discriminator frozen):
       feature matching (Sec. 3.1) between a fresh generated batch and the *second* half of the
       unlabeled batch.

    Besides the loss terms it logs ``train/rarest_class_share`` of the discriminator's ``K`` class
    predictions on its unlabeled half (:func:`~ssl_kit.metrics.rarest_class_share`).

    **The second unlabeled batch.** The reference feeds the generator step from an independent
    permutation of the unlabeled set (``trainx_unl2``), so the two steps see different examples.
    Here the datamodule's unlabeled batch is split in two halves (``generator_batch="split"``):
    the first goes to the discriminator, the second to the generator. Both halves are disjoint
    draws from the same shuffled stream, so they are independent batches, without any change to
    the datamodule contract; set ``unlabeled_batch_size`` to twice the reference's batch (200 for
    the MNIST protocol). A permutation of the same batch would not do: feature matching compares
    batch means, which a permutation leaves unchanged. ``generator_batch="same"`` reuses the
    whole batch for both steps (cheaper on data, as many re-implementations do).

    **Initialisation and evaluation.** Before the first step the weight-normalised layers are
    initialised from the first batch (data-dependent init, as the reference does with 500
    training images); under DDP rank 0's result is broadcast. Validation, test and prediction use
    an exponential moving average of the discriminator's weights (``ema_decay``; the reference
    averages with rate 1e-4, i.e. ``ema_decay=0.9999``, starting from zero). The base class's
    ``torch.optim.swa_utils.AveragedModel`` starts the average from the weights themselves (its
    first update copies them), so the average is never pulled towards zero. It still remembers
    the first weights with weight ``ema_decay ** steps`` (0.9999: 37% after 10,000 batches,
    nothing after the protocol's 180,000), so short runs need a smaller decay: the default
    ``ema_decay="auto"`` ties the horizon to the run's length; ``ema_decay=None`` evaluates the raw
    weights.

    **Steps and schedule.** Only the discriminator's step is counted by Lightning, so
    ``trainer.global_step``, ``max_steps`` and the linear decay (``lr_decay_start``, applied to
    both optimizers and stepped once per batch) count *batches*, as for every other method; the
    generator's step goes through the same strategy / precision path (gradient scaling, hooks)
    without advancing the counter. The reference keeps the MNIST rate constant
    (``lr_decay_start=1.0``, the default) and decays SVHN / CIFAR-10 linearly over the last
    third (``lr_decay_start=0.667``).

    **DDP.** Each backward reaches only one network, so DDP must look for unused parameters.
    ``ssl-kit`` turns ``--trainer.strategy ddp`` into ``ddp_find_unused_parameters_true`` for this
    method; a Python ``Trainer`` with plain ``ddp`` is refused at the start of ``fit`` with that advice.

    Args:
        num_classes: ``K``.
        input_shape: shape of one example.
        backbone: discriminator: ``auto`` (``gan_conv`` for images of at least 9x9 pixels, else
            ``gan_mlp``, 256-256 below 256 input values, input / hidden noise 0.05 / 0.1 below 16),
            ``gan_mlp``, ``gan_conv``, or any backbone with ``features`` and
            ``head`` submodules (the features are matched).
        backbone_kwargs: discriminator arguments (widths, noise, ...).
        generator: ``auto`` (the pair of the discriminator), ``gan_mlp`` or ``gan_conv``.
        generator_kwargs: generator arguments (``latent_dim``, widths, ``output_activation``:
            ``auto``, the MLP generator's default, a sigmoid for data in [0, 1] and none otherwise,
            decided on the first batch; sigmoid; tanh for [-1, 1]; or ``data_range``, a sigmoid
            scaled to the range of the first training batch).
        lr: Adam learning rate of both networks (reference: 3e-3 MNIST, 3e-4 SVHN / CIFAR-10).
        betas: Adam betas of both networks (reference: 0.5, 0.999).
        lr_decay_start: fraction of training after which both rates decay linearly to 0 (1.0 here:
            constant, the reference's MNIST schedule).
        ema_decay: decay of the evaluated weight average; ``auto`` (default): horizon 5 % of the
            run, which is the reference's 0.9999 at its 180,000 steps and never evaluates an almost
            untrained average on a short run; ``None``: raw weights.
        adam_eps: Adam epsilon.
        eps_in_sqrt: put ``adam_eps`` under the square root (``m / sqrt(v + eps)``, the
            reference's Adam, :class:`~ssl_kit.methods.optim.AdamSqrtEps`) instead of PyTorch's
            ``m / (sqrt(v) + eps)``; the two differ for gradients much smaller than ``sqrt(eps)``.
        unsup_weight: weight of ``L_unsupervised`` (reference: 1).
        explicit_fake_logit: give the discriminator a ``K+1``-th output instead of the fixed
            zero logit (redundant parameters, Sec. 5).
        label_smoothing: one-sided label smoothing of the real targets (Sec. 3.4); 0: none.
        feature_matching: ``l2`` (mean squared difference of batch means, reference MNIST),
            ``l1`` (mean absolute, reference SVHN / CIFAR-10) or ``auto`` (l1 for ``gan_conv``).
        generator_batch: ``split`` or ``same`` (see above).
        data_init: data-dependent initialisation of the weight-normalised layers.
        **kwargs: every other argument of :class:`~ssl_kit.methods.base.SSLModule`
            (``weight_decay``, ``lr_epoch_decay``, ``decay_beta1``, ``check_finite``), applied to
            both networks' optimizers and schedules.
    """

    refuses_tokens = "its generator produces dense inputs (images or vectors), and token ids cannot be generated that way."

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        generator: Literal["auto", "gan_mlp", "gan_conv"] = "auto",
        generator_kwargs: dict[str, Any] | None = None,
        adam_eps: float = 1e-8,
        eps_in_sqrt: bool = True,
        unsup_weight: float = 1.0,
        explicit_fake_logit: bool = False,
        label_smoothing: float = 0.0,
        feature_matching: Literal["auto", "l1", "l2"] = "auto",
        generator_batch: Literal["split", "same"] = "split",
        data_init: bool = True,
        backbone: str = "auto",
        lr: float = 3e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay_start: float = 1.0,
        ema_decay: float | str | None = "auto",
        **kwargs: Any,
    ) -> None:
        if generator_batch not in ("split", "same"):
            raise ValueError(f"generator_batch must be 'split' or 'same', got {generator_batch!r}.")
        if feature_matching not in ("auto", "l1", "l2"):
            raise ValueError(f"feature_matching must be 'auto', 'l1' or 'l2', got {feature_matching!r}.")
        if unsup_weight < 0:
            raise ValueError(f"unsup_weight must be >= 0, got {unsup_weight}.")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing}.")
        super().__init__(num_classes, input_shape, backbone=backbone, lr=lr, betas=betas,
                         lr_decay_start=lr_decay_start, ema_decay=ema_decay, **kwargs)
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.discriminator_name = self._discriminator_name()
        gen_name = generator
        if gen_name == "auto":
            gen_name = self.discriminator_name if self.discriminator_name in GENERATORS else default_gan_pair(input_shape)
        self.generator: GanGenerator = build_generator(gen_name, self.input_shape, **(generator_kwargs or {}))
        if feature_matching == "auto":
            feature_matching = "l1" if self.discriminator_name == "gan_conv" else "l2"
        self.feature_matching = feature_matching
        self.register_buffer("initialised", torch.tensor(not data_init))

    # ------------------------------------------------------------------ networks
    def _discriminator_name(self) -> str:
        name = self.hparams.backbone
        return default_gan_pair(self.input_shape) if name == "auto" else name

    def build_classifier(self) -> GanDiscriminator:
        """The discriminator (its ``forward`` gives the ``K`` class logits that are evaluated)."""
        hp = self.hparams
        name, kwargs = self._discriminator_name(), dict(hp.backbone_kwargs or {})
        if hp.backbone == "auto" and name == "gan_mlp" and is_small_input(self.input_shape):
            kwargs = {"hidden": SMALL_MLP_HIDDEN, **kwargs}  # as backbone: auto sizes every dense network
        if hp.backbone == "auto" and name == "gan_mlp" and is_low_dimensional(self.input_shape):
            input_noise, hidden_noise = LOW_DIMENSIONAL_GAN_NOISE  # the reference's 0.3 / 0.5 are for pixels
            kwargs = {"input_noise_std": input_noise, "noise_std": hidden_noise, **kwargs}
        factory = BACKBONES.get(name)
        if isinstance(factory, type) and issubclass(factory, GanDiscriminator):
            return build_backbone(name, self.input_shape, self.num_classes,
                                  explicit_fake_logit=hp.explicit_fake_logit, **kwargs)
        outputs = self.num_classes + int(hp.explicit_fake_logit)
        return FeatureHeadDiscriminator(build_backbone(name, self.input_shape, outputs, **kwargs),
                                        self.num_classes, hp.explicit_fake_logit)

    @property
    def discriminator(self) -> GanDiscriminator:
        """The trained discriminator (``self.classifier``)."""
        return self.classifier  # type: ignore[return-value]

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """``n`` generated examples, shaped like the data."""
        return self.generator.generate(n)

    # ------------------------------------------------------------------ set-up
    #: Each backward reaches only one of the two networks: DDP must look for unused parameters.
    #: The CLI turns ``strategy: ddp`` into ``ddp_find_unused_parameters_true`` for such methods.
    needs_unused_parameter_detection = True

    def on_fit_start(self) -> None:
        """Refuse a DDP wrapper that does not look for unused parameters (the run would hang or fail
        at the second backward with an opaque reducer error); then the base class's (``ema_decay: auto``)."""
        wrapped = self.trainer.strategy.model
        if isinstance(wrapped, torch.nn.parallel.DistributedDataParallel) and not wrapped.find_unused_parameters:
            raise ValueError("ImprovedGAN under DDP needs find_unused_parameters (each backward reaches one of its "
                             "two networks): pass --trainer.strategy ddp_find_unused_parameters_true "
                             "(ssl-kit does this for strategy: ddp) or DDPStrategy(find_unused_parameters=True).")
        super().on_fit_start()

    @torch.no_grad()
    def _data_dependent_init(self, batch: MixedBatch) -> None:
        """Initialise the weight-normalised layers from the first batch (rank 0's result under DDP)."""
        x = torch.cat([batch.x_l, batch.x_u])
        for module in self.generator.modules():  # output_activation: auto, data_range
            if isinstance(module, (AutoOutput, DataRange)):
                module.fit(x)
        data_dependent_init(self.discriminator, lambda: self.discriminator.discriminate(x))
        data_dependent_init(self.generator, lambda: self.generator.generate(len(x)))
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            for net in (self.discriminator, self.generator):
                for tensor in [*net.parameters(), *net.buffers()]:
                    torch.distributed.broadcast(tensor.data, src=0)
        self.initialised.fill_(True)

    # ------------------------------------------------------------------ training
    def _split_unlabeled(self, x_u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.hparams.generator_batch == "split" and len(x_u) >= 2:
            half = (len(x_u) + 1) // 2
            return x_u[:half], x_u[half:]
        return x_u, x_u

    def discriminator_losses(self, batch: MixedBatch, x_u: torch.Tensor) -> DiscriminatorLosses:
        """``L_supervised`` and ``L_unsupervised`` on labeled data, ``x_u`` and ``len(x_u)`` generated examples.

        Also returns the logits of ``x_u`` (all outputs, the explicit fake logit included if any).
        """
        hp = self.hparams
        with torch.no_grad():
            fake = self.generator.generate(len(x_u))
        logits_l, logits_u, logits_f = self._discriminate_parts(batch.x_l, x_u, fake)
        loss_sup = gan_supervised_loss(logits_l, batch.y_l, hp.explicit_fake_logit)
        loss_unsup = gan_unsupervised_loss(logits_u, logits_f, hp.explicit_fake_logit, hp.label_smoothing)
        return DiscriminatorLosses(loss_sup, loss_unsup, logits_u)

    def _discriminate_parts(self, *parts: torch.Tensor) -> list[torch.Tensor]:
        """The discriminator's logits of each part: one pass over the concatenated parts when no layer
        normalises with batch statistics (then each example's output does not depend on the others, so
        the result is that of one pass per part, with the weight-normalised weights computed once),
        else one pass per part as in the reference."""
        disc = self.discriminator
        if any(isinstance(m, (nn.modules.batchnorm._BatchNorm, BatchStatNorm)) for m in disc.modules()):
            return [disc.discriminate(x)[0] for x in parts]
        logits, _ = disc.discriminate(torch.cat(parts))
        return list(logits.split([len(x) for x in parts]))

    def generator_loss(self, x_u: torch.Tensor) -> torch.Tensor:
        """Feature matching between ``x_u`` and as many generated examples (Sec. 3.1)."""
        with torch.no_grad():
            _, features_real = self.discriminator.discriminate(x_u)
        _, features_fake = self.discriminator.discriminate(self.generator.generate(len(x_u)))
        return feature_matching_loss(features_real, features_fake, self.feature_matching)

    def training_step(self, batch: MixedBatch, batch_idx: int) -> None:
        if not bool(self.initialised):
            self._data_dependent_init(batch)
        opt_d, opt_g = self.optimizers()
        x_u_d, x_u_g = self._split_unlabeled(batch.x_u)

        with self.toggled_optimizer(opt_d):
            loss_sup, loss_unsup, logits_u = self.discriminator_losses(batch, x_u_d)
            loss_d = loss_sup + self.hparams.unsup_weight * loss_unsup
            # Logged before the updates: a non-finite term stops the run before it reaches the weights.
            self.log("train/loss", loss_d, prog_bar=True)
            self.log_dict({"train/loss_sup": loss_sup, "train/loss_unsup": loss_unsup,
                           "train/rarest_class_share": rarest_class_share(logits_u[:, : self.num_classes].detach())})
            opt_d.zero_grad()
            self.manual_backward(loss_d)
            opt_d.step()
        # Manual optimisation skips the ``optimizer_step`` hook that updates the average in the
        # base class, so fold the discriminator's new weights in here.
        self.update_ema()

        with self.toggled_optimizer(opt_g):
            loss_g = self.generator_loss(x_u_g)
            self.log("train/loss_gen", loss_g)
            opt_g.zero_grad()
            self.manual_backward(loss_g)
            # Same strategy / precision path as ``opt_g.step()``, but not counted in global_step,
            # so that one batch is one step (see the class docstring).
            self.trainer.strategy.optimizer_step(opt_g.optimizer, closure=_no_closure)

        for scheduler in self.lr_schedulers():
            scheduler.step()

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        make = AdamSqrtEps if hp.eps_in_sqrt else adam
        optimizers = [
            self.build_optimizer(net.parameters()) if hp.get("optimizer", "adam") == "sgd" else
            make(net.parameters(), lr=hp.lr, betas=tuple(hp.betas), eps=hp.adam_eps, weight_decay=hp.weight_decay)
            for net in (self.discriminator, self.generator)
        ]
        return optimizers, [self.lr_schedule(opt) for opt in optimizers]


def _no_closure() -> None:
    return None


__all__ = ["ImprovedGAN"]
