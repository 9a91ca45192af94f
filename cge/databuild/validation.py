"""Hold-out validation: the benchmark against published 2024 figures it was *not* fitted to.

The balancing of ``default2024`` reproduces its targets (``data/targets2024/``: US goods trade by
partner and commodity, US services trade, each region's total goods exports and imports and
energy balance, gross output and value added, GDP, labour share). Those cannot validate it. The
figures in ``data/validation2024/holdout.csv`` are others: bilateral goods flows between non-US
regions (Korea-China, EU-China, Japan-China, Mexico-China), sector exports of non-US regions
(Korea's chips, cars, ships, machinery; the EU's cars), composition shares of the EU-China trade
and customs duties collected (US, EU). Every row carries its source URL and the exact quote read.

Columns of ``holdout.csv``: ``id, description, region, partner, commodity, value, unit, year,
source_url, quote, quality, status, rule, note``:

* ``region`` a model region; ``partner`` a region, ``ALL`` (every other region) or regions
  joined by ``+``; ``commodity`` a commodity, a group of the data set (``goods``) or commodities
  joined by ``+``;
* ``unit`` ``US$ bn`` (the model's US$ million / 1000) or ``%``;
* ``quality`` P (official page), N (news citing an official source), S (secondary);
* ``rule`` how *ours* is computed from the benchmark (``vxmd[commodity, exporter, importer]``,
  bilateral trade at world prices, fob = cif, and ``vtm`` import tariff revenue, same dims):

  - ``exports``: sum of ``vxmd[commodity, region, partner]``;
  - ``imports``: sum of ``vxmd[commodity, partner, region]`` (customs imports are cif: the model
    has no margins, so cif figures should run a few % above ours);
  - ``trade``: exports + imports;
  - ``duties``: sum of ``vtm[commodity, partner, region]`` (tariff revenue of the importer);
  - ``share_of_exports`` / ``share_of_imports``: 100 x the flow of ``commodity`` over the flow of
    all goods, same region and partner (%).

:func:`compute_validation` gives ours vs published; :func:`write_validation` writes it as
``validation.csv`` next to the data set, which :func:`cge.data.benchmark.load_benchmark` reads
into ``ds.attrs["validation"]`` and the report shows ("Hold-out validation").
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cge.data.benchmark import DataError, benchmark_groups, write_csv
from cge.paths import DATA_DIR

HOLDOUT_CSV = DATA_DIR / "validation2024" / "holdout.csv"

HOLDOUT_COLUMNS = ("id", "description", "region", "partner", "commodity", "value", "unit", "year",
                   "source_url", "quote", "quality", "status", "rule")
RULES = ("exports", "imports", "trade", "duties", "share_of_exports", "share_of_imports")
UNITS = {"US$ bn": 1e-3, "%": 1.0}   # factor from the model's US$ million (or %) to the unit
QUALITIES = ("P", "N", "S")
#: Columns of ``validation.csv`` (ratio = ours / published; log_error = ln(ratio)).
OUTPUT_COLUMNS = ("id", "description", "ours", "published", "unit", "ratio", "log_error",
                  "pct_error", "quality", "source_url")
#: Within this relative distance ours counts as a hit in the summary (±25 %).
HIT_BAND = 0.25


def read_holdout(path: str | Path | None = None) -> pd.DataFrame:
    """The hold-out table (default ``data/validation2024/holdout.csv``), checked: the columns,
    unique ids, a value > 0, a known unit, rule and quality, a URL and a quote on every row."""
    path = Path(path) if path is not None else HOLDOUT_CSV
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the hold-out table: {exc}") from None
    missing = [c for c in HOLDOUT_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: columns {missing} are missing")
    dups = sorted(frame.loc[frame["id"].duplicated(), "id"].unique())
    if dups:
        raise DataError(f"{path}: ids {dups} occur more than once")
    for k, row in frame.iterrows():
        where = f"{path}, row {k + 2} (id '{row['id']}')"
        if not row["id"]:
            raise DataError(f"{where}: no id")
        try:
            value = float(row["value"])
        except ValueError:
            raise DataError(f"{where}: value '{row['value']}' is not a number") from None
        if not (math.isfinite(value) and value > 0):
            raise DataError(f"{where}: value must be a positive number, got {row['value']}")
        for col, allowed in (("unit", tuple(UNITS)), ("rule", RULES), ("quality", QUALITIES)):
            if row[col] not in allowed:
                raise DataError(f"{where}: unknown {col} '{row[col]}'; valid: {list(allowed)}")
        if not row["source_url"].strip().startswith("http"):
            raise DataError(f"{where}: no source URL")
        if not row["quote"].strip():
            raise DataError(f"{where}: no quote from the source")
    frame["value"] = frame["value"].astype(float)
    return frame


def _regions(ds: xr.Dataset, text: str, region: str, where: str) -> list[str]:
    known = [str(r) for r in ds.region.values]
    if text == "ALL":
        return [r for r in known if r != region]
    names = [t.strip() for t in text.split("+")]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise DataError(f"{where}: unknown region {unknown or text!r}; valid: {known} or ALL")
    return names


def _commodities(ds: xr.Dataset, text: str, where: str) -> list[str]:
    known = [str(c) for c in ds.commodity.values]
    groups = benchmark_groups(ds).get("commodities", {})
    out: list[str] = []
    for name in (t.strip() for t in text.split("+")):
        if name in known:
            out.append(name)
        elif name in groups:
            out.extend(groups[name])
        else:
            raise DataError(f"{where}: unknown commodity '{name}'; valid: {known} or a group "
                            f"{sorted(groups)}")
    return out


def _goods(ds: xr.Dataset) -> list[str]:
    """The data set's ``goods`` group, else every commodity but services and public_admin."""
    groups = benchmark_groups(ds).get("commodities", {})
    if "goods" in groups:
        return list(groups["goods"])
    return [str(c) for c in ds.commodity.values if c not in ("services", "public_admin")]


def _sum(da: xr.DataArray, commodities: list[str], exporters: list[str],
         importers: list[str]) -> float:
    """Sum of ``da[commodity, exporter, importer]`` over the lists, own-region cells left out."""
    sub = da.sel(commodity=commodities, exporter=exporters, importer=importers)
    off_diag = np.array([[e != i for i in importers] for e in exporters])
    return float((sub.values * off_diag[None, :, :]).sum())


def compute_one(ds: xr.Dataset, row: pd.Series | dict, where: str = "hold-out row") -> float:
    """Ours for one hold-out row, in the row's unit (module docstring for the rules)."""
    rule = row["rule"]
    region = row["region"]
    if region not in [str(r) for r in ds.region.values]:
        raise DataError(f"{where}: unknown region '{region}'; valid: "
                        f"{[str(r) for r in ds.region.values]}")
    partners = _regions(ds, row["partner"] or "ALL", region, where)
    comms = _commodities(ds, row["commodity"] or "goods", where)
    if row["unit"] not in UNITS:
        raise DataError(f"{where}: unknown unit '{row['unit']}'; valid: {list(UNITS)}")
    x = ds.vxmd
    if rule == "exports":
        value = _sum(x, comms, [region], partners)
    elif rule == "imports":
        value = _sum(x, comms, partners, [region])
    elif rule == "trade":
        value = _sum(x, comms, [region], partners) + _sum(x, comms, partners, [region])
    elif rule == "duties":
        value = _sum(ds.vtm, comms, partners, [region])
    elif rule in ("share_of_exports", "share_of_imports"):
        ex, im = ([region], partners) if rule == "share_of_exports" else (partners, [region])
        total = _sum(x, _goods(ds), ex, im)
        value = 100.0 * _sum(x, comms, ex, im) / total if total > 0 else math.nan
        if row["unit"] != "%":
            raise DataError(f"{where}: rule '{rule}' gives a share: unit must be %")
        return value
    else:
        raise DataError(f"{where}: unknown rule '{rule}'; valid: {list(RULES)}")
    if row["unit"] == "%":
        raise DataError(f"{where}: rule '{rule}' gives a value: unit must be US$ bn")
    return value * UNITS[row["unit"]]


def compute_validation(ds: xr.Dataset, holdout: pd.DataFrame) -> pd.DataFrame:
    """Ours vs published for every hold-out row (columns :data:`OUTPUT_COLUMNS`).

    ``ours`` in the row's unit (US$ bn at world prices, or %); ``ratio`` = ours / published;
    ``log_error`` = ln(ratio); ``pct_error`` = 100 (ratio - 1). An unknown rule, region or
    commodity raises :class:`DataError` naming the row."""
    if ds.attrs.get("unit", "US$ million") != "US$ million":
        raise DataError(f"compute_validation: the data set's unit is {ds.attrs.get('unit')!r}; "
                        "the rules assume US$ million")
    records = []
    for k, row in holdout.reset_index(drop=True).iterrows():
        where = f"hold-out row {k + 2} (id '{row['id']}')"
        ours = compute_one(ds, row, where)
        published = float(row["value"])
        ratio = ours / published
        records.append({
            "id": row["id"], "description": row["description"], "ours": ours,
            "published": published, "unit": row["unit"], "ratio": ratio,
            "log_error": math.log(ratio) if ratio > 0 else math.nan,
            "pct_error": 100.0 * (ratio - 1.0), "quality": row["quality"],
            "source_url": row["source_url"]})
    return pd.DataFrame.from_records(records, columns=list(OUTPUT_COLUMNS))


def summary(table: pd.DataFrame) -> dict[str, float]:
    """n figures, median |log error| and how many lie within ±25 % (:data:`HIT_BAND`)."""
    ratio = pd.to_numeric(table["ratio"], errors="coerce")
    log_err = np.log(ratio.where(ratio > 0)).abs()
    return {"n": int(len(table)), "median_abs_log_error": float(log_err.median()),
            "n_within": int(((ratio - 1.0).abs() <= HIT_BAND).sum())}


def write_validation(ds: xr.Dataset, out_path: str | Path,
                     holdout: pd.DataFrame | str | Path | None = None) -> pd.DataFrame:
    """Write ``validation.csv`` (ours vs published, :func:`compute_validation`) to ``out_path``
    (a file, or a folder to put it in) through :func:`cge.data.benchmark.write_csv`, so the bytes
    depend on the values only. ``holdout`` defaults to :func:`read_holdout`'s table."""
    table = holdout if isinstance(holdout, pd.DataFrame) else read_holdout(holdout)
    frame = compute_validation(ds, table)
    out = Path(out_path)
    if out.is_dir():
        out = out / "validation.csv"
    write_csv(frame, out)
    return frame
