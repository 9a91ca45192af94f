"""Command line: ``python -m cge <command>`` (or the ``cge`` console script).

Commands: ``counterfactual`` (the standard scenarios into ``reports/``, or the given ones into a
folder of their own), ``run`` (the given scenarios), ``list`` (the scenario library),
``check-solver``, ``build-data``, ``strategy optimal|nash|equivalent|frontier`` (the
strategy calls of :mod:`cge.strategy` and :mod:`cge.frontier`), ``sensitivity`` (a sweep over
elasticity draws on Dask, :mod:`cge.sensitivity`), ``export`` (results to CSV/XLSX). A user
error (bad input, an unwritable output folder, a full disk, a failed solve) prints one line
``error: ...`` and exits with code 2; ``--debug`` shows the traceback instead. Nothing a
failed run wrote is left behind.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xarray as xr

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


def _version() -> str:
    from cge import __version__

    return __version__


def _add_data_arguments(p: argparse.ArgumentParser,
                        elasticities: str = "elasticity set name or CSV") -> None:
    """``--data`` and ``--elasticities``, as every command that loads a data set takes them."""
    p.add_argument("--data", default="default2024",
                   help="data set: a folder of data/ or a path (default: default2024)")
    p.add_argument("--elasticities", default=None,
                   help=f"{elasticities} (default: the data set's own)")


def _add_intra_region_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--intra-region", choices=("routes", "domestic"), default=None,
                   help="a composite region's trade with itself: on its own import route "
                        "('routes', GTAP's treatment; the default for a GTAP data base) or made "
                        "domestic ('domestic'); default: as the data set has it")
    p.add_argument("--aggregate", default=None, metavar="MAP.toml",
                   help="aggregate the data on load with a mapping file (new regions, "
                        "commodities, factors as lists of the data set's labels; "
                        "data/maps/wiod2011.toml shows the layout); elasticities, factor roles "
                        "and ETRAE aggregated along")


def _data(args: argparse.Namespace):
    """The data set as the command loads it: its name or path, or with ``--intra-region`` or
    ``--aggregate`` the benchmark loaded that way (:func:`cge.api.load_data`)."""
    intra, mapping = getattr(args, "intra_region", None), getattr(args, "aggregate", None)
    if intra is None and mapping is None:
        return args.data
    from cge.api import load_data

    return load_data(args.data, intra, mapping)


def _add_run_arguments(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("scenarios", nargs="+" if required else "*", metavar="SCENARIO",
                   help="scenario names (files in scenarios/), TOML paths, or 'all'")
    _add_data_arguments(p)
    _add_intra_region_argument(p)
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: reports/ for the standard set, "
                        "reports/runs/<run>/ otherwise)")
    p.add_argument("--appendix", choices=("summary", "full"), default="summary",
                   help="the report's scenario appendix: a table of what each scenario "
                        "changes (summary, default) or also every scenario file's text (full)")
    p.add_argument("--strategy", action=argparse.BooleanOptionalAction, default=None,
                   help="add the strategy analysis of the USA-JPN pair (optimal and Nash "
                        "tariffs, transfer equivalence, deal frontier; about 15 s) to the "
                        "results and the report (default: on for counterfactual, off for "
                        "run)")


def _global_options(default: object) -> argparse.ArgumentParser:
    """``--quiet`` and ``--debug``, accepted before and after the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="print only errors (no progress, no table)")
    common.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback of an error")
    return common


def parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the documentation test)."""
    top = argparse.ArgumentParser(prog="cge", parents=[_global_options(False)],
                                  description="Multi-region CGE trade model: tariff and "
                                  "defense-transfer counterfactuals.")
    top.add_argument("--version", action="version", version=f"cge {_version()}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _global_options(argparse.SUPPRESS)   # after the command too, not reset there
    cf = sub.add_parser("counterfactual", parents=[common],
                        help="the standard scenarios -> reports/ (or the given ones -> "
                             "reports/runs/<run>/)")
    _add_run_arguments(cf, required=False)
    run = sub.add_parser("run", parents=[common],
                         help="solve the given scenarios, write results and the PDF report "
                              "to reports/runs/<run>/ (or --out)")
    _add_run_arguments(run, required=True)
    sub.add_parser("list", parents=[common], help="the scenario library with descriptions")
    sub.add_parser("check-solver", parents=[common],
                   help="verify that Ipopt solves through cyipopt/PyNumero")
    _add_strategy_parser(sub, common)
    _add_sensitivity_parser(sub, common)
    ex = sub.add_parser("export", parents=[common],
                        help="result variables of a results NetCDF to CSV or XLSX")
    ex.add_argument("results", metavar="FILE.nc",
                    help="a results file: reports/counterfactual.nc (all scenarios) or one "
                         "of reports/results/")
    ex.add_argument("--var", action="append", default=[], metavar="NAME",
                    help="a variable to export (repeat; default: every variable)")
    ex.add_argument("--out", required=True, metavar="FILE.csv|FILE.xlsx",
                    help="the table: CSV (long, one row per cell) or XLSX (a sheet per "
                         "variable)")
    cv = sub.add_parser("convert", parents=[common],
                        help="save a GTAP data base folder (basedata.har, default.prm) as a "
                             "data set in this project's format (dataset.toml + CSV)")
    cv.add_argument("--data", required=True, metavar="FOLDER",
                    help="the GTAP data base folder")
    cv.add_argument("--out", required=True, metavar="DIR", help="the data set folder to write")
    _add_intra_region_argument(cv)
    bd = sub.add_parser("build-data", parents=[common],
                        help="rebuild data/wiod2011 (if the raw WIOD table is present), "
                             "data/wiod_update2024 and data/default2024")
    bd.add_argument("--out", default=None, metavar="DIR",
                    help="write every data set under DIR instead of data/")
    return top


def _add_strategy_parser(sub, common: argparse.ArgumentParser) -> None:
    """``cge strategy optimal|nash|equivalent|frontier``: the strategy calls of
    :mod:`cge.strategy` and :mod:`cge.frontier` on one data set."""
    st = sub.add_parser("strategy", parents=[common],
                        help="optimal tariff, Nash tariffs, tariff/transfer equivalence, deal "
                             "frontier (prints a table; --out FILE.nc saves the result)")
    games = st.add_subparsers(dest="game", required=True, metavar="GAME")
    base = argparse.ArgumentParser(add_help=False)
    _add_data_arguments(base)
    _add_intra_region_argument(base)
    base.add_argument("--out", default=None, metavar="FILE.nc",
                      help="save the result as NetCDF")
    rates = argparse.ArgumentParser(add_help=False)
    rates.add_argument("--commodities", default="goods",
                       help="commodities taxed: a name, a group of the data set, 'all', or "
                            "names joined by ',' (one free rate; default: goods)")
    rates.add_argument("--bounds", nargs=2, type=float, default=(0.0, 1.0),
                       metavar=("LO", "HI"), help="bounds of each rate (fractions; default "
                                                   "0 1)")
    rates.add_argument("--mode", choices=("set", "add"), default="set",
                       help="set: one uniform rate; add: pp on each cell's rate")
    opt = games.add_parser("optimal", parents=[common, base, rates],
                           help="a region's tariffs that maximise its EV (one NLP)")
    opt.add_argument("--region", default="USA", help="the importer (default: USA)")
    opt.add_argument("--on", default="all",
                     help="the partner(s) taxed: a name, group, 'all' or names joined by ','")
    opt.add_argument("--per-commodity", action="store_true",
                     help="one rate per commodity instead of one for the group")
    opt.add_argument("--scenario", default=None,
                     help="scenario whose instruments are held fixed (default: benchmark)")
    na = games.add_parser("nash", parents=[common, base, rates],
                          help="Nash tariffs by best responses")
    na.add_argument("--players", nargs="+", default=["USA", "JPN"], metavar="REGION",
                    help="the players (default: USA JPN)")
    na.add_argument("--tol", type=float, default=1e-6, help="tolerance on rates (fraction)")
    na.add_argument("--max-rounds", type=int, default=50, help="rounds at most (default 50)")
    eq = games.add_parser("equivalent", parents=[common, base],
                          help="the transfer that gives a region a scenario's EV, or the "
                               "tariff that gives it a transfer's")
    eq.add_argument("--scenario", default=None, help="the scenario to match (a transfer is "
                                                     "solved for)")
    eq.add_argument("--transfer", default=None, metavar="PAYER:RECIPIENT:AMOUNT",
                    help="the transfer to match (data unit per year, either sign); with "
                         "--tariff, a tariff is solved for")
    eq.add_argument("--tariff", default=None, metavar="IMPORTER:EXPORTER[:COMMODITIES]",
                    help="the tariff solved for with --transfer (commodities: a name or "
                         "group, several joined by '+'; default goods)")
    eq.add_argument("--mode", choices=("add", "set"), default="add",
                    help="the tariff as pp on each cell's rate (add, default) or one rate "
                         "(set)")
    eq.add_argument("--payer", default="JPN", help="payer of the transfer (default: JPN)")
    eq.add_argument("--recipient", default="USA", help="recipient (default: USA)")
    eq.add_argument("--for-region", default=None,
                    help="whose EV is matched (default: the recipient)")
    eq.add_argument("--indifference", action="store_true",
                    help="the transfer at which the payer is indifferent instead")
    eq.add_argument("--between", choices=("governments", "households"),
                    default="governments", help="transfer between (default: governments)")
    fr = games.add_parser("frontier", parents=[common, base],
                          help="Pareto frontier of two regions' EV over named instruments")
    fr.add_argument("--a", default="USA", help="region whose EV is maximised (default: USA)")
    fr.add_argument("--b", default="JPN", help="region whose EV is bounded (default: JPN)")
    fr.add_argument("--instrument", action="append", default=None, metavar="SPEC",
                    help="tariff:IMPORTER:EXPORTER[:COMMODITIES[:LO:HI[:set|add]]] or "
                         "transfer:PAYER:RECIPIENT[:LO:HI] (repeat; default: a's and b's "
                         "tariffs on each other's goods and b's transfer to a)")
    fr.add_argument("--levels", type=int, default=9, help="points on the frontier (default 9)")
    fr.add_argument("--scenario", default=None, help="a scenario to mark on the frontier")
    fr.add_argument("--no-threat", action="store_true",
                    help="no Nash war threat point (and no bargaining point)")
    fr.add_argument("--chart", default=None, metavar="FILE.svg", help="write the chart (SVG)")


def _add_sensitivity_parser(sub, common: argparse.ArgumentParser) -> None:
    """``cge sensitivity SCENARIO... --spec S``: a sweep over elasticity draws on Dask."""
    se = sub.add_parser("sensitivity", parents=[common],
                        help="systematic sensitivity analysis: the scenarios under every draw "
                             "of a specification, on Dask; mean, sd and 90 %% band of every "
                             "result, a PDF with the bands")
    se.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                    help="scenario names or TOML paths (default: the standard sensitivity "
                         "set)")
    se.add_argument("--spec", default="standard",
                    help="the specification: a name in sensitivity/ or a TOML path "
                         "(default: standard)")
    _add_data_arguments(se, "the central elasticities: a set name or CSV")
    se.add_argument("--workers", type=int, default=None,
                    help="local Dask worker processes (default: the machine's cores; 0: in "
                         "this process, no Dask)")
    se.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="address of a running Dask scheduler (tcp://host:8786) instead of "
                         "a local cluster; default: CGE_DASK_SCHEDULER, else Dask's config "
                         "entry scheduler-address")
    se.add_argument("--out", default=None, metavar="DIR",
                    help="output folder (default: reports/sensitivity/<spec>/)")
    se.add_argument("--resume", action="store_true",
                    help="continue the interrupted sweep in the folder, an error if there is "
                         "none (the same sweep is continued anyway: finished tasks are kept)")
    se.add_argument("--fresh", action="store_true",
                    help="replace a different sweep in the folder (the new one is swapped in "
                         "when complete)")


def _sensitivity_command(args: argparse.Namespace) -> None:

    from cge.progress import make_sweep_progress
    from cge.sensitivity.sweep import STANDARD_SCENARIOS, format_summary, run, write_pdf

    scenarios = tuple(args.scenarios) or STANDARD_SCENARIOS
    res = run(scenarios, args.spec, data=args.data, elasticities=args.elasticities,
              out_dir=Path(args.out) if args.out else None, workers=args.workers,
              scheduler=args.scheduler,
              resume=args.resume, fresh=args.fresh, progress=make_sweep_progress(args.quiet))
    pdf = write_pdf(res)
    if not args.quiet:
        print(format_summary(res))
        print(f"\nresults: {res.out_dir / 'results.nc'} (every draw), "
              f"{res.out_dir / 'summary.nc'} (statistics), {res.out_dir / 'index.csv'} "
              f"(one row per task)")
        print(f"report: {pdf}")


def _split(spec: str) -> str | list[str]:
    return spec.split(",") if "," in spec else spec


def _strategy_command(args: argparse.Namespace) -> None:
    """Run one strategy call (one handler per game); print its table; save it with --out."""
    import cge.strategy as strategy
    from cge.api import Session, write_netcdf

    if args.out is not None and not str(args.out).endswith(".nc"):
        raise strategy.StrategyError(f"--out must name a NetCDF file (*.nc), got {args.out!r}")
    session = Session(_data(args), args.elasticities)
    echo = (lambda text: None) if args.quiet else print
    handler = {"optimal": _optimal_game, "nash": _nash_game, "equivalent": _equivalent_game}
    ds = handler.get(args.game, _frontier_game)(session, args, echo)
    if args.out is not None and ds is not None:
        write_netcdf(ds, args.out)
        echo(f"saved {args.out}")


def _optimal_game(session, args: argparse.Namespace, echo) -> xr.Dataset | None:
    """``strategy optimal``: the optimal tariff; with --out its equilibrium as results."""
    import cge.strategy as strategy
    from cge.results import extract_results

    res = strategy.optimal_tariff(session, args.region, on=_split(args.on),
                                  commodities=_split(args.commodities),
                                  bounds=tuple(args.bounds), mode=args.mode,
                                  per_commodity=args.per_commodity, scenario=args.scenario)
    echo(str(res))
    echo("\n".join(f"  {g:<24} {100 * t:9.4f} %" + (f"  ({res.binding[g]} bound)"
                                                   if res.binding[g] else "")
                   for g, t in res.rates.items()))
    echo("  EV by region (" + res.unit + "): " + ", ".join(
        f"{r} {v:,.1f}" for r, v in res.ev.items()))
    if args.out is None:
        return None
    model = (session.model() if args.scenario is None
             else session._model_for(session.scenario(args.scenario)))
    ds = extract_results(model, res.check, scenario=f"optimal_tariff_{res.region}")
    ds.attrs.update({"strategy_game": "optimal_tariff", "optimal_region": res.region,
                     "optimal_partners": ", ".join(res.partners),
                     "optimal_mode": res.mode, "optimal_status": res.status,
                     "optimal_rates": json.dumps(res.rates),
                     "optimal_bounds": json.dumps(list(res.bounds))})
    return ds


def _nash_game(session, args: argparse.Namespace, echo) -> xr.Dataset:
    """``strategy nash``: the Nash tariffs and the best-response path."""
    import cge.strategy as strategy

    res = strategy.nash(session, args.players, commodities=_split(args.commodities),
                        bounds=tuple(args.bounds), mode=args.mode, tol=args.tol,
                        max_rounds=args.max_rounds)
    echo(str(res))
    for step in res.path:
        echo(f"  round {step.round:>2} {step.player or 'start':<8} " + "; ".join(
            f"{p} {100 * t:.4f} %" for p in res.players for t in step.rates[p].values()))
    return res.to_results()


def _equivalent_game(session, args: argparse.Namespace, echo) -> xr.Dataset | None:
    """``strategy equivalent``: the transfer equal to a scenario (or the indifference
    transfer), or with --transfer the tariff equal to a transfer."""
    import cge.strategy as strategy

    if (args.scenario is None) == (args.transfer is None):
        raise strategy.StrategyError("equivalent needs exactly one of --scenario (a "
                                     "transfer is solved for) and --transfer with "
                                     "--tariff (a tariff is solved for)")
    if args.transfer is not None:
        res = _equivalent_tariff(session, args)
    elif args.tariff is not None:
        raise strategy.StrategyError("--tariff goes with --transfer (the tariff that "
                                     "equals a transfer), not with --scenario")
    elif args.indifference:
        res = strategy.indifference_transfer(session, args.scenario, args.payer,
                                             args.recipient, between=args.between)
    else:
        res = strategy.equivalent_transfer(session, args.scenario, args.payer,
                                           args.recipient,
                                           args.for_region or args.recipient,
                                           between=args.between)
    echo(str(res))
    what = ("tariff alone vs the transfer" if res.kind == "tariff"
            else "transfer alone vs scenario")
    echo("  EV by region (" + res.unit + f"), {what}: " + ", ".join(
        f"{r} {res.ev[r]:,.1f} / {res.ev_reference[r]:,.1f}" for r in res.ev))
    if args.out is None:
        return None
    ds = session.run(toml=res.scenario_text)
    ds.attrs.update({"strategy_game": f"equivalence_{res.kind}",
                     "equivalence_value": res.value,
                     "equivalence_for_region": res.for_region,
                     "equivalence_target_ev": res.target_ev,
                     "equivalence_reference": res.reference})
    return ds


def _frontier_game(session, args: argparse.Namespace, echo) -> xr.Dataset:
    """``strategy frontier``: the deal frontier between two regions (chart with --chart)."""
    import cge.frontier as frontier

    instruments = ([frontier.parse_instrument(t) for t in args.instrument]
                   if args.instrument else None)
    res = frontier.frontier(session, args.a, args.b, instruments, levels=args.levels,
                            scenario=args.scenario,
                            threat=None if args.no_threat else "nash")
    echo(str(res))
    for note in res.notes:
        echo(f"note: {note}")
    if args.chart:
        frontier.plot_frontier(res, args.chart)
    return res.to_dataset()


def _equivalent_tariff(session, args: argparse.Namespace):
    """``equivalent --transfer P:R:AMOUNT --tariff I:E[:G]``: the tariff equal to a transfer."""
    from cge import strategy

    parts = args.transfer.split(":")
    try:
        payer, recipient, amount = parts[0], parts[1], float(parts[2])
        if len(parts) != 3:
            raise ValueError
    except (IndexError, ValueError):
        raise strategy.StrategyError(f"--transfer must be PAYER:RECIPIENT:AMOUNT, got "
                                     f"{args.transfer!r}") from None
    if args.tariff is None:
        raise strategy.StrategyError("--transfer needs --tariff IMPORTER:EXPORTER[:COMMODITIES]"
                                     " (the tariff solved for)")
    if args.indifference:
        raise strategy.StrategyError("--indifference goes with --scenario, not --transfer")
    tparts = args.tariff.split(":")
    if len(tparts) not in (2, 3):
        raise strategy.StrategyError(f"--tariff must be IMPORTER:EXPORTER[:COMMODITIES], got "
                                     f"{args.tariff!r}")
    goods = tparts[2] if len(tparts) == 3 else "goods"
    return strategy.equivalent_tariff(session, (payer, recipient, amount), tparts[0],
                                      tparts[1], goods.split("+") if "+" in goods else goods,
                                      args.for_region, mode=args.mode, between=args.between)


def list_scenarios() -> list[tuple[str, str]]:
    """(name, one-line description) of every file in ``scenarios/``."""
    from cge.api import SCENARIO_DIR
    from cge.runner import library

    out = []
    for name in library():
        try:
            meta = tomllib.loads((SCENARIO_DIR / f"{name}.toml").read_text(encoding="utf-8"))
            text = str(meta.get("description", "")).strip().splitlines()
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            text = [f"(unreadable: {exc})"]
        out.append((name, text[0] if text else ""))
    return out


def _command(args: argparse.Namespace) -> None:
    if args.command == "check-solver":
        from cge.solve import check_solver

        print(check_solver())
    elif args.command == "list":
        from cge.runner import STANDARD_SCENARIOS

        rows = list_scenarios()
        if not rows:
            from cge.api import SCENARIO_DIR
            from cge.paths import where_hint
            from cge.scenario import ScenarioError

            raise ScenarioError(str(SCENARIO_DIR), None, f"no scenario files here; "
                                f"{where_hint()}")
        width = max(len(n) for n, _ in rows)
        for name, text in rows:
            star = "*" if name in STANDARD_SCENARIOS else " "
            print(f"{star} {name:<{width}}  {text}")
        print(f"\n{len(rows)} scenarios; * = in the standard set (make counterfactual)")
    elif args.command in ("counterfactual", "run"):
        from cge.negotiation import STANDARD_PAIRS
        from cge.progress import make_progress
        from cge.runner import STANDARD_SCENARIOS, run_scenarios

        names = tuple(args.scenarios) or STANDARD_SCENARIOS
        with_strategy = (args.command == "counterfactual" if args.strategy is None
                         else args.strategy)
        run_scenarios(names, data=_data(args), elasticities=args.elasticities,
                      out_dir=Path(args.out) if args.out else None, echo=not args.quiet,
                      progress=make_progress(args.quiet),
                      strategy=STANDARD_PAIRS if with_strategy else (),
                      appendix=args.appendix)
    elif args.command == "strategy":
        _strategy_command(args)
    elif args.command == "sensitivity":
        _sensitivity_command(args)
    elif args.command == "export":
        from cge.report.export import export_results

        out = export_results(args.results, args.var, args.out)
        if not args.quiet:
            print(f"written {out}")
    elif args.command == "convert":
        from cge.data.gtap import convert_gtap

        out = convert_gtap(args.data, args.out, args.intra_region or "routes",
                           mapping=args.aggregate)
        if not args.quiet:
            print(f"written {out} (load it with --data {out})")
    elif args.command == "build-data":
        from cge.databuild.build import build_all

        echo = (lambda text: None) if args.quiet else print
        build_all(Path(args.out) if args.out else None, echo=echo)


def _user_errors() -> tuple[type[BaseException], ...]:
    from cge.api import BenchmarkReplicationError
    from cge.data.benchmark import DataError
    from cge.options import OptionsError
    from cge.report.export import ExportError
    from cge.scenario import ScenarioError
    from cge.sensitivity.spec import SpecError
    from cge.sensitivity.sweep import SweepError
    from cge.solve import SolveError, SolverUnavailable
    from cge.strategy import NashError, StrategyError

    return (ScenarioError, DataError, OptionsError, SolveError, SolverUnavailable,
            BenchmarkReplicationError, OSError, StrategyError, NashError, SpecError,
            SweepError, ExportError)


def _shorten(text: str, limit: int = 120) -> str:
    """Elide the middle of any word longer than ``limit`` (a 5,000-character path, say)."""
    return re.sub(rf"\S{{{limit + 1},}}", lambda m: f"{m[0][:60]}…{m[0][-40:]}", text)


def _one_line(exc: BaseException) -> str:
    """An error as one line: what, where, what to do (undecodable bytes of a file name shown
    as U+FFFD, not an encoding error of its own)."""
    text = _shorten(_message(exc))
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not type(exc).__module__.startswith("cge"):
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror or exc}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            text += " (disk full: free space or choose another --out)"
        return text
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit code (0, 2 for a user error, 1 for an internal one)."""
    args = parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):       # paths with undecodable bytes print escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        _command(args)
    except BrokenPipeError:           # e.g. `cge list | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("error: interrupted; earlier outputs are as they were", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, _user_errors()):
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USER_ERROR
        print(f"internal error: {type(exc).__name__}: {_one_line(exc)} (please report it; "
              "--debug shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
