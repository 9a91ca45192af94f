"""Soft targets of the cross-entropy balancing (``Target.tolerance > 0``).

The balancer (:mod:`cge.databuild.balance`) minimises, over the flow cells ``x``,
``KL(x | x0) + sum_k rho_k g_k^2 / 2`` subject to the accounts, with ``g_k`` the relative miss of
soft target ``k`` and ``rho_k = S w_k / tau_k`` (module docstring). These tests check its answer
against an independent solve of that primal problem with scipy's SLSQP, and that conflicting
figures end between their values, within their tolerances when the conflict is small, and make
:func:`check_tolerances` fail the build when it is not.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from cge.data.benchmark import DataError
from cge.data.examples import two_by_two
from cge.databuild.balance import (
    SOFT_STIFFNESS,
    Target,
    _constraints,
    _flatten,
    balance,
    check_tolerances,
    mask,
)


def _exports(ds, value: float, tolerance: float, name: str) -> Target:
    return Target(name, {"vxmd": mask(ds, "vxmd", commodity="food", exporter="HOME",
                                      importer="FOREIGN")}, value, tolerance)


def _output(ds, value: float, tolerance: float, name: str) -> Target:
    return Target(name, {"vfm": mask(ds, "vfm", activity="food", region="HOME")}, value,
                  tolerance)


def _primal_reference(ds, targets: list[Target]) -> np.ndarray:
    """The soft-target problem written out and solved by SLSQP (no dual, no Newton): cells
    normalised to sum 1, accounts as equalities, each soft target's penalty from its
    definition ``rho_k g_k^2 / 2`` with ``g_k = (a_k x - b_k) / s_k``, ``s_k = |a_k| x0``,
    ``tau_k = tolerance_k |b_k| / s_k``, ``rho_k = S w_k / tau_k`` (``w_k = s_k``, ``S`` the
    stiffness)."""
    x0 = _flatten(ds)
    a_all, b_all, _ = _constraints(ds, targets)
    support = x0 > 0
    total = x0[support].sum()
    xr0 = x0[support] / total
    a_all = a_all[:, support]
    b_all = b_all / total
    m_acc = len(b_all) - len(targets)
    keep = np.abs(a_all[:m_acc]) @ xr0 > 0
    acc_a, acc_b = a_all[:m_acc][keep], b_all[:m_acc][keep]
    soft = []
    for k, t in enumerate(targets):
        row, b = a_all[m_acc + k], b_all[m_acc + k]
        s = float(np.abs(row) @ xr0)
        tau = t.tolerance * abs(b) / s
        soft.append((row, b, s, SOFT_STIFFNESS * s / tau))

    def objective(x: np.ndarray) -> float:
        kl = float(np.sum(x * np.log(x / xr0) - x + xr0))
        return kl + sum(0.5 * rho * ((row @ x - b) / s) ** 2 for row, b, s, rho in soft)

    res = minimize(objective, xr0, method="SLSQP",
                   constraints=[{"type": "eq", "fun": lambda x: acc_a @ x - acc_b}],
                   bounds=[(1e-12, None)] * len(xr0),
                   options={"ftol": 1e-15, "maxiter": 2000})
    assert res.success, res.message
    return np.array([row @ res.x * total for row, *_ in soft])


def test_soft_targets_solve_the_stated_primal_problem() -> None:
    """Two soft figures that conflict through the accounts (exports of food and food's value
    added): the balancer's achieved values equal the independent primal solve's."""
    ds = two_by_two()
    prior_exports = _exports(ds, 1.0, 0.1, "x").total(ds)
    prior_va = _output(ds, 1.0, 0.1, "v").total(ds)
    targets = [_exports(ds, 1.3 * prior_exports, 0.05, "exports"),
               _output(ds, 0.9 * prior_va, 0.02, "value added")]
    res = balance(ds, targets)
    ours = res.targets.achieved.to_numpy()
    reference = _primal_reference(ds, targets)
    np.testing.assert_allclose(ours, reference, rtol=2e-6)
    values = np.array([t.value for t in targets])
    np.testing.assert_allclose(ours - values, reference - values, rtol=5e-3)   # the misses
    # soft: neither figure is held exactly, both move towards their values
    assert np.all(np.abs(res.targets.rel_gap) > 1e-6)
    assert ours[0] > prior_exports and ours[1] < prior_va


def test_two_soft_values_for_one_total_end_between_them() -> None:
    """The same total published twice (25 and 26, 5 % each): one value between them, both
    within their tolerance, and the check passes."""
    ds = two_by_two()
    res = balance(ds, [_exports(ds, 25.0, 0.05, "a"), _exports(ds, 26.0, 0.05, "b")])
    got = res.targets.achieved.to_numpy()
    assert got[0] == pytest.approx(got[1], rel=1e-12)
    assert 25.0 < got[0] < 26.0
    assert res.targets.within.all()
    check_tolerances(res)


def test_a_conflict_beyond_the_tolerances_fails_the_build() -> None:
    """25 against 40 at 1 %: no value is within both; check_tolerances names the worse one."""
    ds = two_by_two()
    res = balance(ds, [_exports(ds, 25.0, 0.01, "low"), _exports(ds, 40.0, 0.01, "high")])
    assert not res.targets.within.all()
    with pytest.raises(DataError, match=r"2 target\(s\) missed by more than their "
                       r"tolerance: high: .* \(-23\.\d\d %, tolerance 1\.0 %\); low: "):
        check_tolerances(res)


def test_a_lone_soft_target_is_missed_by_a_fraction_of_its_tolerance() -> None:
    """No conflict: a soft target is missed by far less than its tolerance (its cells can move),
    and tightening the tolerance tightens the miss."""
    ds = two_by_two()
    loose = balance(ds, [_exports(ds, 30.0, 0.05, "x")]).targets.rel_gap.iloc[0]
    tight = balance(ds, [_exports(ds, 30.0, 0.005, "x")]).targets.rel_gap.iloc[0]
    assert 0 < abs(tight) < abs(loose) < 0.05


def test_negative_tolerance_is_refused() -> None:
    ds = two_by_two()
    with pytest.raises(DataError, match="tolerance -0.1 is not >= 0"):
        balance(ds, [_exports(ds, 25.0, -0.1, "x")])
