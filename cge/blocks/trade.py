r"""Armington trade: agent-level domestic/import nests and border import sourcing.

For commodity i, agent a (an activity or a final-demand agent) in importing region r:

.. math::
    p^a_{iar} = \mathrm{CES}_{\sigma^D_i}\big(\theta^d_{iar};\; p^d_{ir},\; p^{im}_{ir}\big)
    \qquad\text{(``prf_pa``)}

The import composite, common to all agents of r (GTAP's border sourcing), is a CES over source
regions s of landed prices:

.. math::
    p^{im}_{ir} = \mathrm{CES}_{\sigma^M_i}\big(\theta^m_{isr};\; p^m_{isr}\big), \qquad
    p^m_{isr} = p^x_{is}\,\frac{(1+tx_{isr})(1+tm_{isr})\,\tau_{isr}}{(1+tx^0_{isr})(1+tm^0_{isr})}

with :math:`p^x` the exporter's export price (``pd``, or ``pe`` under a CET), ``tx`` the
exporter's export tax, ``tm`` the importer's tariff and :math:`\tau` an iceberg trade cost
(benchmark 1): fob = cif, for data without transport margins. With margins (GTAP's VTWR, VST)
the tariff is on the cif value, fob plus the margins, which are a fixed amount per landed unit
bought from the global transport pool at the price :math:`p^t_m`:

.. math::
    p^m_{isr} = \frac{\big(v^{x}_{isr}\, p^x_{is}(1+tx_{isr})\,\tau_{isr}
    + \sum_m v^{tw}_{misr}\, p^t_m\big)(1+tm_{isr})}{v^{cif}_{isr}\,(1+tm^0_{isr})}, \qquad
    p^t_m = \prod_t (p^x_{mt})^{v^{st}_{mt}/\sum_t v^{st}_{mt}}\quad\text{(``prf_pt``)}

the pool buying service m from its suppliers t Cobb-Douglas (GTAP's ESBS = 1) in the amount
the routes use (:func:`cge.blocks.flows.transport_demand`, :func:`~cge.blocks.flows.pool_sales`:
exports of services of the suppliers).
Bilateral import volume (landed units) is
:math:`m_{isr} = q^{im}_{ir}(p^{im}_{ir}/p^m_{isr})^{\sigma^M_i}`; the exporter ships
:math:`\tau_{isr}\,m_{isr}`.
"""

from __future__ import annotations

from pyomo.environ import Constraint, Expression, Var, prod

from cge.blocks.ces import ces_price, demand_index
from cge.blocks.context import Context
from cge.blocks.flows import (
    export_price,
    margin_cost,
    pool_sales,
    shipped,
    transport_demand,
)


def add_trade_variables(m, ctx: Context) -> None:
    """Armington prices ``pa``, import composite price ``pim`` and quantity ``qim``."""
    m.pa = Var(ctx.ARM, initialize=1.0, bounds=(1e-8, None), doc="Armington composite price")
    m.pim = Var(ctx.IM, initialize=1.0, bounds=(1e-8, None), doc="import composite price")
    m.qim = Var(ctx.IM, initialize=1.0, bounds=(0.0, None), doc="import composite (index)")
    m.pt = Var(ctx.MARG, initialize=1.0, bounds=(1e-8, None),
               doc="price of the global transport service (margins)")
    m.qt = Var(ctx.MARG, initialize=1.0, bounds=(0.0, None),
               doc="demand for the global transport service (index)")


def add_trade(m, ctx: Context) -> None:
    """Variables ``pa``, ``pim``, ``qim``; expressions ``pm``, ``imp``; equations ``prf_pa``,
    ``prf_pim``, ``mkt_pim``."""
    p = ctx.p

    def pm_rule(m, i, s, r):
        if (i, s, r) in ctx.route_margins:      # tariff on cif = fob + margins
            fob = p["vxmd"][i, s, r] * export_price(m, ctx, i, s) * (1.0 + m.tx[i, s, r])
            cif = fob * m.ice[i, s, r] + margin_cost(m, ctx, i, s, r)
            return cif * (1.0 + m.tm[i, s, r]) / (p["vcif"][i, s, r] * (1.0 + p["tm0"][i, s, r]))
        wedge0 = (1.0 + p["tx0"][i, s, r]) * (1.0 + p["tm0"][i, s, r])
        return (export_price(m, ctx, i, s) * (1.0 + m.tx[i, s, r]) * (1.0 + m.tm[i, s, r])
                * m.ice[i, s, r] / wedge0)

    m.pm = Expression(ctx.TRD, rule=pm_rule, doc="landed price of imports by source")

    def prf_pt(m, mm):
        suppliers = [t for (k, t) in ctx.MSUP if k == mm]
        total = sum(p["vst"][mm, t] for t in suppliers)
        return m.pt[mm] == prod(export_price(m, ctx, mm, t) ** (p["vst"][mm, t] / total)
                                for t in suppliers)

    m.prf_pt = Constraint(ctx.MARG, rule=prf_pt, doc="price of the transport service (pool)")

    def prf_pa(m, i, a, r):
        theta = ctx.theta_d(i, a, r)
        shares, prices = [], []
        if ctx.vd0(i, a, r) > 0:
            shares.append(theta)
            prices.append(m.pd[i, r])
        if ctx.vi0(i, a, r) > 0:
            shares.append(1.0 - theta)
            prices.append(m.pim[i, r])
        return m.pa[i, a, r] == ces_price(shares, prices, p["esubd"][i])

    m.prf_pa = Constraint(ctx.ARM, rule=prf_pa, doc="Armington composite price (zero profit)")

    def prf_pim(m, i, r):
        srcs = ctx.trd_to[i, r]
        return m.pim[i, r] == ces_price([p["theta_m"][i, s, r] for s in srcs],
                                        [m.pm[i, s, r] for s in srcs], p["esubm"][i])

    m.prf_pim = Constraint(ctx.IM, rule=prf_pim, doc="import composite price (zero profit)")

    def imp_rule(m, i, s, r):
        return m.qim[i, r] * demand_index(m.pim[i, r], m.pm[i, s, r], p["esubm"][i])

    m.imp = Expression(ctx.TRD, rule=imp_rule, doc="bilateral imports, landed units (index)")
    m.mkt_qt = Constraint(ctx.MARG, rule=lambda m, mm: m.qt[mm] == transport_demand(m, ctx, mm),
                          doc="demand for the transport service: the routes' margins")

    def mkt_pim(m, i, r):
        total = sum(p["vims"][i, s, r] for s in ctx.trd_to[i, r])
        demand = sum(ctx.vi0(i, a, r) * composite_demand(m, ctx, i, a, r)
                     * demand_index(m.pa[i, a, r], m.pim[i, r], p["esubd"][i])
                     for a in ctx.arm_agents.get((i, r), []) if ctx.vi0(i, a, r) > 0)
        return m.qim[i, r] == demand / total

    m.mkt_pim = Constraint(ctx.IM, rule=mkt_pim, doc="import composite market clearing")


def composite_demand(m, ctx: Context, i: str, a: str, r: str):
    """Agent a's demand for the Armington composite of i, relative to benchmark."""
    if a in ctx.is_activity:
        return m.qint[a, r]
    return m.qfd[a, r] * demand_index(m.pfd[a, r], m.pa[i, a, r], ctx.esub_fd(a))


def domestic_demand(m, ctx: Context, i: str, r: str):
    """Demand for the domestic variety of i in r, in benchmark value units."""
    p = ctx.p
    return sum(ctx.vd0(i, a, r) * composite_demand(m, ctx, i, a, r)
               * demand_index(m.pa[i, a, r], m.pd[i, r], p["esubd"][i])
               for a in ctx.arm_agents.get((i, r), []) if ctx.vd0(i, a, r) > 0)


def export_supply_demand(m, ctx: Context, i: str, s: str):
    """Foreign demand for s's exports of i (exporter units, benchmark value units), margin
    services sold to the transport pool included."""
    demand = sum(shipped(m, ctx, i, s, r) for r in ctx.trd_from.get((i, s), []))
    if ctx.p.get("vst", {}).get((i, s), 0.0) > 0:
        demand = demand + pool_sales(m, ctx, i, s)
    return demand
