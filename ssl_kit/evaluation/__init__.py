"""Evaluation of trained checkpoints on any datamodule: robustness, batch-norm refit.

Each public function takes a model and a datamodule; the ``main(argv)`` of
:mod:`ssl_kit.evaluation.attack` and :mod:`ssl_kit.evaluation.batch_norm` are the
``ssl-kit robustness`` and ``ssl-kit refit-bn`` subcommands.
"""

from ssl_kit.evaluation.attack import RobustnessResult, robustness
from ssl_kit.evaluation.batch_norm import refit_batch_norm
from ssl_kit.evaluation.checkpoints import checkpoint_datamodule, error_rate, load_checkpoint

__all__ = [
    "RobustnessResult",
    "checkpoint_datamodule",
    "error_rate",
    "load_checkpoint",
    "refit_batch_norm",
    "robustness",
]
