"""Alternative elasticity sets in calibration/elasticities: each loads for its data set, and the
Caliendo-Parro (2015) set solves the Japanese-autos scenario on the default benchmark."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

import cge
import cge.api
from cge.calibrate import load_elasticities
from cge.data.benchmark import load_benchmark

#: set name -> data set whose commodities it covers
SETS = {"caliendo_parro": "default2024", "caliendo_parro_wiod2011": "wiod2011"}


@cache
def _commodities(data: str) -> list[str]:
    return [str(c) for c in load_benchmark(cge.api.DATA_DIR / data).commodity.values]


@pytest.mark.parametrize("name, data", SETS.items())
def test_set_loads_finite_nonnegative(name, data):
    commodities = _commodities(data)
    el = load_elasticities(name, commodities)
    assert [str(c) for c in el.commodity.values] == commodities
    for col in ("esubd", "esubm", "esubva"):
        v = el[col].values.astype(float)
        assert np.all(np.isfinite(v)) and np.all(v >= 0), col


def test_caliendo_parro_is_one_level_ces():
    """esubd = esubm = theta + 1 > 1 for every commodity (trade elasticity theta = sigma - 1)."""
    el = load_elasticities("caliendo_parro", _commodities("default2024"))
    np.testing.assert_allclose(el.esubd.values, el.esubm.values)
    assert np.all(el.esubd.values > 1)


def test_caliendo_parro_jpn_autos_232_solves_and_cuts_japanese_vehicle_exports():
    res = cge.Session("default2024", "caliendo_parro").run("jpn_autos_232")
    assert abs(float(res.attrs["solver_walras_slack"])) < 1e-8
    vol = res.trade_volume_pct.sel(commodity="motor_vehicles", exporter="JPN", importer="USA")
    assert vol.item() < 0
