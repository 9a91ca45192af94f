r"""The equilibrium as a function of a few instruments, with exact gradients (reduced space).

For fixed instruments z the model's equations :math:`F(x, z) = 0` are square in the free
variables x, so (where the Jacobian :math:`F_x` is regular) they define the equilibrium
:math:`x(z)` and every function of it, such as a region's equivalent variation
:math:`EV_r(z) = W_r(x(z), z)`. Its gradient follows from the implicit-function theorem by
one *adjoint* solve with the Jacobian already factorised for Newton:

.. math::
    F_x^{\top}\lambda = \nabla_x W_r, \qquad
    \frac{dEV_r}{dz_j} = \frac{\partial W_r}{\partial z_j} - \lambda^{\top} F_{z_j},

where :math:`F_{z_j}` is the sum of the Jacobian's columns of the model variables instrument j
sets (``var_i = z_j + c_i``: a uniform tariff on several cells, a transfer). A policy problem
over a handful of instruments — the deal frontier of :mod:`cge.frontier`, ``max EV_a(z)`` s.t.
``EV_b(z) >= L`` — is then a small NLP in z alone, each evaluation one equilibrium solve
warm-started from the last (a few Newton steps), instead of one large NLP over every model
variable with a quasi-Newton Hessian.

The equilibrium is solved by Newton's method on the AMPL form (:mod:`cge.solve`): sparse LU
(SuperLU), step halved until the residual's max-norm falls and the variables stay inside their
bounds; if Newton does not converge in :data:`NEWTON_MAX` steps the ordinary Ipopt solve with
continuation takes over (:func:`cge.solve.solve`). A point is accepted at the same tolerances
as every solve (:data:`cge.solve.RESIDUAL_TOL`, :data:`cge.solve.WALRAS_TOL`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pyomo.core.expr.calculus.derivatives import Modes, differentiate
from pyomo.core.expr.visitor import identify_variables
from pyomo.environ import value

from cge.model import CGEModel
from cge.solve import RESIDUAL_TOL, WALRAS_TOL, SolveError, model_nlp, solve

__all__ = ["NEWTON_MAX", "NEWTON_TOL", "POLISH_TOL", "EquilibriumMap", "polish"]

#: Newton steps before the Ipopt solve takes over.
NEWTON_MAX = 30
#: Newton stops when the largest relative residual is below this (well inside RESIDUAL_TOL).
NEWTON_TOL = 1e-11
#: :func:`polish` goes this far (Newton converges quadratically: the step after 1e-11 lands
#: near machine precision).
POLISH_TOL = 1e-13


class EquilibriumMap:
    """``x(z)``: the model's equilibrium at instruments z, and functions of it with gradients.

    ``links``: one entry per instrument, the model variables it sets and their offsets
    (``var_i = z + const_i``). The variables must be fixed instruments of the model; every
    other instrument keeps the value it has. Call :meth:`solve` with z first; :meth:`value`
    and :meth:`gradient` then refer to that equilibrium. The model holds the solved point
    (its instrument variables fixed at z). ``tol``: Newton's tolerance on the largest relative
    residual (default :data:`NEWTON_TOL`)."""

    def __init__(self, model: CGEModel, links: Sequence[tuple[Sequence[Any], Sequence[float]]],
                 tol: float | None = None):
        self.model = model
        self.tol = NEWTON_TOL if tol is None else float(tol)
        self.pnlp = model_nlp(model)
        self.position = {id(v): k for k, v in enumerate(self.pnlp.vars)}
        self.links = [(list(vars_), np.asarray(const, dtype=float)) for vars_, const in links]
        self.inst_pos = [np.array([self.position[id(v)] for v in vars_], dtype=int)
                         for vars_, _ in self.links]
        fixed = np.array([v.fixed for v in self.pnlp.vars])
        self.free = np.flatnonzero(~fixed)
        if len(self.free) != self.pnlp.n_equations:
            raise ValueError(f"the model is not square: {len(self.free)} free variables, "
                             f"{self.pnlp.n_equations} equations")
        self.lb = self.pnlp.lb0[self.free]
        self.ub = self.pnlp.ub0[self.free]
        self.x = self.pnlp.point()
        self._lu = None
        self._jac = None
        self._welfare: dict[int, tuple[Any, list, np.ndarray]] = {}
        self.newton_steps = 0
        self.fallbacks = 0

    # -- the equilibrium -------------------------------------------------------------------
    def solve(self, z: Sequence[float]) -> None:
        """Fix the instruments at z and solve the equilibrium from the current point (Newton,
        Ipopt if Newton fails). Raises :class:`~cge.solve.SolveError` if neither converges;
        the model is then at its last good point with the instruments at z."""
        x = self.pnlp.point()
        for (vars_, const), pos, zj in zip(self.links, self.inst_pos, z, strict=True):
            vals = float(zj) + const
            for v, val in zip(vars_, vals, strict=True):
                v.fix(float(val))
            x[pos] = vals
        if not self._newton(x):
            self.fallbacks += 1
            solve(self.model)
            x = self.pnlp.point()
            self._factorise(x)
        self.x = x
        self._store(x)

    def _residual(self, x: np.ndarray) -> float:
        from pyomo.contrib.pynumero.exceptions import PyNumeroEvaluationError

        try:
            g = self.pnlp.residuals(x)
        except PyNumeroEvaluationError:
            return np.inf
        return float(np.max(np.abs(g))) if np.all(np.isfinite(g)) else np.inf

    def _factorise(self, x: np.ndarray) -> None:
        from scipy.sparse.linalg import splu

        jac = self.pnlp.jacobian(x).tocsc()
        self._jac = jac
        self._lu = splu(jac[:, self.free], permc_spec="COLAMD")

    def _newton(self, x: np.ndarray) -> bool:
        """Damped Newton on the free variables, in place; True when converged (the LU is then
        the Jacobian's at the solution)."""
        norm = self._residual(x)
        for _ in range(NEWTON_MAX):
            if not np.isfinite(norm):
                return False
            try:
                self._factorise(x)
            except RuntimeError:                      # singular Jacobian
                return False
            if norm <= self.tol:
                return True
            dx = self._lu.solve(self.pnlp.residuals(x))
            step = 1.0
            for _ in range(20):
                trial = x.copy()
                trial[self.free] -= step * dx
                xf = trial[self.free]
                if np.all(xf >= self.lb) and np.all(xf <= self.ub):
                    new = self._residual(trial)
                    if new < norm:
                        break
                step /= 2
            else:
                return False
            x[:] = trial
            norm = new
            self.newton_steps += 1
        return False

    def _store(self, x: np.ndarray) -> None:
        for k in self.free:
            self.pnlp.vars[k].set_value(float(x[k]), skip_validation=True)
        walras = self.model.m.walras.value
        res = self._residual(x)
        if not (res <= RESIDUAL_TOL and abs(walras) <= WALRAS_TOL):
            raise SolveError(f"equilibrium map: residual {res:.3g}, Walras slack "
                             f"{walras:.3g} after the solve")

    # -- functions of the equilibrium ------------------------------------------------------
    def _parts(self, expr) -> tuple[Any, list, np.ndarray]:
        key = id(expr)
        if key not in self._welfare:
            vars_ = [v for v in identify_variables(expr, include_fixed=True)
                     if id(v) in self.position]
            pos = np.array([self.position[id(v)] for v in vars_], dtype=int)
            self._welfare[key] = (expr, vars_, pos)
        return self._welfare[key]

    def value(self, expr) -> float:
        """The expression's value at the current equilibrium."""
        return float(value(expr))

    def gradient(self, expr) -> np.ndarray:
        """d expr / dz at the current equilibrium (implicit-function theorem, one adjoint
        solve with the factorised Jacobian)."""
        expr, vars_, pos = self._parts(expr)
        d = np.asarray(differentiate(expr, wrt_list=vars_, mode=Modes.reverse_numeric),
                       dtype=float)
        full = np.zeros(len(self.pnlp.vars))
        np.add.at(full, pos, d)
        lam = self._lu.solve(full[self.free], trans="T")
        out = np.empty(len(self.links))
        for j, ipos in enumerate(self.inst_pos):
            cols = self._jac[:, ipos]
            out[j] = full[ipos].sum() - float(lam @ np.asarray(cols.sum(axis=1)).ravel())
        return out


def polish(model: CGEModel, tol: float = POLISH_TOL) -> None:
    """Newton steps from the model's current (solved) point down to ``tol``: an ordinary
    solve stops at :data:`cge.solve.RESIDUAL_TOL`, which leaves EV uncertain by up to about
    that much of benchmark expenditure (e.g. 0.04 of US$ 4 trillion); an equation in EV
    solved to 1e-8 of a small target needs the equilibrium to the last digits. Falls back to
    the Ipopt solve (and raises :class:`~cge.solve.SolveError`) as :meth:`EquilibriumMap.solve`."""
    EquilibriumMap(model, [], tol).solve([])
