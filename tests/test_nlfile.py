"""The model's NL file (``cge.nlfile``) against an independent reference, Pyomo's own NL writer.

Both files are read by the AMPL Solver Library; the residuals (constraint value minus
right-hand side) and the Jacobian are compared per equation and variable, matched by identity,
at the benchmark and at points where every variable is moved by a random 5 %. Configurations
cover both institutions, a CET, sluggish factors, the unemployment and global-bank closures,
and a GTAP data base with transport margins.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ELASTICITIES, ROOT, calibrated
from pyomo.environ import ConcreteModel, Constraint, Expression, Objective, Var, sin
from pyomo.repn.plugins.nl_writer import NLWriter

from cge.asl import open_nl
from cge.model import build_model
from cge.nlfile import Unsupported, write_nl
from cge.options import ModelOptions
from cge.solve import ModelNLP

TOL = 1e-12       # relative to 1 + |value|: the two files differ only in rounding

CONFIGS = {
    "two_by_two": ("two_by_two", {}),
    "separate_cet": ("random", {"institutions": "separate", "transformation": "cet"}),
    "unemployment": ("random", {"factor_market": "unemployment"}),
    "global_bank_sluggish": ("random", {"external": "global_bank",
                                        "factor_roles": {"capital": "sluggish"},
                                        "etrae": {"capital": 1.5}}),
}


class _Evaluated:
    """An NL file read by ASL: residuals and Jacobian, indexed by the model's objects."""

    def __init__(self, path, info):
        self.asl = open_nl(path)
        self.vars = {id(v): j for j, v in enumerate(info.variables)}
        self.cons = [id(c) for c in info.constraints]
        n_con = self.asl.get_n_constraints()
        self.rhs = np.zeros(n_con)
        self.asl.get_g_lower_bounds(self.rhs)
        nnz = self.asl.get_nnz_jac_g()
        rows, cols = np.zeros(nnz, dtype=np.intc), np.zeros(nnz, dtype=np.intc)
        self.asl.struct_jac_g(rows, cols)
        self.rows, self.cols = rows - 1, cols - 1
        self.info = info

    def at(self, values: dict[int, float]) -> tuple[dict, dict]:
        """{constraint id: residual}, {(constraint id, variable id): derivative}."""
        x = np.array([values[id(v)] for v in self.info.variables])
        g = np.zeros(len(self.cons))
        self.asl.eval_g(x, g)
        jac = np.zeros(len(self.rows))
        self.asl.eval_jac_g(x, jac)
        var_ids = [id(v) for v in self.info.variables]
        res = dict(zip(self.cons, g - self.rhs, strict=True))
        entries: dict = {}
        for r, c, d in zip(self.rows, self.cols, jac, strict=True):
            key = (self.cons[r], var_ids[c])
            entries[key] = entries.get(key, 0.0) + d
        return res, entries


def _both_files(model, tmp_path):
    """The model's NL file by ``write_nl`` and by Pyomo's writer (fixed variables as
    variables with equal bounds, as ``ModelNLP`` writes them)."""
    fixed = [v for v in model.all_vars if v.fixed]
    for v in fixed:
        val = v.value
        v.unfix()
        v.setlb(val)
        v.setub(val)
    with open(tmp_path / "direct.nl", "w") as f:
        direct = write_nl(model.m, f, model.all_vars)
    with open(tmp_path / "pyomo.nl", "w") as f:
        reference = NLWriter().write(model.m, f, linear_presolve=False, scale_model=False,
                                     skip_trivial_constraints=False)
    return (_Evaluated(tmp_path / "direct.nl", direct),
            _Evaluated(tmp_path / "pyomo.nl", reference))


def _worst(a: dict, b: dict) -> tuple[float, object]:
    keys = set(a) | set(b)
    worst, where = 0.0, None
    for k in keys:
        x, y = a.get(k, 0.0), b.get(k, 0.0)
        d = abs(x - y) / (1.0 + abs(y))
        if not d <= worst:
            worst, where = d, k
    return worst, where


def _name(model, key) -> str:
    """The names of the equation (and variable) behind an id key, for messages."""
    from pyomo.environ import Constraint as C

    names = {id(o): o.name for o in model.m.component_data_objects((C,))}
    names.update({id(v): v.name for v in model.all_vars})
    keys = key if isinstance(key, tuple) else (key,)
    return ", ".join(names.get(k, "?") for k in keys)


def _compare(model, tmp_path, n_points: int = 3) -> None:
    direct, reference = _both_files(model, tmp_path)
    assert len(direct.cons) == len(reference.cons)
    rng = np.random.default_rng(7)
    base = {id(v): float(v.value) for v in model.all_vars}
    for k in range(n_points + 1):
        point = base if k == 0 else {
            key: val * (1.0 + 0.05 * rng.standard_normal()) for key, val in base.items()}
        res_d, jac_d = direct.at(point)
        res_r, jac_r = reference.at(point)
        err, where = _worst(res_d, res_r)
        assert err <= TOL, f"point {k}: residuals differ by {err:.3g} at {_name(model, where)}"
        err, where = _worst(jac_d, jac_r)
        assert err <= TOL, (f"point {k}: Jacobian entries differ by {err:.3g} at "
                            f"{_name(model, where)}")
        if k:   # a moved point tests something: residuals are not all zero there
            assert max(abs(v) for v in res_r.values()) > 1e-3


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_nl_file_evaluates_as_pyomos(config, tmp_path):
    name, opts = CONFIGS[config]
    params = calibrated(name, 0, 3, 4, ELASTICITIES) if name == "random" else calibrated(name)
    _compare(build_model(params, ModelOptions(**opts)), tmp_path)


def test_gtap_margins_evaluate_as_pyomos(tmp_path):
    """GTAP 3 x 3 from its HAR files: transport margins, the global transport pool."""
    import cge

    folder = next((p / "gtap7_3x3" for p in (ROOT / "data" / "raw" / "gtap7",
                   ROOT.parent / "shared" / "data" / "gtap7")
                   if (p / "gtap7_3x3" / "basedata.har").is_file()), None)
    if folder is None:
        pytest.skip("GTAP data base gtap7_3x3 not found; get datasets/gtap7_3x3/ of "
                    "github.com/mmc00/equilibria at commit 2ae322e0b738")
    session = cge.Session(folder)
    model = build_model(session.params, session.options)
    assert model.ctx.route_margins, "the data base should have transport margins"
    _compare(model, tmp_path, n_points=2)


def test_aliases_and_constants_evaluate_as_pyomos(tmp_path):
    """Named expressions that are a constant, or just another named expression (ASL's
    Jacobian crashed on a defined variable copying another), inside sums and products."""
    m = ConcreteModel()
    m.x = Var([1, 2], initialize=2.0, bounds=(0.5, None))
    m.zero = Expression(expr=0.0)
    m.six = Expression(expr=3.0 * 2.0)
    m.e = Expression(expr=m.x[1] * m.x[2] + 2.0 * m.x[1])
    m.alias = Expression(expr=m.e)
    m.alias2 = Expression(expr=m.alias)
    m.c1 = Constraint(expr=m.alias + m.zero + m.x[1] ** m.six == 4.0)
    m.c2 = Constraint(expr=m.x[2] * m.six + m.zero * m.x[1] + m.alias2 * m.x[2] == 3.0)
    m.c3 = Constraint(expr=(m.alias2 - m.e * m.x[1]) / 4.0 == 1.0)
    m.o = Objective(expr=0.0)
    _compare(SimpleNamespace(m=m, all_vars=list(m.x.values())), tmp_path)


def _tiny(extra=None) -> ConcreteModel:
    m = ConcreteModel()
    m.x = Var([1, 2], initialize=1.0, bounds=(0.0, None))
    m.e = Constraint(expr=m.x[1] * m.x[2] == 1.0)
    m.o = Objective(expr=0.0)
    if extra is not None:
        extra(m)
    return m


@pytest.mark.parametrize("construct", [
    lambda m: setattr(m, "ineq", Constraint(expr=m.x[1] <= 3.0)),
    lambda m: setattr(m, "trig", Constraint(expr=sin(m.x[1]) == 0.5)),
], ids=["inequality", "function"])
def test_what_it_does_not_handle_is_refused(construct, tmp_path):
    m = _tiny(construct)
    with open(tmp_path / "t.nl", "w") as f, pytest.raises(Unsupported):
        write_nl(m, f, list(m.x.values()))


def test_a_refused_model_falls_back_to_pyomos_writer(monkeypatch):
    """When ``write_nl`` refuses, ``ModelNLP`` writes the file with Pyomo's writer: the same
    residuals at a moved point."""
    import cge.nlfile

    model = build_model(calibrated("two_by_two"), ModelOptions())
    direct = ModelNLP(model)

    refused = []

    def refuse(*args, **kwargs):
        refused.append(True)
        raise Unsupported("refused for the test")

    monkeypatch.setattr(cge.nlfile, "write_nl", refuse)
    fallback = ModelNLP(model)
    assert refused
    x = {id(v): float(v.value) * 1.03 for v in model.all_vars}
    res_d = dict(zip(map(id, direct.constraints),
                     direct.residuals(np.array([x[id(v)] for v in direct.vars])), strict=True))
    res_f = dict(zip(map(id, fallback.constraints),
                     fallback.residuals(np.array([x[id(v)] for v in fallback.vars])),
                     strict=True))
    err, _ = _worst(res_d, res_f)
    assert err <= TOL and max(map(abs, res_f.values())) > 1e-3
