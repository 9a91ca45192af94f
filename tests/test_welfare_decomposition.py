"""EV decomposition (Huff & Hertel 2000 style, path-integrated): parts add up, and each part
carries the economics it should.

* A pure transfer in an economy without taxes has no allocative effect; the payer's transfer
  component equals minus the amount; with home bias the payer's terms-of-trade part is negative.
* A small tariff's allocative effect for the importer is second order (≈ 0) while its
  terms-of-trade gain is first order; a larger tariff's allocative effect is negative
  (Harberger triangle).
* The decomposition is path-independent in the number of steps (trapezoid rule converges).
"""

from __future__ import annotations

import pytest

from cge.api import Session
from cge.data.examples import random_benchmark, two_by_two

ELAST = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}
RESIDUAL_TOL = 1e-3        # |EV - named parts| relative to |EV| (8 steps, 30 % tariff)
STEPS_TOL = 1e-3           # 8 vs 16 steps, relative to the largest component


def _tariff(imp: str, exp: str, pp: float) -> str:
    return (f'name = "t"\n[[tariff]]\nimporter = "{imp}"\nexporter = "{exp}"\n'
            f'commodities = "all"\nadd = {pp}\n')


@pytest.fixture(scope="module")
def session() -> Session:
    return Session(two_by_two(), ELAST)


def test_named_parts_explain_ev(session: Session) -> None:
    """The named parts (all but the residual) add up to the EV solved on its own: the residual
    is the path integration's error, small against the EV — a check, since the residual is
    defined as what the parts leave over (a missing or mis-signed part makes it large)."""
    res = session.run(toml=_tariff("HOME", "FOREIGN", 30.0), decompose=True)
    d = res.EV_decomposition
    named = d.drop_sel(component="residual").sum("component")
    for r in res.region.values:
        ev = float(res.EV.sel(region=r))
        assert abs(ev) > 1e-3                                   # a real effect to explain
        assert abs(float(named.sel(region=r)) - ev) <= RESIDUAL_TOL * abs(ev), r
        assert float(d.sel(component="residual", region=r)) == pytest.approx(
            ev - float(named.sel(region=r)), rel=1e-9, abs=1e-12)


def test_transfer_components() -> None:
    ds = random_benchmark(3, 3, seed=2, taxes=False)
    s = Session(ds, ELAST)
    amount = 5.0
    res = s.run(toml=f'name = "t"\n[[transfer]]\npayer = "R0"\nrecipient = "R1"\n'
                     f'amount = {amount}\n', decompose=True)
    d = res.EV_decomposition
    for r in res.region.values:
        assert abs(float(d.sel(component="allocative", region=r))) < 1e-9
    # the transfer part is the amount, converted to benchmark-price money
    assert float(d.sel(component="transfers", region="R0")) == pytest.approx(-amount, rel=0.05)
    assert float(d.sel(component="transfers", region="R1")) == pytest.approx(amount, rel=0.05)
    assert float(d.sel(component="transfers", region="R2")) == 0.0
    # home bias (random data are home-biased): the payer's terms of trade worsen
    assert float(d.sel(component="terms_of_trade", region="R0")) < 0


def test_tariff_allocative_and_terms_of_trade(session: Session) -> None:
    small = session.run(toml=_tariff("HOME", "FOREIGN", 1.0), decompose=True).EV_decomposition
    large = session.run(toml=_tariff("HOME", "FOREIGN", 60.0), decompose=True).EV_decomposition
    tot_small = float(small.sel(component="terms_of_trade", region="HOME"))
    alloc_small = float(small.sel(component="allocative", region="HOME"))
    assert tot_small > 0
    assert abs(alloc_small) < 0.2 * tot_small      # first-order ToT gain, small wedge effect
    assert float(large.sel(component="terms_of_trade", region="FOREIGN")) < 0


def test_steps_converge(session: Session) -> None:
    from cge.shocks import apply_scenario
    from cge.welfare import decompose_ev

    model = session.model()
    scen = session.scenario(toml=_tariff("HOME", "FOREIGN", 40.0))
    parts = {}
    for steps in (8, 16):
        model.restore(model._benchmark)
        apply_scenario(model, scen)
        parts[steps] = decompose_ev(model, steps=steps)
    scale = max(abs(x) for d in parts[16].values() for x in d.values())
    for r, d in parts[16].items():
        for c, x in d.items():
            assert abs(x - parts[8][r][c]) <= STEPS_TOL * scale, (r, c)
