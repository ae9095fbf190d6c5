"""Estimating the assumed (A) parameters from the ``calibration`` targets (``sim calibrate``).

The pipeline, in the order it is run:

1. screening (``sim sensitivity --targets``, :mod:`sim.estimation.screening`): which uncertain
   parameters move the calibration targets at all;
2. identifiability (``sim identifiability``, :mod:`sim.estimation.identifiability`): on
   synthetic data sets simulated at prior draws, does the calibration's 90% credible interval
   cover the truth about 90% of the time, and is it narrower than the prior;
3. calibration (``sim calibrate``, :mod:`sim.estimation.smc`): ABC-SMC with pyabc on the kept,
   identified parameters, writing the weighted posterior, its figures and the posterior
   predictive against every target (:mod:`sim.estimation.predictive`);
4. use (:mod:`sim.estimation.posterior`, :mod:`sim.estimation.assign`): ``sim batch --posterior
   DIR`` gives replicate r the r-th posterior draw in every scenario.

Only targets whose role is ``calibration`` enter steps 1-3 (:mod:`sim.estimation.targets`);
``validation`` targets are scored on the posterior predictive and never used for a choice.
"""
