"""Callbacks: plots people would rather look at than read, end-of-training batch-norm refits, and
the CSV that ``ssl-kit predict`` writes."""

from ssl_kit.callbacks.decision_boundary import DecisionBoundaryPlot, plot_decision_boundary
from ssl_kit.callbacks.prediction_writer import PredictionCSVWriter
from ssl_kit.callbacks.population_batch_norm import PopulationBatchNorm, recompute_batch_norm_statistics
from ssl_kit.callbacks.sample_grid import SampleGrid, save_sample_grid

__all__ = [
    "DecisionBoundaryPlot",
    "PopulationBatchNorm",
    "PredictionCSVWriter",
    "SampleGrid",
    "plot_decision_boundary",
    "recompute_batch_norm_statistics",
    "save_sample_grid",
]
