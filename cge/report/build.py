"""Solved scenario results → a PDF report through Typst.

Python does the numbers (every cell is formatted here, see :mod:`cge.report.fmt`) and draws the
figures (:mod:`cge.report.figures`); it writes them with ``data.json`` into a temporary folder
next to a copy of ``templates/report.typ``, which reads ``json("data.json")`` and lays the report
out. No Typst markup is built in Python: every string in ``data.json`` is set as plain text.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

import cge
from cge.atomic import atomic_file
from cge.data.benchmark import wage_factor
from cge.options import ModelOptions
from cge.paths import DATA_DIR
from cge.report import figures
from cge.report.appendix import scenario_changes
from cge.report.export import write_tables
from cge.report.findings import Findings, description, key_regions
from cge.report.fmt import MISSING, MoneyUnit, breakable, choose_money_unit, level, pct, sci
from cge.report.provenance import options_rows
from cge.report.strategy import strategy_section
from cge.report.welfare import decomposition_section, packages_section

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SOURCES_MD = DATA_DIR / "SOURCES.md"
#: The scenario appendix: a table of what each scenario changes ("summary"), or also every
#: scenario file's full text ("full").
APPENDIX = ("summary", "full")
CLOSURE_KEYS = ("institutions", "transformation", "factor_market", "external", "numeraire")


# ----------------------------------------------------------------------------- helpers
def scenario_name(ds: xr.Dataset, k: int = 0) -> str:
    """The scenario's name (``attrs["scenario"]``), or ``s<k>``."""
    return str(ds.attrs.get("scenario") or f"s{k}")


def is_benchmark(ds: xr.Dataset) -> bool:
    """A benchmark run: named "benchmark", or no change anywhere (EV, output, trade)."""
    if scenario_name(ds) == "benchmark":
        return True
    changes = [ds.EV.values, ds.output_pct.values, ds.trade_volume_pct.values]
    return all(float(np.nanmax(np.abs(v), initial=0.0)) < 1e-9 for v in changes)




def _val(ds: xr.Dataset, var: str, **sel) -> float:
    if var not in ds:
        return float("nan")
    da = ds[var]
    try:
        return float(da.sel(**sel).item())
    except (KeyError, ValueError):
        return float("nan")


def net_transfers(ds: xr.Dataset) -> xr.DataArray:
    """Net international transfers received (current account − trade balance), data unit."""
    return ds.current_account - ds.trade_balance


def money_unit(results: Sequence[xr.Dataset]) -> MoneyUnit:
    """The money unit of the report, from the data unit, the year and the headline values
    (EV, trade balance change, net transfers)."""
    first = results[0].attrs if results else {}
    unit = first.get("unit")
    values: list[float] = []
    for ds in results:
        for da in (ds.EV, ds.trade_balance_change, net_transfers(ds)):
            values.extend(np.asarray(da.values, float).ravel().tolist())
    return choose_money_unit(values, unit or "US$ million", first.get("data_year") or None)


def pdf_page_count(path: str | Path) -> int:
    """Pages of a PDF (pypdf when installed, else the page objects counted in the file)."""
    try:
        import pypdf
    except ImportError:  # pragma: no cover - pypdf is a dev dependency
        data = Path(path).read_bytes()
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    return len(pypdf.PdfReader(str(path)).pages)


def _table(caption: str, header: list, rows: list[list], *, align: str | None = None,
           breaks: Sequence[int] = (), note: str = "", size: float = 8.5,
           widths: list | None = None, inset: float = 2.4,
           breakable: bool | None = None) -> dict:
    ncol = len(header)
    out = {"caption": caption, "header": header, "rows": rows,
           "align": align or ("l" + "r" * (ncol - 1)), "breaks": list(breaks), "note": note,
           "size": size, "inset": inset,
           "breakable": len(rows) > 30 if breakable is None else breakable}
    if widths:
        out["widths"] = widths
    return out


# ----------------------------------------------------------------------------- report
class _Report:
    def __init__(self, results: Sequence[xr.Dataset], fig_dir: Path,
                 strategy: Sequence[xr.Dataset] = (), sensitivity: xr.Dataset | None = None,
                 appendix: str = "summary") -> None:
        if not results:
            raise ValueError("write_report: no results")
        if appendix not in APPENDIX:
            raise ValueError(f"appendix must be one of {APPENDIX}, got {appendix!r}")
        self.appendix = appendix
        self.results = list(results)
        self.pairs = list(strategy)
        self.sens = (sensitivity if sensitivity is not None and "EV" in sensitivity.data_vars
                     else None)
        self.fig_dir = fig_dir
        self.names = [scenario_name(ds, k) for k, ds in enumerate(self.results)]
        bench = [k for k, ds in enumerate(self.results) if is_benchmark(ds)]
        self.base = self.results[bench[0]] if bench else None
        self.base_name = self.names[bench[0]] if bench else None
        self.cf = [(n, ds) for n, ds in zip(self.names, self.results, strict=True)
                   if ds is not self.base]
        first = self.results[0]
        self.regions = [str(r) for r in first.region.values]
        self.commodities = [str(c) for c in first.commodity.values]
        self.factors = [str(f) for f in first.factor.values]
        self.money = money_unit(self.results)
        self.n_fig = 0
        #: how trade is valued: cif with transport margins (GTAP data) or fob = cif
        self.cif = str(first.attrs.get("margins", "")).startswith("cif")
        self.tb_basis = ("exports fob and margin services − imports cif" if self.cif
                         else "exports − imports, fob")

    # -- small pieces
    def _fig(self, stem: str) -> Path:
        self.n_fig += 1
        return self.fig_dir / f"fig{self.n_fig:02d}_{stem}.svg"

    def _labour(self) -> str | None:
        return wage_factor(self.factors)

    def _gdp0(self, r: str) -> float:
        return _val(self.base, "gdp_nominal", region=r) if self.base is not None else math.nan

    def _inc0(self, r: str) -> float:
        return _val(self.base, "income", region=r) if self.base is not None else math.nan

    def _pair(self) -> tuple[str, str]:
        if "USA" in self.regions and "JPN" in self.regions:
            return "JPN", "USA"
        return self.regions[1], self.regions[0]

    # -- sections
    def meta(self) -> dict:
        a = self.results[0].attrs
        data_set, unit = a.get("data_set", ""), a.get("unit", "")
        rows = [[n, str(ds.attrs.get("scenario_sha256") or MISSING)]
                for n, ds in zip(self.names, self.results, strict=True)]
        return {
            "version": cge.__version__,
            "data_set": str(data_set),
            "unit": str(unit),
            "year": str(a.get("data_year") or MISSING),
            "data_sha256": str(a.get("data_sha256") or MISSING),
            "date": _dt.date.today().isoformat(),
            "money": self.money.label,
            "benchmark": self.base_name or "",
            "n_scenarios": len(self.results),
            "regions": ", ".join(self.regions),
            "commodities": ", ".join(self.commodities),
            "hashes": _table("Scenario files and their SHA-256 hashes (of the file text as "
                             "read).", ["Scenario", "SHA-256"], rows, align="ll", size=7.5),
        }

    def summary(self) -> dict:
        mu = self.money.label
        lab = self._labour()
        header = ["Scenario", "Region", f"EV ({mu})", "EV (% of spending measured)", "Real GDP (%)",
                  "Terms of trade (%)", f"Real wage (%, {lab})" if lab else "Real wage (%)",
                  f"ΔTrade balance ({mu})"]
        rows, breaks = [], []
        for n, ds in zip(self.names, self.results, strict=True):
            for k, r in enumerate(self.regions):
                wage = _val(ds, "real_factor_price_pct", factor=lab, region=r) if lab else None
                rows.append([breakable(n) if k == 0 else "", r,
                             self.money.change(_val(ds, "EV", region=r)),
                             pct(_val(ds, "EV_pct", region=r)),
                             pct(_val(ds, "real_gdp_pct", region=r)),
                             pct(_val(ds, "tot_pct", region=r)), pct(wage),
                             self.money.change(_val(ds, "trade_balance_change", region=r))])
            breaks.append(len(rows))
        head = _table(
            "Headline results by scenario and region: changes from the benchmark.", header,
            rows, align="llrrrrrr", breaks=breaks[:-1], size=7.5, inset=1.6,
            widths=["auto", "auto", "1fr", "1fr", "1fr", "1fr", "1fr", "1fr"],
            note=(f"EV: Hicksian equivalent variation at benchmark prices, {mu}; "
                  "EV % of benchmark regional income. Real wage: labour price over the CPI. "
                  f"ΔTrade balance: change in {self.tb_basis}, "
                  f"{mu}. Percentage changes to 2 decimals, money to "
                  f"{self.money.decimals} decimal(s)."))
        second, first = self._pair()
        keys = [first, second]
        top_rows = []
        for n, ds in self.cf:
            row = [breakable(n)]
            for r in keys:
                s = ds.output_pct.sel(region=r).to_series().dropna()
                s = s.reindex(s.abs().sort_values(ascending=False).index)[:3]
                row.append("; ".join(f"{a} {pct(v)}" for a, v in s.items()) or MISSING)
            top_rows.append(row)
        top = _table(f"The three largest sectoral output changes (by absolute % change) in "
                     f"{first} and {second}, per counterfactual.", ["Scenario", *keys],
                     top_rows, align="lll", size=7.5, inset=1.6,
                     widths=["auto", "1fr", "1fr"],
                     note="Output: real gross output of the activity, % change from the "
                          "benchmark. Every region and sector: the output heat tables of "
                          "section 3.")
        second, first = self._pair()
        found = Findings(self.cf, self.regions, (first, second), self.money, self.pairs,
                         self.sens)
        return {"findings": found.build(), "comparison": found.table(_table, breakable),
                "table": head, "top": top if self.cf else None}

    def _by_region(self, caption: str, fn, *, fmt, base_col: tuple[str, callable] | None = None,
                   world=None, note: str = "") -> dict:
        """Scenarios as rows, regions (and the world) as columns; with ``base_col`` (label,
        level function of a region or None for the world) a first row of benchmark levels."""
        header = ["Scenario", *self.regions] + (["World"] if world is not None else [])
        rows, breaks = [], []
        if base_col is not None:
            rows.append([base_col[0], *[base_col[1](r) for r in self.regions]]
                        + ([base_col[1](None)] if world is not None else []))
            breaks = [1]
        for n, ds in self.cf:
            rows.append([breakable(n), *[fmt(fn(ds, r)) for r in self.regions]]
                        + ([fmt(world(ds))] if world is not None else []))
        return _table(caption, header, rows, breaks=breaks, note=note, size=7.5, inset=1.8,
                      widths=["auto", *["1fr"] * (len(header) - 1)])

    def _base_level(self, fn):
        """A benchmark-level column for :meth:`_by_region` (None without a benchmark run)."""
        if self.base is None:
            return None
        mo = self.money

        def cell(r):
            return mo.level(sum(fn(x) for x in self.regions) if r is None else fn(r))
        return cell

    def welfare(self) -> dict:
        """Section 2 in four parts: welfare (chart, EV tables, bands, parts), where it comes
        from (the EV decomposition), the packages part by part, the macro results."""
        figs, macro_figs = self._welfare_figures() if self.cf else ([], [])
        keys = list(self._pair()[::-1])
        sections = [{"title": "Welfare", "figures": figs,
                     "tables": [*self._ev_tables(), *self._band_tables(),
                                *self._parts_tables(keys)]}]
        dec = decomposition_section(self.cf, keys, self.money, self._fig, _table)
        if dec is not None:
            sections.append({"title": "Where the welfare change comes from",
                             "figures": dec["figures"], "tables": [dec["table"]]})
        packs = packages_section(self.cf, keys, self.money, self._fig, _table)
        if packs is not None:
            sections.append({"title": "The packages part by part",
                             "figures": packs["figures"], "tables": [packs["table"]]})
        sections.append({"title": "Macroeconomic results", "figures": macro_figs,
                         "tables": self._macro_tables()})
        return {"sections": sections}

    def _bands(self, var: str, **sel) -> dict[str, tuple[list[float], list[float]]]:
        """{scenario: (5 % values, 95 % values)} over the regions (or ``sel``'s other dim) of
        a sensitivity summary variable, scaled like the report's values of ``var``."""
        if self.sens is None or var not in self.sens:
            return {}
        out = {}
        da = self.sens[var]
        for n, _ in self.cf:
            if n not in da.scenario.values:
                continue
            v = da.sel(scenario=n, **sel)
            out[n] = (v.sel(stat="p05").values, v.sel(stat="p95").values)
        return out

    def _band_tables(self) -> list[dict]:
        """EV with its sensitivity band, one row per scenario and region."""
        if self.sens is None:
            return []
        mo, mu, s = self.money, self.money.label, self.sens
        rows, breaks = [], []
        for n, _ in self.cf:
            if n not in s.scenario.values:
                continue
            if rows:
                breaks.append(len(rows))
            for k, r in enumerate(self.regions):
                v = s["EV"].sel(scenario=n, region=r)
                share = float(s["EV_sign_share"].sel(scenario=n, region=r))
                rows.append([breakable(n) if k == 0 else "", r,
                             *[mo.change(float(v.sel(stat=x))) for x in
                               ("central", "mean", "sd", "p05", "p95")], f"{share:.2f}"])
        method = s.attrs.get("method", "")
        what = (f"{s.attrs.get('draws', '?')} draws of the specification "
                f"{s.attrs.get('spec', '?')} ({method.replace('_', ' ')})")
        return [_table(f"Equivalent variation with its sensitivity band, {mu}: {what}.",
                       ["Scenario", "Region", "Central", "Mean", "SD", "5 %", "95 %",
                        "Same sign"], rows, align="llrrrrrr", breaks=breaks, size=7.5,
                       note=f"Central: at the central elasticities. Band: "
                            f"{s.attrs.get('band', '')}. Same sign: the share of draws in "
                            f"which the EV has the central EV's sign. Each draw recalibrates "
                            f"the data with its elasticities and solves the scenario; "
                            f"{int(s.attrs.get('tasks_failed', 0))} of "
                            f"{int(s.attrs.get('tasks', 0))} tasks failed.")]

    def _ev_tables(self) -> list[dict]:
        """EV (headline, saying whose), EV in % of what it measures, private EV."""
        mu, mo = self.money.label, self.money
        inc_col = ((f"Benchmark income ({mu})", self._base_level(self._inc0))
                   if self.base is not None else None)
        private = [name for name, ds in self.cf if ds.EV.attrs.get("whose") == "private"]
        whose = ("regional EV: private consumption, civil government and saving"
                 + (f"; private EV (household consumption) for {', '.join(private)}, run "
                    "with separate institutions" if private else ""))
        return [
            self._by_region(
                f"Equivalent variation, {mu} (benchmark prices).",
                lambda ds, r: _val(ds, "EV", region=r), fmt=mo.change, base_col=inc_col,
                world=lambda ds: float(ds.EV.sum()),
                note=f"Positive: the region gains. Whose welfare: {whose}. Defense is outside "
                     "utility. Income: regional household income."),
            self._by_region(
                "Equivalent variation, % of the benchmark spending it measures.",
                lambda ds, r: _val(ds, "EV_pct", region=r), fmt=pct,
                world=lambda ds: 100 * float(ds.EV.sum()) / float(ds.welfare_base.sum())),
            self._by_region(
                f"Private EV (household consumption only), {mu}.",
                lambda ds, r: _val(ds, "EV_private", region=r), fmt=mo.change,
                world=lambda ds: float(ds.EV_private.sum()),
                note="What households alone gain or lose: civil government and saving left "
                     "out. Tariff revenue and transfers that fund civil government show in "
                     "the regional EV only."),
        ]

    def _parts_tables(self, keys: list[str]) -> list[dict]:
        """The real change of each welfare part for the key regions, one table."""
        mu, mo = self.money.label, self.money
        parts = ("household", "government", "saving", "defense")
        rows, breaks = [], []
        for name, ds in self.cf:
            if rows:
                breaks.append(len(rows))
            for k, r in enumerate(keys):
                rows.append([breakable(name) if k == 0 else "", r,
                             *[mo.change(float(ds.welfare_parts.sel(part=a, region=r)))
                               for a in parts],
                             mo.change(_val(ds, "EV_regional", region=r)),
                             mo.change(_val(ds, "EV_private", region=r))])
        if not rows:
            return []
        return [_table(
            f"Welfare by part for {', '.join(keys)}, {mu} (benchmark prices; every region: "
            "results variable welfare_parts).",
            ["Scenario", "Region", "private consumption", "civil government", "saving",
             "defense (not in utility)", "regional EV", "private EV"], rows,
            align="llrrrrrr", breaks=breaks, size=7.5, inset=1.6,
            note="Real change of each part at benchmark prices. The regional EV is the "
                 "Cobb–Douglas aggregate of private consumption, civil government and "
                 "saving, not their sum.")]

    def _macro_tables(self) -> list[dict]:
        """Real GDP, terms of trade, real factor returns, trade balance."""
        mu, mo = self.money.label, self.money
        have_base = self.base is not None
        gdp_col = ((f"Benchmark GDP ({mu})", self._base_level(self._gdp0)) if have_base
                   else None)
        tables = [
            self._by_region(
                "Real GDP (expenditure side, benchmark prices), % change.",
                lambda ds, r: _val(ds, "real_gdp_pct", region=r), fmt=pct, base_col=gdp_col),
            self._by_region(
                "Terms of trade (Laspeyres export over import price index), % change.",
                lambda ds, r: _val(ds, "tot_pct", region=r), fmt=pct)]
        for f in self.factors:
            what = "Real wage" if f == wage_factor(self.factors) else f"Real return to {f}"
            tables.append(self._by_region(
                f"{what} ({f} price over the CPI), % change.",
                lambda ds, r, f=f: _val(ds, "real_factor_price_pct", factor=f, region=r),
                fmt=pct))
        tb_col = None
        if have_base:
            tb_col = (f"Benchmark trade balance ({mu})",
                      self._base_level(lambda r: _val(self.base, "trade_balance", region=r)))
        tables.append(self._by_region(
            f"Change in the trade balance ({self.tb_basis}), {mu}.",
            lambda ds, r: _val(ds, "trade_balance_change", region=r), fmt=mo.change,
            base_col=tb_col))
        if have_base:
            tables.append(self._by_region(
                "Change in the trade balance, percentage points (pp) of benchmark GDP.",
                lambda ds, r: 100 * _val(ds, "trade_balance_change", region=r) / self._gdp0(r),
                fmt=pct, note="pp: difference of two shares, not a % change."))
        return tables

    def _key_regions(self) -> list[str]:
        """The regions the charts show (:func:`cge.report.findings.key_regions` of the
        negotiating pair); the tables show all."""
        return key_regions(self.regions, self._pair()[::-1])

    def _scenario_bars(self, chunk, keys, var: str, scale: float = 1.0, **sel) -> dict:
        """{region: [value of ``var`` in each scenario of ``chunk``]} for the key regions."""
        return {r: [scale * _val(ds, var, region=r, **sel) for _, ds in chunk] for r in keys}

    def _welfare_figures(self) -> tuple[list[dict], list[dict]]:
        """Bar charts of welfare and of the macro results: one row per scenario (at most
        :data:`figures.MAX_BARS` per chart, more scenarios in further charts), one bar per key
        region; every region is in the tables."""
        mu, mo = self.money.label, self.money
        keys = self._key_regions()
        welfare, macro = [], []
        bands = self._bands("EV")
        lab = self._labour()
        every = f"Every region: the tables below. Bars: {', '.join(keys)}."
        for k, (chunk, part) in enumerate(figures.chunks(self.cf)):
            names = [n for n, _ in chunk]
            errors = {r: ([mo.scale * bands[n][0][self.regions.index(r)] if n in bands
                           else np.nan for n in names],
                          [mo.scale * bands[n][1][self.regions.index(r)] if n in bands
                           else np.nan for n in names]) for r in keys} if bands else {}
            path = figures.grouped_bars(
                [{"title": "Equivalent variation", "label": mu, "errors": errors,
                  "values": self._scenario_bars(chunk, keys, "EV", mo.scale)},
                 {"title": "Equivalent variation, % of spending measured", "label": "%",
                  "values": self._scenario_bars(chunk, keys, "EV_pct")}],
                names, keys, self._fig(f"welfare{k}"), ncols=2, horizontal=True)
            band = (" Error bars: the 5-95 % band of the sensitivity analysis (table "
                    "below)." if bands else "")
            welfare.append({"file": path.name, "caption": f"Welfare by scenario{part}: "
                            f"equivalent variation in {mu} (left) and in % of the benchmark "
                            f"spending it measures (right).{band} {every}"})
        for k, (chunk, part) in enumerate(figures.chunks(self.cf, figures.MAX_BARS // 2)):
            panels = [{"title": "Real GDP", "label": "% change",
                       "values": self._scenario_bars(chunk, keys, "real_gdp_pct")},
                      {"title": "Terms of trade", "label": "% change",
                       "values": self._scenario_bars(chunk, keys, "tot_pct")}]
            if lab:
                panels.append({"title": f"Real wage ({lab})", "label": "% change",
                                "values": self._scenario_bars(chunk, keys,
                                                              "real_factor_price_pct",
                                                              factor=lab)})
            tb = self._scenario_bars(chunk, keys, "trade_balance_change", mo.scale)
            # a change that rounds to 0 in the tables is solver noise (e.g. 1e-11 under a
            # fixed current account): no panel of it, the caption says so
            moved = max((abs(v) for vals in tb.values() for v in vals if math.isfinite(v)),
                        default=0.0) >= 0.5 * 10.0 ** -mo.decimals
            if moved:
                panels.append({"title": "Trade balance change", "label": mu, "values": tb})
            path = figures.grouped_bars(panels, [n for n, _ in chunk], keys,
                                        self._fig(f"macro{k}"), ncols=2, horizontal=True)
            tb_text = (f"trade balance ({mu})" if moved else
                       f"; the trade balance does not change to {mo.decimals} decimal(s) "
                       f"of {mu}")
            macro.append({"file": path.name, "caption": f"Macroeconomic results{part}: real "
                          "GDP, terms of trade and real wage (% change)"
                          + (f", {tb_text}" if moved else tb_text) + f". {every}"})
        return welfare, macro

    def sectors(self) -> list[dict]:
        """For each counterfactual two heat tables (sectors x regions, % change from the
        benchmark): real output by activity and the price of domestic sales by commodity.
        Each family is on one colour scale over all scenarios, stated in the captions and
        drawn as a key under each table."""
        pd0 = self.base.price_domestic if self.base is not None else 1.0
        maps = [(n, ds.output_pct.transpose("activity", "region"),
                 (100 * (ds.price_domestic / pd0 - 1)).transpose("commodity", "region"))
                for n, ds in self.cf]
        scales = {"output": figures.scale_of([o.values for _, o, _ in maps]),
                  "price": figures.scale_of([p.values for _, _, p in maps])}
        what = {"output": ("Real output", "Activity"),
                "price": ("Price of domestic sales (relative to the numeraire)", "Commodity")}
        out = []
        for n, *arrays in maps:
            tables = []
            for family, arr in zip(("output", "price"), arrays, strict=True):
                title, row_label = what[family]
                vmax = scales[family]
                rows = [[str(label), *[pct(v) for v in row]]
                        for label, row in zip(arr[arr.dims[0]].values, arr.values, strict=True)]
                t = _table(f"{title}, % change from the benchmark: {breakable(n)}. Colour "
                           f"scale ±{level(vmax, figures.scale_decimals(vmax))} % for every "
                           "scenario (darkest at or beyond).", [row_label, *self.regions],
                           rows, size=7.5, widths=["auto", *["1fr"] * len(self.regions)],
                           note=f"{MISSING}: no benchmark activity.", breakable=False)
                tables.append(figures.heat_table(t, arr.values, vmax))
            out.append({"scenario": n, "tables": tables})
        return out

    def bilateral(self) -> dict | None:
        """Trade between the pair by commodity: charts of each direction's change at
        benchmark prices, stacked by commodity (one bar per scenario, the total as a
        diamond), and for each direction a heat table of the volume change by scenario and
        commodity under the benchmark value (one colour scale for both directions)."""
        if not self.cf or len(self.regions) < 2:
            return None
        a, b = self._pair()
        mo, mu = self.money, self.money.label
        directions = ((a, b), (b, a))

        def flows(ds, var, s, d):
            return [_val(ds, var, commodity=i, exporter=s, importer=d) for i in self.commodities]

        volumes = {(s, d): np.array([flows(ds, "trade_volume_pct", s, d) for _, ds in self.cf])
                   for s, d in directions}
        vmax = figures.scale_of(volumes.values())
        tables = []
        for s, d in directions:
            rows = [[f"Benchmark ({mu}, fob)", *[mo.level(v) for v in flows(
                self.results[0], "trade_benchmark", s, d)]]]
            rows += [[breakable(n), *[pct(v) for v in vol]]
                     for (n, _), vol in zip(self.cf, volumes[(s, d)], strict=True)]
            t = _table(f"Bilateral trade volume {s} → {d} by commodity: benchmark value ({mu}, "
                       f"fob) and % change. Colour scale "
                       f"±{level(vmax, figures.scale_decimals(vmax))} % for both directions.",
                       ["Scenario", *[breakable(i) for i in self.commodities]],
                       rows, breaks=[1], size=6.5, inset=1.6,
                       widths=["auto", *["1fr"] * len(self.commodities)],
                       note="Volume: benchmark-price units shipped by the exporter. "
                            f"{MISSING}: no trade in the benchmark.")
            tables.append(figures.heat_table(t, volumes[(s, d)], vmax, plain_rows=1))
        figs = []
        for k, (chunk, part) in enumerate(figures.chunks(self.cf)):
            panels = []
            for s, d in directions:
                change = np.array([[mo.scale * (v - v0) for v, v0 in zip(
                    flows(ds, "trade_volume", s, d), flows(ds, "trade_benchmark", s, d),
                    strict=True)] for _, ds in chunk])
                panels.append({"title": f"{s} → {d}", "label": f"{mu}, at benchmark prices",
                               "values": dict(zip(self.commodities, change.T, strict=True)),
                               "total": change.sum(axis=1)})
            path = figures.stacked_bars(panels, [n for n, _ in chunk], self.commodities,
                                        self._fig(f"bilateral{k}"), total_label="all goods")
            figs.append({"file": path.name, "caption": f"Bilateral trade between {a} and {b}"
                         f"{part}: change of each direction's volume at benchmark prices "
                         f"({mu}), stacked by commodity (rises to the right of zero, falls "
                         "to the left); the diamond is the change of all goods. Volumes in % "
                         "by commodity: the tables below."})
        return {"pair": [a, b], "tables": tables, "figures": figs}

    def tariffs(self) -> dict:
        """Tariff revenue and net transfers: every run (the benchmark too) as a row, regions
        and the world as columns."""
        mo, mu = self.money, self.money.label
        header = ["Scenario", *self.regions, "World"]
        rows = [[breakable(n), *[mo.level(_val(ds, "tariff_revenue", region=r))
                                  for r in self.regions],
                 mo.level(float(ds.tariff_revenue.sum()))]
                for n, ds in zip(self.names, self.results, strict=True)]
        widths = ["auto", *["1fr"] * (len(header) - 1)]
        tariff = _table(f"Import tariff revenue by importing region, {mu} (levels).", header,
                        rows, size=7.5, inset=1.8, widths=widths,
                        note=("Tariffs are levied on the cif value (fob plus transport "
                              "margins)" if self.cif else "Tariffs are levied on the world "
                              "(fob = cif) value") + " and accrue to the importer; values in "
                             "current prices (numeraire units).")
        nets = [net_transfers(ds) for ds in self.results]
        transfer = None
        if any(float(np.nanmax(np.abs(n.values), initial=0.0)) > 1e-9 for n in nets):
            rows = [[breakable(name), *[mo.change(float(n.sel(region=r)))
                                         for r in self.regions]]
                    for name, n in zip(self.names, nets, strict=True)]
            transfer = _table(f"Net international transfers received (current account − trade "
                              f"balance), {mu}.", header[:-1], rows, size=7.5, inset=1.8,
                              widths=widths[:-1],
                              note="+ received, − paid; exogenous in units of the numeraire.")
        return {"tariff": tariff, "transfer": transfer}

    def scenarios(self) -> dict:
        items = []
        for n, ds in zip(self.names, self.results, strict=True):
            items.append({"name": n, "sha256": str(ds.attrs.get("scenario_sha256") or MISSING),
                          "text": str(ds.attrs.get("scenario_text") or "(no scenario text)")})
        rows = [[breakable(n)] + [breakable(str(ds.attrs.get(k, MISSING)))
                                   for k in CLOSURE_KEYS]
                for n, ds in zip(self.names, self.results, strict=True)]
        closures = _table("Closures and numeraire used in each scenario.",
                          ["Scenario", "Institutions", "Transformation", "Factor market",
                           "External", "Numeraire"], rows, align="llllll", size=7.5)
        change_rows = [[breakable(n), description(ds) or MISSING, scenario_changes(ds)]
                       for n, ds in zip(self.names, self.results, strict=True)]
        changes = _table("What each scenario changes against the benchmark.",
                         ["Scenario", "What it is", "What it changes"], change_rows,
                         align="lll", size=7, inset=1.6, widths=["auto", "1fr", "1.6fr"],
                         breakable=True,
                         note="Tariffs: the mean applied rate of each importer on each "
                              "exporter's goods, weighted by benchmark trade, before -> after "
                              "(from the results); the largest changes in trade terms first. "
                              "The other lines are the scenario file's tables as run.")
        return {"items": items if self.appendix == "full" else [], "closures": closures,
                "changes": changes, "full": self.appendix == "full"}

    def methods(self) -> dict:
        """Elasticities and options as run: read from the results (the first scenario's; a
        scenario run with other values is named in a note)."""
        first = self.results[0]
        label = str(first.attrs.get("elasticity_source") or MISSING)
        if all(k in first for k in ("esubd", "esubm", "esubva")):
            rows = [[i, level(float(first.esubd.sel(commodity=i)), 2),
                     level(float(first.esubm.sel(commodity=i)), 2),
                     level(float(first.esubva.sel(activity=i)), 2)] for i in self.commodities]
            elast = _table(f"Elasticities used (source: {label}).",
                           ["Commodity", "Domestic vs imports σD (ESUBD)",
                            "Among import sources σM (ESUBM)",
                            "Labour vs capital σVA (ESUBVA)"], rows,
                           note="σD, σM and σVA are the elasticities of substitution of "
                                "the equations above (GTAP parameter names in brackets)."
                                + self._differing(("esubd", "esubm", "esubva"), ()))
        else:
            elast = _table("Elasticities used.", ["Note"],
                           [["not recorded in these results"]], align="l")
        names = [f.name for f in dataclasses.fields(ModelOptions)]
        other = _table("Model options as run (every option of the model build, from the "
                       "results).", ["Option", "Value"], options_rows(first), align="ll",
                       note="Closures (institutions, transformation, factor market, external, "
                            "numeraire) per scenario: the scenario definitions."
                            + self._differing((), tuple(names)))
        return {"elasticities": elast, "other": other, "cif": self.cif}

    def _differing(self, variables: tuple[str, ...], attrs: tuple[str, ...]) -> str:
        """A note naming the scenarios run with other elasticities than the first one."""
        first = self.results[0]
        odd = [n for n, ds in zip(self.names, self.results, strict=True)
               if any(k in ds and k in first and not np.array_equal(ds[k].values,
                                                                   first[k].values)
                      for k in variables)
               or any(ds.attrs.get(k) != first.attrs.get(k) for k in attrs)]
        return (f" Scenarios run with other values: {', '.join(odd)}." if odd else "")

    def data(self) -> dict:
        """The data section: the data set's notes and hold-out validation (from the results);
        for a data set shipped with the model (a folder of ``data/`` of that name) also the
        repository's sources and imputations (``data/SOURCES.md``), which describe only
        those."""
        name = str(self.results[0].attrs.get("data_set", ""))
        shipped = bool(name) and (DATA_DIR / name / "dataset.toml").is_file()
        sources, imputations = parse_sources(SOURCES_MD) if shipped else ([], [])
        notes = [p.strip() for p in str(self.results[0].attrs.get("data_notes", "")).split("\n")
                 if p.strip()]
        return {"shipped": shipped, "sources": _table("Data sources (data/SOURCES.md).",
                                  ["Source", "Used for", "Citation"], sources, align="lll",
                                  size=7, widths=["1fr", "1fr", "2fr"], breakable=True)
                if sources else None,
                "imputations": imputations, "notes": notes,
                "intra_region": str(self.results[0].attrs.get("intra_region_trade", "")),
                "margins": str(self.results[0].attrs.get("margins", "")) if self.cif else "",
                "validation": self.validation()}

    def validation(self) -> dict:
        """Hold-out validation: the benchmark vs published 2024 figures it was not fitted to.

        Read from the results' ``data_validation`` attribute (the data set's ``validation.csv``,
        written by :mod:`cge.databuild.validation`, as CSV text); without it, one line says so."""
        import csv
        import io

        text = str(self.results[0].attrs.get("data_validation", "") or "")
        records = list(csv.DictReader(io.StringIO(text))) if text.strip() else []
        if not records:
            return {"table": None, "line": "The data set carries no hold-out validation table "
                                            "(no validation.csv in its folder)."}
        rows, logs, within = [], [], 0
        for rec in records:
            ours, pub, ratio = (_num(rec.get(k)) for k in ("ours", "published", "ratio"))
            unit = str(rec.get("unit", ""))
            rows.append([str(rec.get("description", rec.get("id", ""))), unit,
                         level(ours, 1), level(pub, 1), level(ratio, 2),
                         str(rec.get("quality", ""))])
            if ratio > 0:
                logs.append(abs(math.log(ratio)))
                within += abs(ratio - 1.0) <= 0.25
        median = float(np.median(logs)) if logs else math.nan
        line = (f"{len(records)} figures; median absolute log error {level(median, 2)} "
                f"(ours/published about ×{level(math.exp(median), 2)} or ÷ that); "
                f"{within} of {len(records)} within ±25 %.")
        table = _table(
            "Hold-out validation: ours vs published (figures the data were not fitted to).",
            ["Figure", "Unit", "Ours", "Published", "Ratio", "Q"], rows, align="llrrrc",
            size=7, widths=["1fr", "auto", "auto", "auto", "auto", "auto"], breakable=True,
            note="Ours: benchmark at world prices (fob = cif, no margins); published customs "
                 "imports are cif, exports fob. Q: P official page, N news citing an official "
                 "source, S secondary. Ratio = ours / published. Sources, quotes and "
                 "conversions: data/validation2024/holdout.csv.")
        return {"table": table, "line": line}

    def solver(self) -> dict:
        rows = []
        for n, ds in zip(self.names, self.results, strict=True):
            a = ds.attrs
            rows.append([breakable(n), str(a.get("solver_status", MISSING)),
                         str(a.get("solver_iterations", MISSING)),
                         sci(_num(a.get("solver_max_residual"))),
                         breakable(str(a.get("solver_worst_equation", MISSING))),
                         sci(_num(a.get("solver_walras_slack"))),
                         level(_num(a.get("solver_seconds")), 2)])
        return _table("Solver diagnostics (Ipopt) by scenario.",
                      ["Scenario", "Status", "Iterations", "Max. residual", "Worst equation",
                       "Walras slack", "Seconds"], rows, align="llrrlrr", size=7.5,
                      note="Max. residual: largest relative equation residual at the solution; "
                           "Walras slack: excess supply in the market dropped by Walras' law "
                           "(should be ~0).")

    def build(self) -> dict:
        return {"meta": self.meta(), "summary": self.summary(), "welfare": self.welfare(),
                "sectors": self.sectors(), "bilateral": self.bilateral(),
                "tariffs": self.tariffs(),
                "strategy": strategy_section(self.pairs, self._fig, _table),
                "scenarios": self.scenarios(),
                "methods": self.methods(), "data": self.data(), "solver": self.solver()}


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _plain(md: str) -> str:
    """Markdown inline markup → plain text."""
    md = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", md)
    return md.replace("`", "").replace("**", "").replace("*", "").strip()


def parse_sources(path: Path) -> tuple[list[list[str]], list[str]]:
    """(rows [source, used for, citation] of the first table, imputation bullets) of SOURCES.md."""
    if not path.exists():
        return [], []
    rows, bullets, in_imp = [], [], False
    header: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if header is None:
                header = [c.lower() for c in cells]
            elif not set(line) <= set("|-: "):
                get = dict(zip(header, cells, strict=False))
                rows.append([_plain(get.get("source", "")), _plain(get.get("used for", "")),
                             _plain(get.get("full citation", ""))])
        elif line.startswith("## "):
            in_imp = "imputation" in line.lower()
        elif in_imp and line.startswith("* "):
            bullets.append(_plain(line[2:]))
        elif in_imp and line.startswith("  ") and bullets:
            bullets[-1] += " " + _plain(line)
    return rows, bullets


def write_report(results: Sequence[xr.Dataset], out_path: str | Path, *,
                 stage: Callable[[str], None] | None = None,
                 strategy: Sequence[xr.Dataset] = (),
                 sensitivity: xr.Dataset | None = None,
                 tables_dir: str | Path | None = None,
                 workbook: str | Path | None = None, appendix: str = "summary") -> Path:
    """Write the PDF report comparing solved scenarios (``Session.run`` results) and, with
    ``strategy``, the strategy analyses of negotiating pairs
    (:func:`cge.negotiation.analyse_pair` results) in a section of their own; with
    ``sensitivity`` (a sweep's summary, :func:`cge.sensitivity.summary.summarise`), error bars
    on the EV and bilateral-volume charts and a table of the EV with its band.

    Every table is also written as CSV into ``tables_dir`` and all of them into the Excel
    workbook ``workbook`` (:func:`cge.report.export.write_tables`; defaults next to the PDF:
    ``<name>_tables/`` and ``<name>_tables.xlsx``). ``appendix``: ``"summary"`` (a table of
    what each scenario changes) or ``"full"`` (also each scenario file's text).

    The report reads the results only: data set name, unit, year, content hash and notes,
    elasticities and options as run are all in each result (``cge.results``). ``stage`` is
    called with a line for each stage (tables and charts, PDF). Written atomically; returns
    the path.
    """
    stage = stage or (lambda text: None)
    import typst

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cge-report-") as tmp:
        work = Path(tmp)
        for src in TEMPLATE_DIR.glob("*.typ"):
            shutil.copy(src, work / src.name)
        stage(f"report: tables and charts for {len(results)} scenario(s)")
        data = _Report(results, work, strategy, sensitivity, appendix).build()
        stage("report: typesetting the PDF (Typst)")
        (work / "data.json").write_text(json.dumps(data, ensure_ascii=False, indent=1),
                                        encoding="utf-8")
        pdf = typst.compile(str(work / "report.typ"), root=str(work))
        stage("report: tables as CSV and XLSX")
        write_tables(data, Path(tables_dir) if tables_dir is not None
                     else out_path.with_name(f"{out_path.stem}_tables"),
                     Path(workbook) if workbook is not None
                     else out_path.with_name(f"{out_path.stem}_tables.xlsx"))
    with atomic_file(out_path) as tmp_pdf:
        tmp_pdf.write_bytes(pdf)
    return out_path
