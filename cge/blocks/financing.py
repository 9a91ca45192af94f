r"""How a region finances its defense spending: lump-sum (default) or a named tax instrument.

By default a change in defense spending (and in direct purchases abroad) is financed lump-sum:
private consumption (regional household) or civil government (separate institutions) is the
budget residual. With tax financing, a surcharge ``tsur`` on a named tax base is free, and its
revenue pays for the defense spending above the benchmark share of the budget:

.. math::
    \text{revenue}(tsur) = E_{def} + DP - \theta^0_{def}\, B

(:math:`B` the regional income, or the government budget under separate institutions; :math:`DP`
direct purchases abroad). The cost of defense then reaches households through the tax wedge
(relative prices change) rather than as a lump sum.

Tax bases (0/1 switches, exactly one on when ``fin_tax = 1``): ``tsur_c`` household consumption
tax, ``tsur_o`` output tax on every sector, ``tsur_d`` direct tax on household income (separate
institutions only). The effective rates are ``tfd_eff``, ``to_eff`` and ``tau_d_eff``; every
block uses them. ``fin_rule`` pairs with ``tsur``: with ``fin_tax = 0`` it pins ``tsur = 0``.
"""

from __future__ import annotations

from pyomo.environ import Constraint, Expression, Var

from cge.blocks.context import Context


def add_financing_variables(m, ctx: Context) -> None:
    """Switches (fixed), the surcharge ``tsur`` (free) and the effective tax rates."""
    p = ctx.p
    R = ctx.regions
    for name, doc in (("fin_tax", "defense financed by a tax surcharge (1) or lump-sum (0)"),
                      ("tsur_c", "surcharge base: household consumption tax"),
                      ("tsur_o", "surcharge base: output tax"),
                      ("tsur_d", "surcharge base: direct tax (separate institutions)")):
        var = Var(R, initialize=0.0, doc=doc)
        setattr(m, name, var)
        var.fix()
    m.tsur = Var(R, initialize=0.0, bounds=(-0.9, None), doc="tax surcharge (fraction)")
    m.to_eff = Expression(ctx.YJ, rule=lambda m, j, r: m.to[j, r] + m.tsur_o[r] * m.tsur[r],
                          doc="output tax incl. the surcharge")

    def tfd_eff(m, a, r):
        if a == "household":
            return m.tfd[a, r] + m.tsur_c[r] * m.tsur[r]
        return m.tfd[a, r]

    m.tfd_eff = Expression(ctx.FDA, rule=tfd_eff, doc="final demand tax incl. the surcharge")
    m.tau_d_eff = Expression(R, rule=lambda m, r: p["tau_d"][r] + m.tsur_d[r] * m.tsur[r],
                             doc="direct tax rate incl. the surcharge")


def surcharge_revenue(m, ctx: Context, r: str):
    """Revenue of the surcharge ``tsur`` on the switched-on base(s) of region r."""
    p = ctx.p
    total = 0.0
    if ("household", r) in ctx.fd_set:
        total = total + m.tsur_c[r] * m.tsur[r] * (m.pfd["household", r] * m.qfd["household", r]
                                                  * p["vfd"]["household", r])
    total = total + m.tsur_o[r] * m.tsur[r] * sum(
        m.cost_y[j, rr] * m.Y[j, rr] * p["cost0"][j, rr] for (j, rr) in ctx.YJ if rr == r)
    if ctx.options.institutions == "separate":
        total = total + m.tsur_d[r] * m.tsur[r] * m.yh[r] * p["yh0"][r]
    return total


def add_financing_rule(m, ctx: Context) -> None:
    """``fin_rule`` (↔ ``tsur``): tsur = 0, or the surcharge pays for extra defense."""
    p = ctx.p

    def fin_rule(m, r):
        scale = ctx.budget0[r] or p["gdp0"][r] or 1.0
        if r in ctx.DEF and ctx.budget0[r] > 0:
            extra = (m.efd["defense", r]
                     - p["efd0"]["defense", r] / ctx.budget0[r] * m.budget[r])
        else:
            extra = 0.0
        extra = extra + m.direct_purchases[r]
        return ((1.0 - m.fin_tax[r]) * m.tsur[r]
                + m.fin_tax[r] * (surcharge_revenue(m, ctx, r) - extra) / scale == 0.0)

    m.fin_rule = Constraint(ctx.regions, rule=fin_rule, doc="defense financing rule")
