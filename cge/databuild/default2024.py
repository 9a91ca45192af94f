"""The default benchmark ``default2024``: ``wiod_update2024`` plus base-year (2024) tariffs.

Built by :func:`build_default2024` (``python -m cge build-data``, after
:func:`cge.databuild.update.build_update2024`):

1. load ``data/wiod_update2024`` (WIOD 2011 input-output structure, levels balanced to 2024
   published totals, motor vehicles split from other transport equipment; see
   :mod:`cge.databuild.update`);
2. :func:`cge.databuild.policy.apply_base_tariffs` with
   :func:`cge.databuild.policy.load_base_tariffs`
   (``data/policy/base_tariffs.csv``: applied MFN and preferential rates in force in 2024, before
   the 2025 US measures; the US rows replaced by ``data/policy/us_tariffs_2024.csv``, the 2024
   US regime derived line by line from the HTS with FTA preferences, Section 301 on China and
   Section 232 on steel and aluminium, :mod:`cge.databuild.us_tariffs`): world prices ``vxmd``
   stay, ``vtm = rate x vxmd``, landed imports rise by the duty, activities pay
   the extra input cost out of capital income, direct tax and household saving re-derived;
3. the named groups of ``data/targets2024/groups.toml`` (``goods``, ``goods_ex_232``, ``autos``,
   ``services_all``; ``deal_partners``, ``usmca``);
4. :func:`cge.data.benchmark.save_benchmark` to ``data/default2024/`` with
   ``elasticities = "gtap_autos_split"`` in ``dataset.toml`` (read by :class:`cge.Session` when
   no elasticities are given) and ``tariff_summary.csv`` (trade-weighted average tariff by
   importer) next to it;
5. ``tariff_vs_duties.csv``: each importer's average tariff against its customs duties
   collected / imports (``data/policy/duties_collected.csv``; a check, not a fit), and
   ``validation.csv``: the hold-out figures of ``data/validation2024/holdout.csv`` (figures the
   data are not fitted to), ours vs published (:mod:`cge.databuild.validation`).

Deterministic: building twice, here or on another machine, gives byte-identical files
(arithmetic only, no BLAS or transcendental functions; numbers written by
:func:`cge.data.benchmark.write_csv`). Scenario tariffs are then *added to* (or,
with ``set``, replace) real 2024 starting rates.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from cge.data.benchmark import (
    SCHEMA,
    DataError,
    check_balance,
    direct_purchase_flows,
    load_benchmark,
    save_benchmark,
    tax_revenue,
    write_csv,
)
from cge.databuild.defense_account import (
    STATIONING_ACCOUNT,
    add_stationing_account,
    compose_defense_bundle,
    defense_bundle_table,
    defense_import_table,
)
from cge.databuild.policy import (
    BASE_TARIFFS,
    apply_base_tariffs,
    defense_composition,
    direct_purchase_shares,
    load_base_tariffs,
    load_defense_data,
    load_defense_purchases,
    stationing_account,
    tariff_adjustment_report,
    tariff_summary,
)
from cge.databuild.update import DEFAULT_OUT_DIR as UPDATE_DIR
from cge.databuild.update import read_groups
from cge.databuild.validation import write_validation
from cge.paths import ROOT as REPO_ROOT

DUTIES = REPO_ROOT / "data" / "policy" / "duties_collected.csv"

DEFAULT_OUT_DIR = REPO_ROOT / "data" / "default2024"
NAME = "default2024"
#: The variant with the pre-2018 US regime (MFN with FTA preferences, no Section 301/232).
MFN_NAME = "default2024_mfn"
#: Elasticity file (``calibration/elasticities/<name>.csv``) that matches these sectors.
ELASTICITIES = "gtap_autos_split"


def build_default2024(out_dir: str | Path | None = None, *,
                      update_dir: str | Path | None = None,
                      us_tariffs: str | Path | bool = True, name: str = NAME) -> xr.Dataset:
    """Build ``default2024`` (module docstring) from the benchmark in ``update_dir`` (default
    ``data/wiod_update2024``) and the policy tables of ``data/policy``, and write it to
    ``out_dir`` (default ``data/default2024``). ``us_tariffs``: the US rows (see
    :func:`cge.databuild.policy.load_base_tariffs`); with ``us_tariffs_2024_mfn_only.csv`` and
    ``name = "default2024_mfn"`` this builds the variant with the pre-2018 US regime. Returns
    the balanced, checked data set."""
    out = DEFAULT_OUT_DIR if out_dir is None else Path(out_dir)
    base = load_benchmark(UPDATE_DIR if update_dir is None else Path(update_dir))
    rates = load_base_tariffs(regions=[str(r) for r in base.region.values],
                              commodities=[str(c) for c in base.commodity.values],
                              us_tariffs=us_tariffs)
    ds = apply_base_tariffs(base, rates)
    ds = set_defense_shares(ds, defense_shares_2024(ds))
    regions, commodities = [str(r) for r in ds.region.values], [str(c) for c in ds.commodity.values]
    composition = defense_composition(regions, commodities)
    ds = compose_defense_bundle(ds, composition)
    ds = add_stationing_account(ds, stationing_account(STATIONING_ACCOUNT, regions, commodities))
    ds["dpshare"] = direct_purchase_shares(regions, commodities)
    ds.attrs.pop("path", None)
    ds.attrs.update(name=name, unit=base.attrs.get("unit", "US$ million"), year=2024)
    ds.attrs["groups"] = read_groups(ds)
    check_balance(ds)
    summary = tariff_summary(ds)
    us_path = None if isinstance(us_tariffs, bool) else Path(us_tariffs)
    bundle = defense_bundle_table(ds, composition)
    imports = defense_import_table(ds, load_defense_purchases())
    notes = _notes(base, ds, summary, us_path, defense=(bundle, imports))
    if name != NAME:
        notes = (f"Variant {name} of {NAME}: the US rows are "
                 f"{us_path.name if us_path else 'the default table'} (MFN with FTA "
                 "preferences only, no Section 301 or Section 232: the pre-2018 US regime); "
                 "everything else as in default2024.\n" + notes)
    save_benchmark(ds, out, sources=_sources(), notes=notes)
    _add_elasticities_key(out / "dataset.toml")
    write_csv(summary.reset_index(), out / "tariff_summary.csv")
    write_csv(tariff_vs_duties(summary), out / "tariff_vs_duties.csv")
    write_validation(ds, out / "validation.csv")
    write_csv(bundle, out / "defense_bundle.csv")
    write_csv(imports, out / "defense_imports.csv")
    return ds


def _rate_row_counts(us_tariffs: Path | None = None) -> str:
    """How many tariff rows in use are published (a page read), derived (computed from
    published data or raw files) or assumptions, by file."""
    import pandas as pd

    from cge.databuild.policy import US_TARIFFS

    us = US_TARIFFS if us_tariffs is None else us_tariffs
    parts = []
    base = pd.read_csv(BASE_TARIFFS, keep_default_na=False)
    if us.is_file():
        base = base[base.importer != "USA"]
    for name, frame in ((BASE_TARIFFS.name + (" (importers other than USA)" if us.is_file()
                                              else ""), base),
                        *(((us.name, pd.read_csv(us, keep_default_na=False)),)
                          if us.is_file() else ())):
        counts = frame.status.value_counts()
        parts.append(f"{name}: " + ", ".join(f"{int(counts.get(k, 0))} {k}"
                                             for k in ("published", "derived", "assumption")))
    return "Tariff rows in use by status: " + "; ".join(parts) + "."


def tariff_vs_duties(summary, path: Path | None = None):
    """Average tariff on goods imports (``tariff_summary``) against customs duties collected /
    goods imports of ``data/policy/duties_collected.csv``, by importer, in percent and
    percentage points. A check of the tariff rows: they are derived from schedules and
    preference coverage, never fitted to the duties."""
    import pandas as pd

    duties = pd.read_csv(DUTIES if path is None else path, keep_default_na=False)
    rows = []
    for d in duties.itertuples():
        if d.importer not in summary.index:
            raise DataError(f"{DUTIES.name}: importer {d.importer!r} is not a region")
        ours = float(summary.loc[d.importer, "rate_goods_pct"])
        rows.append({"importer": d.importer, "model_rate_pct": ours,
                     "duties_over_imports_pct": float(d.ratio_pct),
                     "gap_pp": ours - float(d.ratio_pct), "duties_year": str(d.year),
                     "quality": d.quality, "source_url": d.source_url})
    return pd.DataFrame(rows)


def defense_shares_2024(ds: xr.Dataset) -> dict[str, float]:
    """Defense spending as a share of GDP in 2024 by region, from ``data/policy/defense.csv``:
    SIPRI / EDA ``defense_share_gdp`` rows where published, else ``defense_spending`` (US$
    million) over the benchmark's GDP (ROW: the world total less the other regions, derived)."""
    table = load_defense_data()
    rows = table[table["year"].astype(str) == "2024"]
    gdp = (ds.vfm.sum(["factor", "activity"]) + tax_revenue(ds)).to_series()
    shares = {}
    for r in map(str, ds.region.values):
        pct = rows[(rows["item"] == "defense_share_gdp") & (rows["region"] == r)]
        if len(pct):
            shares[r] = float(pct["value"].iloc[0]) / 100.0
            continue
        level = rows[(rows["item"] == "defense_spending") & (rows["region"] == r)]
        if len(level):
            shares[r] = float(level["value"].iloc[0]) / float(gdp[r])
    return shares


def set_defense_shares(ds: xr.Dataset, shares: dict[str, float]) -> xr.Dataset:
    """Re-split government purchases between civil government and defense so that defense
    spending is ``shares[r]`` × GDP (GDP = factor income + indirect taxes). Total government
    purchases, their composition and import shares are unchanged (the defense bundle keeps the
    composition of government purchases), so every account stays balanced."""
    ds = ds.copy(deep=True)
    gdp = ds.vfm.sum(["factor", "activity"]) + tax_revenue(ds)
    spend = (ds.vdfd + ds.vifd).sum("commodity") + ds.vtfd
    total = spend.sel(agent="government") + spend.sel(agent="defense")
    for r, share in shares.items():
        frac = share * float(gdp.sel(region=r)) / float(total.sel(region=r))
        if not 0 <= frac <= 1:
            raise DataError(f"defense share {share:.3%} of GDP in {r} exceeds its government "
                            "purchases")
        for key in ("vdfd", "vifd", "vtfd"):
            arr = ds[key]
            both = arr.sel(agent="government", region=r) + arr.sel(agent="defense", region=r)
            arr.loc[{"agent": "defense", "region": r}] = frac * both
            arr.loc[{"agent": "government", "region": r}] = (1.0 - frac) * both
    check_balance(ds)
    return ds


def _add_elasticities_key(path: Path) -> None:
    """Put ``elasticities = "..."`` after the ``year`` line of ``dataset.toml`` (top level)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("year = "))
    lines.insert(k + 1, f'elasticities = "{ELASTICITIES}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def _sources() -> dict[str, str]:
    struct = ("structure from data/wiod2011 (WIOD 2013 release, wiot_2011, Timmer et al. 2015; "
              "see data/SOURCES.md)")
    upd = ("levels of data/wiod_update2024: scaled to 2024 and balanced by minimum cross-entropy "
           "to the published 2024 figures of data/targets2024 (targets.csv exactly; "
           "us_trade_by_sector.csv, region_trade.csv, output_structure.csv within their "
           "tolerances), motor vehicles split from other transport equipment "
           "(data/targets2024/autos_split_shares.csv)")
    tariffs = ("base-year (2024) applied tariffs of data/policy/base_tariffs.csv (MFN and "
               "preferential; the US rows replaced by data/policy/us_tariffs_2024.csv: HTS MFN "
               "with FTA preferences, Section 301 on China, Section 232 on steel and aluminium, "
               "import-weighted with 2024 Census HS10 imports) added by "
               "cge.databuild.policy.apply_base_tariffs")
    s = {k: f"{struct}; {upd}" for k in SCHEMA}
    s["vtm"] = (f"{tariffs}: vtm = rate x (vxmd + vtx) on the trade flows of "
                "data/wiod_update2024 (" + struct + ")")
    s["vifm"] = (f"{struct}; {upd}; landed (duty-inclusive) values: raised by the {tariffs} pro "
                 "rata to users")
    s["vifd"] = s["vifm"]
    defense = ("; government purchases split between civil government and defense so that "
               "defense = 2024 defense spending / GDP of data/policy/defense.csv (SIPRI 2024, EDA "
               "for the EU; ROW derived) x GDP, with the composition of government purchases "
               "(set_defense_shares)")
    bundle = ("; the defense bundle then re-routed to the defense_composition rows of "
              "data/policy/defense_purchases.csv from civil government, public administration's "
              "inputs and investment (cge.databuild.defense_account.compose_defense_bundle; "
              "target and reached shares in defense_bundle.csv); the host's final demand cut "
              "by the stationing account vdpur")
    s["vdfd"] = s["vdfd"] + defense + bundle
    s["vifd"] = s["vifd"] + defense + bundle
    s["vdfm"] = (f"{struct}; {upd}; public administration's inputs lowered by what the "
                 "defense bundle now buys directly (compose_defense_bundle)")
    s["vifm"] = s["vifm"] + s["vdfm"][len(f"{struct}; {upd}"):]
    s["vdpur"] = ("stationing account: purchases of US forces in Japan (US$ 5,225 million a "
                  "year) and Korea (3,350), GAO-21-270's 2016-19 DoD spending in each / 4 "
                  "(data/policy/defense.csv, cge.databuild.policy.stationing_purchases), by "
                  "commodity in the stationing_composition shares of "
                  "data/policy/defense_purchases.csv; carved out of the host's own final demand "
                  "(cge.databuild.defense_account.add_stationing_account)")
    s["vfm"] = (f"{struct}; {upd}; value added at 2024 GDP by region, labour income = published "
                "labour share x GDP (targets.csv labour_share: Penn World Table 10.01 labsh, "
                "2019; EU and ROW GDP-weighted means of their countries); capital income "
                f"lowered by the duty on each activity's intermediate imports ({tariffs})")
    s["vxmd"] = (f"{struct}; {upd}; US goods trade by partner, US services trade and US imports "
                 "of motor vehicles and parts from Japan held at 2024 published values; world "
                 "prices, unchanged by the base tariffs")
    s["vom"] = f"derived by complete() from the balanced rows ({struct}; {upd})"
    for k in ("vto", "vtfd"):
        s[k] = "zero: the WIOD world table has no product-tax rows (taxes are inside value added)"
    s["vtx"] = "zero: WIOD has no export taxes"
    s["dpshare"] = ("data/policy/defense_purchases.csv "
                    "(cge.databuild.policy.direct_purchase_shares): "
                    "stationing_composition rows for US purchases in Japan (Japan's host-nation "
                    "support items, MOFA) and Korea (SMA labour/construction/logistics split), "
                    "fms_composition rows for purchases from US producers (Japan's own, else "
                    "for every buyer); category-to-commodity mappings are assumptions (see "
                    "data/policy/README.md)")
    s["vtrf"] = "zero: no international transfers"
    s["vdtax"] = ("imputed by complete(): government budget residual with government saving 0; "
                  "lower than in wiod_update2024 by the new tariff revenue net of the "
                  "government's higher purchase cost")
    s["vsav"] = ("derived by complete(): government saving 0 (assumption); household saving = "
                 "investment - foreign saving")
    return s


def _notes(base: xr.Dataset, ds: xr.Dataset, summary, us_path: Path | None = None, *,
           defense: tuple) -> str:
    """The data set's notes; ``defense``: its defense tables (bundle, imports), as written."""
    us_name = us_path.name if us_path is not None else "us_tariffs_2024.csv"
    rates = ", ".join(f"{r} {summary.loc[r, 'rate_goods_pct']:.2f}%" for r in summary.index)
    moved = tariff_adjustment_report(base, ds)
    rev = ", ".join(f"{r} {moved.loc[r, 'tariff_revenue'] / 1000:.1f}" for r in moved.index)
    va = base.vfm.sum(["factor", "activity"]).to_series()
    cap = ", ".join(f"{r} {100 * moved.loc[r, 'capital_income'] / va[r]:.2f}%"
                    for r in moved.index)
    return "\n".join([
        "Built by cge/databuild/default2024.py (build_default2024): data/wiod_update2024 "
        "(WIOD 2013 "
        "release, wiot_2011 structure, Timmer et al. 2015; balanced to the 2024 figures of "
        "data/targets2024: GDP, labour shares and US trade totals exactly, US imports by "
        "commodity and partner, the regions' goods trade and value added and gross output by "
        "activity (ADB MRIO) within their tolerances; motor vehicles split from other "
        "transport equipment) plus base-year tariffs.",
        f"Base tariffs: {BASE_TARIFFS.relative_to(REPO_ROOT)} (applied MFN and preferential rates "
        "in force in 2024, before the 2025 US measures; preferences of FTA partners inside ROW "
        f"by coverage x utilisation) with its US rows replaced by data/policy/{us_name} "
        "(cge/databuild/us_tariffs.py: HTS 2025 basic MFN rates by HS8 with the FTA 'Special' "
        "column (USMCA on the claimed share)" + (
            "; no Section 301 or 232: the pre-2018 regime" if "mfn_only" in us_name else
            ", Section 301 on China by list (the September 2024 review increases for 96 of 366 "
            "days), Section 232 steel 25 % / aluminium 10 % with the 2024 exemptions and "
            "quotas") + "; import-weighted with 2024 Census imports by HS10 x country). Not "
        "in the base: China's retaliation, safeguards, anti-dumping and "
        "countervailing duties (data/policy/measures_not_in_base.csv). Each rate with its "
        "source and status (published / derived / assumption) is in those files.",
        "Treatment (cge/databuild/policy.py, apply_base_tariffs): world-price flows vxmd "
        "unchanged; "
        "vtm = rate x vxmd; landed imports vifm/vifd raised by the duty pro rata to users; "
        "activities pay the extra input cost out of capital income (output unchanged); final "
        "demand spends more; direct tax and household saving re-derived by complete() "
        "(government saving kept at 0).",
        f"Trade-weighted average tariff on goods imports (world prices), by importer: {rates} "
        "(tariff_summary.csv).",
        f"Tariff revenue, US$ bn: {rev}. Capital income change, % of value added: {cap}.",
        _rate_row_counts(us_path),
        "Against customs duties collected / imports (data/policy/duties_collected.csv; a check, "
        "not a fit): " + "; ".join(
            f"{r.importer} {r.model_rate_pct:.2f}% vs {r.duties_over_imports_pct:.2f}% "
            f"({r.gap_pp:+.2f} pp)" for r in tariff_vs_duties(summary).itertuples())
        + " (tariff_vs_duties.csv).",
        "Groups (data/targets2024/groups.toml): commodities goods, goods_ex_232 (goods except "
        "motor_vehicles and metals; other_transport is in it), autos (motor_vehicles), "
        "services_all (services, public_admin); regions deal_partners (JPN, EU, KOR), usmca "
        "(CAN, MEX).",
        f"Elasticities: calibration/elasticities/{ELASTICITIES}.csv (the sectors of this data "
        "set).",
        _defense_note(ds, *defense),
    ])


def _defense_note(ds: xr.Dataset, bundle, imports) -> str:
    """The defense accounts in one paragraph: the stationing account, the bundle's
    composition against its target (``bundle``, :func:`defense_bundle_table`), and the import
    shares against the published ones (``imports``, :func:`defense_import_table`)."""
    ot = bundle[bundle.commodity == "other_transport"]
    account = direct_purchase_flows(ds).sum("commodity").to_series()
    return (
        "Defense accounts (cge/databuild/defense_account.py): stationing account vdpur, US "
        "forces' purchases in "
        + ", ".join(f"{s} {v:,.0f}" for (s, b), v in account.items() if v > 0)
        + " (US$ million a year, GAO-21-270 2016-19 / 4; composition of the "
        "stationing_composition rows), carved out of the host's final demand; the US defense "
        "bundle is smaller by the same so that defense spending (bundle plus purchases abroad) "
        "stays at SIPRI's 2024 share. Defense bundle re-routed to the defense_composition rows "
        "(defense_bundle.csv); other transport equipment reached / target: "
        + ", ".join(f"{r.region} {r.reached_pct:.1f} / {r.target_pct:.1f} %"
                    for r in ot.itertuples())
        + " (short where civil government, public administration's inputs and half of "
        "investment hold too little). Defense import shares, ours vs published (a check, not a "
        "fit; defense_imports.csv): "
        + "; ".join(f"{r.region} from {'all' if r.seller == '*' else r.seller} "
                    f"{r.ours_pct:.1f} vs {r.published_pct:.1f} %" for r in imports.itertuples())
        + ". Purchases from US producers are far below the published shares, which divide FMS "
        "contract values (not deliveries) by the budget: add them in a scenario with "
        "[[defense]] from_region.")
