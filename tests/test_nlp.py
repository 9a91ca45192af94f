"""The compiled AMPL form of the model (``cge.solve.ModelNLP``) against the Pyomo expressions.

The solver sees only ``ModelNLP``: constraint values and Jacobian values from AMPL's compiled
code, with the instruments as variables whose bounds a scenario moves. These tests check that
this form is the model: at perturbed points (off the benchmark, instruments changed after the
NLP was built) its residuals equal those of the Pyomo expressions, and its Jacobian equals
central finite differences of those residuals.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import calibrated
from pyomo.environ import value

from cge.model import build_model
from cge.options import ModelOptions
from cge.solve import model_nlp


def pyomo_residuals(pnlp) -> np.ndarray:
    """Residual of every equation, in the NLP's order, from the Pyomo expressions."""
    out = []
    for c in pnlp.constraints:
        target = value(c.upper) if c.upper is not None else value(c.lower)
        out.append(value(c.body) - target)
    return np.array(out)


def perturb(model, rng, scale: float = 0.05) -> None:
    """Move every free variable by up to ±scale (relative), staying inside its bounds."""
    for v in model.free_variables():
        x = v.value * (1.0 + scale * rng.uniform(-1.0, 1.0)) if v.value else scale * rng.random()
        if v.lb is not None:
            x = max(x, v.lb)
        v.set_value(x, skip_validation=True)


@pytest.mark.parametrize("options", [ModelOptions(),
                                     ModelOptions(institutions="separate"),
                                     ModelOptions(transformation="cet")],
                         ids=["regional household", "separate", "cet"])
def test_nlp_residuals_equal_pyomo_expressions_off_the_benchmark(options):
    model = build_model(calibrated("random", 3, 3, 4), options)
    pnlp = model_nlp(model)                       # built at the benchmark, then reused
    rng = np.random.default_rng(7)
    tm = [v for v in model.m.tm.values()]
    for trial in range(3):
        perturb(model, rng)
        for v in tm[trial::3]:                    # a tariff change after the NLP was built
            v.fix(0.3 * rng.random())
        x, lb, ub = pnlp.current()
        got, want = pnlp.residuals(x), pyomo_residuals(pnlp)
        assert np.max(np.abs(want)) > 1e-3        # really off the equilibrium
        k = int(np.argmax(np.abs(got - want)))
        assert abs(got[k] - want[k]) <= 1e-10 * max(1.0, abs(want[k])), pnlp.constraint_names[k]
        fixed = np.array([v.fixed for v in pnlp.vars])
        assert np.array_equal(lb[fixed], x[fixed]) and np.array_equal(ub[fixed], x[fixed])


def test_nlp_jacobian_equals_finite_differences():
    model = build_model(calibrated("random", 5, 3, 4), ModelOptions())
    pnlp = model_nlp(model)
    perturb(model, np.random.default_rng(3))
    x, _, _ = pnlp.current()
    jac = pnlp.jacobian(x).toarray()
    h = 1e-6
    cols = np.random.default_rng(5).choice(len(x), size=min(40, len(x)), replace=False)
    for j in cols:
        up, dn = x.copy(), x.copy()
        up[j] += h
        dn[j] -= h
        fd = (pnlp.residuals(up) - pnlp.residuals(dn)) / (2 * h)
        err = np.max(np.abs(fd - jac[:, j]))
        assert err <= 1e-6 * max(1.0, np.max(np.abs(jac[:, j]))), pnlp.vars[j].name


def test_evaluation_error_is_reported_to_ipopt_as_such():
    """At a point where AMPL cannot evaluate the equations (a negative price under a fractional
    power) the callbacks raise cyipopt's evaluation error, so Ipopt shortens the step instead of
    abandoning the attempt."""
    import cyipopt

    from cge.solve import SolveCallbacks

    model = build_model(calibrated("random", 3, 3, 4), ModelOptions())
    pnlp = model_nlp(model)
    x, _, _ = pnlp.current()
    callbacks = SolveCallbacks(pnlp, [0])
    assert np.all(np.isfinite(callbacks.constraints(x)))
    x[next(k for k, v in enumerate(pnlp.vars) if v.name.startswith("pd["))] = -0.5
    with pytest.raises(cyipopt.CyIpoptEvaluationError):
        callbacks.constraints(x)
    with pytest.raises(cyipopt.CyIpoptEvaluationError):
        callbacks.jacobian(x)
