"""``make bench``: speed and memory of build and solve at several sizes, against bare Newton.

For each size, in a fresh process (so peak memory is that size's): build the model, pass the
benchmark-replication gate, solve a tariff shock (first solve), re-solve a second shock from
there, and solve the first shock again with a bare sparse Newton iteration (scipy.sparse
``spsolve`` on the same equations and Jacobian, from the same start) as the reference. Prints a
table and writes it to ``reports/bench.txt``.

Sizes: the default data (``default``; ``default-all`` with every bilateral cell shocked, GTAP's
``tms`` +10 % everywhere), random benchmarks ``RxS``, and the GTAP data base ``gtap7_20x41``
(41 regions x 20 commodities, from its HAR files: the load is in the build; first shock every
cell; skipped where the raw files are absent).

Columns: ``import s`` the one-time Python imports of the process (Pyomo, xarray, cyipopt and
scipy); ``build s`` load + calibrate + Pyomo build + the AMPL form + the replication gate;
``1st solve s`` / ``re-solve s`` one tariff shock each; ``newton s`` the bare Newton reference
and ``ratio`` re-solve / bare Newton; ``peak MiB`` the process's peak resident memory.

Then the strategy analysis of issue 17 on the default data (:mod:`cge.strategy`,
:mod:`cge.frontier`), each call in a fresh process after building the session (build not
timed): the US optimal uniform tariff on all partners' goods, the USA-JPN Nash tariff war on
goods, the JPN -> USA transfer equivalent for the US to ``us_jpn_reciprocal_autos``, and a
25-point USA-JPN frontier over 4 instruments (with the Nash threat point and the bargaining
point), each with the issue's target beside it
(:data:`STRATEGY_TARGETS`). ``python -m cge.bench strategy`` runs only these.

Then the report alone (``python -m cge.bench report``): :func:`cge.report.write_report` for
the standard set and for the whole scenario library, the scenarios solved first.

Last, the sensitivity sweep of issue 18: the standard specification's 50 draws of one scenario
on 1 and on 2 local Dask workers and the speed-up (``python -m cge.bench sensitivity``).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = ("default", "default-all", "8x10", "20x30", "40x40", "gtap7_20x41")
#: Every bilateral cell shocked (GTAP's ``tms`` up 10 % everywhere): the many-cell scenario of
#: ``default-all`` and the first shock of the GTAP rows.
ALL_CELLS = ('name = "bench_all"\n[[tariff]]\nimporter = "all"\nexporter = "all"\n'
             'commodities = "all"\npower = 1.1\nown_region = true\n')
HEADER = (f"{'size':<16} {'import s':>8} {'vars':>7} {'jac nnz':>9} {'build s':>8} "
          f"{'1st solve s':>11} "
          f"{'re-solve s':>10} {'iters':>5} {'newton s':>9} {'ratio':>6} {'peak MiB':>9}")


def bare_newton(model, tol: float = 1e-10, max_iter: int = 50) -> tuple[float, int]:
    """Newton on g(x) = target over the free variables, from the model's current point."""
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import spsolve

    from cge.solve import model_nlp

    pnlp = model_nlp(model)
    x = pnlp.point()
    free = np.array([not v.fixed for v in pnlp.vars])
    cols = np.flatnonzero(free)
    t0 = time.perf_counter()
    for k in range(max_iter):
        g = pnlp.residuals(x)
        if np.max(np.abs(g)) < tol:
            return time.perf_counter() - t0, k
        jac = csc_matrix(pnlp.jacobian(x))[:, cols]
        x[cols] -= spsolve(jac, g)
    raise RuntimeError("bare Newton did not converge")


def _tariff_toml(importer: str, exporter: str, pp: float) -> str:
    return (f'name = "bench"\n[[tariff]]\nimporter = "{importer}"\nexporter = "{exporter}"\n'
            f'commodities = "all"\nadd = {pp}\n')


def _import_stack() -> float:
    """Import the solve stack once (per process) and return the seconds it took.

    Pyomo, xarray, cyipopt (which imports scipy) and, through Pyomo's import hook on scipy,
    ``scipy.stats``: a one-time cost of every Python process, reported in its own column rather
    than in the build time."""
    t = time.perf_counter()
    import cyipopt  # noqa: F401

    from cge.asl import amplinterface_class

    amplinterface_class()
    from pyomo.repn.plugins.nl_writer import NLWriter  # noqa: F401

    import cge  # noqa: F401
    return time.perf_counter() - t


def measure(size: str) -> dict:
    """Measure one size in this process."""
    t_import = _import_stack()
    import cge
    from cge.api import check_benchmark
    from cge.data.examples import random_benchmark
    from cge.model import build_model
    from cge.shocks import apply_scenario
    from cge.solve import model_nlp

    t0 = time.perf_counter()
    if size == "default":
        session = cge.Session("default2024")
        shocks = [("USA", "JPN", 24.0), ("USA", "CHN", 20.0)]
    elif size == "default-all":
        session = cge.Session("default2024")
        shocks = [ALL_CELLS, ("USA", "CHN", 20.0)]
    elif size.startswith("gtap"):
        session = cge.Session(_gtap_folder(size))   # HAR files read here
        shocks = [ALL_CELLS, ("USA", "CHN", 20.0)]
    else:
        nr, ns = (int(x) for x in size.split("x"))
        session = cge.Session(random_benchmark(nr, ns, seed=1),
                              {"esubd": 2.5, "esubm": 5.0, "esubva": 1.0})
        shocks = [("R0", "R1", 20.0), ("R1", "R0", 20.0)]
    stages = {"data + calibrate": time.perf_counter() - t0}
    t = time.perf_counter()
    model = build_model(session.params, session.options)
    stages["Pyomo build"] = time.perf_counter() - t
    t = time.perf_counter()
    pnlp = model_nlp(model)
    stages["NL write + AMPL read"] = time.perf_counter() - t
    t = time.perf_counter()
    check_benchmark(model)
    stages["replication gate"] = time.perf_counter() - t
    t_build = time.perf_counter() - t0
    first, second = (session.scenario(toml=x if isinstance(x, str) else _tariff_toml(*x))
                     for x in shocks)
    apply_scenario(model, first)
    t = time.perf_counter()
    diag = cge.solve(model)
    t_first = time.perf_counter() - t
    apply_scenario(model, second)
    t = time.perf_counter()
    diag2 = cge.solve(model)
    t_resolve = time.perf_counter() - t
    model.reset()
    apply_scenario(model, first)
    t_newton, newton_iters = bare_newton(model)
    jac = pnlp.jacobian(pnlp.point())
    return {
        "size": size, "import": t_import, "vars": pnlp.n_free, "nnz": int(jac.nnz),
        "build": t_build, "stages": stages,
        "first": t_first, "resolve": t_resolve, "iters": diag.iterations + diag2.iterations,
        "newton": t_newton, "newton_iters": newton_iters,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def _gtap_folder(name: str) -> Path:
    """A GTAP data base of ``../shared/data/gtap7/`` (or ``data/raw/gtap7/``) by name."""
    from cge.paths import ROOT

    for place in (ROOT / "data" / "raw" / "gtap7", ROOT.parent / "shared" / "data" / "gtap7"):
        if (place / name / "basedata.har").is_file():
            return place / name
    raise FileNotFoundError(f"GTAP data base {name} not found (data/raw/gtap7/ or "
                            "../shared/data/gtap7/)")


def counterfactual_time() -> float:
    """Wall time of the standard scenario library + PDF (what `make counterfactual` runs)."""
    import tempfile

    from cge.runner import run_scenarios

    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run_scenarios(out_dir=Path(tmp), echo=False)
    return time.perf_counter() - t


#: The report measurements: scenario set -> the issue's target for writing its PDF.
REPORT_TARGETS = {"standard": "<= 8 s", "all": "<= 30 s"}


def measure_report(which: str) -> dict:
    """Wall time of :func:`cge.report.write_report` alone (charts, tables, Typst, CSV/XLSX)
    for the standard set (with its USA-JPN strategy section) or for every library scenario,
    solved first in this process (solving not timed), decomposed as ``make counterfactual``
    does."""
    import tempfile

    from cge.api import Session
    from cge.negotiation import STANDARD_PAIRS, analyse_pair
    from cge.report import pdf_page_count, write_report
    from cge.runner import STANDARD_SCENARIOS, library

    if which not in REPORT_TARGETS:
        raise ValueError(f"unknown report measurement {which!r}; one of {list(REPORT_TARGETS)}")
    session = Session()
    names = STANDARD_SCENARIOS if which == "standard" else library()
    results = [session.run(n, decompose=True) for n in names]
    pairs = ([analyse_pair(session, spec) for spec in STANDARD_PAIRS]
             if which == "standard" else [])
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        pdf = write_report(results, Path(tmp) / "report.pdf", strategy=pairs)
        seconds = time.perf_counter() - t
        pages = pdf_page_count(pdf)
    return {"scenarios": len(results), "pages": pages, "seconds": seconds}


def report_lines() -> list[str]:
    """The report's writing time for the standard set and for the whole library (fresh
    process each)."""
    lines = ["", "report PDF (write_report alone; scenarios solved first, not timed):"]
    print(lines[1], flush=True)
    for which, target in REPORT_TARGETS.items():
        r, error = _in_fresh_process("--report-one", which)
        line = (f"  {which}: failed: {error}" if r is None else
                f"  {which:<9} {r['scenarios']:>3} scenarios, {r['pages']:>3} pages: "
                f"{r['seconds']:6.2f} s  (target {target})")
        print(line, flush=True)
        lines.append(line)
    return lines


#: The strategy measurements: name -> (what is timed, the issue's target).
STRATEGY_TARGETS = {
    "optimal_tariff": ("optimal_tariff USA on all, goods (1 rate)", "<= 2 s"),
    "optimal_tariff_groups": ("optimal_tariff USA on JPN, 3 groups", "<= 2 s"),
    "nash": ("nash USA x JPN, goods", "<= 30 s"),
    "equivalent_transfer": ("equivalent_transfer us_jpn_reciprocal_autos, JPN->USA for USA",
                            "<= 1 s"),
    "frontier": ("frontier USA x JPN, 4 instruments, 25 points", "<= 30 s"),
}


def measure_strategy(name: str) -> dict:
    """One strategy call on the default data in this process: seconds and a short result."""
    _import_stack()
    import cge
    from cge import frontier as fr
    from cge import strategy as st

    session = cge.Session("default2024")
    session.model()
    t = time.perf_counter()
    if name == "optimal_tariff":
        r = st.optimal_tariff(session, "USA", on="all", commodities="goods")
        what = f"rate {100 * r.rates['goods']:.2f} %, EV USA {r.ev['USA']:,.0f}"
    elif name == "optimal_tariff_groups":
        r = st.optimal_tariff(session, "USA", on="JPN", commodities=STRATEGY_GROUPS)
        what = ", ".join(f"{g} {100 * t:.2f} %" for g, t in r.rates.items())
    elif name == "nash":
        w = st.nash(session, players=("USA", "JPN"), commodities="goods")
        what = (f"USA {100 * w.rates['USA']['goods']:.2f} %, JPN "
                f"{100 * w.rates['JPN']['goods']:.2f} %, {w.rounds} rounds")
    elif name == "equivalent_transfer":
        e = st.equivalent_transfer(session, "us_jpn_reciprocal_autos", payer="JPN",
                                   recipient="USA", for_region="USA")
        what = f"{e.value:,.1f}, {e.iterations} solves"
    elif name == "frontier":
        res = fr.frontier(session, "USA", "JPN", STRATEGY_FRONTIER_INSTRUMENTS(fr), levels=25,
                          scenario="us_jpn_reciprocal_autos")
        what = f"{len(res.feasible)} feasible points, incl. Nash threat and bargaining point"
    else:
        raise ValueError(f"unknown strategy measurement {name!r}; one of "
                         f"{', '.join(STRATEGY_TARGETS)}")
    return {"name": name, "seconds": time.perf_counter() - t, "result": what}


#: The US tariff groups of the optimal-tariff measurement (the Section 232 split): autos,
#: metals and the other goods (the data set's groups).
STRATEGY_GROUPS = {"autos": "autos", "metals": "metals", "other_goods": "goods_ex_232"}


def STRATEGY_FRONTIER_INSTRUMENTS(fr) -> list:  # noqa: N802
    """The frontier's instruments: each side's uniform tariff on the other's goods, Japan's
    transfer to the US and Japan's defense purchases from US producers."""
    return [fr.tariff("USA", "JPN", "goods", (0.0, 0.5)),
            fr.tariff("JPN", "USA", "goods", (0.0, 0.5)),
            fr.transfer("JPN", "USA", (-20000.0, 20000.0)),
            fr.purchases("JPN", "USA", (0.0, 20000.0))]


def _in_fresh_process(flag: str, arg: str) -> tuple[dict | None, str]:
    """``python -m cge.bench FLAG ARG`` in a fresh process: (its JSON result, "") or (None,
    the last line of its error output)."""
    proc = subprocess.run([sys.executable, "-m", "cge.bench", flag, arg], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return None, str(proc.stderr.strip().splitlines()[-1:])
    return json.loads(proc.stdout.strip().splitlines()[-1]), ""


def strategy_lines() -> list[str]:
    """One line per strategy measurement, each measured in a fresh process."""
    lines = ["", "strategy analysis (default data, one fresh process each, build not timed):"]
    print(lines[1], flush=True)
    for name, (label, target) in STRATEGY_TARGETS.items():
        r, error = _in_fresh_process("--strategy-one", name)
        if r is None:
            line = f"  {label:<64} failed: {error}"
        else:
            line = (f"  {label:<64} {r['seconds']:>7.2f} s  (target {target}; "
                    f"{r['result']})")
        print(line, flush=True)
        lines.append(line)
    return lines


#: The sensitivity measurement: 50 draws (the standard specification) of one scenario.
SENSITIVITY_SCENARIO = "jpn_deal_15"


def measure_sensitivity(workers: int) -> dict:
    """Wall time of the standard specification's draws of :data:`SENSITIVITY_SCENARIO` on
    ``workers`` local Dask workers (cluster start-up and the central run included), into a
    temporary folder."""
    import tempfile

    from cge.sensitivity.sweep import run

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = run([SENSITIVITY_SCENARIO], "standard", out_dir=Path(tmp) / "sweep",
                  workers=workers)
        seconds = time.perf_counter() - t
    return {"workers": workers, "seconds": seconds, "tasks": res.total, "failed": res.failed}


def sensitivity_lines() -> list[str]:
    """50 draws of one scenario on 1 and on 2 workers (fresh process each) and the speed-up."""
    lines = ["", f"sensitivity sweep (standard specification, {SENSITIVITY_SCENARIO}; wall time "
             "incl. the local cluster's start):"]
    print(lines[1], flush=True)
    times = {}
    for workers in (1, 2):
        r, error = _in_fresh_process("--sensitivity-one", str(workers))
        if r is None:
            line = f"  {workers} worker(s): failed: {error}"
        else:
            times[workers] = r["seconds"]
            line = (f"  {workers} worker(s): {r['tasks']} tasks ({r['failed']} failed) in "
                    f"{r['seconds']:.1f} s")
        print(line, flush=True)
        lines.append(line)
    if len(times) == 2:
        line = f"  speed-up 2 workers vs 1: {times[1] / times[2]:.2f}x"
        print(line)
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--one":
        print(json.dumps(measure(argv[1])))
        return 0
    if argv and argv[0] == "--strategy-one":
        print(json.dumps(measure_strategy(argv[1])))
        return 0
    if argv and argv[0] == "--sensitivity-one":
        print(json.dumps(measure_sensitivity(int(argv[1]))))
        return 0
    if argv and argv[0] == "--report-one":
        print(json.dumps(measure_report(argv[1])))
        return 0
    parts = {"sensitivity": sensitivity_lines, "strategy": strategy_lines,
             "report": report_lines}
    if len(argv) == 1 and argv[0] in parts:
        from cge.paths import REPORTS_DIR

        lines = parts[argv[0]]()
        out = REPORTS_DIR / f"bench_{argv[0]}.txt"
        out.parent.mkdir(exist_ok=True)
        out.write_text("\n".join(lines[1:]) + "\n")
        print(f"written to {out}")
        return 0
    sizes = argv or list(SIZES)
    lines = [HEADER, "-" * len(HEADER)]
    print(HEADER, flush=True)
    stage_lines = ["", "build stages (s) and the slowest stage of build + first solve:"]
    for size in sizes:
        r, error = _in_fresh_process("--one", size)
        if r is None:
            line = f"{size:<16} failed: {error}"
        else:
            ratio = r["resolve"] / r["newton"] if r["newton"] else float("nan")
            line = (f"{r['size']:<16} {r['import']:>8.2f} {r['vars']:>7} {r['nnz']:>9} "
                    f"{r['build']:>8.2f} "
                    f"{r['first']:>11.3f} {r['resolve']:>10.3f} {r['iters']:>5} "
                    f"{r['newton']:>9.3f} {ratio:>6.1f} {r['peak_mib']:>9.0f}")
            parts = dict(r["stages"], **{"first solve": r["first"]})
            slowest = max(parts, key=parts.get)
            stage_lines.append(f"  {r['size']:<10} " + ", ".join(
                f"{k} {v:.2f}" for k, v in parts.items()) + f"; slowest: {slowest}")
        print(line, flush=True)
        lines.append(line)
    print("\n".join(stage_lines))
    lines.extend(stage_lines)
    if not argv:
        t = counterfactual_time()
        line = f"standard scenario library + PDF (make counterfactual work): {t:.1f} s"
        print(line)
        lines.append(line)
        lines.extend(report_lines())
        lines.extend(strategy_lines())
        lines.extend(sensitivity_lines())
    from cge.paths import REPORTS_DIR

    out = REPORTS_DIR / "bench.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
