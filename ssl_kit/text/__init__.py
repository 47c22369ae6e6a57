"""Text pieces shared by the text datamodule, the text backbones and prediction.

:class:`~ssl_kit.text.shape.TokenShape` (the input shape that tells a method its inputs are token
ids and how large the vocabulary is), word vectors pre-trained on the unlabeled texts
(:mod:`ssl_kit.text.word_vectors`), the text views of the consistency methods
(:mod:`ssl_kit.text.views`) and the reader of new documents (:mod:`ssl_kit.text.predict`).
"""

from ssl_kit.text.shape import TokenShape, is_token_shape

__all__ = ["TokenShape", "is_token_shape"]
