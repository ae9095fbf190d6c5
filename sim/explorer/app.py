"""Interactive explorer of the Wuhan city-circle model (Mesa SolaraViz).

In a notebook cell::

    from sim.explorer.app import page
    page

As a web page (offline: needs the pinned ``explorer`` extra, see NOTES)::

    solara run sim/explorer/app.py

Pick the regime and the policy levers, press RESET to rebuild the model, then STEP or PLAY to
watch the flow map, the time series and the investment map change quarter by quarter.
"""

from __future__ import annotations

from mesa.visualization import SolaraViz

from sim.explorer.levers import scenario
from sim.explorer.views import (REGIMES, ExplorerModel, FlowMapView, InvestmentMapView,
                                TimeSeriesView)

#: The sliders start at the bundled scenario's values (scenarios/base.yaml), not copies of them.
_START = scenario("coordinated")


def _slider(value: float, low: float, high: float, step: float, label: str,
            kind: str = "SliderFloat") -> dict:
    return {"type": kind, "value": value, "min": low, "max": high, "step": step, "label": label}


enclave = _START.policies.enclave
MODEL_PARAMS = {
    "regime": {"type": "Select", "value": "coordinated", "values": list(REGIMES),
               "label": "Regime"},
    "enclave_gdp_share": _slider(enclave.gdp_share_source, 0.0, 1.0, 0.05,
                                 "Enclave: source's GDP share"),
    "enclave_tax_share": _slider(enclave.tax_share_source, 0.0, 1.0, 0.05,
                                 "Enclave: source's tax share"),
    "enclave_term_years": _slider(int(enclave.term_years), 1, 30, 1,
                                  "Enclave: sharing term (years)", "SliderInt"),
    "park_within_park": {"type": "Checkbox", "value": True, "label": "Park-within-park"},
    "reverse_enclave": {"type": "Checkbox", "value": True, "label": "Reverse enclaves"},
    "subsidy_cap": _slider(_START.policies.subsidy_cap.cap, 0.0, 0.15, 0.01,
                           "Subsidy cap (share of value added)"),
    "homogenisation": _slider(_START.competition.homogenisation, 0.0, 1.0, 0.05,
                              "ω homogenisation"),
    "n_units": _slider(3000, 500, 20000, 500, "Production units", "SliderInt"),
    "seed": 1,
}

COMPONENTS = [(FlowMapView, 0), (TimeSeriesView, 0), (InvestmentMapView, 0)]


def make_page(model: ExplorerModel | None = None):
    """The SolaraViz page around ``model`` (a default ExplorerModel if None)."""
    model = model if model is not None else ExplorerModel()
    return SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS,
                     name="Wuhan city circle: park co-construction")


page = make_page()
