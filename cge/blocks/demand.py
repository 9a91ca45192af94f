r"""Final demand: household, civil government, defense and investment bundles.

Each final agent a buys a CES bundle (σ from ``ModelOptions.esub_final``: 1 = Cobb–Douglas,
0 = fixed coefficients) of Armington composites, with price index ``pfd`` (``prf_fd``) and real
quantity index ``qfd``. Its expenditure, commodity taxes included, is
:math:`E_{ar} = (1+t^{fd}_{ar})\,p^{fd}_{ar}\,q^{fd}_{ar}\,v^{fd}_{ar}`.

Expenditure rules (``dem_fd``, paired with ``qfd``):

Direct government purchases abroad (``dpur``: the costs of forces stationed abroad, Foreign
Military Sales) are spent on top of the bundles; with defense above its benchmark real level
and transfers between governments they are the region's *extra outlays*, financed by the
region's financing rule (``cge.blocks.financing``: lump-sum by default).

*Regional household* (GTAP): civil government and saving take fixed (benchmark) shares of
ordinary income (regional income net of the financing surcharges households bear); defense is
held at its benchmark real level unless set otherwise (a real level, a share of GDP, or its
benchmark share of the ordinary budget); private consumption is the residual, so extra outlays
financed lump-sum come out of private consumption, and a spending cut (``fin_cut``) takes them
out of civil government. Investment = regional saving + foreign saving (or, with a global bank,
a fixed share of world saving).

*Separate institutions* (Hosoe, Gasawa & Hashimoto 2010): household consumption
:math:`= (1-\tau_d-s_h) Y^H - L` (:math:`L` the lump-sum levy); the government's funds
(ordinary budget + financing revenue + transfers from other governments) pay defense, direct
purchases abroad and civil government, the residual; investment :math:`= s_h Y^H + s_g O +`
foreign saving.
"""

from __future__ import annotations

from pyomo.environ import Constraint, Expression, Var

from cge.blocks.ces import ces_price
from cge.blocks.context import Context
from cge.blocks.financing import add_extra_outlays
from cge.blocks.flows import DEFENSE, GOVERNMENT, HOUSEHOLD, INVESTMENT
from cge.closures import institutions, investment_spending


def add_final_demand_variables(m, ctx: Context) -> None:
    """Final demand price indices ``pfd`` and real quantities ``qfd`` (benchmark 1)."""
    m.pfd = Var(ctx.FDA, initialize=1.0, bounds=(1e-8, None), doc="final demand price index")
    m.qfd = Var(ctx.FDA, initialize=1.0, bounds=(0.0, None), doc="final demand (real index)")


def add_final_demand(m, ctx: Context) -> None:
    """Variables ``pfd``, ``qfd``; expression ``efd``; equation ``prf_fd``."""
    p = ctx.p

    def prf_fd(m, a, r):
        inputs = ctx.fd_inputs[a, r]
        return m.pfd[a, r] == ces_price([p["theta_fd"][i, a, r] for i in inputs],
                                        [m.pa[i, a, r] for i in inputs], ctx.esub_fd(a))

    m.prf_fd = Constraint(ctx.FDA, rule=prf_fd, doc="final demand price index")

    def efd_rule(m, a, r):
        return (1.0 + m.tfd_eff[a, r]) * m.pfd[a, r] * m.qfd[a, r] * p["vfd"][a, r]

    m.efd = Expression(ctx.FDA, rule=efd_rule, doc="final demand expenditure incl. taxes")


def add_expenditure_rules(m, ctx: Context) -> None:
    r"""Equations ``dem_fd`` (all agents but defense) and ``dem_def``.

    Defense is a real level by default: ``qfd`` = ``def_real`` (1 in the benchmark, so a
    scenario that does not touch defense leaves real defense unchanged). A target "share of
    GDP" is a real level too: the share of benchmark GDP at benchmark prices (set by
    ``cge.shocks``), so it neither moves with the numeraire nor with a financing surcharge
    that raises nominal GDP. With the 0/1 instrument ``def_rule_budget`` = 1, defense keeps
    its benchmark share of the ordinary budget instead (the rule before December 2026).
    Switching rules changes instrument values only, so the equation system keeps its
    structure.

    Needs the income (``budget``, ``saving``, ``gdp``, ...) and financing blocks.
    """
    p = ctx.p
    closure = institutions(ctx)
    m.direct_purchases = Expression(
        ctx.regions, rule=lambda m, r: m.pnum * sum(
            m.dpur[s, r] for s in ctx.regions if (s, r) in ctx.dp_weights),
        doc="direct government purchases abroad (stationing, FMS), financed like defense")
    add_extra_outlays(m, ctx)

    def dem_fd(m, a, r):
        e0 = p["efd0"][a, r]
        if a == DEFENSE:
            return Constraint.Skip
        if a == HOUSEHOLD:
            rhs = closure.household_spending(m, ctx, r)
        elif a == GOVERNMENT:
            rhs = closure.government_spending(m, ctx, r)
        elif a == INVESTMENT:
            rhs = investment_spending(m, ctx, r)
        else:  # pragma: no cover - agents are fixed by the data format
            raise ValueError(f"unknown final demand agent {a!r}")
        return m.efd[a, r] / e0 == rhs / e0

    m.dem_fd = Constraint(ctx.FDA, rule=dem_fd, doc="final demand expenditure rules")

    def dem_def(m, r):
        e0 = p["efd0"][DEFENSE, r]
        share_of_budget = m.efd[DEFENSE, r] / e0 - m.budget[r] / ctx.budget0(r)
        real_level = m.qfd[DEFENSE, r] - m.def_real[r]
        return (m.def_rule_budget[r] * share_of_budget
                + (1.0 - m.def_rule_budget[r]) * real_level == 0)

    m.dem_def = Constraint(ctx.DEF, rule=dem_def, doc="defense spending rule")
