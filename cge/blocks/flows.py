r"""Value flows at current prices, defined once: the model's equations, the results and the
welfare decomposition all read them from here.

Each function returns a Pyomo expression (evaluate it with ``pyomo.environ.value`` for a
number). Quantities are in benchmark-value units (the data unit at benchmark prices); prices are
indices (benchmark 1).

* :func:`export_price` — the exporter's price of i, :math:`p^x_{is}`: ``pe`` with a CET, else
  ``pd``;
* :func:`shipped` — the quantity of i shipped from s to r,
  :math:`\tau_{isr}\, m_{isr}\, V^X_{isr}`;
* :func:`output_at_cost` — output at unit cost, :math:`c^y_{jr} Y_{jr} V^C_{jr}` (the base of
  output taxes);
* :func:`purchases` — a final agent's purchases before commodity taxes,
  :math:`p^{fd}_{ar} q^{fd}_{ar} V^{fd}_{ar}` (the base of final-demand taxes);
* :func:`direct_sales` — the quantity of i that s's producers sell to b's government directly
  (stationing, FMS): :math:`DP_{sb}\, w_{isb}\, p^{num} / p^d_{is}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cge.blocks.context import Context

#: The final demand agents of the data format.
HOUSEHOLD, GOVERNMENT, DEFENSE, INVESTMENT = "household", "government", "defense", "investment"


def export_price(m, ctx: Context, i: str, s: str):
    """Price received by exporter s for commodity i: ``pe`` with a CET, else ``pd``."""
    return m.pe[i, s] if ctx.cet else m.pd[i, s]


def shipped(m, ctx: Context, i: str, s: str, r: str):
    """Quantity of i shipped from s to r (iceberg losses included), benchmark-value units."""
    return ctx.p["vxmd"][i, s, r] * m.imp[i, s, r] * m.ice[i, s, r]


def margin_cost(m, ctx: Context, i: str, s: str, r: str):
    r"""Transport margins of a landed unit of i from s to r at current prices (benchmark-value
    units): :math:`\sum_m vtwr_{m i s r}\, p^t_m`; 0 on a route without margins."""
    return sum(ctx.p["vtwr"][mm, i, s, r] * m.pt[mm]
               for mm in ctx.route_margins.get((i, s, r), []))


def cif_value(m, ctx: Context, i: str, s: str, r: str):
    """Value of r's imports of i from s at cif prices (fob, export tax included, plus the
    transport margins), current prices: the base of r's tariff."""
    fob = (1.0 + m.tx[i, s, r]) * export_price(m, ctx, i, s) * shipped(m, ctx, i, s, r)
    if (i, s, r) not in ctx.route_margins:
        return fob
    return fob + margin_cost(m, ctx, i, s, r) * m.imp[i, s, r]


def transport_demand(m, ctx: Context, mm: str):
    r"""Demand for the global transport service mm, relative to benchmark: margins are a fixed
    amount per landed unit of each route, :math:`\sum_{isr} vtwr_{mm,isr}\, m_{isr} /
    \sum vtwr_{mm}`."""
    routes = ctx.margin_routes[mm]
    total = sum(ctx.p["vtwr"][mm, i, s, r] for (i, s, r) in routes)
    return sum(ctx.p["vtwr"][mm, i, s, r] * m.imp[i, s, r] for (i, s, r) in routes) / total


def pool_sales(m, ctx: Context, mm: str, t: str):
    r"""Region t's sales of the margin service mm to the transport pool (quantity, benchmark-
    value units): Cobb-Douglas across suppliers (GTAP's ESBS = 1),
    :math:`vst_{mm,t}\, QT_{mm}\, p^t_{mm} / p^x_{mm,t}`, the pool's demand
    :math:`QT_{mm}` (:func:`transport_demand`) its own variable ``qt`` (equation ``mkt_qt``),
    so that no supplier's market equation holds every route of the world (at 41 regions x 20
    commodities that made 41 rows of 33,000 entries each and the solve 50 times slower)."""
    return ctx.p["vst"][mm, t] * m.qt[mm] * m.pt[mm] / export_price(m, ctx, mm, t)


def output_at_cost(m, ctx: Context, j: str, r: str):
    """Value of j's output in r at unit cost (before output tax)."""
    return ctx.p["cost0"][j, r] * m.cost_y[j, r] * m.Y[j, r]


def purchases(m, ctx: Context, a: str, r: str):
    """Final agent a's purchases in r before commodity taxes."""
    return ctx.p["vfd"][a, r] * m.pfd[a, r] * m.qfd[a, r]


def direct_sales(m, ctx: Context, i: str, s: str, b: str):
    """Quantity of i bought by b's government directly from s's producers (benchmark-value
    units, at s's domestic price)."""
    return m.dpur[s, b] * ctx.dp_weights[s, b][i] * (m.pnum / m.pd[i, s])


def spending(m, ctx: Context, a: str, r: str):
    """Expenditure of final agent a in r, commodity taxes included (``efd``); 0 if the agent
    is absent."""
    return m.efd[a, r] if (a, r) in ctx.fd_set else 0.0
