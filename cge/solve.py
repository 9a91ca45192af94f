"""Solve a built model with Ipopt through cyipopt (Pyomo's PyNumero interface); diagnostics.

There is no silent fallback to another solver: if the cyipopt/PyNumero stack does not work,
:func:`check_solver` says what is missing. A failed solve never leaves the model at a point that
looks valid: the previous point is restored and the diagnostics say what was tried.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from pyomo.environ import SolverFactory, value

from cge.model import CGEModel

#: Ipopt options. The system is square, so Ipopt runs Newton steps with a filter line search on
#: the constraint violation. Residuals are relative (every equation is scaled by its benchmark
#: size), so tol = 1e-10 means a relative residual of 1e-10.
IPOPT_OPTIONS: dict[str, object] = {
    "tol": 1e-10,
    "constr_viol_tol": 1e-10,
    "acceptable_tol": 1e-8,
    "max_iter": 200,
    "print_level": 0,
    "sb": "yes",
    "nlp_scaling_method": "none",
    "bound_push": 1e-12,
    "bound_frac": 1e-12,
    "mu_init": 1e-8,
}

RESIDUAL_TOL = 1e-8
WALRAS_TOL = 1e-8


class SolverUnavailable(RuntimeError):
    """The Ipopt/cyipopt/PyNumero stack cannot run here; the message says how to install it."""


class SolveError(RuntimeError):
    """A solve failed; ``diagnostics`` says what was tried."""

    def __init__(self, message: str, diagnostics: Diagnostics):
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass
class Diagnostics:
    """What the solver did: status, iterations, time, largest residual, Walras slack."""

    status: str = "not solved"
    termination: str = ""
    iterations: int = 0
    seconds: float = 0.0
    max_residual: float = float("nan")
    worst_equation: str = ""
    walras_slack: float = float("nan")
    continuation_steps: int = 0
    attempts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def check_solver() -> str:
    """Verify that Ipopt really solves through cyipopt; return a one-line description.

    ``SolverFactory("cyipopt").available()`` is not enough: it says True even when PyNumero's
    ASL library is missing, so we check the library and solve a one-variable problem.
    """
    try:
        import cyipopt  # noqa: F401
    except ImportError as exc:  # pragma: no cover - environment
        raise SolverUnavailable("cyipopt is not installed: pip install "
                                "cyipopt-wheels==1.7.0.dev0 (run `make setup`)") from exc
    from pyomo.contrib.pynumero.asl import AmplInterface

    if not AmplInterface.available():
        raise SolverUnavailable(
            "PyNumero's ASL library (libpynumero_ASL.so) is missing: run `make setup`, which "
            "builds it (needs apt packages libamplsolver-dev cmake pkg-config g++), and make "
            "sure PYOMO_CONFIG_DIR points at .venv/pyomo")
    from pyomo.environ import ConcreteModel, Constraint, Objective, Var

    m = ConcreteModel()
    m.x = Var(initialize=1.0)
    m.c = Constraint(expr=m.x ** 3 == 8.0)
    m.o = Objective(expr=0.0)
    SolverFactory("cyipopt").solve(m, options={"print_level": 0, "sb": "yes"})
    if abs(value(m.x) - 2.0) > 1e-8:
        raise SolverUnavailable(f"Ipopt returned x = {value(m.x)} for x^3 = 8")
    import cyipopt as cy

    return f"Ipopt via cyipopt {getattr(cy, '__version__', '?')} and PyNumero: OK"


def residuals(model: CGEModel) -> tuple[float, str]:
    """Largest absolute residual of the active equations (relative by construction) and where."""
    worst, where = 0.0, ""
    for c in model.active_equations():
        body = value(c.body, exception=False)
        if body is None:
            return float("inf"), c.name
        target = value(c.upper) if c.upper is not None else value(c.lower)
        res = abs(body - target)
        if not res <= worst:  # catches NaN
            worst, where = res, c.name
            if res != res:
                return float("inf"), c.name
    return worst, where


def _ipopt_once(model: CGEModel, options: dict) -> tuple[str, str, int]:
    iters = [0]

    def callback(*args, **kwargs):
        iters[0] = int(args[2]) if len(args) > 2 else iters[0] + 1
        return True

    solver = SolverFactory("cyipopt")
    opts = dict(IPOPT_OPTIONS)
    opts.update(options)
    try:
        res = solver.solve(model.m, options=opts, intermediate_callback=callback, tee=False)
        term = str(res.solver.termination_condition)
        status = str(res.solver.status)
    except Exception as exc:  # Ipopt errors surface as exceptions from cyipopt
        return "error", f"{type(exc).__name__}: {exc}", iters[0]
    return status, term, iters[0]


def solve(model: CGEModel, *, options: dict | None = None, continuation: bool = True,
          max_steps: int = 16) -> Diagnostics:
    """Solve from the current point; on failure, retry by continuation in the instruments.

    Continuation (homotopy) moves every fixed instrument from its value at the last solved point
    to its target in ``k`` equal steps (2, 4, 8, … up to ``max_steps``), solving at each step.
    Raises :class:`SolveError` if no attempt converges; the model is then restored to the point
    it started from (its instruments at their targets).
    """
    options = options or {}
    diag = Diagnostics()
    start = time.perf_counter()
    snap = model.snapshot()
    status, term, iters = _ipopt_once(model, options)
    diag.iterations += iters
    diag.attempts.append(f"direct: {term} after {iters} iterations")
    ok = _accept(model, term, diag)
    if not ok and continuation:
        ok = _continuation(model, snap, options, diag, max_steps)
    diag.seconds = time.perf_counter() - start
    diag.walras_slack = float(value(model.m.walras))
    diag.status = "optimal" if ok else "failed"
    if ok:
        model.last_solution = model.snapshot()
    else:
        model.restore(snap)
        raise SolveError(f"solve failed: {'; '.join(diag.attempts)}; largest residual "
                         f"{diag.max_residual:.3g} in {diag.worst_equation}, Walras slack "
                         f"{diag.walras_slack:.3g}", diag)
    return diag


def _accept(model: CGEModel, term: str, diag: Diagnostics) -> bool:
    res, where = residuals(model)
    diag.max_residual, diag.worst_equation, diag.termination = res, where, term
    walras = abs(value(model.m.walras))
    return res <= RESIDUAL_TOL and walras <= WALRAS_TOL


def _continuation(model: CGEModel, snap: dict, options: dict, diag: Diagnostics,
                  max_steps: int) -> bool:
    origin = model.last_solution["values"]
    fixed = [(n, v) for n, (v, f) in enumerate(zip(model.all_vars, snap["fixed"], strict=True))
             if f and origin[n] != snap["values"][n]]
    steps = 2
    while steps <= max_steps:
        model.restore(snap)
        for n, v in enumerate(model.all_vars):
            if not v.fixed:
                v.set_value(origin[n], skip_validation=True)
        ok = True
        for k in range(1, steps + 1):
            lam = k / steps
            for n, v in fixed:
                v.fix(origin[n] + lam * (snap["values"][n] - origin[n]))
            status, term, iters = _ipopt_once(model, options)
            diag.iterations += iters
            diag.continuation_steps += 1
            if not _accept(model, term, diag):
                diag.attempts.append(f"continuation in {steps} steps: failed at step {k} "
                                     f"({term})")
                ok = False
                break
        if ok:
            diag.attempts.append(f"continuation in {steps} steps: converged")
            return True
        steps *= 2
    return False
