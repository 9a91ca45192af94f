r"""A package's welfare effect split into its parts: each part alone, and GTAP subtotals.

A *package* scenario combines instruments of different kinds — the deal's tariffs, a transfer
for the cost of stationed forces, a defense target, an investment pledge. The question "what
does each part of the deal do?" has two standard answers, both computed here for every region's
headline EV (:mod:`cge.welfare`):

*Alone.* Each part run by itself from the benchmark, :math:`EV^{alone}_g`. The *interaction*
:math:`EV - \sum_g EV^{alone}_g` is what the parts do together that none does alone (a tariff
is dearer for a region that has also paid a transfer). It is an economic quantity, reported,
not a check.

*Subtotals* (Harrison, Horridge & Pearson 2000, "Decomposing simulation results with respect
to exogenous shocks", Computational Economics 15: 227-249, the GTAP/GEMPACK "subtotals"). All
instruments move together along the straight line :math:`z(t) = z^0 + t\,(z^1 - z^0)`,
:math:`t \in [0, 1]`, and part g is credited with the change its own instruments cause on the
way:

.. math::
    EV_g = \int_0^1 \sum_{i \in g} \frac{\partial EV}{\partial z_i}\big(z(t)\big)
           \,(z^1_i - z^0_i)\, dt .

The gradient comes from the implicit-function theorem at each point of the path
(:class:`cge.implicit.EquilibriumMap`), the integral by Gauss–Legendre quadrature. In exact
arithmetic the subtotals add up to the total EV (the fundamental theorem of calculus along the
path), and there is no interaction term; here ``residual`` = total EV (solved on its own) − the
sum of the subtotals is the quadrature error, reported and tested, never absorbed into a part.

Parts are the scenario's tables: rate shocks by instrument (tariffs, export taxes, trade costs,
output taxes), transfers, capital flows, foreign saving, defense, stationing, factor shocks. An
instrument two parts both move (e.g. direct purchases from a defense target's US share and
from a stationing table) is split by each part's own change of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import xarray as xr

from cge.implicit import EquilibriumMap
from cge.model import CGEModel
from cge.scenario import Scenario
from cge.shocks import apply_scenario
from cge.welfare import equivalent_variation, ev_expression

__all__ = ["NODES", "PART_LABELS", "package_parts", "split_package"]

#: Gauss–Legendre nodes along the path (exact for an EV path polynomial of degree 2n - 1;
#: measured on package_2026h2_jpn_all: residual 31 at 2 nodes, 2e-3 at 4, 4e-8 at 6, US$ million).
NODES = 6
#: The parts, in report order, and how the report names them.
PART_LABELS: dict[str, str] = {
    "tariffs": "tariffs",
    "export_taxes": "export taxes",
    "trade_costs": "trade costs",
    "output_taxes": "output taxes",
    "transfers": "transfers",
    "capital_flows": "capital flows",
    "foreign_saving": "foreign saving",
    "defense": "defense",
    "stationing": "stationing",
    "factor_shocks": "factor shocks",
}
_RATE_PARTS = {"tm": "tariffs", "tx": "export_taxes", "trade_cost": "trade_costs",
               "to": "output_taxes"}
_EMPTY = {"rate_shocks": (), "transfers": (), "capital_flows": (), "foreign_saving": (),
          "defense": (), "stationing": (), "factor_shocks": ()}


def package_parts(scen: Scenario) -> dict[str, Scenario]:
    """{part: the scenario with that part's tables only}, in :data:`PART_LABELS` order; a
    scenario of one kind of instrument has one part (it is not a package)."""
    out: dict[str, Scenario] = {}
    for instrument, part in _RATE_PARTS.items():
        shocks = tuple(s for s in scen.rate_shocks if s.instrument == instrument)
        if shocks:
            out[part] = dataclasses.replace(scen, **{**_EMPTY, "rate_shocks": shocks})
    for field in ("transfers", "capital_flows", "foreign_saving", "defense", "stationing",
                  "factor_shocks"):
        if getattr(scen, field):
            out[field] = dataclasses.replace(scen, **{**_EMPTY, field: getattr(scen, field)})
    return {p: out[p] for p in PART_LABELS if p in out}


def _instrument_changes(model: CGEModel, scen: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """(fixed flags, values) of every model variable with the scenario's instruments set;
    the model is left at the benchmark."""
    model.restore(model._benchmark)
    try:
        apply_scenario(model, scen)
        snap = model.snapshot()
    finally:
        model.restore(model._benchmark)
    return np.array(snap["fixed"]), np.array(snap["values"], dtype=float)


def _deltas(model: CGEModel, scen: Scenario,
            parts: Mapping[str, Scenario]) -> tuple[list[int], dict[str, np.ndarray]]:
    """The instruments the package moves (positions in ``model.all_vars``) and each part's
    change of them. Raises ValueError when the parts do not add up to the package (an
    instrument set by two parts with ``set``/``multiply``) or a part switches a variable
    between fixed and free."""
    bench = model._benchmark
    fixed0 = np.array(bench["fixed"])
    value0 = np.array(bench["values"], dtype=float)
    fixed1, value1 = _instrument_changes(model, scen)
    if not np.array_equal(fixed0, fixed1):
        raise ValueError(f"scenario {scen.name!r} changes which variables are fixed; "
                         "subtotals need instrument changes only")
    moving = np.flatnonzero(fixed0 & (value1 != value0))
    deltas = {}
    for name, part in parts.items():
        fixed_g, value_g = _instrument_changes(model, part)
        if not np.array_equal(fixed0, fixed_g):
            raise ValueError(f"part {name!r} of {scen.name!r} changes which variables are "
                             "fixed")
        deltas[name] = (value_g - value0)[moving]
    total = value1[moving] - value0[moving]
    gap = np.abs(sum(deltas.values()) - total) if deltas else np.abs(total)
    if gap.size and float(gap.max()) > 1e-12 * max(1.0, float(np.abs(total).max())):
        raise ValueError(f"the parts of {scen.name!r} do not add up to the package (an "
                         "instrument set by several parts with `set` or `multiply`)")
    return [int(k) for k in moving], deltas


def _ev_functions(model: CGEModel) -> dict[str, tuple[object, float]]:
    """{region: (Pyomo expression EV_r / E0_r, E0_r)} of the headline EV."""
    model.restore(model._benchmark)
    return {r: (ev_expression(model, r), equivalent_variation(model, r)[2])
            for r in model.ctx.regions}


def split_package(model: CGEModel, scen: Scenario, *, nodes: int = NODES) -> xr.Dataset:
    """The parts of a package's headline EV, by region (data unit, benchmark prices).

    Returns a Dataset with ``EV_part_alone`` (package_part, region): each part run alone from
    the benchmark; ``EV_part_subtotal`` (package_part, region): the GTAP subtotals along the
    straight path, ``nodes`` Gauss–Legendre points; ``EV_package`` (region): the package's EV
    at the end of the path. The model is left as it was (e.g. at the package's solution).
    Raises ValueError for a scenario of fewer than two parts."""
    parts = package_parts(scen)
    if len(parts) < 2:
        raise ValueError(f"scenario {scen.name!r} is not a package: one kind of instrument "
                         f"({', '.join(parts) or 'none'})")
    start = model.snapshot()
    try:
        return _split(model, parts, *_deltas(model, scen, parts), nodes)
    finally:
        model.restore(start)


def _split(model: CGEModel, parts: Mapping[str, Scenario], moving: list[int],
           deltas: Mapping[str, np.ndarray], nodes: int) -> xr.Dataset:
    """:func:`split_package` on the instruments ``moving`` and the parts' changes of them."""
    ev = _ev_functions(model)
    regions = list(model.ctx.regions)
    z0 = np.array([model._benchmark["values"][k] for k in moving], dtype=float)
    emap = EquilibriumMap(model, [([model.all_vars[k]], [0.0]) for k in moving])
    d = np.array(list(deltas.values()))                      # (part, instrument)
    t, w = np.polynomial.legendre.leggauss(nodes)
    subtotal = np.zeros((len(parts), len(regions)))
    for tk, wk in zip((t + 1) / 2, w / 2, strict=True):     # increasing t: warm starts
        emap.solve(z0 + tk * d.sum(axis=0))
        for j, r in enumerate(regions):
            subtotal[:, j] += wk * d @ (emap.gradient(ev[r][0]) * ev[r][1])

    def evs_at(z: np.ndarray) -> list[float]:
        emap.solve(z)
        return [e0 * emap.value(expr) for expr, e0 in ev.values()]

    package = evs_at(z0 + d.sum(axis=0))
    alone = []
    for dg in d:
        model.restore(model._benchmark)                      # each part from the benchmark
        alone.append(evs_at(z0 + dg))
    dims = ("package_part", "region")
    return xr.Dataset(
        {"EV_part_alone": (dims, np.array(alone),
                           {"description": "headline EV of each part of the package run "
                                           "alone from the benchmark"}),
         "EV_part_subtotal": (dims, subtotal,
                              {"description": "GTAP subtotal of each part: the path integral "
                                              "of dEV/dz_i (z1_i - z0_i) over the part's "
                                              "instruments along the straight path "
                                              "(Harrison, Horridge & Pearson 2000)",
                               "nodes": nodes}),
         "EV_package": (("region",), np.array(package),
                        {"description": "headline EV of the package at the end of the "
                                        "subtotals' path"})},
        coords={"package_part": list(parts), "region": regions})
