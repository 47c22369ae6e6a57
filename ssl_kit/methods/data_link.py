"""What a method takes from its datamodule at set-up: checks that they fit, the second view it
asks for, and the input scale that default radii are fractions of."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.utilities import rank_zero_info
from torch import nn

from ssl_kit.defaults import NORM_EPS_FRACTION, default_radius as radius_from_neighbours, input_norm, relative_eps
from ssl_kit.methods.attached import attached_datamodule


def check_data_fits(model: Any, data: Any) -> None:
    """Refuse data whose input shape, class count, input kind or label count the model cannot train on."""
    data_shape = tuple(getattr(data, "input_shape", model.input_shape))
    if data_shape != model.input_shape:
        raise ValueError(
            f"The data gives inputs of shape {data_shape} but the model was built for {model.input_shape}; "
            "build the model with the datamodule's input_shape (the CLI links them)."
        )
    data_classes = getattr(data, "num_classes", model.num_classes)
    if data_classes != model.num_classes:
        raise ValueError(f"The data has {data_classes} classes but the model predicts {model.num_classes}.")
    if getattr(data, "input_kind", None) == "tokens" and model.refuses_tokens:
        raise ValueError(f"{type(model).__name__} cannot train on text (token ids): {model.refuses_tokens} "
                         "Use Supervised or VAT (adv_weight for FGM) with backbone text_bilstm or text_cnn.")


def label_counts(model: Any) -> tuple[int, int] | None:
    """``(M, N)``: labeled and training examples of the attached datamodule's split (``N`` counts the
    unlabeled pool with its extra inputs, at least ``M``), or ``None`` without such a split."""
    data = attached_datamodule(model)
    split = getattr(data, "split", None)
    if split is None or not hasattr(split, "labeled") or not hasattr(split, "unlabeled"):
        return None
    extra = getattr(data, "extra_unlabeled", None)
    labeled = len(split.labeled)
    return labeled, max(labeled, len(split.unlabeled) + (len(extra) if extra is not None else 0))


class DataLink:
    """Mixin of :class:`~ssl_kit.methods.base.SSLModule`: ``setup`` and what it measures."""

    classifier: nn.Module
    input_shape: tuple[int, ...]
    needs_labels: bool
    input_norm: float | None
    neighbour_distance: float | None

    def setup(self, stage: str) -> None:
        """Check, before any step runs, that the data's input shape and classes fit this model."""
        data = attached_datamodule(self)  # type: ignore[arg-type]
        if data is None:
            return
        check_data_fits(self, data)
        prepare = getattr(self.classifier, "prepare_for_data", None)
        if stage == "fit" and callable(prepare):  # e.g. word frequencies for a text backbone
            prepare(data)
        if self.needs_labels and getattr(data, "num_labeled", None) == 0:
            raise ValueError(f"{type(self).__name__} trains on labeled examples, but the data has num_labeled=0; "
                             "give it labels, or cluster without labels with IMSAT.")
        if stage == "fit":
            self.record_training_data(data)  # type: ignore[attr-defined]
            self.choose_second_view(data)
        if (stage == "fit" and self.input_norm is None and getattr(data, "input_kind", None) != "tokens"
                and getattr(data, "input_norm", None) is not None):  # text: measured on embeddings instead
            self.input_norm = float(data.input_norm)
            if getattr(data, "neighbour_distance", None) is not None:
                self.neighbour_distance = float(data.neighbour_distance)

    def choose_second_view(self, data: Any) -> None:
        """Ask a datamodule built without a second view for :meth:`preferred_second_view`'s."""
        view = self.preferred_second_view(data)
        name = "second_view" if hasattr(data, "second_view") else "strong_view"  # the old name, other datamodules
        if view is not None and hasattr(data, name) and getattr(data, name) is None:
            setattr(data, name, view)
            rank_zero_info(f"{type(self).__name__}: the datamodule yields a second, {view!r} view of every "
                           f"unlabeled example ({name}: {view}); set {name} yourself to choose.")

    def preferred_second_view(self, data: Any) -> str | None:
        """The second unlabeled view (``"weak"`` or ``"strong"``) this method asks of a datamodule
        built without one (``second_view: None``); ``None``: it needs none."""
        return None

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


__all__ = ["DataLink", "check_data_fits", "label_counts"]
