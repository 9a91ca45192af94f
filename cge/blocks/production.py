r"""Production: nested CES technology of each sector j in region r.

.. math::
    p^{va}_{jr} = \mathrm{CES}_{\sigma^{va}_j}\big(\theta^f_{fjr};\; p^f_{fr}/\pi_{fjr}\big), \qquad
    p^{int}_{jr} = \sum_i \theta^{int}_{ijr}\, p^a_{ijr}, \qquad
    c^y_{jr} = \mathrm{CES}_{\sigma^{top}}\big(\theta^{va}_{jr}; p^{va}_{jr}, p^{int}_{jr}\big)

Zero profit (``prf_y``, paired with the activity level ``Y``): the market value of a unit of
output equals unit cost grossed up by the output tax ``to``,
:math:`R_{jr}\,(1+to^0_{jr}) = (1+to_{jr})\, c^y_{jr}`, where :math:`R` is the output price
(``pd``), or the CET revenue function of domestic and export prices with a CET.
:math:`\pi_{fjr}` is factor-augmenting productivity (an instrument, benchmark 1).
"""

from __future__ import annotations

from pyomo.environ import Constraint, Expression, Var

from cge.blocks.ces import ces_price, cet_price, demand_index
from cge.blocks.context import Context


def factor_price(m, ctx: Context, f: str, j: str, r: str):
    """Price paid per physical unit of factor f by activity j in r."""
    if f in ctx.sector_priced:
        return m.pfs[f, j, r]
    return m.pf[f, r]


def add_production_variables(m, ctx: Context) -> None:
    """Activity levels ``Y`` and value-added prices ``pva`` (benchmark 1)."""
    m.Y = Var(ctx.YJ, initialize=1.0, bounds=(0.0, None), doc="activity level (index)")
    m.pva = Var(ctx.YJ, initialize=1.0, bounds=(1e-8, None), doc="price of value added")


def add_production(m, ctx: Context) -> None:
    """Variables ``Y``, ``pva``; expressions ``pint``, ``cost_y``, ``qf``; equations ``prf_va``,
    ``prf_y``."""
    p = ctx.p
    sig_top = ctx.options.esub_top

    def pint_rule(m, j, r):
        inputs = ctx.int_inputs.get((j, r), [])
        if not inputs:
            return 1.0
        total = p["int0"][j, r]
        return sum((p["vdfm"][i, j, r] + p["vifm"][i, j, r]) / total * m.pa[i, j, r]
                   for i in inputs)

    m.pint = Expression(ctx.YJ, rule=pint_rule, doc="price of the intermediate bundle")

    def cost_rule(m, j, r):
        tva = p["theta_va"][j, r]
        return ces_price([tva, 1.0 - tva], [m.pva[j, r], m.pint[j, r]], sig_top)

    m.cost_y = Expression(ctx.YJ, rule=cost_rule, doc="unit cost of output before output tax")

    def pfe(m, f, j, r):
        return factor_price(m, ctx, f, j, r) / m.prod_f[f, j, r]

    def prf_va(m, j, r):
        fs = ctx.factors_of.get((j, r), [])
        return m.pva[j, r] == ces_price([p["theta_f"][f, j, r] for f in fs],
                                        [pfe(m, f, j, r) for f in fs], p["esubva"][j])

    m.prf_va = Constraint(ctx.YJ, rule=prf_va, doc="zero profit of the value-added nest")

    def qf_rule(m, f, j, r):
        # physical factor demand relative to benchmark
        return (m.Y[j, r] * demand_index(m.cost_y[j, r], m.pva[j, r], sig_top)
                * demand_index(m.pva[j, r], pfe(m, f, j, r), p["esubva"][j]) / m.prod_f[f, j, r])

    m.qf = Expression(ctx.VAF, rule=qf_rule, doc="factor demand (index)")

    def py_rule(m, j, r):
        if not ctx.cet:
            return m.pd[j, r]
        shares, prices = [], []
        th_e = p["theta_e"][j, r]
        if (j, r) in ctx.D:
            shares.append(1.0 - th_e)
            prices.append(m.pd[j, r])
        if (j, r) in ctx.E:
            shares.append(th_e)
            prices.append(m.pe[j, r])
        return cet_price(shares, prices, ctx.options.esub_cet)

    m.py = Expression(ctx.YJ, rule=py_rule,
                      doc="output price: pd, or CET unit revenue of domestic and export sales")

    def prf_y(m, j, r):
        return m.py[j, r] * (1.0 + p["to0"][j, r]) == (1.0 + m.to_eff[j, r]) * m.cost_y[j, r]

    m.prf_y = Constraint(ctx.YJ, rule=prf_y, doc="zero profit of production")
    m.qint = Expression(ctx.YJ, rule=lambda m, j, r: intermediate_demand_index(m, ctx, j, r),
                        doc="intermediate bundle demand (index)")


def intermediate_demand_index(m, ctx: Context, j: str, r: str):
    """Demand for each intermediate composite per benchmark unit: Y (c^y/p^int)^σ_top."""
    return m.Y[j, r] * demand_index(m.cost_y[j, r], m.pint[j, r], ctx.options.esub_top)

