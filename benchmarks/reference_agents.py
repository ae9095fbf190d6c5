"""Per-agent reference: the project's location choice written the plain Mesa way.

Every production unit is a ``mesa.Agent`` with its own ``step()``: it decides whether it reviews
its location this quarter, scores every park one by one (the same utilities as
``sim.model.utility.utilities``: calibrated constant, profit margin over the choice scale,
relocation and switching cost, Wuhan investors' gravity, attention), turns them into
nested-logit probabilities (parks nested by city, the outside option apart) and draws its park
by inverse CDF. The model then
rations land park by park in random priority order and lets rejected units choose again
(``sim.model.firms.Firms.choose``), and each leaver's city may counter-offer a retention subsidy
(``sim.model.retention.retention_offers``).

It consumes the same draws in the same order as ``sim.model.firms.Firms.relocate`` (the
``reviews`` stream for reviews, ``Firms.arrive`` for new projects, the ``choices`` stream for
picks, priorities and counter-offers), so from one model state both give the same placements.
It mirrors those rules by hand: when they change, this file must follow, and
``tests/test_benchmark_reference.py`` fails until it does. Not used by the model."""

from __future__ import annotations

import math
import time

import mesa
import numpy as np

from sim.model.forecast import city_values
from sim.model.utility import value_shares
from sim.rules import accounts
from sim.rules.consideration import consideration_terms
from sim.rules.constants import SEGMENTS, Origin
from sim.rules.economy import friction, park_offers

LOCAL, WUHAN, OUTSIDE = Origin.LOCAL, Origin.WUHAN, Origin.OUTSIDE


def _columns(units) -> dict[str, list]:
    """A units table as plain Python lists (what each agent copies into its attributes)."""
    names = ("unit_id", "origin", "home", "productivity", "subsidy_rate", "subsidy_until")
    columns = {name: getattr(units, name).tolist() for name in names}
    columns["kg"] = units.kg.tolist()
    return columns


class UnitAgent(mesa.Agent):
    """One production unit (or a new project) choosing a park.

    Attributes:
        unit_id: the unit's id in the vectorised model.
        kg: sector-segment index; origin, home: as in ``sim.model.units.Units``.
        current: park it stands on (-1 for a new project).
        park: park after the step (-1: left the circle or stayed outside).
    """

    def __init__(self, model: ReferenceChoice, row: int, current: int) -> None:
        super().__init__(model)
        d = model.columns
        self.unit_id, self.kg = d["unit_id"][row], d["kg"][row]
        self.origin, self.home = d["origin"][row], d["home"][row]
        self.current, self.park = current, current
        self.productivity = d["productivity"][row]
        self.stay_subsidy = d["subsidy_rate"][row] if d["subsidy_until"][row] > model.t else 0.0
        self.reviewing = current < 0
        self.uniform = 1.0
        self.need = 0.0
        self.pending = False
        self.utility: list[float] = []
        self.available: list[bool] = []
        self.pick = -1

    # ------------------------------------------------------------------ behaviour
    def review(self, draw: float) -> None:
        """Reconsider the location at the review hazard, or when a reverse enclave's rent ends."""
        m, j = self.model, self.current
        self.reviewing = draw < m.p_review or (m.kind[j] == 3 and m.rent_end[j] == m.t)

    def step(self) -> None:
        """Score every park and draw one with this unit's uniform (the ``choices`` stream)."""
        self.utility, self.available = self.model.score(self)
        self.probs = self.model.probabilities(self.utility, self.available)
        self.pick = self.model.pick(self.probs, self.uniform)

    def redraw(self, full: list[bool], uniform: float) -> None:
        """Rejected by a full park: take the next best park among those with land left, with
        the tastes it chose with (``sim.rules.choice.second_choice``: among the deciders the
        removal moves, j has the chance ``(P_after(j) − P_before(j)) / P_before(removed)``)."""
        m = self.model
        for j in range(m.n_parks):
            if full[j]:
                self.available[j] = False
        self.available[self.pick] = False
        if self.current >= 0:
            self.available[self.current] = True
        after = m.probabilities(self.utility, self.available)
        gain = [max(a - b, 0.0) for a, b in zip(after, self.probs)]
        total = sum(gain)
        second = [g / total for g in gain] if total > 1e-12 else after
        self.probs = after
        self.pick = m.pick(second, uniform)


    def consider_counter_offer(self, grid: list[float], values: list[list[float]],
                               uniform: float) -> None:
        """The city's best retention rate on ``grid``; the unit stays if it accepts.

        P_stay is the binary logit of staying (raised by the rate) against the chosen move,
        conditioned on the unit having preferred the move
        (``sim.model.retention.retention_offers``).

        Args:
            grid: candidate rates, share of value added.
            values: KG x P value to the city per yuan of value added at each park.
        """
        m, kg, cur = self.model, self.kg, self.current
        u_stay = self.utility[cur]
        u_move = self.utility[self.pick] if self.pick >= 0 else 0.0
        q_stay, sigma = m.q[kg][cur], m.sigma[kg]
        v_here = values[kg][cur]
        v_there = values[kg][self.pick] if self.pick >= 0 else 0.0
        life, sub_life = m.circle.calibration.life, m.circle.calibration.sub_life
        best, best_payoff, chance = 0, -math.inf, 0.0
        binary0 = 1 / (1 + math.exp(u_move - u_stay - grid[0] * q_stay / sigma))
        for i, rate in enumerate(grid):
            binary = 1 / (1 + math.exp(u_move - u_stay - rate * q_stay / sigma))
            p_stay = (binary - binary0) / max(1 - binary0, 1e-12)   # given it preferred the move
            payoff = p_stay * (life * v_here - sub_life * rate) + (1 - p_stay) * life * v_there
            if payoff > best_payoff:
                best, best_payoff, chance = i, payoff, p_stay
        if grid[best] > 0 and uniform < chance:
            self.pick = cur


class ReferenceChoice(mesa.Model):
    """One quarter of location choices of a ``CircleModel``'s units, one agent per unit.

    Args:
        circle: a ``CircleModel`` whose step has run up to (not including) location choice:
            terms, settings and strategies of this quarter are set, exits are done.
    """

    def __init__(self, circle) -> None:
        super().__init__(rng=np.random.default_rng(0))
        self.circle, self.t = circle, circle.steps
        p, cfg = circle.parks, circle.config
        self.n_parks, self.n_cities = p.n, circle.world.n_cities
        self.p_review = circle.calibration.p_review
        self.kind, self.rent_end = p.kind.tolist(), p.rent_end.tolist()
        self.lam = cfg.economy.nest_parameter
        self._tables(circle)
        self.columns = _columns(circle.units)
        for row, park in enumerate(circle.units.park.tolist()):
            UnitAgent(self, row, park)

    def _tables(self, m) -> None:
        """Park-level tables each agent reads (what a Mesa model would keep as attributes)."""
        p, cfg, t = m.parks, m.config, m.steps
        self.q, self.cost = m.current_terms.q.tolist(), m.current_terms.cost.tolist()
        self.offers = park_offers(m.settings, p, t).tolist()
        self.rent = [float(r) if t < e else 0.0 for r, e in zip(p.rent_subsidy, p.rent_end)]
        self.friction = (friction(m.settings, p, cfg.policies.investment_map.approval_friction)
                         if cfg.switches.investment_map else np.zeros((m.kg, p.n))).tolist()
        cal = m.calibration
        self.sigma, self.switching_cost = cal.sigma.tolist(), cal.switching_cost.tolist()
        self.delta_arrival, self.delta_review = (
            cal.delta_arrival.tolist(),
            cal.delta_review.tolist(),
        )
        shares = accounts.share_matrices(p, t, m.world.n_cities,
                                         cfg.policies.enclave.credited_double_count)
        self.vshare = value_shares(m.state, shares).tolist()
        self.promoted = m.settings.promoted.tolist()
        self.excluded = m.settings.excluded.tolist()
        self.open = p.open_at(t).tolist()
        self.sector_ok, self.segment_ok = p.sector_ok.tolist(), p.segment_ok.tolist()
        self.city, self.operator = p.city.tolist(), p.operator.tolist()
        self.registration, self.home_only = p.registration.tolist(), p.home_only.tolist()
        self.attractor = p.attractor(t).tolist()       # who promotes and subsidises at each park
        self.rd_attention = m.rd_attention.tolist()    # reverse enclaves' R&D pull (KG x C)
        self.gravity = m.gravity.tolist()              # Wuhan investors' gravity (KG x C)
        self.referral = p.referral_strength.tolist()
        self.land_per_output = m.world.land_per_output.ravel().tolist()
        self.core = int(m.world.core)

    # ------------------------------------------------------------------ one unit's rule
    def attention(self, a: UnitAgent, j: int) -> float:
        """Consideration weight of park j for unit a (``sim.model.utility.attention``)."""
        cfg, econ = self.circle.config, self.circle.config.economy
        arrival = a.current < 0
        att = econ.attention_base
        if cfg.competition.active and arrival and self.promoted[self.attractor[j]][a.kg]:
            att = cfg.competition.attention_promoted
        if self.circle.settings.platform and arrival and self.shown(a.kg, j):
            base, level = econ.attention_base, cfg.policies.shared_platform.attention
            if base < 1.0 and level > base:        # a second, independent channel
                att = 1.0 - (1.0 - att) * (1.0 - (level - base) / (1.0 - base))
        if self.kind[j] != 0:
            op = self.operator[j]
            cur_reg = -1 if arrival else self.registration[a.current]
            if self.kind[j] == 2:
                own = a.origin in (WUHAN, OUTSIDE) or cur_reg == op
                mult = 1 + self.referral[j]
            else:
                own = (
                    (a.origin == WUHAN and op == self.core)
                    or (a.origin == LOCAL and a.home == op)
                    or cur_reg == op
                )
                mult = 1 + self.referral[j] * self.vshare[op][j]
            att *= mult if own else 1.0
        if arrival:
            att *= self.rd_attention[a.kg][self.city[j]]
        return att

    def shown(self, kg: int, j: int) -> bool:
        """Whether the platform shows park j to projects of ``kg``
        (``sim.model.utility.platform_parks``): its city is mapped for the segment (without a
        map: the city attracting there promotes it) and neither it nor the park's registration
        city is out of the scheme."""
        mapped = self.circle.settings.mapped
        who = self.city[j] if mapped is not None else self.attractor[j]
        slot = (mapped if mapped is not None else self.promoted)[who][kg]
        return bool(slot) and not self.excluded[who] and not self.excluded[self.registration[j]]

    def score(self, a: UnitAgent) -> tuple[list[float], list[bool]]:
        """Utility and availability of every park for unit a (``sim.model.utility.utilities``)."""
        econ, kg, cur = self.circle.config.economy, a.kg, a.current
        reviewer = cur >= 0
        k, g = kg // len(SEGMENTS), kg % len(SEGMENTS)
        sigma = self.sigma[kg]
        cur_reg = self.registration[cur] if reviewer else -1
        utility, available = [], []
        for j in range(self.n_parks):
            q = self.q[kg][j]
            if reviewer and j == cur:
                margin = 1 - self.cost[kg][j] + a.stay_subsidy + self.rent[j]
            else:
                fric = 0.0 if reviewer else self.friction[kg][j]   # only new projects
                margin = 1 - self.cost[kg][j] + self.offers[kg][j] - fric
            delta = (self.delta_review if reviewer else self.delta_arrival)[kg][self.city[j]]
            moving = (econ.relocation_cost * q / sigma + self.switching_cost[kg]
                      if reviewer and j != cur else 0.0)
            u = delta + q * margin / sigma - moving
            if a.origin == WUHAN and not reviewer:     # gravity of the core city's projects
                u += self.gravity[kg][self.city[j]]
            utility.append(u)
            belongs = (
                a.origin == LOCAL and a.home == self.operator[j]
            ) or cur_reg == self.operator[j]
            ok = (self.open[j] and self.sector_ok[j][k] and self.segment_ok[j][g]
                  and (not self.home_only[j] or belongs))
            available.append(ok or (reviewer and j == cur))
        return self.consider(a, utility, available), available

    def consider(self, a: UnitAgent, utility: list[float], available: list[bool]) -> list[float]:
        """Add the consideration terms (``sim.rules.consideration``): attention moves projects
        between parks against the base year's consideration; only the platform's entry effect
        moves them between the circle and elsewhere."""
        cfg, econ = self.circle.config, self.circle.config.economy
        arrival = a.current < 0
        log_att = [math.log(self.attention(a, j) / econ.attention_base)
                   for j in range(self.n_parks)]
        base = self.circle.calibration.base_promoted
        log_ref = [math.log((cfg.competition.attention_promoted
                             if arrival and base[self.registration[j]][a.kg]
                             else econ.attention_base) / econ.attention_base)
                   for j in range(self.n_parks)]
        shown = [available[j] and self.shown(a.kg, j) for j in range(self.n_parks)]
        entry = (cfg.policies.shared_platform.entry_effect
                 if self.circle.settings.platform and arrival and any(shown) else 0.0)
        terms = consideration_terms(np.array([utility]), np.array([log_att]),
                                    np.array([log_ref]), np.array([entry]),
                                    np.asarray(self.city), self.circle.world.n_cities, self.lam,
                                    np.array([available]))
        return (np.array(utility) + terms[0]).tolist()

    def probabilities(self, utility: list[float], available: list[bool]) -> list[float]:
        """Nested-logit probabilities of every park, then of the outside option (last)."""
        scaled = [u / self.lam if ok else -math.inf for u, ok in zip(utility, available)]
        top = max(scaled)
        top = top if math.isfinite(top) else 0.0
        e = [math.exp(s - top) for s in scaled]
        nest_sum = [0.0] * self.n_cities
        for j, ej in enumerate(e):
            nest_sum[self.city[j]] += ej
        nest_u = [self.lam * (math.log(s) + top) if s > 0 else -math.inf for s in nest_sum]
        m = max(max(nest_u), 0.0)
        ne = [math.exp(v - m) for v in nest_u]
        denom = sum(ne) + math.exp(-m)
        probs = [ne[self.city[j]] / denom * (ej / (nest_sum[self.city[j]] or 1.0))
                 for j, ej in enumerate(e)]
        return [*probs, math.exp(-m) / denom]

    @staticmethod
    def pick(probs: list[float], uniform: float) -> int:
        """The inverse-CDF draw over the parks; -1 is the outside option."""
        cum = 0.0
        for j, pj in enumerate(probs[:-1]):
            cum += pj
            if cum >= uniform:
                return j
        return -1

    # ------------------------------------------------------------------ the schedule
    def step(self) -> None:
        """Reviews, new projects, every decider's choice, then land rationing by the model."""
        c = self.circle
        draws = c.streams["reviews"].random(len(self.agents)).tolist()
        for a, draw in zip(list(self.agents), draws):
            a.review(draw)
        arrivals = c.firms.arrive(c.state)
        self.columns = _columns(arrivals)
        for row in range(len(arrivals)):
            UnitAgent(self, row, -1)
        deciders = [a for a in self.agents if a.reviewing]
        self.n_deciders = len(deciders)
        picks = c.streams["choices"].random(len(deciders)).tolist()
        for a, uniform in zip(deciders, picks):
            a.uniform = uniform
            a.step()
        self.ration(deciders)
        self.retain(deciders)
        for a in deciders:
            a.park = a.pick
            if a.park < 0:
                a.remove()

    def ration(self, deciders: list[UnitAgent]) -> None:
        """Full parks accept choosers in random priority order; the rejected choose again."""
        c, rng = self.circle, self.circle.streams["choices"]
        free = (c.parks.capacity - c.state.land_used()).tolist()
        rounds = c.config.economy.rejection_rounds
        for a in deciders:
            a.pending = a.pick >= 0 and a.pick != a.current
        for round_ in range(rounds + 1):
            priority = rng.random(len(deciders)).tolist()
            rejected = self._accept(deciders, priority, free)
            if not rejected:
                break
            if round_ == rounds:
                for a in rejected:
                    a.pick = a.current
                break
            full = [f <= 1e-9 for f in free]
            uniforms = rng.random(len(rejected)).tolist()
            for a in deciders:
                a.pending = False
            for a, uniform in zip(rejected, uniforms):
                a.redraw(full, uniform)
                a.pending = a.pick >= 0 and a.pick != a.current

    def retain(self, deciders: list[UnitAgent]) -> None:
        """Each leaver's city makes its best counter-offer; the leaver may accept and stay."""
        c = self.circle
        comp = c.config.competition
        leavers = [a for a in deciders if a.current >= 0 and a.pick != a.current]
        if not (comp.active and comp.retention) or not leavers:
            return
        values = city_values(c.state, np.arange(c.kg)).tolist()
        steps = np.linspace(0.0, 1.0, comp.subsidy_grid_points).tolist()
        uniforms = c.streams["choices"].random(len(leavers)).tolist()
        for a, uniform in zip(leavers, uniforms):
            city = self.attractor[a.current]
            ceiling = comp.subsidy_max
            agent = c.cities.to_list()[city]
            if c.config.switches.subsidy_cap and not (agent.cheating or agent.detected):
                ceiling = min(c.config.policies.subsidy_cap.cap, ceiling)
            a.consider_counter_offer([x * ceiling for x in steps], values[city], uniform)

    def _accept(self, deciders: list[UnitAgent], priority: list[float],
                free: list[float]) -> list[UnitAgent]:
        """One rationing round of the pending placements; updates ``free``, returns the rejected."""
        movers = [
            (a.pick, p, i, a) for i, (a, p) in enumerate(zip(deciders, priority)) if a.pending
        ]
        need = {}
        taken = [0.0] * self.n_parks
        rejected = set()
        for j, _, i, a in sorted(movers, key=lambda x: (x[0], x[1], x[2])):
            a.need = self.land_per_output[a.kg] * self.q[a.kg][j] * a.productivity
            taken[j] += a.need
            if taken[j] > free[j] + 1e-12:
                rejected.add(i)
            need[i] = a.need
        used = [0.0] * self.n_parks
        for _, _, i, a in movers:      # sums in the deciders' order, as a bincount would
            if i not in rejected:
                used[a.pick] += need[i]
        for j in range(self.n_parks):
            free[j] = free[j] - used[j]
        return [a for _, _, i, a in movers if i in rejected]

    def placements(self) -> dict[int, int]:
        """Park of every unit still in the circle after the step, by unit id."""
        return {a.unit_id: a.park for a in self.agents}


# ---------------------------------------------------------------------- the check and the timing
def compare_step(circle, repeats: int = 1) -> list[dict]:
    """Run one ``CircleModel.step``; at its location choices, run both versions ``repeats`` times.

    The model's own schedule runs unchanged; the firms' ``relocate`` is wrapped for this one step
    so that both versions start from the state it sees, then the model's choice goes on as usual.
    Returns one ``compare_choices`` record per repeat.
    """
    original, seen = circle.firms.relocate, []

    def compare_then_decide(state):
        seen.extend(compare_choices(circle, original) for _ in range(repeats))
        return original(state)

    circle.firms.relocate = compare_then_decide
    try:
        circle.step()
    finally:
        del circle.firms.relocate
    return seen


def compare_choices(circle, decide=None) -> dict:
    """Location choices of one quarter, vectorised and per agent, from the same state and draws.

    ``circle`` must stand at the choice point (see ``compare_step``); it is left there.
    ``decide`` is the vectorised choice of a state (default ``circle.firms.relocate``).
    Returns both placements (unit id -> park) and the wall and CPU seconds of each step
    (building the reference's agents is not timed: in a Mesa model they persist from step to
    step).
    """
    names = ("reviews", "arrivals", "choices")
    states = {n: circle.streams[n].bit_generator.state for n in names}
    firms = circle.firms
    units, next_id, outside = firms.units, firms.next_id, firms.outside_mass.copy()
    start, start_cpu = time.perf_counter(), time.process_time()
    (decide or firms.relocate)(circle.state)
    vector_s, vector_cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    vector = dict(zip(firms.units.unit_id.tolist(), firms.units.park.tolist()))
    firms.units, firms.next_id = units, next_id
    firms.outside_mass[:] = outside
    for n in names:
        circle.streams[n].bit_generator.state = states[n]
    reference = ReferenceChoice(circle)     # agents persist across steps in a Mesa model
    start, start_cpu = time.perf_counter(), time.process_time()
    reference.step()
    reference_s, reference_cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    for n in names:
        circle.streams[n].bit_generator.state = states[n]
    firms.units, firms.next_id = units, next_id
    return {"vector": vector, "reference": reference.placements(),
            "vector_s": vector_s, "reference_s": reference_s, "vector_cpu_s": vector_cpu_s,
            "reference_cpu_s": reference_cpu_s, "deciders": reference.n_deciders}
