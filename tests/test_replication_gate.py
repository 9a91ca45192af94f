"""The replication gate (cge.api.check_benchmark) is a residual evaluation, not a solve: it
must accept exactly the benchmarks from which Ipopt takes zero iterations. Checked both ways on
the default data: the real benchmark passes and Ipopt then needs no iteration; a benchmark
point off by 5e-10 (above Ipopt's tolerance, below the coarse residual limit) is refused, and
Ipopt does need iterations from it."""

from __future__ import annotations

import copy

import pytest

import cge
from cge.api import BenchmarkReplicationError, check_benchmark
from cge.solve import IPOPT_OPTIONS, RESIDUAL_TOL, solve


@pytest.fixture(scope="module")
def model():
    return cge.Session("default2024").model()


def test_gate_passes_where_ipopt_takes_no_iteration(model):
    diag = check_benchmark(model)
    assert diag.max_residual <= IPOPT_OPTIONS["tol"]
    assert solve(model, continuation=False).iterations == 0


def test_gate_refuses_a_point_ipopt_would_move_from(model):
    saved = model._benchmark
    k = next(n for n, v in enumerate(model.all_vars) if not v.fixed and v.name.startswith("Y["))
    off = copy.deepcopy(saved)
    off["values"][k] = off["values"][k] * (1 + 5e-10)
    model._benchmark = off
    try:
        with pytest.raises(BenchmarkReplicationError, match="above Ipopt's tolerance"):
            check_benchmark(model)
        model.reset()
        assert solve(model, continuation=False).iterations > 0, \
            "Ipopt moves from a point the gate refuses"
    finally:
        model._benchmark = saved
        model.reset()
    assert IPOPT_OPTIONS["tol"] < 5e-10 < RESIDUAL_TOL
