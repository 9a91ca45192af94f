r"""Strategy games (``cge.strategy``): Nash tariffs by best responses, and the equivalences
between tariffs and transfers.

* Symmetric two-region Armington economy (``test_strategy.symmetric_benchmark``): the Nash
  tariffs are equal for both players, both lose against free trade, and each rate is the
  player's best response to the other's (checked by the NLP and by a scalar search over
  ordinary solves); the result is saved like a scenario result, and its scenario text
  reproduces it; non-convergence (too few rounds, a cycle, a failed best response) is
  detected and reported.
* Equivalence round trips on ``two_by_two``: the equivalent transfer, run as a scenario with
  a ``[[transfer]]`` table, reproduces the target EV to 1e-8 relative; likewise the
  equivalent tariff; at the indifference transfer the payer's EV is its EV in the scenario.
* Default data: the JPN -> USA transfer equivalent, for the US, to ``us_jpn_reciprocal_autos``
  is negative (the US loses from its own tariffs), and the US-JPN Nash war on goods converges.
"""

from __future__ import annotations

import json
from functools import cache
from types import SimpleNamespace

import pytest
import xarray as xr
from conftest import ELASTICITIES
from scipy.optimize import minimize_scalar
from test_strategy import SIGMA, symmetric_benchmark

import cge
from cge import strategy as st
from cge.api import write_netcdf
from cge.data.examples import two_by_two
from cge.scenario import ScenarioError
from cge.solve import Diagnostics, SolveError

#: The games' convergence tolerance on rates (fraction) and the check on the fixed point.
NASH_TOL = 1e-8
FIXED_POINT_TOL = 1e-6
#: Relative tolerance of the equivalence round trips in EV (the issue's 1e-8).
EQ_RTOL = 1e-8
#: A result written as a scenario and run again (relative, on EV).
RERUN_RTOL = 1e-9

PLAYERS = ["HOME", "FOREIGN"]


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


@cache
def _symmetric() -> cge.Session:
    return cge.Session(symmetric_benchmark(), {"esubd": SIGMA, "esubm": SIGMA, "esubva": 1.0})


@cache
def _two_by_two() -> cge.Session:
    return cge.Session(two_by_two(), ELASTICITIES)


@cache
def _symmetric_nash() -> st.NashResult:
    return st.nash(_symmetric(), PLAYERS, commodities="all", bounds=(0.0, 5.0), tol=NASH_TOL)


def _ev_of(session: cge.Session, toml: str) -> dict[str, float]:
    res = session.run(toml=toml)
    return {str(r): float(res.EV.sel(region=r)) for r in res.region.values}


# --------------------------------------------------------------------------------------------
# Nash tariffs
# --------------------------------------------------------------------------------------------
def test_symmetric_nash_equal_rates_both_lose():
    """Symmetric economy: the Nash tariffs are equal (1e-6), positive and interior; both
    regions lose against free trade (the benchmark, which is also the start here); the path
    starts at round 0 and ends converged after more than one round."""
    res = _symmetric_nash()
    assert res.converged and res.reason == "converged", res.reason
    assert 1 < res.rounds < 50 and res.max_change <= NASH_TOL
    home, foreign = res.rates["HOME"]["all"], res.rates["FOREIGN"]["all"]
    assert abs(home - foreign) <= 1e-6, (home, foreign)
    assert 0.01 < home < 5.0 and res.binding == {"HOME": {"all": None}, "FOREIGN": {"all": None}}
    assert res.start == {"HOME": {"all": 0.0}, "FOREIGN": {"all": 0.0}}
    assert all(abs(res.ev_start[r]) <= 1e-9 for r in PLAYERS)      # free trade = benchmark
    assert res.ev["HOME"] < 0 and res.ev["FOREIGN"] < 0
    assert rel(res.ev["HOME"], res.ev["FOREIGN"]) <= 1e-6
    assert res.ev_change["HOME"] == pytest.approx(res.ev["HOME"] - res.ev_start["HOME"])
    assert res.path[0].round == 0 and res.path[-1].round == res.rounds
    assert [s.player for s in res.path[1:3]] == PLAYERS
    assert res.check.iterations <= 1


def test_symmetric_nash_is_a_fixed_point_of_the_best_responses():
    """Each Nash rate is the player's best response to the other's Nash rate: by the NLP
    (optimal_tariff on the model left at the Nash point) and, independently, by a bounded
    scalar search over ordinary square solves (ev_curve)."""
    res = _symmetric_nash()
    model = _symmetric().model()
    for p in PLAYERS:
        other = next(s for s in PLAYERS if s != p)
        st.reset(model)
        st.set_tariff(model, other, p, "all", rate=res.rates[other]["all"])
        best = st.optimal_tariff(model, p, on=other, commodities="all", bounds=(0.0, 5.0))
        assert abs(best.rates["all"] - res.rates[p]["all"]) <= FIXED_POINT_TOL, p
    st.reset(model)
    st.set_tariff(model, "FOREIGN", "HOME", "all", rate=res.rates["FOREIGN"]["all"])

    def minus_ev(t: float) -> float:
        curve = st.ev_curve(model, "HOME", "FOREIGN", "all", [t])
        return -float(curve.sel(region="HOME")[0])

    search = minimize_scalar(minus_ev, bounds=(0.0, 2.0), method="bounded",
                             options={"xatol": 1e-9})
    assert abs(search.x - res.rates["HOME"]["all"]) <= 1e-5, (search.x, res.rates)


def test_nash_result_is_saved_like_a_scenario_result(tmp_path):
    """to_results: the results Dataset of the final point (EV as in the result), with the game
    in its attrs and the path as variables; it writes to NetCDF; its scenario text, run as an
    ordinary scenario, gives the same EVs."""
    res = _symmetric_nash()
    ds = res.to_results()
    assert ds.attrs["strategy_game"] == "nash" and ds.attrs["nash_converged"] == 1
    assert ds.attrs["nash_rounds"] == res.rounds and ds.attrs["scenario"] == "nash_home_foreign_all"
    assert json.loads(ds.attrs["nash_rates"]) == res.rates
    for r in PLAYERS:
        assert rel(float(ds.EV.sel(region=r)), res.ev[r]) <= 1e-12
        assert float(ds.nash_rate.sel(nash_player=r, nash_group="all")) == res.rates[r]["all"]
    assert ds.nash_path_rate.sizes["nash_step"] == len(res.path)
    assert float(ds.nash_path_EV.isel(nash_step=-1).sel(region="HOME")) == \
        pytest.approx(res.ev["HOME"], rel=1e-9)
    assert list(ds.nash_path_mover.values[:3]) == [-1, 0, 1]
    path = write_netcdf(ds, tmp_path / "nash.nc")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        assert back.attrs["strategy_game"] == "nash"
        assert float(back.nash_rate.sel(nash_player="HOME", nash_group="all")) == \
            res.rates["HOME"]["all"]
    again = _ev_of(_symmetric(), res.scenario_text)
    for r in PLAYERS:
        assert rel(again[r], res.ev[r]) <= RERUN_RTOL, (r, again[r], res.ev[r])
    assert st.nash_results(_symmetric(), PLAYERS, commodities="all", bounds=(0.0, 5.0),
                           max_rounds=1).attrs["nash_converged"] == 0


def test_nash_non_convergence_is_detected():
    """One round is not enough from free trade: reported (converged False, reason
    max_rounds) and, with strict, raised as NashError carrying the result."""
    session = _symmetric()
    res = st.nash(session, PLAYERS, commodities="all", bounds=(0.0, 5.0), max_rounds=1)
    assert not res.converged and res.rounds == 1
    assert res.reason.startswith("max_rounds") and res.max_change > 0.01
    assert "NOT converged" in str(res)
    with pytest.raises(st.NashError, match="max_rounds") as info:
        st.nash(session, PLAYERS, commodities="all", bounds=(0.0, 5.0), max_rounds=1,
                strict=True)
    assert info.value.result.rounds == 1 and not info.value.result.converged
    res = st.nash(session, PLAYERS, commodities="all", bounds=(0.0, 5.0), tol=NASH_TOL,
                  start=0.3, max_rounds=50)
    assert res.converged and abs(res.rates["HOME"]["all"]
                                 - _symmetric_nash().rates["HOME"]["all"]) <= 1e-6


def _fake_best_response(rates_by_call, failing: str | None = None):
    """A stand-in for optimal_tariff: the n-th call of a player returns the n-th rate of its
    cycle (or raises a SolveError for ``failing``)."""
    calls: dict[str, int] = {}

    def best(model, region, **kwargs):
        if region == failing:
            raise SolveError("Ipopt stopped", Diagnostics(status="failed"))
        n = calls.get(region, 0)
        calls[region] = n + 1
        cycle = rates_by_call[region]
        group = next(iter(kwargs["commodities"]))
        return SimpleNamespace(rates={group: cycle[n % len(cycle)]}, binding={group: None},
                               ev={"HOME": 0.0, "FOREIGN": 0.0}, iterations=1,
                               status="optimal")
    return best


def test_nash_cycles_and_failures_are_detected(monkeypatch):
    """Best responses that alternate between two points are a cycle (detected at once, not
    after max_rounds); a failed best response stops the game with the reason, the rates at
    the last good point and the model solved there."""
    session = _symmetric()
    monkeypatch.setattr(st, "optimal_tariff",
                        _fake_best_response({"HOME": [0.1, 0.2], "FOREIGN": [0.3, 0.4]}))
    res = st.nash(session, PLAYERS, commodities="all", bounds=(0.0, 5.0), max_rounds=50)
    assert not res.converged and res.reason.startswith("cycle") and res.rounds == 3
    assert "period 2" in res.reason
    with pytest.raises(st.NashError, match="cycle"):
        st.nash(session, PLAYERS, commodities="all", bounds=(0.0, 5.0), strict=True)
    monkeypatch.setattr(st, "optimal_tariff",
                        _fake_best_response({"HOME": [0.1]}, failing="FOREIGN"))
    res = st.nash(session, PLAYERS, commodities="all", bounds=(0.0, 5.0))
    assert not res.converged and res.rounds == 1
    assert "best response of FOREIGN failed in round 1" in res.reason
    assert res.rates == {"HOME": {"all": 0.1}, "FOREIGN": {"all": 0.0}}
    model = session.model()
    assert st.get_tariffs(model, "FOREIGN", "HOME").item() == 0.0
    assert st.get_tariffs(model, "HOME", "FOREIGN").item() == pytest.approx(0.1)
    assert st.evaluate(model).solved


def test_nash_bad_requests():
    session = _symmetric()
    with pytest.raises(st.StrategyError, match="named twice"):
        st.nash(session, ["HOME", "HOME"], commodities="all")
    with pytest.raises(st.StrategyError, match="at least two players"):
        st.nash(session, ["HOME"], commodities="all")
    with pytest.raises(ScenarioError, match="unknown region"):
        st.nash(session, ["HOME", "USA"], commodities="all")
    with pytest.raises(st.StrategyError, match="no partners for player"):
        st.nash(session, PLAYERS, on={"HOME": "FOREIGN"}, commodities="all")
    with pytest.raises(st.StrategyError, match="not players"):
        st.nash(session, PLAYERS, on={"HOME": "FOREIGN", "FOREIGN": "HOME", "X": "HOME"},
                commodities="all")
    with pytest.raises(st.StrategyError, match="mode"):
        st.nash(session, PLAYERS, commodities="all", mode="multiply")
    with pytest.raises(st.StrategyError, match="tol"):
        st.nash(session, PLAYERS, commodities="all", tol=0.0)
    with pytest.raises(st.StrategyError, match="max_rounds"):
        st.nash(session, PLAYERS, commodities="all", max_rounds=0)
    with pytest.raises(st.StrategyError, match="outside the bounds"):
        st.nash(session, PLAYERS, commodities="all", start=2.0, bounds=(0.0, 1.0))


# --------------------------------------------------------------------------------------------
# Equivalence
# --------------------------------------------------------------------------------------------
HOME_TARIFF = """name = "home_tariff_20"
[[tariff]]
importer = "HOME"
exporter = "FOREIGN"
commodities = "all"
add = 20.0
"""


def test_equivalent_transfer_round_trip():
    """The FOREIGN -> HOME transfer that gives HOME the EV of HOME's +20 pp tariff (HOME
    gains from it: a positive transfer), run as a scenario file with a [[transfer]] table,
    reproduces the target EV to 1e-8; the transfer that gives FOREIGN its EV in the scenario
    (FOREIGN loses: also a positive FOREIGN -> HOME transfer) likewise, and it is larger."""
    session = _two_by_two()
    scen = session.scenario(toml=HOME_TARIFF)
    eq = st.equivalent_transfer(session, scen, payer="FOREIGN", recipient="HOME",
                                for_region="HOME")
    assert eq.kind == "equivalent" and eq.target_ev > 0 and eq.value > 0
    assert eq.target_ev == pytest.approx(_ev_of(session, HOME_TARIFF)["HOME"], rel=1e-10)
    assert abs(eq.gap) <= EQ_RTOL * abs(eq.target_ev)
    assert "[[transfer]]" in eq.scenario_text
    again = _ev_of(session, eq.scenario_text)
    assert rel(again["HOME"], eq.target_ev) <= EQ_RTOL, (again, eq.target_ev)
    assert rel(again["FOREIGN"], eq.ev["FOREIGN"]) <= RERUN_RTOL
    for_foreign = st.equivalent_transfer(session, scen, "FOREIGN", "HOME", "FOREIGN")
    assert for_foreign.value > eq.value > 0
    assert rel(_ev_of(session, for_foreign.scenario_text)["FOREIGN"],
               for_foreign.target_ev) <= EQ_RTOL


def test_equivalent_transfer_negative_is_written_the_other_way():
    """Seen from HOME -> FOREIGN the same transfer is negative; the scenario text writes it
    as the opposite (positive) flow, and it reproduces the EV."""
    session = _two_by_two()
    scen = session.scenario(toml=HOME_TARIFF)
    eq = st.equivalent_transfer(session, scen, payer="HOME", recipient="FOREIGN",
                                for_region="HOME")
    assert eq.value < 0
    assert 'payer = "FOREIGN"' in eq.scenario_text and "amount = -" not in eq.scenario_text
    assert rel(_ev_of(session, eq.scenario_text)["HOME"], eq.target_ev) <= EQ_RTOL
    other = st.equivalent_transfer(session, scen, "FOREIGN", "HOME", "HOME")
    assert abs(eq.value + other.value) <= 1e-6 * abs(other.value)


def test_equivalent_tariff_round_trip():
    """The uniform HOME tariff (pp on the benchmark rates) that gives HOME the EV of a
    FOREIGN -> HOME transfer, run as a scenario, reproduces that EV to 1e-8; with mode set
    the rate is the add result plus the benchmark rate on a one-cell group."""
    session = _two_by_two()
    amount = 0.5
    eq = st.equivalent_tariff(session, ("FOREIGN", "HOME", amount), importer="HOME",
                              exporter="FOREIGN", commodities="all", for_region="HOME")
    ref = _ev_of(session, f'name = "t"\n[[transfer]]\npayer = "FOREIGN"\nrecipient = "HOME"\n'
                          f"amount = {amount}\n")
    assert eq.target_ev == pytest.approx(ref["HOME"], rel=1e-10) and eq.target_ev > 0
    assert 0 < eq.value < 1 and eq.kind == "tariff"
    assert rel(_ev_of(session, eq.scenario_text)["HOME"], eq.target_ev) <= EQ_RTOL
    cloth_add = st.equivalent_tariff(session, ("FOREIGN", "HOME", amount), "HOME", "FOREIGN",
                                     "cloth")
    cloth_set = st.equivalent_tariff(session, ("FOREIGN", "HOME", amount), "HOME", "FOREIGN",
                                     "cloth", mode="set")
    assert abs(cloth_set.value - (cloth_add.value + 0.05)) <= 1e-7
    assert rel(_ev_of(session, cloth_set.scenario_text)["HOME"], eq.target_ev) <= EQ_RTOL


def test_indifference_transfer():
    """At the indifference transfer the payer (FOREIGN, facing HOME's tariff) has the same EV
    paying it as under the tariff, to 1e-8, also when the transfer is run as a scenario;
    HOME gains more from the transfer than from its tariff (the tariff destroys surplus)."""
    session = _two_by_two()
    scen = session.scenario(toml=HOME_TARIFF)
    eq = st.indifference_transfer(session, scen, payer="FOREIGN", recipient="HOME")
    assert eq.kind == "indifference" and eq.for_region == "FOREIGN" and eq.value > 0
    assert rel(eq.ev["FOREIGN"], eq.ev_reference["FOREIGN"]) <= EQ_RTOL
    assert rel(_ev_of(session, eq.scenario_text)["FOREIGN"],
               _ev_of(session, HOME_TARIFF)["FOREIGN"]) <= EQ_RTOL
    assert eq.ev["HOME"] > eq.ev_reference["HOME"]


def test_equivalence_without_a_solution_says_so():
    """A transfer too large for any HOME tariff to match (above HOME's optimal-tariff EV),
    and a bracket that excludes the solution: clear errors with the EVs at the ends."""
    session = _two_by_two()
    with pytest.raises(st.StrategyError, match=r"no tariff .* gives HOME the EV .*HOME's EV "
                                               r"is .* at .* and .* highest EV"):
        st.equivalent_tariff(session, ("FOREIGN", "HOME", 20.0), "HOME", "FOREIGN", "all")
    with pytest.raises(st.StrategyError, match=r"no transfer FOREIGN -> HOME in \[-1"):
        st.equivalent_transfer(session, session.scenario(toml=HOME_TARIFF), "FOREIGN", "HOME",
                               "HOME", bracket=(-1.0, 0.0))
    with pytest.raises(st.StrategyError, match="must differ"):
        st.equivalent_transfer(session, session.scenario(toml=HOME_TARIFF), "HOME", "HOME",
                               "HOME")
    with pytest.raises(st.StrategyError, match="lower < upper"):
        st.equivalent_transfer(session, session.scenario(toml=HOME_TARIFF), "FOREIGN", "HOME",
                               "HOME", bracket=(1.0, -1.0))
    with pytest.raises(st.StrategyError, match="payer, recipient, amount"):
        st.equivalent_tariff(session, ("FOREIGN", "HOME"), "HOME", "FOREIGN")
    with pytest.raises(st.StrategyError, match="Session"):
        st.equivalent_transfer(session.model(), HOME_TARIFF, "FOREIGN", "HOME", "HOME")
    st.reset(session.model())


# --------------------------------------------------------------------------------------------
# Default data
# --------------------------------------------------------------------------------------------
@cache
def _default() -> cge.Session:
    return cge.Session()


def test_default_equivalent_transfer_of_the_us_tariffs_on_japan():
    """default2024: the US loses from its 24 % + 25 % autos tariffs on Japan, so the JPN ->
    USA transfer that gives the US the same EV is negative (the US pays Japan); it reproduces
    the US EV as a scenario; Japan loses far more than the US under the tariffs."""
    session = _default()
    tariffs = session.run("us_jpn_reciprocal_autos")
    eq = st.equivalent_transfer(session, "us_jpn_reciprocal_autos", payer="JPN",
                                recipient="USA", for_region="USA")
    for r in ("USA", "JPN"):
        assert eq.ev_reference[r] == pytest.approx(float(tariffs.EV.sel(region=r)), rel=1e-9)
    assert eq.target_ev == eq.ev_reference["USA"]
    assert eq.ev_reference["USA"] < 0 and eq.ev_reference["JPN"] < eq.ev_reference["USA"]
    assert eq.value < 0, eq.value
    assert 500 < -eq.value < 20_000
    assert rel(_ev_of(session, eq.scenario_text)["USA"], eq.target_ev) <= EQ_RTOL


def test_default_us_japan_nash_on_goods():
    """default2024: the US-JPN tariff war on goods (uniform rates, each on the other)
    converges to interior positive rates; both lose against the start."""
    res = st.nash(_default(), ["USA", "JPN"], commodities="goods")
    assert res.converged, res.reason
    for p in ("USA", "JPN"):
        assert 0.01 < res.rates[p]["goods"] < 0.5 and res.binding[p]["goods"] is None
        assert res.ev[p] < res.ev_start[p]
