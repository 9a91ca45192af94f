r"""Market clearing, each equation paired with the price it determines.

* ``mkt_pd`` (↔ ``pd``): supply of the domestic good = domestic Armington demand + exports
  (without a CET); with a CET, CET domestic supply = domestic demand.
* ``mkt_pe`` (↔ ``pe``, CET only): CET export supply = foreign demand for exports.
* ``mkt_pf`` (↔ ``pf``): demand for a mobile factor = endowment (× employment index under the
  unemployment closure).
* ``mkt_pfs`` (↔ ``pfs``): a fixed factor's demand in each sector = its sector's endowment; a
  sluggish factor's demand in sector j = its CET supply to j,
  :math:`q^f_{fjr} = \bar E_{fr}\,(p^{fs}_{fjr}/p^{ft}_{fr})^{\eta_f}` (benchmark units,
  :math:`\eta_f` = ``etrae``).
* ``prf_pft`` (↔ ``pft``, sluggish factors): the CET price index of the endowment,
  :math:`p^{ft}_{fr} = \big(\sum_j \theta_{fjr}\, (p^{fs}_{fjr})^{1+\eta_f}\big)^{1/(1+\eta_f)}`
  with benchmark value shares :math:`\theta_{fjr}`, so that the factor's income is
  :math:`p^{ft}_{fr}\,\bar E_{fr}` (GTAP's sluggish endowments, ETRAE).

Every equation is divided by its benchmark size, so residuals are relative. One market clearing
condition is implied by all the others (Walras' law); the model keeps all of them and carries a
slack ``walras`` in the largest domestic market, paired with the numeraire equation
(``cge.closures``). A solution whose slack is not ~0 is an error.
"""

from __future__ import annotations

from pyomo.environ import Constraint, Var

from cge.blocks.ces import cet_price
from cge.blocks.context import Context
from cge.blocks.flows import direct_sales
from cge.blocks.trade import domestic_demand, export_supply_demand
from cge.closures import employed


def add_markets(m, ctx: Context) -> None:
    """Variables ``pd``, ``pe`` (CET), ``pf``, ``pfs``, ``walras``; market clearing equations."""
    m.pd = Var(ctx.D, initialize=1.0, bounds=(1e-8, None), doc="price of domestic sales")
    if ctx.cet:
        m.pe = Var(ctx.E, initialize=1.0, bounds=(1e-8, None), doc="export price")
    m.pf = Var(ctx.FAC, initialize=1.0, bounds=(1e-8, None), doc="price of a mobile factor")
    m.pfs = Var(ctx.FSP, initialize=1.0, bounds=(1e-8, None),
                doc="price of a sluggish or fixed factor in one sector")
    m.pft = Var(ctx.SLG, initialize=1.0, bounds=(1e-8, None),
                doc="price of a sluggish factor's endowment (CET index)")
    m.walras = Var(initialize=0.0, doc="Walras slack: excess supply in the dropped market")


def add_market_clearing(m, ctx: Context) -> None:
    """Market clearing equations (needs production, trade and demand blocks)."""
    p = ctx.p
    sig_t = ctx.options.esub_cet

    def mkt_pd(m, i, r):
        slack = m.walras if (i, r) == ctx.walras_market else 0.0
        if ctx.cet:
            vds = p["vom"][i, r] - p["vxs"][i, r]
            supply = m.Y[i, r] * vds * (m.pd[i, r] / m.py[i, r]) ** sig_t
            demand = domestic_demand(m, ctx, i, r)
            scale = vds
        else:
            supply = m.Y[i, r] * p["vom"][i, r]
            demand = domestic_demand(m, ctx, i, r) + export_supply_demand(m, ctx, i, r)
            scale = p["vom"][i, r]
        direct = [b for b in ctx.regions if i in ctx.dp_weights.get((r, b), {})]
        if direct:  # foreign governments' direct purchases at home-market prices
            demand = demand + sum(direct_sales(m, ctx, i, r, b) for b in direct)
        return (supply - demand) / scale == slack

    m.mkt_pd = Constraint(ctx.D, rule=mkt_pd, doc="domestic goods market clearing")

    if ctx.cet:
        def mkt_pe(m, i, r):
            vxs = p["vxs"][i, r]
            supply = m.Y[i, r] * vxs * (m.pe[i, r] / m.py[i, r]) ** sig_t
            return (supply - export_supply_demand(m, ctx, i, r)) / vxs == 0

        m.mkt_pe = Constraint(ctx.E, rule=mkt_pe, doc="export market clearing (CET)")

    def mkt_pf(m, f, r):
        demand = sum(p["vfm"][f, j, r] * m.qf[f, j, r] for j in ctx.activities_using[f, r])
        return (demand - employed(m, ctx, f, r)) / p["evom"][f, r] == 0

    m.mkt_pf = Constraint(ctx.FAC, rule=mkt_pf, doc="mobile factor market clearing")

    def mkt_pfs(m, f, j, r):
        if ctx.roles[f] == "sluggish":
            return m.qf[f, j, r] == m.endow[f, r] * (m.pfs[f, j, r] / m.pft[f, r]) ** ctx.etrae[f]
        return m.qf[f, j, r] == m.endow[f, r]

    m.mkt_pfs = Constraint(ctx.FSP, rule=mkt_pfs, doc="factor market clearing by sector")

    def prf_pft(m, f, r):
        sectors = ctx.sectors_of[f, r]
        return m.pft[f, r] == cet_price([p["vfm"][f, j, r] / p["evom"][f, r] for j in sectors],
                                        [m.pfs[f, j, r] for j in sectors], ctx.etrae[f])

    m.prf_pft = Constraint(ctx.SLG, rule=prf_pft, doc="sluggish factor's CET price index")

