"""The explorer page built and stepped without a browser, and the explore helpers by hand."""

import importlib.util

import numpy as np
import pandas as pd
import pytest

from sim.config import ConfigError
from sim.explorer import levers as explore

# skipped without the extra; found, not imported (the page test imports it), so a pytest-xdist
# worker that runs none of these tests does not pay for the import at collection
pytestmark = pytest.mark.skipif(importlib.util.find_spec("solara") is None,
                                reason="the explorer extra (solara) is not installed")


def test_map_agreement_by_hand():
    a = np.array([[1, 1, 0], [0, 1, 0]], dtype=bool)
    b = np.array([[1, 0, 0], [0, 1, 1]], dtype=bool)
    # shared: (0,0), (1,1) = 2; either: (0,0), (0,1), (1,1), (1,2) = 4
    assert explore.map_agreement(a, b) == 0.5
    assert explore.map_agreement(a, a) == 1.0
    assert explore.map_agreement(np.zeros((2, 3)), np.zeros((2, 3))) == 1.0


def test_targeting_counts_by_hand():
    # 3 cities, 2 sectors x 4 segments; city 0 targets sector 0 (rnd), city 1 sector 0 (supply)
    # and sector 1 (hq), city 2 nothing: sector 0 by 2 cities, sector 1 by 1.
    targets = np.zeros((3, 8), dtype=bool)
    targets[0, 0] = targets[1, 3] = targets[1, 5] = True
    counts = explore.targeting_counts(targets, ["a", "b"])
    assert counts.to_dict() == {"a": 2, "b": 1}


def test_map_frame_layout():
    mapped = np.zeros((2, 8), dtype=bool)
    mapped[1, 6] = True  # city 1, sector 1 (6 // 4), segment core (6 % 4 = 2)
    frame = explore.map_frame(mapped, ["X", "Y"], ["a", "b"])
    assert len(frame) == 16
    row = frame[frame["mapped"]].iloc[0]
    assert (row["city"], row["sector"], row["segment"]) == ("Y", "b", "core")


def test_agreement_band_by_hand():
    # mean gains over two replicates; source S, hosts H1, H2
    rows = []
    for share, s, h1, h2 in [(0.0, -2, 4, 4), (0.25, 1, 3, 1), (0.5, 2, 1, 1), (0.75, 3, -1, 1)]:
        for rep, noise in [(0, -1), (1, 1)]:
            rows += [{"share": share, "replicate": rep, "city": "S", "objective": s + noise},
                     {"share": share, "replicate": rep, "city": "H1", "objective": h1 - noise},
                     {"share": share, "replicate": rep, "city": "H2", "objective": h2},
                     {"share": share, "replicate": rep, "city": "Other", "objective": -9}]
    gains = pd.DataFrame(rows)
    assert explore.agreement_band(gains, "S", ["H1", "H2"]) == (0.25, 0.5)
    table = explore.band_table(gains, "S", ["H1", "H2"])
    assert table.loc[0.75, "H1"] == -1
    assert explore.agreement_band(gains, "S", ["H2"], measure="objective") == (0.25, 0.75)
    assert explore.agreement_band(gains.assign(objective=-1.0), "S", ["H1"]) is None


def test_with_values_sets_and_checks_keys():
    config = explore.scenario("coordinated", n_units=300, steps=1)
    changed = explore.with_values(config, {"policies.enclave.gdp_share_source": 0.2})
    assert changed.policies.enclave.gdp_share_source == 0.2
    assert config.policies.enclave.gdp_share_source == 0.5
    with pytest.raises(ConfigError, match="policies.enclave.no_such_key: expected a dotted key"):
        explore.with_values(config, {"policies.enclave.no_such_key": 1})
    with pytest.raises(ConfigError, match="gdp_share_source"):     # outside the schema's range
        explore.with_values(config, {"policies.enclave.gdp_share_source": 2.0})


def test_explorer_model_levers_reach_the_config():
    from sim.explorer.views import ExplorerModel

    model = ExplorerModel(regime="homogenised", enclave_gdp_share=0.3, park_within_park=False,
                          subsidy_cap=0.07, homogenisation=0.9, n_units=300, twin=False)
    cfg = model.config
    assert cfg.name == "homogenised"
    assert cfg.policies.enclave.gdp_share_source == 0.3
    assert not cfg.switches.park_within_park
    assert not cfg.switches.reverse_enclave            # untouched levers keep the regime's values
    assert ExplorerModel(regime="homogenised", reverse_enclave=True,
                         n_units=300, twin=False).config.switches.reverse_enclave
    assert cfg.policies.subsidy_cap.cap == 0.07
    assert cfg.competition.homogenisation == 0.9
    with pytest.raises(ValueError, match="regime"):
        ExplorerModel(regime="anarchy", n_units=300, twin=False)
    # the page's shares act only when imposed; otherwise the file's bargaining stands
    assert ExplorerModel(enclave_gdp_share=0.3, n_units=300, twin=False).config.policies.enclave.\
        bargain
    imposed = ExplorerModel(enclave_gdp_share=0.3, impose_shares=True, n_units=300, twin=False)
    assert not imposed.config.policies.enclave.bargain and imposed.horizon == 20


def test_flow_map_has_no_width_key_before_anything_moved():
    from sim.explorer.figures import FlowMap
    from sim.explorer.views import ExplorerModel

    model = ExplorerModel(n_units=300, twin=False)
    live = FlowMap(model)
    live.refresh(model)
    assert not live.key_legend.get_visible()            # not a key reading "1e-12"
    model.step()
    live.refresh(model)
    assert live.key_legend.get_visible()
    assert "e-" not in " ".join(t.get_text() for t in live.key_legend.get_texts())


def levers(rc) -> dict:
    """Label (with its value) -> slider: each slider's label is the line just above it."""
    import ipyvuetify as v

    from sim.explorer.app import MODEL_PARAMS

    names = [spec["label"] for spec in MODEL_PARAMS.values() if spec["type"].startswith("Slider")]
    labels = [h.children[0] for h in rc.find(v.Html, tag="span").widgets
              if h.children and isinstance(h.children[0], str)
              and any(h.children[0].startswith(n + ": ") for n in names)]
    return dict(zip(labels, rc.find(v.Slider).widgets, strict=True))


@pytest.mark.slow
def test_page_renders_controls_and_plots_and_steps():
    import ipyvuetify as v
    import ipywidgets as w
    import solara

    from sim.explorer.app import make_page
    from sim.explorer.views import ExplorerModel

    model = ExplorerModel(n_units=400)
    box, rc = solara.render(solara.AppLayout(children=[make_page(model)]), handle_error=False)
    assert [b.children for b in rc.find(v.Btn).widgets] == [["Reset"], ["▶"], ["Step"]]
    sliders = levers(rc)
    # each slider's label (with its value) sits on its own line; no bubble over the thumb
    assert {"Enclave: source's GDP share: 0.5", "Subsidy cap (share of value added): 0.03",
            "ω homogenisation: 0.6"} <= set(sliders)
    assert not any(s.thumb_label or s.label for s in sliders.values())
    # coordinated bargains its enclave shares, as its file does: those two sliders are greyed
    greyed = {label.rsplit(":", 1)[0] for label, s in sliders.items() if s.disabled}
    assert greyed == {"Enclave: source's GDP share", "Enclave: source's tax share"}
    assert {c.label for c in rc.find(v.Checkbox).widgets} >= {
        "Park-within-park", "Reverse enclaves", "Impose the enclave shares below (no bargaining)"}
    assert rc.find(v.Select).widget.items == ["Homogenised competition",
                                              "Coordinated co-construction"]
    from sim.explorer.app import size_note

    assert "bargained by source and host, as in the scenario files" in size_note(400)
    assert "imposed at the sliders' values** (bargaining off)" in size_note(400, True)
    images = rc.find(w.Image).widgets
    assert len(images) == 3 and all(len(bytes(i.value)) > 1000 for i in images)
    before = [bytes(i.value) for i in images]
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert model.steps == 1 and model.twin.steps == 1  # both regimes stepped together
    after = [bytes(i.value) for i in rc.find(w.Image).widgets]
    assert all(a != b for a, b in zip(after, before))
    rc.find(v.Checkbox, label="Impose the enclave shares below (no bargaining)").widget.v_model \
        = True
    assert not any(s.disabled for s in rc.find(v.Slider).widgets)   # imposed: all act
    rc.find(v.Select).widget.v_model = "Homogenised competition"     # its switches are off
    greyed = {label.split(":")[0] for label, s in levers(rc).items() if s.disabled}
    assert greyed == {"Enclave", "Subsidy cap (share of value added)"}
    rc.close()


def test_both_regimes_share_the_world_and_the_draws():
    from sim.explorer.figures import TimeSeries
    from sim.explorer.views import ExplorerModel

    model = ExplorerModel(regime="homogenised", n_units=300)
    assert model.twin.config.name == "coordinated" and model.twin.world is model.world
    # the twin is the other regime's file on the same seed: a fresh coordinated model matches
    lone = ExplorerModel(regime="coordinated", n_units=300, twin=False)
    model.step()
    lone.step()
    assert model.twin.recorder.results(model.twin.config).circle.equals(
        lone.recorder.results(lone.config).circle)
    series = TimeSeries(model)                  # the headline series so far, as a new figure
    series.refresh(model)
    fig = series.figure
    first = fig.axes[0]
    assert [line.get_label() for line in first.get_lines()] == [
        "step 0", "Coordinated co-construction (file values)", "Homogenised competition"]
    assert first.get_title() == "Welfare of the circle (100m yuan/yr)"
    assert first.get_xlim() == (0.0, 20.0)       # the files' horizon is drawn from step 0 on


def test_views_draw_the_coordinator_map_after_a_step():
    from sim.explorer.views import ExplorerModel, current_map, investment_map_figure

    model = ExplorerModel(regime="coordinated", n_units=300, twin=False)
    assert current_map(model)[1].startswith("Cities' own targets")
    model.step()
    mapped, title = current_map(model)
    assert title == "Coordinator's investment map"
    assert mapped.shape == (9, model.kg) and mapped.any()
    fig = investment_map_figure(model)
    assert len(fig.axes[0].texts) == int(mapped.reshape(9, -1, 4).any(axis=2).sum())
    assert list(fig.axes[1].get_yticks()) == [0, 1, 2, 3, 4]   # a count: integer ticks
    assert fig.axes[0].get_xticklabels()[1].get_text() == "Automobile manufacturing"
    tables = model.tables()
    assert tables["circle"]["step"].tolist() == [0, 1]


def test_room_keeps_limits_while_values_fit_and_widens_by_a_third():
    from sim.explorer.live import room

    assert room(None, np.array([1.0, 4.0])) == (1.0 - 0.35 * 3, 4.0 + 0.35 * 3)
    assert room((0.0, 5.0), np.array([1.0, 4.0])) == (0.0, 5.0)        # fits: unchanged
    # above the top only: the bottom stays, the top gets a third (0.35) of the range (6 - 1)
    assert room((0.0, 5.0), np.array([1.0, 6.0])) == (0.0, 6.0 + 0.35 * 5)
    assert room((0.0, 5.0), np.array([np.nan])) == (0.0, 5.0)
    low, high = room(None, np.array([200.0]))                          # one point: 2 % of it
    assert (low, high) == (200.0 - 0.35 * 4, 200.0 + 0.35 * 4)
    assert room(None, np.array([0.0, 0.0])) == (-0.35, 0.35)     # zeros: a unit span, no 1e-10


def _pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_live_figures_are_reused_and_match_a_full_redraw():
    """A step updates the same figures in place (series data, arrows, the map only when it
    changed) and the image drawn over the cached background equals a full draw of the figure."""
    from sim.explorer.figures import FlowMap, InvestmentMap, TimeSeries
    from sim.explorer.live import encode_png
    from sim.explorer.views import ExplorerModel

    model = ExplorerModel(n_units=300)
    live = [FlowMap(model), TimeSeries(model), InvestmentMap(model)]
    figures = [f.figure for f in live]
    first = [f.png(model) for f in live]
    series = live[1]
    assert all(len(line.get_xdata()) == 1 for pair in series.lines for line in pair)
    assert [f.png(model) for f in live] == first and [f.draws for f in live] == [1, 1, 1]
    for _ in range(2):
        model.step()
        for f in live:
            f.png(model)
    assert [f.figure for f in live] == figures                 # the same Figure objects
    assert [f.draws for f in live] == [3, 3, 2]                # the map changed once (step 1)
    assert [f.backgrounds for f in live] == [1, 1, 1]          # drawn once, then restored
    assert series.panel_draws <= 2 * 6                         # axes whose limits moved
    own, other = series.lines[0][1], series.lines[0][0]
    assert own.get_xdata().tolist() == [0, 1, 2] and len(other.get_xdata()) == 3
    assert own.get_ydata()[-1] == model.tables()["circle"]["welfare"].iloc[-1]
    assert sum(a.get_visible() for a in live[0].arrows.values()) > 0
    for f in live:                                             # same pixels as a full draw
        shown = _pixels(f.png(model))
        f.canvas.draw()
        full = _pixels(encode_png(f.canvas))
        differ = np.abs(shown - full).max(axis=2)
        assert (differ > 0).mean() < 1e-3 and differ.max() <= 16
