"""The model on the WIOD 2011 data set (wiod2011): replication in every configuration, signs.

Benchmark replication is the gate every counterfactual passes first: with all instruments at
their benchmark values every equation holds at the calibrated point (all prices and quantity
indices 1) and Ipopt takes zero iterations.
"""

from __future__ import annotations

import pytest
from conftest import benchmark_value
from pyomo.environ import value

import cge
from cge.options import ModelOptions
from cge.solve import residuals

REPLICATION_TOL = 1e-8

CONFIGS = {
    "default (GTAP regional household)": ModelOptions(),
    "CET": ModelOptions(transformation="cet", esub_cet=2.0),
    "separate institutions (textbook)": ModelOptions().textbook(),
    "sector-specific capital": ModelOptions(factor_market="sector_specific_capital"),
    "unemployment": ModelOptions(factor_market="unemployment"),
    "global bank": ModelOptions(external="global_bank"),
    "numeraire US wage": ModelOptions(numeraire="factor_price:labour:USA"),
    "numeraire CPI JPN + top-level CES": ModelOptions(numeraire="cpi:JPN", esub_top=0.5),
}


@pytest.fixture(scope="module")
def session() -> cge.Session:
    return cge.Session("wiod2011")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_benchmark_replication(session: cge.Session, name: str) -> None:
    model = session.model(CONFIGS[name])          # builds and runs the replication gate
    n_eq, n_var = model.check_square()
    assert n_eq == n_var
    model.reset()
    assert residuals(model)[0] <= REPLICATION_TOL
    diag = cge.solve(model, continuation=False)
    assert diag.iterations == 0
    for v in model.free_variables():
        expected = benchmark_value(model.params, v.name)
        assert abs(v.value - expected) <= REPLICATION_TOL, v.name


def test_us_tariff_on_japan_lowers_japans_exports(session: cge.Session) -> None:
    """A US tariff on Japanese goods lowers Japan's exports to the US in every sector shocked,
    most in motor vehicles (25 pp + a higher Armington elasticity than services)."""
    res = session.run("us_jpn_reciprocal_autos")
    vol = res.trade_volume_pct.sel(exporter="JPN", importer="USA")
    goods = [c for c in res.commodity.values if c not in ("services", "public_admin")]
    assert (vol.sel(commodity=goods) < 0).all()
    assert float(vol.sel(commodity="motor_vehicles")) < -20.0
    assert float(res.tariff_revenue.sel(region="USA")) > 0
    assert abs(res.attrs["solver_walras_slack"]) < 1e-8


def test_japanese_retaliation_lowers_us_exports_to_japan(session: cge.Session) -> None:
    base = session.run("us_jpn_reciprocal_autos")
    ret = session.run("us_jpn_reciprocal_autos_retaliation")
    us_to_jp = "trade_volume"
    before = float(base[us_to_jp].sel(exporter="USA", importer="JPN").sum())
    after = float(ret[us_to_jp].sel(exporter="USA", importer="JPN").sum())
    assert after < before


def test_transfer_japan_to_usa(session: cge.Session) -> None:
    """Japan → USA transfer under a fixed current account: the payer's trade balance improves
    by the transfer (in numeraire units), its EV falls, the recipient's rises."""
    res = session.run("jpn_usa_transfer_0p1")
    amount = 0.001 * float(session.params.gdp0.sel(region="JPN"))
    pnum = 1.0
    assert float(res.trade_balance_change.sel(region="JPN")) == pytest.approx(amount * pnum,
                                                                             rel=1e-7)
    assert float(res.trade_balance_change.sel(region="USA")) == pytest.approx(-amount,
                                                                             rel=1e-7)
    assert float(res.EV.sel(region="JPN")) < 0 < float(res.EV.sel(region="USA"))
    # with home bias the payer's terms of trade worsen (classical transfer problem)
    assert float(res.tot_pct.sel(region="JPN")) < 0


def test_counterfactual_does_not_rebuild(session: cge.Session) -> None:
    """Scenarios reuse the model built for their closure: the Pyomo model object is the same."""
    model = session.model()
    session.run("us_baseline_10")
    session.run("jpn_usa_transfer_0p1")
    assert session.model() is model
    assert value(model.m.walras) == pytest.approx(0.0, abs=1e-8)
