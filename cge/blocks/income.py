r"""Income: factor income, tax revenue, international transfers, saving.

Tax revenue of region r (all accrue to the taxing region):

.. math::
    T_r = \sum_j to_{jr}\, c^y_{jr} Y_{jr} v^{c}_{jr}
        + \sum_a t^{fd}_{ar} p^{fd}_{ar} q^{fd}_{ar} v^{fd}_{ar}
        + \sum_{i,d} tx_{ird}\, p^x_{ir}\, \tau_{ird} m_{ird} v^{xmd}_{ird}
        + \sum_{i,s} tm_{isr} (1+tx_{isr})\, p^x_{is}\, \tau_{isr} m_{isr} v^{xmd}_{isr}

(output taxes on cost; final-demand commodity taxes; export taxes as exporter; tariffs on the
world (fob = cif) value as importer). International transfers ``trf`` and foreign saving ``fsav``
are exogenous amounts in units of the numeraire (they scale with ``pnum``).

*Regional household* (``inc_ra``, paired with ``inc``): :math:`INC_r = F_r + T_r + NT_r`.
*Separate institutions*: household ``inc_h`` :math:`Y^H_r = F_r + NT_r`; government ``inc_g``
:math:`Y^G_r = \tau_d Y^H_r + T_r`.
"""

from __future__ import annotations

from pyomo.environ import Constraint, Expression, Var

from cge.blocks.context import Context
from cge.blocks.trade import export_price


def add_income(m, ctx: Context) -> None:
    """Income variables and equations, and the expressions ``factor_income``, ``tax_revenue``,
    ``net_transfers``, ``gdp``, ``saving`` and ``budget`` used by the demand rules."""
    p = ctx.p
    R = ctx.regions
    separate = ctx.options.institutions == "separate"

    def factor_income(m, r):
        total = 0.0
        for (f, rr) in ctx.FAC:
            if rr == r:
                supply = p["evom"][f, r] * m.endow[f, r]
                if ctx.options.factor_market == "unemployment" and f == ctx.options.labour:
                    supply = supply * m.lsup[r]
                total = total + m.pf[f, r] * supply
        for (f, j, rr) in ctx.FSP:
            if rr == r:
                total = total + m.pfs[f, j, r] * p["vfm"][f, j, r] * m.endow[f, r]
        return total

    m.factor_income = Expression(R, rule=factor_income, doc="factor income")
    yj = set(ctx.YJ)

    def revenue_terms(m, r):
        """Each tax base times its rate, in US$ of the benchmark (one term per base)."""
        terms = []
        for j in ctx.commodities:
            if (j, r) in yj:
                terms.append(p["cost0"][j, r] * m.to_eff[j, r] * m.cost_y[j, r] * m.Y[j, r])
        for a in ctx.agents:
            if (a, r) in ctx.fd_set:
                terms.append(p["vfd"][a, r] * m.tfd_eff[a, r] * m.pfd[a, r] * m.qfd[a, r])
        for i in ctx.commodities:
            for d in ctx.trd_from.get((i, r), []):  # export taxes collected by the exporter
                terms.append(p["vxmd"][i, r, d] * m.tx[i, r, d] * export_price(m, ctx, i, r)
                             * m.ice[i, r, d] * m.imp[i, r, d])
            for s in ctx.trd_to.get((i, r), []):  # tariffs collected by the importer
                terms.append(p["vxmd"][i, s, r] * m.tm[i, s, r] * (1.0 + m.tx[i, s, r])
                             * export_price(m, ctx, i, s) * m.ice[i, s, r] * m.imp[i, s, r])
        return terms

    # Tax revenue is a variable of its own (relative to benchmark GDP) with one defining
    # equation, written as a plain sum of small terms, each scaled by its own constant. The
    # income and defense equations then see one variable instead of every tax base: their
    # Hessian stays sparse (a sum wrapped as a whole in 1/GDP is one dense block for AMPL's
    # derivative code; with the instruments as variables that block went past 19 GB at 20
    # regions x 30 sectors).
    scale = {r: p["gdp0"][r] if p["gdp0"][r] > 0 else 1.0 for r in R}
    m.trev = Var(R, initialize=lambda m, r: p["tax_revenue0"][r] / scale[r],
                 doc="indirect tax revenue (share of benchmark GDP)")
    m.trev_def = Constraint(R, rule=lambda m, r: m.trev[r] == sum(
        (1.0 / scale[r]) * t for t in revenue_terms(m, r)), doc="indirect tax revenue")
    m.tax_revenue = Expression(R, rule=lambda m, r: scale[r] * m.trev[r],
                               doc="indirect tax revenue (US$ of the benchmark)")

    def net_transfers(m, r):
        return m.pnum * (sum(m.trf[s, r] for s in R if s != r)
                         - sum(m.trf[r, s] for s in R if s != r))

    m.net_transfers = Expression(R, rule=net_transfers, doc="net transfers received")
    m.gdp = Expression(R, rule=lambda m, r: m.factor_income[r] + m.tax_revenue[r],
                       doc="nominal GDP (income side, market prices)")

    if separate:
        m.yh = Var(R, initialize=1.0, doc="household income (index)")
        m.yg = Var(R, initialize=1.0, doc="government revenue (index)")
        # a region without government purchases has no government account: its tax revenue
        # (e.g. a new tariff) accrues to the household
        no_gov = {r for r in R if ("government", r) not in ctx.fd_set
                  and ("defense", r) not in ctx.fd_set}

        def inc_h(m, r):
            income = m.factor_income[r] + m.net_transfers[r]
            if r in no_gov:
                income = income + m.tax_revenue[r]
            return m.yh[r] == income / p["yh0"][r]

        m.inc_h = Constraint(R, rule=inc_h, doc="household income")

        def inc_g(m, r):
            if r in no_gov:
                return m.yg[r] == 1.0
            return m.yg[r] == (m.tau_d_eff[r] * m.yh[r] * p["yh0"][r]
                               + m.tax_revenue[r]) / p["yg0"][r]

        m.inc_g = Constraint(R, rule=inc_g, doc="government revenue")
        m.saving = Expression(R, rule=lambda m, r: p["s_h"][r] * m.yh[r] * p["yh0"][r]
                              + p["s_g"][r] * m.yg[r] * p["yg0"][r], doc="domestic saving")
        m.budget = Expression(R, rule=lambda m, r: (1.0 - p["s_g"][r]) * m.yg[r] * p["yg0"][r],
                              doc="government purchases budget")
        ctx.budget0 = {r: (1.0 - p["s_g"][r]) * p["yg0"][r] for r in R}
    else:
        m.inc = Var(R, initialize=1.0, doc="regional household income (index)")
        m.inc_ra = Constraint(R, rule=lambda m, r: m.inc[r] == (
            m.factor_income[r] + m.tax_revenue[r] + m.net_transfers[r]) / p["inc0"][r],
            doc="regional household income")
        m.saving = Expression(R, rule=lambda m, r: p["sav0"][r] / p["inc0"][r] * m.inc[r]
                              * p["inc0"][r], doc="regional saving (fixed share of income)")
        m.budget = Expression(R, rule=lambda m, r: m.inc[r] * p["inc0"][r],
                              doc="regional income")
        ctx.budget0 = {r: p["inc0"][r] for r in R}
