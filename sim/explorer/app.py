"""Interactive explorer of the Wuhan city-circle model (Solara, with Mesa's model controller).

In a notebook cell::

    from sim.explorer.app import page
    page

As a web page (offline: needs the pinned ``explorer`` extra)::

    solara run sim/explorer/app.py

Pick the regime and the policy levers, press RESET to rebuild the model, then STEP or PLAY to
watch the flow map, the time series and the investment map change quarter by quarter. The other
regime runs beside it at its file's values on the same random draws (dashed lines, second map).
Levers that do nothing under the chosen regime are greyed (``sim/config/inert.py``).
"""

from __future__ import annotations

import functools

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from sim.config.inert import inert_under
from sim.explorer.levers import scenario
from sim.explorer.views import (EXPLORER_UNITS, REGIMES, ExplorerModel, FlowMapView,
                                InvestmentMapView, TimeSeriesView)

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
    "enclave_gdp_share": _slider(_ENCLAVE.gdp_share_source, 0.0, 1.0, 0.05,
                                 "Enclave: source's GDP share", "policies.enclave.gdp_share_source"),
    "enclave_tax_share": _slider(_ENCLAVE.tax_share_source, 0.0, 1.0, 0.05,
                                 "Enclave: source's tax share", "policies.enclave.tax_share_source"),
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


def size_note(n_units: int) -> str:
    """The explorer's size stated next to the batches' size."""
    return (f"This explorer runs {n_units:,} production units (model resolution); `sim run` and "
            f"`sim batch` run the files' {_START.world.n_units:,} (scenarios/base.yaml), so "
            f"figures here are noisier versions of theirs. Levers apply to the chosen regime; "
            f"the other regime runs at its file's values on the same random draws.")


def lever_state(params: dict) -> dict[str, str | None]:
    """Per lever: None when live, ``"inert"`` or a note when the chosen regime makes its key
    inert or narrows it (read from the declarations in ``sim/config/inert.py``)."""
    return _lever_state(params.get("regime", "coordinated"),
                        bool(params.get("park_within_park", True)),
                        bool(params.get("reverse_enclave", True)))


@functools.lru_cache(maxsize=16)
def _lever_state(regime: str, park_within_park: bool, reverse_enclave: bool) -> dict:
    config = scenario(regime, n_units=500, steps=1, overrides=[
        f"switches.park_within_park={str(park_within_park).lower()}",
        f"switches.reverse_enclave={str(reverse_enclave).lower()}"])
    found = inert_under(config)
    state = {}
    for name, spec in MODEL_PARAMS.items():
        entry = found.get(spec["key"]) if spec["key"] else None
        state[name] = None if entry is None else ("inert" if entry.still is None
                                                  else f"acts only through {entry.still}")
    return state


def shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@solara.component
def LeverControls(params: solara.Reactive[dict]):
    """The levers, each slider labelled with its value; inert ones greyed with the reason."""
    state = lever_state(params.value)

    def setter(name):
        return lambda value: params.set({**params.value, name: value})

    for name, spec in MODEL_PARAMS.items():
        value, note = params.value.get(name, spec["value"]), state[name]
        label = spec["label"] + (": " + shown(value) if spec["type"].startswith("Slider") else "")
        disabled = note == "inert"
        if spec["type"] == "Select":
            solara.Select(label, value=value, values=spec["values"], on_value=setter(name))
        elif spec["type"] == "Checkbox":
            solara.Checkbox(label=label, value=value, on_value=setter(name))
        else:
            widget = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
            widget(label, value=value, min=spec["min"], max=spec["max"], step=spec["step"],
                   on_value=setter(name), thumb_label="always", disabled=disabled)
        if note == "inert":
            solara.Text(f"(no effect under {params.value.get('regime')}: its switch is off)",
                        style={"font-size": "0.75em", "color": "grey"})
        elif note:
            solara.Text(f"({note})", style={"font-size": "0.75em", "color": "grey"})


@solara.component
def StepText(model: ExplorerModel):
    """The current step; redrawn after every step like the views."""
    update_counter.get()
    solara.Text(f"Step {model.t} (quarters)")


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
        solara.Markdown(size_note(current.value.config.world.n_units))
        FlowMapView(current.value)
        TimeSeriesView(current.value)
        InvestmentMapView(current.value)


def make_page(model: ExplorerModel | None = None):
    """The explorer page around ``model`` (a default ExplorerModel if None)."""
    return ExplorerPage(model=model)


page = make_page()
