"""How much of each calibration target's spread over the prior draws the ten parameters explain,
at 2,000 and 5,000 units, from the two reference tables kept here (the same 600 draws and random
streams; only the size differs). Run from the repository: ``.venv/bin/python
docs/results/noise_by_size.py``. Prints per target the standard deviation at each size, their
ratio (1/sqrt(2.5) = 0.63 if the spread is sampling noise) and the adjusted R^2 of a least-squares
fit on the standardised parameters (linear)."""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
TABLES = {2000: "identifiability_2000_c7dd208_reference.csv",
          5000: "identifiability_5000_db672c6_reference.csv"}


def adjusted_r2(params: pd.DataFrame, target: pd.Series) -> float:
    """Adjusted R^2 of the target on an intercept and the standardised parameters."""
    z = ((params - params.mean()) / params.std()).to_numpy()
    design = np.column_stack([np.ones(len(z)), z])
    y = target.to_numpy(float)
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    n, k = design.shape
    resid = y - design @ beta
    return 1 - (resid @ resid / (n - k)) / (y.var(ddof=1))


def main() -> None:
    frames = {size: pd.read_csv(HERE / name) for size, name in TABLES.items()}
    first = frames[2000]
    params = [c for c in first.columns if c.startswith(("economy.", "world.", "competition."))]
    targets = [c for c in first.columns if c not in params]
    rows = []
    for t in targets:
        row = {"target": t}
        for size, frame in frames.items():
            row[f"sd_{size}"] = frame[t].std()
            row[f"r2_{size}"] = adjusted_r2(frame[params], frame[t])
        row["sd_ratio"] = row["sd_5000"] / row["sd_2000"]
        rows.append(row)
    print(pd.DataFrame(rows).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
