r"""Income: factor income, tax revenue, international transfers, saving.

Tax revenue of region r (all accrue to the taxing region):

.. math::
    T_r = \sum_j to_{jr}\, c^y_{jr} Y_{jr} v^{c}_{jr}
        + \sum_a t^{fd}_{ar} p^{fd}_{ar} q^{fd}_{ar} v^{fd}_{ar}
        + \sum_{i,d} tx_{ird}\, p^x_{ir}\, \tau_{ird} m_{ird} v^{xmd}_{ird}
        + \sum_{i,s} tm_{isr} (1+tx_{isr})\, p^x_{is}\, \tau_{isr} m_{isr} v^{xmd}_{isr}

(output taxes on cost; final-demand commodity taxes; export taxes as exporter; tariffs on the
world (fob = cif) value as importer). International transfers — private ``trf`` (household to
household) and between governments ``gtrf`` — and foreign saving ``fsav`` are exogenous amounts
**in units of the numeraire** (they scale with ``pnum``): what is held fixed is their value in
the numeraire, so the numeraire choice changes real results (the default, the world factor
price index, is a world average of factor prices, not a currency).

*Regional household* (``inc_ra``, paired with ``inc``): :math:`INC_r = F_r + T_r + NT_r`
(all transfers). *Ordinary income* :math:`B_r = INC_r - R^{hh}_r` nets out the financing
surcharges that households alone bear (``cge.blocks.financing``); civil government and saving
are its benchmark shares.

*Separate institutions*: household ``inc_h`` :math:`Y^H_r = F_r + NT^{private}_r`; government
``inc_g`` :math:`Y^G_r = \tau^{eff}_d Y^H_r + T_r + L_r + NT^{gov}_r` (:math:`L_r` the lump-sum
levy). Ordinary revenue :math:`O_r = Y^G_r - R^{hh}_r - NT^{gov}_r` (revenue at the benchmark
tax rates); government saving :math:`s_g O_r`; ordinary budget :math:`B_r = (1-s_g) O_r`; funds
for civil government, defense and direct purchases :math:`B_r + R^{hh}_r + NT^{gov}_r`;
domestic saving :math:`s_h Y^H_r + s_g O_r`.
"""

from __future__ import annotations

from pyomo.environ import Constraint, Expression, Var

from cge.blocks.context import Context
from cge.blocks.financing import household_financing, levy_amount
from cge.blocks.flows import cif_value, export_price, output_at_cost, purchases, shipped
from cge.closures import RegionalHousehold, SeparateInstitutions, employed, institutions


def add_income(m, ctx: Context) -> None:
    """Income variables and equations, and the expressions ``factor_income``, ``tax_revenue``,
    ``net_transfers`` (``_private``, ``_gov``), ``gdp``, ``saving``, ``budget`` (and, with
    separate institutions, ``ordinary_revenue`` and ``gov_funds``) used by the demand rules."""
    p = ctx.p
    R = ctx.regions

    def factor_income(m, r):
        total = 0.0
        for (f, rr) in ctx.FAC:
            if rr == r:
                total = total + m.pf[f, r] * employed(m, ctx, f, r)
        for (f, j, rr) in ctx.FSP:
            if rr == r and ctx.roles[f] == "fixed":
                total = total + m.pfs[f, j, r] * p["vfm"][f, j, r] * m.endow[f, r]
        for (f, rr) in ctx.SLG:      # sum_j pfs q^f = pft E (the CET's revenue identity)
            if rr == r:
                total = total + m.pft[f, r] * p["evom"][f, r] * m.endow[f, r]
        return total

    m.factor_income = Expression(R, rule=factor_income, doc="factor income")
    yj = set(ctx.YJ)

    def revenue_terms(m, r):
        """Each tax base times its rate, in US$ of the benchmark (one term per base)."""
        terms = []
        for j in ctx.commodities:
            if (j, r) in yj:
                terms.append(m.to_eff[j, r] * output_at_cost(m, ctx, j, r))
        for a in ctx.agents:
            if (a, r) in ctx.fd_set:
                terms.append(m.tfd_eff[a, r] * purchases(m, ctx, a, r))
        for i in ctx.commodities:
            for d in ctx.trd_from.get((i, r), []):  # export taxes collected by the exporter
                terms.append(m.tx[i, r, d] * export_price(m, ctx, i, r)
                             * shipped(m, ctx, i, r, d))
            for s in ctx.trd_to.get((i, r), []):  # tariffs collected by the importer (cif)
                if (i, s, r) in ctx.route_margins:
                    terms.append(m.tm[i, s, r] * cif_value(m, ctx, i, s, r))
                    continue
                terms.append(m.tm[i, s, r] * (1.0 + m.tx[i, s, r]) * export_price(m, ctx, i, s)
                             * shipped(m, ctx, i, s, r))
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

    def transfers_in(var, r):
        return m.pnum * (sum(var[s, r] for s in R if s != r)
                         - sum(var[r, s] for s in R if s != r))

    m.net_transfers_private = Expression(R, rule=lambda m, r: transfers_in(m.trf, r),
                                         doc="net private transfers received (households)")
    m.net_transfers_gov = Expression(R, rule=lambda m, r: transfers_in(m.gtrf, r),
                                     doc="net transfers received from other governments")
    m.net_transfers = Expression(R, rule=lambda m, r: m.net_transfers_private[r]
                                 + m.net_transfers_gov[r], doc="net transfers received")
    m.gdp = Expression(R, rule=lambda m, r: m.factor_income[r] + m.tax_revenue[r],
                       doc="nominal GDP (income side, market prices)")
    ACCOUNTS[institutions(ctx).name](m, ctx)


def _add_regional_household(m, ctx: Context) -> None:
    """``inc`` (↔ ``inc_ra``); ``budget`` = ordinary income; ``saving`` its benchmark share."""
    p = ctx.p
    R = ctx.regions
    m.inc = Var(R, initialize=1.0, doc="regional household income (index)")
    m.inc_ra = Constraint(R, rule=lambda m, r: m.inc[r] == (
        m.factor_income[r] + m.tax_revenue[r] + m.net_transfers[r]) / p["inc0"][r],
        doc="regional household income")
    _add_budget_and_saving(m, ctx, "ordinary income: regional income net of household "
                           "surcharges", "regional saving (benchmark share of ordinary income)")


def _add_separate_accounts(m, ctx: Context) -> None:
    """Household ``yh`` (↔ ``inc_h``) and government ``yg`` (↔ ``inc_g``) accounts."""
    p = ctx.p
    R = ctx.regions
    no_gov = ctx.no_gov
    m.yh = Var(R, initialize=1.0, doc="household income (index)")
    m.yg = Var(R, initialize=1.0, doc="government revenue (index)")

    def inc_h(m, r):
        income = m.factor_income[r] + m.net_transfers_private[r]
        if r in no_gov:  # no government account: its taxes and transfers go to the household
            income = income + m.tax_revenue[r] + m.net_transfers_gov[r]
        return m.yh[r] == income / p["yh0"][r]

    m.inc_h = Constraint(R, rule=inc_h, doc="household income")

    def inc_g(m, r):
        if r in no_gov:
            return m.yg[r] == 1.0
        return m.yg[r] == (m.tau_d_eff[r] * m.yh[r] * p["yh0"][r] + m.tax_revenue[r]
                           + levy_amount(m, ctx, r) + m.net_transfers_gov[r]) / p["yg0"][r]

    m.inc_g = Constraint(R, rule=inc_g, doc="government revenue")

    def ordinary(m, r):
        if r in no_gov:
            return 0.0
        return (m.yg[r] * p["yg0"][r] - household_financing(m, ctx, r)
                - m.net_transfers_gov[r])

    m.ordinary_revenue = Expression(R, rule=ordinary, doc="government revenue at ordinary "
                                    "rates, without financing revenue and transfers")
    _add_budget_and_saving(m, ctx, "ordinary government purchases budget", "domestic saving")
    m.gov_funds = Expression(R, rule=lambda m, r: m.budget[r] + household_financing(m, ctx, r)
                             + m.net_transfers_gov[r] if r not in no_gov else 0.0,
                             doc="funds for civil government, defense and direct purchases")


def _add_budget_and_saving(m, ctx: Context, budget_doc: str, saving_doc: str) -> None:
    """``budget`` and ``saving`` by the rules of the institutions closure
    (:func:`cge.closures.institutions`)."""
    closure = institutions(ctx)
    m.budget = Expression(ctx.regions, rule=lambda m, r: closure.budget(m, ctx, r),
                          doc=budget_doc)
    m.saving = Expression(ctx.regions, rule=lambda m, r: closure.saving(m, ctx, r),
                          doc=saving_doc)


#: The income accounts of each institutions closure (``cge.closures.INSTITUTIONS``).
ACCOUNTS = {RegionalHousehold.name: _add_regional_household,
            SeparateInstitutions.name: _add_separate_accounts}
