"""Factors by role (issue 20, item 2): mobile, sluggish (a CET across sectors, GTAP's ETRAE)
and fixed; the roles of a GTAP data base from its default.prm (EFLG, ETRE), a data set's from
its dataset.toml.

The sluggish CET is checked against what it must be, not against the model's own formula: its
two limits (an infinite elasticity is a mobile factor, a zero one a fixed factor), and at a
solution the allocation lies on the transformation frontier in quantities,
sum_j theta_j (q_j / E)^((1 + eta) / eta) = 1, with q_j / q_k = (w_j / w_k)^eta (the first-order
condition of a revenue-maximising owner)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from pyomo.environ import value

import cge
from cge.data.benchmark import DataError
from cge.data.examples import random_benchmark
from cge.options import ModelOptions, OptionsError
from cge.solve import nlp_residual

ELAST = {"esubd": 2.0, "esubm": 4.0, "esubva": 0.8}
#: capital flows to the taxed sectors' rivals: a tariff war on goods of every region
SHOCK = ('name = "t20"\n[[tariff]]\nimporter = "all"\nexporter = "all"\ncommodities = "all"\n'
         'add = 20\n')


@pytest.fixture(scope="module")
def data():
    return random_benchmark(3, 4, 21, n_factors=3, transfers=False)   # labour, capital, land


def _run(data, **roles):
    session = cge.Session(data, ELAST, ModelOptions(**roles))
    return session, session.run(toml=SHOCK)


def test_sluggish_limits_are_mobile_and_fixed(data):
    _, mobile = _run(data)
    _, fixed = _run(data, factor_roles={"land": "fixed"})
    _, loose = _run(data, factor_roles={"land": "sluggish"}, etrae={"land": 1e3})
    _, tight = _run(data, factor_roles={"land": "sluggish"}, etrae={"land": 1e-3})
    _, mid = _run(data, factor_roles={"land": "sluggish"}, etrae={"land": 1.0})
    gap = np.abs(mobile.EV.values - fixed.EV.values).max()
    assert gap > 1e-3 * np.abs(mobile.EV.values).max(), "the role matters for this shock"
    np.testing.assert_allclose(loose.EV.values, mobile.EV.values, atol=1e-2 * gap)
    np.testing.assert_allclose(tight.EV.values, fixed.EV.values, atol=1e-2 * gap)
    assert np.abs(mid.EV.values - mobile.EV.values).max() > 1e-2 * gap
    assert np.abs(mid.EV.values - fixed.EV.values).max() > 1e-2 * gap


@pytest.mark.parametrize("eta", [0.5, 2.0])
def test_sluggish_allocation_is_on_the_cet_frontier(data, eta):
    session, res = _run(data, factor_roles={"land": "sluggish"}, etrae={"land": eta})
    model = session.model(session.options)
    session.run(toml=SHOCK)                     # leaves the solution in the model
    m, p = model.m, model.ctx.p
    for r in model.ctx.regions:
        sectors = model.ctx.sectors_of["land", r]
        q = np.array([value(m.qf["land", j, r]) for j in sectors])     # index, benchmark 1
        w = np.array([value(m.pfs["land", j, r]) for j in sectors])
        theta = np.array([p["vfm"]["land", j, r] for j in sectors]) / p["evom"]["land", r]
        e = value(m.endow["land", r])
        assert np.sum(theta * (q / e) ** ((1 + eta) / eta)) == pytest.approx(1.0, abs=1e-9)
        np.testing.assert_allclose(q / q[0], (w / w[0]) ** eta, rtol=1e-8)
        assert np.ptp(w) > 1e-4, "sector prices of land differ: it is not mobile"
        # the owner's income is the CET index times the endowment
        income = np.sum(w * q * theta * p["evom"]["land", r])
        assert income == pytest.approx(value(m.pft["land", r]) * e * p["evom"]["land", r],
                                       rel=1e-9)


def test_options_are_checked():
    with pytest.raises(OptionsError, match="need a transformation elasticity"):
        ModelOptions(factor_roles={"land": "sluggish"})
    with pytest.raises(OptionsError, match="allowed"):
        ModelOptions(factor_roles={"land": "sticky"})
    with pytest.raises(OptionsError, match="not a sluggish factor"):
        ModelOptions(etrae={"land": 1.0})
    with pytest.raises(OptionsError, match=r"must be > 0"):
        ModelOptions(factor_roles={"land": "sluggish"}, etrae={"land": -1.0})
    with pytest.raises(OptionsError, match="needs 'labour' mobile"):
        ModelOptions(factor_market="unemployment", factor_roles={"labour": "fixed"})


def test_a_role_for_a_factor_the_data_lack_is_an_error(data):
    session = cge.Session(data, ELAST, ModelOptions(factor_roles={"NatRes": "fixed"}))
    with pytest.raises(OptionsError, match=r"NatRes.*not in the data"):
        session.model()


# --------------------------------------------------------------------------------------------
# GTAP data bases and dataset.toml
# --------------------------------------------------------------------------------------------
def _gtap(name: str):
    from tests.test_gtap_folder import gtap_folder

    return gtap_folder(name)


@pytest.mark.parametrize("roles", ["data", "all_mobile"])
def test_gtap_roles_from_default_prm_and_replication(roles):
    folder = _gtap("gtap7_3x3")
    base = cge.Session(folder)
    assert base.options.factor_roles == {"Land": "sluggish", "UnSkLab": "mobile",
                                         "SkLab": "mobile", "Capital": "mobile",
                                         "NatRes": "fixed"}
    assert base.options.etrae == {"Land": pytest.approx(1.0)}
    session = base if roles == "data" else cge.Session(
        folder, options=ModelOptions(labour="UnSkLab", capital="Capital"))
    model = session.model()
    model.restore(model._benchmark)
    residual, where = nlp_residual(model)
    assert residual <= 1e-9, where
    res = session.run(toml=SHOCK)
    assert res.attrs["factor_roles"].startswith("{") and ("sluggish" in res.attrs["factor_roles"]
                                                          ) == (roles == "data")


def test_dataset_toml_carries_the_roles(tmp_path):
    from cge.data.gtap import convert_gtap

    out = convert_gtap(_gtap("gtap7_3x3"), tmp_path / "g33")
    text = (out / "dataset.toml").read_text(encoding="utf-8")
    assert '[factor_roles]\nLand = "sluggish"' in text and "[etrae]\nLand = 1.0" in text
    assert cge.Session(out).options.factor_roles["NatRes"] == "fixed"
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / "dataset.toml").write_text(text.replace('NatRes = "fixed"', 'NatRes = "frozen"'),
                                      encoding="utf-8")
    with pytest.raises(DataError, match=r"bad/dataset.toml.*NatRes.*frozen"):
        cge.load_data(bad)
