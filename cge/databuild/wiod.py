"""The default benchmark ``wiod2011``: the WIOD world input-output table for 2011, aggregated.

Source: the World Input-Output Database, 2013 release (Timmer, Dietzenbacher, Los, Stehrer &
de Vries 2015, "An Illustrated User Guide to the World Input-Output Database: the Case of Global
Automotive Production", *Review of International Economics* 23: 575-605), table ``wiot_2011`` as
distributed in R format by the public GitHub repository bquast/wiod (``data/wiot_2011.RData``).
The table has 40 countries plus a residual "RoW", 35 industries (NACE Rev. 1.1) and five
final-demand categories per country; values are US$ million at basic prices, stored as integers.
It carries no value-added, tax or margin rows.

Pipeline: :func:`read_wiot` (labels the table, checks its layout, changes nothing) →
:func:`aggregate_wiot` (mapping file ``data/maps/wiod2011.toml`` → balanced benchmark) →
:func:`build_default` (writes ``data/wiod2011/``; ``python -m cge build-data``).

Economics and every treatment (also written into the data set's ``notes`` and array sources):

1. **Aggregation.** Countries → regions, industries → sectors (one sector, one commodity) and
   final-demand categories → agents, by summation, following the mapping file. Final demand:
   ``CONS_h + CONS_np`` → ``household``, ``CONS_g`` → ``government``, ``GFCF + INVEN`` →
   ``investment``.
2. **Trade.** WIOD records every flow by origin country, so for regions ``s ≠ r``
   ``vxmd[i, s, r]`` is all intermediate plus final purchases by users in ``r`` of commodity ``i``
   made in ``s``; ``vifm``/``vifd`` are the purchases of imported ``i`` by each activity/agent of
   ``r``, summed over sources; ``vdfm``/``vdfd`` the purchases of ``r``'s own output. Trade among
   countries of one region (intra-EU trade) becomes domestic. WIOD has no tariffs, export taxes or
   international margins: ``vtx = vtm = 0`` (base tariffs come in a later issue) and
   ``vxmd`` is valued at basic prices on both sides (fob = cif).
3. **Taxes.** WIOD's national tables have product-tax rows but the world table does not; here net
   product taxes are inside value added, and ``vto = vtfd = 0``. No international transfers:
   ``vtrf = 0``.
4. **Negative investment.** ``INVEN`` (changes in inventories) is often negative. Any aggregated
   investment cell (``GFCF + INVEN`` of commodity ``i`` from source ``s`` bought in ``r``) that is
   negative is set to zero. Output is derived from the rows and value added is the column residual,
   so the clipped amount is added to the output and value added of activity ``(s, i)``. The total
   and the largest clipped cell are reported in the notes.
5. **Output and value added.** Gross output of activity ``(r, j)`` = its row sum (intermediate
   plus final sales, after step 4); value added = output − intermediate inputs (column sum), which
   must be non-negative. WIOD's stored output vector differs from the row sums by integer
   truncation of the cells (at most about US$ 0.1 bn per row); the row sums are used so that the
   benchmark balances exactly.
6. **Factors.** Value added is split into ``labour`` and ``capital`` with one labour share per
   region for all sectors: the WIOD-value-added-weighted mean of Penn World Table 10.0 ``labsh``
   (2011) over the region's WIOD countries; WIOD's residual RoW, which has no PWT value, gets the
   weighted mean of the other countries of its region (an assumption).
7. **Defense.** Government consumption is split into ``government`` (civil) and ``defense``:
   defense value = military burden × regional GDP (GDP = total value added here, at basic
   prices), capped at total government consumption, where the burden is the
   WIOD-value-added-weighted mean of SIPRI military expenditure as % of GDP (2011) over the
   region's countries. The defense bundle is an imputation: it has the same commodity
   composition and import shares as total government consumption (every government cell is
   scaled by the same factor).
8. **Closure of the SAM.** :func:`cge.data.benchmark.complete` derives ``vom`` from the rows,
   sets government saving to 0 and imputes direct taxes ``vdtax`` as the government budget
   residual (= government + defense consumption, as there are no indirect taxes), and household
   saving as investment minus foreign saving. :func:`cge.data.benchmark.check_balance` must pass.

Named groups (``[groups.regions]`` / ``[groups.commodities]`` of the mapping file: ``goods``,
``goods_ex_232``, ``autos``, ``services_all``, ``deal_partners``, ``usmca``) go to
``ds.attrs["groups"]`` and the data set's ``dataset.toml``; scenario files may use them.

All numbers used by the imputations (steps 6-8) are recorded in ``imputations.csv`` next to the
data set, each with its source and status (``published`` or ``assumption``).
"""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from cge.data.benchmark import (
    FINAL_AGENTS,
    DataError,
    check_balance,
    complete,
    empty_benchmark,
    save_benchmark,
    write_csv,
)
from cge.paths import ROOT as REPO_ROOT

#: WIOD's five final-demand categories, in the column order of the world table.
WIOD_FINAL_CATEGORIES: tuple[str, ...] = ("CONS_h", "CONS_np", "CONS_g", "GFCF", "INVEN")

DEFAULT_MAPPING = REPO_ROOT / "data" / "maps" / "wiod2011.toml"
DEFAULT_OUT_DIR = REPO_ROOT / "data" / "wiod2011"
#: The raw file's place before the registry of raw files (:mod:`cge.databuild.raw`), still
#: looked at first (git-ignored; raw data is never committed).
DEFAULT_RAW = REPO_ROOT / "data" / "raw" / "wiot_2011.RData"

CITATION = ("Timmer, Dietzenbacher, Los, Stehrer & de Vries (2015), Review of International "
            "Economics 23: 575-605; WIOD 2013 release, world input-output table wiot_2011 "
            "(US$ million, basic prices; R file data/wiot_2011.RData of bquast/wiod on GitHub)")

IMPUTATION_COLUMNS = ["item", "region", "value", "unit", "source", "status"]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def find_raw_file() -> Path:
    """The raw ``wiot_2011.RData``, SHA-256 checked: ``data/raw/wiot_2011.RData`` if present,
    else where :func:`cge.databuild.raw.locate` finds it (``data/raw/wiod/``, then
    ``../shared/data/wiod/``). Raises :class:`cge.databuild.raw.RawFileMissing` (a
    ``FileNotFoundError`` saying where it looked and where to get it) if it is in none."""
    from cge.databuild import raw

    if DEFAULT_RAW.is_file():
        digest = raw.sha256(DEFAULT_RAW)
        if digest != raw.RAW_FILES["wiot_2011"].sha256:
            raise DataError(f"raw file {DEFAULT_RAW}: SHA-256 {digest[:16]}... differs from the "
                            f"expected one ({raw.RAW_FILES['wiot_2011'].hint()})")
        return DEFAULT_RAW
    return raw.locate("wiot_2011")


def read_wiot(path: str | Path) -> dict[str, Any]:
    """Read a WIOD world input-output table (R format of bquast/wiod) as labelled arrays.

    Returns ``{"year", "countries", "industries", "categories", "inter", "final", "output"}``:

    * ``inter`` (from_country, from_industry, to_country, to_industry): intermediate flows;
    * ``final`` (from_country, from_industry, to_country, category): final-demand purchases, the
      categories being :data:`WIOD_FINAL_CATEGORIES`;
    * ``output`` (country, industry): gross output as stored in the file.

    Readers never change data: the values are the file's (integers, US$ million), only labelled.
    The R object stores rows and columns country-major (country ``k``, industry ``m`` at index
    ``k * n_industries + m``) and final demand as country-major blocks of five categories; this is
    verified, and :class:`DataError` raised if the layout does not fit:

    * output equals the row sums (intermediate + final) up to the integer truncation of the cells;
    * no column buys more intermediates than the output of the same index (value added ≥ 0);
    * intermediate flows are dominated by the domestic (diagonal) country blocks;
    * among the final-demand categories, ``INVEN`` has the most negative cells and ``CONS_h`` is
      the largest.
    """
    import rdata  # local import: only needed when building from the raw file

    path = Path(path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Missing constructor for R class")
        parsed = rdata.read_rda(str(path))
    if len(parsed) != 1:
        raise DataError(f"{path}: expected one R object, found {list(parsed)}")
    obj = next(iter(parsed.values()))
    obj = {str(k): v for k, v in obj.items()}
    for key in ("year", "countries", "industries", "inter", "final", "output"):
        if key not in obj:
            raise DataError(f"{path}: R object has no element '{key}' (has {sorted(obj)})")
    countries = [str(c) for c in np.asarray(obj["countries"])]
    industries = [str(i) for i in np.asarray(obj["industries"])]
    nc, ni, nf = len(countries), len(industries), len(WIOD_FINAL_CATEGORIES)
    n = nc * ni
    inter = np.asarray(getattr(obj["inter"], "values", obj["inter"]))
    final = np.asarray(getattr(obj["final"], "values", obj["final"]))
    output = np.asarray(obj["output"])
    if inter.shape != (n, n) or final.shape != (n, nc * nf) or output.shape != (n,):
        raise DataError(f"{path}: shapes inter {inter.shape}, final {final.shape}, output "
                        f"{output.shape}; expected ({n}, {n}), ({n}, {nc * nf}), ({n},)")
    _verify_layout(path, inter, final, output, nc, ni)
    year = int(np.asarray(obj["year"]).ravel()[0])
    return {
        "year": year,
        "countries": countries,
        "industries": industries,
        "categories": list(WIOD_FINAL_CATEGORIES),
        "inter": xr.DataArray(
            inter.reshape(nc, ni, nc, ni),
            dims=("from_country", "from_industry", "to_country", "to_industry"),
            coords={"from_country": countries, "from_industry": industries,
                    "to_country": countries, "to_industry": industries},
            attrs={"units": "US$ million", "description": "intermediate flows"}),
        "final": xr.DataArray(
            final.reshape(nc, ni, nc, nf),
            dims=("from_country", "from_industry", "to_country", "category"),
            coords={"from_country": countries, "from_industry": industries,
                    "to_country": countries, "category": list(WIOD_FINAL_CATEGORIES)},
            attrs={"units": "US$ million", "description": "final-demand purchases"}),
        "output": xr.DataArray(
            output.reshape(nc, ni), dims=("country", "industry"),
            coords={"country": countries, "industry": industries},
            attrs={"units": "US$ million", "description": "gross output as stored"}),
    }


def _verify_layout(path: Path, inter: np.ndarray, final: np.ndarray, output: np.ndarray,
                   nc: int, ni: int) -> None:
    z = inter.astype(float)
    f = final.astype(float)
    x = output.astype(float)
    # Each of the (n + nc*5) cells of a row and the output itself were truncated to integers.
    bound = z.shape[1] + f.shape[1] + 1.0
    gap = x - z.sum(axis=1) - f.sum(axis=1)
    if np.abs(gap).max() > bound:
        k = int(np.abs(gap).argmax())
        raise DataError(f"{path}: output differs from the row sum at row {k} by {gap[k]:.0f} "
                        "(more than integer truncation): rows and output are not aligned")
    va = x - z.sum(axis=0)
    if va.min() < -bound:
        k = int(va.argmin())
        raise DataError(f"{path}: column {k} buys {-va[k]:.0f} more intermediates than the output "
                        "of the same index: columns are not ordered like rows")
    blocks = z.reshape(nc, ni, nc, ni)
    domestic = sum(blocks[k, :, k, :].sum() for k in range(nc)) / z.sum()
    if domestic < 0.5:
        raise DataError(f"{path}: domestic country blocks hold only {domestic:.0%} of intermediate "
                        "flows; the table is not country-major")
    cat = f.reshape(f.shape[0], nc, len(WIOD_FINAL_CATEGORIES))
    negatives = (cat < 0).sum(axis=(0, 1))
    totals = cat.sum(axis=(0, 1))
    if int(np.argmax(negatives)) != WIOD_FINAL_CATEGORIES.index("INVEN") or \
            int(np.argmax(totals)) != WIOD_FINAL_CATEGORIES.index("CONS_h"):
        raise DataError(f"{path}: final-demand columns do not look like "
                        f"{WIOD_FINAL_CATEGORIES} (negative cells {negatives.tolist()}, "
                        f"totals {totals.tolist()})")


# --------------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------------
def load_mapping(path: str | Path = DEFAULT_MAPPING) -> dict[str, Any]:
    """Read a mapping TOML file (see ``data/maps/wiod2011.toml``)."""
    path = Path(path)
    mapping = tomllib.loads(path.read_text())
    mapping["path"] = str(path)
    return mapping


def _assignment(groups: Mapping[str, list[str]], members: list[str], what: str) -> np.ndarray:
    """One-hot matrix (member, group); every member must be in exactly one group."""
    names = list(groups)
    mat = np.zeros((len(members), len(names)))
    index = {m: k for k, m in enumerate(members)}
    for g, group in enumerate(names):
        for m in groups[group]:
            if m not in index:
                raise DataError(f"mapping: {what} '{m}' (in '{group}') is not in the table "
                                f"({members})")
            mat[index[m], g] += 1.0
    counts = mat.sum(axis=1)
    bad = [m for m, c in zip(members, counts, strict=True) if c != 1]
    if bad:
        raise DataError(f"mapping: each {what} must be mapped exactly once; not so for {bad}")
    return mat


def groups_json(groups: Mapping[str, Mapping[str, list[str]]], ds: xr.Dataset) -> str:
    """Named groups ``{"regions": {name: [...]}, "commodities": {...}}`` of a configuration file
    (mapping ``[groups.*]``, ``data/targets2024/groups.toml``) as the JSON text that
    ``ds.attrs["groups"]`` holds; every member must be a region / commodity of ``ds``."""
    import json

    sets = {"regions": [str(x) for x in ds.region.values],
            "commodities": [str(x) for x in ds.commodity.values]}
    out: dict[str, dict[str, list[str]]] = {}
    for kind, table in groups.items():
        if kind not in sets:
            raise DataError(f"groups: unknown kind {kind!r}; use regions or commodities")
        out[kind] = {}
        for name, members in table.items():
            unknown = [m for m in members if m not in sets[kind]]
            if unknown or not members or name in sets[kind]:
                raise DataError(f"groups: {kind}.{name} is empty, shadows a name or names unknown "
                                f"{kind} {unknown}; valid: {sets[kind]}")
            out[kind][str(name)] = [str(m) for m in members]
    return json.dumps(out)


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------
def aggregate_wiot(raw: Mapping[str, Any], mapping: Mapping[str, Any] | str | Path
                   ) -> xr.Dataset:
    """Aggregate a table from :func:`read_wiot` into a balanced benchmark (see module docstring).

    ``mapping`` is a mapping dict (:func:`load_mapping`) or the path of a mapping TOML file.
    Returns the completed, balance-checked data set. Its ``attrs`` carry ``notes`` (every
    treatment with its numbers), ``sources`` (a source text per array) and ``imputations`` (a
    :class:`pandas.DataFrame` with columns :data:`IMPUTATION_COLUMNS`); :func:`build_default`
    writes them out.
    """
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    countries: list[str] = list(raw["countries"])
    industries: list[str] = list(raw["industries"])
    categories: list[str] = list(raw["categories"])
    regions = list(mapping["regions"])
    sectors = list(mapping["sectors"])
    factors = list(mapping.get("factors", ["labour", "capital"]))
    if factors != ["labour", "capital"]:
        raise DataError(f"mapping: factors must be ['labour', 'capital'], got {factors}")
    fd_agents = list(mapping["final_demand"])
    if set(fd_agents) != {"household", "government", "investment"}:
        raise DataError("mapping: [final_demand] must map WIOD categories to household, "
                        f"government and investment; got {fd_agents}")
    rmap = _assignment(mapping["regions"], countries, "country")        # (country, region)
    smap = _assignment(mapping["sectors"], industries, "industry")      # (industry, sector)
    amap = _assignment(mapping["final_demand"], categories, "final-demand category")

    z = np.asarray(raw["inter"].values, dtype=float)    # (c, m, c', m')
    f = np.asarray(raw["final"].values, dtype=float)    # (c, m, c', k)
    # Aggregated flows, exact (integer sums well below 2**53).
    zagg = np.einsum("amcn,aS,mI,cR,nJ->SIRJ", z, rmap, smap, rmap, smap, optimize=True)
    fagg = np.einsum("amck,aS,mI,cR,kA->SIRA", f, rmap, smap, rmap, amap, optimize=True)
    a_hh, a_gov, a_inv = (fd_agents.index(a) for a in ("household", "government", "investment"))
    clipped = _clip_investment(fagg, a_inv, regions, sectors)                     # step 4
    va = _value_added(zagg, fagg, regions, sectors)                               # step 5
    gdp = va.sum(axis=1)                                           # (region,)

    # Country weights for the regional shares: WIOD value added per country (row-sum output
    # minus intermediate inputs, before any clipping).
    country_va = (z.sum(axis=(2, 3)) + f.sum(axis=(2, 3)) - z.sum(axis=(0, 1))).sum(axis=1)
    imputations: list[dict[str, Any]] = []
    labsh = _regional_share(mapping, "labour_share", countries, regions, rmap, country_va,
                            imputations, unit="fraction of value added", scale=1.0)
    milex = _regional_share(mapping, "defense_share", countries, regions, rmap, country_va,
                            imputations, unit="% of GDP", scale=0.01)

    # Step 6: factor payments.
    labour = labsh[:, None] * va
    vfm = np.stack([labour, va - labour])                          # (factor, region, sector)
    # Step 7: defense split of government consumption.
    gov = fagg[..., a_gov]                                         # (s, i, r)
    split = _defense_split(gov, milex * gdp, regions)
    agent_flows = {"household": fagg[..., a_hh], "government": split["civil"],
                   "defense": split["defense_flows"], "investment": fagg[..., a_inv]}
    ds = empty_benchmark(regions, sectors, factors, name=str(mapping.get("name", "wiod2011")),
                         unit="US$ million", year=int(raw["year"]))
    ds = _fill_benchmark(ds, zagg, agent_flows, vfm)
    imputations += _wiod_imputations(ds, regions, gdp, split["defense"], split["gov_total"])

    raw_output = np.asarray(raw["output"].values, dtype=float)
    row_gap = raw_output - (z.sum(axis=(2, 3)) + f.sum(axis=(2, 3)))
    gov_total = split["gov_total"]
    gov_import = 1.0 - np.einsum("rir->r", gov) / np.where(gov_total > 0, gov_total, 1.0)
    notes = _notes(mapping, regions, gdp, labsh, milex, split["defense"], gov_total,
                   gov_import, split["capped"], clipped["total"], clipped["n"],
                   clipped["worst"], row_gap)
    ds.attrs["notes"] = notes
    ds.attrs["sources"] = array_sources(mapping)
    if mapping.get("groups"):
        ds.attrs["groups"] = groups_json(mapping["groups"], ds)
    ds.attrs["imputations"] = pd.DataFrame(imputations, columns=IMPUTATION_COLUMNS)
    return ds


def _clip_investment(fagg: np.ndarray, a_inv: int, regions: list[str], sectors: list[str]
                     ) -> dict[str, Any]:
    """Step 4: negative aggregated investment cells (inventory changes) set to zero, in place;
    what was clipped: ``total`` (US$ million), ``n`` cells and the ``worst`` as text."""
    inv = fagg[..., a_inv]
    neg = inv < 0
    if neg.any():
        worst = np.unravel_index(np.argmin(inv), inv.shape)
        worst_txt = (f"{-inv[worst]:.0f} US$ million ({sectors[worst[1]]} made in "
                     f"{regions[worst[0]]}, bought in {regions[worst[2]]})")
    else:
        worst_txt = "none"
    out = {"total": float(-inv[neg].sum()), "n": int(neg.sum()), "worst": worst_txt}
    fagg[..., a_inv] = np.where(neg, 0.0, inv)
    return out


def _value_added(zagg: np.ndarray, fagg: np.ndarray, regions: list[str], sectors: list[str]
                 ) -> np.ndarray:
    """Step 5: value added (region, sector) as output from the rows less intermediate inputs
    (a negative one is a :class:`DataError`)."""
    output = zagg.sum(axis=(2, 3)) + fagg.sum(axis=(2, 3))        # (region, sector)
    va = output - zagg.sum(axis=(0, 1))
    if va.min() < 0:
        r, j = np.unravel_index(np.argmin(va), va.shape)
        raise DataError(f"value added of {sectors[j]} in {regions[r]} is negative "
                        f"({va[r, j]:.1f}): intermediate inputs exceed output")
    return va


def _defense_split(gov: np.ndarray, target: np.ndarray, regions: list[str]) -> dict[str, Any]:
    """Step 7: defense as the share ``target / government consumption`` of every government
    purchase (``gov``: source x commodity x region), capped at government consumption: the
    ``civil`` and ``defense_flows`` purchases, ``defense`` and ``gov_total`` by region and the
    regions ``capped``."""
    gov_total = gov.sum(axis=(0, 1))                               # (r,)
    defense = np.minimum(target, gov_total)
    phi = np.divide(defense, gov_total, out=np.zeros_like(defense), where=gov_total > 0)
    return {"civil": gov * (1.0 - phi), "defense_flows": gov * phi, "defense": defense,
            "gov_total": gov_total,
            "capped": [regions[r] for r in range(len(regions)) if target[r] > gov_total[r]]}


def _fill_benchmark(ds: xr.Dataset, zagg: np.ndarray, agent_flows: dict[str, np.ndarray],
                    vfm: np.ndarray) -> xr.Dataset:
    """The benchmark's arrays from the aggregated flows (own-region flows domestic, the rest
    trade), completed and balance-checked."""
    nr, ns = ds.region.size, ds.commodity.size
    eye = np.eye(nr, dtype=bool)
    dom = eye[:, None, :, None]                                    # (s, ., r, .)
    ds["vdfm"].values[...] = np.einsum("rirj->ijr", zagg)
    # (i, j, r): imports summed over sources s != r
    ds["vifm"].values[...] = np.where(dom, 0.0, zagg).sum(axis=0).transpose(0, 2, 1)
    vdfd = np.zeros((ns, len(FINAL_AGENTS), nr))
    vifd = np.zeros_like(vdfd)
    trade = np.where(eye[:, None, :], 0.0, zagg.sum(axis=3))       # (s, i, r)
    for a, agent in enumerate(FINAL_AGENTS):
        flows = agent_flows[agent]                                 # (s, i, r)
        vdfd[:, a, :] = np.einsum("rir->ir", flows)
        imported = np.where(eye[:, None, :], 0.0, flows)
        vifd[:, a, :] = imported.sum(axis=0)
        trade = trade + imported
    ds["vdfd"].values[...] = vdfd
    ds["vifd"].values[...] = vifd
    ds["vxmd"].values[...] = trade.transpose(1, 0, 2)
    ds["vfm"].values[...] = vfm.transpose(0, 2, 1)                 # (factor, activity, region)
    ds = complete(ds)
    check_balance(ds)
    return ds


def _wiod_imputations(ds: xr.Dataset, regions: list[str], gdp: np.ndarray,
                      defense: np.ndarray, gov_total: np.ndarray) -> list[dict[str, Any]]:
    """The records of the derived and imputed quantities: defense value, government saving,
    direct taxes by region."""
    rows = []
    for r, region in enumerate(regions):
        rows.append(_row("defense_value", region, float(defense[r]), "US$ million",
                         f"defense share x WIOD GDP (total value added at basic prices) "
                         f"of {gdp[r]:.0f}, capped at government consumption of "
                         f"{gov_total[r]:.0f}; same composition and import shares as "
                         "government consumption (imputation)", "assumption"))
    for region in regions:
        rows.append(_row("government_saving", region, 0.0, "US$ million",
                         "set to zero (closure of the government budget)", "assumption"))
        rows.append(_row("direct_tax", region, float(ds.vdtax.sel(region=region)),
                         "US$ million", "government budget residual: civil + defense "
                         "government consumption (no indirect taxes in the WIOD world "
                         "table)", "assumption"))
    return rows


def _row(item: str, region: str, value: float, unit: str, source: str, status: str
         ) -> dict[str, Any]:
    return {"item": item, "region": region, "value": value, "unit": unit, "source": source,
            "status": status}


def _regional_share(mapping: Mapping[str, Any], key: str, countries: list[str],
                    regions: list[str], rmap: np.ndarray, weights: np.ndarray,
                    rows: list[dict[str, Any]], *, unit: str, scale: float) -> np.ndarray:
    """Weighted mean of a per-country parameter over each region (weights: WIOD value added).

    Countries without a value get the weighted mean of the other countries of their region
    (recorded as an assumption). Appends one row per country and per region to ``rows``.
    Returns the regional values times ``scale``.
    """
    spec = mapping[key]
    values: dict[str, float] = dict(spec["country"])
    source = str(spec["source"])
    assumed = set(spec.get("assumed", []))
    residual = set(spec.get("residual", []))
    item_c = f"{key}_country"
    out = np.zeros(len(regions))
    for r, region in enumerate(regions):
        members = [c for k, c in enumerate(countries) if rmap[k, r]]
        known = [c for c in members if c in values]
        missing = [c for c in members if c not in values]
        w = {c: float(weights[countries.index(c)]) for c in members}
        if not known:
            raise DataError(f"mapping [{key}]: no value for any country of region {region}")
        known_mean = sum(values[c] * w[c] for c in known) / sum(w[c] for c in known)
        filled = {**{c: float(values[c]) for c in known}, **dict.fromkeys(missing, known_mean)}
        for c in members:
            if c in missing:
                status, src = "assumption", (f"no published value; WIOD-VA-weighted mean of the "
                                             f"other countries of {region}")
            elif c in assumed:
                status, src = "assumption", str(spec.get("assumed_source", source))
            elif c in residual:
                status, src = "published", f"{spec.get('residual_source', '')}; {source}"
            else:
                status, src = "published", source
            rows.append(_row(item_c, c, filled[c], unit, src, status))
        total_w = sum(w.values())
        out[r] = sum(filled[c] * w[c] for c in members) / total_w
        flagged = [c for c in members if c in missing or c in assumed]
        share_flagged = sum(w[c] for c in flagged) / total_w
        if len(members) == 1:
            src_r = rows[-1]["source"]
            status_r = rows[-1]["status"]
        else:
            src_r = (f"WIOD-value-added-weighted mean over {', '.join(members)} of the "
                     f"country values ({source})")
            if flagged:
                src_r += (f"; includes assumed values for {', '.join(flagged)} "
                          f"({share_flagged:.1%} of the region's value added)")
            status_r = "assumption" if flagged else "published"
        rows.append(_row(key, region, out[r], unit, src_r, status_r))
    return out * scale


def _notes(mapping: Mapping[str, Any], regions: list[str], gdp: np.ndarray, labsh: np.ndarray,
           milex: np.ndarray, defense: np.ndarray, gov_total: np.ndarray,
           gov_import: np.ndarray, capped: list[str], clipped_total: float, n_clipped: int,
           worst_txt: str, row_gap: np.ndarray) -> str:
    per_region = "; ".join(
        f"{r}: GDP {g / 1e3:,.0f} bn, labour share {s:.3f}, defense {m:.2%} of GDP "
        f"= {d / 1e3:,.1f} bn ({d / gt:.1%} of government consumption, whose import share is "
        f"{gi:.2%})"
        for r, g, s, m, d, gt, gi in zip(regions, gdp, labsh, milex, defense, gov_total,
                                         gov_import, strict=True))
    no_imports = [r for r, gi in zip(regions, gov_import, strict=True) if gi == 0.0]
    map_name = Path(str(mapping.get("path", "data/maps/wiod2011.toml"))).name
    lines = [
        f"Built by cge/databuild/wiod.py from {CITATION}, with mapping {map_name}.",
        "Aggregation: WIOD countries to regions (EU = the 26 of today's 27 EU members in WIOD; "
        "Croatia is in WIOD's RoW and GBR in ROW), 35 industries to sectors (motor_vehicles = all "
        "of WIOD c15 transport equipment; WIOD does not split motor vehicles), final demand "
        "CONS_h+CONS_np to household, CONS_g to government, GFCF+INVEN to investment.",
        "Trade: for regions s != r, vxmd = all intermediate and final purchases in r of goods "
        "made in s; vifm/vifd = imported purchases by activity/agent summed over sources; trade "
        "within a region (intra-EU) is domestic. WIOD has no tariffs, export taxes or margins: "
        "vtx = vtm = 0 (base tariffs come in a later issue); the world table has no product-tax "
        "rows, so vto = vtfd = 0 and net product taxes are inside value added; vtrf = 0.",
        f"Negative investment: {n_clipped} aggregated GFCF+INVEN cells were negative and set to "
        f"zero, in total {clipped_total:,.0f} US$ million, added to the output and value added of "
        f"the producing activity; the largest was {worst_txt}.",
        "Output = row sums after clipping; value added = output - intermediate inputs (column "
        "residual), non-negative everywhere. WIOD's stored output differs from the row sums by "
        f"integer truncation of cells: {row_gap.min():.0f} to {row_gap.max():.0f} US$ million per "
        f"row, {row_gap.sum():,.0f} in total; the row sums are used.",
        "Factors: value added split into labour and capital with one labour share per region "
        "(PWT 10.0 labsh 2011, WIOD-VA-weighted over countries; WIOD RoW assumed equal to the "
        "mean of the other ROW countries).",
        "Defense: government consumption split into civil government and defense; defense = "
        "SIPRI military expenditure share of GDP (2011, WIOD-VA-weighted over countries) x GDP "
        "(total value added, basic prices), capped at government consumption"
        + (f" (cap binding for {', '.join(capped)})" if capped else " (cap not binding)")
        + "; the defense bundle has the same commodity composition and import shares as total "
        "government consumption (imputation)."
        + (f" WIOD records government consumption of {', '.join(no_imports)} as entirely "
           "domestic, so their civil and defense imports are zero in this benchmark."
           if no_imports else ""),
        "Closure: government saving 0 (assumption); direct tax vdtax imputed as the government "
        "budget residual; household saving = investment - foreign saving (complete()).",
        f"By region (US$, basic prices): {per_region}.",
        "Every imputed number with its source: imputations.csv.",
    ]
    return "\n".join(lines)


def array_sources(mapping: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Source text of every benchmark array."""
    w = f"WIOD 2013 release, wiot_2011 ({CITATION})"
    agg = "aggregated with data/maps/wiod2011.toml"
    return {
        "vom": f"{w}; row sums (intermediate + final sales) after clipping negative investment "
               "cells, derived by complete()",
        "vdfm": f"{w}; intermediate purchases from the same region, {agg}",
        "vifm": f"{w}; intermediate purchases from other regions summed over sources, {agg}",
        "vfm": f"{w}; value added = output - intermediate inputs, split with PWT 10.0 labsh "
               "2011 regional labour shares (imputations.csv)",
        "vto": "zero: the WIOD world table has no product-tax rows (taxes are inside value added)",
        "vdfd": f"{w}; final purchases from the same region ({agg}); negative investment cells "
                "set to zero; government split into civil and defense with SIPRI 2011 military "
                "expenditure shares (imputations.csv)",
        "vifd": f"{w}; final purchases from other regions summed over sources ({agg}); negative "
                "investment cells set to zero; defense split as for vdfd",
        "vtfd": "zero: the WIOD world table has no product-tax rows",
        "vxmd": f"{w}; all intermediate and final purchases in the importing region of goods "
                f"made in the exporting region, basic prices ({agg}); intra-region trade is "
                "domestic",
        "vtx": "zero: WIOD has no export taxes",
        "vtm": "zero: WIOD has no tariffs (base tariffs come in a later issue)",
        "vdtax": "imputed by complete(): government budget residual with government saving 0",
        "vsav": "derived by complete(): government saving 0 (assumption); household saving = "
                "investment - foreign saving",
        "vtrf": "zero: no international transfers in WIOD",
    }


# --------------------------------------------------------------------------------------------
# Building the default data set
# --------------------------------------------------------------------------------------------
def build_default(out_dir: Path | None = None) -> xr.Dataset:
    """Build ``wiod2011`` from the raw file and the default mapping; write it to ``out_dir``.

    ``out_dir`` defaults to ``data/wiod2011`` of the repository. Writes the benchmark CSVs and
    ``dataset.toml`` (:func:`cge.data.benchmark.save_benchmark`) and ``imputations.csv``.
    """
    out = DEFAULT_OUT_DIR if out_dir is None else Path(out_dir)
    raw = read_wiot(find_raw_file())
    ds = aggregate_wiot(raw, load_mapping(DEFAULT_MAPPING))
    save_benchmark(ds, out, sources=ds.attrs["sources"], notes=ds.attrs["notes"])
    write_csv(ds.attrs["imputations"], out / "imputations.csv")
    return ds
