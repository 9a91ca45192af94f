"""The 2024 US tariff regime by model commodity and exporter, from HS10 x country data.

What is computed
----------------
For every 2024 US import flow of an HS10 line from a Census country (``us_import_weights_2024``,
customs value in US$, US Census Bureau data via The Budget Lab at Yale), the ad-valorem duty rate
(fraction of the customs value, i.e. of the import at world prices) in force in 2024 is the sum
of four components:

``mfn``
    The column-1 general (MFN) rate of the HS8 line (``mfn_rates_2025``, 2025 Basic HTS: the
    column-1 rates of 2024 and 2025 differ on a handful of lines only). Ad-valorem rates as
    given; the ad-valorem part of compound rates as given; **specific duties** (and the specific
    part of compound ones) get an ad-valorem equivalent (AVE) only for the petroleum lines
    priced per barrel (chapter 27, ``¢/bbl``): duty per barrel over an assumed 2024 price
    (:data:`OIL_PRICE_USD_BBL`). All other specific duties count as 0 — the weights file has no
    quantities, so no unit value exists to convert them (``assumption``; the import value concerned
    is in :func:`specific_duty_exposure`: US$ 95 bn or 3.0 % of 2024 imports outside
    petroleum, of which US$ 19 bn compound lines keep their ad-valorem part; an AVE of 3 % on
    the specific lines would add about 0.08 pp to the US average). The plurilateral zero-duty
    programmes of the Special column that apply to goods of *every* column-1 country — ``C``
    (Agreement on Trade in Civil Aircraft), ``K`` (pharmaceuticals), ``L`` (dye intermediates) —
    are part of the applied MFN rate, assuming full use (``C`` requires civil-aircraft end use).
    Russia, Belarus, Cuba and North Korea pay the column-2 rate (ad-valorem part).
``fta`` (<= 0)
    The preference of the exporter's FTA, from the Special column of ``hts_2025_basic``:
    USMCA (``S``/``S+``) for Canada and Mexico on the USMCA-claimed share of each HS10 x country
    (``usmca_product_shares_2024``), the rest at MFN; KORUS (``KR``); US-Japan Trade Agreement
    2020 (``JP``); and for ROW partners Australia ``AU``, Chile ``CL``, Singapore ``SG``, Israel
    ``IL``, Colombia ``CO``, Peru ``PE``, Panama ``PA``, CAFTA-DR ``P``/``P+``, Morocco ``MA``,
    Bahrain ``BH``, Oman ``OM``, Jordan ``JO``. Non-USMCA FTAs are assumed **fully used**
    (``assumption``: no utilisation data are in the raw files). A special rate given as "See
    9822..." (TRQ lines) or that cannot be parsed gives no preference. GSP (``A``, ``A*``,
    ``A+``) lapsed on 1 January 2021 and is not applied; AGOA ``D``, CBERA ``E``, CBTPA ``R`` and
    Nepal ``NP`` were in force in 2024 but are **not** applied (eligibility lists not in the raw
    files; they concern small ROW flows — overstates the ROW rate slightly).
``s301``
    Section 301 on products of China (Census code 5700; not Hong Kong or Macau): Lists 1, 2, 3
    (and 3 additional) 25 %, List 4A 7.5 %, List 4B suspended (0) (``s301_product_lists``). The
    four-year-review increases of 9903.91.01/.02/.03 (25/50/100 %: EVs, batteries, critical
    minerals, steel and aluminium, solar cells, syringes ...) replace the earlier rate of
    a line from 27 September 2024, weighted by the share of 2024's days they were in force
    (96/366, flows assumed even through the year); the increases of 1 January 2025 and 2026 are
    left out. The list file is a 2025-26 version that gives some lines only their review heading;
    their pre-review rate comes from the USTR final determination (:data:`S301_PRE_REVIEW_PCT`,
    :data:`S301_REVIEW_HS10_PCT`). Ship-to-shore cranes (0 -> 25 % in Sep 2024; the file's
    ``cranes_301`` heading is a 2025 action) are left at 0 (US$ 0.16 bn of imports). Product
    exclusions (about 178 extended exclusions in 2024) are **ignored** (``assumption``;
    overstates: the s301 duty computed, US$ 43 bn, exceeds CBP's FY2024 Section 301
    collections of US$ 38.2 bn).
``s232``
    Section 232 steel 25 % and aluminium 10 % (Proclamations 9705 and 9704 of March 2018; the
    derivatives of Proclamation 9980, February 2020). The raw product lists are the 2025-26
    versions, so the **2024 coverage is rebuilt here** from the 2018-20 proclamations
    (:func:`s232_metal`; ``assumption`` that it is complete): steel HTS 7206.10-7216.50,
    7216.99-7301.10, 7302.10, 7302.40-7302.90, 7304.10-7306.90 and the derivatives 7317.00.30,
    7317.00.55, 7317.00.65 (nails, tacks, staples), 8708.10.30 and 8708.29.21 (bumper and body
    stampings; taken as steel at 25 %); aluminium 7601, 7604-7609, 7616.99.51.60/.70 and the
    derivatives 7614.10.50, 7614.90.20/.40/.50. Country treatment in 2024: Canada, Mexico and
    Australia exempt; Korea, Brazil and Argentina steel under absolute quotas (no duty within
    the quota, over-quota entry barred: 0); Argentina aluminium under a quota (0); Ukraine steel
    suspended since June 2022 (0); Russia aluminium 200 % from 10 March 2023; the EU (steel and
    aluminium, from 2022), Japan (steel, from April 2022) and the UK (steel and aluminium, from
    June 2022) under tariff-rate quotas: an in-quota share of :data:`TRQ_IN_QUOTA_SHARE` enters
    free (``assumption``: quota fill data are not in the raw files; the quotas were set near the
    partners' historical volumes and CBP reported several categories filled in each period),
    their derivatives exempt. Product exclusions granted to US importers are **ignored**
    (overstates). Exemption sets apply to derivatives too.

Aggregation and output
----------------------
Flows are mapped to model commodities through the GTAP sector of the weights file
(``data/maps/gtap_sectors.toml``) and to model regions by Census country code
(:func:`cge.databuild.census.census_region_map`: EU27 incl. Croatia -> EU, the UK and all
others -> ROW). The rate of a (commodity, exporter) cell is duty / imports at world prices
over its flows, and so are its components (percentage points, summing to the rate).
:func:`build_us_tariff_tables` writes
``data/policy/us_tariffs_2024.csv`` (the full 2024 regime) and ``us_tariffs_2024_mfn_only.csv``
(MFN + FTA only: the pre-2018 regime), both in the ``base_tariffs.csv`` format
(``importer=USA``), sorted, through :func:`cge.data.benchmark.write_csv`.
:func:`cge.databuild.policy.load_base_tariffs` lets the first replace the US rows of
``base_tariffs.csv``.

The check against duties collected (:func:`us_average_rate`): duty / imports over all goods
imports of the weights file. Richmond Fed Economic Brief 25-15 (2025): "moving up from a
benchmark of 2.3 percent" (AETR of 2024 from detailed Census trade data,
https://econpapers.repec.org/article/fipfedreb/99853.htm; Economic Brief 25-12 gives 2.2 %);
Treasury customs duties FY2024 US$ 77.0 bn (USAFacts/CRS via
https://factually.co/fact-checks/finance/us-tariff-revenue-fiscal-year-2024-amount-allocation-b770d6),
which also hold anti-dumping/countervailing and safeguard duties left out here.
Result (2024 weights, US$ 3,124 bn of goods imports): 2.61 % (US$ 81.6 bn: MFN 62.4, FTA
-26.6, s301 43.2, s232 2.6), against 77.0 / 3,124 = 2.47 % (0.15 pp above) and the Richmond
Fed's 2.3 % (0.31 pp above; Section 301 exclusions ignored, the 301 duty computed exceeds CBP's
FY2024 collections of US$ 38.2 bn by US$ 5 bn, about 0.16 pp). MFN + FTA alone (the pre-2018
regime): 1.15 %.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cge.data.benchmark import write_csv
from cge.databuild.census import census_region_map, gtap_commodity_map
from cge.databuild.raw import RAW_FILES, locate
from cge.paths import ROOT

POLICY_DIR = ROOT / "data" / "policy"
US_TARIFFS_FILE = "us_tariffs_2024.csv"
US_TARIFFS_MFN_ONLY_FILE = "us_tariffs_2024_mfn_only.csv"
GTAP_MAP = ROOT / "data" / "maps" / "gtap_sectors.toml"

#: Raw files read (keys of :data:`cge.databuild.raw.RAW_FILES`).
RAW_KEYS: tuple[str, ...] = ("us_import_weights_2024", "mfn_rates_2025", "hts_2025_basic",
                             "s301_product_lists", "usmca_product_shares_2024")

#: Assumed 2024 prices (US$ per barrel) for the AVE of the per-barrel duties of chapter 27:
#: crude (2709) about the 2024 average of US crude import prices (Brent averaged about US$ 80,
#: WTI about 77; imports are heavier and cheaper); products (2710) a little above crude.
OIL_PRICE_USD_BBL: dict[str, float] = {"2709": 72.0, "2710": 90.0}
#: Share of Section 232 steel/aluminium imports from TRQ partners (EU, JPN, UK) that enters
#: within the quota (duty-free). Assumption, not sourced (see the module docstring).
TRQ_IN_QUOTA_SHARE = 0.8
#: Fraction of 2024 in which the Section 301 four-year-review increases were in force
#: (27 September - 31 December 2024: 96 of 366 days).
S301_REVIEW_SHARE_2024 = 96 / 366

S232_STEEL_PCT = 25.0
S232_ALUMINIUM_PCT = 10.0
S232_RUSSIA_ALUMINIUM_PCT = 200.0
S301_LIST_PCT: dict[str, float] = {"1": 25.0, "2": 25.0, "3": 25.0, "3_addl": 25.0,
                                   "4A": 7.5, "4B": 0.0}
#: Four-year-review headings in force from 27 September 2024 and their rates (%).
S301_REVIEW_PCT: dict[str, float] = {"9903.91.01": 25.0, "9903.91.02": 50.0,
                                     "9903.91.03": 100.0}
#: Lists of ``s301_product_lists`` in force before the review (4B was suspended).
S301_PRE_REVIEW_LISTS: frozenset[str] = frozenset({"1", "2", "3", "3_addl", "4A"})
#: Pre-review Section 301 rate (%) of the lines that the (2025-26) list file gives only a review
#: heading, by HS prefix: the "previous Section 301 tariff rate" of the USTR final
#: determination of 13 Sep 2024 (table quoted at
#: https://zh.wenxuecity.com/bbs/currentevent/3533175.html; USTR press release of 14 May 2024,
#: https://ustr.gov/about-us/policy-offices/press-office/press-releases/2024/may/us-trade-representative-katherine-tai-take-further-action-china-tariffs-after-releasing-statutory):
#: EVs 25, solar cells 25, semiconductors 25 (and polysilicon 2804.61, wafers 3818), lithium-ion
#: batteries 7.5, battery parts 7.5, rubber gloves 7.5. Others (steel and aluminium without a
#: List 4A entry, critical minerals, syringes, magnets, graphite, tungsten) had 0.
S301_PRE_REVIEW_PCT: dict[str, float] = {
    "8702": 25.0, "8703": 25.0, "8541": 25.0, "8542": 25.0, "280461": 25.0, "3818": 25.0,
    "850760": 7.5, "850790": 7.5, "4015": 7.5}
#: HS10 lines raised from 27 Sep 2024 that the list file holds at HS8 with a later date:
#: lithium-ion EV batteries 8507.60.00.10 (7.5 -> 25 %; the non-EV ones wait until 2026).
S301_REVIEW_HS10_PCT: dict[str, float] = {"8507600010": 25.0}

# Census country codes (census_codes.csv).
CHINA, CANADA, MEXICO, JAPAN, KOREA = "5700", "1220", "2010", "5880", "5800"
AUSTRALIA, BRAZIL, ARGENTINA, UKRAINE, RUSSIA, UK = "6021", "3510", "3570", "4623", "4621", "4120"
#: Column-2 countries (no normal trade relations in 2024): Cuba, Russia, Belarus, North Korea.
COLUMN2: frozenset[str] = frozenset({"2390", "4621", "4622", "5790"})
#: Special-column programme codes of the FTAs applied, by Census country code.
FTA_PROGRAMS: dict[str, tuple[str, ...]] = {
    KOREA: ("KR",), JAPAN: ("JP",), AUSTRALIA: ("AU",), "3370": ("CL",), "5590": ("SG",),
    "5081": ("IL",), "3010": ("CO",), "3330": ("PE",), "2250": ("PA",), "7140": ("MA",),
    "5250": ("BH",), "5230": ("OM",), "5110": ("JO",),
    # CAFTA-DR: Guatemala, El Salvador, Honduras, Nicaragua, Costa Rica, Dominican Republic
    **{c: ("P", "P+") for c in ("2050", "2110", "2150", "2190", "2230", "2470")},
}
USMCA_PROGRAMS: tuple[str, ...] = ("S", "S+")
#: Programmes open to goods of every column-1 country (counted in the MFN component).
MFN_BASIS_PROGRAMS: tuple[str, ...] = ("C", "K", "L")

#: Section 232 exemptions in 2024 (Census codes), by metal; derivatives follow the same sets.
S232_EXEMPT: dict[str, frozenset[str]] = {
    "steel": frozenset({CANADA, MEXICO, AUSTRALIA, KOREA, BRAZIL, ARGENTINA, UKRAINE}),
    "aluminium": frozenset({CANADA, MEXICO, AUSTRALIA, ARGENTINA}),
}
#: Section 232 tariff-rate quotas in 2024, besides the EU's (every EU member): Japan, the UK.
S232_TRQ: frozenset[str] = frozenset({JAPAN, UK})

REGIONS: tuple[str, ...] = ("USA", "JPN", "EU", "KOR", "CHN", "CAN", "MEX", "ROW")
COMMODITIES: tuple[str, ...] = ("agri_food", "energy", "chemicals", "metals", "motor_vehicles",
                                "other_transport", "electronics", "machinery", "other_mfg",
                                "public_admin", "services")
NON_GOODS: tuple[str, ...] = ("public_admin", "services")
COMPONENTS: tuple[str, ...] = ("mfn", "fta", "s301", "s232")


# --------------------------------------------------------------------------------------------
# Rate parsing
# --------------------------------------------------------------------------------------------
_PCT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_PROGRAM_GROUP = re.compile(r"([^()]*?)\s*\(([^)]*)\)")


def ad_valorem_part(text: str) -> float | None:
    """Ad-valorem part of a rate text as a fraction: ``Free`` -> 0, ``"4.5%"`` -> 0.045,
    ``"8.8¢/kg + 20%"`` -> 0.2, a purely specific rate -> 0; ``None`` for a rate given by
    reference ("See 9822...", "The duty provided in ...") or an empty text."""
    text = text.strip()
    if not text or text.lower().startswith(("see", "the ", "no change")):
        return None
    if text.lower().startswith("free"):
        return 0.0
    found = _PCT.findall(text)
    if found:
        return float(found[0]) / 100.0
    if re.search(r"[¢$]", text):
        return 0.0
    return None


def parse_special(text: str) -> dict[str, float | None]:
    """Special-column text -> ``{programme code: ad-valorem part (fraction) or None}``.

    ``"Free (AU,KR,S) 1.2% (JP)"`` -> ``{"AU": 0, "KR": 0, "S": 0, "JP": 0.012}``."""
    out: dict[str, float | None] = {}
    for rate, codes in _PROGRAM_GROUP.findall(text):
        value = ad_valorem_part(rate)
        for code in codes.split(","):
            code = code.strip()
            if re.fullmatch(r"[A-Z]{1,2}[+*]?", code):
                out[code] = value
    return out


def per_barrel_ave(hs8: str, raw: str) -> float:
    """AVE (fraction) of a per-barrel duty of chapter 27 at :data:`OIL_PRICE_USD_BBL`; 0 if the
    rate is not per barrel."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)¢/bbl\s*", raw)
    price = OIL_PRICE_USD_BBL.get(hs8[:4])
    if not m or price is None:
        return 0.0
    return float(m.group(1)) / 100.0 / price


# --------------------------------------------------------------------------------------------
# Raw inputs
# --------------------------------------------------------------------------------------------
def read_weights() -> pd.DataFrame:
    """2024 US imports: ``hs10, gtap_code, cty_code, imports`` (US$, customs value)."""
    import pyreadr

    frame = next(iter(pyreadr.read_r(str(locate("us_import_weights_2024"))).values()))
    frame = pd.DataFrame({"hs10": frame["hs10"].astype(str), "gtap": frame["gtap_code"]
                          .astype(str).str.lower(), "cty": frame["cty_code"].astype(str),
                          "imports": frame["imports"].astype(float)})
    return frame[frame.imports > 0].reset_index(drop=True)


def read_mfn() -> pd.DataFrame:
    """HS8 column-1 rates: ``hs8, mfn`` (ad-valorem part + per-barrel AVE, fraction),
    ``rate_type``, ``rate_raw``."""
    m = pd.read_csv(locate("mfn_rates_2025"), dtype=str, keep_default_na=False)
    m["mfn"] = pd.to_numeric(m.mfn_rate, errors="coerce").fillna(0.0)
    m["mfn"] += [per_barrel_ave(h, r) for h, r in zip(m.hs8, m.rate_raw, strict=True)]
    return m[["hs8", "mfn", "rate_type", "rate_raw"]].drop_duplicates("hs8")


def read_hts() -> pd.DataFrame:
    """HTS lines of chapters 01-97 carrying a general rate: ``key`` (8 or 10 digits),
    ``special`` (text), ``col2`` (ad-valorem part of the column-2 rate, fraction or NaN)."""
    h = pd.read_csv(locate("hts_2025_basic"), dtype=str, keep_default_na=False,
                    encoding="utf-8-sig")
    h.columns = [c.strip() for c in h.columns]
    key = h["HTS Number"].str.replace(".", "", regex=False)
    keep = (h["General Rate of Duty"] != "") & key.str.len().isin([8, 10]) & (key.str[:2] < "98")
    h = h[keep]
    out = pd.DataFrame({"key": key[keep], "special": h["Special Rate of Duty"],
                        "col2": [ad_valorem_part(t) for t in h["Column 2 Rate of Duty"]]})
    out["col2"] = out.col2.astype(float)
    return out.drop_duplicates("key").reset_index(drop=True)


def read_s301() -> pd.DataFrame:
    """HS8 -> Section 301 rate before (``base``) and from 27 Sep 2024 (``review``), fractions."""
    s = pd.read_csv(locate("s301_product_lists"), dtype=str, keep_default_na=False)
    s["base"] = s["list"].map(S301_LIST_PCT).fillna(0.0) / 100.0
    s["review"] = s["ch99_code"].map(S301_REVIEW_PCT).fillna(0.0) / 100.0
    s["pre"] = s["list"].isin(S301_PRE_REVIEW_LISTS)
    g = s.groupby("hts8").agg(base=("base", "max"), review=("review", "max"), pre=("pre", "any"))
    for hs8 in g.index[~g.pre]:
        for n in (8, 6, 4):
            if hs8[:n] in S301_PRE_REVIEW_PCT:
                g.loc[hs8, "base"] = S301_PRE_REVIEW_PCT[hs8[:n]] / 100.0
                break
    g["review"] = np.maximum(g.review, g.base)
    return g[["base", "review"]].reset_index().rename(columns={"hts8": "hs8"})


def read_usmca() -> pd.DataFrame:
    """USMCA-claimed share of 2024 imports by ``hs10, cty`` (fraction)."""
    u = pd.read_csv(locate("usmca_product_shares_2024"), dtype=str, keep_default_na=False)
    return pd.DataFrame({"hs10": u.hts10, "cty": u.cty_code,
                         "usmca_share": pd.to_numeric(u.usmca_share).clip(0, 1)})


def s232_metal(hs10: pd.Series) -> pd.Series:
    """2024 Section 232 coverage of each HS10 line: ``"steel"``, ``"aluminium"`` or ``""``
    (2018 base products and 2020 derivatives; ranges in the module docstring)."""
    h6, h8 = hs10.str[:6], hs10.str[:8]
    steel = (((h6 >= "720610") & (h6 <= "721650")) | ((h6 >= "721699") & (h6 <= "730110"))
             | (h6 == "730210") | ((h6 >= "730240") & (h6 <= "730290"))
             | ((h6 >= "730410") & (h6 <= "730690"))
             | h8.isin(["73170030", "73170055", "73170065", "87081030", "87082921"]))
    alu = (hs10.str[:4].isin(["7601", "7604", "7605", "7606", "7607", "7608", "7609"])
           | hs10.isin(["7616995160", "7616995170"])
           | h8.isin(["76141050", "76149020", "76149040", "76149050"]))
    derivative = h8.isin(["73170030", "73170055", "73170065", "87081030", "87082921",
                          "76141050", "76149020", "76149040", "76149050"])
    out = pd.Series("", index=hs10.index)
    out[alu] = "aluminium"
    out[steel] = "steel"
    return out.where(~derivative, out + "_derivative")


# --------------------------------------------------------------------------------------------
# Line-level rates
# --------------------------------------------------------------------------------------------
def line_rates() -> pd.DataFrame:
    """Every 2024 HS10 x country flow with its rate components (fractions of customs value).

    Columns: ``hs10, cty, region, commodity, imports`` (US$) and ``mfn, fta, s301, s232`` and
    ``rate`` (their sum); ``rate_type`` of the MFN line; ``metal`` (Section 232 coverage).
    """
    w = read_weights()
    w["hs8"] = w.hs10.str[:8]
    w["region"] = w.cty.map(census_region_map())
    w["commodity"] = w.gtap.map(gtap_commodity_map())
    if w.commodity.isna().any():
        unknown = sorted(set(w.gtap[w.commodity.isna()]))
        raise ValueError(f"GTAP codes without a commodity in {GTAP_MAP}: {unknown}")
    w = w.merge(read_mfn(), on="hs8", how="left", validate="many_to_one")
    w = w.merge(read_usmca(), on=["hs10", "cty"], how="left", validate="one_to_one")
    w["usmca_share"] = w.usmca_share.fillna(0.0)
    w["mfn"] = w.mfn.fillna(0.0)
    w["rate_type"] = w.rate_type.fillna("unmatched")
    hts = read_hts().set_index("key")
    special = hts.special.to_dict()
    col2 = hts.col2.to_dict()
    w["special"] = [special.get(a, special.get(b, "")) for a, b in zip(w.hs10, w.hs8, strict=True)]
    parsed = {s: parse_special(s) for s in set(w.special)}

    # MFN component: general rate less the MFN-basis programmes (C, K, L), or column 2.
    def mfn_basis(spec: str, mfn: float) -> float:
        rates = [parsed[spec].get(p) for p in MFN_BASIS_PROGRAMS]
        rates = [r for r in rates if r is not None]
        return min([mfn, *rates])

    w["mfn"] = [mfn_basis(s, m) for s, m in zip(w.special, w.mfn, strict=True)]
    c2 = np.array([col2.get(a, col2.get(b, np.nan)) for a, b in zip(w.hs10, w.hs8, strict=True)])
    is_c2 = w.cty.isin(COLUMN2).to_numpy() & np.isfinite(c2)
    w.loc[is_c2, "mfn"] = c2[is_c2]

    # FTA component (<= 0).
    def fta_rate(spec: str, cty: str, mfn: float) -> float:
        progs = FTA_PROGRAMS.get(cty, ())
        rates = [parsed[spec].get(p) for p in progs]
        rates = [r for r in rates if r is not None]
        return min(0.0, min(rates) - mfn) if rates else 0.0

    w["fta"] = [fta_rate(s, c, m) for s, c, m in zip(w.special, w.cty, w.mfn, strict=True)]
    usmca = w.cty.isin([CANADA, MEXICO])
    w.loc[usmca, "fta"] = -w.usmca_share[usmca] * w.mfn[usmca]

    # Section 301 (China).
    s301 = read_s301().set_index("hs8")
    base = w.hs8.map(s301.base).fillna(0.0)
    review = w.hs8.map(s301.review).fillna(0.0)
    review = w.hs10.map(S301_REVIEW_HS10_PCT).div(100.0).fillna(review)
    china = (w.cty == CHINA).astype(float)
    w["s301"] = china * (base + S301_REVIEW_SHARE_2024 * (review - base))

    # Section 232 (steel, aluminium).
    w["metal"] = s232_metal(w.hs10)
    metal = w.metal.str.replace("_derivative", "", regex=False)
    derivative = w.metal.str.endswith("_derivative")
    pct = np.where(metal == "steel", S232_STEEL_PCT,
                   np.where(metal == "aluminium", S232_ALUMINIUM_PCT, 0.0))
    pct = np.where((metal == "aluminium") & (w.cty == RUSSIA), S232_RUSSIA_ALUMINIUM_PCT, pct)
    exempt = (((metal == "steel") & w.cty.isin(S232_EXEMPT["steel"]))
              | ((metal == "aluminium") & w.cty.isin(S232_EXEMPT["aluminium"])))
    trq = ((w.region == "EU") | w.cty.isin(S232_TRQ)) & (metal != "")
    factor = np.where(exempt | (trq & derivative), 0.0,
                      np.where(trq, 1.0 - TRQ_IN_QUOTA_SHARE, 1.0))
    w["s232"] = pct / 100.0 * factor
    w["trq"] = trq & ~derivative
    w["rate"] = w[list(COMPONENTS)].sum(axis=1)
    return w[["hs10", "cty", "region", "commodity", "imports", *COMPONENTS, "rate",
              "rate_type", "metal", "trq", "usmca_share"]]


def specific_duty_exposure(lines: pd.DataFrame) -> dict[str, float]:
    """US$ bn of 2024 imports whose MFN line has a specific or compound duty, with and
    without petroleum (chapter 27, given an AVE), and their share of all imports (%)."""
    spec = lines.rate_type.isin(["specific", "compound"])
    oil = lines.hs10.str[:2] == "27"
    total = lines.imports.sum()
    return {"specific_or_compound_bn": lines.imports[spec].sum() / 1e9,
            "outside_ch27_bn": lines.imports[spec & ~oil].sum() / 1e9,
            "outside_ch27_share_pct": 100 * lines.imports[spec & ~oil].sum() / total}


def aggregate(lines: pd.DataFrame) -> pd.DataFrame:
    """Import-weighted rates by ``(exporter, commodity)``: ``imports`` (US$ bn), components and
    ``rate`` in % (duty / imports at world prices)."""
    duty = lines[[*COMPONENTS, "rate"]].mul(lines.imports, axis=0)
    duty[["exporter", "commodity"]] = lines[["region", "commodity"]]
    duty["imports"] = lines.imports
    g = duty.groupby(["exporter", "commodity"]).sum()
    out = g[[*COMPONENTS, "rate"]].div(g.imports, axis=0) * 100
    out["imports_bn"] = g.imports / 1e9
    out["trq_bn"] = (lines.imports * lines.trq).groupby(
        [lines.region.rename("exporter"), lines.commodity]).sum() / 1e9
    return out.reset_index()


def us_average_rate(lines: pd.DataFrame, *, components: tuple[str, ...] = COMPONENTS) -> float:
    """US average effective rate over all 2024 goods imports (duty / imports, %)."""
    return float(100 * (lines[list(components)].sum(axis=1) * lines.imports).sum()
                 / lines.imports.sum())


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
def _source_url() -> str:
    parts = []
    for key in RAW_KEYS:
        spec = RAW_FILES[key]
        parts.append(f"github.com/{spec.repository}/blob/{spec.commit}/{spec.source_path}")
    return " ; ".join(parts)


def tariff_rows(agg: pd.DataFrame, *, full: bool) -> pd.DataFrame:
    """Rows of the ``base_tariffs.csv`` format (``importer=USA``) for every (exporter,
    commodity) of the model; ``full`` includes Sections 301/232, else MFN + FTA only."""
    comps = COMPONENTS if full else ("mfn", "fta")
    index = agg.set_index(["exporter", "commodity"])
    url = _source_url()
    rows = []
    for exporter in REGIONS:
        if exporter == "USA":
            continue
        for commodity in COMMODITIES:
            if commodity in NON_GOODS:
                rows.append(("USA", exporter, commodity, 0.0, "zero", "2024", "", "-",
                             "assumption", "Services and public administration carry no customs "
                             "duty."))
                continue
            if (exporter, commodity) not in index.index:
                rows.append(("USA", exporter, commodity, 0.0, "zero", "2024", url, "derived",
                             "derived", "No 2024 US imports of this cell in the HS10 data."))
                continue
            r = index.loc[(exporter, commodity)]
            rate = round(float(sum(r[c] for c in comps)), 4)
            split = " / ".join(f"{c.upper()} {float(r[c]):.4f}" for c in comps)
            basis = ("applied" if full and (r["s301"] > 0 or r["s232"] > 0)
                     else "FTA-preferential" if r["fta"] < 0 else "MFN")
            trq = full and float(r["trq_bn"]) > 0
            assumed = (f"Section 232 TRQ (EU/JPN/UK) imports US$ {float(r['trq_bn']):.3f} bn "
                       f"with an assumed in-quota share {TRQ_IN_QUOTA_SHARE}; " if trq else "")
            note = (f"Import-weighted 2024 US applied rate over HS10 x country flows "
                    f"(US$ {float(r['imports_bn']):.3f} bn); components pct: {split}. "
                    f"{assumed}Specific duties outside ch. 27 counted as 0, non-USMCA FTAs "
                    f"fully used, s301 exclusions ignored (cge/databuild/us_tariffs.py).")
            rows.append(("USA", exporter, commodity, rate, basis, "2024", url, "derived",
                         "assumption" if trq else "derived", note))
    frame = pd.DataFrame(rows, columns=["importer", "exporter", "commodity", "rate_pct", "basis",
                                        "year", "source_url", "quality", "status", "note"])
    return frame.sort_values(["importer", "exporter", "commodity"]).reset_index(drop=True)


def build_us_tariff_tables(out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``us_tariffs_2024.csv`` and ``us_tariffs_2024_mfn_only.csv`` to ``out_dir``
    (default ``data/policy``) from the raw files; returns their paths by kind
    (``"full"``, ``"mfn_only"``). Raises :class:`cge.databuild.raw.RawFileMissing` when a raw
    file is absent."""
    out = POLICY_DIR if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    agg = aggregate(line_rates())
    paths = {"full": out / US_TARIFFS_FILE, "mfn_only": out / US_TARIFFS_MFN_ONLY_FILE}
    write_csv(tariff_rows(agg, full=True), paths["full"])
    write_csv(tariff_rows(agg, full=False), paths["mfn_only"])
    return paths
