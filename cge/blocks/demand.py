r"""Final demand: household, civil government, defense and investment bundles.

Each final agent a buys a CES bundle (σ from ``ModelOptions.esub_final``: 1 = Cobb–Douglas,
0 = fixed coefficients) of Armington composites, with price index ``pfd`` (``prf_fd``) and real
quantity index ``qfd``. Its expenditure, commodity taxes included, is
:math:`E_{ar} = (1+t^{fd}_{ar})\,p^{fd}_{ar}\,q^{fd}_{ar}\,v^{fd}_{ar}`.

Expenditure rules (``dem_fd``, paired with ``qfd``):

Direct government purchases abroad (``dpur``: the costs of forces stationed abroad, Foreign
Military Sales) are spent on top of the bundles and financed the same way as a defense increase:
out of private consumption (regional household) or civil government (separate institutions).

*Regional household* (GTAP): civil government and saving take fixed shares of regional income;
defense takes its benchmark share of income, or is set exogenously (a real level, or a share of
GDP); private consumption is the residual, so an exogenous defense increase is financed lump-sum
out of private consumption. Investment = regional saving + foreign saving (or, with a global bank,
a fixed share of world saving).

*Separate institutions* (Hosoe, Gasawa & Hashimoto 2010): household consumption
:math:`= (1-\tau_d-s_h) Y^H`; government purchases civil + defense :math:`= (1-s_g) Y^G`, defense
taking its benchmark share unless set exogenously, civil government the residual; investment
:math:`= s_h Y^H + s_g Y^G +` foreign saving.
"""

from __future__ import annotations

from pyomo.environ import Constraint, Expression, Var

from cge.blocks.ces import ces_price
from cge.blocks.context import Context

HOUSEHOLD, GOVERNMENT, DEFENSE, INVESTMENT = "household", "government", "defense", "investment"


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


def spending(m, ctx: Context, a: str, r: str):
    """Expenditure of final agent a in r, 0 if the agent is absent."""
    return m.efd[a, r] if (a, r) in ctx.fd_set else 0.0


def add_expenditure_rules(m, ctx: Context) -> None:
    """Equations ``dem_fd`` (all agents but defense) and ``dem_def``.

    The defense rule is selected by three 0/1 instruments (exactly one is 1): ``def_rule_budget``
    (benchmark share of the budget, default), ``def_rule_gdp`` (``def_share`` of GDP) and
    ``def_rule_real`` (real purchases ``qfd`` = ``def_real``). Switching rules changes instrument
    values only, so the equation system keeps its structure.

    Needs the income expressions (``cge.blocks.income``): ``budget``, ``saving``, ``gdp``.
    """
    p = ctx.p
    separate = ctx.options.institutions == "separate"
    global_bank = ctx.options.external == "global_bank"
    world_inv0 = sum(p["efd0"][INVESTMENT, r] for r in ctx.regions)
    m.direct_purchases = Expression(
        ctx.regions, rule=lambda m, r: m.pnum * sum(
            m.dpur[s, r] for s in ctx.regions if (s, r) in ctx.dp_weights),
        doc="direct government purchases abroad (stationing, FMS), financed like defense")

    def dem_fd(m, a, r):
        e0 = p["efd0"][a, r]
        if a == DEFENSE:
            return Constraint.Skip
        if a == HOUSEHOLD:
            if separate:
                rhs = (1.0 - m.tau_d_eff[r] - p["s_h"][r]) * m.yh[r] * p["yh0"][r]
            else:
                rhs = (m.inc[r] * p["inc0"][r] - spending(m, ctx, GOVERNMENT, r)
                       - spending(m, ctx, DEFENSE, r) - m.saving[r] - m.direct_purchases[r])
        elif a == GOVERNMENT:
            if separate:
                rhs = m.budget[r] - spending(m, ctx, DEFENSE, r) - m.direct_purchases[r]
            else:
                rhs = p["efd0"][a, r] / p["inc0"][r] * m.inc[r] * p["inc0"][r]
        elif a == INVESTMENT:
            if global_bank:
                rhs = e0 / world_inv0 * sum(m.saving[s] for s in ctx.regions)
            else:
                rhs = m.saving[r] + m.fsav[r] * m.pnum
        else:  # pragma: no cover - agents are fixed by the data format
            raise ValueError(f"unknown final demand agent {a!r}")
        return m.efd[a, r] / e0 == rhs / e0

    m.dem_fd = Constraint(ctx.FDA, rule=dem_fd, doc="final demand expenditure rules")

    ctx.DEF = [r for (a, r) in ctx.FDA if a == DEFENSE]

    def dem_def(m, r):
        e0 = p["efd0"][DEFENSE, r]
        share_of_budget = m.efd[DEFENSE, r] / e0 - m.budget[r] / ctx.budget0[r]
        share_of_gdp = (m.efd[DEFENSE, r] - m.def_share[r] * m.gdp[r]) / e0
        real_level = m.qfd[DEFENSE, r] - m.def_real[r]
        return (m.def_rule_budget[r] * share_of_budget + m.def_rule_gdp[r] * share_of_gdp
                + m.def_rule_real[r] * real_level == 0)

    m.dem_def = Constraint(ctx.DEF, rule=dem_def, doc="defense spending rule")
