"""The 2024 benchmark ``wiod_update2024``: WIOD 2011 structure, 2024 published levels, autos split.

Built by :func:`build_update2024` from the committed benchmark ``data/wiod2011`` (structure), the
target figures ``data/targets2024/targets.csv`` (every number with its source URL, quote and
quality grade) and the split shares ``data/targets2024/autos_split_shares.csv``. Steps:

1. **Autos split.** WIOD's ``motor_vehicles`` (c15, all transport equipment) becomes
   ``motor_vehicles`` (motor vehicles and parts) and ``other_transport`` (aircraft, ships, rail,
   ...), with one share ``a_r`` of motor vehicles in the transport equipment made in region ``r``
   (``autos_split_shares.csv``: C29 / (C29 + C30) of gross output, WIOD 2016 release, 2011;
   RoW 2014). The **activity column**
   (intermediate inputs, factor payments, output tax) of ``r`` is split ``a_r : 1 - a_r``; the
   **commodity row** of goods made in ``r`` (domestic intermediate and final purchases, exports
   ``vxmd[., r, .]`` and export taxes/tariffs on them) is split with the same ``a_r``; imported
   purchases ``vifm/vifd`` of region ``r`` are split with the share of motor vehicles in what
   ``r`` imports, ``b_r = sum_s a_s vxmd[tr, s, r] / sum_s vxmd[tr, s, r]``. Every account stays
   balanced exactly (cells of transport bought by transport split four ways). The published
   JPN→USA figure then enters as a target in step 3.
2. **Prior for 2024.** Everything of region ``r`` (intermediate and final purchases, factor
   payments, taxes) is scaled by ``g_r`` = GDP 2024 target / GDP 2011 in the data; bilateral
   trade ``s → r`` by ``sqrt(g_s g_r)`` (an assumption: trade grows with the geometric mean of
   the partners' nominal GDP growth). This prior no longer balances. Then the **labour share**
   (:func:`set_labour_shares`): the labour/capital split of value added of region ``r`` is set
   to the published labour share ``S_r`` of ``targets.csv`` (``labour_share``: Penn World Table
   10.01 ``labsh``, 2019, its last year; EU and ROW GDP-weighted means of their countries)
   instead of the 2011 share of wiod2011 (PWT 10.0). The labour/capital ratio of every activity
   of ``r`` is multiplied by one factor ``c_r`` chosen so that labour = ``S_r`` × value added of
   ``r``; each activity's value added (so each region's GDP) is unchanged, capital stays
   positive (no cap is needed) and the 2011 pattern across activities is kept in log-odds.
   wiod2011 has one labour share per region in every activity, so every activity of ``r`` ends
   with labour share ``S_r``.
3. **Balancing** (:func:`cge.databuild.balance.balance`, minimum cross-entropy / generalized RAS):
   every account balances and these totals are held exactly: GDP of each region (= factor income
   here: the WIOD world table has no product-tax rows, net product taxes are inside value added,
   so GDP at basic prices in the data is matched to published GDP at market prices); US goods
   exports to and imports from JPN, EU, KOR, CHN, CAN, MEX and the world (sum of ``vxmd`` over
   the nine goods commodities); US services exports and imports (sum over ``services`` and
   ``public_admin``); US imports of motor vehicles and parts from Japan
   (``vxmd[motor_vehicles, JPN, USA]``); labour income of each region = ``S_r`` × its GDP target
   (the ``labour_share`` rows). The labour share of each activity (so the one set in step 2) and
   the defense share of government consumption (SIPRI 2011 burden, from wiod2011) are preserved
   by the method.
4. :func:`cge.data.benchmark.complete` (``vom``, direct tax, saving) and
   :func:`cge.data.benchmark.check_balance` (1e-9).
5. The named region and commodity groups of ``data/targets2024/groups.toml`` (``goods``,
   ``goods_ex_232``, ``autos``, ``services_all``, ``deal_partners``, ``usmca``;
   ``other_transport`` is a good) go to ``ds.attrs["groups"]`` and ``dataset.toml``.

Outputs in ``data/wiod_update2024/``: the benchmark (CSV + ``dataset.toml``),
``imputations.csv`` (split shares, prior scale factors, labour-share factors, closure; each with
source and status),
``targets_achieved.csv`` (every row of targets.csv with the value achieved), and
``balance_summary.csv`` / ``balance_largest_moves.csv`` (how far the balancing moved cells away
from the prior). Building twice, here or on another machine, gives byte-identical files: every
step uses IEEE-754 basic operations in a fixed order (:mod:`cge.databuild.balance`; the labour-share
factor by bisection with ``sqrt``), and numbers are written by
:func:`cge.data.benchmark.write_csv` (shortest round-trip decimals).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cge.data.benchmark import (
    SCHEMA,
    DataError,
    check_balance,
    complete,
    empty_benchmark,
    load_benchmark,
    save_benchmark,
    tax_revenue,
    write_csv,
)
from cge.databuild.balance import FLOW_ARRAYS, Target, balance, check_tolerances, mask
from cge.paths import ROOT as REPO_ROOT

BASE_DIR = REPO_ROOT / "data" / "wiod2011"
TARGETS_DIR = REPO_ROOT / "data" / "targets2024"
DEFAULT_OUT_DIR = REPO_ROOT / "data" / "wiod_update2024"

SPLIT_FROM = "motor_vehicles"
SPLIT_NEW = "other_transport"
#: Commodities counted as services in the US services trade targets (the rest are goods).
SERVICES = ("public_admin", "services")
BN = 1000.0  # US$ million per US$ bn
#: ``targets.csv`` item of the published labour share of value added (GDP) by region.
LABOUR_SHARE = "labour_share"
LABOUR_SHARE_UNIT = "share of value added"
TARGET_COLUMNS = ["item", "region", "partner", "value", "unit", "year", "source_url",
                  "quote_or_note", "quality", "status", "role"]
#: Columns of the other target tables: by commodity (or activity), with a tolerance.
SECTOR_TARGET_COLUMNS = ["item", "region", "partner", "commodity", "value", "unit", "year",
                         "source_url", "quote_or_note", "quality", "status", "role", "tolerance"]
#: The target tables besides targets.csv, read when present (data/targets2024/README section in
#: data/SOURCES.md says what each holds): US trade by commodity and partner (Census HS10 x
#: country, cge/databuild/census.py), goods trade totals and energy balances of the other regions,
#: gross output and value added by activity and region (ADB MRIO, cge/databuild/adb.py).
SECTOR_TARGET_FILES = ("us_trade_by_sector.csv", "region_trade.csv", "output_structure.csv")
#: The items of the sector tables with a rule (:func:`_sector_weights`).
SECTOR_ITEMS = ("goods_imports", "goods_exports", "services_imports", "services_exports",
                "energy_balance", "value_added", "gross_output")


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
def read_targets(path: Path | None = None) -> pd.DataFrame:
    """``targets.csv``, checked: columns, grades, statuses, and the derived rows re-derived."""
    path = TARGETS_DIR / "targets.csv" if path is None else Path(path)
    frame = pd.read_csv(path, keep_default_na=False, dtype={"value": float, "year": int})
    if list(frame.columns) != TARGET_COLUMNS:
        raise DataError(f"{path}: columns {list(frame.columns)}, expected {TARGET_COLUMNS}")
    bad = frame[~frame.quality.isin(["P", "N", "S", "derived"])
                | ~frame.status.isin(["published", "assumption"])
                | ~frame.role.isin(["target", "input", "cross-check"])]
    if len(bad):
        raise DataError(f"{path}: bad quality/status/role in rows {bad.index.tolist()}")
    get = {(r.item, r.region): r.value for r in frame.itertuples()}
    jpn = get[("gdp_yen", "JPN")] / get[("jpy_per_usd", "JPN")] * BN
    others = sum(get[("gdp", r)] for r in ("USA", "EU", "KOR", "CHN", "CAN", "MEX")) + jpn
    for key, derived in ((("gdp", "JPN"), jpn), (("gdp", "ROW"), get[("gdp_world", "WORLD")]
                                                  - others)):
        if abs(get[key] - derived) > 1e-9 * abs(derived):
            raise DataError(f"{path}: {key} is {get[key]!r} but derives to {derived!r}")
    shares = frame[frame["item"] == LABOUR_SHARE]
    gdp_regions = set(frame.region[(frame["item"] == "gdp") & (frame.role == "target")])
    if (not shares.value.between(0.0, 1.0, inclusive="neither").all()
            or shares.region.duplicated().any() or not set(shares.region) <= gdp_regions
            or ((shares.role == "target") & (shares.unit != LABOUR_SHARE_UNIT)).any()):
        raise DataError(f"{path}: {LABOUR_SHARE} rows must be shares in (0, 1) ({LABOUR_SHARE_UNIT}"
                        "), one per region with a GDP target")
    return frame


def read_sector_targets(path: Path) -> pd.DataFrame:
    """One target table by commodity (:data:`SECTOR_TARGET_COLUMNS`), checked: grades, statuses,
    roles, US$ bn, tolerance >= 0 (0: held exactly)."""
    try:
        frame = pd.read_csv(path, keep_default_na=False,
                            dtype={"value": float, "year": int, "tolerance": str})
        # cross-checks and inputs need no tolerance (empty: 0); targets must give one
        frame["tolerance"] = [float(t) if t.strip() or role == "target" else 0.0
                              for t, role in zip(frame.tolerance, frame.role, strict=True)]
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the target table: {exc}") from None
    if list(frame.columns) != SECTOR_TARGET_COLUMNS:
        raise DataError(f"{path}: columns {list(frame.columns)}, expected "
                        f"{SECTOR_TARGET_COLUMNS}")
    bad = frame[~frame.quality.isin(["P", "N", "S", "derived"])
                | ~frame.status.isin(["published", "derived", "assumption"])
                | ~frame.role.isin(["target", "input", "cross-check"])
                | ~(frame.tolerance >= 0.0)
                | ((frame.role == "target") & (frame.unit != "US$ bn"))]
    if len(bad):
        raise DataError(f"{path}: line {int(bad.index[0]) + 2}: bad quality/status/role/unit/"
                        f"tolerance ({bad.iloc[0].to_dict()})")
    return frame


def read_all_targets(folder: Path | None = None) -> pd.DataFrame:
    """``targets.csv`` (tolerance 0: held exactly; no commodity) and every table of
    :data:`SECTOR_TARGET_FILES` found in ``folder`` (default ``data/targets2024``), one frame
    with a ``file`` column and a fresh index."""
    folder = TARGETS_DIR if folder is None else Path(folder)
    base = read_targets(folder / "targets.csv").assign(commodity="", tolerance=0.0,
                                                       file="targets.csv")
    frames = [base[[*SECTOR_TARGET_COLUMNS, "file"]]]
    for name in SECTOR_TARGET_FILES:
        if (folder / name).exists():
            frames.append(read_sector_targets(folder / name).assign(file=name))
    return pd.concat(frames, ignore_index=True)


def read_groups(ds: xr.Dataset, path: Path | None = None) -> str:
    """The named region and commodity groups of the 2024 data (``data/targets2024/groups.toml``)
    as ``ds.attrs["groups"]`` JSON text, checked against ``ds``'s sets."""
    import tomllib

    from cge.databuild.wiod import groups_json

    path = TARGETS_DIR / "groups.toml" if path is None else Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"{path}: cannot read the groups: {exc}") from None
    return groups_json(table, ds)


def read_split_shares(path: Path | None = None) -> pd.DataFrame:
    """``autos_split_shares.csv``: motor-vehicle share of transport equipment by region."""
    path = TARGETS_DIR / "autos_split_shares.csv" if path is None else Path(path)
    frame = pd.read_csv(path, keep_default_na=False, dtype={"motor_vehicles_share": float})
    if not frame.motor_vehicles_share.between(0.0, 1.0, inclusive="neither").all():
        raise DataError(f"{path}: shares must be in (0, 1)")
    return frame


# --------------------------------------------------------------------------------------------
# Step 1: split transport equipment
# --------------------------------------------------------------------------------------------
def split_commodity(ds: xr.Dataset, share: xr.DataArray, *, old: str = SPLIT_FROM,
                    new: str = SPLIT_NEW) -> xr.Dataset:
    """Split commodity/activity ``old`` into ``old`` (fraction ``share[r]`` of what region ``r``
    makes) and ``new`` (the rest), inserted right after ``old``. Balanced in, balanced out (see
    step 1 of the module docstring)."""
    goods = [str(c) for c in ds.commodity.values]
    k = goods.index(old)
    new_goods = goods[:k + 1] + [new] + goods[k + 1:]
    out = empty_benchmark([str(r) for r in ds.region.values], new_goods,
                          [str(f) for f in ds.factor.values], name=ds.attrs.get("name", "b"),
                          unit=ds.attrs.get("unit", "US$ million"), year=ds.attrs.get("year"))
    a = share.sel(region=ds.region.values).values                     # (r,) producer share
    landed = (ds.vxmd + ds.vtx + ds.vtm).sel(commodity=old).transpose("exporter", "importer")
    lv = landed.values
    tot = lv.sum(axis=0)
    b = np.where(tot > 0, (a[:, None] * lv).sum(axis=0) / np.where(tot > 0, tot, 1.0), a)

    def expand(values: np.ndarray, axis: int, frac: np.ndarray, along: int | None) -> np.ndarray:
        """Insert the split along ``axis``: ``frac`` (indexed by axis ``along`` of values)."""
        values = np.moveaxis(values, axis, 0)
        part = values[k]
        f = frac
        if along is not None:
            shape = [1] * part.ndim
            ax = along - 1 if along > axis else along
            shape[ax] = len(frac)
            f = frac.reshape(shape)
        first, second = part * f, part * (1.0 - f)
        res = np.concatenate([values[:k], first[None], second[None], values[k + 1:]], axis=0)
        return np.moveaxis(res, 0, axis)

    for key, spec in SCHEMA.items():
        vals = np.asarray(ds[key].transpose(*spec.dims).values, dtype=float)
        dims = spec.dims
        if key in ("vdfm", "vifm"):   # (commodity, activity, region): row then column
            vals = expand(vals, 0, a if key == "vdfm" else b, 2)
            vals = expand(vals, 1, a, 2)
        elif key in ("vfm",):
            vals = expand(vals, 1, a, 2)
        elif key in ("vto", "vom"):
            vals = expand(vals, 0, a, 1)
        elif key == "vdfd":
            vals = expand(vals, 0, a, 2)
        elif key == "vifd":
            vals = expand(vals, 0, b, 2)
        elif key in ("vxmd", "vtx", "vtm"):
            vals = expand(vals, 0, a, 1)
        out[key] = out[key].copy(data=vals.reshape(out[key].shape))
        assert tuple(out[key].dims) == dims
    return out


# --------------------------------------------------------------------------------------------
# Step 2: prior
# --------------------------------------------------------------------------------------------
def scale_prior(ds: xr.Dataset, growth: xr.DataArray) -> xr.Dataset:
    """Region arrays × ``growth[r]``, bilateral arrays × ``sqrt(growth[s] growth[r])``."""
    out = ds.copy(deep=True)
    g = growth.sel(region=ds.region.values)
    gx = np.sqrt(g.rename(region="exporter") * g.rename(region="importer"))
    gx = gx.assign_coords(exporter=ds.exporter.values, importer=ds.importer.values)
    for key, spec in SCHEMA.items():
        if "region" in spec.dims:
            out[key] = (ds[key] * g).transpose(*spec.dims)
        elif "exporter" in spec.dims:
            out[key] = (ds[key] * gx).transpose(*spec.dims)
        elif key == "vtrf":
            gt = np.sqrt(g.rename(region="payer") * g.rename(region="recipient"))
            gt = gt.assign_coords(payer=ds.payer.values, recipient=ds.recipient.values)
            out[key] = (ds[key] * gt).transpose(*spec.dims)
    for key in SCHEMA:
        out[key].attrs = dict(ds[key].attrs)
    return out


def set_labour_shares(ds: xr.Dataset, share: xr.DataArray) -> tuple[xr.Dataset, xr.DataArray]:
    """Labour share of value added of each region in ``share`` set to ``share[r]``.

    In region ``r`` the labour/capital ratio of every activity is multiplied by one factor
    ``c_r`` (:func:`odds_factor`) so that ``sum_j labour[j, r] = share[r] * sum_j va[j, r]``:
    activity ``j``'s labour share ``s_j`` becomes ``c s_j / (c s_j + 1 - s_j)``
    and its value added ``va[j, r]`` is unchanged, so capital stays >= 0 without a cap (an
    activity with no labour or no capital keeps it so). With one share in every activity of
    ``r`` (as in wiod2011) every activity gets ``share[r]``. Regions not in ``share`` are kept.
    Returns the new data set and ``c`` by region (1 where kept)."""
    out = ds.copy(deep=True)
    vfm = ds.vfm.transpose("factor", "activity", "region")
    lab, cap = vfm.sel(factor="labour").values, vfm.sel(factor="capital").values   # (j, r)
    va = lab + cap
    regions = [str(r) for r in ds.region.values]
    factor = np.ones(len(regions))
    new_lab, new_cap = lab.copy(), cap.copy()
    for k, reg in enumerate(regions):
        if reg not in share.region.values:
            continue
        v, s0 = va[:, k], np.divide(lab[:, k], va[:, k], out=np.zeros_like(va[:, k]),
                                     where=va[:, k] > 0)
        inner = (s0 > 0) & (s0 < 1)
        c = odds_factor(v, s0, float(share.sel(region=reg)), reg)
        factor[k] = c
        new_lab[inner, k] = v[inner] * c * s0[inner] / (c * s0[inner] + 1.0 - s0[inner])
        new_cap[:, k] = v - new_lab[:, k]
    data = np.stack([new_lab if f == "labour" else (new_cap if f == "capital"
                                                   else vfm.sel(factor=f).values)
                     for f in [str(f) for f in vfm.factor.values]])
    out["vfm"] = vfm.copy(data=data).transpose(*SCHEMA["vfm"].dims)
    out["vfm"].attrs = dict(ds.vfm.attrs)
    return out, xr.DataArray(factor, dims="region", coords={"region": ds.region.values})


def odds_factor(va: np.ndarray, s0: np.ndarray, target: float, region: str = "?") -> float:
    """The factor ``c`` on every activity's labour/capital odds that makes the labour share of
    the total value added ``va`` equal ``target``, where ``s0`` are the activities' shares.

    Labour ``L(c) = sum_j va_j c s_j / (c s_j + 1 - s_j)`` rises with ``c``; ``c`` is found by
    bisection in ``[2**-72, 2**72]`` on the geometric mean ``sqrt(lo hi)`` (bisection of
    ``log c`` without a logarithm or exponential: IEEE-754 ``* / + sqrt`` only, so the same bits
    on every machine), until ``lo`` and ``hi`` are adjacent doubles."""
    inner = (s0 > 0) & (s0 < 1)
    v, s = va[inner], s0[inner]
    fixed = float((va * s0)[~inner].sum())
    want = target * float(va.sum())

    def labour(c: float) -> float:
        return fixed + float((v * c * s / (c * s + 1.0 - s)).sum())

    lo, hi = 2.0 ** -72, 2.0 ** 72
    if not labour(lo) < want < labour(hi):
        raise DataError(f"labour share {target} of {region} cannot be reached by rescaling")
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if mid in (lo, hi):
            break
        if labour(mid) < want:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


# --------------------------------------------------------------------------------------------
# Step 3: targets
# --------------------------------------------------------------------------------------------
def _commodity_set(ds: xr.Dataset, name: str) -> list[str]:
    """A commodity name, ``goods`` (all but :data:`SERVICES`) or ``services_all``."""
    if name == "goods":
        return [str(c) for c in ds.commodity.values if str(c) not in SERVICES]
    if name == "services_all":
        return [c for c in SERVICES if c in ds.commodity.values]
    if name not in ds.commodity.values:
        raise DataError(f"target tables: unknown commodity {name!r}")
    return [name]


def _sector_weights(ds: xr.Dataset, row) -> dict[str, xr.DataArray]:
    """The cells of one row of a sector target table (its ``item``): trade of ``region`` with
    ``partner`` (``ALL``: every other region) in ``commodity``; the energy trade balance
    (exports minus imports); value added or gross output (at cost: intermediates + factors) of
    activity ``commodity`` in ``region``."""
    item, reg = row["item"], row.region
    others = [str(r) for r in ds.region.values if r != reg]
    p = others if row.partner in ("ALL", "") else [row.partner]
    com = _commodity_set(ds, row.commodity) if item not in ("value_added", "gross_output") \
        else None
    if item in ("goods_imports", "services_imports"):
        return {"vxmd": mask(ds, "vxmd", commodity=com, exporter=p, importer=reg)}
    if item in ("goods_exports", "services_exports"):
        return {"vxmd": mask(ds, "vxmd", commodity=com, exporter=reg, importer=p)}
    if item == "energy_balance":
        return {"vxmd": mask(ds, "vxmd", commodity=com, exporter=reg, importer=p)
                - mask(ds, "vxmd", commodity=com, exporter=p, importer=reg)}
    if row.commodity not in ds.activity.values:
        raise DataError(f"{row.file}: {item} of unknown activity {row.commodity!r}")
    va = {"vfm": mask(ds, "vfm", activity=row.commodity, region=reg)}
    if item == "value_added":
        return va
    if item == "gross_output":
        return {**va, "vdfm": mask(ds, "vdfm", activity=row.commodity, region=reg),
                "vifm": mask(ds, "vifm", activity=row.commodity, region=reg)}
    raise DataError(f"{row.file}: no rule for target item {item!r}")


def make_targets(ds: xr.Dataset, table: pd.DataFrame) -> list[tuple[int, Target]]:
    """One :class:`Target` (US$ million) per row whose role is ``target``: of ``targets.csv``
    (:func:`read_targets`, held exactly) and, in a frame of :func:`read_all_targets`, of the
    sector tables (with their tolerance)."""
    goods = [str(c) for c in ds.commodity.values if str(c) not in SERVICES]
    services = [c for c in SERVICES if c in ds.commodity.values]
    partners = [str(r) for r in ds.region.values if r != "USA"]
    gdp = _gdp_targets(table)
    out: list[tuple[int, Target]] = []
    for idx, row in table[table.role == "target"].iterrows():
        value = float(row.value) * BN
        p = partners if row.partner == "ALL" else [row.partner]
        name = (f"{row['item']} {row.region}" + (f"-{row.partner}" if row.partner else "")
                + (f" {row.commodity}" if row.get("commodity", "") else ""))
        if row.get("file", "targets.csv") != "targets.csv":
            if row["item"] == "gross_output":   # output at cost = value - output tax
                value -= float(ds.vto.sel(activity=row.commodity, region=row.region))
            out.append((int(idx), Target(name, _sector_weights(ds, row), value,
                                         float(row.tolerance))))
            continue
        if row["item"] == "gdp":
            w = {"vfm": mask(ds, "vfm", region=row.region)}
        elif row["item"] == LABOUR_SHARE:   # labour income = share x GDP target
            w = {"vfm": mask(ds, "vfm", factor="labour", region=row.region)}
            value = float(row.value) * gdp[row.region] * BN
        elif row["item"] == "us_goods_exports":
            w = {"vxmd": mask(ds, "vxmd", commodity=goods, exporter="USA", importer=p)}
        elif row["item"] == "us_goods_imports":
            w = {"vxmd": mask(ds, "vxmd", commodity=goods, exporter=p, importer="USA")}
        elif row["item"] == "us_services_exports":
            w = {"vxmd": mask(ds, "vxmd", commodity=services, exporter="USA", importer=p)}
        elif row["item"] == "us_services_imports":
            w = {"vxmd": mask(ds, "vxmd", commodity=services, exporter=p, importer="USA")}
        elif row["item"] == "us_motor_vehicle_imports":
            w = {"vxmd": mask(ds, "vxmd", commodity=SPLIT_FROM, exporter=p, importer="USA")}
        else:
            raise DataError(f"targets.csv: no rule for target item {row['item']!r}")
        out.append((int(idx), Target(name, w, value)))
    return out


def _gdp_targets(table: pd.DataFrame) -> dict[str, float]:
    """GDP target by region (US$ bn) of ``targets.csv``."""
    rows = table[(table["item"] == "gdp") & (table.role == "target")]
    return {str(r.region): float(r.value) for r in rows.itertuples()}


def _labour_share_targets(table: pd.DataFrame) -> xr.DataArray:
    """Published labour share by region (``labour_share`` rows held as targets)."""
    rows = table[(table["item"] == LABOUR_SHARE) & (table.role == "target")]
    return xr.DataArray(rows.value.values.astype(float), dims="region",
                        coords={"region": rows.region.values})


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------
def build_update2024(out_dir: str | Path | None = None, *,
                     base_dir: str | Path | None = None,
                     targets_dir: str | Path | None = None) -> xr.Dataset:
    """Build ``wiod_update2024`` (see the module docstring) from the benchmark in ``base_dir``
    (default ``data/wiod2011``) and the targets of ``targets_dir`` (default
    ``data/targets2024``), and write it to ``out_dir`` (default ``data/wiod_update2024``).
    Returns the balanced, checked data set; raises :class:`DataError` if a target is missed by
    more than its tolerance."""
    tdir = TARGETS_DIR if targets_dir is None else Path(targets_dir)
    out = DEFAULT_OUT_DIR if out_dir is None else Path(out_dir)
    base = load_benchmark(BASE_DIR if base_dir is None else Path(base_dir))
    table = read_all_targets(tdir)
    shares = read_split_shares(tdir / "autos_split_shares.csv")
    share = xr.DataArray(shares.motor_vehicles_share.values, dims="region",
                         coords={"region": shares.region.values})

    split = split_commodity(base, share)
    check_balance(split)

    gdp = _gdp_targets(table)
    gdp_target = xr.DataArray([gdp[str(r)] * BN for r in base.region.values],
                              dims="region", coords={"region": base.region.values})
    gdp_2011 = split.vfm.sum(["factor", "activity"]) + tax_revenue(split)
    growth = gdp_target / gdp_2011
    labour_share = _labour_share_targets(table)
    share_2011 = (split.vfm.sel(factor="labour").sum("activity")
                  / split.vfm.sum(["factor", "activity"]))
    prior, labour_factor = set_labour_shares(scale_prior(split, growth), labour_share)

    targets = make_targets(prior, table)
    res = balance(prior, [t for _, t in targets])
    check_tolerances(res)
    ds = complete(res.dataset)
    ds.attrs.update(name="wiod_update2024", unit="US$ million", year=2024)
    ds.attrs["groups"] = read_groups(ds, tdir / "groups.toml")
    check_balance(ds)

    achieved = _achieved(ds, table, targets)
    imputations = _imputations(shares, growth, ds, labour_factor, share_2011, labour_share)
    notes = _notes(ds, shares, growth, gdp_2011, res, achieved, share_2011, labour_share)
    save_benchmark(ds, out, sources=_sources(), notes=notes)
    write_csv(imputations, out / "imputations.csv")
    write_csv(achieved, out / "targets_achieved.csv")
    write_csv(res.summary, out / "balance_summary.csv")
    write_csv(_largest_moves(res.changes, prior), out / "balance_largest_moves.csv")
    ds.attrs["targets_achieved"] = achieved
    ds.attrs["balance_summary"] = res.summary
    return ds


def _achieved(ds: xr.Dataset, table: pd.DataFrame,
              targets: list[tuple[int, Target]]) -> pd.DataFrame:
    """Every row of the target tables with the value in ``ds``: held (role target: within its
    tolerance, or exactly) or only compared (cross-checks)."""
    by_idx = dict(targets)
    rows = []
    for idx, row in table.iterrows():
        held = idx in by_idx
        target_mn = float(row.value) * BN if row.unit == "US$ bn" else np.nan
        if held and row["item"] == LABOUR_SHARE:   # labour income, US$ mn
            target_mn = by_idx[idx].value
        if held:
            got = by_idx[idx].total(ds)
            if row["item"] == "gross_output":
                got += float(ds.vto.sel(activity=row.commodity, region=row.region))
        elif row.file != "targets.csv" and row["item"] in SECTOR_ITEMS and row.year == 2024:
            got = Target("", _sector_weights(ds, row), 0.0).total(ds)
        elif row["item"] == "gdp_imf":
            got = float(ds.vfm.sel(region="JPN").sum())
        elif row["item"] == "us_goods_services_deficit":
            x = ds.vxmd
            got = float(x.sel(importer="USA").sum() - x.sel(exporter="USA").sum())
        else:
            got = np.nan
        gap = ((got - target_mn) / abs(target_mn) if np.isfinite(got) and target_mn
               else np.nan)
        rows.append({
            "item": row["item"], "region": row.region, "partner": row.partner,
            "commodity": row.commodity, "target_usd_mn": target_mn, "achieved_usd_mn": got,
            "rel_gap": gap, "held_fixed": held, "tolerance": float(row.tolerance),
            "within_tolerance": bool(not held or abs(gap) <= max(row.tolerance, 1e-6)),
            "role": row.role, "quality": row.quality, "status": row.status, "file": row.file,
        })
    frame = pd.DataFrame(rows)
    # the motor-vehicle share of US goods imports from Japan, for the record
    mv = float(ds.vxmd.sel(commodity=SPLIT_FROM, exporter="JPN", importer="USA"))
    goods = [str(c) for c in ds.commodity.values if str(c) not in SERVICES]
    jp = float(ds.vxmd.sel(commodity=goods, exporter="JPN", importer="USA").sum())
    frame.loc[len(frame)] = {
        "item": "motor_vehicle_share_of_us_goods_imports", "region": "USA", "partner": "JPN",
        "target_usd_mn": 52.3 / 148.2, "achieved_usd_mn": mv / jp,
        "commodity": SPLIT_FROM, "rel_gap": (mv / jp) / (52.3 / 148.2) - 1.0,
        "held_fixed": False, "tolerance": 0.0, "within_tolerance": True,
        "role": "derived (ratio, not US$ mn)", "quality": "derived", "status": "published",
        "file": "targets.csv"}
    return frame


def _imputations(shares: pd.DataFrame, growth: xr.DataArray, ds: xr.Dataset,
                 labour_factor: xr.DataArray, share_2011: xr.DataArray,
                 published: xr.DataArray) -> pd.DataFrame:
    rows = []
    for r in shares.itertuples():
        rows.append({"item": "motor_vehicles_share_of_transport_equipment", "region": r.region,
                     "value": r.motor_vehicles_share, "unit": "fraction",
                     "source": (f"{r.quote_or_note} [{r.source_url}]" if r.source_url
                                else r.quote_or_note),
                     "status": r.status})
    for reg in growth.region.values:
        rows.append({"item": "prior_scale_gdp_growth", "region": str(reg),
                     "value": float(growth.sel(region=reg)), "unit": "ratio",
                     "source": "GDP 2024 target (targets.csv) / GDP 2011 in data/wiod2011; "
                               "scales the prior of the region's arrays (bilateral trade: "
                               "geometric mean of the partners' factors)",
                     "status": "assumption"})
    for reg in labour_factor.region.values:
        reg = str(reg)
        kept = reg not in published.region.values
        new = float(share_2011.sel(region=reg)) if kept else float(published.sel(region=reg))
        rows.append({"item": "labour_share", "region": reg, "value": new,
                     "unit": "fraction of value added",
                     "source": ("kept from wiod2011 (PWT 10.0, 2011)" if kept else
                                "targets.csv labour_share (Penn World Table 10.01 labsh, 2019; "
                                "EU and ROW: GDP-weighted means of their countries); wiod2011 "
                                f"(PWT 10.0, 2011): {float(share_2011.sel(region=reg)):.4f}"),
                     "status": "assumption" if kept else "published"})
        rows.append({"item": "labour_capital_ratio_factor", "region": reg,
                     "value": float(labour_factor.sel(region=reg)), "unit": "ratio",
                     "source": "multiplies the labour/capital ratio of every activity of the "
                               "region in the prior (set_labour_shares) so that its labour share "
                               "is the published one; value added of each activity unchanged",
                     "status": "assumption"})
    fe = (ds.vdfd + ds.vifd).sum("commodity")
    gdp = ds.vfm.sum(["factor", "activity"])
    for reg in ds.region.values:
        d = float(fe.sel(agent="defense", region=reg))
        rows.append({"item": "defense_value", "region": str(reg), "value": d,
                     "unit": "US$ million",
                     "source": f"share of government consumption kept from wiod2011 (SIPRI "
                               f"2011 burden); {d / float(gdp.sel(region=reg)):.2%} of 2024 GDP "
                               "here; not updated to SIPRI 2024",
                     "status": "assumption"})
        rows.append({"item": "government_saving", "region": str(reg), "value": 0.0,
                     "unit": "US$ million", "source": "set to zero (closure, complete())",
                     "status": "assumption"})
    return pd.DataFrame(rows, columns=["item", "region", "value", "unit", "source", "status"])


def _largest_moves(changes: xr.Dataset, prior: xr.Dataset, n: int = 30) -> pd.DataFrame:
    frames = []
    for key in FLOW_ARRAYS:
        s = changes[key].to_series().dropna()
        p = prior[key].transpose(*SCHEMA[key].dims).to_series().loc[s.index]
        f = pd.DataFrame({"array": key,
                          "cell": ["/".join(map(str, i)) if isinstance(i, tuple) else str(i)
                                   for i in s.index],
                          "prior": p.values, "rel_change": s.values})
        frames.append(f)
    allc = pd.concat(frames, ignore_index=True)
    allc = allc[allc.prior >= 1000.0]  # cells of at least US$ 1 bn in the prior
    order = np.lexsort((allc.cell.values, allc.array.values, -np.abs(allc.rel_change.values)))
    return allc.iloc[order[:n]].reset_index(drop=True)


def _sources() -> dict[str, str]:
    base = ("structure from data/wiod2011 (WIOD 2013 release, wiot_2011, Timmer et al. 2015; "
            "see data/SOURCES.md)")
    split = ("transport equipment split into motor_vehicles and other_transport with the shares "
             "of data/targets2024/autos_split_shares.csv (WIOD 2016 release, C29/(C29+C30) of "
             "gross output, 2011)")
    bal = ("levels scaled to 2024 and balanced by minimum cross-entropy (cge/databuild/balance.py) "
           "to the targets of data/targets2024/targets.csv (exact) and of "
           "us_trade_by_sector.csv, region_trade.csv and output_structure.csv there (within "
           "their tolerances; gross output and value added by activity from ADB MRIO 2022)")
    s = {k: f"{base}; {split}; {bal}" for k in SCHEMA}
    s["vfm"] = (f"{base}; {split}; value added held at 2024 GDP by region "
                "(targets.csv: gdp); labour share of value added of each region set to the "
                "published share of targets.csv (labour_share: Penn World Table 10.01 labsh, "
                "2019; EU and ROW GDP-weighted means of their countries) in every activity, "
                "capital the rest")
    s["vxmd"] = (f"{base}; {split}; {bal}; US goods trade by partner, US services trade and "
                 "US imports of motor vehicles and parts from Japan held at 2024 published values; "
                 "US goods imports by commodity and partner (Census HS10 x country 2024, "
                 "data/targets2024/us_trade_by_sector.csv) and the goods trade totals of JPN, EU, "
                 "KOR, CHN, MEX (data/targets2024/region_trade.csv) within their tolerances")
    s["vfm"] = (s["vfm"] + "; value added by activity at ADB MRIO 2022 shares scaled to 2024 GDP "
                "(data/targets2024/output_structure.csv) within their tolerances")
    s["vom"] = f"derived by complete() from the balanced rows ({base})"
    for k in ("vto", "vtfd"):
        s[k] = "zero: the WIOD world table has no product-tax rows (taxes are inside value added)"
    s["vtx"] = "zero: WIOD has no export taxes"
    s["vtm"] = "zero: no base tariffs yet (WIOD has none)"
    s["vtrf"] = "zero: no international transfers"
    s["vdtax"] = "imputed by complete(): government budget residual with government saving 0"
    s["vsav"] = ("derived by complete(): government saving 0 (assumption); household saving = "
                 "investment - foreign saving")
    return s


def _notes(ds: xr.Dataset, shares: pd.DataFrame, growth: xr.DataArray, gdp_2011: xr.DataArray,
           res, achieved: pd.DataFrame, share_2011: xr.DataArray,
           published: xr.DataArray) -> str:
    gdp = ds.vfm.sum(["factor", "activity"])
    per_region = "; ".join(
        f"{r}: GDP {float(gdp.sel(region=r)) / 1e3:,.1f} bn (2011: "
        f"{float(gdp_2011.sel(region=r)) / 1e3:,.1f} bn, factor {float(growth.sel(region=r)):.3f})"
        for r in ds.region.values)
    sh = ", ".join(f"{r.region} {r.motor_vehicles_share:.3f}" for r in shares.itertuples())
    summ = "; ".join(f"{r.array}: max {r.max_abs_rel_change:.1%}, mean "
                     f"{r.mean_abs_rel_change:.1%}, value-weighted "
                     f"{r.value_weighted_abs_rel_change:.1%}"
                     for r in res.summary.itertuples())
    held = achieved[achieved.held_fixed]
    exact = held[held.tolerance == 0]
    soft = held[held.tolerance > 0]
    n_exact, n_soft = len(exact), len(soft)
    worst = float(np.abs(exact.rel_gap).max())
    gap = "below 1e-12" if worst < 1e-12 else f"{worst:.1e}"
    soft_worst = float(np.abs(soft.rel_gap).max()) if n_soft else 0.0
    soft_ratio = float((np.abs(soft.rel_gap) / soft.tolerance).max()) if n_soft else 0.0
    lab = ds.vfm.sel(factor="labour").sum("activity") / ds.vfm.sum(["factor", "activity"])
    labour = "; ".join(f"{r} {float(share_2011.sel(region=r)):.4f} -> "
                       f"{float(lab.sel(region=r)):.4f}" for r in ds.region.values)
    kept = [str(r) for r in ds.region.values if r not in published.region.values]
    lines = [
        "Built by cge/databuild/update.py (build_update2024) from data/wiod2011 "
        "(WIOD 2013 release, "
        "wiot_2011; structure: input-output coefficients, trade shares, final demand mix) and "
        "the 2024 figures of data/targets2024/targets.csv (source URL, quote and quality grade "
        "P/N/S/derived for each).",
        "Autos split: WIOD c15 (all transport equipment) split into motor_vehicles (vehicles and "
        "parts) and other_transport (aircraft, ships, rail, other) with a motor-vehicle share of "
        f"the transport equipment made in each region ({sh}; "
        "data/targets2024/autos_split_shares.csv: C29 / (C29 + C30) of gross output in the WIOD "
        "2016 release, 2011; WIOD RoW 2014). Activity columns and "
        "commodity rows split proportionally (imports with the import-weighted share), then "
        "rebalanced with the targets; US imports of vehicles and parts from Japan held at the "
        "published 52.3 bn.",
        "Levels: prior = region arrays x (GDP 2024 / GDP 2011), bilateral trade x geometric "
        "mean of the partners' factors (assumption); then minimum cross-entropy balancing "
        "(generalized RAS, cge/databuild/balance.py) holding exactly (targets.csv): GDP by "
        "region, US goods exports/imports by partner (JPN, EU, KOR, CHN, CAN, MEX) and in "
        "total, US services exports/imports (services + public_admin), US imports of motor "
        "vehicles and parts from Japan, labour income by region (labour share x GDP); and "
        "within a stated tolerance (soft targets, a miss beyond it fails the build): US goods "
        "imports by commodity and partner (us_trade_by_sector.csv: 2024 Census imports by HS10 "
        "x country, shares within each partner scaled to the published totals), goods exports "
        "and imports of JPN, EU (extra-EU), KOR, CHN, MEX (region_trade.csv), value added and "
        "gross output by activity and region (output_structure.csv: ADB MRIO 2022 shares and "
        "output/value-added ratios, scaled to 2024 GDP) "
        f"({n_exact} exact targets, largest relative gap {gap}; {n_soft} soft targets, all "
        f"within tolerance, largest miss {soft_worst:.1%} of its value, "
        f"{soft_ratio:.2f} of its tolerance; {res.iterations} Newton iterations).",
        "Not found, so not targets (data notes of the issue): US services trade by partner for "
        "2024 (BEA; only totals are held), US goods exports by commodity for 2024, energy "
        "exports of EU, KOR and CHN (their energy imports are cross-checks only), Canada's "
        "2024 goods trade totals; Mexico's energy balance and US-Mexico services trade are "
        "cross-checks (coverage differs).",
        "GDP treatment: GDP in this format = factor income + indirect taxes; the WIOD world "
        "table is at basic prices with net product taxes inside value added, so value added "
        "is matched to published GDP at market prices. EU = the 26 WIOD members of today's EU "
        "(Croatia in ROW), matched to the EU27 figure (Croatia about 0.5%); ROW GDP = world "
        "(S grade) minus the seven regions.",
        "Trade valuation: vxmd is at basic prices, fob = cif; the goods targets are Census "
        "customs-basis values, services BEA; goods = the nine goods commodities, services = "
        "services + public_admin.",
        "Labour share of value added by region, wiod2011 (PWT 10.0, 2011) -> here: "
        f"{labour} (targets.csv labour_share: Penn World Table 10.01 labsh 2019, its last year; "
        "EU27 and ROW GDP-weighted means of their countries' labsh). Set in the prior by "
        "multiplying the labour/capital ratio of every activity of a region by one factor "
        "(imputations.csv), value added unchanged, and held by the balancing; one share in "
        "every activity of a region, as in wiod2011"
        + (f"; kept from wiod2011: {', '.join(kept)}." if kept else "."),
        "Kept from wiod2011 (not re-estimated for 2024): the defense share of government "
        "consumption (SIPRI 2011 burden), the commodity composition of each account up to the "
        "balancing; government saving 0; no tariffs, product taxes, margins or transfers.",
        f"How far the balancing moved cells from the prior: {summ} "
        "(balance_summary.csv, balance_largest_moves.csv).",
        f"By region (US$): {per_region}.",
        "Every target with the value achieved: targets_achieved.csv; every imputed number: "
        "imputations.csv.",
    ]
    return "\n".join(lines)
