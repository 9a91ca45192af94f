"""Hand-built economies whose counterfactuals are known in closed form.

A. Arkolakis–Costinot–Rodríguez-Clare (2012): in a one-sector, labour-only Armington world with
   balanced trade and a single CES over all sources (σ, trade elasticity ε = σ − 1), the
   welfare change of every country after any foreign trade-cost shock is
   Ŵ = λ̂^(−1/ε), λ the share of expenditure on domestic goods.
B. The transfer problem (Keynes–Ohlin, Samuelson 1952): with identical homothetic preferences
   and no home bias a transfer leaves the terms of trade unchanged; with home bias (each country
   spends more on its own good) the payer's terms of trade worsen. With Cobb–Douglas
   preferences and one good per country, prices solve a 2×2 linear system.
C. Hosoe–Gasawa–Hashimoto separate institutions: household consumption is (1 − τd − sp)·YH,
   government purchases (1 − sg)·YG and investment sp·YH + sg·YG + foreign saving, at every
   solution.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from conftest import ELASTICITIES, benchmark_data
from pyomo.environ import value

from cge.api import Session
from cge.calibrate import calibrate
from cge.data.benchmark import (
    check_balance,
    complete,
    empty_benchmark,
    final_expenditure,
    tax_revenue,
)
from cge.model import build_model
from cge.options import ModelOptions
from cge.solve import solve

#: ACR formula: relative error in Ŵ vs λ̂^(−1/ε).
ACR_RTOL = 1e-6
#: Transfer problem: relative error of prices, utilities, terms of trade (closed form).
TRANSFER_RTOL = 1e-8
#: "Clearly" worse terms of trade with home bias, in percent.
TOT_CLEAR_PCT = -0.1
#: Separate-institutions budget rules (relative).
INSTITUTIONS_RTOL = 1e-9


# --------------------------------------------------------------------------------------------
# A. ACR
# --------------------------------------------------------------------------------------------
#: Bilateral flows X[s, r] (exporter s, importer r), symmetric so trade balances region by
#: region; unequal sizes and trade shares.
ACR_FLOWS = np.array([[100.0, 12.0, 6.0],
                      [12.0, 60.0, 9.0],
                      [6.0, 9.0, 30.0]])
ACR_REGIONS = ["R0", "R1", "R2"]


def acr_benchmark(flows: np.ndarray = ACR_FLOWS) -> xr.Dataset:
    """One good, labour only, no intermediates, no taxes, household only, balanced trade."""
    R = ACR_REGIONS
    ds = empty_benchmark(R, ["g"], ["labour"], name="acr")
    for a, s in enumerate(R):
        for b, r in enumerate(R):
            if s == r:
                ds["vdfd"].loc[dict(commodity="g", agent="household", region=r)] = flows[a, b]
            else:
                ds["vxmd"].loc[dict(commodity="g", exporter=s, importer=r)] = flows[a, b]
        ds["vifd"].loc[dict(commodity="g", agent="household", region=s)] = (
            flows[:, a].sum() - flows[a, a])
        ds["vfm"].loc[dict(factor="labour", activity="g", region=s)] = flows[a, :].sum()
    ds = complete(ds)
    check_balance(ds)
    return ds


def _acr_check(res, model, sigma, lam0):
    eps = sigma - 1.0
    m, p = model.m, model.ctx.p
    for k, r in enumerate(ACR_REGIONS):
        exports = sum(p["vxmd"]["g", r, d] * value(m.imp["g", r, d]) * value(m.ice["g", r, d])
                      for d in ACR_REGIONS if d != r)
        domestic_qty = value(m.Y["g", r]) * p["vom"]["g", r] - exports
        expenditure = value(m.efd["household", r])
        # total purchases = composite price × composite quantity
        assert expenditure == pytest.approx(
            value(m.pa["g", "household", r]) * value(m.qfd["household", r])
            * p["vfd"]["household", r], rel=1e-10)
        lam = value(m.pd["g", r]) * domestic_qty / expenditure
        w_hat = float(res.utility.sel(region=r))
        assert w_hat == pytest.approx(value(m.qfd["household", r]), rel=1e-12)
        expected = (lam / lam0[k]) ** (-1.0 / eps)
        assert w_hat == pytest.approx(expected, rel=ACR_RTOL), (r, w_hat, expected)


@pytest.mark.parametrize(("sigma", "toml"), [
    (4.0, '[[trade_cost]]\nimporter = "R0"\nexporter = "all"\ncommodities = "all"\nadd = 20.0\n'),
    (4.0, '[[trade_cost]]\nimporter = "all"\nexporter = "all"\ncommodities = "all"\n'
          'add = -10.0\n'),
    (2.5, '[[trade_cost]]\nimporter = "R2"\nexporter = "R1"\ncommodities = "all"\nadd = 35.0\n'
          '[[trade_cost]]\nimporter = "R1"\nexporter = "R0"\ncommodities = "all"\nadd = 15.0\n'),
], ids=["sigma4-imports_of_R0", "sigma4-global_cut", "sigma2.5-asymmetric"])
def test_acr_welfare_formula(sigma, toml):
    """Ŵ = λ̂^(−1/ε) for every region (ε = σ − 1; esubd = esubm = σ so the nest is one CES)."""
    ds = acr_benchmark()
    lam0 = [ACR_FLOWS[k, k] / ACR_FLOWS[:, k].sum() for k in range(3)]
    sess = Session(ds, {"esubd": sigma, "esubm": sigma, "esubva": 1.0}, ModelOptions())
    res = sess.run(toml='name = "acr"\n' + toml)
    model = sess.model()
    moved = max(abs(float(res.utility.sel(region=r)) - 1.0) for r in ACR_REGIONS)
    assert moved > 1e-4, "the shock did not move welfare"
    _acr_check(res, model, sigma, lam0)


def test_acr_upper_nest_elasticity():
    """With esubd ≠ esubm the formula still holds with ε = esubd − 1: welfare depends only on the
    domestic share and the elasticity between domestic goods and the import bundle (labour is
    the only cost, so W ∝ p^d / p^a and λ = θ_d (p^d / p^a)^(1−σ_D)). With the lower-nest
    elasticity it fails, which shows the check has power."""
    ds = acr_benchmark()
    sess = Session(ds, {"esubd": 2.0, "esubm": 6.0, "esubva": 1.0}, ModelOptions())
    res = sess.run(toml='name = "acr"\n[[trade_cost]]\nimporter = "R0"\nexporter = "R1"\n'
                   'commodities = "all"\nadd = 30.0\n')
    lam0 = [ACR_FLOWS[k, k] / ACR_FLOWS[:, k].sum() for k in range(3)]
    _acr_check(res, sess.model(), 2.0, lam0)
    with pytest.raises(AssertionError):
        _acr_check(res, sess.model(), 6.0, lam0)


# --------------------------------------------------------------------------------------------
# B. The transfer problem
# --------------------------------------------------------------------------------------------
def transfer_benchmark(alpha1: float, alpha2: float, y1: float) -> tuple[xr.Dataset, float]:
    """Region R1 makes good A, R2 makes good B, from labour; household only; R1 spends α1 of its
    income on A, R2 spends α2. Balanced trade fixes R2's income: α2·Y2 = (1 − α1)·Y1."""
    y2 = (1.0 - alpha1) * y1 / alpha2
    ds = empty_benchmark(["R1", "R2"], ["A", "B"], ["labour"], name="transfer")
    hh = dict(agent="household")
    ds["vdfd"].loc[dict(commodity="A", region="R1", **hh)] = alpha1 * y1
    ds["vifd"].loc[dict(commodity="B", region="R1", **hh)] = (1 - alpha1) * y1
    ds["vxmd"].loc[dict(commodity="B", exporter="R2", importer="R1")] = (1 - alpha1) * y1
    ds["vdfd"].loc[dict(commodity="B", region="R2", **hh)] = (1 - alpha2) * y2
    ds["vifd"].loc[dict(commodity="A", region="R2", **hh)] = alpha2 * y2
    ds["vxmd"].loc[dict(commodity="A", exporter="R1", importer="R2")] = alpha2 * y2
    ds["vfm"].loc[dict(factor="labour", activity="A", region="R1")] = y1
    ds["vfm"].loc[dict(factor="labour", activity="B", region="R2")] = y2
    ds = complete(ds)
    check_balance(ds)
    return ds, y2


def transfer_closed_form(alpha1, alpha2, y1, y2, t):
    """Prices (pA, pB) with Cobb–Douglas demand, output fixed, numeraire = world wage index:
    (1 − α1) Y1 pA − α2 Y2 pB = T (α2 − α1) and Y1 pA + Y2 pB = Y1 + Y2."""
    a = np.array([[(1 - alpha1) * y1, -alpha2 * y2], [y1, y2]])
    b = np.array([t * (alpha2 - alpha1), y1 + y2])
    pa, pb = np.linalg.solve(a, b)
    u1 = (y1 * pa - t) / y1 / (pa ** alpha1 * pb ** (1 - alpha1))
    u2 = (y2 * pb + t) / y2 / (pa ** alpha2 * pb ** (1 - alpha2))
    return pa, pb, u1, u2


@pytest.mark.parametrize(("alpha1", "alpha2"), [(0.4, 0.4), (0.6, 0.3), (0.3, 0.6)],
                         ids=["no_home_bias", "home_bias", "foreign_bias"])
def test_transfer_problem(alpha1, alpha2):
    """A transfer of 10 % of R1's income to R2. Identical preferences: terms of trade unchanged.
    Home bias: the payer's terms of trade worsen (the recipient spends the transfer more on its
    own good). The model matches the closed-form prices and utilities."""
    y1 = 120.0
    ds, y2 = transfer_benchmark(alpha1, alpha2, y1)
    t = 0.1 * y1
    sess = Session(ds, ELASTICITIES, ModelOptions())
    res = sess.run(toml=f'name = "trf"\n[[transfer]]\npayer = "R1"\nrecipient = "R2"\n'
                   f'amount = {t}\n')
    pa, pb, u1, u2 = transfer_closed_form(alpha1, alpha2, y1, y2, t)
    pd_a = float(res.price_domestic.sel(commodity="A", region="R1"))
    pd_b = float(res.price_domestic.sel(commodity="B", region="R2"))
    assert pd_a == pytest.approx(pa, rel=TRANSFER_RTOL)
    assert pd_b == pytest.approx(pb, rel=TRANSFER_RTOL)
    assert float(res.utility.sel(region="R1")) == pytest.approx(u1, rel=TRANSFER_RTOL)
    assert float(res.utility.sel(region="R2")) == pytest.approx(u2, rel=TRANSFER_RTOL)
    tot1 = float(res.tot_pct.sel(region="R1"))
    tot2 = float(res.tot_pct.sel(region="R2"))
    assert tot1 == pytest.approx(100 * (pa / pb - 1), rel=TRANSFER_RTOL, abs=1e-8)
    assert tot2 == pytest.approx(100 * (pb / pa - 1), rel=TRANSFER_RTOL, abs=1e-8)
    if alpha1 == alpha2:
        assert abs(pd_a / pd_b - 1.0) <= TRANSFER_RTOL
        assert abs(tot1) <= 100 * TRANSFER_RTOL and abs(tot2) <= 100 * TRANSFER_RTOL
        assert float(res.utility.sel(region="R1")) == pytest.approx(0.9, rel=TRANSFER_RTOL)
    elif alpha1 > alpha2:
        assert tot1 < TOT_CLEAR_PCT and tot2 > -TOT_CLEAR_PCT
    else:
        assert tot1 > -TOT_CLEAR_PCT and tot2 < TOT_CLEAR_PCT


# --------------------------------------------------------------------------------------------
# C. Separate institutions (textbook)
# --------------------------------------------------------------------------------------------
def textbook_benchmark() -> xr.Dataset:
    """A random 3×3 economy with taxes, re-closed with positive government saving large enough
    that every region also levies a direct tax (τd > 0)."""
    ds = benchmark_data("random", 4, 3, 3)
    gov = (final_expenditure(ds).sel(agent="government")
           + final_expenditure(ds).sel(agent="defense")).drop_vars("agent", errors="ignore")
    sg = 0.1 * gov + np.maximum(0.0, tax_revenue(ds) - gov)
    ds = complete(ds, government_saving=sg)
    check_balance(ds)
    return ds


def _value_of_output(m, ctx, j, r):
    """Market value of j's output in r: p^y Y v^om, p^y = pd or the CET revenue."""
    p = ctx.p
    if ctx.options.transformation != "cet":
        return value(m.pd[j, r]) * value(m.Y[j, r]) * p["vom"][j, r]
    th, s = p["theta_e"][j, r], ctx.options.esub_cet
    terms = []
    if (j, r) in ctx.D:
        terms.append((1 - th) * value(m.pd[j, r]) ** (1 + s))
    if (j, r) in ctx.E:
        terms.append(th * value(m.pe[j, r]) ** (1 + s))
    py = sum(terms) ** (1 / (1 + s))
    return py * value(m.Y[j, r]) * p["vom"][j, r]


def test_separate_institutions_budget_rules():
    """Textbook closure after a tariff shock: C = (1 − τd − sp)·YH, G_civil + G_defense =
    (1 − sg)·YG, I = sp·YH + sg·YG + foreign saving, with YH = factor income + net transfers and
    YG = τd·YH + indirect taxes recomputed from the solution's value flows."""
    params = calibrate(textbook_benchmark(), ELASTICITIES)
    for key in ("tau_d", "s_h", "s_g"):
        assert float(params[key].min()) > 0, f"{key} must be non-zero for this test"
    model = build_model(params, ModelOptions().textbook())
    m, ctx, p = model.m, model.ctx, model.ctx.p
    flow = max(ctx.TRD, key=lambda k: p["vxmd"][k])
    m.tm[flow].fix(m.tm[flow].value + 0.25)
    m.trf["R0", "R1"].fix(2.0)
    solve(model)
    cet = ctx.cet
    for r in ctx.regions:
        yh = sum(value(m.pf[f, rr]) * p["evom"][f, rr] for (f, rr) in ctx.FAC if rr == r)
        yh += value(m.net_transfers[r])
        taxes = 0.0
        for (j, rr) in ctx.YJ:
            if rr == r:
                to = value(m.to[j, r])
                taxes += to / (1 + to) * _value_of_output(m, ctx, j, r)
        for (a, rr) in ctx.FDA:
            if rr == r:
                tfd = value(m.tfd[a, r])
                taxes += tfd / (1 + tfd) * value(m.efd[a, r])
        for (i, s, d) in ctx.TRD:
            px = value(m.pe[i, s]) if cet else value(m.pd[i, s])
            fob = (px * value(m.ice[i, s, d]) * value(m.imp[i, s, d]) * p["vxmd"][i, s, d])
            if s == r:
                taxes += value(m.tx[i, s, d]) * fob
            if d == r:
                taxes += value(m.tm[i, s, d]) * (1 + value(m.tx[i, s, d])) * fob
        tau_d, s_h, s_g = p["tau_d"][r], p["s_h"][r], p["s_g"][r]
        yg = tau_d * yh + taxes
        cons = value(m.efd["household", r])
        gov = value(m.efd["government", r]) + value(m.efd["defense", r])
        inv = value(m.efd["investment", r])
        assert cons == pytest.approx((1 - tau_d - s_h) * yh, rel=INSTITUTIONS_RTOL), r
        assert gov == pytest.approx((1 - s_g) * yg, rel=INSTITUTIONS_RTOL), r
        fsav = value(m.fsav[r]) * value(m.pnum)
        assert inv == pytest.approx(s_h * yh + s_g * yg + fsav, rel=INSTITUTIONS_RTOL), r
        assert value(m.yh[r]) * p["yh0"][r] == pytest.approx(yh, rel=INSTITUTIONS_RTOL)
        assert value(m.yg[r]) * p["yg0"][r] == pytest.approx(yg, rel=INSTITUTIONS_RTOL)
    assert not math.isclose(value(m.yh["R0"]), 1.0, rel_tol=1e-6)


def test_separate_institutions_new_tax_without_government():
    """Separate institutions, a region with no taxes and no government in the benchmark (the
    ACR economy): a new 20 % tariff must still solve, with its revenue spent by someone — total
    final expenditure = factor income + tariff revenue, world-wide, and the Walras slack ~0."""
    ds = acr_benchmark()
    sess = Session(ds, {"esubd": 4.0, "esubm": 4.0, "esubva": 1.0},
                   ModelOptions(institutions="separate"))
    res = sess.run(toml='name = "tariff"\n[[tariff]]\nimporter = "R0"\nexporter = "all"\n'
                   'commodities = "all"\nadd = 20.0\n')
    m = sess.model().m
    assert abs(value(m.walras)) < 1e-9
    revenue = float(res.tariff_revenue.sum())
    assert revenue > 1.0
    spent = sum(value(m.efd[k]) for k in m.efd)
    earned = sum(value(m.factor_income[r]) for r in ACR_REGIONS)
    assert spent == pytest.approx(earned + revenue, rel=1e-9)
