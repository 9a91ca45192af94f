"""Tariff-power shocks (``power``, GTAP's tms): (1 + rate) x power - 1 in every cell, the same
equilibrium as the equivalent rate shock written cell by cell with ``set``; bad values are
refused by the parser."""

from __future__ import annotations

import numpy as np
import pytest

import cge
from cge.data.examples import two_by_two
from cge.scenario import ScenarioError

ELASTICITIES = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}


@pytest.fixture(scope="module")
def session():
    return cge.Session(two_by_two(), ELASTICITIES)


def _tm(model) -> dict[tuple, float]:
    """The tariff instrument tm[commodity, exporter, importer]."""
    return {k: float(v.value) for k, v in model.m.tm.items()}


def test_power_moves_the_power_of_every_cell(session):
    bench = _tm(session.model())
    assert any(v > 0 for v in bench.values()), "the test needs a non-zero benchmark tariff"
    _, model = session.prepared(toml='name = "p"\n[[tariff]]\nimporter = "HOME"\n'
                                     'exporter = "FOREIGN"\ncommodities = "all"\npower = 1.1\n')
    after = _tm(model)
    for key, t0 in bench.items():
        shocked = key[1:] == ("FOREIGN", "HOME")
        want = (1 + t0) * 1.1 - 1 if shocked else t0
        assert after[key] == pytest.approx(want, abs=1e-15), key
    model.restore(model._benchmark)


def test_power_equals_the_rate_shock_cell_by_cell(session):
    bench = _tm(session.model())
    cells = {k: t0 for k, t0 in bench.items() if k[1:] == ("FOREIGN", "HOME")}
    assert len(cells) == 2
    power = session.run(toml='name = "p"\n[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"\n'
                             'commodities = "all"\npower = 1.25\n')
    tables = "".join(
        f'[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"\ncommodities = "{k[0]}"\n'
        f"set = {100 * ((1 + t0) * 1.25 - 1)!r}\n" for k, t0 in cells.items())
    rates = session.run(toml='name = "s"\n' + tables)
    assert abs(float(power.EV.sel(region="HOME"))) > 1e-3, "the shock moves welfare"
    for var in ("EV", "real_gdp_pct", "tot_pct", "trade_volume", "tariff_revenue"):
        np.testing.assert_allclose(power[var].values, rates[var].values, rtol=1e-9, atol=1e-9,
                                   err_msg=var)


@pytest.mark.parametrize("value, words", [("0", "> 0"), ("-1.1", "> 0"), ("2000", "at most")])
def test_bad_power_is_refused(session, value, words):
    with pytest.raises(ScenarioError) as err:
        session.scenario(toml=f'name = "p"\n[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"'
                              f'\ncommodities = "all"\npower = {value}\n')
    assert "tariff[1].power" in str(err.value) and words in str(err.value)
