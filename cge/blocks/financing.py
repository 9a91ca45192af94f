r"""How a region pays for its extra defense outlays: lump-sum (default), a named tax, or a cut.

The *extra outlays* of region r are what its government spends above the benchmark, at current
prices:

.. math::
    X_r = E^{def}_r - \bar E^{def}_r + DP_r - p^{num} \bar{DP}_r
    \;[\,+\,GNT^{paid}_r\ \text{(separate institutions)}]

with :math:`\bar E^{def}_r = (1+t^{fd}_{def,r})\,p^{fd}_{def,r}\,v^{fd}_{def,r}` the cost of the
benchmark *real* defense level at current prices (so a change in the price of defense goods is
not an extra outlay), :math:`DP_r` direct purchases abroad (stationing, Foreign Military Sales),
:math:`\bar{DP}_r` those of the benchmark (the data set's stationing account ``vdpur``, paid
from the ordinary budget, so only a change of them is an extra outlay; amounts in units of the
numeraire, like transfers) and, with separate institutions, net transfers the government pays
to other governments (host-nation support, cost-sharing). Under the regional household,
transfers enter regional income and are shared by private consumption, civil government and
saving as in GTAP.

Financing rules (switches, fixed; at most one on per region):

* ``lump_sum`` (default): the extra outlays come out of private consumption — the budget
  residual under the regional household; a lump-sum levy ``levy`` from household
  consumption to the government with separate institutions.
* ``fin_tax = 1``: a surcharge ``tsur`` on one base (``tsur_c`` household consumption tax,
  ``tsur_o`` output tax on every sector, ``tsur_d`` direct tax on household income, separate
  institutions only) whose revenue equals :math:`X_r` (``fin_rule``, paired with ``tsur``).
* ``fin_cut = 1``: civil government purchases are cut by :math:`X_r` (a spending cut).

Neutrality: civil government and saving are shares of the region's *ordinary* income, net of the
surcharges that households alone bear (consumption and direct tax, and the levy) — see
``cge.blocks.income``. So, whatever the rule, the extra outlays are not re-spent on civil
government or saved, and to first order real civil government, real investment and real defense
are the same under every rule; the welfare difference between rules is the tax's excess burden.
An output-tax surcharge raises the prices every buyer pays and stays in ordinary income, so civil
government and saving keep (approximately) their real value.

The effective rates ``tfd_eff``, ``to_eff`` and ``tau_d_eff`` include the surcharge; every block
uses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyomo.environ import Constraint, Expression, Var

from cge.blocks.flows import output_at_cost, purchases

if TYPE_CHECKING:
    from cge.blocks.context import Context


def add_financing_variables(m, ctx: Context) -> None:
    """Switches (fixed), the surcharge ``tsur`` and the levy ``levy`` (free), effective rates."""
    p = ctx.p
    R = ctx.regions
    for name, doc in (("fin_tax", "extra outlays financed by a tax surcharge (1)"),
                      ("fin_cut", "extra outlays financed by a civil government cut (1)"),
                      ("tsur_c", "surcharge base: household consumption tax"),
                      ("tsur_o", "surcharge base: output tax"),
                      ("tsur_d", "surcharge base: direct tax (separate institutions)")):
        var = Var(R, initialize=0.0, doc=doc)
        setattr(m, name, var)
        var.fix()
    m.tsur = Var(R, initialize=0.0, bounds=(-0.9, None), doc="tax surcharge (fraction)")
    if ctx.options.institutions == "separate":
        m.levy = Var(R, initialize=0.0,
                     doc="lump-sum levy, household to government (share of benchmark GDP)")
    m.to_eff = Expression(ctx.YJ, rule=lambda m, j, r: m.to[j, r] + m.tsur_o[r] * m.tsur[r],
                          doc="output tax incl. the surcharge")

    def tfd_eff(m, a, r):
        if a == "household":
            return m.tfd[a, r] + m.tsur_c[r] * m.tsur[r]
        return m.tfd[a, r]

    m.tfd_eff = Expression(ctx.FDA, rule=tfd_eff, doc="final demand tax incl. the surcharge")
    m.tau_d_eff = Expression(R, rule=lambda m, r: p["tau_d"][r] + m.tsur_d[r] * m.tsur[r],
                             doc="direct tax rate incl. the surcharge")


def gdp_scale(ctx: Context, r: str) -> float:
    """Benchmark GDP of r (1 if zero): the unit of ``levy`` and of the financing equations."""
    return ctx.p["gdp0"][r] or 1.0


def levy_amount(m, ctx: Context, r: str):
    """The lump-sum levy of r in the data unit (0 under the regional household)."""
    if ctx.options.institutions != "separate":
        return 0.0
    return gdp_scale(ctx, r) * m.levy[r]


def consumption_surcharge(m, ctx: Context, r: str):
    """Revenue of the consumption-tax surcharge of r (part of indirect tax revenue)."""
    if ("household", r) not in ctx.fd_set:
        return 0.0
    return m.tsur_c[r] * m.tsur[r] * purchases(m, ctx, "household", r)


def output_surcharge(m, ctx: Context, r: str):
    """Revenue of the output-tax surcharge of r (part of indirect tax revenue)."""
    return m.tsur_o[r] * m.tsur[r] * sum(output_at_cost(m, ctx, j, rr)
                                         for (j, rr) in ctx.YJ if rr == r)


def direct_surcharge(m, ctx: Context, r: str):
    """Revenue of the direct-tax surcharge of r (separate institutions only)."""
    if ctx.options.institutions != "separate":
        return 0.0
    return m.tsur_d[r] * m.tsur[r] * m.yh[r] * ctx.p["yh0"][r]


def household_financing(m, ctx: Context, r: str):
    """Financing revenue that households alone bear: consumption and direct tax surcharges and
    the lump-sum levy. Ordinary income excludes it (``cge.blocks.income``)."""
    return (consumption_surcharge(m, ctx, r) + direct_surcharge(m, ctx, r)
            + levy_amount(m, ctx, r))


def surcharge_revenue(m, ctx: Context, r: str):
    """Revenue of the surcharge ``tsur`` on the switched-on base of region r."""
    return (consumption_surcharge(m, ctx, r) + output_surcharge(m, ctx, r)
            + direct_surcharge(m, ctx, r))


def extra_outlays(m, ctx: Context, r: str):
    r"""Extra outlays :math:`X_r` of r's government (module docstring), data unit."""
    p = ctx.p
    extra = m.direct_purchases[r]
    if ctx.direct_purchases0(r):    # the benchmark's own purchases are paid from the budget
        extra = extra - m.pnum * ctx.direct_purchases0(r)
    if r in ctx.DEF:
        unit = (1.0 + m.tfd_eff["defense", r]) * m.pfd["defense", r] * p["vfd"]["defense", r]
        extra = extra + unit * (m.qfd["defense", r] - 1.0)
    if ctx.options.institutions == "separate":
        extra = extra - m.net_transfers_gov[r]
    return extra


def add_extra_outlays(m, ctx: Context) -> None:
    """Expression ``extra_outlays`` (:func:`extra_outlays` for each region), built once and
    shared by the financing rules and the spending-cut rule of civil government. Needs
    ``direct_purchases`` (``cge.blocks.demand``)."""
    m.extra_outlays = Expression(ctx.regions, rule=lambda m, r: extra_outlays(m, ctx, r),
                                 doc="extra government outlays to be financed")


def add_financing_rule(m, ctx: Context) -> None:
    """``fin_rule`` (↔ ``tsur``): tsur = 0, or the surcharge revenue equals the extra outlays;
    with separate institutions ``levy_rule`` (↔ ``levy``): the levy equals the extra outlays
    under lump-sum financing, else 0."""

    def fin_rule(m, r):
        gap = (surcharge_revenue(m, ctx, r) - m.extra_outlays[r]) / gdp_scale(ctx, r)
        return (1.0 - m.fin_tax[r]) * m.tsur[r] + m.fin_tax[r] * gap == 0.0

    m.fin_rule = Constraint(ctx.regions, rule=fin_rule, doc="financing rule: surcharge")
    if ctx.options.institutions != "separate":
        return

    def levy_rule(m, r):
        lump_sum = 1.0 - m.fin_tax[r] - m.fin_cut[r]
        return m.levy[r] == lump_sum * m.extra_outlays[r] / gdp_scale(ctx, r)

    m.levy_rule = Constraint(ctx.regions, rule=levy_rule, doc="financing rule: lump-sum levy")
