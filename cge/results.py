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

import json

import numpy as np
import xarray as xr
from pyomo.environ import value

from cge.model import CGEModel
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


def extract_results(model: CGEModel, diag: Diagnostics, *, scenario: str = "",
                    scenario_text: str = "", scenario_sha256: str = "") -> xr.Dataset:
    """All results of the current solution as an xarray Dataset."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    R, I, F = ctx.regions, ctx.commodities, ctx.factors
    unit = model.params.attrs.get("unit", "US$ million")
    nr, ni, nf = len(R), len(I), len(F)
    pnum = _val(m.pnum)

    def exp_price(i, s):
        return _val(m.pe[i, s]) if ctx.cet else _val(m.pd[i, s])

    # bilateral trade: value at exporter prices (fob) and volume (benchmark-price units)
    tv = np.zeros((ni, nr, nr))
    tq = np.zeros((ni, nr, nr))
    tv0 = np.zeros((ni, nr, nr))
    tariff = np.zeros(nr)
    for (i, s, r) in ctx.TRD:
        a, b, c = I.index(i), R.index(s), R.index(r)
        vol = _val(m.imp[i, s, r]) * _val(m.ice[i, s, r]) * p["vxmd"][i, s, r]
        tq[a, b, c] = vol * (1.0 + p["tx0"][i, s, r])
        tv[a, b, c] = vol * exp_price(i, s) * (1.0 + _val(m.tx[i, s, r]))
        tv0[a, b, c] = p["vxmd"][i, s, r] * (1.0 + p["tx0"][i, s, r])
        tariff[c] += _val(m.tm[i, s, r]) * tv[a, b, c]
    # direct government purchases abroad (stationing, FMS): exports of the seller
    dpv = np.zeros((nr, nr))
    dp_real_sold = np.zeros(nr)          # at the seller's benchmark domestic prices
    for (s, r), weights in ctx.dp_weights.items():
        amount = _val(m.dpur[s, r]) * pnum
        dpv[R.index(s), R.index(r)] = amount
        dp_real_sold[R.index(s)] += sum(amount * w / _val(m.pd[i, s])
                                        for i, w in weights.items())
    exports_v = tv.sum(axis=(0, 2)) + dpv.sum(axis=1)
    imports_v = tv.sum(axis=(0, 1)) + dpv.sum(axis=0)
    exports_q, imports_q = tq.sum(axis=(0, 2)), tq.sum(axis=(0, 1))
    exports_0, imports_0 = tv0.sum(axis=(0, 2)), tv0.sum(axis=(0, 1))
    # Laspeyres price indices: sum(p1 q0) / sum(p0 q0), unit values per flow
    px_l = np.ones(nr)
    pm_l = np.ones(nr)
    for k in range(nr):
        num_x = sum(tv0[a, k, c] * (tv[a, k, c] / tq[a, k, c] if tq[a, k, c] else 1.0)
                    for a in range(ni) for c in range(nr))
        num_m = sum(tv0[a, b, k] * (tv[a, b, k] / tq[a, b, k] if tq[a, b, k] else 1.0)
                    for a in range(ni) for b in range(nr))
        px_l[k] = num_x / exports_0[k] if exports_0[k] else 1.0
        pm_l[k] = num_m / imports_0[k] if imports_0[k] else 1.0

    ev = np.zeros(nr)
    e0_reg = np.zeros(nr)
    parts = np.zeros((len(WELFARE_PARTS), nr))
    util = np.zeros(nr)
    inc_nom = np.zeros(nr)
    gdp_nom = np.zeros(nr)
    gdp_real = np.zeros(nr)
    cpi = np.ones(nr)
    fd_q = np.zeros((4, nr))
    fd_v = np.zeros((4, nr))
    agents = ctx.agents
    for k, r in enumerate(R):
        ev[k], util[k], e0_reg[k] = equivalent_variation(model, r)
        wp = welfare_parts(model, r)
        parts[:, k] = [wp[a] for a in WELFARE_PARTS]
        gdp_nom[k] = _val(m.gdp[r])
        inc_nom[k] = gdp_nom[k] + _val(m.net_transfers[r])
        real_fd = 0.0
        for a_i, a in enumerate(agents):
            if (a, r) in ctx.fd_set:
                fd_q[a_i, k] = _val(m.qfd[a, r])
                fd_v[a_i, k] = _val(m.efd[a, r])
                real_fd += p["efd0"][a, r] * fd_q[a_i, k]
        gdp_real[k] = real_fd + exports_q[k] + dp_real_sold[k] - imports_q[k]
        if ("household", r) in ctx.fd_set:
            cpi[k] = _val(m.pfd["household", r])
    gdp0 = np.array([p["gdp0"][r] for r in R])
    # sectors
    Y = np.full((ni, nr), np.nan)
    pd_ = np.full((ni, nr), np.nan)
    vom0 = np.zeros((ni, nr))
    for (j, r) in ctx.YJ:
        Y[I.index(j), R.index(r)] = _val(m.Y[j, r])
        vom0[I.index(j), R.index(r)] = p["vom"][j, r]
    for (i, r) in ctx.D:
        pd_[I.index(i), R.index(r)] = _val(m.pd[i, r])
    fdem = np.zeros((nf, ni, nr))
    for (f, j, r) in ctx.VAF:
        fdem[F.index(f), I.index(j), R.index(r)] = _val(m.qf[f, j, r]) * p["vfm"][f, j, r]
    pf = np.full((nf, nr), np.nan)
    for (f, r) in ctx.FAC:
        pf[F.index(f), R.index(r)] = _val(m.pf[f, r])
    for (f, j, r) in ctx.FSP:  # average return of a sector-specific factor
        k = R.index(r)
        tot0 = sum(p["vfm"][f, jj, r] for (ff, jj, rr) in ctx.FSP if ff == f and rr == r)
        prev = 0.0 if np.isnan(pf[F.index(f), k]) else pf[F.index(f), k]
        pf[F.index(f), k] = prev + _val(m.pfs[f, j, r]) * p["vfm"][f, j, r] / tot0
    employment = np.ones(nr)
    if model.options.factor_market == "unemployment":
        employment = np.array([_val(m.lsup[r]) for r in R])
    defense_real = np.array([fd_q[agents.index("defense"), k] if ("defense", r) in ctx.fd_set
                             else np.nan for k, r in enumerate(R)])

    coords = {"region": R, "commodity": I, "activity": I, "factor": F, "agent": agents,
              "exporter": R, "importer": R, "part": list(WELFARE_PARTS)}

    def reg(x, desc, units=""):
        return xr.DataArray(x, dims="region", attrs={"description": desc, "units": units})

    tb = exports_v - imports_v
    whose = headline(model)
    c0 = np.array([p["efd0"]["household", r] for r in R])
    ev_private = parts[WELFARE_PARTS.index("household")]
    ev_head, e0_head = (ev_private, c0) if whose == "private" else (ev, e0_reg)
    whose_text = ("private: household consumption only" if whose == "private" else
                  "regional: private consumption, civil government and saving")
    tb0 = exports_0 - imports_0
    ds = xr.Dataset(
        {
            "EV": xr.DataArray(ev_head, dims="region", attrs={
                "description": f"Hicksian equivalent variation (benchmark prices), "
                               f"{whose_text}", "units": unit, "whose": whose}),
            "EV_pct": reg(100 * np.divide(ev_head, e0_head, out=np.zeros(nr),
                                          where=e0_head > 0),
                          "EV in % of the benchmark expenditure it measures", "%"),
            "welfare_base": reg(e0_head, "benchmark spending the headline EV is measured "
                                "against (C0 + G0 + S0, or C0 for a private EV)", unit),
            "EV_regional": reg(ev, "regional EV: Cobb-Douglas utility of private "
                               "consumption, civil government and real saving", unit),
            "EV_private": reg(ev_private, "private EV: household real consumption at "
                              "benchmark prices", unit),
            "welfare_parts": xr.DataArray(parts, dims=("part", "region"), attrs={
                "description": "real change of each welfare part at benchmark prices "
                               "(defense outside utility)", "units": unit}),
            "utility": reg(util, "utility index (benchmark = 1)"),
            "income": reg(inc_nom, "regional income (nominal)", unit),
            "gdp_nominal": reg(gdp_nom, "nominal GDP", unit),
            "real_gdp_pct": reg(100 * (gdp_real / gdp0 - 1), "real GDP, % change", "%"),
            "gdp_deflator": reg(gdp_nom / gdp_real, "GDP deflator (benchmark = 1)"),
            "cpi": reg(cpi, "consumer price index (household bundle, benchmark = 1)"),
            "real_exchange_rate": reg(cpi / pnum, "CPI relative to the numeraire"),
            "tot_pct": reg(100 * (px_l / pm_l - 1), "terms of trade, % change", "%"),
            "export_price_index": reg(px_l, "export price index (Laspeyres, fob)"),
            "import_price_index": reg(pm_l, "import price index (Laspeyres, cif)"),
            "trade_balance": reg(tb, "trade balance (exports - imports, fob)", unit),
            "trade_balance_change": reg(tb - tb0, "change in the trade balance", unit),
            "current_account": reg(tb + np.array([_val(m.net_transfers[r]) for r in R]),
                                   "current account (trade balance + net transfers)", unit),
            "tariff_revenue": reg(tariff, "import tariff revenue", unit),
            "direct_purchases": xr.DataArray(
                dpv, dims=("exporter", "importer"),
                attrs={"description": "direct government purchases by the importer's government"
                       " from the exporter's producers (stationing, FMS); in the trade balance",
                       "units": unit}),
            "employment_index": reg(employment, "employment of labour (index)"),
            "defense_real": reg(defense_real, "real defense purchases (index)"),
            "defense_share_of_gdp": reg(
                100 * np.where(np.isnan(defense_real), np.nan,
                               fd_v[agents.index("defense")] / gdp_nom),
                "defense spending in % of nominal GDP (bundle only)", "%"),
            "real_factor_price_pct": xr.DataArray(
                100 * (pf / cpi[None, :] - 1), dims=("factor", "region"),
                attrs={"description": "real factor return (factor price / CPI), % change",
                       "units": "%"}),
            "factor_price": xr.DataArray(pf, dims=("factor", "region"),
                                         attrs={"description": "factor price"}),
            "output_index": xr.DataArray(Y, dims=("activity", "region"),
                                         attrs={"description": "output (benchmark = 1)"}),
            "output_pct": xr.DataArray(100 * (Y - 1), dims=("activity", "region"),
                                       attrs={"description": "output, % change", "units": "%"}),
            "output_benchmark": xr.DataArray(vom0, dims=("activity", "region"),
                                             attrs={"description": "benchmark output",
                                                    "units": unit}),
            "price_domestic": xr.DataArray(pd_, dims=("commodity", "region"),
                                           attrs={"description": "price of domestic sales"}),
            "factor_demand": xr.DataArray(fdem, dims=("factor", "activity", "region"),
                                          attrs={"description": "factor use (benchmark "
                                                 "value units)", "units": unit}),
            "final_demand_real": xr.DataArray(fd_q, dims=("agent", "region"),
                                              attrs={"description": "real final demand "
                                                     "(index; 0 where absent)"}),
            "final_demand_value": xr.DataArray(fd_v, dims=("agent", "region"),
                                               attrs={"description": "final demand "
                                                      "expenditure", "units": unit}),
            "trade_value": xr.DataArray(tv, dims=("commodity", "exporter", "importer"),
                                        attrs={"description": "bilateral trade at world "
                                               "(fob) prices", "units": unit}),
            "trade_volume": xr.DataArray(tq, dims=("commodity", "exporter", "importer"),
                                         attrs={"description": "bilateral trade volume "
                                                "(benchmark prices)", "units": unit}),
            "trade_benchmark": xr.DataArray(tv0, dims=("commodity", "exporter", "importer"),
                                            attrs={"description": "benchmark bilateral trade "
                                                   "(fob)", "units": unit}),
        },
        coords=coords,
    )
    ds["trade_volume_pct"] = xr.where(ds.trade_benchmark > 0,
                                      100 * (ds.trade_volume / ds.trade_benchmark - 1), np.nan)
    ds.trade_volume_pct.attrs = {"description": "bilateral trade volume, % change", "units": "%"}
    o = model.options
    params = model.params
    for key, dim in (("esubd", "commodity"), ("esubm", "commodity"), ("esubva", "activity")):
        ds[key] = xr.DataArray(np.asarray(params[key].values, dtype=float), dims=dim,
                               attrs={"description": ELASTICITY_TEXT[key]})
    ds.attrs.update({
        "data_year": params.attrs.get("year", ""),
        "data_sha256": params.attrs.get("data_sha256", ""),
        "data_notes": params.attrs.get("notes", ""),
        "elasticity_source": params.attrs.get("elasticity_source", ""),
        "esub_top": float(o.esub_top),
        "esub_final": json.dumps({a: float(v) for a, v in o.final_sigmas().items()}),
        "esub_cet": float(o.esub_cet),
        "labour": o.labour,
        "capital": o.capital,
        "code_version": _code_version(),
        "scenario": scenario,
        "scenario_sha256": scenario_sha256,
        "scenario_text": scenario_text,
        "data_set": model.params.attrs.get("name", ""),
        "unit": unit,
        "institutions": o.institutions,
        "transformation": o.transformation,
        "factor_market": o.factor_market,
        "external": o.external,
        "numeraire": o.numeraire,
        "welfare": f"headline EV is {whose_text}; EV_regional and EV_private both "
                   "reported; defense outside utility, reported separately",
        "fixed_amounts_unit": "foreign saving, international transfers and direct purchases "
                              "abroad are fixed in units of the numeraire "
                              f"({o.numeraire}); the numeraire choice changes real results",
        "defense_default": "real defense purchases fixed at the benchmark level unless the "
                           "scenario sets a defense rule",
        "margins": "fob = cif: no international transport margins",
    })
    for key, val in diag.as_dict().items():
        ds.attrs[f"solver_{key}"] = val if not isinstance(val, list) else " | ".join(val)
    return ds
