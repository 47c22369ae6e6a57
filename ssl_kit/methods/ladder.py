"""Ladder networks (Rasmus et al. 2015) and virtual adversarial ladder networks (Shinoda et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.callbacks.population_batch_norm import PopulationBatchNorm
from ssl_kit.defaults import (
    EPS_FRACTION,
    LOW_DIMENSIONAL_LADDER_NOISE,
    NORM_EPS_FRACTION,
    SMALL_MLP_HIDDEN,
    is_low_dimensional,
    is_small_input,
    van_layer_fraction,
    van_layer_radii,
)
from ssl_kit.losses.ladder import denoising_cost
from ssl_kit.losses.vat import vat_loss, virtual_adversarial_perturbation
from ssl_kit.methods.base import SSLModule
from ssl_kit.methods.registry import register_method
from ssl_kit.metrics import rarest_class_share
from ssl_kit.nets import build_backbone
from ssl_kit.nets.ladder import (
    EncoderPass,
    LadderDecoder,
    LadderEncoder,
    NoiseFn,
    gaussian_noise,
)

#: The paper's Gaussian corruption (every layer, MNIST and CIFAR-10).
PAPER_NOISE = 0.3

#: The paper's MNIST weights for 784-1000-500-250-250-250-10: 1000 at the input, 10, then 0.1.
PAPER_MNIST_WEIGHTS = (1000.0, 10.0, 0.1, 0.1, 0.1, 0.1, 0.1)


def _per_layer(value: float | Sequence[float], count: int, name: str) -> list[float]:
    """One value per layer: a scalar is repeated; a sequence must have ``count`` entries."""
    if isinstance(value, (int, float)):
        return [float(value)] * count
    values = [float(v) for v in value]
    if len(values) != count:
        raise ValueError(f"{name} needs {count} entries (one per layer), got {len(values)}: {values}.")
    return values


@register_method
class LadderNetwork(SSLModule):
    """The ladder network: a corrupted and a clean encoder sharing weights, and a denoising decoder.

    Training loss (Rasmus et al. 2015, Algorithm 1):
    ``CE(y, corrupted logits of the labeled examples) + sum_l lambda_l * C_d^(l)`` with
    ``C_d^(l) = ||z_l - (z_hat_l - mu_l) / sigma_l||^2 / (N m_l)`` on the unlabeled examples, ``z_l``
    and ``mu_l, sigma_l`` from the CLEAN pass of the same batch. Labeled and unlabeled examples are
    normalised separately (one pass each), as in the paper's code. The running batch-norm statistics
    used at evaluation come from the clean pass over the unlabeled examples only; validation, test
    and prediction run the clean encoder (``self.classifier``) with those statistics.

    Args:
        num_classes: number of classes.
        input_shape: shape of one input.
        backbone: the shared encoder, a :class:`~ssl_kit.nets.ladder.LadderEncoder` from
            :data:`ssl_kit.nets.BACKBONES`: ``ladder_mlp`` (dense, images are flattened; the
            default) or ``ladder_conv`` (convolutional, Γ-model only).
        backbone_kwargs: the encoder's arguments: ``hidden`` (widths of ``ladder_mlp``: the paper's
            1000-500-250-250-250 by default, 256-256 for inputs of fewer than 256 values,
            :func:`ssl_kit.defaults.is_small_input`) or ``conv_spec`` (layer list of ``ladder_conv``, see
            :func:`~ssl_kit.nets.ladder.conv_ladder_encoder`; default the paper's Conv-Large), and
            ``activation`` (``relu`` for ``ladder_mlp``, ``leaky_relu`` for ``ladder_conv``),
            ``top_scale`` (learn ``gamma_L`` at the softmax: yes for ``ladder_mlp``, no for
            ``ladder_conv``), ``bn_momentum`` (rate of the running averages, 0.01: decay 0.99 as the
            reference).
        noise_std: Gaussian noise of the corrupted path, one value or one per layer ``0 .. L``.
            Default: the paper's 0.3, or 0.1 for inputs of fewer than 16 values
            (:data:`ssl_kit.defaults.LOW_DIMENSIONAL_LADDER_NOISE`).
        denoising_weights: ``lambda_0 .. lambda_L``. Default: the paper's MNIST values
            (1000, 10, 0.1, ...) for the full ladder, ``(0, ..., 0, 1)`` for the Γ-model.
        unsup_weight: multiplies every unlabeled cost (``lambda_l`` and, in subclasses, their extra
            costs): ``CE + unsup_weight * sum_l lambda_l C_d^(l)``.
        gamma: the Γ-model, whose decoder reconstructs the top layer alone.
        lr_decay_start: the rate decays linearly to 0 after this fraction of training (0.67 here,
            as the paper's 100 epochs then 50 of decay).
        population_statistics: when training ends, replace the running batch-norm averages by the
            clean encoder's population statistics over the unlabeled pool
            (:class:`~ssl_kit.callbacks.PopulationBatchNorm`, added by :meth:`configure_callbacks`).
            The exponential averages lag the last updates: on the rings toy (500 steps, seeds 1, 3)
            they gave 7.1 / 24.1 % test error where the population statistics of the same weights
            gave 4.5 / 20.3 %. The paper configs switch it off (the reference has no refit).
        **kwargs: every other argument of :class:`~ssl_kit.methods.base.SSLModule` (``lr`` 2e-3 as
            the paper, ``betas``, ``ema_decay``, ``decay_beta1``, ...).
    """

    refuses_tokens = "its denoising decoder reconstructs dense inputs (pixels or feature vectors), which token ids are not."

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        noise_std: float | Sequence[float] | None = None,
        denoising_weights: Sequence[float] | None = None,
        unsup_weight: float = 1.0,
        gamma: bool = False,
        backbone: str = "ladder_mlp",
        lr_decay_start: float = 0.67,
        population_statistics: bool = True,
        **kwargs: Any,
    ) -> None:
        if unsup_weight < 0:
            raise ValueError(f"unsup_weight must be >= 0, got {unsup_weight}.")
        super().__init__(num_classes, input_shape, backbone=backbone, lr_decay_start=lr_decay_start, **kwargs)
        self.save_hyperparameters()
        top = self.classifier.num_layers
        if noise_std is None:
            noise_std = LOW_DIMENSIONAL_LADDER_NOISE if is_low_dimensional(self.input_shape) else PAPER_NOISE
        self.noise_std = _per_layer(noise_std, top + 1, "noise_std")
        if denoising_weights is None:
            if gamma:
                denoising_weights = [0.0] * top + [1.0]
            else:
                paper = list(PAPER_MNIST_WEIGHTS[:2])
                denoising_weights = (paper + [0.1] * (top + 1))[: top + 1]
        self.denoising_weights = _per_layer(denoising_weights, top + 1, "denoising_weights")
        if any(s < 0 for s in self.noise_std) or any(w < 0 for w in self.denoising_weights):
            raise ValueError(f"noise_std and denoising_weights must be >= 0; got {self.noise_std} and "
                             f"{self.denoising_weights}.")
        if gamma and any(w != 0 for w in self.denoising_weights[:-1]):
            raise ValueError("The Γ-model reconstructs the top layer alone: set every denoising weight but the last "
                             f"to 0 (got {self.denoising_weights}), or use gamma: false.")
        nonzero = [l for l, w in enumerate(self.denoising_weights) if w > 0]
        if not nonzero:
            raise ValueError("At least one denoising weight must be positive (a ladder without a decoder is the "
                             "supervised baseline; use ssl_kit.methods.Supervised).")
        self.decoder = LadderDecoder(self.classifier.feature_shapes, lowest=min(nonzero))

    def build_classifier(self) -> LadderEncoder:
        """The clean encoder (``backbone``); its weights are shared by the corrupted path."""
        hp = self.hparams
        kwargs = dict(hp.backbone_kwargs or {})
        if hp.backbone == "ladder_mlp" and is_small_input(self.input_shape):
            kwargs.setdefault("hidden", SMALL_MLP_HIDDEN)  # small inputs, small data: a small encoder
        encoder = build_backbone(hp.backbone, self.input_shape, self.num_classes, **kwargs)
        if not isinstance(encoder, LadderEncoder):
            raise ValueError(f"The ladder needs a LadderEncoder backbone (ladder_mlp, ladder_conv or one registered "
                             f"with ssl_kit.nets.register_backbone); {self.hparams.backbone!r} builds a "
                             f"{type(encoder).__name__}.")
        return encoder

    def configure_callbacks(self) -> list[pl.Callback]:
        """:class:`~ssl_kit.callbacks.PopulationBatchNorm` when ``population_statistics`` (it replaces
        one passed to the trainer)."""
        return [PopulationBatchNorm()] if self.hparams.population_statistics else []

    # ------------------------------------------------------------------ passes
    @property
    def encoder(self) -> LadderEncoder:
        """The shared-weight encoder (the same module as ``self.classifier``)."""
        return self.classifier

    def gaussian_corruption(self) -> NoiseFn:
        """The corrupted path's Gaussian noise, ``N(0, noise_std_l^2)`` at every layer."""
        return gaussian_noise(self.noise_std)

    def corrupted_unlabeled_pass(self, x_u: torch.Tensor, clean: EncoderPass) -> EncoderPass:
        """The corrupted pass over the unlabeled examples (Gaussian noise; VAN overrides it)."""
        return self.encoder.run(x_u, noise=self.gaussian_corruption())

    def extra_cost(self, clean: EncoderPass, corrupted: EncoderPass) -> dict[str, torch.Tensor]:
        """Additional named unlabeled costs of a subclass (none for the ladder), weighted by ``unsup_weight``."""
        return {}

    def denoising_costs(self, clean: EncoderPass, corrupted: EncoderPass) -> dict[int, torch.Tensor]:
        """``C_d^(l)`` for every reconstructed layer, targets normalised by the clean batch statistics."""
        estimates = self.decoder(corrupted)
        return {l: denoising_cost(z_hat, clean.z[l], clean.mean.get(l), clean.std.get(l))
                for l, z_hat in estimates.items()}

    # ------------------------------------------------------------------ training
    def training_step(self, batch: MixedBatch, batch_idx: int) -> torch.Tensor:
        x_l, y_l, x_u = batch.x_l, batch.y_l, batch.x_u
        clean = self.encoder.run(x_u, update_stats=True)
        corrupted_l = self.encoder.run(x_l, noise=self.gaussian_corruption())
        corrupted_u = self.corrupted_unlabeled_pass(x_u, clean)
        loss_sup = F.cross_entropy(corrupted_l.logits, y_l)
        costs = self.denoising_costs(clean, corrupted_u)
        loss_denoise = sum(self.denoising_weights[l] * c for l, c in costs.items())
        extra = self.extra_cost(clean, corrupted_u)
        u = self.hparams.unsup_weight
        loss = loss_sup + u * loss_denoise + sum(u * c for c in extra.values()) + self.balance_term(clean.logits, y_l)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/loss_sup", loss_sup)
        self.log("train/loss_denoise", loss_denoise)
        self.log("train/rarest_class_share", rarest_class_share(clean.logits.detach()))
        for l, c in costs.items():
            self.log(f"train/loss_denoise_{l}", c)
        for name, value in extra.items():
            self.log(f"train/{name}", value)
        return loss


AdversarialVariant = Literal["lvan", "lvan_lw", "lvac", "lvac_lw"]

#: Per-layer eps of the reference LVAN-LW run on MNIST with 100 labels (sakishinoda/tf-ssl logs).
REFERENCE_LW_EPS = (0.0730815479025, 0.482173463842, 0.00140155463202)


@register_method
class VirtualAdversarialLadder(LadderNetwork):
    """Virtual adversarial ladder networks (Shinoda, Worrall & Brostow 2017, arXiv 1711.07476).

    Variants:

    * ``lvan``: the corrupted path's noise at the input is virtual adversarial (VAN);
    * ``lvan_lw``: virtual adversarial noise at every layer but the logits (layer-wise VAN);
    * ``lvac`` / ``lvac_lw``: the Gaussian ladder plus a VAT cost
      ``KL(p(y|z_tilde_l) || p(y|z_tilde_l + r_l))`` at the input / at every layer but the logits.

    As in the reference code, the adversarial noise goes on the UNLABELED examples only (the labeled
    ones keep Gaussian noise), it is added to the Gaussian noise unless ``replace_gaussian``, and the
    perturbation of layer ``l`` is found by power iteration (:func:`virtual_adversarial_perturbation`)
    on the map from a perturbed ``z_l`` to the logits, against the clean pass's logits; that map
    adds Gaussian noise of std ``adv_noise_std`` at every layer "for stability" (``vadv_sd`` of the
    reference) and never touches the running statistics. Difference from the reference: it derives
    the hidden-layer perturbation from the normalised pre-activation ``z_l`` and feeds it back at
    ``z_l``; the reference computes it on the unnormalised pre-activation, re-entered as if it were
    the layer's output, and never perturbs the last hidden layer (set its eps to 0 to match).
    Evaluation is the clean encoder: no noise of any kind.

    The loss is ``CE + unsup_weight * (sum_l lambda_l C_d^(l) [+ VAT cost of lvac])``: to weight
    the VAT cost ``w`` times the denoising costs, set ``unsup_weight: w`` and divide
    ``denoising_weights`` by ``w``.

    Args:
        variant: see above.
        eps: L2 norm of the perturbation per example, one value or one per layer ``0 .. L-1``;
            a layer with eps 0 is not perturbed. ``None`` (default): the reference LVAN-LW radii's
            ratios to each layer's scale (:meth:`layer_eps`, :func:`ssl_kit.defaults.van_layer_radii`),
            0 at the top hidden layer; on MNIST 0.073, 0.474, 0.0017, 0.0012, 0.0012, 0 against
            the reference's 0.073, 0.482, 0.0014 x3, 0.
        xi: finite-difference step of the power iteration, one value or one per layer.
        n_power: power iterations, one value or one per layer.
        adv_noise_std: Gaussian noise inside the perturbation's forward passes.
        replace_gaussian: at perturbed layers, adversarial noise replaces the Gaussian noise.
        **kwargs: see :class:`LadderNetwork` (``backbone_kwargs``, ``denoising_weights``,
            ``unsup_weight``, ...) and :class:`~ssl_kit.methods.base.SSLModule`.
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        variant: AdversarialVariant = "lvan_lw",
        eps: float | Sequence[float] | None = None,
        xi: float | Sequence[float] = 1e-6,
        n_power: int | Sequence[int] = 1,
        adv_noise_std: float = 0.5,
        replace_gaussian: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_classes, input_shape, **kwargs)
        self.save_hyperparameters()
        if variant not in ("lvan", "lvan_lw", "lvac", "lvac_lw"):
            raise ValueError(f"Unknown variant {variant!r}; choose lvan, lvan_lw, lvac or lvac_lw.")
        layers = self.encoder.num_layers  # perturbable layers 0 .. L-1
        #: Radii given per layer, or ``None``: relative to the scale of each layer (:meth:`layer_eps`).
        self.eps = None if eps is None else _per_layer(eps, layers, "eps")
        self.xi = _per_layer(xi, layers, "xi")
        self.n_power = [int(n) for n in _per_layer(n_power, layers, "n_power")]
        if any(e < 0 for e in self.eps or []) or any(x <= 0 for x in self.xi) or any(n < 1 for n in self.n_power):
            raise ValueError(f"eps must be >= 0, xi > 0 and n_power >= 1; got {self.eps}, {self.xi} and {self.n_power}.")
        if adv_noise_std < 0:
            raise ValueError(f"adv_noise_std must be >= 0; got {adv_noise_std}.")
        candidates = range(layers) if variant.endswith("_lw") else [0]
        radius_factors = self.eps if self.eps is not None else [van_layer_fraction(l, layers) for l in range(layers)]
        self.adv_layers = [l for l in candidates if radius_factors[l] > 0]
        if not self.adv_layers:
            raise ValueError(f"No layer gets adversarial noise: eps {self.eps} is zero where {variant} perturbs.")
        self.variant = variant

    def layer_eps(self, layer: int) -> float:
        """Radius of the perturbation of ``z_layer``: ``eps`` if given, else the reference LVAN-LW
        radii's ratio to the layer's scale (:func:`ssl_kit.defaults.van_layer_radii`).

        The input's scale is the data's 10th-neighbour distance (measured at set-up; without it,
        the input norm of the first unlabeled batch times ``NORM_EPS_FRACTION / EPS_FRACTION``, as
        :func:`~ssl_kit.defaults.neighbour_distance` falls back); a hidden layer's is ``sqrt(width)``
        (batch-normalised units). The top perturbable layer gets 0, as in the reference.
        """
        if self.eps is not None:
            return self.eps[layer]
        return self.automatic_radii()[layer]

    def automatic_radii(self) -> list[float]:
        """The default radius of every perturbable layer (``eps: null``), from the measured input scale."""
        if self.neighbour_distance is not None:
            scale = self.neighbour_distance
        elif self.input_norm is not None:
            scale = self.input_norm * NORM_EPS_FRACTION / EPS_FRACTION
        else:
            raise RuntimeError("The input scale is measured at set-up or on the first training batch; none was seen yet.")
        return van_layer_radii(scale, self.encoder.feature_shapes[: self.encoder.num_layers])

    def logits_from(self, layer: int, z: torch.Tensor) -> torch.Tensor:
        """Logits of a pass that re-enters at ``z_layer`` (noise ``adv_noise_std``, running stats untouched)."""
        return self.encoder.run(z, start=layer, noise=gaussian_noise(self.hparams.adv_noise_std)).logits

    def perturbation(self, layer: int, z: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """The virtual adversarial perturbation of ``z_layer`` (detached, L2 norm ``eps[layer]`` per example)."""
        return virtual_adversarial_perturbation(
            lambda zz: self.logits_from(layer, zz), z, logits,
            xi=self.xi[layer], eps=self.layer_eps(layer), n_power=self.n_power[layer],
        )

    def corrupted_unlabeled_pass(self, x_u: torch.Tensor, clean: EncoderPass) -> EncoderPass:
        self.default_radius(x_u)  # measured on the first batch when the datamodule could not
        if not self.variant.startswith("lvan"):
            return super().corrupted_unlabeled_pass(x_u, clean)
        gaussian = self.gaussian_corruption()
        clean_logits = clean.logits.detach()
        adversarial = set(self.adv_layers)
        replace = self.hparams.replace_gaussian

        def noise(layer: int, z: torch.Tensor) -> torch.Tensor:
            if layer not in adversarial:
                return gaussian(layer, z)
            r = self.perturbation(layer, z, clean_logits)
            return r if replace else r + gaussian(layer, z)

        return self.encoder.run(x_u, noise=noise)

    def extra_cost(self, clean: EncoderPass, corrupted: EncoderPass) -> dict[str, torch.Tensor]:
        if not self.variant.startswith("lvac"):
            return {}
        logits = corrupted.logits.detach()
        total = corrupted.logits.new_zeros(())
        for layer in self.adv_layers:
            z = corrupted.z[layer]
            r = self.perturbation(layer, z, logits)
            total = total + vat_loss(lambda zz, layer=layer: self.logits_from(layer, zz), z, logits, r)
        return {"loss_vat": total}
