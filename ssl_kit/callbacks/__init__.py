"""Callbacks that draw what people would rather look at than read."""

from ssl_kit.callbacks.decision_boundary import DecisionBoundaryPlot, plot_decision_boundary

__all__ = ["DecisionBoundaryPlot", "plot_decision_boundary"]
