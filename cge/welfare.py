r"""Welfare: Hicksian equivalent variation, whose it is, and its decomposition.

*Regional EV* (GTAP's regional household). Utility is Cobb–Douglas over real private
consumption :math:`Q_C`, real civil government consumption :math:`Q_G` and real domestic saving
:math:`Q_S` (saving deflated by the investment price index), each in benchmark-value units, with
benchmark expenditure shares :math:`\theta_a = E^0_a / E^0`:
:math:`U_r = \prod_a (Q_{ar}/E^0_{ar})^{\theta_a}`. All benchmark prices are 1, so
:math:`e(p^0, U) = U E^0_r` and :math:`EV_r = (U_r - 1)\,E^0_r`, :math:`E^0_r = C^0 + G^0 + S^0`.
The same aggregate is reported under separate institutions (household consumption, civil
government purchases, household + government saving).

*Private EV*: the household's real consumption alone, :math:`EV^{p}_r = (Q_C/C^0 - 1)\,C^0_r`.

The headline ``EV`` is the regional EV under the regional household and the private EV under
separate institutions (the household is then a separate agent, as in Hosoe et al. 2010); both
are always in the results (``EV_regional``, ``EV_private``), with the parts
(``welfare_parts``: household, government, saving, defense, each :math:`E^0_a (Q_a/E^0_a - 1)`).
Defense is left out of utility and reported separately: the model does not price security. EV
is in the data set's currency unit at benchmark prices.
"""

from __future__ import annotations

import math

from pyomo.environ import exp, log, value

from cge.blocks.flows import direct_sales, export_price, margin_cost, pool_sales, shipped
from cge.closures import employed
from cge.model import CGEModel

#: Components of utility (regional EV) and the parts reported next to it.
UTILITY = ("household", "government", "saving")
WELFARE_PARTS = ("household", "government", "saving", "defense")


def _consumer_price(model: CGEModel, a: str, r: str) -> float:
    """Price index of agent a's purchases incl. commodity taxes (benchmark 1)."""
    m, p = model.m, model.ctx.p
    return value((1.0 + m.tfd_eff[a, r]) * m.pfd[a, r]) / (1.0 + p["tfd0"][a, r])


def utility_components(model: CGEModel, r: str) -> dict[str, tuple[float, float, float]]:
    """{component: (benchmark expenditure E0_a, real level Q_a, price P_a)} in region r's
    utility; Q_a in benchmark-value units, P_a incl. commodity taxes (benchmark 1)."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    comps: dict[str, tuple[float, float, float]] = {}
    for a in ("household", "government"):
        if (a, r) in ctx.fd_set:
            e0 = p["efd0"][a, r]
            comps[a] = (e0, value(m.qfd[a, r]) * e0, _consumer_price(model, a, r))
    sav0 = p["sav0"][r]
    if sav0 > 0:
        pinv = _consumer_price(model, "investment", r) if ("investment", r) in ctx.fd_set \
            else 1.0
        comps["saving"] = (sav0, value(m.saving[r]) / pinv, pinv)
    return comps


def equivalent_variation(model: CGEModel, r: str) -> tuple[float, float, float]:
    """(regional EV, utility index U, benchmark expenditure E0) of region r."""
    comps = utility_components(model, r)
    e0 = sum(e for e, _, _ in comps.values())
    log_u = sum(e / e0 * math.log(q / e) for e, q, _ in comps.values() if q > 0)
    if any(q <= 0 for _, q, _ in comps.values()):
        return -e0, 0.0, e0
    u = math.exp(log_u)
    return (u - 1.0) * e0, u, e0


def ev_expression(model: CGEModel, region: str):
    r"""The Pyomo expression :math:`EV_r / E^0_r` (the headline EV of :mod:`cge.welfare`,
    relative to its benchmark expenditure).

    Regional household: :math:`U_r - 1`, :math:`U_r = \exp \sum_a \theta_a
    \log(Q_a / E^0_a)` over private consumption, civil government and real saving (saving
    deflated by the investment price index incl. taxes), as
    :func:`cge.welfare.utility_components`. Separate institutions: :math:`q^{fd}_{hh} - 1`
    (the private EV :math:`(Q_C/C^0 - 1)`)."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    if headline(model) == "private":
        if ("household", region) not in ctx.fd_set:
            raise ValueError(f"{region} has no household demand: its private EV is 0 "
                             "whatever the instruments")
        return m.qfd["household", region] - 1.0
    parts = []   # (benchmark expenditure E0_a, Q_a / E0_a)
    for a in ("household", "government"):
        if (a, region) in ctx.fd_set:
            parts.append((p["efd0"][a, region], m.qfd[a, region]))
    sav0 = p["sav0"][region]
    if sav0 > 0:
        if ("investment", region) in ctx.fd_set:
            pinv = ((1.0 + m.tfd_eff["investment", region]) * m.pfd["investment", region]
                    / (1.0 + p["tfd0"]["investment", region]))
        else:
            pinv = 1.0
        parts.append((sav0, m.saving[region] / pinv / sav0))
    if not parts:
        raise ValueError(f"{region} has no welfare components (no household, government "
                         "or saving in the benchmark)")
    e0 = sum(e for e, _ in parts)
    return exp(sum(e / e0 * log(q) for e, q in parts)) - 1.0


def welfare_parts(model: CGEModel, r: str) -> dict[str, float]:
    """Real change of each welfare part at benchmark prices, :math:`Q_a - E^0_a`; defense
    :math:`E^0_{def}(q_{def} - 1)`. Parts absent in r are 0."""
    comps = utility_components(model, r)
    out = {a: (comps[a][1] - comps[a][0]) if a in comps else 0.0 for a in UTILITY}
    ctx = model.ctx
    out["defense"] = (ctx.p["efd0"]["defense", r] * (value(model.m.qfd["defense", r]) - 1.0)
                      if r in ctx.DEF else 0.0)
    return out


def private_ev(model: CGEModel, r: str) -> float:
    """Private EV: :math:`(Q_C/C^0 - 1) C^0` (0 where the region has no household demand)."""
    return welfare_parts(model, r)["household"]


def headline(model: CGEModel) -> str:
    """Whose welfare the headline ``EV`` is: ``"regional"`` or ``"private"``."""
    return "private" if model.options.institutions == "separate" else "regional"


# ------------------------------------------------------------------------------------------------
# EV decomposition (Huff & Hertel 2000 style), integrated along the path of the shock
# ------------------------------------------------------------------------------------------------
COMPONENTS = ("allocative", "terms_of_trade", "transfers", "endowment", "defense",
              "investment_saving", "composition", "residual")

#: What each component is, for the results and the report.
COMPONENT_FORMULAS = {
    "allocative": "sum over taxed flows of rate x price x change in quantity (output, final "
                  "demand, export taxes, tariffs)",
    "terms_of_trade": "exports x change in fob price - imports x change in world import "
                      "price; for direct sales to foreign governments, quantity x change in "
                      "the seller's domestic price",
    "transfers": "change in net international transfers received (numeraire units)",
    "endowment": "factor price x change in employed endowment",
    "defense": "- defense price x change in real defense - change in direct purchases abroad",
    "investment_saving": "change in foreign saving - P_inv x change in (foreign saving / "
                         "P_inv): investment financed by foreign saving adds to absorption "
                         "but not to domestic saving (about foreign saving x the change in "
                         "P_inv)",
    "composition": "sum over private consumption, civil government and saving of (marginal "
                   "utility - money-metric weight x price) x change in quantity",
    "residual": "EV - sum of the named parts (path-integration error)",
}


def _state(model: CGEModel) -> dict:
    """Prices and quantities the decomposition needs at the current solution."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    val = value
    st: dict = {"U": {}, "E0": {}, "PQ": {}, "FS": {}}
    for r in ctx.regions:
        comps = utility_components(model, r)
        _, u, e0 = equivalent_variation(model, r)
        st["U"][r], st["E0"][r] = u, e0
        st["PQ"][r] = {a: (price, q, e) for a, (e, q, price) in comps.items()}
        if ("investment", r) in ctx.fd_set:
            pinv = _consumer_price(model, "investment", r)
            st["FS"][r] = (pinv, (val(m.efd["investment", r]) - val(m.saving[r])) / pinv)
        else:
            st["FS"][r] = (1.0, 0.0)
    st["trade"] = {}
    for k in ctx.TRD:
        i, s, r = k
        pexp = val(export_price(m, ctx, i, s))
        qty = val(shipped(m, ctx, i, s, r))
        # transport margins per unit shipped (0 without margins): the importer pays cif
        mcu = (val(margin_cost(m, ctx, i, s, r)) / (p["vxmd"][k] * val(m.ice[k]))
               if k in ctx.route_margins else 0.0)
        st["trade"][k] = (qty, pexp, val(m.tx[k]), val(m.tm[k]), mcu)
    st["pool"] = {(mm, t): (val(pool_sales(m, ctx, mm, t)), val(export_price(m, ctx, mm, t)))
                  for (mm, t) in ctx.MSUP}
    st["direct_sales"] = {(i, s, b): (val(direct_sales(m, ctx, i, s, b)), val(m.pd[i, s]))
                          for (s, b), weights in ctx.dp_weights.items() for i in weights}
    st["output"] = {k: (val(m.Y[k]) * p["cost0"][k], val(m.cost_y[k]), val(m.to_eff[k]))
                    for k in ctx.YJ}
    st["final"] = {k: (val(m.qfd[k]) * p["vfd"][k], val(m.pfd[k]), val(m.tfd_eff[k]))
                   for k in ctx.FDA}
    st["factor"] = {(f, r): (val(employed(m, ctx, f, r)), val(m.pf[f, r]))
                    for (f, r) in ctx.FAC}
    for (f, j, r) in ctx.FSP:
        if ctx.roles[f] == "fixed":
            st["factor"][f, j, r] = (p["vfm"][f, j, r] * val(m.endow[f, r]),
                                     val(m.pfs[f, j, r]))
    for (f, r) in ctx.SLG:   # a sluggish endowment at its CET price (income = pft E)
        st["factor"][f, "all", r] = (p["evom"][f, r] * val(m.endow[f, r]), val(m.pft[f, r]))
    st["transfers"] = {r: val(m.net_transfers[r]) for r in ctx.regions}
    st["defense"] = {r: (val((1.0 + m.tfd_eff["defense", r]) * m.pfd["defense", r]),
                         val(m.qfd["defense", r]) * p["vfd"]["defense", r]) for r in ctx.DEF}
    st["direct"] = {r: val(m.direct_purchases[r]) for r in ctx.regions}
    return st


def _mid(x: float, y: float) -> float:
    return 0.5 * (x + y)


def _resource_parts(a: dict, b: dict, out: dict) -> None:
    """Add one step's resource-accounting parts (in current-price money) to ``out``."""
    mid = _mid
    for k, (q0, pe0, tx0, tm0, mc0) in a["trade"].items():
        q1, pe1, tx1, tm1, mc1 = b["trade"][k]
        _, s, r = k
        pw0, pw1 = pe0 * (1 + tx0), pe1 * (1 + tx1)
        qbar, dq, dpw = mid(q0, q1), q1 - q0, pw1 - pw0
        out[s]["terms_of_trade"] += qbar * dpw
        # the importer pays cif: fob plus the margins per unit (mc = 0 without margins)
        out[r]["terms_of_trade"] -= qbar * (dpw + mc1 - mc0)
        out[r]["allocative"] += mid(tm0, tm1) * mid(pw0 + mc0, pw1 + mc1) * dq
        out[s]["allocative"] += mid(tx0, tx1) * mid(pe0, pe1) * dq
    for (mm, t), (q0, p0) in a["pool"].items():   # margin services sold to the pool
        q1, p1 = b["pool"][mm, t]
        out[t]["terms_of_trade"] += mid(q0, q1) * (p1 - p0)
    for k, (q0, p0) in a["direct_sales"].items():
        q1, p1 = b["direct_sales"][k]
        out[k[1]]["terms_of_trade"] += mid(q0, q1) * (p1 - p0)
    for (j, r), (y0, c0, t0) in a["output"].items():
        y1, c1, t1 = b["output"][j, r]
        out[r]["allocative"] += mid(t0, t1) * mid(c0, c1) * (y1 - y0)
    for (ag, r), (q0, p0, t0) in a["final"].items():
        q1, p1, t1 = b["final"][ag, r]
        out[r]["allocative"] += mid(t0, t1) * mid(p0, p1) * (q1 - q0)
    for key, (l0, w0) in a["factor"].items():
        l1, w1 = b["factor"][key]
        out[key[-1]]["endowment"] += mid(w0, w1) * (l1 - l0)
    for r in out:
        out[r]["transfers"] += b["transfers"][r] - a["transfers"][r]
        if r in a["defense"]:
            (p0, q0), (p1, q1) = a["defense"][r], b["defense"][r]
            out[r]["defense"] -= mid(p0, p1) * (q1 - q0)
        out[r]["defense"] -= b["direct"][r] - a["direct"][r]
        (pi0, f0), (pi1, f1) = a["FS"][r], b["FS"][r]
        # absorption gains the change in foreign saving; utility counts domestic saving only
        out[r]["investment_saving"] += (pi1 * f1 - pi0 * f0) - mid(pi0, pi1) * (f1 - f0)


def _step(a: dict, b: dict, regions: list[str]) -> dict[str, dict[str, float]]:
    """Contributions to EV of one step of the path (trapezoid rule), by region.

    The resource parts explain the change of real absorption :math:`\\sum_a P_a dQ_a`; they are
    converted to EV with the money-metric weight :math:`\\lambda = U E^0 / \\sum_a P_a Q_a`, and
    ``composition`` adds :math:`\\sum_a (\\mu_a - \\lambda P_a) dQ_a` with the marginal utilities
    :math:`\\mu_a = U E^0_a / Q_a` of the Cobb–Douglas utility (0 when spending is split in the
    benchmark shares)."""
    out = {r: dict.fromkeys(COMPONENTS, 0.0) for r in regions}
    _resource_parts(a, b, out)
    for r in regions:
        pq0, pq1 = a["PQ"][r], b["PQ"][r]
        u = _mid(a["U"][r], b["U"][r])
        spend = sum(_mid(pq0[k][0], pq1[k][0]) * _mid(pq0[k][1], pq1[k][1]) for k in pq0)
        weight = u * a["E0"][r] / spend if spend else 0.0
        for c in COMPONENTS:
            out[r][c] *= weight
        out[r]["composition"] = sum(
            (u * pq0[k][2] / _mid(pq0[k][1], pq1[k][1]) - weight * _mid(pq0[k][0], pq1[k][0]))
            * (pq1[k][1] - pq0[k][1]) for k in pq0)
    return out


def decompose_ev(model: CGEModel, steps: int = 8, *, states: list | None = None
                 ) -> dict[str, dict[str, float]]:
    """Decompose each region's *regional* EV of the scenario currently set on ``model``.

    The instruments are moved from the benchmark to their current (target) values in ``steps``
    equal steps, solving at each; the change of real absorption :math:`\\sum_a P_a dQ_a`
    (private consumption, civil government, real saving) at each step is split, with the
    model's own accounting, into the parts of :data:`COMPONENT_FORMULAS` (allocative, terms of
    trade, transfers, endowment, defense, investment-saving), converted to benchmark-price
    money with the money-metric weight, plus the ``composition`` term (utility weights vs
    prices); ``residual`` is what remains of EV (the path-integration error; small: it is
    checked, not absorbed). Both institutions (under separate institutions the decomposition
    is of ``EV_regional``). The model is left at the scenario's solution. ``states``: a list
    that receives the prices and quantities at each point of the path (for
    :func:`cge.path_indices.gtap_indices`).
    """
    from cge.solve import solve

    target = model.snapshot()
    bench = model._benchmark
    moving = [(n, v) for n, v in enumerate(model.all_vars)
              if target["fixed"][n] and target["values"][n] != bench["values"][n]]
    model.restore(bench)
    path = [_state(model)]
    for k in range(1, steps + 1):
        lam = k / steps
        for n, v in moving:
            v.fix(bench["values"][n] + lam * (target["values"][n] - bench["values"][n]))
        solve(model)
        path.append(_state(model))
    if states is not None:
        states.extend(path)
    regions = model.ctx.regions
    total = {r: dict.fromkeys(COMPONENTS, 0.0) for r in regions}
    for a, b in zip(path[:-1], path[1:], strict=True):
        for r, parts in _step(a, b, regions).items():
            for c, x in parts.items():
                total[r][c] += x
    for r in regions:
        ev = equivalent_variation(model, r)[0]
        total[r]["residual"] = ev - sum(x for c, x in total[r].items() if c != "residual")
    return total
