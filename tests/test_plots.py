"""Every figure drawn from one small real batch; each test checks what a wrong plot would fail."""

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import batch_here, shared_once
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection, PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from sim.analysis import forest, i18n, plots, stats
from sim.experiments.store import load_results

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SWEEP = "policies.enclave.gdp_share_source"
SHARES = [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    """homogenised, coordinated and the enclave-share sweep: 3 replicates, 3 quarters (built once
    per session, also under pytest-xdist)."""
    files = [SCENARIOS / f"{name}.yaml" for name in
             ("homogenised", "coordinated", "sweep_enclave_share")]

    def build(folder: Path) -> None:
        done = batch_here(files, folder / "store", replicates=3,
                          overrides=["steps=3", "world.n_units=2000"])
        assert done.n_failed == 0, done.failed

    return load_results(shared_once(tmp_path_factory, "plots", build) / "store")


@pytest.fixture(scope="session")
def summary(batch):
    return stats.summarise(batch, "homogenised")


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
    assert len(axes) == len(plots.TIME_SERIES_METRICS) == 7
    n_series = 2 + len(SHARES)  # homogenised, coordinated, five sweep points
    for ax, metric in zip(axes, plots.TIME_SERIES_METRICS):
        assert len(ax.lines) == n_series
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == n_series
        assert ax.get_title() == i18n.metric_label(metric)
        assert ax.get_xlabel() == "Quarter"
    labels = legend_labels(fig)
    assert {"Homogenised competition", "Coordinated co-construction"} <= set(labels)
    assert len(labels) == n_series
    expected = summary.over_time.query("scenario == 'homogenised' and metric == "
                                       "'similarity_ring_mean'").sort_values("step")["mean"]
    panel = axes[plots.TIME_SERIES_METRICS.index("similarity_ring_mean")]
    line = next(ln for ln in panel.lines if ln.get_label() == "Homogenised competition")
    np.testing.assert_allclose(line.get_ydata(), expected)


def test_headline_forest_in_percent_of_baseline_coloured_by_verdict(summary):
    metrics = ("welfare", "similarity_ring_mean", "wuhan_share")
    fig = forest.plot_headline(summary.differences, summary.levels, ["coordinated"], metrics)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Welfare (present value)", "Ring-city structure similarity", "Wuhan share of circle GDP"]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 3
    diff = summary.differences.query("scenario == 'coordinated' and measure == 'discounted' "
                                     "and metric == 'welfare'").iloc[0]
    base = summary.levels.query("scenario == 'homogenised' and measure == 'discounted' "
                                "and metric == 'welfare'")["mean"].iloc[0]
    assert bars[0].lines[0].get_xdata()[0] == pytest.approx(100 * diff["mean"] / abs(base))
    assert bars[0].lines[0].get_color() == forest.verdict_colour(diff["verdict"], "welfare")
    assert "Coordinated co-construction − Homogenised competition" in fig._suptitle.get_text()


def test_verdict_colours_follow_the_registry_direction():
    assert forest.verdict_colour("higher", "welfare") == forest.VERDICT_COLOURS["better"]
    assert forest.verdict_colour("higher", "subsidy_total") == forest.VERDICT_COLOURS["worse"]
    assert forest.verdict_colour("lower", "wuhan_share") == forest.VERDICT_COLOURS["neutral"]
    assert forest.verdict_colour("not_distinct", "welfare") == \
        forest.VERDICT_COLOURS["not_distinct"]


def test_ablation_forest_one_row_per_switch():
    rows = [{"scenario": f"x_{k}", "parent": "p", "switch": sw, "kind": k, "measure": "discounted",
             "metric": "welfare", "mean": m, "ci_low": m - 1, "ci_high": m + 1, "n": 3}
            for sw, k, m in [("enclave", "removed", 5.0), ("enclave", "added", 2.0),
                             ("subsidy_cap", "removed", -1.0), ("subsidy_cap", "added", 0.5)]]
    fig = forest.plot_ablations(pd.DataFrame(rows), ["welfare"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Subsidy cap", "Enclave parks"]
    removed = np.asarray(ax.containers[0].lines[0].get_xdata(), dtype=float)
    np.testing.assert_allclose(removed, [-1.0, 5.0])  # switches in the order of i18n.SWITCHES


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


def test_map_matrix_by_hand():
    rows = [{"run": run, "scenario": "c", "step": step, "city": city, "sector": sector,
             "segment": segment}
            for run, step, city, sector, segment in [
                ("a", 2, "Ezhou", "health", "core"), ("a", 2, "Wuhan", "automotive", "rnd"),
                ("b", 2, "Ezhou", "health", "core"), ("b", 2, "Wuhan", "health", "core"),
                ("a", 1, "Tianmen", "health", "rnd")]]  # an earlier map, not the last step
    matrix = stats.map_matrix(pd.DataFrame(rows), "c", n_runs=2)
    assert list(matrix.index) == ["Wuhan", "Ezhou"]
    assert list(matrix.columns) == [("automotive", "rnd"), ("health", "core")]
    np.testing.assert_allclose(matrix.to_numpy(), [[0.5, 0.5], [0.0, 1.0]])


def test_coordinator_map_shows_the_recorded_map(batch):
    fig = plots.plot_coordinator_map(batch.investment_map, "coordinated", 3)
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    matrix = stats.map_matrix(batch.investment_map, "coordinated", 3)
    np.testing.assert_allclose(image, matrix.to_numpy())
    assert fig._suptitle.get_text().startswith("The coordinator's investment map")
    assert ax.get_yticklabels()[0].get_text() == "Wuhan"
    last = batch.investment_map.query("scenario == 'coordinated'")
    last = last[last["step"] == last["step"].max()]
    per_segment = last.groupby(["run", "sector", "segment"]).size()
    assert per_segment.between(1, 3).all()   # max_cities_per_segment (A) = 3
    # slots by size and land: at most lead sectors x segments x cities in all (issue 14)
    assert last.groupby("run").size().max() <= 3 * 4 * 9
    assert batch.investment_map.query("scenario == 'homogenised'").empty


def test_investment_map_heatmap_per_scenario(batch):
    fig = plots.plot_specialisation(batch.sectors, ["homogenised", "coordinated"])
    axes = [ax for ax in visible_axes(fig) if ax.images]
    assert [ax.get_title() for ax in axes] == ["Homogenised competition",
                                               "Coordinated co-construction"]
    assert "not the coordinator" not in fig._suptitle.get_text()
    assert fig._suptitle.get_text().startswith("Output specialisation")
    assert axes[0].get_xticklabels()[1].get_text() == "Automobiles"
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
    fig = plots.plot_specialisation(batch.transfers, ["coordinated"], "arrivals")
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
    present, widths_all = set(), []
    for ax, scenario in zip(axes, scenarios):
        moved = stats.moved_out_of_wuhan(batch.transfers, scenario, 3)
        moved = moved[moved["output"] > 0]
        arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
        assert len(arrows) == len(moved) > 0
        widths = sorted(a.get_linewidth() for a in arrows)
        assert widths[0] < widths[-1]
        widths_all += widths
        sizes = ax.collections[0].get_sizes()
        assert sizes[0] == sizes.max()  # Wuhan (first row of cities.csv) has the largest GDP
        present |= set(moved["channel"])
    channels, key = fig.legends
    assert {t.get_text() for t in channels.get_texts()} == {i18n.channel_label(c) for c in present}
    assert key.get_title().get_text().startswith("Arrow width")
    key_widths = [h.get_linewidth() for h in key.legend_handles]
    assert key_widths[0] == pytest.approx(max(widths_all)) and key_widths == sorted(key_widths,
                                                                                     reverse=True)
    assert axes[0].get_xlabel() == "Longitude (°E)" and axes[0].get_ylabel() == "Latitude (°N)"
    FigureCanvasAgg(fig).draw()
    texts = axes[0].texts
    assert len(texts) == 9
    overlapping = [(a.get_text(), b.get_text()) for i, a in enumerate(texts) for b in texts[i + 1:]
                   if a.get_window_extent().overlaps(b.get_window_extent())]
    assert overlapping == []

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
    assert axes[0].get_title() == "Coordinated co-construction − Homogenised competition"
    assert legend_labels(fig) == ["Physical GDP", "Credited GDP", "Tax minus subsidies"]
    wuhan = summary.city_gains.query("scenario == 'coordinated' and city == 'Wuhan' and "
                                     "metric == 'gdp_credited'")["mean"].iloc[0]
    credited = [p for p in axes[0].patches if isinstance(p, Rectangle)][9]  # 2nd group, Wuhan
    assert credited.get_width() == pytest.approx(wuhan)


def test_sweep_curves_with_bands_and_baseline(summary):
    metrics = ["wuhan_share", "welfare"]
    fig = plots.plot_sweep(summary.levels, SWEEP, metrics, baseline="homogenised")
    for ax in visible_axes(fig):
        curve = next(ln for ln in ax.lines if ln.get_label() == "Enclave share sweep")
        np.testing.assert_allclose(curve.get_xdata().astype(float), SHARES)
        assert len(ax.lines) == 2 and len(ax.collections) == 1
        assert ax.get_xlabel() == "gdp share source"
    assert legend_labels(fig) == ["Enclave share sweep", "Homogenised competition [baseline]"]
    gains = summary.city_gains.query("scenario == 'sweep_enclave_share' and "
                                     "metric == 'gdp_credited'")
    fig = plots.plot_sweep(gains, SWEEP, ["gdp_credited"], series="city")
    assert len(fig.axes[0].lines) == 9 and legend_labels(fig)[0] == "Wuhan"


def all_figures(batch, summary, lang):
    return [
        plots.plot_time_series(summary.over_time, lang=lang),
        forest.plot_headline(summary.differences, summary.levels, ["coordinated"],
                             ("welfare", "theil"), lang=lang),
        plots.plot_specialisation(batch.sectors, ["homogenised", "coordinated"], lang=lang),
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


def test_label_offsets_part_close_neighbours_by_hand():
    coords = pd.DataFrame({"lon": [114.8906, 114.8794, 113.0], "lat": [30.3965, 30.4477, 30.0]},
                          index=["Ezhou", "Huanggang", "Far"])
    offsets = plots.label_offsets(coords)
    assert offsets["Ezhou"] == (-6, -6, "right", "top")       # Huanggang lies just north
    assert offsets["Huanggang"] == offsets["Far"] == (6, 6, "left", "bottom")


def test_png_dpi_fits_a_slide_by_hand():
    assert plots.png_dpi(Figure(figsize=(13.8, 7.2))) == 100.0
    assert plots.png_dpi(Figure(figsize=(31.2, 44.64))) == pytest.approx(900 / 44.64)
    assert plots.png_dpi(Figure(figsize=(32.0, 9.0))) == pytest.approx(50.0)


def test_saved_figures_fit_a_slide(tmp_path, summary):
    from matplotlib.image import imread

    fig = plots.plot_time_series(summary.over_time)
    png = plots.save_figure(fig, tmp_path, "ts")
    # seven panels in 2 rows of 4: 18.4 x 7.2 in, at 1600 / 18.4 = 86.96 dpi (a slide's width)
    assert imread(png).shape[:2] == (626, 1600)
    assert (tmp_path / "ts.svg").read_text().lstrip().startswith("<?xml")
    png = plots.save_figure(Figure(figsize=(20.0, 20.0)), tmp_path, "big")
    height, width = imread(png).shape[:2]
    assert width <= 1600 and height <= 900


def test_chinese_labels_on_scenarios_axes_and_metrics(batch, summary):
    fig = forest.plot_headline(summary.differences, summary.levels, ["coordinated"],
                               ("welfare", "theil"), lang="zh")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["社会福利(贴现值)",
                                                                    "人均GDP泰尔指数"]
    assert fig._suptitle.get_text().startswith("协同共建 − 同质化竞争")
    fig = plots.plot_flow_map(batch.cities, batch.transfers, ["coordinated"], lang="zh")
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (
        "协同共建",
        "经度(°E)",
        "纬度(°N)",
    )
    fig = plots.plot_specialisation(batch.sectors, ["homogenised"], lang="zh")
    assert fig.axes[0].get_xticklabels()[1].get_text() == "汽车"
