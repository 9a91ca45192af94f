r"""Closure rules, chosen by name in ``ModelOptions``.

* Numeraire (``num_def``, paired with the Walras slack): a price index equals ``pnum`` (1):
  ``world_factor_price`` — the benchmark-value-weighted average of all factor prices;
  ``factor_price:<f>:<r>`` — one factor's price; ``cpi:<r>`` — a region's consumer price index.
* Factor markets: ``mobile`` (default); ``sector_specific_capital`` — capital gets a price per
  sector (``pfs``, built in ``cge.blocks.context``/``markets``); ``unemployment`` — the real wage
  is fixed, :math:`p^f_{L,r} = \bar w_r\, p^{fd}_{hh,r}`, and the employment index ``lsup``
  adjusts (``wage_rule``, paired with ``lsup``).
* External balance: ``fixed_current_account`` (``fsav`` fixed in numeraire units) or
  ``global_bank`` (investment a fixed share of world saving) — in ``cge.blocks.demand``.
"""

from __future__ import annotations

from pyomo.environ import Constraint

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
