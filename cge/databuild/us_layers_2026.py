"""The additional US tariffs of 2026 by model commodity and exporter, from HS10 x country data.

The 2026 scenario files (``scenarios/landscape_2026_*.toml``, ``scenarios/branch_2026h2_*.toml``)
add these rates, in percentage points, to the US rows of the ``default2024`` base (the 2024
regime of :mod:`cge.databuild.us_tariffs`: MFN with FTA preferences, Section 301 on China, the
2018 Section 232 steel and aluminium duties). :func:`build_us_layers_2026` writes them to
``data/policy/us_layers_2026.csv``; ``tests/test_us_layers_2026.py`` checks that every scenario
file carries the numbers of that table.

Inputs (raw files, :mod:`cge.databuild.raw`)
--------------------------------------------
* 2024 US imports for consumption by HS10 x Census country (``us_import_weights_2024``, read by
  :func:`cge.databuild.census.read_import_weights`), mapped to model commodities and regions
  by :func:`cge.databuild.census.gtap_commodity_map` and
  :func:`~cge.databuild.census.census_region_map`.
* Product lists of the Budget Lab tariff-rate-tracker at commit 8315fff (11 May 2026):
  ``s232_annex_products`` (the annexes of 2 Apr 2026), ``s232_derivative_products``,
  ``s232_copper_products``, ``s232_auto_parts``, ``s232_mhd_parts``, ``s122_exempt_products``
  (HTS8 lines exempt from Section 122), ``metal_content_shares_bea_hs10`` (steel, aluminium and
  copper content of each HS10 from BEA input-output tables) and the monthly USMCA-claimed
  shares ``usmca_product_shares_2025_07`` ... ``_12``.
* HS8 column-1 (MFN) rates of the 2025 basic HTS (``mfn_rates_2025``), read by
  :func:`cge.databuild.us_tariffs.read_mfn`.
* The 2018 Section 232 component of each 2024 cell, from :func:`cge.databuild.us_tariffs.line_rates`
  and :func:`~cge.databuild.us_tariffs.aggregate` (its raw files: :data:`BASE_RAW_KEYS`).

Product-level rules (percent of customs value, additional to MFN)
-----------------------------------------------------------------
**Section 232** (Trade Expansion Act of 1962), every partner unless stated:

* *Metals from 6 Apr 2026* (proclamation of 2 Apr 2026): the annex tiers on the full customs
  value, Annex I-A 50 %, I-B 25 %, III 15 %, Annex II removed from Section 232
  (:data:`ANNEX_PCT`); other articles of HS chapters 72, 73, 76 and the lines of the copper list
  50 %. Not modelled: the 10 % tier (>= 95 % US metal), the exemption of articles with <= 15 %
  metal by weight, the UK's 25 %.
* *Metals from 4 Jun 2025 to 5 Apr 2026*: 50 % on chapters 72, 73, 76 (all metal) and 50 % on
  the metal content of the derivative lists in force on 20 Feb 2026 (steel share for steel
  derivatives plus aluminium share for aluminium derivatives, at most 1) and of the copper list
  (copper share; 1 for chapter 74): the rate of a line is 50 % x content
  (:func:`s232_pre_april`).
* *Passenger cars and light trucks* (:data:`AUTOS`), *auto parts* (``s232_auto_parts``):
  25 % (since 3 Apr / 3 May 2025). JPN, EU, KOR: all-in max(15 %, MFN) by their deals, i.e.
  max(0, 15 - MFN) additional (KOR: MFN 0 under KORUS). CAN, MEX: a USMCA-qualifying vehicle
  pays on its non-US content, assumed :data:`USMCA_US_CONTENT` of its value (the tracker's
  ``us_auto_content_share``); qualifying parts are exempt.
* *Medium and heavy trucks* (:data:`MHD_VEHICLES`) and *their parts* (``s232_mhd_parts``) 25 %,
  buses (HS 8702) 10 % (since 1 Nov 2025), no deal cap; USMCA-qualifying trucks and parts exempt.
* *Wood* (since 14 Oct 2025): softwood lumber (:data:`SOFTWOOD`) 10 %, upholstered furniture,
  kitchen cabinets and vanities (:data:`FURNITURE`) 25 % (the step-up postponed to 1 Jan 2027);
  all-in 15 % for JPN, EU, KOR as for autos.

A line takes the first of these that applies, in this order: vehicles (buses, trucks, cars),
parts, the 2026 metal annexes, chapters 72/73/76, the copper list, wood (:func:`s232_kind`).
Where a 2026 Section 232 rate replaces the 2018 steel/aluminium duty of the base, that base
component of the cell (rounded like the base table, 4 decimals) is subtracted from every
Section 232 cell with a positive rate.

**Section 122** (Trade Act of 1974, balance of payments): 10 % from 24 Feb to 23 Jul 2026
(150 days; the 15 % announced on 21 Feb 2026 was not applied: the 15 % layer is the
counterfactual), on top of MFN and Section 301, not on the lines of ``s122_exempt_products``
(energy, pharmaceuticals, critical minerals, some farm goods, civil aircraft, some electronics),
not on USMCA-qualifying goods and not on Section 232 goods: before 6 Apr 2026 only the non-metal
part of a metal derivative, (1 - content), paid it, and the heading products (vehicles, parts,
wood) none; from 6 Apr the tiers are on the full value and a line with a positive Section 232
rate pays no surcharge (so a capped line with MFN >= 15 %, Section 232 rate 0, pays it).

**Hypothetical Section 301 layers** (branches after July 2026): the 15 % deal rates of JPN, EU,
KOR re-created, max(15 %, MFN) all-in, i.e. max(0, 15 - MFN), on their goods that pay neither
Section 232 (from 6 Apr) nor are exempt from Section 122; and an escalation on Japanese cars
and parts back to 25 % + MFN (the Apr-Sep 2025 level), i.e. 25 + MFN - max(15, MFN).

Aggregation
-----------
A cell's rate is duty / imports over its 2024 HS10 x country flows (customs value), i.e. the
2024-import-weighted mean of the line rates. USMCA-qualifying shares are the H2 2025 claimed
shares (usmca value / total value summed over Jul-Dec 2025 by HTS10 x country; the tracker's
baseline), used for CAN and MEX only (0 elsewhere and where a flow has no entry). The layer
that spans the whole Section 122 window weights the two Section 232 regimes by their days
(:data:`PRE_APRIL_WEIGHT` = 41/150 for 24 Feb - 5 Apr, :data:`POST_APRIL_WEIGHT` = 109/150 for
6 Apr - 23 Jul 2026).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from cge.data.benchmark import write_csv
from cge.databuild import us_tariffs
from cge.databuild.census import census_region_map, gtap_commodity_map, read_import_weights
from cge.databuild.raw import locate
from cge.paths import ROOT

POLICY_DIR = ROOT / "data" / "policy"
OUT_FILE = "us_layers_2026.csv"

#: Months of the USMCA-claimed shares (H2 2025).
USMCA_MONTHS: tuple[str, ...] = ("2025_07", "2025_08", "2025_09", "2025_10", "2025_11",
                                 "2025_12")
#: Raw files read directly (keys of :data:`cge.databuild.raw.RAW_FILES`).
LAYER_RAW_KEYS: tuple[str, ...] = (
    "us_import_weights_2024", "census_codes", "mfn_rates_2025", "s232_annex_products",
    "s232_derivative_products", "s232_copper_products", "s232_auto_parts", "s232_mhd_parts",
    "metal_content_shares_bea_hs10", "s122_exempt_products",
    *(f"usmca_product_shares_{m}" for m in USMCA_MONTHS))
#: Raw files of the 2024 base regime (for its 2018 Section 232 component).
BASE_RAW_KEYS: tuple[str, ...] = us_tariffs.RAW_KEYS
#: Every raw file the table needs.
RAW_KEYS: tuple[str, ...] = tuple(dict.fromkeys((*LAYER_RAW_KEYS, *BASE_RAW_KEYS, "census_codes")))

# --- dates and day weights ------------------------------------------------------------------
S122_START = date(2026, 2, 24)      #: first day of the Section 122 surcharge
S122_END = date(2026, 7, 24)        #: first day without it (it lapsed at 12:01 a.m. EDT)
METALS_RESTRUCTURED = date(2026, 4, 6)  #: the metal annexes in force
#: Derivative lists in force on this day make the pre-April regime (the day of the ruling).
PRE_APRIL_LIST_DATE = "2026-02-20"
S122_DAYS = (S122_END - S122_START).days                    #: 150
PRE_APRIL_WEIGHT = (METALS_RESTRUCTURED - S122_START).days / S122_DAYS   #: 41/150
POST_APRIL_WEIGHT = (S122_END - METALS_RESTRUCTURED).days / S122_DAYS    #: 109/150

# --- rates (%) ------------------------------------------------------------------------------
S232_METAL_PCT = 50.0
#: Tiers of the 2 Apr 2026 metal annexes (Annex II: removed from Section 232).
ANNEX_PCT: dict[str, float] = {"1a": 50.0, "1b": 25.0, "2": 0.0, "3": 15.0}
S232_AUTO_PCT = 25.0
S232_MHD_PCT = 25.0
S232_BUS_PCT = 10.0
S232_SOFTWOOD_PCT = 10.0
S232_FURNITURE_PCT = 25.0
#: All-in cap (MFN included) of the JPN, EU, KOR deals on autos, parts and wood, and the rate of
#: the hypothetical Section 301 deal layer.
DEAL_ALL_IN_PCT = 15.0
#: Section 301 escalation on Japanese cars and parts: 25 % on top of MFN.
JPN_AUTOS_S301_PCT = 25.0
S122_PCT = 10.0
S122_ANNOUNCED_PCT = 15.0
#: US content of a USMCA-qualifying vehicle (the tracker's ``us_auto_content_share``).
USMCA_US_CONTENT = 0.40

DEAL_PARTNERS: tuple[str, ...] = ("JPN", "EU", "KOR")
USMCA_PARTNERS: tuple[str, ...] = ("CAN", "MEX")
#: MFN treated as 0 for the deal caps: KORUS (Korea's goods enter free of MFN duty).
ZERO_MFN_PARTNERS: tuple[str, ...] = ("KOR",)
#: Chapters whose articles are all metal (steel: 72, 73; aluminium: 76).
METAL_CHAPTERS: tuple[str, ...] = ("72", "73", "76")

# --- heading lists of Section 232 (HTS prefixes; as in the tracker's config/policy_params.yaml,
# section_232_headings, at commit 8315fff) ---------------------------------------------------
#: Passenger vehicles and light trucks (Proclamation 10908, 26 Mar 2025).
AUTOS: tuple[str, ...] = (
    "870322", "870323", "870324", "870331", "870332", "870333", "870334", "870340", "870350",
    "870360", "870370", "870380", "870390", "87042101", "87043101", "87044100", "87045100")
#: Medium and heavy-duty trucks, tractors and chassis (proclamation of 17 Oct 2025).
MHD_VEHICLES: tuple[str, ...] = (
    "87012100", "87012200", "87012300", "87012400", "87012900", "87041010", "87041050",
    "87042211", "87042251", "87042301", "87043201", "87044200", "87044300", "87045200",
    "87046000", "87049001", "87054000", "8705900080", "87060003", "8706000520", "8706000575",
    "87060025", "87060050", "87091100", "87091900")
#: Buses (same proclamation).
BUSES: tuple[str, ...] = ("8702",)
#: Softwood timber and lumber (proclamation of 29 Sep 2025).
SOFTWOOD: tuple[str, ...] = (
    "44031100", "44032101", "44032201", "44032301", "44032401", "44032501", "44032601",
    "44039901", "44061100", "44069100", "44071100", "44071200", "44071300", "44071400",
    "44071900")
#: Upholstered wooden furniture, kitchen cabinets and vanities (same proclamation).
FURNITURE: tuple[str, ...] = (
    "9401614011", "9401614031", "9401616011", "9401616031", "9403409060", "9403608093",
    "9403910080")
#: Kinds of :func:`s232_kind` that are whole-heading products (not metal content).
HEADING_KINDS: tuple[str, ...] = ("auto", "auto_part", "mhd", "mhd_part", "bus", "softwood",
                                  "furniture")
#: Kinds under the JPN/EU/KOR all-in cap.
CAPPED_KINDS: tuple[str, ...] = ("auto", "auto_part", "softwood", "furniture")


@dataclass(frozen=True)
class Layer:
    """One additional US tariff layer of the 2026 scenario files."""

    name: str
    description: str


#: The layers of the table, in its order.
LAYERS: tuple[Layer, ...] = (
    Layer("s232_pre_april", "Section 232 as of 20 Feb - 5 Apr 2026 (metals 50% on ch. 72/73/76 "
          "and on the metal content of derivatives), pp on the 2024 base"),
    Layer("s232_post_april", "Section 232 from 6 Apr 2026 (metal annex tiers on the full value), "
          "pp on the 2024 base"),
    Layer("s232_s122_window", "Section 232 over 24 Feb - 23 Jul 2026, day-weighted 41/150 "
          "pre- and 109/150 post-6-Apr, pp on the 2024 base"),
    Layer("s122_10_window", "Section 122 at 10% on the goods not exempt, 24 Feb - 23 Jul 2026, "
          "day-weighted 41/150 pre- and 109/150 post-6-Apr, pp"),
    Layer("s122_15_window", "Section 122 at 15% (announced, not applied) on the goods not "
          "exempt, day-weighted as s122_10_window, pp"),
    Layer("s122_10_post_april", "Section 122 at 10% on the goods not exempt with the "
          "post-6-Apr Section 232 (re-imposed after July 2026), pp"),
    Layer("s301_deals", "hypothetical Section 301: max(15%, MFN) all-in on the non-232, "
          "non-exempt goods of JPN, EU, KOR, pp"),
    Layer("s301_jpn_autos", "hypothetical Section 301 on Japanese cars and parts: 25% + MFN "
          "(the Apr-Sep 2025 level) instead of max(15%, MFN), pp"),
)

#: The layers each scenario file adds, block by block in the file's order.
SCENARIO_LAYERS: dict[str, tuple[str, ...]] = {
    "landscape_2026_s232_only": ("s232_pre_april",),
    "landscape_2026_s232_s122_10": ("s232_s122_window", "s122_10_window"),
    "landscape_2026_s232_s122_15": ("s232_s122_window", "s122_15_window"),
    "branch_2026h2_mfn_s232": ("s232_post_april",),
    "branch_2026h2_s122_10": ("s232_post_april", "s122_10_post_april"),
    "branch_2026h2_deals_s301": ("s232_post_april", "s301_deals"),
    "branch_2026h2_autos_s301": ("s232_post_april", "s301_jpn_autos"),
}

COLUMNS = ["layer", "importer", "exporter", "commodity", "add_pct", "imports_bn", "note"]
#: Decimals of ``add_pct`` in the table (the scenario files use 2).
DECIMALS = 6


# --------------------------------------------------------------------------------------------
# HTS prefix matching
# --------------------------------------------------------------------------------------------
def _clean(prefixes) -> set[str]:
    return {str(p).strip() for p in prefixes if str(p).strip()}


def prefix_match(hs10: pd.Series, prefixes) -> pd.Series:
    """True where an HS10 code starts with one of ``prefixes`` (HTS headings of any length)."""
    codes = _clean(prefixes)
    out = pd.Series(False, index=hs10.index)
    for n in sorted({len(p) for p in codes}):
        out |= hs10.str[:n].isin({p for p in codes if len(p) == n})
    return out


def prefix_value(hs10: pd.Series, mapping: dict[str, object]) -> pd.Series:
    """The value of the longest prefix of ``mapping`` that each HS10 code starts with (NaN if
    none)."""
    mapping = {str(p).strip(): v for p, v in mapping.items() if str(p).strip()}
    out = pd.Series(np.nan, index=hs10.index, dtype=object)
    for n in sorted({len(p) for p in mapping}):
        found = hs10.str[:n].map({p: v for p, v in mapping.items() if len(p) == n})
        out = found.where(found.notna(), out)
    return out


# --------------------------------------------------------------------------------------------
# Raw inputs
# --------------------------------------------------------------------------------------------
def read_usmca_h2_2025() -> pd.DataFrame:
    """USMCA-claimed share of H2 2025 imports by ``hs10, cty_code``: summed usmca value over
    summed total value of the six monthly files (0 where the total is 0), clipped to [0, 1]."""
    months = [pd.read_csv(locate(f"usmca_product_shares_{m}"), dtype={"hts10": str,
                                                                     "cty_code": str})
              for m in USMCA_MONTHS]
    g = pd.concat(months).groupby(["hts10", "cty_code"])[["total_value", "usmca_value"]].sum()
    share = (g.usmca_value / g.total_value.replace(0, np.nan)).fillna(0.0).clip(0.0, 1.0)
    out = share.rename("usmca_share").reset_index()
    out["hs10"] = out.hts10.str.zfill(10)
    return out[["hs10", "cty_code", "usmca_share"]]


def read_flows() -> pd.DataFrame:
    """2024 US import flows by HS10 x Census country (the USA itself left out): ``hs10,
    cty_code, region, commodity, imports`` (US$), ``usmca_share`` (H2 2025, CAN and MEX only),
    ``mfn`` (% of the HS8 column-1 rate; 0 for KORUS partners)."""
    w = read_import_weights().copy()
    w["hs10"] = w.hs10.astype(str).str.zfill(10)
    w["cty_code"] = w.cty_code.astype(str)
    w["commodity"] = w.gtap_code.str.lower().map(gtap_commodity_map())
    w["region"] = w.cty_code.map(census_region_map())
    w = w[w.region != "USA"]
    w = w.merge(read_usmca_h2_2025(), on=["hs10", "cty_code"], how="left", validate="one_to_one")
    w["usmca_share"] = w.usmca_share.fillna(0.0).where(w.region.isin(USMCA_PARTNERS), 0.0)
    mfn = us_tariffs.read_mfn().set_index("hs8").mfn * 100.0
    w["mfn"] = w.hs10.str[:8].map(mfn).fillna(0.0).where(~w.region.isin(ZERO_MFN_PARTNERS), 0.0)
    return w[["hs10", "cty_code", "region", "commodity", "imports", "usmca_share", "mfn"]] \
        .reset_index(drop=True)


def _list(key: str, column: str | None = None) -> list[str]:
    path = locate(key)
    if column is None:
        return path.read_text().split()
    return pd.read_csv(path, dtype=str)[column].str.strip().tolist()


def read_annex_pct() -> dict[str, float]:
    """HTS prefix -> Section 232 rate (%) of the 2 Apr 2026 metal annexes (:data:`ANNEX_PCT`)."""
    a = pd.read_csv(locate("s232_annex_products"), dtype=str)
    a = a[a.annex.isin(list(ANNEX_PCT))]
    return {p.strip(): ANNEX_PCT[x] for p, x in zip(a.hts_prefix, a.annex, strict=True)}


def read_s122_exempt() -> list[str]:
    """HTS8 lines exempt from Section 122 (``s122_exempt_products``)."""
    return [p.zfill(8) for p in _list("s122_exempt_products", "hts8")]


def read_metal_content(hs10: pd.Series) -> pd.DataFrame:
    """Steel, aluminium and copper shares of each HS10's value (BEA input-output via the
    tracker; 0 for a line not in the file), indexed like ``hs10``."""
    m = pd.read_csv(locate("metal_content_shares_bea_hs10"), dtype={"hs10": str})
    m = m.set_index(m.hs10.str.zfill(10))
    return pd.DataFrame({c: hs10.map(m[f"{c}_share"]).fillna(0.0)
                         for c in ("steel", "aluminum", "copper")})


# --------------------------------------------------------------------------------------------
# Line-level layers
# --------------------------------------------------------------------------------------------
def s232_kind(hs10: pd.Series, annex: pd.Series) -> pd.Series:
    """The Section 232 product kind of each HS10 line (``""`` if none): auto, mhd, bus,
    auto_part, mhd_part, annex (a line of the 2026 metal annexes, ``annex`` its rate or NaN),
    metal_primary (ch. 72, 73, 76), copper, softwood, furniture; precedence as listed."""
    kind = pd.Series("", index=hs10.index)
    kind[prefix_match(hs10, SOFTWOOD)] = "softwood"
    kind[prefix_match(hs10, FURNITURE)] = "furniture"
    kind[prefix_match(hs10, _list("s232_copper_products", "hts10"))] = "copper"
    kind[prefix_match(hs10, METAL_CHAPTERS)] = "metal_primary"
    kind[annex.notna() & kind.isin(["", "metal_primary", "copper"])] = "annex"
    kind[prefix_match(hs10, _list("s232_mhd_parts"))] = "mhd_part"
    kind[prefix_match(hs10, _list("s232_auto_parts"))] = "auto_part"
    kind[prefix_match(hs10, AUTOS)] = "auto"
    kind[prefix_match(hs10, MHD_VEHICLES)] = "mhd"
    kind[prefix_match(hs10, BUSES)] = "bus"
    return kind


def s232_post_april(flows: pd.DataFrame, kind: pd.Series, annex: pd.Series) -> pd.Series:
    """Section 232 rate (%) of each flow from 6 Apr 2026 (rules in the module docstring)."""
    rate = pd.Series(0.0, index=flows.index)
    rate[kind == "annex"] = annex[kind == "annex"].astype(float)
    rate[kind.isin(["metal_primary", "copper"])] = S232_METAL_PCT
    rate[kind == "softwood"] = S232_SOFTWOOD_PCT
    rate[kind == "furniture"] = S232_FURNITURE_PCT
    rate[kind.isin(["auto", "auto_part"])] = S232_AUTO_PCT
    rate[kind.isin(["mhd", "mhd_part"])] = S232_MHD_PCT
    rate[kind == "bus"] = S232_BUS_PCT
    cap = flows.region.isin(DEAL_PARTNERS) & kind.isin(CAPPED_KINDS)
    rate[cap] = (DEAL_ALL_IN_PCT - flows.mfn[cap]).clip(lower=0.0)
    usmca = flows.region.isin(USMCA_PARTNERS)
    vehicle = usmca & (kind == "auto")
    rate[vehicle] *= 1.0 - flows.usmca_share[vehicle] * USMCA_US_CONTENT
    exempt_if_qualifying = usmca & kind.isin(["auto_part", "mhd", "mhd_part"])
    rate[exempt_if_qualifying] *= 1.0 - flows.usmca_share[exempt_if_qualifying]
    return rate


def metal_content_pre_april(flows: pd.DataFrame, kind: pd.Series) -> pd.Series:
    """Share of each flow's value that paid the 50 % metals duty before 6 Apr 2026: 1 for
    ch. 72/73/76, the steel (aluminium) share for a steel (aluminium) derivative in force on
    20 Feb 2026, the copper share for the copper list (1 for ch. 74), the larger of the two;
    0 for the heading products (:data:`HEADING_KINDS`)."""
    hs10 = flows.hs10
    content = read_metal_content(hs10)
    der = pd.read_csv(locate("s232_derivative_products"), dtype=str)
    der = der[der.effective_date.fillna("") <= PRE_APRIL_LIST_DATE]
    steel = prefix_match(hs10, der.hts_prefix[der.derivative_type == "steel"])
    alu = prefix_match(hs10, der.hts_prefix[der.derivative_type == "aluminum"])
    copper_list = prefix_match(hs10, _list("s232_copper_products", "hts10"))
    derivative = (content.steel.where(steel, 0.0) + content.aluminum.where(alu, 0.0)).clip(0, 1)
    derivative = derivative.where(~prefix_match(hs10, METAL_CHAPTERS), 1.0)
    copper = pd.Series(np.where(hs10.str[:2] == "74", 1.0, content.copper),
                       index=hs10.index).where(copper_list, 0.0)
    return np.maximum(derivative, copper).where(~kind.isin(HEADING_KINDS), 0.0)


def line_layers() -> pd.DataFrame:
    """Every 2024 flow with its rates under each regime (% of customs value): ``s232_post``,
    ``s232_pre``; the shares of its value that pay Section 122 (``s122_post``, ``s122_pre``);
    ``s301_deals``, ``s301_jpn_autos`` (%); ``kind`` and ``s122_exempt``."""
    w = read_flows()
    h = w.hs10
    annex = prefix_value(h, read_annex_pct())
    kind = s232_kind(h, annex)
    heading = kind.isin(HEADING_KINDS)
    exempt = prefix_match(h.str[:8], read_s122_exempt())
    post = s232_post_april(w, kind, annex)
    content = metal_content_pre_april(w, kind)
    qualifying = 1.0 - w.usmca_share
    w["kind"], w["s122_exempt"] = kind, exempt
    w["s232_post"] = post
    w["s232_pre"] = post.where(heading, S232_METAL_PCT * content)
    w["s122_post"] = ((post <= 0) & ~exempt) * qualifying
    w["s122_pre"] = (~exempt & ~heading) * (1.0 - content) * qualifying
    deal = w.region.isin(DEAL_PARTNERS)
    w["s301_deals"] = (((post <= 0) & ~exempt & deal)
                       * (DEAL_ALL_IN_PCT - w.mfn).clip(lower=0.0))
    japan = (w.region == "JPN") & kind.isin(["auto", "auto_part"])
    w["s301_jpn_autos"] = ((JPN_AUTOS_S301_PCT + w.mfn)
                           - np.maximum(DEAL_ALL_IN_PCT, w.mfn)).where(japan, 0.0)
    return w


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------
LINE_COLUMNS: tuple[str, ...] = ("s232_post", "s232_pre", "s122_post", "s122_pre",
                                 "s301_deals", "s301_jpn_autos")


def cell_means(lines: pd.DataFrame) -> pd.DataFrame:
    """2024-import-weighted means of :data:`LINE_COLUMNS` by ``(exporter, commodity)`` (duty
    over imports), with ``imports_bn``."""
    keys = [lines.region.rename("exporter"), lines.commodity]
    v = lines.imports
    num = lines[list(LINE_COLUMNS)].mul(v, axis=0).groupby(keys).sum()
    den = v.groupby(keys).sum()
    out = num.div(den, axis=0)
    out["imports_bn"] = den / 1e9
    return out


def base_s232_pct() -> pd.Series:
    """The 2018 Section 232 component (pp) of each 2024 cell of the base, by
    ``(exporter, commodity)``, rounded to 4 decimals as in ``us_tariffs_2024.csv``."""
    agg = us_tariffs.aggregate(us_tariffs.line_rates()).set_index(["exporter", "commodity"])
    return agg.s232.round(4)


def layer_values(cells: pd.DataFrame, base: pd.Series) -> dict[str, pd.Series]:
    """Each layer of :data:`LAYERS` (pp) by ``(exporter, commodity)``."""
    base = base.reindex(cells.index).fillna(0.0)
    pre = cells.s232_pre - base.where(cells.s232_pre > 0, 0.0)
    post = cells.s232_post - base.where(cells.s232_post > 0, 0.0)
    p, q = PRE_APRIL_WEIGHT, POST_APRIL_WEIGHT
    return {
        "s232_pre_april": pre,
        "s232_post_april": post,
        "s232_s122_window": p * pre + q * post,
        "s122_10_window": p * (S122_PCT * cells.s122_pre) + q * (S122_PCT * cells.s122_post),
        "s122_15_window": p * (S122_ANNOUNCED_PCT * cells.s122_pre)
        + q * (S122_ANNOUNCED_PCT * cells.s122_post),
        "s122_10_post_april": S122_PCT * cells.s122_post,
        "s301_deals": cells.s301_deals,
        "s301_jpn_autos": cells.s301_jpn_autos,
    }


def _notes(cells: pd.DataFrame, base: pd.Series) -> dict[str, pd.Series]:
    base = base.reindex(cells.index).fillna(0.0)

    def s232(col: str) -> pd.Series:
        return pd.Series([f"gross {g:.4f} less the 2018 Section 232 of the base {b:.4f}"
                          if g > 0 else "no Section 232 line" for g, b in
                          zip(cells[col], base, strict=True)], index=cells.index)

    share = pd.Series([f"share of the cell's imports paying Section 122: {a:.4f} before, "
                       f"{b:.4f} from 6 Apr 2026" for a, b in
                       zip(cells.s122_pre, cells.s122_post, strict=True)], index=cells.index)
    return {"s232_pre_april": s232("s232_pre"), "s232_post_april": s232("s232_post"),
            "s232_s122_window": s232("s232_pre") + " (pre-April); " + s232("s232_post")
            + " (from 6 Apr)", "s122_10_window": share, "s122_15_window": share,
            "s122_10_post_april": share}


def layer_table(lines: pd.DataFrame | None = None, base: pd.Series | None = None
                ) -> pd.DataFrame:
    """The rows of ``us_layers_2026.csv`` (columns :data:`COLUMNS`): every layer of
    :data:`LAYERS` for every (exporter, commodity) cell with 2024 US imports, sorted by layer
    (in :data:`LAYERS` order), exporter, commodity."""
    lines = line_layers() if lines is None else lines
    base = base_s232_pct() if base is None else base
    cells = cell_means(lines)
    values, notes = layer_values(cells, base), _notes(cells, base)
    rows = []
    for layer in LAYERS:
        for (exporter, commodity), value in values[layer.name].items():
            note = layer.description
            if layer.name in notes:
                note += "; " + notes[layer.name][(exporter, commodity)]
            rows.append((layer.name, "USA", exporter, commodity,
                         round(float(value), DECIMALS) + 0.0,
                         round(float(cells.imports_bn[(exporter, commodity)]), 6), note))
    out = pd.DataFrame(rows, columns=COLUMNS)
    order = {layer.name: i for i, layer in enumerate(LAYERS)}
    return out.sort_values(["layer", "exporter", "commodity"], key=lambda s: s.map(order)
                           if s.name == "layer" else s, kind="mergesort", ignore_index=True)


def build_us_layers_2026(out_dir: str | Path | None = None) -> Path:
    """Write ``us_layers_2026.csv`` to ``out_dir`` (default ``data/policy``) from the raw files
    and return its path. Byte-identical on every run (sorted rows, ``add_pct`` rounded to
    :data:`DECIMALS`, numbers by :func:`cge.data.benchmark.write_csv`). Raises
    :class:`cge.databuild.raw.RawFileMissing` when a raw file is absent."""
    out = POLICY_DIR if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / OUT_FILE
    write_csv(layer_table(), path)
    return path
