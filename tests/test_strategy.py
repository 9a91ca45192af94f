r"""Trade strategy (``cge.strategy``): instruments set directly, the lean evaluation, the
optimal tariff as one NLP.

* The lean evaluation gives the same EV, real GDP and terms of trade as the results Dataset.
* Instruments set through the API give the same equilibrium as the equivalent scenario file.
* The NLP optimum equals a scalar search over ordinary square solves (the cross-check of the
  issue), and EV there is at least EV at the rate +- 0.01.
* Two-region symmetric Armington endowment economy: the optimal tariff equals the analytic
  optimal-tariff formula (derivation in :func:`test_optimal_tariff_analytic_formula`).
* Default data: the optimal uniform US tariff on all goods imports is interior and positive.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest
from conftest import ELASTICITIES
from pyomo.environ import value
from scipy.optimize import brentq, minimize_scalar

import cge
from cge import strategy as st
from cge.data.benchmark import check_balance, complete, empty_benchmark
from cge.data.examples import two_by_two
from cge.options import ModelOptions
from cge.scenario import ScenarioError
from cge.solve import solve

#: Lean evaluation vs the results Dataset (relative, on EV, real GDP and terms of trade).
EVAL_RTOL = 1e-9
#: Instruments set directly vs the same scenario from TOML (relative, on EV).
API_RTOL = 1e-9
#: NLP optimum vs the scalar search, in the rate (fraction).
SEARCH_TOL = 1e-5
#: NLP optimum vs the analytic optimal tariff, in the rate.
ANALYTIC_TOL = 1e-5
#: Step of the finite-difference check of the first-order condition, and its tolerance on
#: d(EV/E0)/dt.
FD_STEP = 1e-4
FOC_TOL = 1e-6
#: Step of the "EV at the optimum is at least EV nearby" check.
NEARBY = 0.01


@cache
def _session(institutions: str = "regional_household", transformation: str = "none"
             ) -> cge.Session:
    ds = two_by_two()
    ds.attrs["groups"] = json.dumps({"commodities": {"textiles": ["cloth"]},
                                     "regions": {"abroad": ["FOREIGN"]}})
    return cge.Session(ds, ELASTICITIES, ModelOptions(institutions=institutions,
                                                      transformation=transformation))


def _fresh_model(session: cge.Session):
    model = session.model()
    model.restore(model._benchmark)
    return model


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


# --------------------------------------------------------------------------------------------
# Lean evaluation
# --------------------------------------------------------------------------------------------
SCENARIO = """name = "mixed"
[[tariff]]
importer = "HOME"
exporter = "FOREIGN"
commodities = "all"
add = 15.0
[[tariff]]
importer = "FOREIGN"
exporter = "HOME"
commodities = "food"
set = 8.0
[[export_tax]]
exporter = "FOREIGN"
importer = "HOME"
commodities = "cloth"
add = 5.0
[[transfer]]
payer = "HOME"
recipient = "FOREIGN"
amount = 3.0
[[stationing]]
buyer = "HOME"
host = "FOREIGN"
amount = 2.0
"""


#: What test_instruments_set_directly_equal_the_scenario_file sets through the API.
API_SCENARIO = """name = "api"
[[tariff]]
importer = "HOME"
exporter = "abroad"
commodities = "textiles"
add = 15.0
[[tariff]]
importer = "FOREIGN"
exporter = "HOME"
commodities = "food"
set = 8.0
[[transfer]]
payer = "HOME"
recipient = "FOREIGN"
amount = 3.0
"""


@pytest.mark.parametrize(("institutions", "transformation"), [
    ("regional_household", "none"), ("separate", "none"), ("regional_household", "cet")])
def test_evaluate_equals_extract_results(institutions, transformation):
    """EV (headline: regional or private), EV %, real GDP and terms of trade of
    :func:`evaluate` are those of the results Dataset (:func:`cge.results.extract_results`,
    which ``Session.run`` returns), with tariffs, an export tax, a transfer and direct
    purchases abroad in the scenario, under both institutions and with a CET."""
    session = _session(institutions, transformation)
    res = session.run(toml=SCENARIO)
    model = session.model()
    ev = st.evaluate(model)
    assert ev.solved and ev.max_residual <= 1e-8
    assert ev.whose == res.EV.attrs["whose"]
    for r in model.ctx.regions:
        assert abs(res.EV.sel(region=r).item()) > 1e-3, "the scenario must move welfare"
        for key, name in (("ev", "EV"), ("ev_pct", "EV_pct"), ("real_gdp_pct", "real_gdp_pct"),
                          ("tot_pct", "tot_pct")):
            got, want = getattr(ev, key)[r], res[name].sel(region=r).item()
            assert rel(got, want) <= EVAL_RTOL, (key, r, got, want)
    ds = ev.to_dataset()
    assert float(ds.ev.sel(region="HOME")) == ev.ev["HOME"]


def test_evaluate_says_when_the_point_is_not_an_equilibrium():
    model = _fresh_model(_session())
    assert st.evaluate(model).solved
    st.set_tariff(model, "HOME", "FOREIGN", "all", add=0.2)
    ev = st.evaluate(model)
    assert not ev.solved and ev.max_residual > 1e-4
    diag = solve(model)
    ev = st.evaluate(model, diag)
    assert ev.solved and ev.status == diag.status


# --------------------------------------------------------------------------------------------
# Instruments set directly
# --------------------------------------------------------------------------------------------
def test_instruments_set_directly_equal_the_scenario_file():
    """set_tariff / set_transfer (groups of the data set resolved as in scenario files) and a
    solve give the same EV as the same scenario run from TOML."""
    session = _session()
    res = session.run(toml=API_SCENARIO)
    model = _fresh_model(session)
    assert st.set_tariff(model, "HOME", "abroad", "textiles", add=0.15) == 1
    assert st.set_tariff(model, "FOREIGN", "HOME", ["food"], rate=0.08) == 1
    assert st.set_transfer(model, "HOME", "FOREIGN", amount=3.0) == 3.0
    solve(model)
    ev = st.evaluate(model)
    for r in model.ctx.regions:
        assert rel(ev.ev[r], res.EV.sel(region=r).item()) <= API_RTOL, r
    tariffs = st.get_tariffs(model, "HOME")
    assert tariffs.dims == ("commodity", "exporter")
    assert tariffs.sel(commodity="cloth", exporter="FOREIGN").item() == pytest.approx(0.20)
    assert st.get_tariffs(model, "FOREIGN", "HOME").sel(commodity="food").item() == 0.08
    transfers = st.get_transfers(model)
    assert transfers.sel(payer="HOME", recipient="FOREIGN").item() == 3.0
    assert st.set_transfer(model, "HOME", "FOREIGN", add=-1.0) == 2.0
    assert st.set_transfer(model, "HOME", "FOREIGN", amount=5.0) == 5.0
    assert st.get_transfers(model).sel(payer="HOME", recipient="FOREIGN").item() == 5.0
    st.reset(model)
    assert st.get_tariffs(model, "HOME", "FOREIGN").sel(commodity="cloth").item() == \
        pytest.approx(0.05)
    assert float(st.get_transfers(model).sum()) == 0.0


def test_purchases_and_foreign_saving_set_directly_equal_scenario_tables():
    """set_purchases equals a ``[[stationing]]`` table paid by the buyer (the same direct
    purchases); set_foreign_saving(HOME, add=-x, offset=FOREIGN) equals a ``[[capital_flow]]``
    of x from HOME to FOREIGN; every EV within 1e-9, and the getters read them back."""
    session = _session()
    model = _fresh_model(session)
    try:
        for toml, setter in (
                ('name = "s"\n[[stationing]]\nbuyer = "FOREIGN"\nhost = "HOME"\n'
                 'amount = 2.5\n', lambda m: st.set_purchases(m, "FOREIGN", "HOME", 2.5)),
                ('name = "c"\n[[capital_flow]]\npayer = "HOME"\nrecipient = "FOREIGN"\n'
                 'amount = 1.5\n',
                 lambda m: st.set_foreign_saving(m, "HOME", add=-1.5, offset="FOREIGN"))):
            ref = session.run(toml=toml)
            model = _fresh_model(session)
            setter(model)
            solve(model)
            ev = st.evaluate(model)
            for r in model.ctx.regions:
                assert rel(ev.ev[r], ref.EV.sel(region=r).item()) <= 1e-9, (toml, r)
            assert abs(ref.EV.sel(region="HOME").item()) > 1e-3          # not vacuous
        model = _fresh_model(session)
        assert st.set_purchases(model, "FOREIGN", "HOME", amount=2.0) == 2.0
        assert st.set_purchases(model, "FOREIGN", "HOME", add=0.5) == 2.5
        assert st.get_purchases(model).sel(seller="HOME", buyer="FOREIGN").item() == 2.5
        fs = st.set_foreign_saving(model, "HOME", add=-1.0)
        assert sum(fs.values()) == pytest.approx(sum(
            model.ctx.p["fsav0"][r] for r in model.ctx.regions), abs=1e-12)
        with pytest.raises(st.StrategyError, match=">= 0"):
            st.set_purchases(model, "FOREIGN", "HOME", amount=-1.0)
        with pytest.raises(st.StrategyError, match="both 'HOME'"):
            st.set_purchases(model, "HOME", "HOME", amount=1.0)
        with pytest.raises(st.StrategyError, match="exactly one"):
            st.set_foreign_saving(model, "HOME", level=1.0, add=1.0)
        with pytest.raises(st.StrategyError, match="no region other than"):
            st.set_foreign_saving(model, "HOME", add=1.0, offset="HOME")
    finally:
        model.restore(model._benchmark)


def test_instrument_requests_that_cannot_work():
    model = _fresh_model(_session())
    with pytest.raises(ScenarioError, match="unknown region"):
        st.set_tariff(model, "USA", "FOREIGN", "all", rate=0.1)
    with pytest.raises(ScenarioError, match="unknown commodity"):
        st.set_tariff(model, "HOME", "FOREIGN", "steel", rate=0.1)
    with pytest.raises(st.StrategyError, match="exactly one"):
        st.set_tariff(model, "HOME", "FOREIGN", "all", rate=0.1, add=0.1)
    with pytest.raises(ScenarioError, match="-100 %"):
        st.set_tariff(model, "HOME", "FOREIGN", "all", rate=-1.0)
    with pytest.raises(st.StrategyError, match="must differ"):
        st.set_transfer(model, "HOME", "HOME", amount=1.0)
    with pytest.raises(ScenarioError, match="exceeds the payer's benchmark income"):
        st.set_transfer(model, "HOME", "FOREIGN", amount=1e6)
    model.restore(model._benchmark)


# --------------------------------------------------------------------------------------------
# Optimal tariff: the NLP against a scalar search
# --------------------------------------------------------------------------------------------
def _ev_at(session, region, on, commodities, rate, mode="set") -> float:
    return float(st.ev_curve(session, region, on, commodities, [rate], mode=mode)
                 .sel(region=region)[0])


@pytest.mark.parametrize(("region", "on", "commodities"), [
    ("HOME", "FOREIGN", "all"), ("FOREIGN", "HOME", "cloth")])
def test_nlp_optimum_equals_scalar_search(region, on, commodities):
    """One NLP (equilibrium + EV objective + the rate freed) finds the rate a bounded scalar
    search over ordinary square solves finds; EV there beats EV at rate +- 0.01; every
    region's EV at the optimum is the EV of the ordinary solve at that rate."""
    session = _session()
    bounds = (0.0, 5.0)
    opt = st.optimal_tariff(session, region, on=on, commodities=commodities, bounds=bounds)
    assert opt.status == "optimal" and opt.binding == {commodities: None}
    assert opt.check.iterations <= 1
    search = minimize_scalar(lambda t: -_ev_at(session, region, on, commodities, t),
                             bounds=bounds, method="bounded", options={"xatol": 1e-9})
    rate = opt.rates[commodities]
    assert abs(rate - search.x) <= SEARCH_TOL, (rate, search.x)
    curve = st.ev_curve(session, region, on, commodities, [rate - NEARBY, rate, rate + NEARBY])
    own = curve.sel(region=region).values
    assert own[1] >= own[0] and own[1] >= own[2]
    assert own[1] > opt.ev_start[region]
    for r in curve.region.values:
        assert rel(opt.ev[str(r)], float(curve.sel(region=r)[1])) <= 1e-9


def test_optimal_tariff_modes_groups_and_bounds():
    """``add`` on one cell is ``set`` shifted by the status-quo rate; one rate per commodity
    beats one uniform rate; a tight upper bound binds; the model is left square at the
    optimum, and an ordinary scenario run afterwards is unaffected."""
    session = _session()
    base = 0.05     # HOME's benchmark tariff on cloth
    by_set = st.optimal_tariff(session, "HOME", on="FOREIGN", commodities="cloth",
                               bounds=(0.0, 5.0))
    by_add = st.optimal_tariff(session, "HOME", on="FOREIGN", commodities="cloth",
                               bounds=(-base, 5.0), mode="add")
    assert abs(by_add.rates["cloth"] + base - by_set.rates["cloth"]) <= 1e-6
    uniform = st.optimal_tariff(session, "HOME", on="FOREIGN", commodities="all",
                                bounds=(0.0, 5.0))
    each = st.optimal_tariff(session, "HOME", on="FOREIGN", commodities="all",
                             per_commodity=True, bounds=(0.0, 5.0))
    assert set(each.rates) == {"food", "cloth"}
    assert each.ev["HOME"] >= uniform.ev["HOME"] - 1e-9
    capped = st.optimal_tariff(session, "HOME", on="abroad", commodities="all",
                               bounds=(0.0, 0.3))
    assert capped.binding == {"all": "upper"} and capped.rates["all"] == pytest.approx(0.3)
    model = session.model()
    model.check_square()
    assert st.get_tariffs(model, "HOME", "FOREIGN").values == pytest.approx([0.3, 0.3])
    assert st.evaluate(model).solved
    after = session.run(toml=SCENARIO)
    fresh = cge.Session(session.benchmark, ELASTICITIES).run(toml=SCENARIO)
    assert np.allclose(after.EV.values, fresh.EV.values, rtol=1e-10, atol=0)


def test_optimal_tariff_bad_requests():
    session = _session()
    with pytest.raises(ScenarioError, match="unknown region"):
        st.optimal_tariff(session, "USA", on="FOREIGN")
    with pytest.raises(st.StrategyError, match="no partner"):
        st.optimal_tariff(session, "HOME", on="HOME", commodities="all")
    with pytest.raises(st.StrategyError, match="lower < upper"):
        st.optimal_tariff(session, "HOME", on="FOREIGN", commodities="all", bounds=(0.5, 0.1))
    with pytest.raises(st.StrategyError, match="outside the bounds"):
        st.optimal_tariff(session, "HOME", on="FOREIGN", commodities="all", start=2.0)
    with pytest.raises(st.StrategyError, match="two groups"):
        st.optimal_tariff(session, "HOME", on="FOREIGN",
                          commodities={"a": "all", "b": "cloth"})
    with pytest.raises(st.StrategyError, match="mode"):
        st.optimal_tariff(session, "HOME", on="FOREIGN", commodities="all", mode="multiply")


# --------------------------------------------------------------------------------------------
# Optimal tariff: the analytic formula
# --------------------------------------------------------------------------------------------
#: Domestic sales and exports of each region's endowment (symmetric), and the Armington σ.
DOMESTIC, EXPORTS, SIGMA = 80.0, 20.0, 4.0


def symmetric_benchmark():
    """Two regions, each endowed with labour that makes its own variety of one good ``g``;
    households only (no government, saving or taxes), balanced trade, free trade."""
    regions = ["HOME", "FOREIGN"]
    ds = empty_benchmark(regions, ["g"], ["labour"], name="symmetric")
    for r in regions:
        other = next(s for s in regions if s != r)
        ds["vdfd"].loc[dict(commodity="g", agent="household", region=r)] = DOMESTIC
        ds["vxmd"].loc[dict(commodity="g", exporter=other, importer=r)] = EXPORTS
        ds["vifd"].loc[dict(commodity="g", agent="household", region=r)] = EXPORTS
        ds["vfm"].loc[dict(factor="labour", activity="g", region=r)] = DOMESTIC + EXPORTS
    ds = complete(ds)
    check_balance(ds)
    return ds


THETA = EXPORTS / (DOMESTIC + EXPORTS)


def import_share(home_price: float, landed_import_price: float) -> float:
    r"""CES import share of expenditure with benchmark share θ (prices 1 in the benchmark):
    :math:`s = \theta q^{1-\sigma} / (\theta q^{1-\sigma} + (1-\theta) p^{1-\sigma})`, q the
    landed price of the imported variety, p the price of the home variety."""
    q = landed_import_price ** (1 - SIGMA)
    return THETA * q / (THETA * q + (1 - THETA) * home_price ** (1 - SIGMA))


def foreign_share(pi: float) -> float:
    """FOREIGN's import share: HOME's variety at pi, its own at 1, no tariff."""
    return import_share(1.0, pi)


def terms_of_trade(t: float) -> float:
    r"""HOME's terms of trade :math:`\pi = p_H / p_F` at HOME tariff t (closed form, one
    equation): FOREIGN spends the share :math:`s^*(\pi)` of its income :math:`p_F Y` on HOME's
    variety (world value :math:`V = s^* Y`, :math:`p_F = 1`); HOME spends the share
    :math:`s_H` of :math:`\pi Y + tV` on imports at landed prices, :math:`(1+t) V`; balanced
    trade gives :math:`s^*(\pi)(1 + t(1 - s_H)) = \pi s_H`."""
    def excess(pi):
        s_home = import_share(pi, 1.0 + t)
        return foreign_share(pi) * (1 + t * (1 - s_home)) - pi * s_home
    return brentq(excess, 0.2, 5.0, xtol=1e-15)


def home_utility(t: float) -> float:
    """HOME's utility index (benchmark 1): income (endowment at pi plus tariff revenue) over
    the CES price index."""
    y = DOMESTIC + EXPORTS
    pi = terms_of_trade(t)
    v = foreign_share(pi) * y
    price = (THETA * (1 + t) ** (1 - SIGMA) + (1 - THETA) * pi ** (1 - SIGMA)) ** (
        1 / (1 - SIGMA))
    return (pi * y + t * v) / price / y


def test_optimal_tariff_analytic_formula():
    r"""The optimal tariff of a large country is :math:`t^* = 1/(e^* - 1)`, :math:`e^*` the
    elasticity of the partner's import demand (its offer curve) at the optimum.

    Derivation for this economy (two regions, each with a fixed endowment of its own variety,
    CES Armington preferences σ over the two varieties, no other taxes, balanced trade; HOME
    taxes its imports at t and spends the revenue). FOREIGN's income is its endowment,
    :math:`Y` units of its own good (numeraire :math:`p_F = 1`); with
    :math:`\pi = p_H/p_F` the world price of HOME's good, FOREIGN's CES demand for it is
    :math:`M^* = s^*(\pi)\,Y/\pi` with import share
    :math:`s^*(\pi) = \theta\pi^{1-\sigma}/(\theta\pi^{1-\sigma} + 1 - \theta)`, so
    :math:`d\log s^*/d\log\pi = (1-\sigma)(1-s^*)` and

    .. math::
        e^* = -\frac{d\log M^*}{d\log \pi} = 1 + (\sigma - 1)(1 - s^*), \qquad
        t^* = \frac{1}{e^* - 1} = \frac{1}{(\sigma - 1)(1 - s^*)} ,

    with :math:`s^*` FOREIGN's import share at the optimal equilibrium (it falls as HOME's
    tariff raises :math:`\pi`; σ = 4 and θ = 0.2 give :math:`t^* \approx 38\,\%`). The
    formula is implicit; :math:`s^*(\pi(t))` is solved in closed form
    (:func:`terms_of_trade`), and the fixed point :math:`t = 1/((\sigma-1)(1-s^*))` by a root
    finder. Checked four ways: (1) the NLP rate equals the fixed point; (2) the formula holds
    with :math:`s^*` read from the model's equilibrium at the NLP optimum; (3) the fixed point
    maximises the closed-form utility of HOME (so the derivation is right); (4) the
    first-order condition d(EV/E0)/dt = 0 at the NLP optimum by central differences."""
    session = cge.Session(symmetric_benchmark(), {"esubd": SIGMA, "esubm": SIGMA,
                                                  "esubva": 1.0})
    opt = st.optimal_tariff(session, "HOME", on="FOREIGN", commodities="all", bounds=(0.0, 5.0))
    rate = opt.rates["all"]
    fixed_point = brentq(lambda t: t - 1 / ((SIGMA - 1) * (1 - foreign_share(terms_of_trade(t)))),
                         0.0, 5.0, xtol=1e-14)
    assert abs(rate - fixed_point) <= ANALYTIC_TOL, (rate, fixed_point)
    m = session.model().m
    exports_home = EXPORTS * value(m.imp["g", "HOME", "FOREIGN"]) * value(m.pd["g", "HOME"])
    s_star = exports_home / value(m.efd["household", "FOREIGN"])
    assert abs(rate - 1 / ((SIGMA - 1) * (1 - s_star))) <= ANALYTIC_TOL
    best = minimize_scalar(lambda t: -home_utility(t), bounds=(0.0, 5.0), method="bounded",
                           options={"xatol": 1e-10})
    assert abs(best.x - fixed_point) <= ANALYTIC_TOL
    assert value(m.qfd["household", "HOME"]) == pytest.approx(home_utility(rate), rel=1e-10)
    e0 = DOMESTIC + EXPORTS
    up, down = (_ev_at(session, "HOME", "FOREIGN", "all", rate + h) for h in (FD_STEP, -FD_STEP))
    assert abs((up - down) / (2 * FD_STEP) / e0) <= FOC_TOL
    assert opt.ev["FOREIGN"] < 0 < opt.ev["HOME"]


# --------------------------------------------------------------------------------------------
# Default data
# --------------------------------------------------------------------------------------------
def test_default_data_optimal_us_tariff_is_interior():
    """default2024: the uniform US tariff on all goods from all partners that maximises US EV
    is interior (no bound binds), positive and below 100 %; it raises US EV above the EV at
    the starting rate (the status quo's mean rate) and lowers the EV of the large partners."""
    session = cge.Session()
    opt = st.optimal_tariff(session, "USA", on="all", commodities="goods")
    rate = opt.rates["goods"]
    assert opt.status == "optimal" and opt.binding == {"goods": None}
    assert 0.05 < rate < 0.95
    assert opt.check.iterations <= 1
    assert opt.ev["USA"] > max(opt.ev_start["USA"], 0.0)
    assert all(opt.ev[r] < 0 for r in ("JPN", "EU", "CAN", "MEX"))
    curve = st.ev_curve(session, "USA", "all", "goods", [rate - NEARBY, rate + NEARBY])
    assert (curve.sel(region="USA").values <= opt.ev["USA"]).all()
