r"""Welfare: Hicksian equivalent variation.

*Regional household.* Utility is Cobb–Douglas over real private consumption, real civil
government consumption and real saving (GTAP), with benchmark expenditure shares
:math:`\theta_a`: :math:`U_r = \prod_a (Q_{ar}/Q^0_{ar})^{\theta_a}` (``qfd`` for consumption and
government; saving deflated by the investment price index). Because all benchmark prices are 1,
the expenditure function at benchmark prices is :math:`e(p^0, U) = U\,E^0_r`, so
:math:`EV_r = (U_r - 1)\,E^0_r` with :math:`E^0_r = C^0 + G^0 + S^0`.

*Separate institutions.* Utility is the household's real consumption index:
:math:`EV_r = (q^{fd}_{hh,r} - 1)\,C^0_r`.

Defense spending is left out of utility and reported separately: the model does not price
security. EV is in the data set's currency unit at benchmark prices.
"""

from __future__ import annotations

from pyomo.environ import value

from cge.model import CGEModel


def utility_components(model: CGEModel, r: str) -> dict[str, tuple[float, float]]:
    """{component: (benchmark expenditure, real index)} entering region r's utility."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    comps: dict[str, tuple[float, float]] = {}
    if ("household", r) in ctx.fd_set:
        comps["household"] = (p["efd0"]["household", r], value(m.qfd["household", r]))
    if model.options.institutions == "separate":
        return comps
    if ("government", r) in ctx.fd_set:
        comps["government"] = (p["efd0"]["government", r], value(m.qfd["government", r]))
    sav0 = p["sav0"][r]
    if sav0 > 0:
        pinv = value(m.pfd["investment", r]) if ("investment", r) in ctx.fd_set else 1.0
        comps["saving"] = (sav0, value(m.saving[r]) / pinv / sav0)
    return comps


def equivalent_variation(model: CGEModel, r: str) -> tuple[float, float, float]:
    """(EV, utility index U, benchmark expenditure E0) of region r."""
    comps = utility_components(model, r)
    e0 = sum(e for e, _ in comps.values())
    u = 1.0
    for e, q in comps.values():
        u *= q ** (e / e0)
    return (u - 1.0) * e0, u, e0


# ------------------------------------------------------------------------------------------------
# EV decomposition (Huff & Hertel 2000 style), integrated along the path of the shock
# ------------------------------------------------------------------------------------------------
COMPONENTS = ("allocative", "terms_of_trade", "transfers", "endowment", "defense", "other")


def _state(model: CGEModel) -> dict:
    """Prices and quantities the decomposition needs at the current solution."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    val = value
    st: dict = {"U": {}, "E0": {}, "W": {}, "PQ": {}}
    for r in ctx.regions:
        comps = utility_components(model, r)
        _, u, e0 = equivalent_variation(model, r)
        st["U"][r], st["E0"][r] = u, e0
        pq = {}
        for a, (bench, q) in comps.items():
            if a == "saving":
                price = val(m.pfd["investment", r]) if ("investment", r) in ctx.fd_set else 1.0
            else:
                price = val(m.pfd[a, r])
            pq[a] = (price, q * bench)          # price index, quantity in benchmark values
        st["PQ"][r] = pq
    st["trade"] = {}
    for k in ctx.TRD:
        i, s, r = k
        pexp = val(m.pe[i, s]) if ctx.cet else val(m.pd[i, s])
        qty = val(m.imp[k]) * val(m.ice[k]) * p["vxmd"][k]
        st["trade"][k] = (qty, pexp, val(m.tx[k]), val(m.tm[k]))
    st["output"] = {k: (val(m.Y[k]) * p["cost0"][k], val(m.cost_y[k]), val(m.to_eff[k]))
                    for k in ctx.YJ}
    st["final"] = {k: (val(m.qfd[k]) * p["vfd"][k], val(m.pfd[k]), val(m.tfd_eff[k]))
                   for k in ctx.FDA}
    unemp = model.options.factor_market == "unemployment"
    st["factor"] = {}
    for (f, r) in ctx.FAC:
        supply = p["evom"][f, r] * val(m.endow[f, r])
        if unemp and f == model.options.labour:
            supply *= val(m.lsup[r])
        st["factor"][f, r] = (supply, val(m.pf[f, r]))
    for (f, j, r) in ctx.FSP:
        st["factor"][f, j, r] = (p["vfm"][f, j, r] * val(m.endow[f, r]), val(m.pfs[f, j, r]))
    st["transfers"] = {r: val(m.net_transfers[r]) for r in ctx.regions}
    st["defense"] = {r: (val(m.pfd["defense", r]), val(m.qfd["defense", r])
                         * p["efd0"]["defense", r]) for r in ctx.DEF}
    st["direct"] = {r: val(m.direct_purchases[r]) for r in ctx.regions}
    return st


def _step(a: dict, b: dict, regions: list[str]) -> dict[str, dict[str, float]]:
    """Contributions to EV of one step of the path (trapezoid rule), by region."""
    out = {r: dict.fromkeys(COMPONENTS, 0.0) for r in regions}

    def mid(x, y):
        return 0.5 * (x + y)

    for k, (q0, pe0, tx0, tm0) in a["trade"].items():
        q1, pe1, tx1, tm1 = b["trade"][k]
        _, s, r = k
        pw0, pw1 = pe0 * (1 + tx0), pe1 * (1 + tx1)
        qbar, dq, dpw = mid(q0, q1), q1 - q0, pw1 - pw0
        out[s]["terms_of_trade"] += qbar * dpw
        out[r]["terms_of_trade"] -= qbar * dpw
        out[r]["allocative"] += mid(tm0, tm1) * mid(pw0, pw1) * dq
        out[s]["allocative"] += mid(tx0, tx1) * mid(pe0, pe1) * dq
    for (j, r), (y0, c0, t0) in a["output"].items():
        y1, c1, t1 = b["output"][j, r]
        out[r]["allocative"] += mid(t0, t1) * mid(c0, c1) * (y1 - y0)
    for (ag, r), (q0, p0, t0) in a["final"].items():
        q1, p1, t1 = b["final"][ag, r]
        out[r]["allocative"] += mid(t0, t1) * mid(p0, p1) * (q1 - q0)
    for key, (l0, w0) in a["factor"].items():
        l1, w1 = b["factor"][key]
        out[key[-1]]["endowment"] += mid(w0, w1) * (l1 - l0)
    for r in regions:
        out[r]["transfers"] += b["transfers"][r] - a["transfers"][r]
        if r in a["defense"]:
            (p0, q0), (p1, q1) = a["defense"][r], b["defense"][r]
            out[r]["defense"] -= mid(p0, p1) * (q1 - q0)
        out[r]["defense"] -= b["direct"][r] - a["direct"][r]
        pq0, pq1 = a["PQ"][r], b["PQ"][r]
        w = sum(mid(pq0[k][0], pq1[k][0]) * (pq1[k][1] - pq0[k][1]) for k in pq0)
        spend = sum(mid(pq0[k][0], pq1[k][0]) * mid(pq0[k][1], pq1[k][1]) for k in pq0)
        known = sum(out[r][c] for c in COMPONENTS if c != "other")
        out[r]["other"] = w - known
        # money-metric weight: dEV = U E0 · (Σ P dq) / (Σ P q)
        weight = mid(a["U"][r], b["U"][r]) * a["E0"][r] / spend if spend else 0.0
        for c in COMPONENTS:
            out[r][c] *= weight
    return out


def decompose_ev(model: CGEModel, steps: int = 8) -> dict[str, dict[str, float]]:
    """Decompose each region's EV of the scenario currently set on ``model``.

    The instruments are moved from the benchmark to their current (target) values in ``steps``
    equal steps, solving at each; the change of real absorption Σ P·dq (private consumption,
    civil government, real saving) at each step is split, with the model's own accounting, into

    * ``allocative``: tax/tariff wedges × quantity changes (output, final demand, export taxes,
      import tariffs) — Harberger triangles and their interactions;
    * ``terms_of_trade``: export volumes × change in fob export prices − import volumes × change
      in world import prices;
    * ``transfers``: change in net international transfers received (the transfer's own effect);
    * ``endowment``: factor prices × change in employed endowments (unemployment closure,
      endowment shocks);
    * ``defense``: minus the resources absorbed by a change in real defense purchases and in
      direct government purchases abroad (stationing, Foreign Military Sales);
    * ``other``: the remainder (investment–saving effects and what the trapezoid rule misses),
      computed so that the parts add up to EV exactly.

    Each step's parts are converted to benchmark-price money (EV) with the household's
    marginal utility of income. Regional-household institutions only. The model is left at the
    scenario's solution.
    """
    from cge.solve import solve

    if model.options.institutions != "regional_household":
        raise ValueError("the EV decomposition is implemented for the regional household")
    target = model.snapshot()
    bench = model._benchmark
    moving = [(n, v) for n, v in enumerate(model.all_vars)
              if target["fixed"][n] and target["values"][n] != bench["values"][n]]
    model.restore(bench)
    states = [_state(model)]
    for k in range(1, steps + 1):
        lam = k / steps
        for n, v in moving:
            v.fix(bench["values"][n] + lam * (target["values"][n] - bench["values"][n]))
        solve(model)
        states.append(_state(model))
    regions = model.ctx.regions
    total = {r: dict.fromkeys(COMPONENTS, 0.0) for r in regions}
    for a, b in zip(states[:-1], states[1:], strict=True):
        for r, parts in _step(a, b, regions).items():
            for c, x in parts.items():
                total[r][c] += x
    for r in regions:
        ev = equivalent_variation(model, r)[0]
        total[r]["other"] += ev - sum(total[r].values())
    return total
