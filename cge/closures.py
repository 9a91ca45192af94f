r"""Closure rules, chosen by name in ``ModelOptions``: what is fixed and what adjusts.

* **Numeraire** (``num_def``, paired with the Walras slack): a price index equals ``pnum`` (1).
  ``world_factor_price`` (default) — the benchmark-value-weighted average of all factor
  prices; ``factor_price:<f>:<r>`` — one factor's price; ``cpi:<r>`` — a region's consumer
  price index. Fixed amounts (foreign saving, transfers, direct purchases) are in its units.
* **Factor markets** (:func:`factor_roles`, :func:`employed`). Each factor has a role
  (``ModelOptions.factor_roles``, from the data set for GTAP data: GTAP's ENDM / ENDS / ENDF):
  ``mobile`` — endowment fixed, full employment, one price per factor and region adjusts;
  ``sluggish`` — the endowment is transformed into supplies to the sectors by a CET with
  elasticity ``etrae``, a price per sector (``pfs``) and a CET price index (``pft``) adjust;
  ``fixed`` — fixed in each sector, a price per sector adjusts. On top of the roles,
  ``factor_market`` = ``mobile`` (default) keeps them; ``sector_specific_capital`` makes capital
  fixed; ``unemployment`` fixes the real wage of (mobile) labour,
  :math:`p^f_{L,r} = \bar w_r\, p^{fd}_{hh,r}`, and the employment index ``lsup`` adjusts
  (``wage_rule``, paired with ``lsup``). The sets are derived in ``cge.blocks.context``, the
  market equations are in ``cge.blocks.markets``.
* **External balance** (:func:`investment_spending`): ``fixed_current_account`` (default) —
  each region's foreign saving ``fsav`` is fixed in numeraire units, investment = domestic
  saving + foreign saving adjusts with saving; ``global_bank`` — world saving is pooled and
  each region's investment is a fixed share of it, so foreign saving adjusts.
* **Institutions** (:data:`INSTITUTIONS`, chosen by ``ModelOptions.institutions``):
  ``regional_household`` (default, :class:`RegionalHousehold`) or ``separate``
  (:class:`SeparateInstitutions`) — which shares of income are fixed (saving, civil government)
  and which spending is the residual. The income accounts they read are in
  ``cge.blocks.income``, the financing of extra outlays in ``cge.blocks.financing``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyomo.environ import Constraint, Var

from cge.blocks.financing import household_financing, levy_amount
from cge.blocks.flows import DEFENSE, GOVERNMENT, spending
from cge.options import ModelOptions, OptionsError

if TYPE_CHECKING:
    from cge.blocks.context import Context


def factor_roles(options: ModelOptions, factors: list[str]) -> dict[str, str]:
    """The role of every factor in the data (``mobile``, ``sluggish`` or ``fixed``): the
    options' ``factor_roles`` (a factor not named is mobile), with capital fixed under
    ``factor_market = "sector_specific_capital"``. A role for a factor the data lack, or a
    missing capital or labour factor that the closure names, is an :class:`OptionsError`."""
    unknown = sorted(set(options.factor_roles) - set(factors))
    if unknown:
        raise OptionsError(f"factor_roles names factors {unknown} that are not in the data "
                           f"(factors: {factors})")
    roles = {f: options.factor_roles.get(f, "mobile") for f in factors}
    if options.factor_market == "sector_specific_capital":
        if options.capital not in factors:
            raise OptionsError(f"closure sector_specific_capital: factor {options.capital!r} "
                               f"is not in the data (factors: {factors})")
        roles[options.capital] = "fixed"
    if options.factor_market == "unemployment" and options.labour not in factors:
        raise OptionsError(f"closure unemployment: factor {options.labour!r} is not in the "
                           f"data (factors: {factors})")
    return roles


def numeraire_index(m, ctx: Context):
    """The price index that the numeraire rule pins to ``pnum``."""
    p = ctx.p
    name = ctx.options.numeraire
    if name == "world_factor_price":
        num = sum(p["evom"][f, r] * m.pf[f, r] for (f, r) in ctx.FAC)
        num = num + sum(p["vfm"][f, j, r] * m.pfs[f, j, r] for (f, j, r) in ctx.FSP)
        den = sum(p["evom"][f, r] for (f, r) in ctx.FAC) + sum(
            p["vfm"][k] for k in ctx.FSP)
        return num / den
    kind, _, rest = name.partition(":")
    if kind == "factor_price":
        f, _, r = rest.partition(":")
        if (f, r) in set(ctx.SLG):
            return m.pft[f, r]
        if (f, r) not in set(ctx.FAC):
            valid = [f"factor_price:{a}:{b}" for a, b in (*ctx.FAC, *ctx.SLG)]
            raise OptionsError(f"numeraire {name!r}: no mobile or sluggish factor market "
                               f"({f!r}, {r!r}); valid: {valid}")
        return m.pf[f, r]
    if kind == "cpi":
        if ("household", rest) not in ctx.fd_set:
            raise OptionsError(f"numeraire {name!r}: region {rest!r} has no household "
                               f"consumption; valid regions: {ctx.regions}")
        return m.pfd["household", rest]
    raise OptionsError(f"numeraire {name!r} is not known; use 'world_factor_price', "
                       "'factor_price:<factor>:<region>' or 'cpi:<region>'")


def add_closure_variables(m, ctx: Context) -> None:
    """``lsup`` (unemployment closure): the employment index of labour by region."""
    if ctx.options.factor_market == "unemployment":
        m.lsup = Var(ctx.regions, initialize=1.0, bounds=(0.0, None), doc="employment index")


def employed(m, ctx: Context, f: str, r: str):
    """Employed endowment of the mobile factor f in r, benchmark value units: the endowment,
    times the employment index for labour under the unemployment closure."""
    supply = ctx.p["evom"][f, r] * m.endow[f, r]
    if ctx.options.factor_market == "unemployment" and f == ctx.options.labour:
        supply = supply * m.lsup[r]
    return supply


def investment_spending(m, ctx: Context, r: str):
    """Investment expenditure of r under the external closure: domestic saving + foreign
    saving (fixed current account), or r's benchmark share of world saving (global bank)."""
    if ctx.options.external == "global_bank":
        p = ctx.p
        world_inv0 = sum(p["efd0"]["investment", s] for s in ctx.regions)
        return p["efd0"]["investment", r] / world_inv0 * sum(m.saving[s] for s in ctx.regions)
    return m.saving[r] + m.fsav[r] * m.pnum


def add_closures(m, ctx: Context) -> None:
    """Numeraire equation and the unemployment wage rule."""
    m.num_def = Constraint(expr=numeraire_index(m, ctx) == m.pnum, doc="numeraire")
    if ctx.options.factor_market == "unemployment":
        lab = ctx.options.labour
        regions = [r for (f, r) in ctx.FAC if f == lab]
        for r in ctx.regions:
            if r not in regions:
                m.lsup[r].fix(1.0)

        def wage_rule(m, r):
            return m.pf[lab, r] == m.wbar[r] * m.pfd["household", r]

        m.wage_rule = Constraint(regions, rule=wage_rule, doc="fixed real wage")


class RegionalHousehold:
    r"""``institutions = "regional_household"`` (GTAP's regional household, the default).

    One account per region receives all income, :math:`INC_r = F_r + T_r + NT_r` (``inc``, from
    ``inc_ra``). *Ordinary income* :math:`B_r = INC_r - R^{hh}_r` nets out the financing
    surcharges that households alone bear.

    **Fixed**: the benchmark shares of ordinary income spent by civil government,
    :math:`E_{G,r} = (E^0_{G,r}/INC^0_r)\,B_r - \text{cut}_r\,X_r` (a spending cut ``fin_cut``
    takes the extra outlays :math:`X_r` out of it), and saved, :math:`S_r = (S^0_r/INC^0_r)\,B_r`.
    **Adjusts**: household consumption, the residual
    :math:`E_{H,r} = INC_r - E_{G,r} - E_{D,r} - S_r - DP_r` (defense :math:`E_D`, direct
    purchases abroad :math:`DP`), so extra outlays financed lump-sum come out of it.
    """

    name = "regional_household"

    @staticmethod
    def budget(m, ctx: Context, r: str):
        r"""Ordinary income :math:`B_r = INC_r - R^{hh}_r` (US$ of the benchmark)."""
        return m.inc[r] * ctx.p["inc0"][r] - household_financing(m, ctx, r)

    @staticmethod
    def budget0(ctx: Context, r: str) -> float:
        r"""Benchmark ordinary income: regional income :math:`INC^0_r`."""
        return ctx.p["inc0"][r]

    @staticmethod
    def saving(m, ctx: Context, r: str):
        """Regional saving: its benchmark share of ordinary income."""
        return ctx.p["sav0"][r] / ctx.p["inc0"][r] * m.budget[r]

    @staticmethod
    def household_spending(m, ctx: Context, r: str):
        """Private consumption: the residual of regional income."""
        return (m.inc[r] * ctx.p["inc0"][r] - spending(m, ctx, GOVERNMENT, r)
                - spending(m, ctx, DEFENSE, r) - m.saving[r] - m.direct_purchases[r])

    @staticmethod
    def government_spending(m, ctx: Context, r: str):
        """Civil government: its benchmark share of ordinary income, less a spending cut."""
        return (ctx.p["efd0"][GOVERNMENT, r] / ctx.p["inc0"][r] * m.budget[r]
                - m.fin_cut[r] * m.extra_outlays[r])


class SeparateInstitutions:
    r"""``institutions = "separate"`` (Hosoe, Gasawa & Hashimoto 2010): a household and a
    government account (``yh`` from ``inc_h``, ``yg`` from ``inc_g``, in ``cge.blocks.income``).

    **Fixed**: the household's direct tax rate :math:`\tau_d` and saving rate :math:`s_h`, the
    government's saving rate :math:`s_g` out of ordinary revenue :math:`O_r` (revenue at the
    benchmark tax rates); the lump-sum levy :math:`L_r` is set by the financing rule.
    **Adjusts**: household consumption :math:`(1-\tau_d-s_h)\,Y^H_r - L_r`; civil government,
    the residual of the government's funds
    :math:`B_r + R^{hh}_r + NT^{gov}_r - E_{D,r} - DP_r` with :math:`B_r = (1-s_g)\,O_r`;
    domestic saving :math:`s_h Y^H_r + s_g O_r`.
    """

    name = "separate"

    @staticmethod
    def budget(m, ctx: Context, r: str):
        r"""Ordinary government purchases budget :math:`B_r = (1-s_g)\,O_r`."""
        return (1.0 - ctx.p["s_g"][r]) * m.ordinary_revenue[r]

    @staticmethod
    def budget0(ctx: Context, r: str) -> float:
        r"""Benchmark purchases budget :math:`(1-s_g)\,Y^{G,0}_r`."""
        return (1.0 - ctx.p["s_g"][r]) * ctx.p["yg0"][r]

    @staticmethod
    def saving(m, ctx: Context, r: str):
        r"""Domestic saving :math:`s_h Y^H_r + s_g O_r`."""
        p = ctx.p
        return p["s_h"][r] * m.yh[r] * p["yh0"][r] + p["s_g"][r] * m.ordinary_revenue[r]

    @staticmethod
    def household_spending(m, ctx: Context, r: str):
        r"""Household consumption :math:`(1-\tau_d-s_h)\,Y^H_r - L_r`."""
        p = ctx.p
        return ((1.0 - m.tau_d_eff[r] - p["s_h"][r]) * m.yh[r] * p["yh0"][r]
                - levy_amount(m, ctx, r))

    @staticmethod
    def government_spending(m, ctx: Context, r: str):
        """Civil government: the residual of the government's funds."""
        return m.gov_funds[r] - spending(m, ctx, DEFENSE, r) - m.direct_purchases[r]


#: The institutions closures by name (``ModelOptions.institutions``).
INSTITUTIONS: dict[str, type] = {c.name: c for c in (RegionalHousehold, SeparateInstitutions)}


def institutions(ctx: Context) -> type:
    """The institutions closure the options choose (:data:`INSTITUTIONS`)."""
    return INSTITUTIONS[ctx.options.institutions]
