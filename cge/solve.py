"""Solve a built model with Ipopt through cyipopt (Pyomo's PyNumero interface); diagnostics.

There is no silent fallback to another solver: if the cyipopt/PyNumero stack does not work,
:func:`check_solver` says what is missing. A failed solve never leaves the model at a point that
looks valid: the previous point is restored and the diagnostics say what was tried.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from pyomo.environ import SolverFactory, value

from cge.model import CGEModel

#: Ipopt options. The system is square, so Ipopt runs Newton steps with a filter line search on
#: the constraint violation. Residuals are relative (every equation is scaled by its benchmark
#: size), so tol = 1e-10 means a relative residual of 1e-10.
#: Measured on the default data, five scenarios (us_baseline_10, us_2025_landscape,
#: jpn_defense_2pct, landscape_2026_s232_s122_15, jpn_pays_full_cost): these settings, Ipopt's
#: defaults for mu_init/bound_push/bound_frac, and gradient-based scaling all need 18 iterations
#: in total (times within noise, 2.1–2.6 s on a loaded 2-core machine). We keep a tiny mu_init
#: and bound_push so the benchmark start is taken as it is: with the default mu_init = 0.1 the
#: bound multipliers' complementarity is not yet converged at the benchmark point, while the
#: replication gate asks for zero iterations. No scaling: equations are already relative.
#: ``constr_mult_init_max = 0`` skips Ipopt's least-squares estimate of the initial constraint
#: multipliers (one factorization of the KKT matrix per solve, which a square system does not
#: need: its steps are fixed by the Jacobian alone). Measured: the same 140 iterations over the
#: 46 library scenarios on the default data; the replication gate at 20 regions x 30 sectors
#: 1.29 s -> 0.89 s.
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
    "hessian_approximation": "limited-memory",
    "constr_mult_init_max": 0.0,
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
    from cge.asl import amplinterface_class, preserved_fp_environment

    ampl = amplinterface_class()          # raises SolverUnavailable with the advice
    from pyomo.environ import ConcreteModel, Constraint, Objective, Var

    m = ConcreteModel()
    m.x = Var(initialize=1.0)
    m.c = Constraint(expr=m.x ** 3 == 8.0)
    m.o = Objective(expr=0.0)
    with preserved_fp_environment():
        SolverFactory("cyipopt").solve(m, options={"print_level": 0, "sb": "yes"})
    if abs(value(m.x) - 2.0) > 1e-8:
        raise SolverUnavailable(f"Ipopt returned x = {value(m.x)} for x^3 = 8")
    import cyipopt as cy

    return (f"Ipopt via cyipopt {getattr(cy, '__version__', '?')} and PyNumero: OK "
            f"(ASL library {ampl.libname})")


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


class ModelNLP:
    """The model in AMPL's compiled form: constraint values and their sparse Jacobian, built
    once per model and reused by every solve.

    :mod:`cge.nlfile` writes the model once and PyNumero's ``AmplInterface`` (the AMPL Solver
    Library) evaluates it. Every *fixed* variable (policy instrument, exogenous amount) enters as
    a variable with equal lower and upper bounds, which Ipopt removes from the problem
    (``fixed_variable_treatment = make_parameter``), so a new scenario only changes bounds.
    ``SolverFactory("cyipopt")`` would write a fresh NL file at every call instead (0.5 s on the
    default data, 5 s at 20 regions x 30 sectors). The NLP stays cheap at every size because no
    equation holds a dense nonlinear block (tax revenue has its own variable, see
    :mod:`cge.blocks.income`). Measured, 12 regions x 16 sectors: 1.8 s and 0.3 GB to build,
    0.58 million Hessian non-zeros in AMPL's structure (10.9 s, 2.2 GB and 34.5 million before
    tax revenue got its own variable). We call ``AmplInterface`` directly rather than
    PyNumero's ``PyomoNLP``: the solver needs only constraint values and the Jacobian's values
    in a fixed structure, without PyomoNLP's block-matrix and sparse-matrix wrappers.
    (Importing cyipopt imports scipy, and Pyomo's import hook then imports ``scipy.stats``: a
    one-time cost of about 1.4 s per process that ``make bench`` reports in its own column.)

    Units: every equation is written relative to its benchmark size, so residuals are relative.
    """

    def __init__(self, model: CGEModel):
        from pyomo.common.tempfiles import TempfileManager

        from cge.asl import open_nl

        fixed = [v for v in model.all_vars if v.fixed]
        saved = [(v.lb, v.ub, v.value) for v in fixed]
        try:
            for v in fixed:
                val = v.value
                v.unfix()
                v.setlb(val)
                v.setub(val)
            with TempfileManager.new_context() as tmp:
                path = tmp.create_tempfile(suffix=".nl")
                info = _write_nl_file(model, path)
                self.asl = open_nl(path)
        finally:
            for v, (lb, ub, val) in zip(fixed, saved, strict=True):
                v.setlb(lb)
                v.setub(ub)
                v.fix(val)
        self.vars = list(info.variables)
        self.constraints = list(info.constraints)
        n, n_eq = self.asl.get_n_vars(), self.asl.get_n_constraints()
        if n != len(self.vars) or n_eq != len(self.constraints):
            raise RuntimeError("the AMPL representation does not match the model's "
                               f"variables/equations ({n}/{n_eq} vs {len(self.vars)}/"
                               f"{len(self.constraints)})")
        gl, gu = np.zeros(n_eq), np.zeros(n_eq)
        self.asl.get_g_lower_bounds(gl)
        self.asl.get_g_upper_bounds(gu)
        if not np.array_equal(gl, gu):
            raise RuntimeError("the model has inequality constraints; it must be square")
        self.lb0 = np.array([-np.inf if v.lb is None else v.lb for v in self.vars])
        self.ub0 = np.array([np.inf if v.ub is None else v.ub for v in self.vars])
        #: right-hand sides as AMPL holds them (constants moved out of the bodies)
        self.rhs = gl
        self.constraint_names = [c.name for c in self.constraints]
        self.n_free = len(model.free_variables())
        self.n_equations = n_eq
        self.nnz = self.asl.get_nnz_jac_g()
        rows, cols = np.zeros(self.nnz, dtype=np.intc), np.zeros(self.nnz, dtype=np.intc)
        self.asl.struct_jac_g(rows, cols)
        self.jacobian_structure = (rows - 1, cols - 1)      # AMPL counts from 1

    def point(self) -> np.ndarray:
        """The Pyomo model's current values, in the NLP's order (NaN where a variable has none)."""
        return np.array([np.nan if v.value is None else v.value for v in self.vars], dtype=float)

    def current(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x0, lb, ub) from the Pyomo model's current values and fixed flags."""
        x0 = self.point()
        fixed = np.array([v.fixed for v in self.vars])
        lb = np.where(fixed, x0, self.lb0)
        ub = np.where(fixed, x0, self.ub0)
        return x0, lb, ub

    def constraint_values(self, x: np.ndarray) -> np.ndarray:
        """Constraint bodies g(x) as AMPL holds them (compare with :attr:`rhs`)."""
        g = np.zeros(self.n_equations)
        self.asl.eval_g(np.ascontiguousarray(x, dtype=float), g)
        return g

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Residuals g(x) − rhs (relative: equations are scaled by design)."""
        return self.constraint_values(x) - self.rhs

    def jacobian_values(self, x: np.ndarray) -> np.ndarray:
        """Non-zeros of the Jacobian at x, in the order of :attr:`jacobian_structure`."""
        out = np.zeros(self.nnz)
        self.asl.eval_jac_g(np.ascontiguousarray(x, dtype=float), out)
        return out

    def jacobian(self, x: np.ndarray):
        """Sparse Jacobian of the constraints (scipy COO) at x."""
        from scipy.sparse import coo_matrix

        rows, cols = self.jacobian_structure
        return coo_matrix((self.jacobian_values(x), (rows, cols)),
                          shape=(self.n_equations, len(self.vars)))


def _write_nl_file(model: CGEModel, path: str):
    """Write the model's NL file with :func:`cge.nlfile.write_nl`, or with Pyomo's general
    writer when the model holds a construct that one does not handle. Returns what maps the
    file to the model (``variables``, ``constraints``)."""
    from cge.nlfile import Unsupported, write_nl

    try:
        with open(path, "w", newline="") as stream:
            return write_nl(model.m, stream, model.all_vars)
    except Unsupported:
        from pyomo.repn.plugins.nl_writer import NLWriter

        with open(path, "w", newline="") as stream:
            return NLWriter().write(model.m, stream, linear_presolve=False, scale_model=False,
                                    skip_trivial_constraints=False)


def model_nlp(model: CGEModel) -> ModelNLP:
    """The NLP to solve ``model`` with its current instruments (built once per model)."""
    if getattr(model, "_nlp", None) is None:
        model._nlp = ModelNLP(model)
    return model._nlp


#: Largest magnitude of a constraint value or Jacobian entry handed to Ipopt. Equations are
#: relative (residual 1 = 100 % of the benchmark size) and their derivatives are of order 1-10
#: at every economically meaningful point, so 1e100 is far beyond any point Ipopt could accept.
#: The bound is a margin, not a measured threshold: Ipopt and MUMPS square and multiply these
#: numbers (constraint violation, the limited-memory update s'y, pivoting and scaling), the
#: square of anything above ~1.3e154 overflows to inf, and an inf in the KKT matrix is what
#: crashes MUMPS (see :class:`SolveCallbacks`; finite entries of 1e300 did not crash it in the
#: measured case). Values beyond it are refused like a domain error.
MAX_EVALUATION = 1e100


class SolveCallbacks:
    """Ipopt's callbacks on the persistent NLP: objective, constraints and their Jacobian.

    No Hessian: the system is square with a constant objective, so the constraint multipliers
    are zero at the solution and the Hessian of the Lagrangian vanishes there; Ipopt runs with
    ``hessian_approximation = limited-memory``. Measured on the default data (8 regions × 10
    sectors, 3 tariff/transfer scenarios): identical iteration counts and residuals as with the
    exact Hessian, solve time 0.3–0.5 s instead of 1.5–2.4 s (PyNumero's ASL Hessian alone took
    0.13 s per evaluation).

    What Ipopt is handed is always finite or refused. The segmentation faults of issue 12
    (productivity x 1e308 on ``two_by_two``, x 1e200 on the default data) had one root cause:
    AMPL evaluates the Jacobian without flagging overflow in products and powers, so entries
    of ``inf`` (and ``NaN``) came back as numbers; cyipopt copies them into Ipopt's arrays;
    Ipopt does not check derivatives (``check_derivatives_for_naninf`` is off by default) and
    hands the KKT matrix to MUMPS, whose maximum weighted matching (``dmumps_mtransw``, run in
    the analysis for the column permutation and scaling; it works on ``log|a_ij|``) indexes
    out of bounds on an ``inf`` entry. (Measured under gdb: the crash is in ``dmumps_mtransw``
    from ``MumpsSolverInterface::SymbolicFactorization``; replacing the ``inf`` entries by
    1e300 or keeping only the ``NaN`` ones does not crash; keeping the ``inf`` ones does.)
    So:

    * AMPL reports a domain error (e.g. a negative base of a fractional power at a trial
      point): an *evaluation error* for Ipopt, which shortens the step (or, at the starting
      point, stops with "invalid number detected");
    * AMPL returns inf/NaN or a value beyond :data:`MAX_EVALUATION` without an error: refused
      the same way, before Ipopt sees it;
    * any other exception inside a callback: cyipopt would store it and hand Ipopt the
      *unset* output array (its ``jacobian_cb`` returns True after an exception, and the
      values array is left as it was). Here it is recorded in :attr:`failure`, reported to
      Ipopt as an evaluation error (nothing is read), and :meth:`intermediate` stops Ipopt at
      its next iteration; :func:`_ipopt_once` then re-raises it or reports it.
    """

    def __init__(self, pnlp: ModelNLP, iters: list[int]):
        self.pnlp = pnlp
        self.iters = iters
        self.zero = np.zeros(len(pnlp.vars))
        #: the first non-evaluation exception raised inside a callback, if any
        self.failure: BaseException | None = None

    def objective(self, x):
        return 0.0                      # the objective is the constant 0 (model.objective)

    def gradient(self, x):
        return self.zero

    def constraints(self, x):
        return self._evaluate(self.pnlp.constraint_values, x)

    def jacobianstructure(self):
        return self.pnlp.jacobian_structure

    def jacobian(self, x):
        return self._evaluate(self.pnlp.jacobian_values, x)

    def intermediate(self, alg_mod, iter_count, *args):
        self.iters[0] = int(iter_count)
        return self.failure is None     # False stops Ipopt ("user stop")

    def _evaluate(self, fn, x) -> np.ndarray:
        """``fn(x)`` if it is finite and within :data:`MAX_EVALUATION`, else Ipopt's
        evaluation error."""
        import cyipopt
        from pyomo.contrib.pynumero.exceptions import PyNumeroEvaluationError

        if self.failure is not None:
            raise cyipopt.CyIpoptEvaluationError("an earlier callback failed")
        try:
            out = fn(x)
        except PyNumeroEvaluationError as exc:
            raise cyipopt.CyIpoptEvaluationError(str(exc)) from exc
        except BaseException as exc:  # noqa: BLE001 - recorded, re-raised after the solve
            self.failure = exc
            raise cyipopt.CyIpoptEvaluationError(f"{type(exc).__name__}: {exc}") from exc
        if not np.all(np.abs(out) <= MAX_EVALUATION):      # also catches NaN
            raise cyipopt.CyIpoptEvaluationError(
                f"non-finite or beyond {MAX_EVALUATION:g} at this point")
        return out


def _ipopt_once(model: CGEModel, options: dict) -> tuple[str, str, int, ModelNLP]:
    """One Ipopt run from the model's current point; the model gets Ipopt's point only if it is
    finite. Returns (status code, termination message, iterations, the NLP); an exception
    raised inside a callback is re-raised here if it is not an ``Exception`` (e.g.
    ``KeyboardInterrupt``), else reported as status ``"error"``."""
    import cyipopt

    pnlp = model_nlp(model)
    x0, lb, ub = pnlp.current()
    iters = [0]
    if not np.all(np.isfinite(x0)):   # an instrument or start value NaN/inf: nothing to solve
        k = int(np.argmax(~np.isfinite(x0)))
        return "error", f"not finite at the start: {pnlp.vars[k].name} = {x0[k]}", 0, pnlp
    opts = dict(IPOPT_OPTIONS)
    opts.update(options)
    callbacks = SolveCallbacks(pnlp, iters)
    try:
        problem = cyipopt.Problem(n=len(x0), m=pnlp.n_equations, problem_obj=callbacks,
                                  lb=lb, ub=ub, cl=pnlp.rhs, cu=pnlp.rhs)
        for key, val in opts.items():
            problem.add_option(key, val)
        x, info = problem.solve(x0)
    except Exception as exc:  # Ipopt errors surface as exceptions from cyipopt
        return "error", f"{type(exc).__name__}: {exc}", iters[0], pnlp
    if callbacks.failure is not None:
        if not isinstance(callbacks.failure, Exception):
            raise callbacks.failure
        exc = callbacks.failure
        return "error", f"{type(exc).__name__} in a callback: {exc}", iters[0], pnlp
    status = int(info["status"])
    term = IPOPT_STATUS.get(status, f"ipopt status {status}")
    if not np.all(np.isfinite(x)):
        return str(status), f"{term}; Ipopt's point is not finite (discarded)", iters[0], pnlp
    for v, xv in zip(pnlp.vars, x, strict=True):
        if not v.fixed:
            v.set_value(float(xv), skip_validation=True)
    return str(status), term, iters[0], pnlp


#: Ipopt's ApplicationReturnStatus codes, as cyipopt reports them.
IPOPT_STATUS = {0: "optimal", 1: "acceptable", 2: "infeasible", 3: "search direction too small",
                4: "diverging iterates", 5: "user stop", 6: "feasible point found",
                -1: "maximum iterations", -2: "restoration failed", -3: "error in step",
                -4: "maximum CPU time", -10: "not enough degrees of freedom",
                -11: "invalid problem definition", -12: "invalid option",
                -13: "invalid number detected", -100: "unrecoverable exception",
                -101: "non-Ipopt exception", -102: "insufficient memory", -199: "internal error"}


def solve(model: CGEModel, *, options: dict | None = None, continuation: bool = True,
          max_steps: int = 16) -> Diagnostics:
    """Solve from the current point; on failure, retry by continuation in the instruments.

    Continuation (homotopy) moves every fixed instrument from its value at the last solved point
    to its target in ``k`` equal steps (2, 4, 8, … up to ``max_steps``), solving at each step.
    Raises :class:`SolveError` if no attempt converges, and for any other error met on the way
    (its type and message are in the attempts); the model is then restored to the point it
    started from (its instruments at their targets). An interruption (``KeyboardInterrupt``)
    restores the model too and is re-raised as it is.
    """
    options = options or {}
    diag = Diagnostics()
    start = time.perf_counter()
    snap = model.snapshot()
    try:
        ok = _attempts(model, snap, options, diag, continuation, max_steps)
    except BaseException as exc:
        model.restore(snap)
        if not isinstance(exc, Exception):
            raise
        diag.status, diag.seconds = "failed", time.perf_counter() - start
        diag.attempts.append(f"stopped by {type(exc).__name__}: {exc}")
        raise SolveError(f"solve failed: {'; '.join(diag.attempts)}", diag) from exc
    diag.seconds = time.perf_counter() - start
    diag.walras_slack = _walras(model)
    diag.status = "optimal" if ok else "failed"
    if ok:
        model.last_solution = model.snapshot()
        return diag
    at_bound = _at_bounds(model)
    model.restore(snap)
    hint = (f"; variables at a bound (the equilibrium may need them beyond it): "
            f"{', '.join(at_bound)}" if at_bound else "")
    raise SolveError(f"solve failed: {'; '.join(diag.attempts)}; largest residual "
                     f"{diag.max_residual:.3g} in {diag.worst_equation}, Walras slack "
                     f"{diag.walras_slack:.3g}{hint}", diag)


def _attempts(model: CGEModel, snap: dict, options: dict, diag: Diagnostics,
              continuation: bool, max_steps: int) -> bool:
    """The direct attempt, then continuation if asked for; True when one converged."""
    status, term, iters, _ = _ipopt_once(model, options)
    diag.iterations += iters
    diag.attempts.append(f"direct: {term} after {iters} iterations")
    ok = _accept(model, term, diag)
    if not ok and continuation:
        ok = _continuation(model, snap, options, diag, max_steps)
    return ok


def _at_bounds(model: CGEModel, limit: int = 5) -> list[str]:
    """Free variables sitting on a bound at the last point tried (e.g. investment at zero)."""
    out = []
    for v in model.free_variables():
        x = v.value
        if x is None:
            continue
        if (v.lb is not None and x <= v.lb + 1e-7) or (v.ub is not None and x >= v.ub - 1e-7):
            out.append(f"{v.name} = {x:.3g}")
            if len(out) >= limit:
                break
    return out


def nlp_residual(model: CGEModel) -> tuple[float, str]:
    """Largest absolute residual at the model's current point and its equation, evaluated by
    the NLP (compiled AMPL code; :func:`residuals` walks the Pyomo expressions instead).

    A point where the equations cannot be evaluated (AMPL reports a domain error, or a value
    is missing or not finite) has residual ``inf``: it is not a solution."""
    from pyomo.contrib.pynumero.exceptions import PyNumeroEvaluationError

    pnlp = model_nlp(model)
    x = pnlp.point()
    if not np.all(np.isfinite(x)):
        k = int(np.argmax(~np.isfinite(x)))
        return float("inf"), f"(variable {pnlp.vars[k].name} = {x[k]})"
    try:
        g = np.abs(pnlp.residuals(x))
    except PyNumeroEvaluationError:
        return float("inf"), "(the equations cannot be evaluated at this point: AMPL error)"
    if not len(g):
        return 0.0, ""
    if not np.all(np.isfinite(g)):
        return float("inf"), pnlp.constraint_names[int(np.argmax(~np.isfinite(g)))]
    k = int(np.argmax(g))
    return float(g[k]), pnlp.constraint_names[k]


def _accept(model: CGEModel, term: str, diag: Diagnostics) -> bool:
    """The point is a solution: residual and Walras slack within tolerance (checked on the
    model's values, whatever Ipopt reported)."""
    res, where = nlp_residual(model)
    diag.max_residual, diag.worst_equation, diag.termination = res, where, term
    walras = abs(_walras(model))
    return res <= RESIDUAL_TOL and walras <= WALRAS_TOL


def _walras(model: CGEModel) -> float:
    """The Walras slack's value (NaN when it has none)."""
    val = model.m.walras.value
    return float("nan") if val is None else float(val)


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
            status, term, iters, _ = _ipopt_once(model, options)
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
