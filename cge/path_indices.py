r"""GTAP's terms of trade and real GDP: Divisia indices integrated along the solution path.

GTAP solves in percentage changes along the path of the shock, so its indices are Divisia
indices whose weights move with the solution. The results' ``tot_pct`` and ``real_gdp_pct``
are computed from the levels of the new equilibrium with benchmark weights (Laspeyres); for a
large shock the two differ by a second-order term. These are GTAP's, integrated over the same
path as the EV decomposition (:func:`cge.welfare.decompose_ev`: the instruments moved from the
benchmark to their targets in equal steps, solved at each) by the trapezoid rule, i.e. a
Törnqvist index chained over the steps:

.. math::
    \ln P_r = \sum_{k} \sum_{f \in F_r} \bar w_{f,k}\, \Delta \ln p_{f,k}, \qquad
    \bar w_{f,k} = \tfrac12 \Big(\frac{v_{f,k-1}}{V_{r,k-1}} + \frac{v_{f,k}}{V_{r,k}}\Big)

- ``tot_gtap_pct`` = 100 (psw / pdw − 1): ``psw`` over the region's supplies to the world
  market (exports fob, export tax included, route by route, and the margin services it sells
  to the transport pool), ``pdw`` over its demand from it (imports cif: fob plus the margins,
  per unit shipped); GTAP's ``tot = psw − pdw``.
- ``qgdp_gtap_pct``: the quantity index of GDP from the expenditure side, the same sum with
  quantities and signed value weights: final demand of every agent at purchasers' prices,
  exports fob, margin services, direct sales to foreign governments, less imports cif (GTAP's
  ``qgdp``). Weights are divided by the sum of the signed values, which is GDP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["GTAP_INDEX_TEXT", "gtap_indices"]

#: The results variables, as their ``description`` attribute says them.
GTAP_INDEX_TEXT = {
    "tot_gtap_pct": "terms of trade as GTAP defines them (tot = psw - pdw: exports fob and "
                    "margin services over imports cif), a Divisia index integrated along the "
                    "solution path, % change",
    "qgdp_gtap_pct": "real GDP as GTAP's qgdp (expenditure side, Divisia index integrated "
                     "along the solution path), % change",
}


def _flows(st: dict) -> dict[str, dict[str, list[tuple[tuple, float, float]]]]:
    """For each index and region the flows as (key, value, price or quantity) at one state:
    ``psw``, ``pdw`` with prices, ``qgdp`` with quantities (imports with negative value)."""
    out: dict[str, dict[str, list]] = {"psw": {}, "pdw": {}, "qgdp": {}}

    def add(index: str, r: str, key: tuple, v: float, x: float) -> None:
        out[index].setdefault(r, []).append((key, v, x))

    for (i, s, r), (q, pe, tx, _, mcu) in st["trade"].items():
        fob = pe * (1.0 + tx)
        add("psw", s, ("x", i, r), q * fob, fob)
        add("pdw", r, ("m", i, s), q * (fob + mcu), fob + mcu)
        add("qgdp", s, ("x", i, r), q * fob, q)
        add("qgdp", r, ("m", i, s), -q * (fob + mcu), q)
    for (mm, t), (q, p) in st["pool"].items():
        add("psw", t, ("pool", mm), q * p, p)
        add("qgdp", t, ("pool", mm), q * p, q)
    for (i, s, b), (q, p) in st["direct_sales"].items():
        add("qgdp", s, ("dp", i, b), q * p, q)
    for (a, r), (q, p, t) in st["final"].items():
        add("qgdp", r, ("fd", a), q * p * (1.0 + t), q)
    return out


def _chained(series: Sequence[dict[str, list]], region: str) -> float:
    """The index of ``region`` (benchmark 1) chained over the states' flows (module
    docstring)."""
    log_total = 0.0
    for a, b in zip(series[:-1], series[1:], strict=True):
        fa = {k: (v, x) for k, v, x in a.get(region, [])}
        fb = {k: (v, x) for k, v, x in b.get(region, [])}
        va, vb = sum(v for v, _ in fa.values()), sum(v for v, _ in fb.values())
        if not va or not vb:
            continue
        for key, (v0, x0) in fa.items():
            v1, x1 = fb.get(key, (0.0, 0.0))
            if x0 > 0 and x1 > 0:
                log_total += 0.5 * (v0 / va + v1 / vb) * math.log(x1 / x0)
    return math.exp(log_total)


def gtap_indices(states: Sequence[dict], regions: Sequence[str]) -> dict[str, dict[str, float]]:
    """``{"tot_gtap_pct": {r: ...}, "qgdp_gtap_pct": {r: ...}}`` from the decomposition's
    states along the path (:func:`cge.welfare.decompose_ev` with ``states=[]``)."""
    flows = [_flows(st) for st in states]
    by = {name: [f[name] for f in flows] for name in ("psw", "pdw", "qgdp")}
    tot, qgdp = {}, {}
    for r in regions:
        tot[r] = 100.0 * (_chained(by["psw"], r) / _chained(by["pdw"], r) - 1.0)
        qgdp[r] = 100.0 * (_chained(by["qgdp"], r) - 1.0)
    return {"tot_gtap_pct": tot, "qgdp_gtap_pct": qgdp}
