"""Interactive explorer of the Wuhan city-circle model (Solara, with Mesa's model controller).

In a notebook cell::

    from sim.explorer.app import page
    page

As a web page (offline: needs the pinned ``explorer`` extra)::

    solara run sim/explorer/app.py

Pick the regime and the policy levers, press RESET to rebuild the model, then STEP or PLAY to
watch the flow map, the time series (welfare first, over the files' 20 quarters) and the
investment map change quarter by quarter. The other regime runs beside it at its file's values
on the same random draws (dashed lines, second map). Enclave shares are bargained by source and
host, as in the scenario files, unless the page is told to impose the sliders' shares (it then
says so). Levers that do nothing under the chosen settings are greyed, with the reason
(``sim/config/inert.py``).
"""

from __future__ import annotations

import functools
import warnings

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from sim.analysis import i18n
from sim.config.inert import InertWarning, inert_under
from sim.explorer.levers import scenario
from sim.explorer.views import (
    EXPLORER_UNITS,
    REGIMES,
    ExplorerModel,
    FlowMapView,
    InvestmentMapView,
    TimeSeriesView,
)

TITLE = "Wuhan city circle: park co-construction explorer"
#: The sliders start at the bundled scenario's values (scenarios/base.yaml), not copies of them.
_START = scenario("coordinated")
_ENCLAVE = _START.policies.enclave


def _slider(value: float, low: float, high: float, step: float, label: str, key: str | None,
            kind: str = "SliderFloat") -> dict:
    return {"type": kind, "value": value, "min": low, "max": high, "step": step, "label": label,
            "key": key}


#: Lever name (an ExplorerModel argument) -> control; ``key`` is the scenario key it sets.
MODEL_PARAMS = {
    "regime": {"type": "Select", "value": "coordinated", "values": list(REGIMES),
               "label": "Regime", "key": None},
    "impose_shares": {"type": "Checkbox", "value": False,
                      "label": "Impose the enclave shares below (no bargaining)",
                      "key": "policies.enclave.bargain"},
    "enclave_gdp_share": _slider(_ENCLAVE.gdp_share_source, 0.0, 1.0, 0.05,
                                 "Enclave: source's GDP share",
                                 "policies.enclave.gdp_share_source"),
    "enclave_tax_share": _slider(_ENCLAVE.tax_share_source, 0.0, 1.0, 0.05,
                                 "Enclave: source's tax share",
                                 "policies.enclave.tax_share_source"),
    "enclave_term_years": _slider(int(_ENCLAVE.term_years), 1, 30, 1,
                                  "Enclave: sharing term (years)", "policies.enclave.term_years",
                                  "SliderInt"),
    "park_within_park": {"type": "Checkbox", "value": True, "label": "Park-within-park",
                         "key": "switches.park_within_park"},
    "reverse_enclave": {"type": "Checkbox", "value": True, "label": "Reverse enclaves",
                        "key": "switches.reverse_enclave"},
    "subsidy_cap": _slider(_START.policies.subsidy_cap.cap, 0.0, 0.15, 0.01,
                           "Subsidy cap (share of value added)", "policies.subsidy_cap.cap"),
    "homogenisation": _slider(_START.competition.homogenisation, 0.0, 1.0, 0.05,
                              "ω homogenisation", "competition.homogenisation"),
    "n_units": _slider(EXPLORER_UNITS, 500, 20000, 500, "Production units", "world.n_units",
                       "SliderInt"),
}
DEFAULTS = {name: spec["value"] for name, spec in MODEL_PARAMS.items()} | {"seed": 1}


def size_note(n_units: int, impose_shares: bool = False) -> str:
    """The explorer's size and horizon stated next to the batches', and how enclave shares are
    set."""
    shares = ("**Enclave shares are imposed at the sliders' values** (bargaining off), unlike the "
              "scenario files, where source and host bargain them." if impose_shares else
              "Enclave shares are bargained by source and host, as in the scenario files.")
    return (f"This explorer runs {n_units:,} production units (model resolution); `sim run` and "
            f"`sim batch` run the files' {_START.world.n_units:,} (scenarios/base.yaml), so "
            f"figures here are noisier versions of theirs. The files run {_START.steps} quarters "
            f"(2021-2025); STEP goes on beyond them. Levers apply to the chosen regime; the "
            f"other regime runs at its file's values on the same random draws. {shares}")


def lever_state(params: dict) -> dict[str, str | None]:
    """Per lever: None when live, ``"inert"`` or a note when the chosen regime makes its key
    inert or narrows it (read from the declarations in ``sim/config/inert.py``)."""
    return _lever_state(params.get("regime", "coordinated"),
                        bool(params.get("park_within_park", True)),
                        bool(params.get("reverse_enclave", True)),
                        bool(params.get("impose_shares", False)))


@functools.lru_cache(maxsize=32)
def _lever_state(regime: str, park_within_park: bool, reverse_enclave: bool,
                 impose_shares: bool = False) -> dict:
    with warnings.catch_warnings():   # the page greys inert levers instead
        warnings.simplefilter("ignore", InertWarning)
        config = scenario(regime, n_units=500, steps=1, overrides=[
            f"switches.park_within_park={str(park_within_park).lower()}",
            f"switches.reverse_enclave={str(reverse_enclave).lower()}",
            f"policies.enclave.bargain={str(not impose_shares).lower()}"])
    found = inert_under(config)
    state = {}
    for name, spec in MODEL_PARAMS.items():
        entry = found.get(spec["key"]) if spec["key"] else None
        state[name] = None if entry is None else (
            f"no effect here: {entry.why}" if entry.still is None
            else f"acts only through {entry.still}")
        if entry is not None and entry.switch == "policies.enclave.bargain" and entry.when:
            state[name] += "; tick the box above to impose them"
    return state


def shown(value) -> str:
    """A lever's value as a user reads it: at most four significant digits, no float noise."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@solara.component
def LeverControls(params: solara.Reactive[dict]):
    """The levers, each slider labelled with its value; inert ones greyed with the reason."""
    state = lever_state(params.value)

    def setter(name):
        return lambda value: params.set({**params.value, name: value})

    for name, spec in MODEL_PARAMS.items():
        value, note = params.value.get(name, spec["value"]), state[name]
        label = spec["label"] + (": " + shown(value) if spec["type"].startswith("Slider") else "")
        disabled = bool(note) and note.startswith("no effect")
        if spec["type"] == "Select":
            codes = {i18n.scenario_label(code): code for code in spec["values"]}
            solara.Select(label, value=i18n.scenario_label(value), values=list(codes),
                          on_value=lambda shown_as, name=name, codes=codes:
                          setter(name)(codes[shown_as]))
        elif spec["type"] == "Checkbox":
            solara.Checkbox(label=label, value=value, on_value=setter(name), disabled=disabled)
        else:
            widget = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
            # the label (with the value) on its own line, the slider the full width below it
            # (no bubble over the thumb, no label squeezing it)
            solara.Text(label, style={"color": "grey" if disabled else "inherit"})
            widget("", value=value, min=spec["min"], max=spec["max"], step=spec["step"],
                   on_value=setter(name), thumb_label=False, disabled=disabled)
        if note:
            solara.Text(f"({note})", style={"font-size": "0.75em", "color": "grey"})


@solara.component
def StepText(model: ExplorerModel):
    """The current step; redrawn after every step like the views."""
    update_counter.get()
    solara.Text(f"Quarter {model.steps} of {getattr(model, 'horizon', model.config.steps)} "
                "(2021Q1 = 0)")


@solara.component
def ExplorerPage(model: ExplorerModel | None = None):
    """The page: title, Mesa's step/play/reset controller, the levers, and the three views."""
    solara.Title(TITLE)
    start = solara.use_memo(lambda: model if model is not None else ExplorerModel(), [])
    current = solara.use_reactive(start)
    params = solara.use_reactive(dict(DEFAULTS))
    play_ms, every, threads = (solara.use_reactive(200), solara.use_reactive(1),
                               solara.use_reactive(False))
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run"):
            ModelController(current, model_parameters=params, play_interval=play_ms,
                            render_interval=every, use_threads=threads)
            StepText(current.value)
        with solara.Card("Levers (press RESET to apply)"):
            LeverControls(params)
    with solara.Column():
        solara.Markdown(size_note(current.value.config.world.n_units,
                                  not current.value.config.policies.enclave.bargain))
        FlowMapView(current.value)
        TimeSeriesView(current.value)
        InvestmentMapView(current.value)


def make_page(model: ExplorerModel | None = None):
    """The explorer page around ``model`` (a default ExplorerModel if None)."""
    return ExplorerPage(model=model)


page = make_page()
