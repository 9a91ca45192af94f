r"""The deal frontier (``cge.frontier``) and the ``cge strategy`` command line.

On ``two_by_two`` (HOME, FOREIGN; two goods) over three instruments — HOME's uniform tariff
on FOREIGN, FOREIGN's on HOME (both in [0, 0.5]) and a FOREIGN -> HOME government transfer in
[-3, 3] (US$ million):

* every frontier point is feasible (FOREIGN's EV >= its level within 1e-6) and an equilibrium
  (residual <= 1e-8), its instruments within their bounds;
* dominance against brute force: at every level, HOME's EV on the frontier is at least HOME's
  EV at the status quo and at every point of a 4 x 4 x 5 grid of instrument values (ordinary
  square solves, instruments set by ``cge.strategy``) whose FOREIGN EV reaches the level;
* the frontier is monotone (HOME's EV non-increasing in the level, FOREIGN's non-decreasing);
* the Nash bargaining point has the largest Nash product over the threat point among the
  frontier points and gives both more than the threat point;
* the result writes to NetCDF and reads back; the chart is an SVG with text as text;
* bad requests are refused with clear errors; the CLI's ``strategy optimal`` exits 0 and writes
  a NetCDF, a bad request exits 2 with one line.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import ELASTICITIES, save_tiny_benchmark

import cge
from cge import frontier as fr
from cge import strategy as st
from cge.api import write_netcdf
from cge.cli import main as cli_main
from cge.scenario import ScenarioError
from cge.solve import solve

ROOT = Path(__file__).resolve().parents[1]
#: b's EV reaches its level within this (relative to max(1, |level|)).
FEAS_TOL = 1e-6
#: The frontier against a grid point / the status quo (data unit; the economy's EVs are O(10)).
DOMINANCE_TOL = 1e-7
#: Monotonicity slack (data unit).
MONO_TOL = 1e-9
RESIDUAL_TOL = 1e-8

TARIFF_BOUNDS = (0.0, 0.5)
TRANSFER_BOUNDS = (-3.0, 3.0)
GRID_TARIFF = (0.0, 0.1, 0.25, 0.5)
GRID_TRANSFER = (-3.0, -1.5, 0.0, 1.5, 3.0)


def _instruments() -> list[fr.Instrument]:
    return [fr.tariff("HOME", "FOREIGN", "all", TARIFF_BOUNDS),
            fr.tariff("FOREIGN", "HOME", "all", TARIFF_BOUNDS),
            fr.transfer("FOREIGN", "HOME", TRANSFER_BOUNDS)]


@cache
def _session() -> cge.Session:
    from cge.data.examples import two_by_two

    return cge.Session(two_by_two(), ELASTICITIES)


@cache
def _result() -> fr.FrontierResult:
    return fr.frontier(_session(), "HOME", "FOREIGN", _instruments(), levels=9,
                       nash_options={"bounds": TARIFF_BOUNDS})


@cache
def _grid() -> list[tuple[float, float, float, float, float]]:
    """(t_home, t_foreign, transfer, EV_HOME, EV_FOREIGN) on the brute-force grid."""
    model = _session().model()
    out = []
    try:
        for th, tf, tr in itertools.product(GRID_TARIFF, GRID_TARIFF, GRID_TRANSFER):
            st.reset(model)
            st.set_tariff(model, "HOME", "FOREIGN", "all", rate=th)
            st.set_tariff(model, "FOREIGN", "HOME", "all", rate=tf)
            st.set_transfer(model, "FOREIGN", "HOME", amount=tr)
            solve(model)
            out.append((th, tf, tr, st.headline_ev(model, "HOME")[0],
                        st.headline_ev(model, "FOREIGN")[0]))
    finally:
        model.restore(model._benchmark)
    return out


def _solved(res: fr.FrontierResult):
    return res.table[res.table["status"].isin(["optimal", "a_optimum", "b_optimum"])]


# --------------------------------------------------------------------------------------------
# The frontier
# --------------------------------------------------------------------------------------------
def test_every_point_feasible_and_an_equilibrium():
    res = _result()
    pts = _solved(res)
    assert len(pts) == 9 and (pts["status"] == "optimal").sum() == 7, res.table["status"]
    for _, p in pts.iterrows():
        level = p["level"]
        assert p["EV_b"] >= level - FEAS_TOL * max(1.0, abs(level)), (level, p["EV_b"])
        assert p["residual"] <= RESIDUAL_TOL
        for lab, (lo, hi) in res.bounds.items():
            assert lo - 1e-12 <= p[lab] <= hi + 1e-12, (lab, p[lab])
    # interior levels bind: b gets its level (to the NLP's tolerance), not more
    inner = pts[pts["status"] == "optimal"]
    assert np.allclose(inner["EV_b"], inner["level"], rtol=0, atol=1e-6)


def test_frontier_dominates_status_quo_and_brute_force_grid():
    """HOME's frontier EV at level L >= HOME's EV at every grid point whose FOREIGN EV >= L,
    and >= 0 (the status quo) when 0 >= L; the grid reaches most levels (not vacuous)."""
    res = _result()
    grid = _grid()
    reached = 0
    for _, p in _solved(res).iterrows():
        level = p["level"]
        feasible = [g[3] for g in grid if g[4] >= level]
        if feasible:
            reached += 1
            assert p["EV_a"] >= max(feasible) - DOMINANCE_TOL, (level, p["EV_a"],
                                                                max(feasible))
        if level <= 0.0:
            assert p["EV_a"] >= -DOMINANCE_TOL, (level, p["EV_a"])
    assert reached >= 7
    # the frontier is strictly better than the grid somewhere (the NLP does optimise)
    gains = [p["EV_a"] - max(g[3] for g in grid if g[4] >= p["level"])
             for _, p in _solved(res).iterrows() if any(g[4] >= p["level"] for g in grid)]
    assert max(gains) > 1e-3


def test_frontier_is_monotone():
    pts = _solved(_result()).sort_values("level")
    assert np.all(np.diff(pts["EV_a"].to_numpy()) <= MONO_TOL), pts[["level", "EV_a"]]
    assert np.all(np.diff(pts["EV_b"].to_numpy()) >= -MONO_TOL), pts[["level", "EV_b"]]
    assert pts["EV_b"].iloc[-1] - pts["EV_b"].iloc[0] > 1.0     # a real trade-off


def test_bargaining_point_maximises_the_nash_product():
    res = _result()
    threat, bargain = res.mark("threat"), res.mark("bargaining")
    assert threat is not None and bargain is not None
    assert bargain["EV_a"] > threat["EV_a"] and bargain["EV_b"] > threat["EV_b"]
    best = bargain["product"]
    assert best == pytest.approx((bargain["EV_a"] - threat["EV_a"])
                                 * (bargain["EV_b"] - threat["EV_b"]))
    for _, p in _solved(res).iterrows():
        ga, gb = p["EV_a"] - threat["EV_a"], p["EV_b"] - threat["EV_b"]
        if ga > 0 and gb > 0:
            assert ga * gb <= best + 1e-12, (p["level"], ga * gb, best)
    # the threat is the Nash war: both lose against the benchmark
    assert threat["EV_a"] < 0 and threat["EV_b"] < 0
    sq = res.mark("status_quo")
    assert sq["EV_a"] == 0 and sq["EV_b"] == 0


def test_dataset_round_trip_and_chart(tmp_path):
    res = _result()
    path = write_netcdf(res.to_dataset(), tmp_path / "frontier.nc")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds.attrs["region_a"] == "HOME"
        assert ds.attrs["method"].startswith("epsilon-constraint")
        assert list(ds.instrument.values) == res.labels
        np.testing.assert_allclose(ds.EV_a.values, res.table["EV_a"].to_numpy())
        np.testing.assert_allclose(ds.value.values, res.table[res.labels].to_numpy())
        assert "bargaining" in ds.mark.values
    svg = fr.plot_frontier(res, tmp_path / "frontier.svg", png=tmp_path / "frontier.png")
    text = svg.read_text()
    assert "<text" in text and "deal frontier" in text      # svg.fonttype = "none"
    assert (tmp_path / "frontier.png").stat().st_size > 1000


def test_levels_given_infeasible_and_not_binding():
    """Levels given: one above FOREIGN's maximum is infeasible, one far below HOME's
    optimum does not bind; all above the maximum: an error naming the maximum."""
    res = fr.frontier(_session(), "HOME", "FOREIGN", _instruments(), levels=[-1e3, 0.0, 1e3],
                      threat=None)
    assert list(res.table["status"]) == ["not_binding", "optimal", "infeasible"]
    assert res.mark("bargaining") is None
    with pytest.raises(st.StrategyError, match="no feasible point"):
        fr.frontier(_session(), "HOME", "FOREIGN", _instruments(), levels=[1e3], threat=None)


def test_reduced_space_equals_full_space():
    """The default reduced-space NLPs (instruments only, equilibrium solved at each trial,
    gradients by the implicit-function theorem) and the full-space NLP (Ipopt over every
    model variable) reach the same frontier: EVs within 1e-6 (data unit; EVs are O(10)) and
    instruments within 1e-4 at every level."""
    red = _result()
    full = fr.frontier(_session(), "HOME", "FOREIGN", _instruments(), levels=9,
                       nash_options={"bounds": TARIFF_BOUNDS}, method="full")
    assert red.method.endswith("reduced space") and full.method.endswith("full space")
    a, b = _solved(red).reset_index(drop=True), _solved(full).reset_index(drop=True)
    assert len(a) == len(b) == 9
    np.testing.assert_allclose(a["EV_a"], b["EV_a"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(a["EV_b"], b["EV_b"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(a[red.labels], b[full.labels], rtol=0, atol=1e-4)


def test_purchases_instrument_widens_the_frontier():
    """A fourth instrument — FOREIGN's government buying from HOME's producers (``dpur``) —
    can only extend the frontier (at every level HOME gets at least what it gets with three
    instruments); every point stays an equilibrium within the purchases' bounds, and at
    HOME's optimum FOREIGN buys from HOME (the purchases raise demand for HOME's goods on
    top of what a transfer gives, so they are not idle)."""
    four = [*_instruments(), fr.purchases("FOREIGN", "HOME", (0.0, 3.0))]
    three = _result()
    res = fr.frontier(_session(), "HOME", "FOREIGN", four,
                      levels=list(_solved(three)["level"]), threat=None)
    pts = res.table.reset_index(drop=True)
    ref = _solved(three).reset_index(drop=True)
    assert pts["status"].isin(["optimal", "not_binding"]).all(), pts["status"]
    assert (pts["EV_a"] >= ref["EV_a"] - DOMINANCE_TOL).all()
    assert (pts["residual"] <= RESIDUAL_TOL).all()
    lab = "purchases_FOREIGN_from_HOME"
    assert lab in res.labels and ((pts[lab] >= -1e-12) & (pts[lab] <= 3.0 + 1e-12)).all()
    top = fr.frontier(_session(), "HOME", "FOREIGN", four, levels=2, threat=None)
    assert top.table.iloc[0][lab] > 0.1, top.table


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"a": "MARS"}, ScenarioError, "unknown region"),
    ({"a": "HOME", "b": "HOME"}, st.StrategyError, "two regions"),
    ({"instruments": [fr.tariff("HOME", "FOREIGN", "all", (0.1, 0.5))]}, st.StrategyError,
     "exclude the status quo"),
    ({"instruments": [fr.transfer("FOREIGN", "HOME", (3.0, -3.0))]}, st.StrategyError,
     "lower < upper"),
    ({"instruments": [fr.tariff("HOME", "FOREIGN", "all"), fr.tariff("HOME", "FOREIGN",
                                                                     "food")]},
     st.StrategyError, "same variable"),
    ({"levels": 1}, st.StrategyError, "at least 2"),
    ({"instruments": [fr.purchases("FOREIGN", "HOME", (-1.0, 3.0))]}, st.StrategyError,
     "below zero"),
    ({"instruments": [fr.purchases("HOME", "HOME")]}, st.StrategyError, "both 'HOME'"),
    ({"method": "newton"}, st.StrategyError, "method must be"),
])
def test_bad_requests(kwargs, error, match):
    args = {"a": "HOME", "b": "FOREIGN", "instruments": _instruments(), "threat": None,
            **kwargs}
    with pytest.raises(error, match=match):
        fr.frontier(_session(), **args)


def test_parse_instrument():
    ins = fr.parse_instrument("tariff:USA:JPN:autos+metals:0:0.5:add")
    assert (ins.importer, ins.exporter, ins.commodities, ins.bounds, ins.mode) == (
        "USA", "JPN", ("autos", "metals"), (0.0, 0.5), "add")
    assert fr.parse_instrument("transfer:JPN:USA:-5:5").bounds == (-5.0, 5.0)
    pur = fr.parse_instrument("purchases:JPN:USA:0:2000")
    assert (pur.kind, pur.buyer, pur.seller, pur.bounds) == ("purchases", "JPN", "USA",
                                                             (0.0, 2000.0))
    assert pur.label == "purchases_JPN_from_USA"
    for bad in ("tariff:USA", "transfer:JPN:USA:x:1", "quota:USA:JPN"):
        with pytest.raises(st.StrategyError):
            fr.parse_instrument(bad)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    data, elast = save_tiny_benchmark(tmp_path_factory.mktemp("strategy_cli"))
    return {"data": data, "elast": elast}


def _args(tiny, *rest: str) -> list[str]:
    return ["strategy", *rest, "--data", str(tiny["data"]), "--elasticities",
            str(tiny["elast"])]


def test_cli_optimal_writes_netcdf(tiny, tmp_path, capsys):
    out = tmp_path / "opt.nc"
    code = cli_main(_args(tiny, "optimal", "--region", "HOME", "--on", "FOREIGN",
                          "--commodities", "all", "--bounds", "0", "2", "--out", str(out)))
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "optimal tariff of HOME" in printed
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.attrs["strategy_game"] == "optimal_tariff"
        assert float(ds.EV.sel(region="HOME")) > 0       # the optimal tariff gains


def test_cli_frontier_writes_netcdf(tiny, tmp_path, capsys):
    out = tmp_path / "frontier.nc"
    code = cli_main(_args(tiny, "frontier", "--a", "HOME", "--b", "FOREIGN", "--instrument",
                          "tariff:HOME:FOREIGN:all:0:0.5", "--instrument",
                          "transfer:FOREIGN:HOME:-3:3", "--levels", "4", "--no-threat",
                          "--out", str(out)))
    assert code == 0, capsys.readouterr()
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.sizes["point"] == 4 and ds.attrs["strategy_game"] == "frontier"


@pytest.mark.parametrize(("rest", "match"), [
    (("optimal", "--region", "MARS"), "unknown region"),
    (("optimal", "--region", "HOME", "--commodities", "all", "--bounds", "0.5", "0.1"),
     "lower < upper"),
    (("frontier", "--a", "HOME", "--b", "FOREIGN", "--instrument", "tariff:HOME"),
     "cannot read instrument"),
    (("equivalent", "--transfer", "FOREIGN:HOME"), "PAYER:RECIPIENT:AMOUNT"),
    (("equivalent", "--transfer", "FOREIGN:HOME:0.5"), "needs --tariff"),
    (("equivalent",), "exactly one of --scenario"),
    (("equivalent", "--scenario", "x.toml", "--tariff", "HOME:FOREIGN"), "goes with --transfer"),
])
def test_cli_bad_input_exits_2_with_one_line(tiny, rest, match):
    out = subprocess.run([sys.executable, "-m", "cge", *_args(tiny, *rest)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and match in lines[0], lines
    assert "Traceback" not in out.stderr


def test_cli_equivalent_tariff_matches_the_transfer(tiny, tmp_path, capsys):
    """``equivalent --transfer P:R:A --tariff I:E:G``: the tariff it prints, set by
    :mod:`cge.strategy` and solved, gives the importer the EV the transfer gives it."""
    out = tmp_path / "eq.nc"
    assert cli_main(_args(tiny, "equivalent", "--transfer", "FOREIGN:HOME:0.5", "--tariff",
                          "HOME:FOREIGN:all", "--out", str(out))) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("tariff: tariff of HOME on FOREIGN (add)")
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        t = float(ds.attrs["equivalence_value"])
        target = float(ds.attrs["equivalence_target_ev"])
    session = cge.Session(str(tiny["data"]), str(tiny["elast"]))
    model = session.model()
    try:
        st.set_transfer(model, "FOREIGN", "HOME", add=0.5)
        solve(model)
        assert st.headline_ev(model, "HOME")[0] == pytest.approx(target, rel=1e-9)
        st.reset(model)
        st.set_tariff(model, "HOME", "FOREIGN", "all", add=t)
        solve(model)
        assert st.headline_ev(model, "HOME")[0] == pytest.approx(target, rel=1e-7)
        assert t > 0.0
    finally:
        model.restore(model._benchmark)
