"""Interactive explorer of the Wuhan city-circle model (Mesa SolaraViz).

In a notebook cell::

    from sim.app import page
    page

As a web page (offline: needs the pinned ``explorer`` extra, see NOTES)::

    solara run sim/app.py

Pick the regime and the policy levers, press RESET to rebuild the model, then STEP or PLAY to
watch the flow map, the time series and the investment map change quarter by quarter.
"""

from __future__ import annotations

from mesa.visualization import SolaraViz

from sim.explorer_views import (REGIMES, ExplorerModel, FlowMapView, InvestmentMapView,
                                TimeSeriesView)

MODEL_PARAMS = {
    "regime": {"type": "Select", "value": "coordinated", "values": list(REGIMES),
               "label": "Regime"},
    "enclave_gdp_share": {"type": "SliderFloat", "value": 0.5, "min": 0.0, "max": 1.0,
                          "step": 0.05, "label": "Enclave: source's GDP share"},
    "enclave_tax_share": {"type": "SliderFloat", "value": 0.5, "min": 0.0, "max": 1.0,
                          "step": 0.05, "label": "Enclave: source's tax share"},
    "enclave_term_years": {"type": "SliderInt", "value": 10, "min": 1, "max": 30, "step": 1,
                           "label": "Enclave: sharing term (years)"},
    "park_within_park": {"type": "Checkbox", "value": True, "label": "Park-within-park"},
    "reverse_enclave": {"type": "Checkbox", "value": True, "label": "Reverse enclaves"},
    "subsidy_cap": {"type": "SliderFloat", "value": 0.03, "min": 0.0, "max": 0.15,
                    "step": 0.01, "label": "Subsidy cap (share of value added)"},
    "homogenisation": {"type": "SliderFloat", "value": 0.6, "min": 0.0, "max": 1.0,
                       "step": 0.05, "label": "ω homogenisation"},
    "n_units": {"type": "SliderInt", "value": 3000, "min": 500, "max": 20000, "step": 500,
                "label": "Production units"},
    "seed": 1,
}

COMPONENTS = [(FlowMapView, 0), (TimeSeriesView, 0), (InvestmentMapView, 0)]


def make_page(model: ExplorerModel | None = None):
    """The SolaraViz page around ``model`` (a default ExplorerModel if None)."""
    model = model if model is not None else ExplorerModel()
    return SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS,
                     name="Wuhan city circle: park co-construction")


page = make_page()
