"""Run a list of scenario files on one data set, save results, print the comparison table."""

from __future__ import annotations

import time
from pathlib import Path

import xarray as xr

from cge.api import REPORTS_DIR, SCENARIO_DIR, Session, compare, write_netcdf
from cge.scenario import ScenarioError

#: The standard scenarios of ``make counterfactual``, in report order: the 2025 US tariffs on
#: Japan with and without retaliation and the deal, cost-sharing and defense, the package deal,
#: and the 2025 and 2026 legal landscapes. ``make counterfactual SCENARIOS=all`` runs the whole
#: library in ``scenarios/``.
STANDARD_SCENARIOS = (
    "benchmark",
    "us_baseline_10",
    "us_jpn_reciprocal_autos",
    "us_jpn_reciprocal_autos_retaliation",
    "jpn_deal_15",
    "jpn_usa_transfer_0p1",
    "jpn_hns_plus100",
    "jpn_stationing_jpn_pays",
    "jpn_defense_2pct_us30",
    "package_jpn_deal15_full_cost",
    "us_2025_landscape",
    "landscape_2026_s232_only",
    "landscape_2026_s232_s122_15",
)


def library() -> list[str]:
    """Every scenario file in ``scenarios/``, the benchmark first."""
    names = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))
    return sorted(names, key=lambda n: n != "benchmark")


def resolve_paths(names: list[str] | tuple[str, ...]) -> list[Path]:
    """Scenario names (files in ``scenarios/``) or paths → existing paths; unknown → error."""
    if list(names) == ["all"]:
        names = library()
    paths = []
    for name in names:
        path = Path(name)
        if not path.exists():
            path = SCENARIO_DIR / f"{name}.toml"
        if not path.exists():
            known = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))
            raise FileNotFoundError(f"scenario {name!r} not found; known: {known}")
        paths.append(path)
    return paths


def run_scenarios(names: list[str] | tuple[str, ...] = STANDARD_SCENARIOS, *,
                  data: str = "default2024", elasticities: str | None = None,
                  out_dir: Path = REPORTS_DIR, echo: bool = True,
                  decompose: bool = True) -> xr.Dataset:
    """Solve each scenario, write ``<out_dir>/results/<name>.nc`` and
    ``<out_dir>/counterfactual.nc`` (all scenarios stacked), print the table, return the stack.

    All scenarios are parsed, validated (closures, shocks applied to the model) and solved
    before anything is written: a bad scenario or a failed solve raises and leaves every earlier
    output file as it was. Each file is written atomically.
    """
    t0 = time.perf_counter()
    session = Session(data, elasticities)
    t_setup = time.perf_counter() - t0
    scenarios = [session.validate(p) for p in resolve_paths(names)]
    seen: dict[str, str] = {}
    for scen in scenarios:
        if scen.name in seen:
            raise ScenarioError(scen.source, "name", f"scenario name {scen.name!r} is also "
                                f"used by {seen[scen.name]}; results would overwrite each other")
        seen[scen.name] = scen.source
    results = [session.run(scen, decompose=decompose) for scen in scenarios]
    for scen, res in zip(scenarios, results, strict=True):
        write_netcdf(res, Path(out_dir) / "results" / f"{scen.name}.nc")
    stack = compare(results)
    path = write_netcdf(stack, Path(out_dir) / "counterfactual.nc")
    if echo:
        print(format_table(stack, results))
        print(f"\ndata {session.benchmark.attrs.get('name')} ({session.benchmark.attrs.get('unit')}"
              f", {session.benchmark.attrs.get('year')}); load+calibrate+build "
              f"{t_setup:.2f} s; total {time.perf_counter() - t0:.2f} s")
        print(f"results: {path}")
    from cge.report import pdf_page_count, write_report

    pdf = write_report(results, Path(out_dir) / "counterfactual.pdf",
                       data_attrs=dict(session.benchmark.attrs),
                       elasticities=str(session.elasticities))
    if echo:
        print(f"report: {pdf} ({pdf_page_count(pdf)} pages)")
    return stack


def _num(x: float, digits: int) -> str:
    """Fixed-point text without a negative zero (-0.00 prints as 0.00)."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_table(stack: xr.Dataset, results: list[xr.Dataset]) -> str:
    """The console table: one row per scenario and region."""
    head = (f"{'scenario':<38} {'region':<6} {'EV $bn':>9} {'EV %':>7} {'realGDP%':>9} "
            f"{'ToT %':>7} {'realW %':>8} {'ΔTB $bn':>9}")
    lines = [head, "-" * len(head)]
    scale = 1e-3 if "million" in str(results[0].attrs.get("unit", "")) else 1.0
    for k, scen in enumerate(stack.scenario.values):
        s = stack.sel(scenario=scen)
        diag = results[k].attrs
        for r in s.region.values:
            x = s.sel(region=r)
            wage = (x.real_factor_price_pct.sel(factor="labour").item()
                    if "labour" in s.factor.values else float("nan"))
            lines.append(f"{scen:<38} {r:<6} {_num(x.EV.item() * scale, 2):>9} "
                         f"{_num(x.EV_pct.item(), 3):>7} {_num(x.real_gdp_pct.item(), 3):>9} "
                         f"{_num(x.tot_pct.item(), 3):>7} {_num(wage, 3):>8} "
                         f"{_num(x.trade_balance_change.item() * scale, 2):>9}")
        lines.append(f"{'':<38} solver: {diag.get('solver_status')}, "
                     f"{diag.get('solver_iterations')} iterations, "
                     f"{float(diag.get('solver_seconds')):.2f} s, residual "
                     f"{float(diag.get('solver_max_residual')):.1e}, Walras slack "
                     f"{float(diag.get('solver_walras_slack')):.1e}")
    return "\n".join(lines)
