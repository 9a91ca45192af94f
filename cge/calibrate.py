"""Calibration: benchmark SAM + elasticities → the share-form parameter set the model reads.

All benchmark prices are normalised to 1, so every benchmark value is also a benchmark quantity.
Shares are named ``theta_*`` (GTAPinGAMS habit), elasticities ``esub*``, benchmark tax rates end in
``0``. The model (``cge.model``) reads nothing but the Dataset returned by :func:`calibrate`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cge.data.benchmark import (
    DataError,
    check_balance,
    content_sha256,
    direct_purchase_flows,
    final_expenditure,
    foreign_saving,
    has_margins,
    margin_supply,
    net_transfers,
    route_margins,
    tax_revenue,
)
from cge.paths import CALIBRATION_DIR, where_hint

ELASTICITY_COLUMNS = ("esubd", "esubm", "esubva")

#: Every parameter :func:`calibrate` derives for the model: (description, units); "data" is the
#: data set's currency unit. The raw benchmark arrays (``v*``) keep their data descriptions.
PARAMETERS: dict[str, tuple[str, str]] = {
    "to0": ("benchmark output tax rate, on unit cost", "fraction"),
    "tx0": ("benchmark export tax rate, on the exporter's price", "fraction"),
    "tm0": ("benchmark import tariff rate, on the world price: cif (fob + transport margins; "
            "fob = cif without margins)", "fraction"),
    "vtwr": ("benchmark transport margins by service and route (GTAP VTWR)", "data"),
    "vst": ("benchmark margin services supplied to the transport pool (GTAP VST)", "data"),
    "vcif": ("benchmark imports by route at cif prices (fob + margins)", "data"),
    "tfd0": ("benchmark commodity tax rate of a final-demand agent", "fraction"),
    "int0": ("benchmark intermediate input bundle of an activity", "data"),
    "cost0": ("benchmark unit-cost value of output (output less output tax)", "data"),
    "theta_va": ("value-added share of unit cost", "share"),
    "theta_f": ("factor share of value added", "share"),
    "evom": ("benchmark factor endowment (payments)", "data"),
    "theta_dm": ("domestic share of an activity's purchases of a commodity (Armington)",
                 "share"),
    "theta_df": ("domestic share of a final agent's purchases of a commodity (Armington)",
                 "share"),
    "vims": ("benchmark imports by source at landed (tariff-inclusive) prices", "data"),
    "theta_m": ("source share of the import composite at landed prices", "share"),
    "vfd": ("benchmark final-demand purchases, commodity taxes excluded", "data"),
    "efd0": ("benchmark final-demand expenditure, commodity taxes included", "data"),
    "theta_fd": ("commodity share of a final-demand bundle", "share"),
    "vxs": ("benchmark exports of an activity's output (CET)", "data"),
    "theta_e": ("export share of output (CET)", "share"),
    "tax_revenue0": ("benchmark indirect tax revenue", "data"),
    "inc0": ("benchmark regional household income", "data"),
    "yh0": ("benchmark household income (separate institutions)", "data"),
    "yg0": ("benchmark government revenue (separate institutions)", "data"),
    "tau_d": ("direct tax rate on household income", "fraction"),
    "s_h": ("household saving rate", "fraction"),
    "s_g": ("government saving rate", "fraction"),
    "sav0": ("benchmark domestic saving", "data"),
    "fsav0": ("benchmark foreign saving (current account deficit)", "data"),
    "gdp0": ("benchmark GDP at market prices (income side)", "data"),
    "dp_share": ("commodity share of direct government purchases (seller, buyer): the "
                 "benchmark's vdpur where it has them, else the dpshare table", "share"),
    "dpur0": ("benchmark direct government purchases abroad (exporter = seller, importer = "
              "buyer): the stationing account vdpur summed over commodities", "data"),
    "esubd": ("elasticity of substitution, domestic vs imports (ESUBD)", "elasticity"),
    "esubm": ("elasticity of substitution among import sources (ESUBM)", "elasticity"),
    "esubva": ("elasticity of substitution among primary factors (ESUBVA)", "elasticity"),
}


def load_elasticities(source: str | Path | dict | xr.Dataset, commodities: list[str],
                      *, origin: str | None = None) -> xr.Dataset:
    """Elasticities by commodity: Armington domestic/import ``esubd`` (GTAP ESUBD), import
    sourcing ``esubm`` (ESUBM) and value-added substitution ``esubva`` (ESUBVA).

    ``source`` is the name of a set in ``calibration/elasticities/<name>.csv``, a path to such a
    CSV (columns commodity, esubd, esubm, esubva, source), a dict
    ``{"esubd": {i: σ}, ...}`` / ``{"esubd": σ, ...}`` (one value for all) for hand-made data,
    or a Dataset of that layout (variables by ``commodity``, e.g. a sensitivity draw), checked
    the same way. Every σ must be finite and ≥ 0 (0 = Leontief, 1 = Cobb–Douglas).
    ``origin``: what the errors and ``elasticity_source`` call a dict's values.
    """
    if isinstance(source, xr.Dataset):
        origin = str(source.attrs.get("elasticity_source", "a Dataset"))
        return load_elasticities(_dataset_values(source, commodities, origin), commodities,
                                 origin=origin)
    if isinstance(source, dict):
        origin = origin or "user dict"
        frame = _dict_frame(source, commodities, origin)
    else:
        frame, origin = _csv_frame(source, commodities)
    for col in ELASTICITY_COLUMNS:
        bad = frame.index[~(np.isfinite(frame[col]) & (frame[col] >= 0))]
        if len(bad):
            raise DataError(f"elasticities ({origin}): {col} must be finite and >= 0 "
                            f"(0 = Leontief, 1 = Cobb-Douglas); bad for {list(bad)}: "
                            f"{[frame[col][i] for i in bad]}")
    ds = xr.Dataset({c: ("commodity", frame[c].to_numpy(float)) for c in ELASTICITY_COLUMNS},
                    coords={"commodity": commodities})
    ds.attrs["elasticity_source"] = origin
    return ds


def _dataset_values(source: xr.Dataset, commodities: list[str], origin: str) -> dict:
    """A Dataset of elasticities (variables by ``commodity``) as the dict form."""
    missing = [c for c in ELASTICITY_COLUMNS if c not in source]
    if missing or "commodity" not in source.dims:
        raise DataError(f"elasticities ({origin}): need variables {missing or ''} by "
                        f"'commodity'; valid: {list(ELASTICITY_COLUMNS)}")
    have = [str(c) for c in source.commodity.values]
    lacking = [i for i in commodities if i not in have]
    if lacking:
        raise DataError(f"elasticities ({origin}): no values for commodities {lacking}")
    return {c: {i: float(source[c].sel(commodity=i)) for i in commodities}
            for c in ELASTICITY_COLUMNS}


def _dict_frame(source: dict, commodities: list[str], origin: str) -> pd.DataFrame:
    """``{"esubd": {i: σ} or σ, ...}`` as a frame by commodity; every key and commodity
    checked."""
    unknown = [k for k in source if k not in ELASTICITY_COLUMNS]
    if unknown:
        raise DataError(f"elasticities ({origin}): unknown keys {unknown}; valid: "
                        f"{list(ELASTICITY_COLUMNS)}")
    cols = {}
    for col in ELASTICITY_COLUMNS:
        if col not in source:
            raise DataError(f"elasticities: '{col}' missing; need {list(ELASTICITY_COLUMNS)}")
        v = source[col]
        if isinstance(v, dict):
            missing = [i for i in commodities if i not in v]
            extra = [k for k in v if k not in commodities]
            if missing or extra:
                raise DataError(f"elasticities ({origin}): {col} "
                                + (f"has no value for commodities {missing}" if missing
                                   else f"names unknown commodities {extra}")
                                + f"; valid commodities: {list(commodities)}")
        cols[col] = [_sigma(v[i] if isinstance(v, dict) else v, f"{col}[{i}]", origin)
                     for i in commodities]
    return pd.DataFrame(cols, index=pd.Index(commodities, name="commodity"))


def _csv_frame(source: str | Path, commodities: list[str]) -> tuple[pd.DataFrame, str]:
    """An elasticity CSV (a set's name or a path) as a frame by commodity, and its origin
    (a set of the repository is named by its path in the repository)."""
    path = Path(source)
    if not path.suffix:
        path = CALIBRATION_DIR / "elasticities" / f"{source}.csv"
    if not path.exists():
        raise DataError(f"elasticity set {source!r} not found (looked for {path}; "
                        f"{where_hint()})")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError) as exc:
        raise DataError(f"{path}: not a readable CSV file: {exc}") from None
    missing_cols = [c for c in ("commodity", *ELASTICITY_COLUMNS) if c not in frame.columns]
    if missing_cols:
        raise DataError(f"{path}: columns {missing_cols} missing")
    frame["commodity"] = frame["commodity"].astype(str)
    if frame["commodity"].duplicated().any():
        dups = sorted(set(frame["commodity"][frame["commodity"].duplicated()]))
        raise DataError(f"{path}: commodities {dups} listed more than once")
    frame = frame.set_index("commodity")
    missing = [i for i in commodities if i not in frame.index]
    if missing:
        raise DataError(f"{path}: no elasticities for commodities {missing}; "
                        f"the file has {list(frame.index)}")
    frame = frame.loc[commodities]
    try:
        origin = str(path.resolve().relative_to(CALIBRATION_DIR.parent))
    except ValueError:
        origin = str(path)
    for col in ELASTICITY_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame, origin


def _sigma(value: object, where: str, origin: str) -> float:
    """An elasticity as a float; a non-number is a :class:`DataError` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DataError(f"elasticities ({origin}): {where} must be a number >= 0, got "
                        f"{type(value).__name__} {value!r}")
    return float(value)


def _safe_div(num: xr.DataArray, den: xr.DataArray) -> xr.DataArray:
    out = xr.where(den != 0, num / xr.where(den != 0, den, 1.0), 0.0)
    return out.transpose(*num.dims, *[d for d in out.dims if d not in num.dims])


def calibrate(benchmark: xr.Dataset, elasticities: xr.Dataset | str | Path | dict = "gtap",
              *, check: bool = True) -> xr.Dataset:
    """Share-form parameters from a balanced benchmark.

    Returns a Dataset holding the benchmark values (``v*``), benchmark tax rates (``to0``, ``tx0``,
    ``tm0``, ``tfd0``), shares (``theta_*``), incomes and elasticities. Units of values: the
    benchmark's unit. Rates are fractions (0.1 = 10 %). Each family of parameters is derived
    by one helper: :func:`_tax_rates`, :func:`_production`, :func:`_armington`,
    :func:`_final_demand`, :func:`_cet`, :func:`_incomes`, :func:`_direct_purchases`.
    """
    if check:
        check_balance(benchmark)
    ds = benchmark
    commodities = [str(c) for c in ds.commodity.values]
    elasticities = load_elasticities(elasticities, commodities)
    clash = set(map(str, ds.agent.values)) & set(commodities)
    if clash:
        raise DataError(f"commodity names {sorted(clash)} clash with final-demand agent names")

    unit = str(ds.attrs.get("unit", "US$ million"))
    p = xr.Dataset(coords=ds.coords)
    for key in ("vom", "vdfm", "vifm", "vfm", "vto", "vdfd", "vifd", "vtfd", "vxmd", "vtx",
                "vtm", "vdtax", "vsav", "vtrf"):
        p[key] = ds[key]
    for family in (_tax_rates, _production, _armington, _final_demand, _cet, _incomes,
                   _direct_purchases):
        family(ds, p)
    for key in elasticities.data_vars:
        p[key] = elasticities[key].rename(commodity="commodity")
    p["esubva"] = p.esubva.rename(commodity="activity")
    for key, (text, units) in PARAMETERS.items():
        if key in p:
            p[key].attrs.update(description=text, units=units.replace("data", unit))
    p.attrs = dict(benchmark.attrs)
    p.attrs["elasticity_source"] = elasticities.attrs.get("elasticity_source", "")
    p.attrs["data_sha256"] = content_sha256(benchmark)
    return p


def _tax_rates(ds: xr.Dataset, p: xr.Dataset) -> None:
    """Benchmark tax rates (fractions): output tax on unit cost, export tax on the exporter's
    price, tariff on the cif value (fob + margins), final-demand tax on purchases."""
    cost = ds.vom - ds.vto
    p["to0"] = _safe_div(ds.vto, cost)
    p["tx0"] = _safe_div(ds.vtx, ds.vxmd)
    cif = ds.vxmd + ds.vtx + route_margins(ds)         # fob + margins (0 without margins)
    p["tm0"] = _safe_div(ds.vtm, cif)                  # tariffs on the cif value
    purchases = (ds.vdfd + ds.vifd).sum("commodity")
    p["tfd0"] = _safe_div(ds.vtfd, purchases)
    if bool((p.to0 <= -1).any()) or bool((p.tm0 <= -1).any()) or bool((p.tx0 <= -1).any()):
        raise DataError("benchmark tax rates must be > -100 %")


def _production(ds: xr.Dataset, p: xr.Dataset) -> None:
    """Value added vs the intermediate bundle, factor shares, endowments."""
    va = ds.vfm.sum("factor")
    intm = (ds.vdfm + ds.vifm).sum("commodity")
    p["int0"] = intm
    p["cost0"] = ds.vom - ds.vto
    p["theta_va"] = _safe_div(va, va + intm)
    p["theta_f"] = _safe_div(ds.vfm, va)
    p["evom"] = ds.vfm.sum("activity")


def _armington(ds: xr.Dataset, p: xr.Dataset) -> None:
    """Domestic shares of each agent's purchases, import sourcing shares at landed prices,
    and the transport margins where the data have them."""
    p["theta_dm"] = _safe_div(ds.vdfm, ds.vdfm + ds.vifm)
    p["theta_df"] = _safe_div(ds.vdfd, ds.vdfd + ds.vifd)
    cif = ds.vxmd + ds.vtx + route_margins(ds)
    vims = cif + ds.vtm
    p["vims"] = vims
    if has_margins(ds):   # the global transport pool: margins by route, supplies by region
        p["vtwr"] = ds.vtwr
        p["vst"] = ds.vst
        p["vcif"] = cif
    p["theta_m"] = _safe_div(vims, vims.sum("exporter"))


def _final_demand(ds: xr.Dataset, p: xr.Dataset) -> None:
    """Final-demand bundles: purchases before and expenditure after commodity taxes, and
    commodity shares."""
    purchases = (ds.vdfd + ds.vifd).sum("commodity")
    p["vfd"] = purchases                       # purchases excl. commodity taxes (agent, region)
    p["efd0"] = final_expenditure(ds)          # expenditure incl. commodity taxes
    p["theta_fd"] = _safe_div(ds.vdfd + ds.vifd, purchases)


def _cet(ds: xr.Dataset, p: xr.Dataset) -> None:
    """CET shares (used only with a CET): domestic sales vs exports (and margin services sold
    to the transport pool) at market prices."""
    exports = ds.vxmd.sum("importer").rename(exporter="region").rename(commodity="activity")
    exports = exports + margin_supply(ds).rename(commodity="activity")   # and to the pool
    p["vxs"] = exports
    p["theta_e"] = _safe_div(exports, ds.vom)


def _incomes(ds: xr.Dataset, p: xr.Dataset) -> None:
    """Regional household income, household and government income (separate institutions),
    the direct tax and saving rates, saving, foreign saving and GDP."""
    factor_income = ds.vfm.sum(["factor", "activity"])
    net_trf = net_transfers(ds)
    taxes = tax_revenue(ds)
    p["tax_revenue0"] = taxes
    p["inc0"] = factor_income + taxes + net_trf            # regional household income
    p["yh0"] = factor_income + net_trf                     # household income (separate inst.)
    p["yg0"] = ds.vdtax + taxes                            # government revenue (separate inst.)
    p["tau_d"] = _safe_div(ds.vdtax, p.yh0)
    p["s_h"] = _safe_div(ds.vsav.sel(institution="household", drop=True), p.yh0)
    p["s_g"] = _safe_div(ds.vsav.sel(institution="government", drop=True), p.yg0)
    p["sav0"] = ds.vsav.sum("institution")
    p["fsav0"] = foreign_saving(ds)
    p["gdp0"] = factor_income + taxes


def _direct_purchases(ds: xr.Dataset, p: xr.Dataset) -> None:
    """What direct government purchases abroad buy (the optional ``dpshare`` table) and the
    benchmark's own (the stationing account ``vdpur``: level and composition)."""
    if "dpshare" in ds:
        p["dp_share"] = ds["dpshare"]
    if "vdpur" in ds:
        vdpur = direct_purchase_flows(ds)
        p["dpur0"] = vdpur.sum("commodity")
        share = _safe_div(vdpur, p.dpur0)
        if "dp_share" in p:
            share = xr.where(p.dpur0 > 0, share, p.dp_share).transpose(*vdpur.dims)
        p["dp_share"] = share
