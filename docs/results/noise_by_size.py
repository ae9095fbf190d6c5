"""How much of each calibration target's spread over the prior draws the ten parameters explain,
by model size, from the reference tables kept here. Two comparisons, each of tables that share
their 600 draws and random streams (only the size differs): 2,000 against 5,000 units on the
first prior (stay share up to 0.95), and 2,000 against 20,000 units on the feasible prior (stay
share up to 0.88). Run from the repository: ``.venv/bin/python docs/results/noise_by_size.py``.
Prints per target the standard deviation at each size, their ratio (1/sqrt of the sizes' ratio,
0.63 for 2.5x and 0.32 for 10x, if the spread is sampling noise) and the adjusted R^2 of a
least-squares fit on the standardised parameters (linear); then, per size, the identifiability
check's coverage and contraction without the regression adjustment (plain ABC rejection, the
same truths, scales and 120 accepted draws), to show what the adjustment contributes. A third
comparison holds the size at 20,000 units and averages 4 realisations per draw
(``--realisations 4``) against one (0.5 if the spread is sampling noise). A fourth compares
that averaged table with the same draws made again once every base year settled (the reviewers'
secant steps; 37 of the 600 draws changed; a ratio of 1 says the spread is the same). The rule is
not changed."""

from pathlib import Path

import numpy as np
import pandas as pd

from sim.config.sweeps import load_scenario
from sim.config.uncertain import parse_uncertain
from sim.estimation.priors import prior_interval
from sim.estimation.rejection import abc_rejection, credible_interval, mad_scales

HERE = Path(__file__).parent
COMPARISONS = {
    "first prior": {"2000": "identifiability_2000_c7dd208_reference.csv",
                    "5000": "identifiability_5000_db672c6_reference.csv"},
    "feasible prior": {"2000": "identifiability_2000_69f8ca7_reference.csv",
                       "20000": "identifiability_20000_ea292a0_reference.csv"},
    "20,000 units, realisations averaged": {
        "20000x1": "identifiability_20000_ea292a0_reference.csv",
        "20000x4": "identifiability_20000_k4_56a121d_reference.csv"},
    "20,000 units x 4, before and after the reviewers' secant steps": {
        "x4 56a121d": "identifiability_20000_k4_56a121d_reference.csv",
        "x4 bcf1895": "identifiability_20000_k4_bcf1895_reference.csv"},
}


def adjusted_r2(params: pd.DataFrame, target: pd.Series) -> float:
    """Adjusted R^2 of the target on an intercept and the standardised parameters."""
    z = ((params - params.mean()) / params.std()).to_numpy()
    design = np.column_stack([np.ones(len(z)), z])
    y = target.to_numpy(float)
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    n, k = design.shape
    resid = y - design @ beta
    return 1 - (resid @ resid / (n - k)) / (y.var(ddof=1))


def unadjusted_check(frame: pd.DataFrame, keys: list[str], truths: int = 20,
                     accept: int = 120, seed: int = 1) -> pd.DataFrame:
    """Coverage and mean contraction of the 90% interval by plain rejection, as
    ``sim.estimation.identifiability.coverage_study`` picks its truths and scales."""
    base = HERE.parent.parent / "scenarios" / "base.yaml"
    by_key = {p.key: p for p in parse_uncertain(load_scenario(base).uncertain, str(base))}
    params = [by_key[k] for k in keys]
    theta, sims = frame[keys].to_numpy(float), frame.drop(columns=keys).to_numpy(float)
    chosen = np.random.default_rng(seed).choice(len(theta), size=truths, replace=False)
    rest = np.setdiff1d(np.arange(len(theta)), chosen)
    scales = mad_scales(sims[rest])
    prior = np.array([prior_interval(p) for p in params])
    covered, contraction = np.zeros(len(keys)), np.zeros(len(keys))
    for i in chosen:
        post = abc_rejection(theta[rest], sims[rest], sims[i], params, accept, adjust=False,
                             scales=scales)
        bounds = credible_interval(post.samples, post.weights)
        covered += (bounds[:, 0] <= theta[i]) & (theta[i] <= bounds[:, 1])
        contraction += 1 - (bounds[:, 1] - bounds[:, 0]) / (prior[:, 1] - prior[:, 0])
    return pd.DataFrame({"parameter": keys, "covered": covered.astype(int),
                         "contraction": contraction / truths})


def main() -> None:
    for label, tables in COMPARISONS.items():
        frames = {name: pd.read_csv(HERE / file) for name, file in tables.items()}
        small, large = frames
        first = frames[small]
        params = [c for c in first.columns
                  if c.startswith(("economy.", "world.", "competition."))]
        targets = [c for c in first.columns if c not in params]
        rows = []
        for t in targets:
            row = {"target": t}
            for name, frame in frames.items():
                row[f"sd_{name}"] = frame[t].std()
                row[f"r2_{name}"] = adjusted_r2(frame[params], frame[t])
            row["sd_ratio"] = row[f"sd_{large}"] / row[f"sd_{small}"]
            rows.append(row)
        print(f"== {label}: {small} against {large}")
        print(pd.DataFrame(rows).round(4).to_string(index=False))
        for name, frame in frames.items():
            print(f"\n{name}, without the regression adjustment (of 20 truths):")
            print(unadjusted_check(frame, params).round(3).to_string(index=False))
        print()


if __name__ == "__main__":
    main()
