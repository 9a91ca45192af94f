"""Run a list of scenario files on one data set: solve, write the run (NetCDF + PDF) into its
folder without touching earlier runs, print the comparison table."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from cge.api import REPORTS_DIR, SCENARIO_DIR, Session, compare, scenario_path, write_netcdf
from cge.atomic import swap_folder
from cge.data.benchmark import wage_factor
from cge.progress import Progress, Silent
from cge.scenario import ScenarioError
from cge.solve import SolveError

if TYPE_CHECKING:
    from cge.negotiation import PairAnalysis

#: The standard scenarios of ``make counterfactual``, in report order: the 2025 US landscape as
#: enacted (with and without the retaliation enacted), February-July 2026 as applied, the four
#: named branches after July 2026 (the library does not claim which holds), Japan's own options
#: (the 2025 deal, its retaliation against the 2025 tariffs, host-nation support doubled, defense
#: at 3.5 % of GDP) and the Japan packages on the MFN + Section 232 branch (full cost of US
#: forces, defense at 3.5 % with 30 % bought from the US, the US$ 550 bn pledge, all three).
#: ``make counterfactual SCENARIOS=all`` runs the whole library in ``scenarios/``.
STANDARD_SCENARIOS = (
    "benchmark",
    "us_2025_landscape",
    "us_2025_landscape_retaliation",
    "landscape_2026_s232_s122_10",
    "branch_2026h2_mfn_s232",
    "branch_2026h2_s122_10",
    "branch_2026h2_deals_s301",
    "branch_2026h2_autos_s301",
    "jpn_deal_15",
    "us_jpn_reciprocal_autos_retaliation",
    "jpn_hns_plus100",
    "jpn_defense_3p5pct",
    "package_2026h2_jpn_hns_full_cost",
    "package_2026h2_jpn_defense_3p5_us30",
    "package_2026h2_jpn_invest550",
    "package_2026h2_jpn_all",
)


class OutputError(OSError):
    """The output folder cannot be created or written (checked before anything is solved)."""


def library() -> list[str]:
    """Every scenario file in ``scenarios/``, the benchmark first."""
    names = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))
    return sorted(names, key=lambda n: n != "benchmark")


def resolve_paths(names: list[str] | tuple[str, ...]) -> list[Path]:
    """Scenario names (files in ``scenarios/``) or paths → existing paths; ``["all"]`` is the
    whole library. Unknown → :class:`~cge.scenario.ScenarioError` listing the library."""
    if list(names) == ["all"]:
        names = library()
    return [scenario_path(name) for name in names]


def run_folder(names: list[str] | tuple[str, ...]) -> Path:
    """Where a run of ``names`` writes when no ``--out`` is given.

    The standard set (``make counterfactual``) owns ``reports/``; any other selection writes to
    ``reports/runs/<run>/``, ``<run>`` being the scenario name, or the names joined by ``+``
    (shortened, with a hash of the full list, when long), so runs never overwrite the standard
    report or each other."""
    if tuple(names) == STANDARD_SCENARIOS:
        return REPORTS_DIR
    stems = [Path(str(n)).stem for n in names]
    run = "+".join(stems)
    if len(run) > 60 or not re.fullmatch(r"[A-Za-z0-9_.+-]+", run):
        digest = hashlib.sha256("\0".join(map(str, names)).encode("utf-8")).hexdigest()[:8]
        head = re.sub(r"[^A-Za-z0-9_-]", "_", stems[0])[:40] if stems else "run"
        run = f"{head}+{len(stems) - 1}_more-{digest}" if len(stems) > 1 else f"{head}-{digest}"
    return REPORTS_DIR / "runs" / run


def _staging(out_dir: Path) -> Path:
    """A fresh staging folder inside ``out_dir`` (same file system: moves are renames); raises
    :class:`OutputError` when ``out_dir`` cannot be created or written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
        probe = stage / "probe"
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"output folder {out_dir} is not writable "
                          f"({exc.strerror or exc}); choose another with --out") from None
    return stage


def _publish(stage: Path, out_dir: Path) -> None:
    """Move a complete run from ``stage`` into ``out_dir``: ``results/`` replaces the earlier
    one as a whole (:func:`cge.atomic.swap_folder`, so it always matches
    ``counterfactual.nc``), then the files (written 0644 by their atomic writers) replace
    theirs."""
    if (stage / "results").is_dir():
        swap_folder(stage / "results", out_dir / "results")
    for path in sorted(stage.iterdir()):
        if path.is_file():
            os.replace(path, out_dir / path.name)


def run_scenarios(names: list[str] | tuple[str, ...] = STANDARD_SCENARIOS, *,
                  data: str | xr.Dataset = "default2024", elasticities: str | None = None,
                  out_dir: Path | None = None, echo: bool = True, decompose: bool = True,
                  progress: Progress | None = None, strategy: Sequence[PairAnalysis] = (),
                  appendix: str = "summary") -> xr.Dataset:
    """Solve each scenario and write the run into ``out_dir`` (default :func:`run_folder`):
    ``results/<name>.nc``, ``counterfactual.nc`` (all scenarios stacked),
    ``counterfactual.pdf``, its tables as CSV in ``results/tables/`` and all of them in
    ``counterfactual.xlsx``; print the table (``echo``); return the stack.

    The output folder is checked for writing before anything is solved. All scenarios are
    parsed, validated (closures, shocks applied to the model) and solved, and the whole run is
    written into a staging folder, before anything is moved into place: a bad scenario, a
    failed solve or a full disk raises and leaves every earlier output exactly as it was.
    ``progress`` (:mod:`cge.progress`) is told each stage and each solved scenario.

    ``strategy``: negotiating pairs (:class:`cge.negotiation.PairAnalysis`) whose strategy
    analysis runs after the scenarios, is written to ``results/strategy/<a>_<b>.nc`` and
    gets a section of the report (``appendix``: ``"summary"`` or ``"full"``, the scenario
    files' text in the report too); a pair the data set cannot analyse (a region missing, a
    scenario of its list that does not apply) is skipped with a line saying why.
    """
    progress = progress or Silent()
    skipped: list[str] = []
    out_dir = Path(out_dir) if out_dir is not None else run_folder(tuple(names))
    t0 = time.perf_counter()
    created = [p for p in (out_dir, *out_dir.parents) if not p.exists()]  # deepest first
    stage = _staging(out_dir)
    published = False
    try:
        paths = resolve_paths(names)
        label = data.attrs.get("name", "benchmark") if isinstance(data, xr.Dataset) else data
        progress.stage(f"data {label}: loading, checking and calibrating")
        session = Session(data, elasticities)
        t_setup = time.perf_counter() - t0
        progress.stage(f"checking {len(paths)} scenario(s) and building the model")
        scenarios = [session.validate(p) for p in paths]
        _check_unique(scenarios)
        results = _solve_all(session, scenarios, decompose, progress)
        progress.stage("writing results (NetCDF)")
        for scen, res in zip(scenarios, results, strict=True):
            write_netcdf(res, stage / "results" / f"{scen.name}.nc")
        stack = compare(results)
        write_netcdf(stack, stage / "counterfactual.nc")
        pairs = _strategy(session, strategy, stage, progress, skipped)
        from cge.report import pdf_page_count, write_report

        pdf = write_report(results, stage / "counterfactual.pdf", stage=progress.stage,
                           strategy=pairs, tables_dir=stage / "results" / "tables",
                           workbook=stage / "counterfactual.xlsx", appendix=appendix)
        pages = pdf_page_count(pdf)
        _publish(stage, out_dir)
        published = True
    finally:
        progress.close()
        shutil.rmtree(stage, ignore_errors=True)
        if not published:                   # a failed first run leaves no empty folders
            with contextlib.suppress(OSError):
                for folder in created:
                    folder.rmdir()
    if echo:
        print(format_table(stack, results))
        print(f"\ndata {session.benchmark.attrs.get('name')} ({session.benchmark.attrs.get('unit')}"
              f", {session.benchmark.attrs.get('year')}); load+calibrate+build "
              f"{t_setup:.2f} s; total {time.perf_counter() - t0:.2f} s")
        print(f"results: {out_dir / 'counterfactual.nc'} (one file per scenario in "
              f"{out_dir / 'results'})")
        print(f"report: {out_dir / 'counterfactual.pdf'} ({pages} pages)")
        for line in skipped:
            print(line)
    return stack


def _strategy(session: Session, specs: Sequence[PairAnalysis], stage: Path,
              progress: Progress, skipped: list[str]) -> list[xr.Dataset]:
    """Run each pair's strategy analysis the data set allows, write it into the staging
    folder; note each pair skipped and why."""
    from cge.negotiation import analyse_pair, pair_file, usable

    out = []
    for spec in specs:
        why = usable(session, spec)
        if why:
            skipped.append(f"strategy {spec.a}-{spec.b} skipped: {why}")
            continue
        ds = analyse_pair(session, spec, stage=progress.stage)
        write_netcdf(ds, stage / "results" / pair_file(spec))
        out.append(ds)
    return out


def _check_unique(scenarios: list) -> None:
    seen: dict[str, str] = {}
    for scen in scenarios:
        if scen.name in seen:
            raise ScenarioError(scen.source, "name", f"scenario name {scen.name!r} is also "
                                f"used by {seen[scen.name]}; results would overwrite each other")
        seen[scen.name] = scen.source


def _solve_all(session: Session, scenarios: list, decompose: bool,
               progress: Progress) -> list[xr.Dataset]:
    """Solve the scenarios in order, telling ``progress`` about each one."""
    progress.start_solving(len(scenarios))
    results = []
    for scen in scenarios:
        progress.solving(scen.name)
        t = time.perf_counter()
        try:
            res = session.run(scen, decompose=decompose)
        except SolveError as exc:
            progress.solved(scen.name, "failed", exc.diagnostics.iterations,
                            time.perf_counter() - t)
            raise
        progress.solved(scen.name, str(res.attrs.get("solver_status")),
                        int(res.attrs.get("solver_iterations", 0)), time.perf_counter() - t)
        results.append(res)
    return results


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
        lab = wage_factor(s.factor.values)
        for r in s.region.values:
            x = s.sel(region=r)
            wage = (x.real_factor_price_pct.sel(factor=lab).item() if lab is not None
                    else float("nan"))
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
