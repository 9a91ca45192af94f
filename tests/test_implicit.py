r"""The equilibrium as a function of the instruments (``cge.implicit``).

On ``two_by_two`` with three instruments (HOME's uniform tariff on FOREIGN, FOREIGN's on
HOME, a FOREIGN -> HOME government transfer):

* every :meth:`EquilibriumMap.solve` ends at an equilibrium (residual <= 1e-8), the same one
  the ordinary Ipopt solve finds (variables within 1e-9);
* the gradient of each region's welfare by the implicit-function theorem equals a central
  finite difference of re-solved equilibria (relative 1e-6), at a point away from the
  benchmark.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from conftest import ELASTICITIES

import cge
from cge import frontier as fr
from cge.implicit import EquilibriumMap
from cge.solve import nlp_residual, solve
from cge.strategy import welfare_objective

Z = np.array([0.2, 0.05, 1.5])
STEPS = np.array([1e-4, 1e-4, 1e-3])


@cache
def _session() -> cge.Session:
    from cge.data.examples import two_by_two

    return cge.Session(two_by_two(), ELASTICITIES)


def _map():
    model = _session().model()
    model.restore(model._benchmark)
    resolved = fr._resolve_instruments(model, [
        fr.tariff("HOME", "FOREIGN", "all", (0.0, 0.5)),
        fr.tariff("FOREIGN", "HOME", "all", (0.0, 0.5)),
        fr.transfer("FOREIGN", "HOME", (-3.0, 3.0))])
    return model, EquilibriumMap(model, [(r.vars, r.const) for r in resolved])


def test_solve_reaches_the_ipopt_equilibrium():
    model, em = _map()
    try:
        em.solve(Z)
        assert nlp_residual(model)[0] <= 1e-8
        newton = np.array([v.value for v in model.free_variables()])
        solve(model)
        ipopt = np.array([v.value for v in model.free_variables()])
        np.testing.assert_allclose(newton, ipopt, rtol=0, atol=1e-9)
    finally:
        model.restore(model._benchmark)


@pytest.mark.parametrize("region", ["HOME", "FOREIGN"])
def test_gradient_equals_finite_differences(region):
    model, em = _map()
    expr = welfare_objective(model, region)
    try:
        em.solve(Z)
        grad = em.gradient(expr)
        fd = np.empty(3)
        for j, h in enumerate(STEPS):
            up, down = Z.copy(), Z.copy()
            up[j] += h
            down[j] -= h
            em.solve(up)
            f_up = em.value(expr)
            em.solve(down)
            fd[j] = (f_up - em.value(expr)) / (2 * h)
        assert np.all(np.abs(grad) > 1e-6), grad          # no vacuous zero gradient
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-10)
    finally:
        model.restore(model._benchmark)
