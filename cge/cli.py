"""Command line: ``python -m cge <command>`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check-solver", help="verify that Ipopt solves through cyipopt/PyNumero")
    cf = sub.add_parser("counterfactual", help="run the standard scenarios (or those given)")
    cf.add_argument("scenarios", nargs="*", help="scenario names or TOML paths")
    cf.add_argument("--data", default="default2024")
    cf.add_argument("--elasticities", default=None,
                    help="default: the data set's own (dataset.toml key elasticities) or gtap")
    cf.add_argument("--out", default=None, help="output folder (default reports/)")
    for alias in ("run", "report"):
        run = sub.add_parser(alias, help="solve the given scenarios (names, paths or 'all') and "
                             "write their results and PDF report")
        run.add_argument("scenarios", nargs="+")
        run.add_argument("--data", default="default2024")
        run.add_argument("--elasticities", default=None)
        run.add_argument("--out", default=None)
    bd = sub.add_parser("build-data", help="rebuild data/wiod2011 from the raw WIOD table "
                        "(if present), then data/wiod_update2024 from it (2024 totals, balanced) "
                        "and data/default2024 (+ base tariffs and defense)")
    bd.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    from cge.api import BenchmarkReplicationError
    from cge.data.benchmark import DataError
    from cge.options import OptionsError
    from cge.scenario import ScenarioError
    from cge.solve import SolveError, SolverUnavailable

    try:
        if args.command == "check-solver":
            from cge.solve import check_solver

            print(check_solver())
        elif args.command in ("counterfactual", "run", "report"):
            from cge.api import REPORTS_DIR
            from cge.runner import STANDARD_SCENARIOS, run_scenarios

            names = args.scenarios or list(STANDARD_SCENARIOS)
            run_scenarios(names, data=args.data, elasticities=args.elasticities,
                          out_dir=Path(args.out) if args.out else REPORTS_DIR)
        elif args.command == "build-data":
            from cge.data.default2024 import build_default2024
            from cge.data.update import build_update2024
            from cge.data.wiod import build_default, find_raw_file

            try:
                find_raw_file()
            except FileNotFoundError as exc:
                # The 2011 aggregate is committed; only its aggregation needs the raw table.
                print(f"note: {exc}\nnote: keeping the committed data/wiod2011; rebuilding "
                      "the 2024 update and default2024 from it", file=sys.stderr)
            else:
                build_default(Path(args.out) if args.out else None)
            build_update2024()
            build_default2024()
    except (ScenarioError, DataError, OptionsError, SolveError, SolverUnavailable,
            BenchmarkReplicationError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
