"""Policy data for the benchmark: base-year tariffs, and defense and stationing figures.

Tables live in ``data/policy/`` (see its README): ``base_tariffs.csv`` (applied MFN and
preferential ad-valorem tariffs, pre-2025 regime), ``measures_not_in_base.csv`` (the 2018-2026 US
measures that belong in scenarios, not in the base) and ``defense.csv`` (defense spending,
arms-import shares, host-nation support, US spending on and troops in Japan, Korea and Europe).

Base tariffs
------------
:func:`load_base_tariffs` expands ``base_tariffs.csv`` into a full
``(commodity, exporter, importer)`` array of rates (fractions). A row may use ``*`` for the
importer, exporter or commodity; every cell takes the rate of the *most specific* row that covers
it, specificity counting exporter 4, commodity 2, importer 1 (so an FTA row for a pair beats the
importer's MFN row for a commodity, and an FTA exception for one commodity beats the FTA row).
Two rows of equal specificity for a cell, a cell no row covers, an unknown name or a rate
<= -100% are :class:`~cge.data.benchmark.DataError`. The diagonal (importer = exporter) is 0.

The US rows: when ``data/policy/us_tariffs_2024.csv`` exists (built from 2024 HS10 x country
imports by :mod:`cge.databuild.us_tariffs`: MFN, FTA preferences, Section 301 on China and
Section 232 steel/aluminium as applied in 2024, basis ``applied``), its rows replace every row
of ``base_tariffs.csv`` whose importer is USA (``load_base_tariffs(us_tariffs=...)``: a path,
or ``False`` for the hand-set rows). The US base then includes the 2018-20 measures that were in
force in 2024; ``us_tariffs_2024_mfn_only.csv`` is the same without them (pre-2018 regime).

Applying tariffs to the WIOD benchmark: the treatment
-----------------------------------------------------
WIOD values every flow at *basic prices*: imports at the exporter's basic price plus
international margins, *without* import duties. In the national tables, duties are part of the
"taxes less subsidies on products" row paid by each using column; the world table used here has
no such row, so for every activity those taxes sit inside value added (value added = output −
intermediate inputs), and for final demand they are simply missing. :func:`apply_base_tariffs`
therefore

1. keeps the world-price flows ``vxmd`` (and ``vtx``) unchanged — exporters' accounts, output
   and bilateral trade shares at world prices do not move;
2. sets ``vtm = rate × (vxmd + vtx)`` for every flow (revenue of the importer);
3. raises each user's landed import purchases (``vifm``, ``vifd``) of commodity ``i`` in region
   ``r`` by the new duty on ``i`` in ``r``, in proportion to that user's share of the region's
   imports of ``i`` (all users pay the same landed import price, as in the model);
4. for activities, takes the extra input cost out of **capital** income of the same activity
   (labour only if capital were exhausted, which does not happen with the default data), so
   output ``vom`` and each activity's zero-profit account are unchanged. This is consistent with
   the labour-share imputation: PWT's ``labsh`` is labour's share of GDP including product
   taxes, so taxes belong to the non-labour part of value added;
5. final-demand agents simply spend more (household consumption, civil government, defense and
   investment at landed prices rise by the duty they pay);
6. calls :func:`~cge.data.benchmark.complete` (keeping government saving as it was): the
   government's new tariff revenue lowers the imputed direct tax ``vdtax`` one for one, net of
   its own higher purchase cost; household saving closes the saving-investment account.

The alternative — reading WIOD's import flows as landed (duty-inclusive) values and shrinking
``vxmd`` — was rejected: it contradicts WIOD's valuation, lowers exporters' output and value
added by the importer's tariff, and changes trade shares at world prices.

:func:`tariff_adjustment_report` lists, by region, how every account moved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cge.data.benchmark import DataError, check_balance, complete
from cge.paths import ROOT as REPO_ROOT

POLICY_DIR = REPO_ROOT / "data" / "policy"
BASE_TARIFFS = POLICY_DIR / "base_tariffs.csv"
DEFENSE = POLICY_DIR / "defense.csv"
MEASURES = POLICY_DIR / "measures_not_in_base.csv"
#: The 2024 US applied tariffs by (exporter, commodity) derived from HS10 data
#: (:mod:`cge.databuild.us_tariffs`); when present, its rows replace the USA rows of
#: ``base_tariffs.csv`` in :func:`load_base_tariffs`.
US_TARIFFS = POLICY_DIR / "us_tariffs_2024.csv"

#: The model's regions and sectors of the default benchmark ``default2024`` (used when no data
#: set is given). ``wiod2011`` has the same sectors without ``other_transport`` (its
#: ``motor_vehicles`` is all transport equipment); rows for ``other_transport`` are skipped when
#: its commodities are passed.
REGIONS: tuple[str, ...] = ("USA", "JPN", "EU", "KOR", "CHN", "CAN", "MEX", "ROW")
COMMODITIES: tuple[str, ...] = ("agri_food", "energy", "chemicals", "metals", "motor_vehicles",
                                "other_transport", "electronics", "machinery", "other_mfg",
                                "public_admin", "services")
#: Commodities that are not goods (no customs duties; left out of goods-only averages).
NON_GOODS: tuple[str, ...] = ("public_admin", "services")

TARIFF_COLUMNS = ["importer", "exporter", "commodity", "rate_pct", "basis", "year", "source_url",
                  "quality", "status", "note"]
#: ``applied``: an import-weighted applied rate that includes non-MFN duties in force in the
#: year (for the USA in 2024: Section 301 on China and Section 232 steel/aluminium).
BASES = ("MFN", "FTA-preferential", "zero", "applied")
STATUSES = ("published", "derived", "assumption")
DEFENSE_COLUMNS = ["item", "region", "year", "value", "unit", "source_url", "quote_or_note",
                   "quality", "status"]
WILDCARD = "*"


# --------------------------------------------------------------------------------------------
# Base tariffs
# --------------------------------------------------------------------------------------------
def _read_table(path: Path, columns) -> pd.DataFrame:
    """A policy CSV as text (no NA guessing), with its required columns checked."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV file: {exc}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; expected {columns}")
    return frame


def read_tariff_table(path: str | Path | None = None) -> pd.DataFrame:
    """``base_tariffs.csv`` as it is (rows with wildcards), with its columns checked."""
    path = Path(path) if path is not None else BASE_TARIFFS
    frame = _read_table(path, TARIFF_COLUMNS)
    frame["rate_pct"] = _numbers(frame["rate_pct"], path, "rate_pct")
    bad = frame.index[frame["rate_pct"] <= -100.0]
    if len(bad):
        raise DataError(f"{path}: line {bad[0] + 2}: rate {frame.rate_pct[bad[0]]}% is <= -100%")
    for col, valid in (("basis", BASES), ("status", STATUSES)):
        wrong = sorted(set(frame[col]) - set(valid))
        if wrong:
            raise DataError(f"{path}: unknown {col} {wrong}; valid: {list(valid)}")
    return frame


def _us_table(us_tariffs: str | Path | bool) -> Path | None:
    """The US table to use: ``True`` the default :data:`US_TARIFFS` if it exists, ``False``
    none, a path that file (which must exist)."""
    if us_tariffs is False:
        return None
    if us_tariffs is True:
        return US_TARIFFS if US_TARIFFS.is_file() else None
    us_path = Path(us_tariffs)
    if not us_path.is_file():
        raise DataError(f"US tariff table {us_path} not found")
    return us_path


def load_base_tariffs(path: str | Path | None = None, *, regions: list[str] | None = None,
                      commodities: list[str] | None = None,
                      us_tariffs: str | Path | bool = True) -> xr.DataArray:
    """Base-year ad-valorem tariff rates as fractions, dims ``(commodity, exporter, importer)``.

    ``regions``/``commodities`` default to the default benchmark's sets; pass a data set's sets to
    check against it. See the module docstring for the wildcard and precedence rules.

    ``us_tariffs``: the 2024 US table (``data/policy/us_tariffs_2024.csv``, built by
    :func:`cge.databuild.us_tariffs.build_us_tariff_tables`; ``True``: use it if it exists,
    ``False``: do not, or a path). Its rows (all with ``importer=USA``) **replace every row of
    the base table whose importer is USA**; rows with importer ``*`` still cover US cells the US
    table leaves open.
    """
    path = Path(path) if path is not None else BASE_TARIFFS
    frame = read_tariff_table(path)
    where = [f"{path}: line {k + 2}" for k in range(len(frame))]
    us_path = _us_table(us_tariffs)
    if us_path is not None:
        us = read_tariff_table(us_path)
        if (us.importer != "USA").any():
            raise DataError(f"{us_path}: every row must have importer USA")
        keep = (frame.importer != "USA").to_numpy()
        where = [w for w, k in zip(where, keep, strict=True) if k] + [
            f"{us_path}: line {k + 2}" for k in range(len(us))]
        frame = pd.concat([frame[keep], us], ignore_index=True)
    regions = list(regions) if regions is not None else list(REGIONS)
    commodities = list(commodities) if commodities is not None else list(COMMODITIES)
    for col, valid in (("importer", regions), ("exporter", regions),
                       ("commodity", commodities)):
        # A commodity of the default data set that the given sets lack (other_transport for
        # wiod2011) is not an error: its rows do not apply.
        known = set(valid) | (set(COMMODITIES) if col == "commodity" else set())
        unknown = sorted(set(frame[col]) - known - {WILDCARD})
        if unknown:
            raise DataError(f"{path}: unknown {col} {unknown}; valid: {valid} or '{WILDCARD}'")
    frame = frame[frame.commodity.isin([*commodities, WILDCARD])]
    shape = (len(commodities), len(regions), len(regions))
    rate = np.full(shape, np.nan)
    level = np.full(shape, -1)
    origin = np.full(shape, -1)
    ci = {c: k for k, c in enumerate(commodities)}
    ri = {r: k for k, r in enumerate(regions)}
    for row in frame.itertuples():
        spec = (4 * (row.exporter != WILDCARD) + 2 * (row.commodity != WILDCARD)
                + (row.importer != WILDCARD))
        cs = list(ci.values()) if row.commodity == WILDCARD else [ci[row.commodity]]
        xs = list(ri.values()) if row.exporter == WILDCARD else [ri[row.exporter]]
        ms = list(ri.values()) if row.importer == WILDCARD else [ri[row.importer]]
        sel = np.ix_(cs, xs, ms)
        tie = level[sel] == spec
        if tie.any():
            k = np.argwhere(tie)[0]
            other = int(origin[sel][tuple(k)])
            raise DataError(f"{where[other]} and {where[row.Index]} give the same cell "
                            f"({commodities[cs[k[0]]]}, {regions[xs[k[1]]]} -> "
                            f"{regions[ms[k[2]]]}) at equal specificity")
        better = level[sel] < spec
        sub_rate, sub_level, sub_origin = rate[sel], level[sel], origin[sel]
        sub_rate[better] = row.rate_pct / 100.0
        sub_level[better] = spec
        sub_origin[better] = row.Index
        rate[sel], level[sel], origin[sel] = sub_rate, sub_level, sub_origin
    diag = np.arange(len(regions))
    rate[:, diag, diag] = 0.0
    if np.isnan(rate).any():
        k = np.argwhere(np.isnan(rate))[0]
        raise DataError(f"{path}: no row gives the rate for {commodities[k[0]]} from "
                        f"{regions[k[1]]} into {regions[k[2]]} (add a row or a '*' row)")
    return xr.DataArray(rate, dims=("commodity", "exporter", "importer"),
                        coords={"commodity": commodities, "exporter": regions,
                                "importer": regions},
                        name="base_tariff",
                        attrs={"units": "fraction (ad valorem, on the world price)",
                               "source": str(path) if us_path is None
                               else f"{path} (USA rows replaced by {us_path})"})


def apply_base_tariffs(ds: xr.Dataset, rates: xr.DataArray) -> xr.Dataset:
    """A new balanced benchmark with ``vtm = rates × (vxmd + vtx)`` (treatment: module docstring).

    ``rates`` (fractions, ``(commodity, exporter, importer)``) must cover the data set's sets.
    The result passes :func:`~cge.data.benchmark.check_balance`; its ``attrs['base_tariffs']``
    says what was done. Any tariffs already in ``ds`` are replaced (the change is what moves).
    """
    rates = _align(rates, ds)
    if bool((rates <= -1.0).any()):
        raise DataError("tariff rates must be > -100%")
    out = ds.copy(deep=True)
    world = ds.vxmd + ds.vtx
    vtm = (rates * world).transpose("commodity", "exporter", "importer")
    duty = (vtm - ds.vtm).sum("exporter").rename(importer="region")  # (commodity, region)
    users = ds.vifm.sum("activity") + ds.vifd.sum("agent")
    stranded = (np.abs(duty) > 0) & (users <= 0)
    if bool(stranded.any()):
        raise DataError("tariff on a commodity nobody imports: "
                        f"{stranded.where(stranded, drop=True).to_series().index.tolist()}")
    factor = xr.where(users > 0, duty / users.where(users > 0), 0.0)
    d_vifm = ds.vifm * factor
    d_vifd = ds.vifd * factor
    extra = d_vifm.sum("commodity")  # (activity, region): higher input cost of each activity
    capital = ds.vfm.sel(factor="capital")
    from_capital = np.minimum(extra, capital)
    from_labour = extra - from_capital
    labour = ds.vfm.sel(factor="labour")
    if bool((from_labour > labour * (1 + 1e-12)).any()):
        raise DataError("tariffs on intermediate imports exceed value added of some activities")
    vfm = ds.vfm.copy()
    vfm.loc[{"factor": "capital"}] = capital - from_capital
    vfm.loc[{"factor": "labour"}] = labour - from_labour
    out["vtm"] = vtm.assign_attrs(ds.vtm.attrs)
    out["vifm"] = (ds.vifm + d_vifm).transpose(*ds.vifm.dims)
    out["vifd"] = (ds.vifd + d_vifd).transpose(*ds.vifd.dims)
    out["vfm"] = vfm.transpose(*ds.vfm.dims)
    out = complete(out, government_saving=ds.vsav.sel(institution="government", drop=True))
    out.attrs.update(ds.attrs)
    out.attrs["base_tariffs"] = (
        f"vtm = rate x (vxmd + vtx) ({rates.attrs.get('source', 'rates given')}); landed imports "
        "raised by the duty pro rata to users; activities' extra cost taken from capital income; "
        "vdtax and household saving re-derived by complete() (cge/databuild/policy.py)")
    out.attrs["name"] = f"{ds.attrs.get('name', 'benchmark')}+base_tariffs"
    out.attrs.pop("path", None)
    check_balance(out)
    return out


def tariff_summary(ds: xr.Dataset) -> pd.DataFrame:
    """Trade-weighted average tariff by importer: revenue / imports at world prices, in %.

    Columns: ``imports_goods`` and ``imports_all`` (world prices), ``tariff_revenue``,
    ``rate_goods_pct`` (goods only, comparable to effective tariff rates such as the US 2024
    AETR of about 2.2-2.4%) and ``rate_all_pct`` (services included).
    """
    goods = [c for c in ds.commodity.values if c not in NON_GOODS]
    world = (ds.vxmd + ds.vtx)
    rev = ds.vtm.sum(["commodity", "exporter"])
    imp_all = world.sum(["commodity", "exporter"])
    imp_goods = world.sel(commodity=goods).sum(["commodity", "exporter"])
    frame = pd.DataFrame({
        "imports_goods": imp_goods.to_series(),
        "imports_all": imp_all.to_series(),
        "tariff_revenue": rev.to_series(),
    })
    frame["rate_goods_pct"] = 100 * frame.tariff_revenue / frame.imports_goods
    frame["rate_all_pct"] = 100 * frame.tariff_revenue / frame.imports_all
    frame.index.name = "importer"
    return frame


def tariff_adjustment_report(before: xr.Dataset, after: xr.Dataset) -> pd.DataFrame:
    """How each region's accounts moved from ``before`` to ``after`` (data-set units).

    Rows are regions; columns: tariff revenue, landed intermediate and final imports, capital
    and labour income, direct tax, government and household saving, output, and GDP at basic
    prices (factor income) and at market prices (final expenditure plus exports minus imports
    at world prices).
    """
    def gdp_mp(ds: xr.Dataset) -> pd.Series:
        fe = ((ds.vdfd + ds.vifd).sum(["commodity", "agent"]) + ds.vtfd.sum("agent"))
        world = ds.vxmd + ds.vtx
        exports = world.sum(["commodity", "importer"]).rename(exporter="region")
        imports = world.sum(["commodity", "exporter"]).rename(importer="region")
        return (fe + exports - imports).to_series()

    def series(ds: xr.Dataset) -> pd.DataFrame:
        return pd.DataFrame({
            "tariff_revenue": ds.vtm.sum(["commodity", "exporter"]).rename(
                importer="region").to_series(),
            "intermediate_imports_landed": ds.vifm.sum(["commodity", "activity"]).to_series(),
            "final_imports_landed": ds.vifd.sum(["commodity", "agent"]).to_series(),
            "capital_income": ds.vfm.sel(factor="capital").sum("activity").to_series(),
            "labour_income": ds.vfm.sel(factor="labour").sum("activity").to_series(),
            "direct_tax": ds.vdtax.to_series(),
            "government_saving": ds.vsav.sel(institution="government").to_series(),
            "household_saving": ds.vsav.sel(institution="household").to_series(),
            "output": ds.vom.sum("activity").to_series(),
            "gdp_basic_prices": ds.vfm.sum(["factor", "activity"]).to_series(),
            "gdp_market_prices": gdp_mp(ds),
        })

    return series(after) - series(before)


def _align(rates: xr.DataArray, ds: xr.Dataset) -> xr.DataArray:
    dims = ("commodity", "exporter", "importer")
    if set(rates.dims) != set(dims):
        raise DataError(f"tariff rates must have dims {dims}, got {rates.dims}")
    for dim in dims:
        missing = sorted(set(map(str, ds[dim].values)) - set(map(str, rates[dim].values)))
        if missing:
            raise DataError(f"tariff rates lack {dim} {missing}; they have "
                            f"{[str(v) for v in rates[dim].values]}")
    rates = rates.sel({d: ds[d].values for d in dims}).transpose(*dims)
    if not np.all(np.isfinite(rates.values)):
        raise DataError("tariff rates must be finite")
    return rates


def _numbers(column: pd.Series, path: Path, name: str) -> pd.Series:
    values = pd.to_numeric(column.str.strip(), errors="coerce")
    bad = values.index[~np.isfinite(values.to_numpy(dtype=float))]
    if len(bad):
        raise DataError(f"{path}: line {bad[0] + 2}: {name} {column[bad[0]]!r} is not a number")
    return values.astype(float)


# --------------------------------------------------------------------------------------------
# Defense and stationing
# --------------------------------------------------------------------------------------------
def load_defense_data(path: str | Path | None = None) -> pd.DataFrame:
    """``defense.csv``: one row per figure, with source, quality grade and status.

    Checks the columns, that every value is a number, that ``status`` is one of
    :data:`STATUSES` and that every row has a source URL or is marked ``assumption``/``derived``
    (derived rows name their inputs in ``quote_or_note``).
    """
    path = Path(path) if path is not None else DEFENSE
    frame = _read_table(path, DEFENSE_COLUMNS)
    frame["value"] = _numbers(frame["value"], path, "value")
    wrong = sorted(set(frame.status) - set(STATUSES))
    if wrong:
        raise DataError(f"{path}: unknown status {wrong}; valid: {list(STATUSES)}")
    unsourced = frame.index[(frame.source_url.str.strip() == "") & (frame.status == "published")]
    if len(unsourced):
        raise DataError(f"{path}: line {unsourced[0] + 2}: a published figure needs a source_url")
    return frame


#: What :func:`stationing_purchases` knows: (payer, host) -> the defense.csv item it reads.
STATIONING_ITEM = "us_dod_spending_in_host_per_year"


def stationing_purchases(region_pair: tuple[str, str] | str,
                         path: str | Path | None = None) -> float:
    """US$ million a year that the first region's military spends in the second (e.g. USA, JPN).

    Derivation (rows ``us_dod_spending_in_host_total`` and ``..._per_year`` of defense.csv):

    * USA in JPN: GAO-21-270, DoD spent about $20.9 bn in Japan over 2016-2019 → 20,900 / 4 =
      5,225 per year (published total, derived annual mean);
    * USA in KOR: GAO-21-270, $13.4 bn over 2016-2019 → 3,350 per year;
    * USA in EU: no published total found; the GAO cost per troop in Japan and Korea
      ((5,225 + 3,350) / (55,000 + 28,500) ≈ US$ 0.103 million) times about 60,000 US troops
      stationed in EU member states (Germany 35,068 in 2024 plus Italy, Spain, Poland and others;
      assumption) ≈ 6,200 — an **assumption**.

    These are DoD outlays on its presence (pay, operations and maintenance, construction), of
    which only a part is bought in the host economy; they exclude the host's own contributions
    (Japan's host-nation support, Korea's SMA payments), which are separate rows.
    ``region_pair`` is a tuple or a string such as ``"USA-JPN"``.
    """
    if isinstance(region_pair, str):
        parts = tuple(p.strip() for p in region_pair.replace(">", "-").split("-") if p.strip())
    else:
        parts = tuple(region_pair)
    frame = load_defense_data(path)
    rows = frame[frame["item"] == STATIONING_ITEM]
    known = sorted(rows.region.unique())
    if len(parts) != 2 or parts[0] != "USA" or parts[1] not in known:
        raise DataError(f"no stationing figure for {region_pair!r}; known pairs: "
                        f"{[('USA', r) for r in known]}")
    return float(rows[rows.region == parts[1]].value.iloc[0])


# --------------------------------------------------------------------------------------------
# What direct purchases buy (data/policy/defense_purchases.csv)
# --------------------------------------------------------------------------------------------
PURCHASE_COLUMNS = ["item", "buyer", "seller", "commodity", "value", "unit", "year",
                    "source_url", "quote_or_note", "quality", "status"]
#: Items of ``defense_purchases.csv`` that give the composition of direct purchases.
DIRECT_PURCHASE_ITEMS = ("stationing_composition", "fms_composition")


def load_defense_purchases(path: str | Path | None = None) -> pd.DataFrame:
    """``data/policy/defense_purchases.csv``: what defense spending and direct purchases buy,
    by model commodity, each row with its source or marked ``assumption`` (see the README).
    Checked: columns, statuses, numbers, commodities, and that every group of ``%`` share
    rows (item, buyer, seller) sums to 100."""
    path = POLICY_DIR / "defense_purchases.csv" if path is None else Path(path)
    frame = _read_table(path, PURCHASE_COLUMNS)
    frame["value"] = _numbers(frame["value"], path, "value")
    bad = sorted(set(frame["status"]) - set(STATUSES))
    if bad:
        raise DataError(f"{path}: unknown status {bad}; allowed {list(STATUSES)}")
    unknown = sorted(set(frame["commodity"]) - set(COMMODITIES))
    if unknown:
        raise DataError(f"{path}: unknown commodities {unknown}; valid {list(COMMODITIES)}")
    shares = frame[frame["unit"] == "%"]
    sums = shares.groupby(["item", "buyer", "seller"])["value"].sum()
    off = sums[(sums - 100.0).abs() > 0.05]
    if len(off):
        raise DataError(f"{path}: % shares must sum to 100 per (item, buyer, seller); "
                        f"{off.to_dict()}")
    return frame


def direct_purchase_shares(regions: list[str], commodities: list[str],
                           path: str | Path | None = None) -> xr.DataArray:
    """Shares (fractions) of each commodity in direct purchases by the importer's government
    from the exporter's producers, as ``(commodity, exporter, importer)``: the
    ``stationing_composition`` rows (what a government buys where its forces are stationed)
    and the ``fms_composition`` rows (what it buys from a foreign arms industry); a buyer
    ``*`` covers every buyer without rows of its own for that seller. Pairs the file does not
    cover are 0 (the model then uses the buyer's defense bundle)."""
    frame = load_defense_purchases(path)
    rows = frame[frame["item"].isin(DIRECT_PURCHASE_ITEMS) & (frame["unit"] == "%")]
    out = xr.DataArray(np.zeros((len(commodities), len(regions), len(regions))),
                       dims=("commodity", "exporter", "importer"),
                       coords={"commodity": commodities, "exporter": regions,
                               "importer": regions})
    specific = {(b, s) for b, s in zip(rows["buyer"], rows["seller"], strict=True)
                if b != WILDCARD}
    for (_item, buyer, seller), group in rows.groupby(["item", "buyer", "seller"]):
        if seller not in regions:
            continue
        buyers = ([b for b in regions if b != seller and (b, seller) not in specific]
                  if buyer == WILDCARD else [buyer] if buyer in regions else [])
        values = group.groupby("commodity")["value"].sum()
        kept = values[[c in commodities for c in values.index]]
        if kept.sum() <= 0:
            continue
        for b in buyers:
            for c, v in kept.items():
                out.loc[{"commodity": c, "exporter": seller, "importer": b}] = v / kept.sum()
    return out


def defense_composition(regions: list[str], commodities: list[str],
                        path: str | Path | None = None) -> xr.DataArray:
    """What each region's defense spending buys (commodity, region; fractions summing to 1):
    the ``defense_composition`` ``%`` rows of ``defense_purchases.csv`` (buyer = seller = the
    region; budget titles mapped to commodities, see the README). Regions without rows, and
    commodities not in the model, are 0 (the shares are renormalized over the rest)."""
    frame = load_defense_purchases(path)
    rows = frame[(frame["item"] == "defense_composition") & (frame["unit"] == "%")
                 & (frame["buyer"] == frame["seller"])]
    out = xr.DataArray(np.zeros((len(commodities), len(regions))), dims=("commodity", "region"),
                       coords={"commodity": commodities, "region": regions})
    for r, group in rows.groupby("buyer"):
        if r not in regions:
            continue
        values = group.groupby("commodity")["value"].sum()
        kept = values[[c in commodities for c in values.index]]
        for c, v in kept.items():
            out.loc[{"commodity": c, "region": r}] = v / kept.sum()
    return out


def stationing_account(pairs: tuple[tuple[str, str], ...], regions: list[str],
                       commodities: list[str], path: str | Path | None = None,
                       purchases_path: str | Path | None = None) -> dict:
    """The benchmark's stationing account: for each (buyer, host) pair, the buyer's forces'
    purchases in the host (:func:`stationing_purchases`, US$ million a year) by commodity, in
    the ``stationing_composition`` shares of ``defense_purchases.csv``; a pair without those
    rows is a :class:`DataError`."""
    import pandas as pd

    shares = direct_purchase_shares(regions, commodities, purchases_path)
    out = {}
    for buyer, host in pairs:
        if buyer not in regions or host not in regions:
            continue
        w = shares.sel(exporter=host, importer=buyer).to_series()
        if w.sum() <= 0:
            raise DataError(f"stationing account {buyer} in {host}: no stationing_composition "
                            "rows in defense_purchases.csv")
        amount = stationing_purchases((buyer, host), path)
        out[buyer, host] = pd.Series(amount * w[w > 0], dtype=float)
    return out
