"""Gross output and value added by activity x region for 2024, from the ADB MRIO 2022 summaries.

Builds ``data/targets2024/output_structure.csv`` (:func:`build_output_targets`): one
``value_added`` and one ``gross_output`` target per model activity x region, US$ bn of 2024, for
the balancing of the 2024 benchmark (the lead's code reads the file; this module is not wired
into ``make data``), plus one ``value_added_total_2022`` cross-check row per region.

**Source.** Asian Development Bank, ADB Multiregional Input-Output (MRIO) tables, summaries by
economy x sector as processed in github.com/ksreyes/mrio-processing (commit ``9eb705a2eaa6``):
``x`` gross output and ``va`` value added, US$ million at current prices, 35 sectors (the WIOD
2013 classification: ADB sector ``i`` = WIOD industry ``c<i>``). Raw files only through
:func:`cge.databuild.raw.locate`: ``adb_mrio_summary72`` (72 economies + rest of world, 2017-2022;
the one used), ``adb_mrio_summary62`` (62 economies + rest of world) and ``adb_mrio_countries``
(economy codes; the economy number ``s`` of the parquet files is column ``mrio`` of its ``MRIO``
sheet for the 72 table, ``mrio62`` for the 62 table, e.g. 8 = PRC, 25 = JPN, 43 = USA, 73 = ROW).
Columns other than ``x`` and ``va`` are not used (``e`` is not plain exports).

*Which table.* For 2022 the 62-economy table is the 72-economy table with ten economies (ARG,
COL, ECU, ARM, GEO, EGY, KUW, SAU, UAE, NZL) merged into its rest of the world; every economy
the two share has identical cells, so both give the same model aggregates (tests/test_adb.py
checks it). The 72 table is used because its ROW region is then listed economy by economy and
ADB's unallocated residual is smaller (6.8 of 97.9 US$ tn of world value added instead of 10.2).

*Plausibility (2022, value added at basic prices, US$ tn).* World 97.87 (world GDP at market
prices 2022 about 100 tn; value added at basic prices excludes net taxes on products, so a few
per cent lower is expected); USA 25.46 (GDP 25.7), CHN 17.96 (17.9), JPN 4.23 (4.26).

**Aggregation** (``data/maps/adb_mrio.toml``): ADB economies to the model's regions (EU = the 27
members of 2024, Croatia included, because the 2024 GDP target of EU is the EU27 figure; the UK
in ROW; ROW = every other ADB economy plus ADB's rest of world) and ADB sectors to activities as
in ``data/maps/wiod2011.toml``. Transport equipment (c15) is split into ``motor_vehicles`` and
``other_transport`` with the motor-vehicle share of region ``r`` of
``data/targets2024/autos_split_shares.csv`` (C29 / (C29 + C30) of gross output, WIOD 2016 release,
2011), applied to both gross output and value added (**assumption**: the 2011 split holds in
2022, and both parts have the same GO/VA ratio).

**Scaling to 2024 (assumption: the 2022 structure holds in 2024).** With ``VA22[a, r]`` and
``X22[a, r]`` the ADB 2022 value added and gross output of activity ``a`` in region ``r`` and
``GDP24[r]`` the 2024 GDP target of ``targets.csv`` (``gdp`` rows, US$ bn)::

    value_added[a, r]  = VA22[a, r] / sum_a VA22[a, r] * GDP24[r]
    gross_output[a, r] = value_added[a, r] * X22[a, r] / VA22[a, r]

i.e. the 2022 value-added shares and GO/VA ratios of each region are held for 2024 and its
level is set by published 2024 GDP. Value added at basic prices (ADB) is matched to GDP at market
prices, as in the benchmark (its value added holds net product taxes, see
:mod:`cge.databuild.update`), so gross output is raised by the same factor. No price or
real-growth difference across activities between 2022 and 2024 is modelled.

**Tolerances** (relative, column ``tolerance``; a proposal for the balancing):
``0.15`` for a small cell, whose 2024 value added is below 0.5 % of its region's GDP (a small
share is uncertain in relative terms and an exact hold would force large moves elsewhere);
else ``0.10`` for ``motor_vehicles`` and ``other_transport`` (they rest on the 2011 split share
as well); else ``0.03`` for value added and ``0.05`` for gross output (gross output also carries
the intermediate-input structure, which the benchmark takes from WIOD 2011). Cells that
conflict with another source's figure by classification get the tolerance of
:data:`CLASSIFICATION_CONFLICTS`, with the reason in their note.

Deterministic: sums are :func:`math.fsum` (correctly rounded, the same on every platform) in a
fixed order, numbers written by :func:`cge.data.benchmark.write_csv`, rows sorted by item,
region and commodity. Run ``python -m cge.databuild.adb`` to rebuild the file and print the
comparison with the current benchmark (:func:`compare_with_benchmark`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cge.data.benchmark import DataError, load_benchmark, write_csv
from cge.databuild.raw import RAW_FILES, locate
from cge.databuild.update import read_split_shares, read_targets
from cge.paths import ROOT

MAP_PATH = ROOT / "data" / "maps" / "adb_mrio.toml"
TARGETS_DIR = ROOT / "data" / "targets2024"
DEFAULT_OUT = TARGETS_DIR / "output_structure.csv"
BENCHMARK_DIR = ROOT / "data" / "default2024"
TABLE = "adb_mrio_summary72"
COUNTRIES = "adb_mrio_countries"
#: Column of the countries file's MRIO sheet that numbers the economies of each table.
NUMBER_COLUMN = {"adb_mrio_summary72": "mrio", "adb_mrio_summary62": "mrio62"}
YEAR = 2022
TARGET_YEAR = 2024
N_SECTORS = 35
BN = 1000.0  # US$ million per US$ bn
SMALL_SHARE = 0.005  # a cell below this share of its region's GDP gets SMALL_TOL
SMALL_TOL = 0.15
SPLIT_TOL = 0.10
TOLERANCE = {"value_added": 0.03, "gross_output": 0.05}
#: Cells whose ADB figure conflicts with a figure of another source by classification, with the
#: tolerance they get instead and why (found by the balancing's tolerance check, which fails the
#: build when two figures cannot both hold within their tolerances).
CLASSIFICATION_CONFLICTS: dict[tuple[str, str, str], tuple[float, str]] = {
    ("gross_output", "MEX", "machinery"): (
        0.20,
        "tolerance 0.20 instead of 0.05: US imports of machinery (GTAP ome, Census HS10 x "
        "country 2024, data/targets2024/us_trade_by_sector.csv) from Mexico, 51.1 US$ bn, exceed "
        "this gross output (ADB c13 'machinery, nec', ISIC Rev. 3 29), 44.7 US$ bn: the HS -> "
        "GTAP ome concordance is wider than ADB's c13 for Mexico's export plants (part of "
        "their output is in ADB's c14 electrical and optical equipment) and re-exports of "
        "imported machinery are counted in trade, not in output; the two cannot both hold "
        "within 5 % and 2 %"),
}
COLUMNS = ["item", "region", "partner", "commodity", "value", "unit", "year", "source_url",
           "quote_or_note", "quality", "status", "role", "tolerance"]


@dataclass(frozen=True)
class AdbMapping:
    """``data/maps/adb_mrio.toml``: ADB economies -> regions, ADB sectors -> activities.

    ``sectors`` maps an activity (or a pseudo-activity that ``split`` divides) to ADB sector
    numbers 1..35; ``split`` maps a pseudo-activity to ``(share activity, rest activity)``."""

    regions: dict[str, list[str]]
    sectors: dict[str, list[int]]
    split: dict[str, tuple[str, str]]
    activities: list[str]
    shares_file: Path


def load_mapping(path: str | Path | None = None) -> AdbMapping:
    """Read and check the mapping: every sector 1..35 exactly once, no economy twice, the split
    parts and the plain activities together equal to the activity order."""
    path = MAP_PATH if path is None else Path(path)
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    regions = {r: list(codes) for r, codes in raw["regions"].items()}
    sectors = {a: [_sector_number(c, path) for c in codes] for a, codes in raw["sectors"].items()}
    split = {a: (spec["share"], spec["rest"]) for a, spec in raw.get("split", {}).items()}
    files = {spec["shares_file"] for spec in raw.get("split", {}).values()}
    if len(files) > 1:
        raise DataError(f"{path}: one shares_file for every split, got {sorted(files)}")
    activities = list(raw["activities"]["order"])
    codes = [c for cs in regions.values() for c in cs]
    if len(codes) != len(set(codes)):
        raise DataError(f"{path}: an economy is in two regions: "
                        f"{sorted({c for c in codes if codes.count(c) > 1})}")
    numbers = sorted(i for ns in sectors.values() for i in ns)
    if numbers != list(range(1, N_SECTORS + 1)):
        raise DataError(f"{path}: sectors must cover c1..c{N_SECTORS} exactly once")
    made = [x for a in sectors for x in (split[a] if a in split else (a,))]
    if sorted(made) != sorted(activities) or len(made) != len(set(made)):
        raise DataError(f"{path}: activities {made} do not match the order {activities}")
    shares_file = ROOT / files.pop() if files else TARGETS_DIR / "autos_split_shares.csv"
    return AdbMapping(regions, sectors, split, activities, shares_file)


def _sector_number(code: str, path: Path) -> int:
    if not (code.startswith("c") and code[1:].isdigit()):
        raise DataError(f"{path}: sector {code!r} is not c1..c{N_SECTORS}")
    return int(code[1:])


def economy_numbers(table: str = TABLE) -> dict[str, int]:
    """ADB MRIO code -> economy number ``s`` of ``table`` (countries file, sheet ``MRIO``)."""
    sheet = pd.read_excel(locate(COUNTRIES), sheet_name="MRIO")
    col = NUMBER_COLUMN[table]
    sheet = sheet[sheet[col].notna()]
    numbers = {str(code): int(n) for code, n in zip(sheet.mrio_code, sheet[col], strict=True)}
    if sorted(numbers.values()) != list(range(1, len(numbers) + 1)):
        raise DataError(f"{COUNTRIES}: column {col} does not number 1..{len(numbers)}")
    return numbers


def read_adb(table: str = TABLE, year: int = YEAR) -> pd.DataFrame:
    """ADB MRIO summary of ``year``: columns ``s``, ``i``, ``x``, ``va`` (US$ million), one row
    per economy x sector, sorted; checked complete (every economy has sectors 1..35)."""
    frame = pd.read_parquet(locate(table), columns=["t", "s", "i", "x", "va"])
    frame = frame[frame.t == year].drop(columns="t").sort_values(["s", "i"])
    counts = frame.groupby("s").i.apply(lambda s: sorted(s) == list(range(1, N_SECTORS + 1)))
    if len(frame) == 0 or not bool(counts.all()):
        raise DataError(f"{table}: {year} is not complete (economy x sector 1..{N_SECTORS})")
    return frame.reset_index(drop=True)


def aggregate(frame: pd.DataFrame, mapping: AdbMapping, numbers: dict[str, int],
              shares: pd.DataFrame | None = None) -> pd.DataFrame:
    """Model region x activity totals of ``x`` and ``va`` (US$ million), rows in the mapping's
    region order and activity order. Every economy of ``frame`` must be mapped exactly once
    (``numbers``: code -> ``s``); split pseudo-activities are divided with ``shares``
    (``autos_split_shares.csv``, column ``motor_vehicles_share`` by region)."""
    shares = read_split_shares(mapping.shares_file) if shares is None else shares
    share = dict(zip(shares.region, shares.motor_vehicles_share, strict=True))
    unknown = sorted(c for cs in mapping.regions.values() for c in cs if c not in numbers)
    if unknown:
        raise DataError(f"economies not in the countries file: {unknown}")
    mapped = sorted(numbers[c] for cs in mapping.regions.values() for c in cs)
    present = sorted(set(frame.s.tolist()))
    if mapped != present:
        raise DataError(f"economies of the table and of the mapping differ: only in the table "
                        f"{sorted(set(present) - set(mapped))}, only in the mapping "
                        f"{sorted(set(mapped) - set(present))}")
    cells = {(int(s), int(i)): (float(x), float(v))
             for s, i, x, v in zip(frame.s, frame.i, frame.x, frame.va, strict=True)}
    rows = []
    for region, codes in mapping.regions.items():
        sums: dict[str, tuple[float, float]] = {}
        for act, sectors in mapping.sectors.items():
            keys = [(numbers[c], i) for c in codes for i in sectors]
            x = math.fsum(cells[k][0] for k in keys)
            va = math.fsum(cells[k][1] for k in keys)
            if act in mapping.split:
                a = float(share[region])
                first, rest = mapping.split[act]
                sums[first] = (x * a, va * a)
                sums[rest] = (x * (1.0 - a), va * (1.0 - a))
            else:
                sums[act] = (x, va)
        rows += [(region, act, *sums[act]) for act in mapping.activities]
    return pd.DataFrame(rows, columns=["region", "activity", "x", "va"])


def scale_to_2024(agg: pd.DataFrame, gdp: dict[str, float]) -> pd.DataFrame:
    """Add the 2024 levels to :func:`aggregate`'s table: ``va_share`` (share of the region's
    2022 value added), ``va_total22`` (US$ million), ``go_va`` (2022 GO/VA), ``va24`` and ``go24``
    (US$ bn of 2024: share x ``gdp[region]`` and that x GO/VA)."""
    out = agg.copy()
    totals = {r: math.fsum(g.va.tolist()) for r, g in agg.groupby("region", sort=False)}
    bad = out[(out.va <= 0) | (out.x < out.va)]
    if len(bad):
        raise DataError(f"ADB cells with value added <= 0 or above gross output:\n{bad}")
    out["va_total22"] = [totals[r] for r in out.region]
    out["va_share"] = out.va / out.va_total22
    out["go_va"] = out.x / out.va
    out["va24"] = out.va_share * [gdp[r] for r in out.region]
    out["go24"] = out.va24 * out.go_va
    return out


def gdp_targets(path: Path | None = None) -> dict[str, float]:
    """2024 GDP targets by region, US$ bn (``targets.csv``, item ``gdp``, role ``target``)."""
    table = read_targets(path)
    rows = table[(table["item"] == "gdp") & (table.role == "target")]
    return {str(r): float(v) for r, v in zip(rows.region, rows.value, strict=True)}


def source_url(key: str = TABLE) -> str:
    """GitHub address (repository, commit, path) of raw file ``key``."""
    spec = RAW_FILES[key]
    return f"https://github.com/{spec.repository}/blob/{spec.commit}/{spec.source_path}"


def _tolerance(item: str, activity: str, va24: float, gdp: float,
               split: Iterable[str], region: str = "") -> float:
    if (item, region, activity) in CLASSIFICATION_CONFLICTS:
        return CLASSIFICATION_CONFLICTS[item, region, activity][0]
    if va24 < SMALL_SHARE * gdp:
        return SMALL_TOL
    if activity in split:
        return SPLIT_TOL
    return TOLERANCE[item]


def output_targets(scaled: pd.DataFrame, gdp: dict[str, float], mapping: AdbMapping,
                   shares: pd.DataFrame, table: str = TABLE) -> pd.DataFrame:
    """The rows of ``output_structure.csv`` (see the module docstring), sorted."""
    url = source_url(table)
    share = dict(zip(shares.region, shares.motor_vehicles_share, strict=True))
    split_parts = {p for pair in mapping.split.values() for p in pair}
    label = f"ADB MRIO {table.removeprefix('adb_mrio_')} ({YEAR})"
    rows = []
    for r in scaled.itertuples():
        g = gdp[r.region]
        split_note = ""
        if r.activity in split_parts:
            a = float(share[r.region])
            part = a if r.activity == "motor_vehicles" else 1.0 - a
            split_note = (f"; c15 transport equipment x {part:.3f} (motor_vehicles_share "
                          f"{a:.3f} of data/targets2024/autos_split_shares.csv, WIOD 2016 "
                          f"release 2011, applied to GO and VA)")
        va_note = (f"{label}: value added {r.va / BN:,.3f} US$ bn = {100 * r.va_share:.3f} % of "
                   f"the region's {r.va_total22 / BN:,.3f}{split_note}; 2022 share held for "
                   f"{TARGET_YEAR} (assumption) x GDP target {g:,.2f} (targets.csv gdp)")
        go_note = (f"{label}: gross output {r.x / BN:,.3f} / value added {r.va / BN:,.3f} US$ bn"
                   f" = GO/VA {r.go_va:.4f}{split_note}; 2022 ratio held for {TARGET_YEAR} "
                   f"(assumption) x value added target {r.va24:,.3f}")
        for item, value, note in (("value_added", r.va24, va_note),
                                  ("gross_output", r.go24, go_note)):
            conflict = CLASSIFICATION_CONFLICTS.get((item, r.region, r.activity))
            rows.append((item, r.region, "", r.activity, float(value), "US$ bn", TARGET_YEAR, url,
                         note + (f"; {conflict[1]}" if conflict else ""), "P", "derived",
                         "target", _tolerance(item, r.activity, r.va24, g, split_parts,
                                              r.region)))
    for region, total in scaled.groupby("region", sort=False).va_total22.first().items():
        note = (f"{label}: value added summed over the region's economies and the "
                f"{N_SECTORS} sectors (basic prices, current US$); {TARGET_YEAR} GDP target "
                f"{gdp[region]:,.2f} is {gdp[region] / (total / BN):.4f} times this")
        rows.append(("value_added_total_2022", region, "", "", float(total / BN), "US$ bn", YEAR,
                     url, note, "P", "derived", "cross-check", float("nan")))
    out = pd.DataFrame(rows, columns=COLUMNS)
    out = out.sort_values(["item", "region", "commodity"], kind="mergesort")
    return out.reset_index(drop=True)


def compute(table: str = TABLE, map_path: str | Path | None = None,
            targets_path: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(scaled, rows)``: :func:`scale_to_2024`'s table and the csv rows, from the raw files."""
    mapping = load_mapping(map_path)
    shares = read_split_shares(mapping.shares_file)
    gdp = gdp_targets(targets_path)
    agg = aggregate(read_adb(table), mapping, economy_numbers(table), shares)
    scaled = scale_to_2024(agg, gdp)
    return scaled, output_targets(scaled, gdp, mapping, shares, table)


def build_output_targets(out_path: str | Path | None = None) -> pd.DataFrame:
    """Write ``data/targets2024/output_structure.csv`` (or ``out_path``); return its rows.

    Value added and gross output by activity x region, US$ bn of 2024 (module docstring)."""
    out_path = DEFAULT_OUT if out_path is None else Path(out_path)
    _, rows = compute()
    write_csv(rows, out_path)
    return rows


def compare_with_benchmark(scaled: pd.DataFrame,
                           directory: str | Path = BENCHMARK_DIR) -> pd.DataFrame:
    """Activity x region value-added shares (%) and GO/VA ratios: benchmark vs ADB 2022.

    Benchmark value added = ``vfm`` summed over factors, gross output = ``vom``. Columns
    ``va_share_bench``, ``va_share_adb``, ``diff_pp`` (percentage points), ``go_va_bench``,
    ``go_va_adb``, ``go_va_diff``, and the 2024 levels ``va_bench``/``va_adb`` (US$ bn)."""
    ds = load_benchmark(directory)
    va = ds.vfm.sum("factor")
    rows = []
    for r in scaled.itertuples():
        vb = float(va.sel(activity=r.activity, region=r.region)) / BN
        tot = float(va.sel(region=r.region).sum()) / BN
        gb = float(ds.vom.sel(activity=r.activity, region=r.region)) / BN
        rows.append((r.region, r.activity, 100 * vb / tot, 100 * r.va_share,
                     100 * (r.va_share - vb / tot), gb / vb, r.go_va, r.go_va - gb / vb,
                     vb, r.va24))
    return pd.DataFrame(rows, columns=["region", "activity", "va_share_bench", "va_share_adb",
                                       "diff_pp", "go_va_bench", "go_va_adb", "go_va_diff",
                                       "va_bench", "va_adb"])


def main() -> None:
    """Rebuild ``output_structure.csv`` and print the tables of the report."""
    scaled, rows = compute()
    write_csv(rows, DEFAULT_OUT)
    pd.set_option("display.width", 200)
    world = math.fsum(scaled.groupby("region", sort=False).va_total22.first().tolist()) / BN
    print(f"wrote {DEFAULT_OUT}; ADB world value added {YEAR}: {world:,.1f} US$ bn")
    order = list(dict.fromkeys(scaled.region))
    acts = list(dict.fromkeys(scaled.activity))
    for col, title, digits in (("va_share", "VA share, % of region (ADB 2022)", 2),
                               ("go_va", "GO/VA (ADB 2022)", 3)):
        tab = scaled.pivot(index="activity", columns="region", values=col).loc[acts, order]
        print(f"\n{title}\n{(tab * (100 if col == 'va_share' else 1)).round(digits)}")
    cmp = compare_with_benchmark(scaled)
    for col, title in (("diff_pp", "VA share, ADB minus benchmark (pp)"),
                       ("go_va_diff", "GO/VA, ADB minus benchmark")):
        tab = cmp.pivot(index="activity", columns="region", values=col).loc[acts, order]
        print(f"\n{title}\n{tab.round(2)}")
    big = cmp.reindex(cmp.diff_pp.abs().sort_values(ascending=False).index).head(15)
    print(f"\nlargest VA-share differences\n{big.round(3).to_string(index=False)}")
    rel = (cmp.go_va_diff / cmp.go_va_bench).abs().sort_values(ascending=False).index
    big = cmp.reindex(rel).head(15).round(3)
    print(f"\nlargest GO/VA differences\n{big.to_string(index=False)}")


if __name__ == "__main__":
    main()
