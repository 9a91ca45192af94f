r"""Welfare: Hicksian equivalent variation (MODEL_SPEC §7).

*Regional household.* Utility is Cobb–Douglas over real private consumption, real civil
government consumption and real saving (GTAP), with benchmark expenditure shares
:math:`\theta_a`: :math:`U_r = \prod_a (Q_{ar}/Q^0_{ar})^{\theta_a}` (``qfd`` for consumption and
government; saving deflated by the investment price index). Because all benchmark prices are 1,
the expenditure function at benchmark prices is :math:`e(p^0, U) = U\,E^0_r`, so
:math:`EV_r = (U_r - 1)\,E^0_r` with :math:`E^0_r = C^0 + G^0 + S^0`.

*Separate institutions.* Utility is the household's real consumption index:
:math:`EV_r = (q^{fd}_{hh,r} - 1)\,C^0_r`.

Defense spending is left out of utility and reported separately: the model does not price
security. EV is in the data set's currency unit at benchmark prices.
"""

from __future__ import annotations

from pyomo.environ import value

from cge.model import CGEModel


def utility_components(model: CGEModel, r: str) -> dict[str, tuple[float, float]]:
    """{component: (benchmark expenditure, real index)} entering region r's utility."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    comps: dict[str, tuple[float, float]] = {}
    if ("household", r) in ctx.fd_set:
        comps["household"] = (p["efd0"]["household", r], value(m.qfd["household", r]))
    if model.options.institutions == "separate":
        return comps
    if ("government", r) in ctx.fd_set:
        comps["government"] = (p["efd0"]["government", r], value(m.qfd["government", r]))
    sav0 = p["sav0"][r]
    if sav0 > 0:
        pinv = value(m.pfd["investment", r]) if ("investment", r) in ctx.fd_set else 1.0
        comps["saving"] = (sav0, value(m.saving[r]) / pinv / sav0)
    return comps


def equivalent_variation(model: CGEModel, r: str) -> tuple[float, float, float]:
    """(EV, utility index U, benchmark expenditure E0) of region r."""
    comps = utility_components(model, r)
    e0 = sum(e for e, _ in comps.values())
    u = 1.0
    for e, q in comps.values():
        u *= q ** (e / e0)
    return (u - 1.0) * e0, u, e0
