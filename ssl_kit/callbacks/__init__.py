"""Callbacks that draw what people would rather look at than read."""

from ssl_kit.callbacks.decision_boundary import DecisionBoundaryPlot, plot_decision_boundary
from ssl_kit.callbacks.sample_grid import SampleGrid, save_sample_grid

__all__ = ["DecisionBoundaryPlot", "SampleGrid", "plot_decision_boundary", "save_sample_grid"]
