"""The prior study's tables kept here, from a `make prior-study` output folder.

Run from the repository: ``.venv/bin/python docs/results/prior_study_tables.py results TAG``
(``results`` holds ``priors/`` and ``prior_study/`` with its ``report/``; TAG names the commit).
Writes ``prior_study_TAG_p_better.csv`` (P(coordinated better) per headline measure with its
Jeffreys interval, as the report computes it), ``prior_study_TAG_differences.csv`` (the report's
paired differences) and ``prior_study_TAG_draws.csv`` (each replicate's prior draw and its
paired differences); prints them, the runs whose base year did not settle, each measure's
largest Spearman correlations with the draws, and P(better) by quarter of the approval
friction's range (docs/VALIDATION.md, section 9)."""

import sys
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from sim.analysis.posterior_headline import paired_by_replicate, probability_better
from sim.estimation.assign import draws_by_replicate
from sim.experiments.store import load_results

HERE = Path(__file__).parent
KEPT = ("last.welfare", "discounted.welfare", "last.welfare_national",
        "discounted.welfare_national", "last.gdp_total", "discounted.gdp_total",
        "last.similarity_ring_mean", "last.subsidy_total", "discounted.subsidy_total")
FRICTION = "policies.investment_map.approval_friction"


def main(results: Path, tag: str) -> None:
    batch = load_results(results / "prior_study")
    circle = batch.circle.astype({"run": str, "scenario": str})
    pairs = paired_by_replicate(circle, "homogenised")
    better = probability_better(pairs)
    better.to_csv(HERE / f"prior_study_{tag}_p_better.csv", index=False)
    summary = pd.read_csv(results / "prior_study" / "report" / "summary.csv")
    differences = summary[summary["section"] == "difference"]
    differences.to_csv(HERE / f"prior_study_{tag}_differences.csv", index=False)
    wide = pairs[pairs["scenario"] == "coordinated"].pivot_table(
        index="replicate", columns=["measure", "metric"], values="diff")
    wide.columns = [f"{measure}.{metric}" for measure, metric in wide.columns]
    draws = draws_by_replicate(results / "priors", sorted(wide.index))
    table = draws.join(wide[[c for c in KEPT if c in wide.columns]]).reset_index()
    table.to_csv(HERE / f"prior_study_{tag}_draws.csv", index=False)
    print(better.round(3).to_string(index=False))
    settled = batch.manifest["base_year_settled"].astype(str).str.lower()
    print(f"runs {len(settled)}, base year not settled: {int((settled == 'false').sum())}")
    print(differences[["measure", "metric", "mean", "ci_low", "ci_high"]].round(3)
          .to_string(index=False))
    for measure in ("last.welfare", "last.gdp_total"):
        rho = {k: spearmanr(draws[k], wide[measure]).statistic for k in draws.columns}
        top = sorted(rho.items(), key=lambda kv: -abs(kv[1]))[:4]
        print(measure, ", ".join(f"{k} {v:+.2f}" for k, v in top))
    quarter = pd.cut(table[FRICTION], [0, 0.0375, 0.075, 0.1125, 0.15], include_lowest=True)
    welfare = table.groupby(quarter, observed=True)["last.welfare"]
    print(pd.DataFrame({"draws": welfare.size(), "p_better": welfare.apply(lambda x: (x > 0)
                        .mean()), "mean": welfare.mean()}).round(2).to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
