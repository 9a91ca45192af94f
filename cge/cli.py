"""Command line: ``python -m cge <command>`` (or the ``cge`` console script).

Commands: ``counterfactual`` (the standard scenarios into ``reports/``, or the given ones into a
folder of their own), ``run`` (the given scenarios), ``list`` (the scenario library),
``check-solver``, ``build-data``. A user error (bad input, an unwritable output folder, a full
disk, a failed solve) prints one line ``error: ...`` and exits with code 2; ``--debug`` shows
the traceback instead. Nothing a failed run wrote is left behind.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import sys
import tomllib
from pathlib import Path

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


def _version() -> str:
    from cge import __version__

    return __version__


def _add_run_arguments(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("scenarios", nargs="+" if required else "*", metavar="SCENARIO",
                   help="scenario names (files in scenarios/), TOML paths, or 'all'")
    p.add_argument("--data", default="default2024",
                   help="data set: a folder of data/ or a path (default: default2024)")
    p.add_argument("--elasticities", default=None,
                   help="elasticity set name or CSV (default: the data set's own)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: reports/ for the standard set, "
                        "reports/runs/<run>/ otherwise)")


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
    bd = sub.add_parser("build-data", parents=[common],
                        help="rebuild data/wiod2011 (if the raw WIOD table is present), "
                             "data/wiod_update2024 and data/default2024")
    bd.add_argument("--out", default=None, metavar="DIR",
                    help="write every data set under DIR instead of data/")
    return top


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
        from cge.progress import make_progress
        from cge.runner import STANDARD_SCENARIOS, run_scenarios

        names = tuple(args.scenarios) or STANDARD_SCENARIOS
        run_scenarios(names, data=args.data, elasticities=args.elasticities,
                      out_dir=Path(args.out) if args.out else None, echo=not args.quiet,
                      progress=make_progress(args.quiet))
    elif args.command == "build-data":
        from cge.databuild.build import build_all

        echo = (lambda text: None) if args.quiet else print
        build_all(Path(args.out) if args.out else None, echo=echo)


def _user_errors() -> tuple[type[BaseException], ...]:
    from cge.api import BenchmarkReplicationError
    from cge.data.benchmark import DataError
    from cge.options import OptionsError
    from cge.scenario import ScenarioError
    from cge.solve import SolveError, SolverUnavailable

    return (ScenarioError, DataError, OptionsError, SolveError, SolverUnavailable,
            BenchmarkReplicationError, OSError)


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
