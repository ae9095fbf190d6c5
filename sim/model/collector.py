"""The model's face to Mesa's tools: a ``DataCollector`` for ``mesa.batch_run``, SolaraViz and
notebooks.

Model variables: every column of the circle table (:data:`sim.model.tables.TABLES`), read in place
from the rows the recorder builds (nothing is copied), and the run's ``seed`` and ``replicate`` (so
rows of a paired ``batch_run`` say which draws they share). Agent variables: each City agent's books
of the step (``gdp_physical``, ``gdp_statistical``, ``gdp_credited``, ``subsidy_spent``,
``fiscal_balance``); the coordinator keeps none of these figures and is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, overload

import mesa

from sim.model.city import City
from sim.model.tables import TABLES

#: Circle metrics collected by the model's DataCollector: the circle table's columns, as declared
#: once in :data:`sim.model.tables.TABLES` (the step is the collector's own index).
CIRCLE_COLUMNS = tuple(name for name in TABLES["circle"] if name != "step")

#: Each city's figures collected per step (City attributes set from the step's books).
CITY_FIGURES = ("gdp_physical", "gdp_statistical", "gdp_credited", "subsidy_spent",
                "fiscal_balance")


class RecordedColumn(Sequence[Any]):
    """One column of the recorder's circle rows, read where the recorder keeps it: entry i is
    the value of the i-th row (the recorder appends one row each time the collector collects)."""

    def __init__(self, rows: list[dict[str, Any]], column: str) -> None:
        self.rows, self.column = rows, column

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [row[self.column] for row in self.rows[index]]
        return self.rows[index][self.column]


class CircleCollector(mesa.DataCollector):
    """Mesa's DataCollector over the recorder's circle rows and the City agents.

    Args:
        circle_rows: the recorder's rows of the circle table (one dict per step), read in place.
        cities: the City agents whose figures are collected each step.
    """

    def __init__(self, circle_rows: list[dict[str, Any]], cities: Iterable[City]) -> None:
        super().__init__(model_reporters={"seed": "seed", "replicate": "replicate"},
                         agent_reporters={"city": "name",
                                          **{name: name for name in CITY_FIGURES}})
        self.cities = list(cities)
        # the circle's columns first, as views; Mesa appends only to the reporters' own lists
        self.model_vars = {**{name: RecordedColumn(circle_rows, name) for name in CIRCLE_COLUMNS},
                           **self.model_vars}

    def _record_agents(self, model: mesa.Model) -> list[tuple]:
        """One record per City (step, agent id, its figures): Mesa's records of ``model.agents``
        restricted to the cities, the only agents that keep these figures."""
        reporters = list(self.agent_reporters.values())
        return [(model.time, city.unique_id, *(report(city) for report in reporters))
                for city in self.cities]
