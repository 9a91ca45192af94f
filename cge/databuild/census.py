"""US 2024 goods imports by model commodity x partner region, from Census HS10 data.

The targets of ``data/targets2024/us_trade_by_sector.csv``, built by
:func:`build_us_trade_targets` from the raw file ``us_import_weights_2024`` (US Census Bureau
2024 import detail, HS10 x Census country code, with a GTAP v11 sector per HS10, as compiled by
The Budget Lab at Yale; :mod:`cge.databuild.raw`), the GTAP -> model commodity map
``data/maps/gtap_sectors.toml`` and the published bilateral totals of
``data/targets2024/targets.csv`` (``us_goods_imports``). All values are US$ bn, 2024, customs
value (the transaction price of the goods, excluding US duties, freight and insurance to the US:
the fob-like world price at which ``vxmd[commodity, exporter, importer]`` is measured).

**Partners.** :func:`census_region_map` maps every Census country code to a model region by its
name in ``census_codes.csv``: the 27 members of the EU in 2024 (:data:`EU27`, Croatia
included) -> EU; Japan, South Korea, China, Canada, Mexico -> JPN KOR CHN CAN MEX; every other
code -> ROW, among them the United Kingdom, Switzerland, Hong Kong, Macao and Taiwan (Census
reports each of them apart from China). WIOD (``data/wiod2011``) counts Croatia in its rest of the
world, but the 2024 EU figures (GDP, US trade with the EU) are EU27 figures, so Croatia is in EU
here; it is small (US imports for consumption from Croatia 2024: US$ 0.99 bn in the raw file).

**Why the raw file sums to US$ 3,123.8 bn, not Census' US$ 3,267.4 bn.** The raw file holds
US$ 3,123.77 bn of **imports for consumption** (Census ``CON_VAL``: goods that
cleared customs for use in the US, including withdrawals from bonded warehouses and foreign-trade
zones) at **HS10 of chapters 01-97 only**. The headline figure of targets.csv (US$ 3,267.4 bn,
``us_goods_imports USA ALL``) is **general imports** (``GEN_VAL``: all arrivals, including goods
entered into bonded warehouses and FTZs) over **all chapters**. The build script of the file
(``src/build_import_weights.R`` of the public tariff-rate-tracker code, github.com/arifshehab/
tariff-rate-tracker at 12c9e0e, which reproduces this file: 334k rows, 233 countries, 45 GTAP
sectors, about US$ 3.12 tn) reads ``con_val_mo`` of Census' monthly IMP_DETL files and drops
HTS chapters 98 and 99 ("special provisions / re-imports / Chapter 99 lines"; chapter 98 holds,
e.g., US goods returned, 9801, and US-made parts in goods assembled abroad, 9802). Checked here:
the file has no HS10 of chapters 98 or 99 (nor 77, which is reserved), every HS10 has a GTAP
sector, and every country code is in ``census_codes.csv``. So the gap of US$ 143.6 bn (4.4 %)
is chapters 98-99 plus the general-minus-consumption difference; the split between the two was
not found in a published source. By partner (raw file vs the published totals of targets.csv):
CAN 392.5 vs 412.7 (-4.9 %), MEX 491.6 vs 505.9 (-2.8 %), CHN 418.0 vs 438.9 (-4.8 %), EU27
562.4 vs 605.8 (-7.2 %), JPN 144.9 vs 148.2 (-2.3 %), KOR 128.4 vs 135.46 (-5.2 %; that total is
a commercial provider's figure, grade S), ROW 986.0 vs 1,020.4 (-3.4 %). The published figures are
general imports: a copy of the Census 2024 country table (gist.github.com/the-solipsist/
1452145fd12785e85ab390a739858477, grade S) gives IYR "World, Not Seasonally Adjusted"
3267460.598737 and "European Union" 605760.393292 (US$ million), the targets.csv values.

**How the targets are formed.** Within each partner ``p``, the commodity shares of the raw file
(chapters 01-97, imports for consumption) are applied to the published total ``T_p`` of
targets.csv:

.. math::  x_{c,p} = T_p \\, \\frac{m_{c,p}}{\\sum_{c'} m_{c',p}},

with ``m_{c,p}`` the raw imports of commodity ``c`` from ``p`` (sum over the HS10 whose GTAP
sector is in ``c``), ``T_p`` the published ``us_goods_imports`` of CAN MEX CHN EU JPN KOR, and
``T_ROW = T_ALL - sum of the six``. The sector rows of each partner therefore sum exactly to the
published bilateral total, and all partners to 3,267.4. This assumes chapters 98-99 and the
warehouse/FTZ difference are spread over commodities like the rest of that partner's imports.
Only the nine goods commodities appear (``public_admin`` and ``services`` hold no HS code).

**Tolerance rule** (column ``tolerance``, relative): 0.02 for a cell of at least US$ 2 bn, 0.10
below. The large cells carry the bulk of trade and are well measured; 2 % is about the size of
the scaling above for most partners, so the balancing may move them by as much as the choice
between the raw shares and the published totals is uncertain. A cell under US$ 2 bn (5 of the
63: JPN energy 0.4, CHN energy 0.8, KOR other_transport 0.9, JPN agri_food 1.6, KOR agri_food
1.9) moves by a larger fraction under any reclassification between HS10 and GTAP sectors or
any re-routing of a few shipments, and holding it to 2 % would strain the balancing for a
negligible amount.

**Checks against published figures** (``tests/test_census.py``): the JPN ``motor_vehicles``
cell is 53.0 (raw 51.8) against the published US imports of vehicles and parts from Japan of
52.3 (targets.csv ``us_motor_vehicle_imports``). Shares of US imports of passenger cars (HS
8703) in the raw file: MEX 22.2 %, JPN 18.7 %, KOR 16.4 %, Germany 13.2 %, CAN 12.6 %, against
the published 22.8 %, 18.6 %, 17.3 %, 11.7 %, 12.9 % (a count of car imports, grade S). Shares
of the model's ``motor_vehicles`` (GTAP ``mvh``: cars, trucks, parts, engines, trailers) are
different and are not forced: MEX 34.6 %, EU 16.5 %, CAN 13.7 %, JPN 13.2 %, KOR 11.8 %
(Mexico supplies 78 % of US truck imports, HS 8704, and 42 % of parts, HS 8708).

**Other rows** (:data:`SOURCED_ROWS`, each with the URL and an exact quote of the page read):

* ``energy_net_exports`` (cross-check, quad Btu, not US$): EIA's 2024 net energy exports,
  9.3 quadrillion Btu (exports 30.9, imports 21.7; the US has been a net energy exporter since
  2019). Energy content, not value: it checks the sign (US ``energy`` exports above imports in
  the benchmark), not a level. EIA's total covers primary energy (fossil fuels, nuclear,
  renewables, electricity trade) and petroleum products; model ``energy`` also holds all other
  mining (GTAP ``oxt``: ores, stone) and gas and water distribution, and the edges differ
  (biofuels, nuclear fuel).
* ``services_exports`` / ``services_imports`` MEX (cross-check, derived): from a published 2024
  two-way total ("roughly $96 billion") and balance (US surplus $5.3 bn), exports = (96 + 5.3) / 2
  and imports = (96 - 5.3) / 2; an opinion column citing BEA, grade S.

Not found (no row written): BEA 2024 services exports and imports by partner for JPN EU KOR CHN
CAN (BEA's Table 2.3/2.4 of June 2025 was not among the pages searchable here; the pages found
give 2022-2023 figures or balances only); US 2024 goods exports by commodity in US$ (Census
end-use or NAICS levels for energy, vehicles, aircraft, chemicals: only monthly changes were
found); a US$ value of US energy exports for 2024 (only energy content, above).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cge.data.benchmark import DataError, write_csv
from cge.databuild import raw
from cge.paths import ROOT

MAP_PATH = ROOT / "data" / "maps" / "gtap_sectors.toml"
OUT_PATH = ROOT / "data" / "targets2024" / "us_trade_by_sector.csv"
BN = 1e9  # US$ per US$ bn

#: The 27 members of the EU in 2024, as Census spells them in ``census_codes.csv``.
EU27: tuple[str, ...] = (
    "Austria", "Belgium", "Bulgaria", "Croatia", "Cyprus", "Czech Republic",
    "Denmark, except Greenland", "Estonia", "Finland", "France",
    "Germany (Federal Republic of Germany)", "Greece", "Hungary", "Ireland", "Italy", "Latvia",
    "Lithuania", "Luxembourg", "Malta", "Netherlands", "Poland", "Portugal", "Romania",
    "Slovakia", "Slovenia", "Spain", "Sweden")
#: The model's single-country regions, by their Census name.
SINGLE: dict[str, str] = {"Japan": "JPN", "South Korea (Republic of Korea)": "KOR",
                          "China": "CHN", "Canada": "CAN", "Mexico": "MEX"}
#: Census name of the importer itself (never a partner).
HOME = "United States of America"
#: Partner regions in model order (the importer USA is not a partner).
PARTNERS: tuple[str, ...] = ("JPN", "EU", "KOR", "CHN", "CAN", "MEX", "ROW")
#: Partners with a published bilateral total in targets.csv; ROW is ALL minus these.
PUBLISHED_PARTNERS: tuple[str, ...] = ("JPN", "EU", "KOR", "CHN", "CAN", "MEX")

COLUMNS = ["item", "region", "partner", "commodity", "value", "unit", "year", "source_url",
           "quote_or_note", "quality", "status", "role", "tolerance"]
#: Relative tolerance of a goods-import cell of at least :data:`LARGE_CELL` US$ bn, and below.
TOL_LARGE, TOL_SMALL, LARGE_CELL = 0.02, 0.10, 2.0


def _raw_url(key: str) -> str:
    spec = raw.RAW_FILES[key]
    return f"https://github.com/{spec.repository}/blob/{spec.commit}/{spec.source_path}"


# --------------------------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------------------------
def census_region_map() -> dict[str, str]:
    """Census country code (4 digits, text) -> model region, for every code of ``census_codes``.

    EU for the names of :data:`EU27`, JPN KOR CHN CAN MEX for those of :data:`SINGLE`, ``USA``
    for the United States itself, ROW for every other code (the UK, Switzerland, Hong Kong,
    Macao, Taiwan, ...). Raises :class:`DataError` if a name of :data:`EU27`, :data:`SINGLE` or
    :data:`HOME` is not found exactly once."""
    codes = pd.read_csv(raw.locate("census_codes"), dtype=str, keep_default_na=False)
    by_name = codes.groupby("Name").Code.apply(list).to_dict()
    named = {**{n: "EU" for n in EU27}, **SINGLE, HOME: "USA"}
    out = {code: "ROW" for code in codes.Code}
    for name, region in named.items():
        found = by_name.get(name, [])
        if len(found) != 1:
            raise DataError(f"census_codes.csv: {len(found)} codes named {name!r} (the "
                            f"{region} member list of cge/databuild/census.py needs one)")
        out[found[0]] = region
    return out


def gtap_commodity_map() -> dict[str, str]:
    """GTAP v11 sector code (lower case) -> model commodity (``data/maps/gtap_sectors.toml``)."""
    with open(MAP_PATH, "rb") as f:
        table = tomllib.load(f)["commodities"]
    out: dict[str, str] = {}
    for commodity, sectors in table.items():
        for sector in sectors:
            if sector in out:
                raise DataError(f"{MAP_PATH.name}: GTAP sector {sector} in {out[sector]} and "
                                f"{commodity}")
            out[sector] = commodity
    return out


def goods_commodities() -> list[str]:
    """The model commodities that hold a GTAP goods sector, in the map's order."""
    with open(MAP_PATH, "rb") as f:
        table = tomllib.load(f)["commodities"]
    return [c for c in table if c not in ("public_admin", "services")]


# --------------------------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------------------------
def read_import_weights() -> pd.DataFrame:
    """The raw file: columns ``hs10``, ``gtap_code``, ``cty_code``, ``imports`` (US$, 2024)."""
    import pyreadr

    frame = pyreadr.read_r(str(raw.locate("us_import_weights_2024")))[None]
    return frame[["hs10", "gtap_code", "cty_code", "imports"]]


def us_imports_by_sector(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """2024 US imports for consumption (HS chapters 01-97) by model commodity (rows) x partner
    region (columns :data:`PARTNERS`), US$ bn, from the raw HS10 file.

    Raises :class:`DataError` if a GTAP code of the file is not in the commodity map or a
    country code is not in ``census_codes.csv`` (no value is dropped silently)."""
    frame = read_import_weights() if frame is None else frame
    to_commodity, to_region = gtap_commodity_map(), census_region_map()
    unmapped = sorted(set(frame.gtap_code) - set(to_commodity))
    if unmapped:
        lost = frame.imports[frame.gtap_code.isin(unmapped)].sum() / BN
        raise DataError(f"GTAP codes {unmapped} (US$ {lost:.1f} bn) are not in {MAP_PATH.name}")
    unknown = sorted(set(frame.cty_code) - set(to_region))
    if unknown:
        raise DataError(f"Census country codes {unknown} are not in census_codes.csv")
    partner = frame.cty_code.map(to_region)
    if (partner == "USA").any():
        raise DataError("the import file has imports from the United States itself")
    table = (frame.imports.groupby([frame.gtap_code.map(to_commodity), partner]).sum()
             .unstack(fill_value=0.0) / BN)
    return table.reindex(index=goods_commodities(), columns=list(PARTNERS), fill_value=0.0)


def published_import_totals(targets: pd.DataFrame | None = None) -> pd.Series:
    """Published 2024 US goods imports (Census basis, general imports, US$ bn) by partner
    (:data:`PARTNERS`) from ``targets.csv``; ROW = ``ALL`` minus the six published partners."""
    from cge.databuild.update import read_targets

    targets = read_targets() if targets is None else targets
    rows = targets[(targets["item"] == "us_goods_imports") & (targets.region == "USA")]
    value = dict(zip(rows.partner, rows.value.astype(float), strict=True))
    out = {p: value[p] for p in PUBLISHED_PARTNERS}
    out["ROW"] = value["ALL"] - sum(out[p] for p in PUBLISHED_PARTNERS)
    return pd.Series(out).reindex(list(PARTNERS))


def us_import_targets(table: pd.DataFrame | None = None,
                      totals: pd.Series | None = None) -> pd.DataFrame:
    """Target 2024 US goods imports by commodity x partner (US$ bn): the commodity shares of
    :func:`us_imports_by_sector` within each partner times its published total
    (:func:`published_import_totals`); each column sums to the published total."""
    table = us_imports_by_sector() if table is None else table
    totals = published_import_totals() if totals is None else totals
    return table / table.sum(axis=0) * totals


# --------------------------------------------------------------------------------------------
# Published rows
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourcedRow:
    """One published (or simply derived) 2024 figure with its source page and an exact quote."""

    item: str           #: services_exports, services_imports, goods_exports, energy_net_exports
    partner: str        #: model region or ALL
    commodity: str      #: model commodity, or services_all
    value: float        #: in ``unit``
    unit: str           #: US$ bn, or quad Btu
    source_url: str
    quote_or_note: str  #: exact quote, then how the value follows and what the category covers
    quality: str        #: P (official), N (news citing official), S (secondary)
    status: str         #: published, or derived (arithmetic on published figures)
    role: str           #: target or cross-check
    tolerance: float    #: relative


_MXN_SERVICES_URL = ("https://mexiconewsdaily.com/opinion/"
                     "opinion-could-mexico-make-america-great-again-services-trade")
_MXN_SERVICES_QUOTE = ('"In 2024, total U.S.-Mexico services trade reached roughly $96 billion." '
                       '... "In that same year, the U.S. ran a $5.3 billion surplus in services '
                       'with Mexico" (opinion column, Mexico News Daily, citing BEA); ')

#: Published figures found (see the module docstring); each quote was read on its page.
SOURCED_ROWS: tuple[SourcedRow, ...] = (
    SourcedRow(
        "energy_net_exports", "ALL", "energy", 9.3, "quad Btu",
        "https://enerknol.com/?p=73723",
        '"Net energy exports reached a record high of 9.3 quads." (EnerKnol on "a June 20 '
        'report published by the U.S. Energy Information Administration"; same page: exports '
        '"reaching 30.9 quadrillion British thermal units (quads) during 2024", "energy imports '
        'were at 21.7 quads during 2024"). Energy content, not value: a sign check on US '
        "energy trade (exports > imports); EIA counts primary energy and petroleum products, "
        "model energy also holds other mining (oxt) and gas/water distribution",
        "N", "published", "cross-check", 0.10),
    SourcedRow(
        "services_exports", "MEX", "services_all", (96.0 + 5.3) / 2, "US$ bn",
        _MXN_SERVICES_URL,
        _MXN_SERVICES_QUOTE + "derived: exports = (96 + 5.3) / 2; services_all = model "
        "services + public_admin (BEA services include government goods and services n.i.e.)",
        "S", "derived", "cross-check", 0.10),
    SourcedRow(
        "services_imports", "MEX", "services_all", (96.0 - 5.3) / 2, "US$ bn",
        _MXN_SERVICES_URL,
        _MXN_SERVICES_QUOTE + "derived: imports = (96 - 5.3) / 2; services_all = model "
        "services + public_admin",
        "S", "derived", "cross-check", 0.10),
)


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------
def cell_tolerance(value: float) -> float:
    """Relative tolerance of a goods-import target cell (US$ bn): see the module docstring."""
    return TOL_LARGE if value >= LARGE_CELL else TOL_SMALL


def us_trade_targets(frame: pd.DataFrame | None = None,
                     targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of ``us_trade_by_sector.csv`` (columns :data:`COLUMNS`), sorted."""
    table = us_imports_by_sector(frame)
    totals = published_import_totals(targets)
    cells = us_import_targets(table, totals)
    src = published_sources(targets)
    rows = []
    for partner in PARTNERS:
        share_note = ("derived: share of {c} in 2024 US imports for consumption from {p} "
                      "(Census HS10 chapters 01-97 via the raw file; GTAP sectors {g}) = "
                      "{s:.6f} x published 2024 US general imports from {p} {t} US$ bn ({how})")
        how = ("targets.csv us_goods_imports " + partner if partner != "ROW" else
               "targets.csv us_goods_imports ALL minus JPN EU KOR CHN CAN MEX")
        for commodity in cells.index:
            value = float(cells.loc[commodity, partner])
            share = float(table.loc[commodity, partner] / table[partner].sum())
            rows.append({
                "item": "goods_imports", "region": "USA", "partner": partner,
                "commodity": commodity, "value": value, "unit": "US$ bn", "year": 2024,
                "source_url": _raw_url("us_import_weights_2024") + " ; " + src[partner],
                "quote_or_note": share_note.format(
                    c=commodity, p=partner, g=" ".join(_sectors_of(commodity)), s=share,
                    t=repr(float(totals[partner])), how=how),
                "quality": "P", "status": "derived", "role": "target",
                "tolerance": cell_tolerance(value)})
    for row in SOURCED_ROWS:
        rows.append({
            "item": row.item, "region": "USA", "partner": row.partner,
            "commodity": row.commodity, "value": float(row.value), "unit": row.unit,
            "year": 2024, "source_url": row.source_url, "quote_or_note": row.quote_or_note,
            "quality": row.quality, "status": row.status, "role": row.role,
            "tolerance": float(row.tolerance)})
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.sort_values(["item", "region", "partner", "commodity"], kind="mergesort",
                           ignore_index=True)


def _sectors_of(commodity: str) -> list[str]:
    return [g for g, c in gtap_commodity_map().items() if c == commodity]


def published_sources(targets: pd.DataFrame | None = None) -> dict[str, str]:
    """Source URL of the published US goods-import total of each partner (targets.csv)."""
    from cge.databuild.update import read_targets

    targets = read_targets() if targets is None else targets
    rows = targets[(targets["item"] == "us_goods_imports") & (targets.region == "USA")]
    url = dict(zip(rows.partner, rows.source_url, strict=True))
    out = {p: url[p] for p in PUBLISHED_PARTNERS}
    out["ROW"] = url["ALL"]
    return out


def build_us_trade_targets(out_path: str | Path | None = None) -> Path:
    """Write ``data/targets2024/us_trade_by_sector.csv`` (or ``out_path``) and return its path.

    Byte-identical on every run: rows sorted by item, region, partner, commodity; numbers by
    :func:`cge.data.benchmark.write_csv` (shortest round-trip decimals)."""
    path = OUT_PATH if out_path is None else Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(us_trade_targets(), path)
    return path
