r"""Closure rules, chosen by name in ``ModelOptions``: what is fixed and what adjusts.

* **Numeraire** (``num_def``, paired with the Walras slack): a price index equals ``pnum`` (1).
  ``world_factor_price`` (default) — the benchmark-value-weighted average of all factor
  prices; ``factor_price:<f>:<r>`` — one factor's price; ``cpi:<r>`` — a region's consumer
  price index. Fixed amounts (foreign saving, transfers, direct purchases) are in its units.
* **Factor markets** (:func:`employed`): ``mobile`` (default) — endowments fixed, full
  employment, one price per factor and region adjusts; ``sector_specific_capital`` — capital
  fixed in each sector, a price per sector (``pfs``) adjusts (the sets are derived in
  ``cge.blocks.context``, the market equations in ``cge.blocks.markets``); ``unemployment`` —
  the real wage is fixed, :math:`p^f_{L,r} = \bar w_r\, p^{fd}_{hh,r}`, and the employment
  index ``lsup`` adjusts (``wage_rule``, paired with ``lsup``).
* **External balance** (:func:`investment_spending`): ``fixed_current_account`` (default) —
  each region's foreign saving ``fsav`` is fixed in numeraire units, investment = domestic
  saving + foreign saving adjusts with saving; ``global_bank`` — world saving is pooled and
  each region's investment is a fixed share of it, so foreign saving adjusts.
* **Institutions** (``regional_household`` or ``separate``) choose the income accounts
  (``cge.blocks.income``) and the financing of extra outlays (``cge.blocks.financing``).
"""

from __future__ import annotations

from pyomo.environ import Constraint, Var

from cge.blocks.context import Context
from cge.options import OptionsError


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
        if (f, r) not in set(ctx.FAC):
            raise OptionsError(f"numeraire {name!r}: no mobile factor market ({f!r}, {r!r}); "
                               f"valid: {[f'factor_price:{a}:{b}' for a, b in ctx.FAC]}")
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
