"""GTAP's terms of trade and real GDP as Divisia indices along the solution path
(cge.path_indices): the integration has converged, the indices agree with the Laspeyres
``tot_pct`` / ``real_gdp_pct`` to first order (a small shock) and not beyond (a large one), and
their value weights are GDP's expenditure side exactly (the signed values add up to
``gdp_nominal``). On gtap7_3x3, skipped where the raw files are absent."""

from __future__ import annotations

import numpy as np
import pytest

import cge
from cge.path_indices import _flows, gtap_indices
from cge.welfare import decompose_ev
from tests.test_gtap_folder import gtap_folder

SHOCK = ('name = "all_power"\n[[tariff]]\nimporter = "all"\nexporter = "all"\n'
         'commodities = "all"\npower = {power}\nown_region = true\n')


@pytest.fixture(scope="module")
def session():
    return cge.Session(gtap_folder("gtap7_3x3"))


def test_weights_are_gdp_by_expenditure(session):
    res = session.run(toml=SHOCK.format(power=1.2))
    path: list = []
    decompose_ev(session.model(), steps=2, states=path)
    flows = _flows(path[-1])["qgdp"]
    for r in res.region.values:
        spent = sum(v for _, v, _ in flows[str(r)])
        assert spent == pytest.approx(float(res.gdp_nominal.sel(region=r)), rel=1e-9), str(r)


def test_converged_and_first_order_equal(session):
    big = session.run(toml=SHOCK.format(power=1.2), decompose=True)
    path: list = []
    decompose_ev(session.model(), steps=16, states=path)
    fine = gtap_indices(path, [str(r) for r in big.region.values])
    for key in ("tot_gtap_pct", "qgdp_gtap_pct"):
        np.testing.assert_allclose(big[key].values, [fine[key][str(r)] for r in big.region.values],
                                   atol=2e-3, err_msg=key)
    gap = np.abs(big.tot_gtap_pct - big.tot_pct).max()
    assert gap > 1e-3, "a 20 % tariff shock: Divisia and Laspeyres differ at second order"
    small = session.run(toml=SHOCK.format(power=1.002), decompose=True)
    for ours, gtap in (("tot_pct", "tot_gtap_pct"), ("real_gdp_pct", "qgdp_gtap_pct")):
        assert float(np.abs(small[ours]).max()) > 1e-4, ours
        np.testing.assert_allclose(small[gtap].values, small[ours].values,
                                   rtol=2e-2, atol=1e-6, err_msg=gtap)
