"""The benchmark: a balanced global social accounting matrix (SAM) as an xarray Dataset.

Every array is a *value* flow in the data set's currency unit (default US$ million of the base
year), measured at benchmark prices, so it is also a benchmark quantity once all prices are
normalised to 1.
Names follow GTAP/GTAPinGAMS habits (``v`` for benchmark values).

Accounts and how they balance (checked by :func:`check_balance`, 1e-9 relative):

* activity ``j`` in ``r`` (zero profit): ``vom = sum_i (vdfm + vifm) + sum_f vfm + vto``;
* domestic market of ``i`` in ``r``: ``vom = sum_j vdfm + sum_a vdfd + sum_s vxmd[i, r, s]``;
* import market of ``i`` in ``r``: ``sum_s (vxmd + vtx + vtm)[i, s, r] = sum_j vifm + sum_a vifd``;
* household: factor income + net transfers received ``= C + vdtax + vsav[household]``;
* government: ``vdtax`` + output, final-demand, export and import taxes
  ``= G_civil + G_defense + vsav[government]``;
* saving–investment: ``I = vsav[household] + vsav[government] + foreign saving``, where foreign
  saving is imports minus exports at world (fob = cif) prices minus net transfers received.

Final demand agents are ``household`` (private consumption), ``government`` (civil government
consumption), ``defense`` (government defense consumption) and ``investment``. A final-demand
expenditure is ``sum_i (vdfd + vifd)[i, a, r] + vtfd[a, r]`` (purchases plus commodity taxes).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

FINAL_AGENTS: tuple[str, ...] = ("household", "government", "defense", "investment")
INSTITUTIONS: tuple[str, ...] = ("household", "government")


@dataclass(frozen=True)
class ArraySpec:
    """One array of the benchmark: its dimensions and what it means."""

    dims: tuple[str, ...]
    description: str


#: The schema: every array a benchmark carries. Units are the data set's ``unit`` attribute.
SCHEMA: dict[str, ArraySpec] = {
    "vom": ArraySpec(("activity", "region"), "gross output at market prices (incl. output tax)"),
    "vdfm": ArraySpec(("commodity", "activity", "region"), "domestic intermediate purchases"),
    "vifm": ArraySpec(("commodity", "activity", "region"),
                      "imported intermediate purchases at landed (tariff-inclusive) prices"),
    "vfm": ArraySpec(("factor", "activity", "region"), "primary factor payments"),
    "vto": ArraySpec(("activity", "region"), "output taxes net of subsidies"),
    "vdfd": ArraySpec(("commodity", "agent", "region"), "domestic final-demand purchases"),
    "vifd": ArraySpec(("commodity", "agent", "region"),
                      "imported final-demand purchases at landed (tariff-inclusive) prices"),
    "vtfd": ArraySpec(("agent", "region"), "commodity taxes paid by final demand agents"),
    "vxmd": ArraySpec(("commodity", "exporter", "importer"),
                      "bilateral exports at the exporter's market price (before export tax)"),
    "vtx": ArraySpec(("commodity", "exporter", "importer"), "export taxes (revenue of exporter)"),
    "vtm": ArraySpec(("commodity", "exporter", "importer"), "import tariffs (revenue of importer)"),
    "vdtax": ArraySpec(("region",), "direct taxes paid by the household to the government"),
    "vsav": ArraySpec(("institution", "region"), "saving by institution"),
    "vtrf": ArraySpec(("payer", "recipient"), "international transfers (household to household)"),
}

#: Optional arrays: read when the file exists, written when the Dataset has them. ``dpshare`` is
#: not a flow of the SAM and takes no part in the balance checks; ``vdpur`` (direct government
#: purchases abroad) is a flow and every account includes it (:func:`direct_purchase_flows`); the
#: transport margins
#: ``vtwr`` and ``vst`` (both or neither) are flows, and the accounts include them when present
#: (:func:`route_margins`, :func:`margin_supply`): trade is then valued fob in ``vxmd + vtx``,
#: cif = fob + margins, and tariffs ``vtm`` are on the cif value.
OPTIONAL_SCHEMA: dict[str, ArraySpec] = {
    "vtwr": ArraySpec(("margin", "commodity", "exporter", "importer"),
                      "international transport margins on each route (cif - fob), by margin "
                      "service (GTAP VTWR): bought from the global transport pool"),
    "vst": ArraySpec(("commodity", "region"),
                     "margin services each region supplies to the global transport pool "
                     "(GTAP VST): exports of services"),
    "dpshare": ArraySpec(("commodity", "exporter", "importer"),
                         "composition of direct purchases by the importer's government from "
                         "the exporter's producers (stationing, Foreign Military Sales): share "
                         "of each commodity, summing to 1 over commodities for each pair "
                         "covered; pairs not covered buy the importer's defense bundle"),
    "vdpur": ArraySpec(("commodity", "exporter", "importer"),
                       "direct purchases by the importer's government from the exporter's "
                       "producers at the exporter's market price (no tariff, no margin): the "
                       "purchases of forces stationed abroad (GAO-21-270 on default2024); "
                       "exports of the exporter, imports and government (defense) spending "
                       "of the importer"),
}

#: Coordinates every benchmark must define; `exporter`/`importer`/`payer`/`recipient` copy `region`.
SET_DIMS = ("region", "commodity", "activity", "factor", "agent", "institution")

BALANCE_RTOL = 1e-9


class DataError(ValueError):
    """A benchmark data set is malformed or does not balance; the message names where."""


# --------------------------------------------------------------------------------------------
# Construction
# --------------------------------------------------------------------------------------------
#: Factors whose real price the tables call the real wage, in order of preference: this
#: project's ``labour``, then GTAP's unskilled labour ``UnSkLab`` (GTAP's headline wage).
WAGE_FACTORS = ("labour", "UnSkLab")


def wage_factor(factors) -> str | None:
    """The factor reported as "the real wage": the first of :data:`WAGE_FACTORS` the data set
    has, else the first factor whose name has "lab" in it (``SkLab``, ``Labor``), else None
    (a data set without labour has no real wage; its factors' real returns are still in the
    results)."""
    names = [str(f) for f in factors]
    for name in WAGE_FACTORS:
        if name in names:
            return name
    return next((f for f in names if "lab" in f.lower()), None)


def capital_factor(factors) -> str | None:
    """The factor the sector-specific-capital closure fixes by sector: ``capital``, GTAP's
    ``Capital``, else the first factor whose name has "cap" in it, else None."""
    names = [str(f) for f in factors]
    for name in ("capital", "Capital"):
        if name in names:
            return name
    return next((f for f in names if "cap" in f.lower()), None)


def empty_benchmark(
    regions: list[str],
    commodities: list[str],
    factors: list[str],
    *,
    name: str = "benchmark",
    unit: str = "US$ million",
    year: int | None = None,
) -> xr.Dataset:
    """An all-zero benchmark with the given sets (activities = commodities: one sector, one good).

    Fill the arrays, then call :func:`complete` to derive ``vom`` and the saving accounts and
    :func:`check_balance` to verify.
    """
    coords = {
        "region": list(regions),
        "commodity": list(commodities),
        "activity": list(commodities),
        "factor": list(factors),
        "agent": list(FINAL_AGENTS),
        "institution": list(INSTITUTIONS),
        "exporter": list(regions),
        "importer": list(regions),
        "payer": list(regions),
        "recipient": list(regions),
    }
    data = {}
    for key, spec in SCHEMA.items():
        shape = tuple(len(coords[d]) for d in spec.dims)
        data[key] = xr.DataArray(np.zeros(shape), dims=spec.dims,
                                 attrs={"description": spec.description, "units": unit})
    ds = xr.Dataset(data, coords=coords, attrs={"name": name, "unit": unit})
    if year is not None:
        ds.attrs["year"] = year
    return ds


def final_expenditure(ds: xr.Dataset) -> xr.DataArray:
    """Expenditure of each final-demand agent, purchases plus commodity taxes (agent, region)."""
    return (ds.vdfd + ds.vifd).sum("commodity") + ds.vtfd


def tax_revenue(ds: xr.Dataset) -> xr.DataArray:
    """Indirect tax revenue by region: output, final-demand, export (exporter) and import taxes."""
    vtx = ds.vtx.sum(["commodity", "importer"]).rename(exporter="region")
    vtm = ds.vtm.sum(["commodity", "exporter"]).rename(importer="region")
    return ds.vto.sum("activity") + ds.vtfd.sum("agent") + vtx + vtm


def has_margins(ds: xr.Dataset) -> bool:
    """The data set carries international transport margins (``vtwr`` and ``vst``)."""
    return "vtwr" in ds.data_vars and "vst" in ds.data_vars


def route_margins(ds: xr.Dataset) -> xr.DataArray:
    """Transport margins of each route (commodity, exporter, importer): cif - fob; 0 without
    margins."""
    if not has_margins(ds):
        return xr.zeros_like(ds.vxmd)
    return ds.vtwr.sum("margin").transpose("commodity", "exporter", "importer")


def margin_supply(ds: xr.Dataset) -> xr.DataArray:
    """Margin services each region sells to the global transport pool (commodity, region);
    0 without margins."""
    if not has_margins(ds):
        return xr.zeros_like(ds.vom.rename(activity="commodity"))
    return ds.vst.transpose("commodity", "region")


def direct_purchase_flows(ds: xr.Dataset) -> xr.DataArray:
    """Direct government purchases abroad ``vdpur`` (commodity, exporter, importer); 0 where
    the data have none. (The model's quantity of them is :func:`cge.blocks.flows.direct_sales`.)"""
    if "vdpur" not in ds.data_vars:
        return xr.zeros_like(ds.vxmd)
    return ds.vdpur.transpose("commodity", "exporter", "importer")


def direct_sales_by_seller(ds: xr.Dataset) -> xr.DataArray:
    """What each region's producers sell to foreign governments directly (commodity, region)."""
    return direct_purchase_flows(ds).sum("importer").rename(exporter="region")


def direct_purchases_by_buyer(ds: xr.Dataset) -> xr.DataArray:
    """What each region's government buys from foreign producers directly (region)."""
    return direct_purchase_flows(ds).sum(["commodity", "exporter"]).rename(importer="region")


def net_transfers(ds: xr.Dataset) -> xr.DataArray:
    """Net international transfers received by each region."""
    received = ds.vtrf.sum("payer").rename(recipient="region")
    paid = ds.vtrf.sum("recipient").rename(payer="region")
    return received - paid


def foreign_saving(ds: xr.Dataset) -> xr.DataArray:
    """Foreign saving (minus the current account): imports (cif) - exports (fob, and margin
    services sold to the transport pool) - transfers; direct government purchases abroad
    (``vdpur``) are imports of the buyer and exports of the seller."""
    world = ds.vxmd + ds.vtx
    imports = world.sum(["commodity", "exporter"]).rename(importer="region")
    exports = world.sum(["commodity", "importer"]).rename(exporter="region")
    if has_margins(ds):
        imports = imports + route_margins(ds).sum(["commodity", "exporter"]).rename(
            importer="region")
        exports = exports + margin_supply(ds).sum("commodity")
    if "vdpur" in ds.data_vars:
        imports = imports + direct_purchases_by_buyer(ds)
        exports = exports + direct_sales_by_seller(ds).sum("commodity")
    return imports - exports - net_transfers(ds)


def complete(ds: xr.Dataset, *, government_saving: xr.DataArray | None = None) -> xr.Dataset:
    """Derive the accounts that close the SAM from the flows already filled in.

    * ``vom`` from the domestic market (row) identity;
    * ``vsav`` so that the household and government budgets close: government saving is
      ``government_saving`` (default 0) and direct taxes ``vdtax`` are whatever closes the
      government budget (if that would be negative, ``vdtax = 0`` and government saving absorbs it);
      household saving = investment − government saving − foreign saving.

    The activity (column) identity is *not* forced: call :func:`check_balance` afterwards.
    """
    ds = ds.copy(deep=True)
    ds["vom"] = (ds.vdfm.sum("activity") + ds.vdfd.sum("agent")
                 + ds.vxmd.sum("importer").rename(exporter="region")).rename(commodity="activity")
    if has_margins(ds):
        ds["vom"] = ds.vom + margin_supply(ds).rename(commodity="activity")
    if "vdpur" in ds.data_vars:
        ds["vom"] = ds.vom + direct_sales_by_seller(ds).rename(commodity="activity")
    ds["vom"] = ds.vom.transpose("activity", "region")
    fe = final_expenditure(ds)
    sg = xr.zeros_like(ds.vdtax) if government_saving is None else government_saving
    gov_spend = fe.sel(agent="government") + fe.sel(agent="defense")
    if "vdpur" in ds.data_vars:
        gov_spend = gov_spend + direct_purchases_by_buyer(ds)
    vdtax = gov_spend + sg - tax_revenue(ds)
    sg = xr.where(vdtax < 0, sg - vdtax, sg)
    vdtax = vdtax.clip(min=0.0)
    ds["vdtax"] = vdtax.drop_vars("agent", errors="ignore")
    sh = fe.sel(agent="investment") - sg - foreign_saving(ds)
    ds["vsav"] = xr.concat([sh.drop_vars("agent", errors="ignore"),
                            sg.drop_vars("agent", errors="ignore")],
                           dim=pd.Index(list(INSTITUTIONS), name="institution"))
    ds["vsav"] = ds.vsav.transpose("institution", "region")
    for key, spec in SCHEMA.items():
        ds[key].attrs.update(description=spec.description, units=ds.attrs.get("unit", ""))
    return ds


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------
def account_gaps(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Receipts minus payments of every account, with the scale used to judge them relative."""
    fe = final_expenditure(ds)
    factor_income = ds.vfm.sum(["factor", "activity"])
    ntr = net_transfers(ds)
    gaps = {
        "activity (zero profit)": (
            ds.vom - (ds.vdfm + ds.vifm).sum("commodity") - ds.vfm.sum("factor") - ds.vto,
            ds.vom),
        "domestic market": (
            ds.vom.rename(activity="commodity") - ds.vdfm.sum("activity") - ds.vdfd.sum("agent")
            - ds.vxmd.sum("importer").rename(exporter="region") - margin_supply(ds)
            - direct_sales_by_seller(ds),
            ds.vom.rename(activity="commodity")),
        "import market": (
            (ds.vxmd + ds.vtx + route_margins(ds) + ds.vtm).sum("exporter").rename(
                importer="region") - ds.vifm.sum("activity") - ds.vifd.sum("agent"),
            ds.vifm.sum("activity") + ds.vifd.sum("agent")),
        "household budget": (
            factor_income + ntr - fe.sel(agent="household", drop=True) - ds.vdtax
            - ds.vsav.sel(institution="household", drop=True),
            factor_income),
        "government budget": (
            ds.vdtax + tax_revenue(ds) - fe.sel(agent="government", drop=True)
            - fe.sel(agent="defense", drop=True) - direct_purchases_by_buyer(ds)
            - ds.vsav.sel(institution="government", drop=True),
            factor_income),
        "saving-investment": (
            ds.vsav.sum("institution") + foreign_saving(ds) - fe.sel(agent="investment", drop=True),
            factor_income),
    }
    if has_margins(ds):      # the pool sells what the regions supply
        used = ds.vtwr.sum(["commodity", "exporter", "importer"]).rename(margin="commodity")
        supplied = margin_supply(ds).sum("region")
        gaps["transport pool"] = (supplied - used, supplied)
    return gaps


def check_balance(ds: xr.Dataset, rtol: float = BALANCE_RTOL) -> None:
    """Raise :class:`DataError` naming every account whose receipts ≠ payments (relative to rtol).

    The gap is judged relative to the account's own size, floored at ``rtol`` times the largest
    regional factor income so that near-empty accounts do not fail on rounding noise.
    """
    check_structure(ds)
    floor = float(ds.vfm.sum(["factor", "activity"]).max())
    problems = []
    for account, (gap, scale) in account_gaps(ds).items():
        tol = rtol * np.maximum(np.abs(scale), floor)
        bad = np.abs(gap) > tol
        if bool(bad.any()):
            stacked = gap.where(bad).to_series().dropna()
            worst = stacked.abs().sort_values(ascending=False).head(5)
            where = ", ".join(f"{k if isinstance(k, str) else '/'.join(map(str, k))}: "
                              f"{stacked[k]:+.6g}" for k in worst.index)
            problems.append(f"{account} does not balance ({int(bad.sum())} cells; largest gaps "
                            f"{where} {ds.attrs.get('unit', '')})")
    if problems:
        raise DataError(f"benchmark '{ds.attrs.get('name', '?')}' is unbalanced: "
                        + "; ".join(problems))


def check_structure(ds: xr.Dataset) -> None:
    """Every schema array present with the right dimensions, finite, and flows non-negative."""
    name = ds.attrs.get("name", "?")
    for key, spec in SCHEMA.items():
        if key not in ds:
            raise DataError(f"benchmark '{name}': array '{key}' ({spec.description}) is missing")
        if tuple(ds[key].dims) != spec.dims:
            raise DataError(f"benchmark '{name}': array '{key}' has dimensions {ds[key].dims}, "
                            f"expected {spec.dims}")
        vals = ds[key].values
        if not np.all(np.isfinite(vals)):
            raise DataError(f"benchmark '{name}': array '{key}' has NaN or infinite values at "
                            f"{_first_where(ds[key], ~np.isfinite(vals))}")
    if ("vtwr" in ds.data_vars) != ("vst" in ds.data_vars):
        raise DataError(f"benchmark '{name}': transport margins need both vtwr and vst")
    for key in ("vtwr", "vst", "vdpur"):
        if key in ds.data_vars and tuple(ds[key].dims) != OPTIONAL_SCHEMA[key].dims:
            raise DataError(f"benchmark '{name}': array '{key}' has dimensions "
                            f"{ds[key].dims}, expected {OPTIONAL_SCHEMA[key].dims}")
    for key in ("vom", "vdfm", "vifm", "vfm", "vdfd", "vifd", "vxmd", "vtrf", "vdtax",
                *(k for k in ("vtwr", "vst", "vdpur") if k in ds.data_vars)):
        vals = ds[key].values
        if np.any(vals < 0):
            spec = SCHEMA.get(key) or OPTIONAL_SCHEMA[key]
            raise DataError(f"benchmark '{name}': array '{key}' ({spec.description}) has "
                            f"negative values at {_first_where(ds[key], vals < 0)}")
    if "vdpur" in ds.data_vars:
        flows = direct_purchase_flows(ds)
        own = np.einsum("irr->ir", flows.values)
        if np.any(own != 0):
            raise DataError(f"benchmark '{name}': array 'vdpur' has a region buying from itself "
                            f"at {_first_where(flows.isel(importer=0), own != 0)} "
                            "(a government's purchases at home are its own final demand)")
    if not np.array_equal(ds.commodity.values, ds.activity.values):
        raise DataError(f"benchmark '{name}': activities must equal commodities "
                        "(one sector makes one commodity)")


def _first_where(da: xr.DataArray, mask: np.ndarray) -> str:
    idx = np.argwhere(mask)[0]
    return ", ".join(f"{d}={da[d].values[i]}" for d, i in zip(da.dims, idx, strict=True))


# --------------------------------------------------------------------------------------------
# Plain-text storage: one long-format CSV per array + dataset.toml (units, sources)
# --------------------------------------------------------------------------------------------
def save_benchmark(ds: xr.Dataset, directory: str | Path, *, sources: dict[str, str],
                   notes: str = "", elasticities: str | None = None) -> None:
    """Write ``ds`` to ``directory`` as ``<array>.csv`` files and a ``dataset.toml``
    (``elasticities``: the set the data set names, a name or a CSV file in ``directory``).

    ``sources`` maps every array name to the source text of that table; a missing source is an
    error. Values are written by :func:`write_csv` (shortest round-trip decimal of each float), so
    the balance survives the round trip exactly and the bytes depend on the values only. Zero
    cells are omitted (the reader restores them).
    """
    directory = Path(directory)
    optional = [k for k in OPTIONAL_SCHEMA if k in ds.data_vars]
    missing = [k for k in (*SCHEMA, *optional) if not sources.get(k)]
    if missing:
        raise DataError(f"no source given for arrays {missing}")
    directory.mkdir(parents=True, exist_ok=True)
    for key in (*SCHEMA, *optional):
        series = ds[key].to_series()
        series = series[series != 0]
        frame = series.rename("value").reset_index()
        write_csv(frame, directory / f"{key}.csv")
    lines = [
        f'name = {_toml_str(ds.attrs.get("name", directory.name))}',
        f'unit = {_toml_str(ds.attrs.get("unit", "US$ million"))}',
    ]
    if "year" in ds.attrs:
        lines.append(f"year = {int(ds.attrs['year'])}")
    if elasticities:
        lines.append(f"elasticities = {_toml_str(elasticities)}")
    if notes:
        body = notes.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
        lines.append(f'notes = """\n{body}\n"""')
    lines.append("")
    for set_name in SET_DIMS:
        lines.append(f"{set_name} = {[str(v) for v in ds[set_name].values]!r}".replace("'", '"'))
    groups = benchmark_groups(ds)
    for kind in ("regions", "commodities"):
        if groups.get(kind):
            lines += ["", f"[groups.{kind}]"]
            lines += [f"{name} = {_toml_list(members)}" for name, members in groups[kind].items()]
    roles, etrae = factor_roles_of(ds)
    if roles:
        lines += ["", "[factor_roles]"] + [f"{f} = {_toml_str(r)}" for f, r in roles.items()]
    if etrae:
        lines += ["", "[etrae]"] + [f"{f} = {v!r}" for f, v in etrae.items()]
    for key, spec in [*SCHEMA.items(), *((k, OPTIONAL_SCHEMA[k]) for k in optional)]:
        lines += ["", f"[arrays.{key}]", f"description = {_toml_str(spec.description)}",
                  f'dims = {list(spec.dims)!r}'.replace("'", '"'),
                  f"source = {_toml_str(sources[key])}"]
    (directory / "dataset.toml").write_text("\n".join(lines) + "\n", encoding="utf-8",
                                            newline="\n")


def format_float(value: float) -> str:
    """The text a float is stored as: Python's shortest round-trip representation (``repr``),
    which reads back as the same double and is the same on every platform (correctly rounded
    decimal conversion, David Gay's algorithm); NaN is the empty field (pandas' missing value)."""
    value = float(value)
    return "" if value != value else repr(value)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` (no index) to ``path`` as UTF-8 CSV with ``\\n`` line ends, every float
    column through :func:`format_float`: the file's bytes are a function of the values only (no
    ``%.17g`` padding digits, no platform line ends)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = [format_float(v) for v in out[col].to_numpy()]
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def benchmark_groups(ds: xr.Dataset) -> dict:
    """The data set's named groups ``{"regions": {name: [...]}, "commodities": {...}}``.

    Held in ``ds.attrs["groups"]`` as JSON text (netCDF attributes cannot hold dicts) and in the
    ``[groups]`` table of ``dataset.toml``; scenario files may use these names."""
    import json

    groups = ds.attrs.get("groups") or {}
    return json.loads(groups) if isinstance(groups, (str, bytes)) else dict(groups)


def _check_groups(groups: dict, ds: xr.Dataset, where: str) -> None:
    sets = {"regions": set(map(str, ds.region.values)),
            "commodities": set(map(str, ds.commodity.values))}
    for kind, table in groups.items():
        if kind not in sets:
            raise DataError(f"{where}: [groups.{kind}] is not known; use regions or commodities")
        for name, members in table.items():
            unknown = [m for m in members if m not in sets[kind]]
            if unknown:
                raise DataError(f"{where}: group {kind}.{name} names unknown {kind} {unknown}; "
                                f"valid: {sorted(sets[kind])}")


def _toml_list(items) -> str:
    return "[" + ", ".join(_toml_str(x) for x in items) + "]"


def _toml_str(text: str) -> str:
    """A TOML basic string (JSON escaping is valid TOML escaping for basic strings)."""
    import json

    return json.dumps(str(text), ensure_ascii=False)


def load_benchmark(directory: str | Path, *, check: bool = True) -> xr.Dataset:
    """Read a benchmark written by :func:`save_benchmark`; check its balance unless told not to.

    Readers never change data: what is in the files is what comes back. Every problem raises
    :class:`DataError` naming the file (and the row or the accounts): an unreadable or malformed
    ``dataset.toml``, a missing or malformed CSV, a value that is not a finite number, a negative
    flow, an unbalanced account.
    """
    directory = Path(directory)
    meta_path = directory / "dataset.toml"
    meta = _read_meta(meta_path)
    ds = empty_benchmark(meta["region"], meta["commodity"], meta["factor"],
                         name=str(meta.get("name", directory.name)),
                         unit=str(meta.get("unit", "US$ million")), year=meta.get("year"))
    arrays_meta = meta.get("arrays", {})
    if not isinstance(arrays_meta, dict):
        raise DataError(f"{meta_path}: 'arrays' must be a table of [arrays.<name>] entries")
    unknown = sorted(set(arrays_meta) - set(SCHEMA) - set(OPTIONAL_SCHEMA))
    if unknown:
        raise DataError(f"{meta_path}: unknown arrays {unknown}; valid: "
                        f"{[*SCHEMA, *OPTIONAL_SCHEMA]}")
    present = [k for k in OPTIONAL_SCHEMA if (directory / f"{k}.csv").exists()]
    if "vtwr" in present:
        ds = ds.assign_coords(margin=list(meta["commodity"]))
    for key, spec in [*SCHEMA.items(), *((k, OPTIONAL_SCHEMA[k]) for k in present)]:
        entry = arrays_meta.get(key, {})
        if not isinstance(entry, dict) or not entry.get("source"):
            if (directory / f"{key}.csv").exists():
                raise DataError(f"{meta_path}: array '{key}' has no source")
        _read_array(ds, directory / f"{key}.csv", key, spec)
        ds[key].attrs["source"] = entry["source"]
    if "dpshare" in ds:
        check_direct_purchase_shares(ds["dpshare"], str(directory / "dpshare.csv"))
    ds.attrs["path"] = str(directory)
    if meta.get("notes"):
        ds.attrs["notes"] = str(meta["notes"])
    if (directory / "validation.csv").exists():   # hold-out validation, cge.databuild.validation
        ds.attrs["validation"] = (directory / "validation.csv").read_text(encoding="utf-8")
    if meta.get("groups"):
        import json

        _check_groups(meta["groups"], ds, str(meta_path))
        ds.attrs["groups"] = json.dumps(meta["groups"])
    if meta.get("factor_roles") or meta.get("etrae"):
        _read_factor_roles(meta, ds, str(meta_path))
    if check:
        try:
            check_balance(ds)
        except DataError as exc:
            raise DataError(f"{directory}: {exc}") from None
    return ds


def factor_roles_of(ds: xr.Dataset) -> tuple[dict[str, str], dict[str, float]]:
    """The data set's factor roles and sluggish factors' transformation elasticities
    (``attrs["factor_roles"]``, ``attrs["etrae"]``, JSON; tables ``[factor_roles]`` and
    ``[etrae]`` of ``dataset.toml``); empty when it gives none (every factor mobile)."""
    import json

    return (json.loads(ds.attrs.get("factor_roles") or "{}"),
            json.loads(ds.attrs.get("etrae") or "{}"))


def _read_factor_roles(meta: dict, ds: xr.Dataset, where: str) -> None:
    """``[factor_roles]`` (factor = "mobile" | "sluggish" | "fixed") and ``[etrae]`` (sluggish
    factor = elasticity > 0) of ``dataset.toml``, checked, into ``ds.attrs``."""
    import json

    from cge.options import ModelOptions, OptionsError

    roles, etrae = meta.get("factor_roles", {}), meta.get("etrae", {})
    if not isinstance(roles, dict) or not isinstance(etrae, dict):
        raise DataError(f"{where}: [factor_roles] and [etrae] must be tables (factor = value)")
    factors = [str(f) for f in ds.factor.values]
    unknown = sorted(set(roles) - set(factors)) + sorted(set(etrae) - set(factors))
    if unknown:
        raise DataError(f"{where}: [factor_roles]/[etrae] name factors {unknown} the data set "
                        f"does not have (factors: {factors})")
    try:
        ModelOptions(factor_roles=dict(roles), etrae=dict(etrae))
    except OptionsError as exc:
        raise DataError(f"{where}: {exc}") from None
    ds.attrs["factor_roles"] = json.dumps(roles)
    ds.attrs["etrae"] = json.dumps({f: float(v) for f, v in etrae.items()})


def _read_meta(meta_path: Path) -> dict:
    """``dataset.toml``, with its sets checked (present, non-empty, unique names; agents,
    institutions and activities as the format fixes them)."""
    if not meta_path.exists():
        raise DataError(f"{meta_path.parent}: no dataset.toml (is this a benchmark directory?)")
    try:
        meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{meta_path}: cannot read the data set description: {exc}") from None
    for set_name in SET_DIMS:
        if set_name not in meta:
            raise DataError(f"{meta_path}: set '{set_name}' is not defined")
        members = meta[set_name]
        if (not isinstance(members, list) or not members
                or not all(isinstance(x, str) and x for x in members)):
            raise DataError(f"{meta_path}: set '{set_name}' must be a non-empty list of names "
                            f"(strings), got {members!r}")
        dups = sorted({x for x in members if members.count(x) > 1})
        if dups:
            raise DataError(f"{meta_path}: set '{set_name}' lists {dups} more than once")
    if meta["agent"] != list(FINAL_AGENTS) or meta["institution"] != list(INSTITUTIONS):
        raise DataError(f"{meta_path}: agent must be {list(FINAL_AGENTS)} and institution "
                        f"{list(INSTITUTIONS)}; got {meta['agent']} and {meta['institution']}")
    if meta["activity"] != meta["commodity"]:
        raise DataError(f"{meta_path}: activity must equal commodity (one sector makes one "
                        f"commodity); got {meta['activity']} and {meta['commodity']}")
    return meta


def _read_array(ds: xr.Dataset, path: Path, key: str, spec: ArraySpec) -> None:
    """One array's CSV (long format, zero cells omitted) into ``ds[key]``, checked: the file
    exists and reads, its columns, labels, duplicates, numbers and signs."""
    if not path.exists():
        raise DataError(f"{path}: file missing (array '{key}': {spec.description})")
    if key in OPTIONAL_SCHEMA:
        ds[key] = xr.DataArray(np.zeros(tuple(ds.sizes[d] for d in spec.dims)),
                               dims=spec.dims, attrs={"description": spec.description})
    try:
        raw = pd.read_csv(path, keep_default_na=False, dtype=str, header=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError) as exc:
        raise DataError(f"{path}: not a readable CSV file: {exc}") from None
    expected = [*spec.dims, "value"]
    if list(raw.iloc[0]) != expected:
        raise DataError(f"{path}: columns {list(raw.iloc[0])}, expected {expected}")
    frame = raw.iloc[1:].set_axis(expected, axis=1).reset_index(drop=True)
    da = ds[key]
    for dim in spec.dims:
        unknown = set(frame[dim]) - set(map(str, ds[dim].values))
        if unknown:
            raise DataError(f"{path}: unknown {dim} {sorted(unknown)}; valid: "
                            f"{[str(v) for v in ds[dim].values]}")
    if frame.duplicated(list(spec.dims)).any():
        raise DataError(f"{path}: duplicated rows for {spec.dims}")
    values = _csv_values(frame["value"], path)
    if key in NONNEGATIVE and bool((values < 0).any()):
        row = int(np.argmax(values < 0))
        raise DataError(f"{path}: line {row + 2}: value {values[row]:g} is negative; "
                        f"'{key}' ({spec.description}) must be >= 0")
    if len(frame):
        idx = tuple(ds.indexes[d].get_indexer(frame[d]) for d in spec.dims)
        data = da.values.copy()
        data[idx] = values
        ds[key] = da.copy(data=data)


def content_sha256(ds: xr.Dataset) -> str:
    """SHA-256 (hex) of a benchmark's content: set members and every array's values (float64,
    in schema order), independent of file formatting and of how it was read."""
    import hashlib

    h = hashlib.sha256()
    for set_name in SET_DIMS:
        h.update(("|".join(map(str, ds[set_name].values)) + "\n").encode())
    for key in (*SCHEMA, *(k for k in OPTIONAL_SCHEMA if k in ds.data_vars)):
        dims = (SCHEMA.get(key) or OPTIONAL_SCHEMA[key]).dims
        h.update(key.encode())
        h.update(np.ascontiguousarray(ds[key].transpose(*dims).values,
                                      dtype=np.float64).tobytes())
    return h.hexdigest()


def check_direct_purchase_shares(shares: xr.DataArray, where: str) -> None:
    """Each (exporter, importer) pair's shares sum to 1 (or 0: not covered); no diagonal."""
    total = shares.sum("commodity")
    bad = (total > 0) & (np.abs(total - 1.0) > 1e-9)
    if bool(bad.any()):
        s, r = (str(bad[d].values[i]) for d, i in zip(
            bad.dims, np.unravel_index(int(np.argmax(bad.values)), bad.shape), strict=True))
        raise DataError(f"{where}: direct purchase shares of ({s}, {r}) sum to "
                        f"{float(total.sel(exporter=s, importer=r)):.12g}, not 1")
    diag = [str(r) for r in shares.exporter.values
            if float(total.sel(exporter=r, importer=r)) > 0]
    if diag:
        raise DataError(f"{where}: direct purchases of a region from itself: {diag}")


#: Arrays whose values must be >= 0 (flows; taxes and saving may be negative).
NONNEGATIVE: tuple[str, ...] = ("vom", "vdfm", "vifm", "vfm", "vdfd", "vifd", "vxmd", "vtrf",
                                "dpshare", "vtwr", "vst", "vdpur",
                                "vdtax")


def _csv_values(column: pd.Series, path: Path) -> np.ndarray:
    """The ``value`` column as floats; an empty, non-numeric, NaN or infinite cell is an error
    naming its line."""
    values = pd.to_numeric(column.str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{path}: line {row + 2}: value {column.iloc[row]!r} is not a finite "
                        f"number (every value must be a finite number; omit zero cells)")
    return values
