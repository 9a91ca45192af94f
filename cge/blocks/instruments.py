# ruff: noqa: E501
"""Policy instruments and exogenous amounts, held as *fixed* Pyomo variables.

A fixed variable is a constant to the solver; a scenario changes its value without rebuilding the
model, and a later optimal-tariff or deal-frontier problem can free it. Values at build time are
the benchmark's.

=============  ===================  =================================================================
name           index                meaning (unit)
=============  ===================  =================================================================
``tm``         (i, s, r)            import tariff of r on i from s (fraction, ad valorem on fob)
``tx``         (i, s, r)            export tax of s on i to r (fraction)
``ice``        (i, s, r)            iceberg trade cost factor (1 = benchmark; 1.1 = 10 % AVE)
``to``         (j, r)               output tax (fraction of unit cost)
``tfd``        (a, r)               commodity tax on final agent a's purchases (fraction)
``trf``        (payer, recipient)   private international transfer, household to household
                                    (remittances, the data's transfers; data unit, numeraire-valued)
``gtrf``       (payer, recipient)   transfer between governments (host-nation support,
                                    cost-sharing; data unit, numeraire-valued)
``fsav``       (r)                  foreign saving (data unit, numeraire-valued)
``endow``      (f, r)               factor endowment (index, 1 = benchmark)
``prod_f``     (f, j, r)            factor-augmenting productivity (index)
``def_real``   (r)                  real defense purchases (index; 1 = benchmark level, default)
``def_rule_budget`` (r)             1: defense keeps its benchmark share of the ordinary budget
                                    instead (see ``cge.blocks.demand``)
``wbar``       (r)                  real wage under the unemployment closure (index)
``dpur``       (seller, buyer)      direct purchases by the buyer's government from the seller's
                                    producers: stationing costs, Foreign Military Sales (data unit)
``pnum``       —                    price of the numeraire (1; scaled in homogeneity tests)
=============  ===================  =================================================================
"""

from __future__ import annotations

from pyomo.environ import Var

from cge.blocks.context import Context


def _fixed(m, name: str, index, init, doc: str) -> None:
    var = Var(index, initialize=init, doc=doc) if index is not None else Var(
        initialize=init, doc=doc)
    setattr(m, name, var)
    var.fix()


def add_instruments(m, ctx: Context) -> None:
    """Declare every instrument at its benchmark value, fixed."""
    p = ctx.p
    R = ctx.regions
    _fixed(m, "tm", ctx.TRD, lambda m, i, s, r: p["tm0"][i, s, r], "import tariff")
    _fixed(m, "tx", ctx.TRD, lambda m, i, s, r: p["tx0"][i, s, r], "export tax")
    _fixed(m, "ice", ctx.TRD, 1.0, "iceberg trade cost factor")
    _fixed(m, "to", ctx.YJ, lambda m, j, r: p["to0"][j, r], "output tax")
    _fixed(m, "tfd", ctx.FDA, lambda m, a, r: p["tfd0"][a, r], "final demand commodity tax")
    _fixed(m, "trf", ctx.PAIRS, lambda m, s, r: p["vtrf"][s, r],
           "private international transfer (household to household)")
    _fixed(m, "gtrf", ctx.PAIRS, 0.0, "transfer between governments")
    _fixed(m, "fsav", R, lambda m, r: p["fsav0"][r], "foreign saving")
    _fixed(m, "endow", [(f, r) for r in R for f in ctx.factors], 1.0, "factor endowment")
    _fixed(m, "prod_f", ctx.VAF, 1.0, "factor-augmenting productivity")
    _fixed(m, "def_rule_budget", R, 0.0, "defense rule switch: share of the budget (1)")
    _fixed(m, "def_real", R, 1.0, "real defense purchases target (index)")
    _fixed(m, "wbar", R, 1.0, "real wage (unemployment closure)")
    _fixed(m, "dpur", ctx.PAIRS, lambda m, s, r: ctx.dpur0(s, r),
           "direct government purchases from a foreign region")
    _fixed(m, "pnum", None, 1.0, "numeraire price")
