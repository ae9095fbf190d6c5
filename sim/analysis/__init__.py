"""Policy comparison on stored batches: statistics, figures and the report.

Reads only what :func:`sim.experiments.store.load_results` returns; never imports the model.
"""
