"""Every figure drawn from one small real batch; each test checks what a wrong plot would fail."""

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PatchCollection, PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from sim.analysis import i18n, plots, stats
from sim.experiments.runner import run_batch
from sim.experiments.store import load_results

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SWEEP = "policies.enclave.gdp_share_source"
SHARES = [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    """homogenised, coordinated and the enclave-share sweep: 3 replicates, 3 quarters."""
    out = tmp_path_factory.mktemp("plots") / "store"
    files = [SCENARIOS / f"{name}.yaml" for name in
             ("homogenised", "coordinated", "sweep_enclave_share")]
    done = run_batch(files, out_dir=out, replicates=3, workers=1, progress=False,
                     overrides=["steps=3", "world.n_units=2000"])
    assert done.n_failed == 0, done.failed
    return load_results(out)


@pytest.fixture(scope="session")
def summary(batch):
    return stats.summarise(batch, "homogenised", n_boot=200)


def visible_axes(fig: Figure):
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def legend_labels(fig: Figure) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_scenario_colours_fixed_distinct_and_order_free():
    names = ["coordinated_without_enclave", "homogenised", "coordinated", "homogenised_with_x"]
    colours = plots.scenario_colours(names)
    assert colours == plots.scenario_colours(list(reversed(names)))
    assert colours["homogenised"] == "#d62728" and colours["coordinated"] == "#1f77b4"
    assert len(set(map(str, colours.values()))) == len(names)


def test_time_series_one_line_and_band_per_series(summary):
    fig = plots.plot_time_series(summary.over_time)
    axes = visible_axes(fig)
    assert len(axes) == len(plots.TIME_SERIES_METRICS) == 6
    n_series = 2 + len(SHARES)  # homogenised, coordinated, five sweep points
    for ax, metric in zip(axes, plots.TIME_SERIES_METRICS):
        assert len(ax.lines) == n_series
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == n_series
        assert ax.get_title() == i18n.metric_label(metric)
        assert ax.get_xlabel() == "Quarter"
    labels = legend_labels(fig)
    assert {"homogenised", "coordinated"} <= set(labels) and len(labels) == n_series
    expected = summary.over_time.query("scenario == 'homogenised' and metric == "
                                       "'similarity_ring_mean'").sort_values("step")["mean"]
    line = next(l for l in axes[0].lines if l.get_label() == "homogenised")
    np.testing.assert_allclose(line.get_ydata(), expected)


def test_last_step_point_and_interval_per_scenario_baseline_marked(summary):
    fig = plots.plot_last_step(summary.levels, "homogenised", stats.HEADLINE_METRICS)
    axes = visible_axes(fig)
    assert len(axes) == len(stats.HEADLINE_METRICS)
    baseline = summary.levels.query("scenario == 'homogenised' and measure == 'last'")
    for i, (ax, metric) in enumerate(zip(axes, stats.HEADLINE_METRICS)):
        assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) == 2 + len(SHARES)
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        if i % 3 == 0:  # names on the first panel of each row, top to bottom in rank order
            assert ticks[:3] == ["homogenised [baseline]", "coordinated",
                                 "sweep_enclave_share (gdp_share_source=0)"]
        else:
            assert set(ticks) == {""}
        dashed = [l for l in ax.lines if l.get_linestyle() == "--"]
        assert len(dashed) == 1
        expected = baseline.loc[baseline["metric"] == metric, "mean"].iloc[0]
        assert dashed[0].get_xdata()[0] == pytest.approx(expected)


def test_differences_against_zero_in_rank_order(summary):
    fig = plots.plot_differences(summary.differences, ["welfare", "wuhan_share"])
    for ax, metric in zip(visible_axes(fig), ["welfare", "wuhan_share"]):
        assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) == 1 + len(SHARES)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[:2] == ["coordinated", "sweep_enclave_share (gdp_share_source=0)"]
    for ax, metric in zip(visible_axes(fig), ["welfare", "wuhan_share"]):
        zero = [l for l in ax.lines if l.get_linestyle() == "--"]
        assert len(zero) == 1 and zero[0].get_xdata()[0] == 0.0
        expected = summary.differences.query(
            "scenario == 'coordinated' and measure == 'last' and metric == @metric")
        point = ax.containers[0].lines[0].get_xdata()[0]
        assert point == pytest.approx(expected["mean"].iloc[0])


def test_investment_matrix_by_hand():
    rows = []
    for run in ("a", "b"):  # two runs, two segments: the mean over runs of segment sums
        for city, sector, output in [("Wuhan", "health", 3), ("Wuhan", "automotive", 1),
                                     ("Ezhou", "health", 1), ("Ezhou", "automotive", 3)]:
            for segment in ("rnd", "core"):
                rows.append({"run": run, "scenario": "s", "replicate": 0, "step": 2,
                             "city": city, "sector": sector, "segment": segment,
                             "output": output / 2})
            rows.append({**rows[-1], "step": 0, "output": 100.0})  # not the last step
    frame = pd.DataFrame(rows)
    lq = stats.investment_matrix(frame, "s", "lq")
    assert list(lq.index) == ["Wuhan", "Ezhou"] and list(lq.columns) == ["automotive", "health"]
    np.testing.assert_allclose(lq.to_numpy(), [[0.5, 1.5], [1.5, 0.5]])
    share = stats.investment_matrix(frame, "s", "share")
    np.testing.assert_allclose(share.to_numpy(), [[0.25, 0.75], [0.75, 0.25]])


def test_investment_map_heatmap_per_scenario(batch):
    fig = plots.plot_investment_map(batch.sectors, ["homogenised", "coordinated"])
    axes = [ax for ax in visible_axes(fig) if ax.images]
    assert [ax.get_title() for ax in axes] == ["homogenised", "coordinated"]
    n_sectors = batch.sectors["sector"].nunique()
    for ax, scenario in zip(axes, ["homogenised", "coordinated"]):
        image = ax.images[0].get_array()
        assert image.shape == (9, n_sectors) == (9, 15)
        lq = stats.investment_matrix(batch.sectors, scenario)
        np.testing.assert_allclose(image, np.log2(np.clip(lq.to_numpy(), 0.125, 8)))
        assert ax.get_yticklabels()[0].get_text() == "Wuhan"


def test_arrivals_map_by_hand_and_drawn(batch):
    base = {"run": "r", "scenario": "s", "step": 1, "unit_id": 0, "segment": "core",
            "origin": "local", "from_city": None, "to_park": "p"}
    rows = [("Wuhan", "health", "new_investment", 3.0), ("Wuhan", "automotive", "relocation", 1.0),
            ("Ezhou", "health", "enclave", 1.0), ("Ezhou", "automotive", "new_investment", 3.0),
            ("Ezhou", "health", "exit", 50.0)]
    frame = pd.DataFrame([{**base, "to_city": c, "sector": k, "channel": ch, "output": o}
                          for c, k, ch, o in rows])
    np.testing.assert_allclose(stats.arrivals_matrix(frame, "s").to_numpy(),
                               [[0.5, 1.5], [1.5, 0.5]])  # exits are not placements
    fig = plots.plot_investment_map(batch.transfers, ["coordinated"], "arrivals")
    image = fig.axes[0].images[0].get_array()
    lq = stats.arrivals_matrix(batch.transfers, "coordinated").to_numpy()
    np.testing.assert_allclose(image, np.log2(np.clip(lq, 0.125, 8)))


def test_moved_out_of_wuhan_by_hand():
    base = {"scenario": "s", "step": 1, "unit_id": 0, "sector": "health", "segment": "core",
            "origin": "wuhan", "to_park": "p"}
    rows = [("r1", "Wuhan", "Ezhou", "enclave", 4.0), ("r1", "Wuhan", "Ezhou", "enclave", 2.0),
            ("r2", "Wuhan", "Ezhou", "relocation", 1.0),
            ("r2", "Ezhou", "Wuhan", "relocation", 9.0),
            ("r2", "Wuhan", None, "exit", 5.0)]
    frame = pd.DataFrame([{**base, "run": r, "from_city": f, "to_city": t, "channel": c,
                           "output": o} for r, f, t, c, o in rows])
    moved = stats.moved_out_of_wuhan(frame, "s").set_index("channel")["output"]
    assert moved.to_dict() == {"enclave": 3.0, "relocation": 0.5}  # per run: 2 runs


def test_flow_map_arrows_sizes_and_channels(batch, tmp_path):
    scenarios = ["homogenised", "coordinated"]
    fig = plots.plot_flow_map(batch.cities, batch.transfers, scenarios)
    axes = visible_axes(fig)
    present = set()
    for ax, scenario in zip(axes, scenarios):
        moved = stats.moved_out_of_wuhan(batch.transfers, scenario, 3)
        moved = moved[moved["output"] > 0]
        arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
        assert len(arrows) == len(moved) > 0
        widths = sorted(a.get_linewidth() for a in arrows)
        assert widths[0] < widths[-1]
        sizes = ax.collections[0].get_sizes()
        assert sizes[0] == sizes.max()  # Wuhan (first row of cities.csv) has the largest GDP
        present |= set(moved["channel"])
    assert set(legend_labels(fig)) == {i18n.channel_label(c) for c in present}

    geo = tmp_path / "cities.geojson"
    square = [[[114, 30], [115, 30], [115, 31], [114, 31], [114, 30]]]
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square}},
        {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [square, square]}},
    ]}))
    fig = plots.plot_flow_map(batch.cities, batch.transfers, ["coordinated"],
                              boundaries=plots.read_boundaries(geo))
    polygons = [c for c in fig.axes[0].collections if isinstance(c, PatchCollection)]
    assert len(polygons) == 1 and len(polygons[0].get_paths()) == 3


def test_bad_boundaries_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(ValueError, match="bad.geojson.*Polygon"):
        plots.read_boundaries(bad)


def test_city_gains_three_bars_per_city(summary):
    fig = plots.plot_city_gains(summary.city_gains, ["coordinated", "sweep_enclave_share"])
    axes = visible_axes(fig)
    assert len(axes) == 2
    for ax in axes:
        assert sum(isinstance(p, Rectangle) for p in ax.patches) == 9 * 3
    assert "(gdp_share_source=0" in axes[1].get_title()
    assert legend_labels(fig) == ["Physical GDP", "Credited GDP", "Tax minus subsidies"]
    wuhan = summary.city_gains.query("scenario == 'coordinated' and city == 'Wuhan' and "
                                     "metric == 'gdp_credited'")["mean"].iloc[0]
    credited = [p for p in axes[0].patches if isinstance(p, Rectangle)][9]  # 2nd group, Wuhan
    assert credited.get_width() == pytest.approx(wuhan)


def test_sweep_curves_with_bands_and_baseline(summary):
    metrics = ["wuhan_share", "welfare"]
    fig = plots.plot_sweep(summary.levels, SWEEP, metrics, baseline="homogenised")
    for ax in visible_axes(fig):
        curve = next(l for l in ax.lines if l.get_label() == "sweep_enclave_share")
        np.testing.assert_allclose(curve.get_xdata().astype(float), SHARES)
        assert len(ax.lines) == 2 and len(ax.collections) == 1
        assert ax.get_xlabel() == SWEEP
    assert legend_labels(fig) == ["sweep_enclave_share", "homogenised [baseline]"]
    gains = summary.city_gains.query("scenario == 'sweep_enclave_share' and "
                                     "metric == 'gdp_credited'")
    fig = plots.plot_sweep(gains, SWEEP, ["gdp_credited"], series="city")
    assert len(fig.axes[0].lines) == 9 and legend_labels(fig)[0] == "Wuhan"


def all_figures(batch, summary, lang):
    return [
        plots.plot_time_series(summary.over_time, lang=lang),
        plots.plot_last_step(summary.levels, "homogenised", stats.HEADLINE_METRICS, lang=lang),
        plots.plot_investment_map(batch.sectors, ["homogenised", "coordinated"], lang=lang),
        plots.plot_flow_map(batch.cities, batch.transfers, ["coordinated"], lang=lang),
        plots.plot_city_gains(summary.city_gains, ["coordinated"], lang=lang),
        plots.plot_sweep(summary.levels, SWEEP, ["welfare"], lang=lang, baseline="homogenised"),
    ]


def missing_glyph_warnings(fig: Figure, lang: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with i18n.figure_style(lang):
            fig.savefig(io.BytesIO(), format="png", dpi=50)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_missing_glyph_check_can_fail():
    fig = Figure()
    fig.add_subplot().set_title("武汉", fontfamily="DejaVu Sans")
    assert missing_glyph_warnings(fig, "en")


def test_chinese_figures_render_without_missing_glyphs(batch, summary):
    for fig in all_figures(batch, summary, "zh"):
        assert missing_glyph_warnings(fig, "zh") == []
        assert fig.axes[0].title.get_fontname() in i18n.CJK_FONTS
    fig = plots.plot_city_gains(summary.city_gains, ["coordinated"], lang="zh")
    assert fig.axes[0].get_yticklabels()[0].get_text() == "武汉"


def test_missing_cjk_font_is_a_clear_error(monkeypatch):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    with pytest.raises(i18n.FontMissingError, match="fonts-noto-cjk"):
        plots.plot_time_series(pd.DataFrame(), lang="zh")


def test_save_png_at_200_dpi_and_svg(tmp_path, summary):
    fig = plots.plot_time_series(summary.over_time)
    png = plots.save_figure(fig, tmp_path, "ts")
    assert (tmp_path / "ts.svg").read_text().lstrip().startswith("<?xml")
    from matplotlib.image import imread

    height, width = imread(png).shape[:2]
    w_in, h_in = fig.get_size_inches()
    assert (width, height) == (round(w_in * 200), round(h_in * 200))
