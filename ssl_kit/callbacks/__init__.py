"""Callbacks: plots people would rather look at than read, end-of-training batch-norm refits, the
CSV that ``ssl-kit predict`` writes, and a progress bar in steps."""

from ssl_kit.callbacks.decision_boundary import DecisionBoundaryPlot, plot_decision_boundary
from ssl_kit.callbacks.prediction_writer import PredictionCSVWriter
from ssl_kit.callbacks.population_batch_norm import PopulationBatchNorm, recompute_batch_norm_statistics
from ssl_kit.callbacks.sample_grid import SampleGrid, save_sample_grid
from ssl_kit.callbacks.step_progress import StepProgressBar

__all__ = [
    "DecisionBoundaryPlot",
    "PopulationBatchNorm",
    "PredictionCSVWriter",
    "SampleGrid",
    "StepProgressBar",
    "plot_decision_boundary",
    "recompute_batch_norm_statistics",
    "save_sample_grid",
]
