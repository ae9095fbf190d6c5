"""Checks of the model against data it was not calibrated on (``sim backtest``)."""
