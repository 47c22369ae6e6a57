"""Prediction on raw inputs and checkpoint records, shared by every method (mixed into ``SSLModule``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ssl_kit.datamodules.preprocessing import Preprocessing
from ssl_kit.checkpoints.provenance import (
    RECORD_KEY,
    CheckpointMismatchError,
    check_compatible,
    data_description,
    read_record,
    record_of,
    training_record,
)


class RecordedPredictor:
    """Mixin of :class:`~ssl_kit.methods.base.SSLModule`: what the model was trained on, and prediction.

    ``training_record`` (see :mod:`ssl_kit.checkpoints.provenance`) is set from the datamodule when training
    starts and from the checkpoint when one is loaded; :meth:`predict_proba` applies its
    preprocessing to raw inputs, and :attr:`class_names` names the outputs.
    """

    training_record: dict[str, Any] | None = None

    @property
    def class_names(self) -> list[str]:
        """Names of the classes in output order (``"0".."K-1"`` when the data gave none)."""
        names = (self.training_record or {}).get("class_names")
        return list(names) if names else [str(k) for k in range(self.num_classes)]  # type: ignore[attr-defined]

    @property
    def preprocessing(self) -> Preprocessing:
        """The training data's preprocessing (identity when unknown)."""
        return Preprocessing.from_dict((self.training_record or {}).get("preprocessing"))

    @torch.no_grad()
    def predict_proba(self, x: Any, preprocessed: bool = False, batch_size: int = 1024) -> torch.Tensor:
        """Class probabilities ``(N, num_classes)`` of the evaluated network, in eval mode.

        Args:
            x: raw inputs as the training data came (``uint8`` pixels ``(N, C, H, W)`` or
                ``(N, H, W, C)`` for image data; feature rows otherwise), tensor or NumPy array.
            preprocessed: ``x`` is already preprocessed (e.g. a datamodule's tensors).
            batch_size: inputs per forward pass.
        """
        inputs = torch.as_tensor(x) if preprocessed else self.preprocessing(x)
        if inputs.is_floating_point() and inputs.dtype == torch.float64:
            inputs = inputs.float()
        shape = tuple(self.input_shape)  # type: ignore[attr-defined]
        if tuple(inputs.shape[1:]) != shape:
            raise ValueError(f"The model takes inputs of shape {shape} per example; got {tuple(inputs.shape[1:])}.")
        was_training = self.training  # type: ignore[attr-defined]
        self.eval()  # type: ignore[attr-defined]
        try:
            device = next(iter(self.parameters())).device  # type: ignore[attr-defined]
            net = self.eval_classifier  # type: ignore[attr-defined]
            chunks = [net(part.to(device)).softmax(dim=-1).cpu() for part in inputs.split(batch_size)]
        finally:
            self.train(was_training)  # type: ignore[attr-defined]
        return torch.cat(chunks) if chunks else torch.empty(0, self.num_classes)  # type: ignore[attr-defined]

    def predict(self, x: Any, preprocessed: bool = False) -> torch.Tensor:
        """Predicted class indices ``(N,)``; ``model.class_names[i]`` names them."""
        return self.predict_proba(x, preprocessed).argmax(dim=1)

    # ------------------------------------------------------------------ records
    def record_training_data(self, datamodule: Any) -> None:
        """Take the datamodule's classes and preprocessing into :attr:`training_record`."""
        self.training_record = training_record(self, datamodule)

    def save_record(self, checkpoint: dict[str, Any], datamodule: Any | None) -> None:
        """Write ``checkpoint["ssl_kit"]`` (method, shapes, classes, preprocessing, split)."""
        checkpoint[RECORD_KEY] = training_record(self, datamodule)

    def check_record(self, checkpoint: dict[str, Any], datamodule: Any | None) -> None:
        """Refuse a checkpoint of another method, input shape or class count, or data that disagree."""
        record = record_of(checkpoint)
        if not record:
            return
        check_compatible(record, {"method": type(self).__qualname__, "input_shape": self.input_shape,  # type: ignore[attr-defined]
                                  "num_classes": self.num_classes}, "this model is")  # type: ignore[attr-defined]
        if datamodule is not None:
            check_compatible(record, data_description(datamodule), "the data gives")
        self.training_record = {**record, "method": type(self).__qualname__}

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: str | Path, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Lightning's ``load_from_checkpoint``, refusing a checkpoint of another method up front."""
        if isinstance(checkpoint_path, (str, Path)) and "://" not in str(checkpoint_path) and Path(checkpoint_path).is_file():
            method = read_record(checkpoint_path).get("method")
            if method is not None and method != cls.__qualname__ and cls.__qualname__ != "SSLModule":
                raise CheckpointMismatchError(
                    f"This checkpoint was trained as {method}, not {cls.__qualname__}: load it with "
                    f"{method}.load_from_checkpoint(path) or ssl_kit.load(path), which picks the method itself."
                )
        return super().load_from_checkpoint(checkpoint_path, *args, **kwargs)  # type: ignore[misc]
