"""Sensitivity analysis of the model's assumed (A) parameters: Morris screening, Sobol indices,
and where a scenario beats its baseline (``sim sensitivity``)."""
