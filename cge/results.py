"""Pyomo solution → one labelled xarray Dataset per scenario.

Dimensions: ``region``, ``commodity``/``activity``, ``factor``, ``agent``, ``exporter``,
``importer``. Values are in the data set's currency unit (``units`` attribute of each variable);
"_pct" variables are percentage changes from the benchmark. Index definitions:

* real GDP: expenditure side at benchmark prices, :math:`C + G + I + DEF + X - M`, where a
  government's direct purchases abroad (stationing, Foreign Military Sales) count as its
  spending and its imports (so they cancel for the buyer) and as the seller's exports, valued
  at the seller's benchmark domestic prices;
* welfare: ``EV`` is the headline (regional EV under the regional household, private EV under
  separate institutions; attribute ``whose``), ``EV_regional``, ``EV_private`` and
  ``welfare_parts`` always (``cge.welfare``); ``EV_pct`` is EV in % of the benchmark
  expenditure it measures (C + G + S for the regional EV, C for the private EV);
* terms of trade: Laspeyres export price index (fob, benchmark weights) over the Laspeyres
  import price index (world prices, cif = fob here, per unit shipped: iceberg costs are not a
  price change, as with GTAP's world prices);
* real wage / real factor returns: factor price over the household consumption price (CPI);
* real exchange rate: the CPI relative to the numeraire price ``pnum``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr
from pyomo.environ import value

from cge.blocks.flows import direct_sales, export_price, margin_cost, pool_sales, shipped
from cge.model import CGEModel
from cge.options import ModelOptions
from cge.scenario import CLOSURE_OPTIONS
from cge.solve import Diagnostics
from cge.welfare import WELFARE_PARTS, equivalent_variation, headline, welfare_parts

#: Descriptions of the elasticities carried by every result.
ELASTICITY_TEXT = {
    "esubd": "elasticity of substitution between domestic goods and the import composite "
             "(GTAP ESUBD)",
    "esubm": "elasticity of substitution among import sources (GTAP ESUBM)",
    "esubva": "elasticity of substitution among primary factors (GTAP ESUBVA)",
}


def _val(x) -> float:
    return float(value(x))


def _code_version() -> str:
    import cge

    return str(cge.__version__)


@functools.cache
def code_commit(root: Path | None = None) -> str:
    """The git commit of the code, ``"<40 hex>"``, with ``"-dirty"`` appended when tracked files
    differ from it; ``""`` unless ``root`` (default: the folder holding the ``cge`` package) is
    the top of a git checkout and git answers within 5 s (an installed package, no git, a
    foreign repository around a site-packages folder: ``""``). Asked once per process."""
    root = (root or Path(__file__).resolve().parent.parent).resolve()
    if not (root / ".git").exists():
        return ""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}

    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args],
                              capture_output=True, text=True, timeout=5, check=True,
                              env=env).stdout.strip()

    try:
        top, commit = git("rev-parse", "--show-toplevel", "HEAD").splitlines()
        if Path(top).resolve() != root or len(commit) != 40:
            return ""
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, ValueError, subprocess.SubprocessError):
        return ""
    return f"{commit}-dirty" if dirty else commit


def option_attrs(options: ModelOptions) -> dict[str, str | float]:
    """Every field of :class:`~cge.options.ModelOptions` as run, one attribute per field named
    as the field: numbers as floats, ``esub_final`` as JSON of every bundle's σ (defaults
    filled in, :meth:`~cge.options.ModelOptions.final_sigmas`), anything else as text."""
    out: dict[str, str | float] = {}
    for f in dataclasses.fields(options):
        val = getattr(options, f.name)
        if f.name == "esub_final":
            out[f.name] = json.dumps(options.final_sigmas())
        elif isinstance(val, (int, float)) and not isinstance(val, bool):
            out[f.name] = float(val)
        elif isinstance(val, str):
            out[f.name] = val
        else:
            out[f.name] = json.dumps(val, sort_keys=True, default=str)
    return out


class _Out:
    """The variables of one result in the order they are added, with a DataArray helper."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.vars: dict[str, xr.DataArray] = {}

    def add(self, name: str, x, dims, description: str, units: str = "", **attrs) -> None:
        units = self.unit if units == "unit" else units
        self.vars[name] = xr.DataArray(x, dims=dims, attrs={"description": description,
                                                            "units": units, **attrs})


def _trade(model: CGEModel) -> dict[str, np.ndarray]:
    """Bilateral trade values (fob), volumes (benchmark prices) and benchmark values; transport
    margins by route and the margin services each region sells to the transport pool (0
    without margins in the data); tariff revenue (on cif = fob + margins); direct purchases;
    Laspeyres export (fob and pool sales) and import (cif) price indices, GTAP's pxw and pmw
    flows."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    R, I = ctx.regions, ctx.commodities
    nr, ni = len(R), len(I)
    tv, tq, tv0 = np.zeros((ni, nr, nr)), np.zeros((ni, nr, nr)), np.zeros((ni, nr, nr))
    mv, mq, mv0 = np.zeros((ni, nr, nr)), np.zeros((ni, nr, nr)), np.zeros((ni, nr, nr))
    tm, tm0 = np.zeros((ni, nr, nr)), np.zeros((ni, nr, nr))
    tariff = np.zeros(nr)
    for (i, s, r) in ctx.TRD:
        a, b, c = I.index(i), R.index(s), R.index(r)
        tm[a, b, c], tm0[a, b, c] = _val(m.tm[i, s, r]), p["tm0"][i, s, r]
        vol = _val(shipped(m, ctx, i, s, r))
        price = _val(export_price(m, ctx, i, s))
        tq[a, b, c] = vol * (1.0 + p["tx0"][i, s, r])
        tv[a, b, c] = vol * price * (1.0 + _val(m.tx[i, s, r]))
        tv0[a, b, c] = p["vxmd"][i, s, r] * (1.0 + p["tx0"][i, s, r])
        if (i, s, r) in ctx.route_margins:     # cif - fob: margins per landed unit x imports
            mv0[a, b, c] = sum(p["vtwr"][k, i, s, r] for k in ctx.route_margins[i, s, r])
            mv[a, b, c] = _val(margin_cost(m, ctx, i, s, r) * m.imp[i, s, r])
            mq[a, b, c] = mv0[a, b, c] * _val(m.imp[i, s, r])
        tariff[c] += _val(m.tm[i, s, r]) * (tv[a, b, c] + mv[a, b, c])
    sold, sold_q, sold0 = np.zeros((ni, nr)), np.zeros((ni, nr)), np.zeros((ni, nr))
    for (k, t) in ctx.MSUP:                    # margin services sold to the transport pool
        q = _val(pool_sales(m, ctx, k, t))
        sold[I.index(k), R.index(t)] = q * _val(export_price(m, ctx, k, t))
        sold_q[I.index(k), R.index(t)] = q
        sold0[I.index(k), R.index(t)] = p["vst"][k, t]
    # direct government purchases abroad (stationing, FMS): exports of the seller
    pnum = _val(m.pnum)
    dpv, dp_real_sold, dpv0 = np.zeros((nr, nr)), np.zeros(nr), np.zeros((nr, nr))
    for (s, r), weights in ctx.dp_weights.items():
        amount = _val(m.dpur[s, r]) * pnum
        dpv[R.index(s), R.index(r)] = amount
        dpv0[R.index(s), R.index(r)] = ctx.dpur0(s, r)     # the benchmark's stationing account
        dp_real_sold[R.index(s)] += sum(_val(direct_sales(m, ctx, i, s, r)) for i in weights)
    cif, cif_q, cif0 = tv + mv, tq + mq, tv0 + mv0
    exports_0 = tv0.sum(axis=(0, 2)) + sold0.sum(axis=0)
    imports_0 = cif0.sum(axis=(0, 1))
    # Laspeyres price indices: sum(p1 q0) / sum(p0 q0), unit values per flow
    px_l, pm_l = np.ones(nr), np.ones(nr)
    for k in range(nr):
        num_x = (sum(tv0[a, k, c] * (tv[a, k, c] / tq[a, k, c] if tq[a, k, c] else 1.0)
                     for a in range(ni) for c in range(nr))
                 + sum(sold0[a, k] * (sold[a, k] / sold_q[a, k] if sold_q[a, k] else 1.0)
                       for a in range(ni)))
        num_m = sum(cif0[a, b, k] * (cif[a, b, k] / cif_q[a, b, k] if cif_q[a, b, k] else 1.0)
                    for a in range(ni) for b in range(nr))
        px_l[k] = num_x / exports_0[k] if exports_0[k] else 1.0
        pm_l[k] = num_m / imports_0[k] if imports_0[k] else 1.0
    exports, imports = tv.sum(axis=(0, 2)) + sold.sum(axis=0), cif.sum(axis=(0, 1))
    return {"tv": tv, "tq": tq, "tv0": tv0, "tm": tm, "tm0": tm0, "tariff": tariff, "dpv": dpv,
            "dpv0": dpv0, "dp_real_sold": dp_real_sold, "px": px_l, "pm": pm_l, "mv": mv,
            "mv0": mv0,
            "tb": exports + dpv.sum(axis=1) - imports - dpv.sum(axis=0),
            "tb0": exports_0 + dpv0.sum(axis=1) - imports_0 - dpv0.sum(axis=0),
            "exports_q": tq.sum(axis=(0, 2)) + sold_q.sum(axis=0),
            "imports_q": cif_q.sum(axis=(0, 1))}


def _final_demand(model: CGEModel) -> dict[str, np.ndarray]:
    """Real index and expenditure of each final-demand agent; the CPI."""
    m, ctx = model.m, model.ctx
    R, agents = ctx.regions, ctx.agents
    fd_q, fd_v = np.zeros((len(agents), len(R))), np.zeros((len(agents), len(R)))
    cpi = np.ones(len(R))
    for k, r in enumerate(R):
        for a_i, a in enumerate(agents):
            if (a, r) in ctx.fd_set:
                fd_q[a_i, k] = _val(m.qfd[a, r])
                fd_v[a_i, k] = _val(m.efd[a, r])
        if ("household", r) in ctx.fd_set:
            cpi[k] = _val(m.pfd["household", r])
    return {"q": fd_q, "v": fd_v, "cpi": cpi}


def _add_welfare(out: _Out, model: CGEModel) -> str:
    """EV (headline, regional, private), its base, welfare parts and utility; returns the text
    saying whose welfare the headline is."""
    ctx, p = model.ctx, model.ctx.p
    R = ctx.regions
    nr = len(R)
    ev, e0_reg, util = np.zeros(nr), np.zeros(nr), np.zeros(nr)
    parts = np.zeros((len(WELFARE_PARTS), nr))
    for k, r in enumerate(R):
        ev[k], util[k], e0_reg[k] = equivalent_variation(model, r)
        wp = welfare_parts(model, r)
        parts[:, k] = [wp[a] for a in WELFARE_PARTS]
    whose = headline(model)
    c0 = np.array([p["efd0"]["household", r] for r in R])
    ev_private = parts[WELFARE_PARTS.index("household")]
    ev_head, e0_head = (ev_private, c0) if whose == "private" else (ev, e0_reg)
    whose_text = ("private: household consumption only" if whose == "private" else
                  "regional: private consumption, civil government and saving")
    out.add("EV", ev_head, "region", f"Hicksian equivalent variation (benchmark prices), "
            f"{whose_text}", "unit", whose=whose)
    out.add("EV_pct", 100 * np.divide(ev_head, e0_head, out=np.zeros(nr), where=e0_head > 0),
            "region", "EV in % of the benchmark expenditure it measures", "%")
    out.add("welfare_base", e0_head, "region", "benchmark spending the headline EV is "
            "measured against (C0 + G0 + S0, or C0 for a private EV)", "unit")
    out.add("EV_regional", ev, "region", "regional EV: Cobb-Douglas utility of private "
            "consumption, civil government and real saving", "unit")
    out.add("EV_private", ev_private, "region", "private EV: household real consumption at "
            "benchmark prices", "unit")
    out.add("welfare_parts", parts, ("part", "region"), "real change of each welfare part at "
            "benchmark prices (defense outside utility)", "unit")
    out.add("utility", util, "region", "utility index (benchmark = 1)")
    return whose_text


def _add_macro(out: _Out, model: CGEModel, trade: dict, fd: dict) -> None:
    """Income, nominal and real GDP, prices, terms of trade, external accounts."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    R = ctx.regions
    gdp_nom = np.array([_val(m.gdp[r]) for r in R])
    transfers = np.array([_val(m.net_transfers[r]) for r in R])
    gdp_real = np.zeros(len(R))
    for k, r in enumerate(R):   # C + G + I + DEF + X (direct sales included) - M
        real_fd = 0.0
        for a_i, a in enumerate(ctx.agents):
            if (a, r) in ctx.fd_set:
                real_fd += p["efd0"][a, r] * fd["q"][a_i, k]
        gdp_real[k] = (real_fd + trade["exports_q"][k] + trade["dp_real_sold"][k]
                       - trade["imports_q"][k])
    gdp0 = np.array([p["gdp0"][r] for r in R])
    cpi = fd["cpi"]
    out.add("income", gdp_nom + transfers, "region", "regional income (nominal)", "unit")
    out.add("gdp_nominal", gdp_nom, "region", "nominal GDP", "unit")
    out.add("real_gdp_pct", 100 * (gdp_real / gdp0 - 1), "region", "real GDP, % change", "%")
    out.add("gdp_deflator", gdp_nom / gdp_real, "region", "GDP deflator (benchmark = 1)")
    out.add("cpi", cpi, "region", "consumer price index (household bundle, benchmark = 1)")
    out.add("real_exchange_rate", cpi / _val(m.pnum), "region", "CPI relative to the "
            "numeraire")
    out.add("tot_pct", 100 * (trade["px"] / trade["pm"] - 1), "region",
            "terms of trade, % change", "%")
    out.add("export_price_index", trade["px"], "region", "export price index (Laspeyres, fob)")
    out.add("import_price_index", trade["pm"], "region", "import price index (Laspeyres, cif)")
    out.add("trade_balance", trade["tb"], "region", "trade balance (exports - imports, fob)",
            "unit")
    out.add("trade_balance_change", trade["tb"] - trade["tb0"], "region",
            "change in the trade balance", "unit")
    out.add("current_account", trade["tb"] + transfers, "region",
            "current account (trade balance + net transfers)", "unit")
    out.add("tariff_revenue", trade["tariff"], "region", "import tariff revenue", "unit")
    out.add("direct_purchases", trade["dpv"], ("exporter", "importer"),
            "direct government purchases by the importer's government from the exporter's "
            "producers (stationing, FMS); in the trade balance", "unit")
    out.add("direct_purchases_benchmark", trade["dpv0"], ("exporter", "importer"),
            "direct government purchases in the benchmark (the data set's stationing account "
            "vdpur; 0 without one)", "unit")
    employment = np.ones(len(R))
    if model.options.factor_market == "unemployment":
        employment = np.array([_val(m.lsup[r]) for r in R])
    out.add("employment_index", employment, "region", "employment of labour (index)")
    defense = np.array([fd["q"][ctx.agents.index("defense"), k]
                        if ("defense", r) in ctx.fd_set else np.nan for k, r in enumerate(R)])
    out.add("defense_real", defense, "region", "real defense purchases (index)")
    out.add("defense_share_of_gdp", 100 * np.where(np.isnan(defense), np.nan,
                                                   fd["v"][ctx.agents.index("defense")]
                                                   / gdp_nom),
            "region", "defense spending in % of nominal GDP (bundle only)", "%")
    bought = trade["dpv"].sum(axis=0)      # direct purchases by each region's government
    out.add("defense_total_share_of_gdp",
            100 * np.where(np.isnan(defense), np.nan,
                           (fd["v"][ctx.agents.index("defense")] + bought) / gdp_nom),
            "region", "defense spending in % of nominal GDP, the bundle plus the government's "
            "direct purchases abroad (stationing of its forces, purchases from foreign "
            "producers such as FMS)", "%")


def _factor_prices(model: CGEModel) -> np.ndarray:
    """Price of each factor by region: a mobile factor's price; a sluggish factor's CET price
    index (its income per unit of endowment); a fixed factor's average of its sector prices
    weighted by benchmark payments; NaN where a region has no such factor."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    R, F = ctx.regions, ctx.factors
    pf = np.full((len(F), len(R)), np.nan)
    for (f, r) in ctx.FAC:
        pf[F.index(f), R.index(r)] = _val(m.pf[f, r])
    for (f, r) in ctx.SLG:
        pf[F.index(f), R.index(r)] = _val(m.pft[f, r])
    for (f, j, r) in ctx.FSP:
        if ctx.roles[f] != "fixed":
            continue
        k = R.index(r)
        tot0 = sum(p["vfm"][f, jj, r] for (ff, jj, rr) in ctx.FSP if ff == f and rr == r)
        prev = 0.0 if np.isnan(pf[F.index(f), k]) else pf[F.index(f), k]
        pf[F.index(f), k] = prev + _val(m.pfs[f, j, r]) * p["vfm"][f, j, r] / tot0
    return pf


def _add_sectors(out: _Out, model: CGEModel, cpi: np.ndarray) -> None:
    """Factor prices and real returns, output, domestic prices, factor use."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    R, I, F = ctx.regions, ctx.commodities, ctx.factors
    pf = _factor_prices(model)
    out.add("real_factor_price_pct", 100 * (pf / cpi[None, :] - 1), ("factor", "region"),
            "real factor return (factor price / CPI), % change", "%")
    out.vars["factor_price"] = xr.DataArray(pf, dims=("factor", "region"),
                                            attrs={"description": "factor price"})
    Y, pd_ = np.full((len(I), len(R)), np.nan), np.full((len(I), len(R)), np.nan)
    vom0 = np.zeros((len(I), len(R)))
    for (j, r) in ctx.YJ:
        Y[I.index(j), R.index(r)] = _val(m.Y[j, r])
        vom0[I.index(j), R.index(r)] = p["vom"][j, r]
    for (i, r) in ctx.D:
        pd_[I.index(i), R.index(r)] = _val(m.pd[i, r])
    fdem = np.zeros((len(F), len(I), len(R)))
    for (f, j, r) in ctx.VAF:
        fdem[F.index(f), I.index(j), R.index(r)] = _val(m.qf[f, j, r]) * p["vfm"][f, j, r]
    out.vars["output_index"] = xr.DataArray(Y, dims=("activity", "region"),
                                            attrs={"description": "output (benchmark = 1)"})
    out.add("output_pct", 100 * (Y - 1), ("activity", "region"), "output, % change", "%")
    out.add("output_benchmark", vom0, ("activity", "region"), "benchmark output", "unit")
    out.vars["price_domestic"] = xr.DataArray(pd_, dims=("commodity", "region"), attrs={
        "description": "price of domestic sales"})
    out.add("factor_demand", fdem, ("factor", "activity", "region"),
            "factor use (benchmark value units)", "unit")


def _add_flows(out: _Out, fd: dict, trade: dict) -> None:
    """Final demand by agent and bilateral trade."""
    bilateral = ("commodity", "exporter", "importer")
    out.vars["final_demand_real"] = xr.DataArray(fd["q"], dims=("agent", "region"), attrs={
        "description": "real final demand (index; 0 where absent)"})
    out.add("final_demand_value", fd["v"], ("agent", "region"), "final demand expenditure",
            "unit")
    out.add("trade_value", trade["tv"], bilateral, "bilateral trade at world (fob) prices",
            "unit")
    out.add("trade_volume", trade["tq"], bilateral, "bilateral trade volume (benchmark prices)",
            "unit")
    out.add("trade_benchmark", trade["tv0"], bilateral, "benchmark bilateral trade (fob)",
            "unit")
    out.add("margin_value", trade["mv"], bilateral, "international transport "
            "margins paid on the route at current prices (cif - fob; 0 without margins)", "unit")
    out.add("margin_benchmark", trade["mv0"], bilateral,
            "benchmark transport margins on the route (GTAP VTWR summed over services)", "unit")
    out.add("tariff_rate", trade["tm"], bilateral, "import tariff applied by the importer on "
            "the exporter's good (ad valorem on the cif value, trade_value + margin_value; "
            "0 where there is no trade)", "fraction")
    out.add("tariff_rate_benchmark", trade["tm0"], bilateral,
            "benchmark import tariff (ad valorem on cif; 0 where there is no trade)",
            "fraction")


def _run_attrs(model: CGEModel, whose_text: str) -> tuple[dict, dict]:
    """What was run, as two groups of attributes (they frame the scenario's own attributes in
    the file): data and elasticities, the model options other than the closure keys, code
    version and commit; then data set name, unit, the closure options and the conventions.
    Every model option is recorded (:func:`option_attrs`)."""
    o, params = model.options, model.params
    options = option_attrs(o)
    return {
        "data_year": params.attrs.get("year", ""),
        "data_sha256": params.attrs.get("data_sha256", ""),
        "data_notes": params.attrs.get("notes", ""),
        "data_validation": params.attrs.get("validation", ""),
        "elasticity_source": params.attrs.get("elasticity_source", ""),
        **{k: v for k, v in options.items() if k not in CLOSURE_OPTIONS},
        "code_version": _code_version(),
        "code_commit": code_commit(),
    }, {
        "data_set": params.attrs.get("name", ""),
        "unit": params.attrs.get("unit", "US$ million"),
        **{k: v for k, v in options.items() if k in CLOSURE_OPTIONS},
        "welfare": f"headline EV is {whose_text}; EV_regional and EV_private both "
                   "reported; defense outside utility, reported separately",
        "fixed_amounts_unit": "foreign saving, international transfers and direct purchases "
                              "abroad are fixed in units of the numeraire "
                              f"({o.numeraire}); the numeraire choice changes real results",
        "defense_default": "real defense purchases fixed at the benchmark level unless the "
                           "scenario sets a defense rule",
        "margins": margins_text(model),
        "intra_region_trade": intra_region_text(model),
    }


def margins_text(model: CGEModel) -> str:
    """How the run values trade: fob = cif (no margins in the data), or tariffs on cif with
    the margins bought from the global transport pool (and who supplies it)."""
    ctx = model.ctx
    if not ctx.route_margins:
        return "fob = cif: no international transport margins"
    supply: dict[str, float] = {}
    for (k, t) in ctx.MSUP:
        supply[t] = supply.get(t, 0.0) + ctx.p["vst"][k, t]
    total = sum(supply.values())
    top = sorted(supply.items(), key=lambda kv: -kv[1])[:3]
    return ("cif = fob + transport margins, tariffs on the cif value; margins bought from a "
            f"global transport pool of {', '.join(ctx.MARG)} ({total:,.0f} "
            f"{model.params.attrs.get('unit', 'US$ million')} at benchmark; largest suppliers "
            + ", ".join(f"{t} {100 * v / total:.0f} %" for t, v in top) + ")")


def intra_region_text(model: CGEModel) -> str:
    """How the run holds a region's trade with itself: the regions with an own import route
    (GTAP composite regions, ``intra_region="routes"``) and their benchmark trade on it, or
    that there is none (a region's own trade is domestic)."""
    p = model.ctx.p
    own: dict[str, float] = {}
    for (i, s, r) in model.ctx.TRD:
        if s == r:
            own[r] = own.get(r, 0.0) + p["vxmd"][i, s, r]
    if not own:
        return "none: no region trades with itself on a route of its own (its own trade is " \
               "domestic)"
    unit = model.params.attrs.get("unit", "US$ million")
    return ("own import routes (trade of a composite region with itself, shocked with "
            "own_region = true): " + ", ".join(f"{r} {v:,.0f}" for r, v in own.items())
            + f" {unit} at benchmark")


def extract_results(model: CGEModel, diag: Diagnostics, *, scenario: str = "",
                    scenario_text: str = "", scenario_sha256: str = "",
                    scenario_description: str = "",
                    scenario_closure: Mapping[str, str] | None = None) -> xr.Dataset:
    """All results of the current solution as an xarray Dataset (module docstring).

    The attributes record what was run: the data set (name, year, content hash), the
    elasticity source (the values are the variables ``esubd``, ``esubm``, ``esubva``), every
    model option as used, the code version and commit, the scenario (name, description, text
    and its SHA-256, the keys its ``[closure]`` sets as JSON in ``scenario_closure``) and the
    solver's diagnostics (``solver_*``)."""
    ctx = model.ctx
    out = _Out(model.params.attrs.get("unit", "US$ million"))
    trade, fd = _trade(model), _final_demand(model)
    whose_text = _add_welfare(out, model)
    _add_macro(out, model, trade, fd)
    _add_sectors(out, model, fd["cpi"])
    _add_flows(out, fd, trade)
    coords = {"region": ctx.regions, "commodity": ctx.commodities, "activity": ctx.commodities,
              "factor": ctx.factors, "agent": ctx.agents, "exporter": ctx.regions,
              "importer": ctx.regions, "part": list(WELFARE_PARTS)}
    ds = xr.Dataset(out.vars, coords=coords)
    ds["trade_volume_pct"] = xr.where(ds.trade_benchmark > 0,
                                      100 * (ds.trade_volume / ds.trade_benchmark - 1), np.nan)
    ds.trade_volume_pct.attrs = {"description": "bilateral trade volume, % change", "units": "%"}
    for key, dim in (("esubd", "commodity"), ("esubm", "commodity"), ("esubva", "activity")):
        ds[key] = xr.DataArray(np.asarray(model.params[key].values, dtype=float), dims=dim,
                               attrs={"description": ELASTICITY_TEXT[key]})
    run, closure = _run_attrs(model, whose_text)
    ds.attrs.update(run)
    ds.attrs.update({"scenario": scenario, "scenario_description": scenario_description,
                     "scenario_sha256": scenario_sha256, "scenario_text": scenario_text,
                     "scenario_closure": json.dumps(dict(scenario_closure or {}))})
    ds.attrs.update(closure)
    for key, val in diag.as_dict().items():
        ds.attrs[f"solver_{key}"] = val if not isinstance(val, list) else " | ".join(val)
    return ds
