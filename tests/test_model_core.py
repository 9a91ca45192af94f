"""Core properties every correct CGE model has, whatever its data and closure.

* Benchmark replication: calibrated at benchmark prices of 1, the model's equations hold exactly
  at the benchmark point, so Ipopt takes no step, in every configuration of the options.
* Square system: one equation per free variable.
* Homogeneity of degree zero: only relative prices matter; doubling the numeraire price doubles
  every nominal price and income and leaves every real quantity unchanged.
* Walras' law: the market dropped (carrying the slack) clears when all budgets and other markets
  hold.
* Path independence: undoing a shock returns the model to the benchmark.
* Signs, limits (Cobb–Douglas, Leontief) and closures behave as economics says they should.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import ELASTICITIES, benchmark_data, benchmark_value, calibrated
from pyomo.environ import value

from cge.api import Session
from cge.model import build_model
from cge.options import ModelOptions
from cge.shocks import reset_instruments
from cge.solve import residuals, solve

# --------------------------------------------------------------------------------------------
# Tolerances
# --------------------------------------------------------------------------------------------
#: Benchmark replication: largest relative residual and variable deviation at the benchmark.
REPLICATION_TOL = 1e-8
#: Homogeneity: relative deviation of prices from 2× and of quantities from 1×.
HOMOGENEITY_RTOL = 1e-8
#: Walras slack at a solution, and the recomputed dropped-market excess supply (relative).
WALRAS_TOL = 1e-9
#: Shock-and-reverse: every variable back at its benchmark value (relative).
REVERSE_TOL = 1e-8
#: Cobb–Douglas/Leontief limits: σ = 1 (or 0) vs σ = 1 ± 1e-4 (or 1e-5) solutions (relative).
LIMIT_RTOL = 1e-3
#: Closure identities (real wage, saving = investment, current account) (relative).
CLOSURE_RTOL = 1e-8
#: Transfer effect on trade balances, relative to the transfer amount.
TRANSFER_RTOL = 1e-8
#: A change counts as "moved" if larger than this (relative).
MOVED = 1e-5

PRICES = ("pd", "pa", "pf", "pfs", "pfd", "pim", "pva", "pe")
QUANTITIES = ("Y", "qfd", "qim", "lsup")
INCOMES = ("inc", "yh", "yg")

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def free_values(model) -> dict[str, float]:
    """Name → value of every free variable."""
    return {v.name: float(v.value) for v in model.free_variables()}


def by_component(model, names) -> dict[str, float]:
    """Name → value of the free variables of the named components."""
    return {v.name: float(v.value) for v in model.free_variables()
            if v.parent_component().local_name in names}


def rel_err(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


def worst(a: dict[str, float], b: dict[str, float], factor: float = 1.0) -> tuple[float, str]:
    """Largest relative deviation of a from factor × b, and where."""
    assert a.keys() == b.keys()
    errs = [(rel_err(a[k], factor * b[k]), k) for k in a]
    return max(errs) if errs else (0.0, "")


def first_flow(model):
    """A bilateral flow (commodity, exporter, importer) to shock: the largest one."""
    p = model.ctx.p
    return max(model.ctx.TRD, key=lambda k: p["vxmd"][k])


def tariff_shock(model, rate: float = 0.2, flow=None):
    flow = flow or first_flow(model)
    model.m.tm[flow].fix(model.m.tm[flow].value + rate)
    return flow


def make_model(name="random", seed=0, elasticities=None, **opts):
    return build_model(calibrated(name, seed, elasticities=elasticities), ModelOptions(**opts))


# --------------------------------------------------------------------------------------------
# 1–2. Benchmark replication and squareness in every configuration
# --------------------------------------------------------------------------------------------
DATASETS = [("two_by_two", 0), ("random", 0), ("random", 1), ("random", 2)]
STRUCTURES = [
    (tr, inst, ext, fm)
    for tr in ("none", "cet")
    for inst, ext in (("regional_household", "fixed_current_account"),
                      ("regional_household", "global_bank"),
                      ("separate", "fixed_current_account"))
    for fm in ("mobile", "sector_specific_capital", "unemployment")
]
NUMERAIRES = ("world_factor_price", "factor_price:labour:{first}", "cpi:{last}")
ESUB_FINAL = {
    "defaults": None,
    "all_one": {"household": 1.0, "government": 1.0, "defense": 1.0, "investment": 1.0},
}
EXTRAS = list(itertools.product(NUMERAIRES, (0.0, 0.5), tuple(ESUB_FINAL)))


def _config_id(ds, struct, extra):
    return "-".join([f"{ds[0]}{ds[1]}", *struct, extra[0].split(":")[0], f"top{extra[1]}",
                     extra[2]])


#: Fast set: every structure on every data set, the 12 (numeraire, esub_top, esub_final)
#: combinations rotated through the structures so every data set sees all of them.
FAST_CONFIGS = [(ds, st, EXTRAS[(k + 5 * d) % len(EXTRAS)])
                for d, ds in enumerate(DATASETS) for k, st in enumerate(STRUCTURES)]
FULL_CONFIGS = [(ds, st, ex) for ds in DATASETS for st in STRUCTURES for ex in EXTRAS]


def _options(ds_name, seed, struct, extra) -> ModelOptions:
    data = benchmark_data(ds_name, seed)
    regions = [str(r) for r in data.region.values]
    tr, inst, ext, fm = struct
    num, top, final = extra
    kwargs = dict(transformation=tr, institutions=inst, external=ext, factor_market=fm,
                  numeraire=num.format(first=regions[0], last=regions[-1]), esub_top=top)
    if ESUB_FINAL[final] is not None:
        kwargs["esub_final"] = ESUB_FINAL[final]
    return ModelOptions(**kwargs)


def _check_replication(ds, struct, extra):
    """At the benchmark point (all prices and indices 1, Walras slack 0): the system is square,
    every equation holds to 1e-8, Ipopt takes zero iterations and moves nothing."""
    opts = _options(ds[0], ds[1], struct, extra)
    model = build_model(calibrated(ds[0], ds[1]), opts)
    n_eq, n_var = model.check_square()
    assert n_eq == n_var, f"{n_eq} equations vs {n_var} free variables"
    assert len(model.active_equations()) == len(model.free_variables()) == n_eq
    res, where = residuals(model)
    assert res <= REPLICATION_TOL, f"benchmark residual {res:.3g} in {where}"
    bench = free_values(model)
    for name, val in bench.items():
        expected = benchmark_value(model.params, name)
        assert abs(val - expected) <= REPLICATION_TOL, f"{name} = {val} at the benchmark"
    diag = solve(model, continuation=False)
    assert diag.iterations == 0, f"Ipopt took {diag.iterations} iterations at the benchmark"
    err, where = worst(free_values(model), bench)
    assert err <= REPLICATION_TOL, f"{where} moved by {err:.3g}"
    assert abs(value(model.m.walras)) <= REPLICATION_TOL


@pytest.mark.parametrize(("ds", "struct", "extra"), FAST_CONFIGS,
                         ids=[_config_id(*c) for c in FAST_CONFIGS])
def test_benchmark_replication(ds, struct, extra):
    _check_replication(ds, struct, extra)


@pytest.mark.slow
@pytest.mark.parametrize(("ds", "struct", "extra"), FULL_CONFIGS,
                         ids=[_config_id(*c) for c in FULL_CONFIGS])
def test_benchmark_replication_full_grid(ds, struct, extra):
    _check_replication(ds, struct, extra)


def test_square_counts_differ_only_by_structure():
    """Equation and variable counts are equal, and the options that add variables add exactly
    as many equations: CET adds pe + mkt_pe, unemployment adds lsup + wage_rule, separate
    institutions replace inc by yh, yg and the lump-sum levy with inc_h, inc_g and levy_rule."""
    counts = {}
    for struct in STRUCTURES:
        model = build_model(calibrated("random", 0), ModelOptions(
            transformation=struct[0], institutions=struct[1], external=struct[2],
            factor_market=struct[3]))
        n_eq, n_var = model.check_square()
        assert n_eq == n_var
        counts[struct] = n_eq
    base = counts[("none", "regional_household", "fixed_current_account", "mobile")]
    ctx = build_model(calibrated("random", 0), ModelOptions(transformation="cet")).ctx
    assert counts[("cet", "regional_household", "fixed_current_account", "mobile")] == (
        base + len(ctx.E) + len(ctx.D) - len(ctx.YJ))
    n_regions = len(ctx.regions)
    assert counts[("none", "regional_household", "fixed_current_account", "unemployment")] == (
        base + n_regions)
    assert counts[("none", "separate", "fixed_current_account", "mobile")] == (
        base + 2 * n_regions)
    assert counts[("none", "regional_household", "global_bank", "mobile")] == base


# --------------------------------------------------------------------------------------------
# 3. Homogeneity of degree zero in prices
# --------------------------------------------------------------------------------------------
def _struct_opts(struct, k: int) -> dict:
    """Options of a structure, with numeraire, esub_top and esub_final rotated by k."""
    num, top, final = EXTRAS[(7 * k) % len(EXTRAS)]
    opts = dict(transformation=struct[0], institutions=struct[1], external=struct[2],
                factor_market=struct[3], numeraire=num.format(first="R0", last="R2"),
                esub_top=top)
    if ESUB_FINAL[final] is not None:
        opts["esub_final"] = ESUB_FINAL[final]
    return opts


STRUCT_OPTS = [_struct_opts(st, k) for k, st in enumerate(STRUCTURES)]
STRUCT_IDS = ["-".join(st) for st in STRUCTURES]


@pytest.mark.parametrize("opts", STRUCT_OPTS, ids=STRUCT_IDS)
def test_homogeneity(opts):
    """Doubling the numeraire price doubles every price and nominal income and leaves every
    quantity unchanged (transfers and foreign saving are in numeraire units)."""
    model = make_model(**opts)
    tariff_shock(model)
    model.m.trf["R0", "R1"].fix(5.0)   # a transfer, to check numeraire-valued amounts scale
    solve(model)
    prices, quant = by_component(model, PRICES), by_component(model, QUANTITIES)
    incomes = by_component(model, INCOMES)
    assert any(rel_err(v, 1.0) > MOVED for v in quant.values()), "the shock moved nothing"
    model.m.pnum.fix(2.0)
    solve(model)
    err, where = worst(by_component(model, PRICES), prices, 2.0)
    assert err <= HOMOGENEITY_RTOL, f"price {where} off 2x by {err:.3g}"
    err, where = worst(by_component(model, QUANTITIES), quant, 1.0)
    assert err <= HOMOGENEITY_RTOL, f"quantity {where} moved by {err:.3g}"
    err, where = worst(by_component(model, INCOMES), incomes, 2.0)
    assert err <= HOMOGENEITY_RTOL, f"income {where} off 2x by {err:.3g}"
    assert abs(value(model.m.walras)) <= WALRAS_TOL


# --------------------------------------------------------------------------------------------
# 4. Walras' law
# --------------------------------------------------------------------------------------------
def _ces(shares, prices, sigma):
    pairs = [(t, q) for t, q in zip(shares, prices, strict=True) if t > 0]
    if len(pairs) == 1:
        return pairs[0][1]
    if sigma == 0:
        return sum(t * q for t, q in pairs)
    if sigma == 1:
        return math.prod(q ** t for t, q in pairs)
    return sum(t * q ** (1 - sigma) for t, q in pairs) ** (1 / (1 - sigma))


def _excess_supply(model, i: str, r: str) -> float:
    """Excess supply of the domestic good i in r, recomputed from the variable values and the
    calibrated benchmark flows with the textbook demand functions (not the model's
    expressions): intermediate use Y (c/p_int)^σtop per unit, final agent's composite
    q^fd (p^fd/p^a)^σfd, domestic share (p^a/p^d)^σD, exports τ m with
    m = q^im (p^im/p^m)^σM. Relative to the market's benchmark size."""
    m, ctx, o = model.m, model.ctx, model.options
    p = ctx.p
    sig_d = p["esubd"][i]
    cet = o.transformation == "cet"

    def v(x):
        return float(value(x))

    def pexp(k, s):
        return v(m.pe[k, s]) if cet else v(m.pd[k, s])

    def cost_parts(j, rr):
        ins = ctx.int_inputs.get((j, rr), [])
        tot = p["int0"][j, rr]
        pint = sum((p["vdfm"][k, j, rr] + p["vifm"][k, j, rr]) / tot * v(m.pa[k, j, rr])
                   for k in ins) if ins else 1.0
        tva = p["theta_va"][j, rr]
        cy = _ces([tva, 1 - tva], [v(m.pva[j, rr]), pint], o.esub_top)
        return cy, pint

    demand = 0.0
    for a in ctx.arm_agents.get((i, r), []):
        vd = ctx.vd0(i, a, r)
        if vd <= 0:
            continue
        if a in ctx.is_activity:
            cy, pint = cost_parts(a, r)
            comp = v(m.Y[a, r]) * (cy / pint) ** o.esub_top
        else:
            comp = v(m.qfd[a, r]) * (v(m.pfd[a, r]) / v(m.pa[i, a, r])) ** ctx.esub_fd(a)
        demand += vd * comp * (v(m.pa[i, a, r]) / v(m.pd[i, r])) ** sig_d
    if cet:
        vds = p["vom"][i, r] - p["vxs"][i, r]
        th = p["theta_e"][i, r]
        s = o.esub_cet
        pe = v(m.pe[i, r]) if th > 0 else 1.0
        py = ((1 - th) * v(m.pd[i, r]) ** (1 + s) + th * pe ** (1 + s)) ** (1 / (1 + s))
        supply = v(m.Y[i, r]) * vds * (v(m.pd[i, r]) / py) ** s
        scale = vds
    else:
        supply = v(m.Y[i, r]) * p["vom"][i, r]
        scale = p["vom"][i, r]
        for d in ctx.trd_from.get((i, r), []):
            srcs = ctx.trd_to[i, d]
            pm = {s_: pexp(i, s_) * (1 + v(m.tx[i, s_, d])) * (1 + v(m.tm[i, s_, d]))
                  * v(m.ice[i, s_, d]) / ((1 + p["tx0"][i, s_, d]) * (1 + p["tm0"][i, s_, d]))
                  for s_ in srcs}
            pim = _ces([p["theta_m"][i, s_, d] for s_ in srcs], [pm[s_] for s_ in srcs],
                       p["esubm"][i])
            imp = v(m.qim[i, d]) * (pim / pm[r]) ** p["esubm"][i]
            demand += p["vxmd"][i, r, d] * imp * v(m.ice[i, r, d])
    return (supply - demand) / scale


@pytest.mark.parametrize("opts", [
    *STRUCT_OPTS,
    dict(esub_top=0.5, esub_final={"household": 1.0, "government": 0.5, "defense": 0.0,
                                   "investment": 0.3}),
    dict(transformation="cet", esub_cet=0.7, esub_top=0.3),
], ids=[*STRUCT_IDS, "esub_top-ces_final", "cet0.7-top0.3"])
def test_walras(opts):
    """At a shocked solution the Walras slack is ~0, and the dropped market — recomputed from the
    other variables with the textbook demand functions — clears; so does every other domestic
    market (a check of the recomputation itself)."""
    model = make_model(**opts)
    tariff_shock(model)
    model.m.ice[model.ctx.TRD[-1]].fix(1.1)
    model.m.trf["R2", "R0"].fix(4.0)
    model.m.endow["labour", "R1"].fix(1.05)
    solve(model)
    assert abs(value(model.m.walras)) < WALRAS_TOL
    i, r = model.ctx.walras_market
    assert abs(_excess_supply(model, i, r)) < WALRAS_TOL
    for (k, s) in model.ctx.D:
        assert abs(_excess_supply(model, k, s)) < WALRAS_TOL, (k, s)
    # and the recomputation detects a disequilibrium: move one price and it no longer clears
    model.m.pd[i, r].set_value(value(model.m.pd[i, r]) * 1.01)
    assert abs(_excess_supply(model, i, r)) > 1e-4


# --------------------------------------------------------------------------------------------
# 5. Shock and reverse
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("opts", STRUCT_OPTS, ids=STRUCT_IDS)
def test_shock_and_reverse(opts):
    """Undoing a shock (instruments back to benchmark) returns every variable to its benchmark
    value: the equilibrium is unique locally and the solve is path independent."""
    model = make_model(**opts)
    bench = free_values(model)
    flow = tariff_shock(model)
    model.m.trf["R0", "R2"].fix(3.0)
    solve(model)
    shocked = free_values(model)
    assert worst(shocked, bench)[0] > MOVED, "the shock moved nothing"
    reset_instruments(model)
    assert model.m.tm[flow].value == pytest.approx(model.ctx.p["tm0"][flow], abs=0)
    solve(model)
    err, where = worst(free_values(model), bench)
    assert err <= REVERSE_TOL, f"{where} did not return: {err:.3g}"


# --------------------------------------------------------------------------------------------
# 6. Sign: a tariff lowers the taxed bilateral flow
# --------------------------------------------------------------------------------------------
SIGN_CASES = [
    ("two_by_two", 0, 2, 2, "HOME", "FOREIGN", "cloth", {}),
    ("two_by_two", 0, 2, 2, "HOME", "FOREIGN", "cloth", {"transformation": "cet"}),
    ("random", 1, 4, 3, "R0", "R1", "s0", {}),
    ("random", 1, 4, 3, "R2", "R3", "s1", {"transformation": "cet"}),
    ("random", 1, 4, 3, "R1", "R0", "s2", {"institutions": "separate"}),
]


def _session(name, seed, nr, ns, options=None, elasticities=None):
    data = benchmark_data(name, seed, nr, ns)
    return Session(data, elasticities or ELASTICITIES, options or ModelOptions())


@pytest.mark.parametrize(("name", "seed", "nr", "ns", "importer", "exporter", "good", "opts"),
                         SIGN_CASES, ids=[f"{c[0]}-{c[4]}-{c[5]}-{c[6]}-{c[7]}"
                                          for c in SIGN_CASES])
def test_tariff_lowers_bilateral_imports(name, seed, nr, ns, importer, exporter, good, opts):
    """Raising the importer's tariff on one exporter's good lowers that exporter's shipments
    of the good to the importer (the taxed variety becomes dearer relative to all others)."""
    sess = _session(name, seed, nr, ns, ModelOptions(**opts))
    res = sess.run(toml=f'name = "sign"\n[[tariff]]\nimporter = "{importer}"\n'
                   f'exporter = "{exporter}"\ncommodities = "{good}"\nadd = 20.0\n')
    flow = dict(commodity=good, exporter=exporter, importer=importer)
    after = float(res.trade_volume.sel(flow))
    before = float(res.trade_benchmark.sel(flow))
    assert before > 0
    assert after < before * (1 - 1e-3), f"volume {before} -> {after}"
    assert float(res.trade_volume_pct.sel(flow)) < 0


# --------------------------------------------------------------------------------------------
# 7. Cobb–Douglas and Leontief limits
# --------------------------------------------------------------------------------------------
def _solve_limit(elasticities=None, **opts):
    model = make_model(elasticities=elasticities, **opts)
    tariff_shock(model)
    model.m.endow["labour", "R0"].fix(1.1)   # moves factor ratios: the VA nest matters
    model.m.ice[model.ctx.TRD[0]].fix(1.05)
    solve(model)
    return free_values(model)


def _assert_close(a, b, label):
    err, where = worst(a, b)
    assert err <= LIMIT_RTOL, f"{label}: {where} differs by {err:.3g}"


@pytest.mark.parametrize("key", ["esubva", "esubd_esubm"])
def test_cobb_douglas_limit(key):
    """The exact Cobb–Douglas forms (σ = 1) are the limit of the CES as σ → 1: solutions with
    σ = 1 and σ = 1 ± 1e-4 agree to 1e-3."""
    keys = ("esubva",) if key == "esubva" else ("esubd", "esubm")
    base = _solve_limit({**ELASTICITIES, **{k: 1.0 for k in keys}})
    for eps in (1e-4, -1e-4):
        near = _solve_limit({**ELASTICITIES, **{k: 1.0 + eps for k in keys}})
        _assert_close(near, base, f"{key} = 1{eps:+g}")


def test_leontief_limits():
    """The exact Leontief forms (σ = 0) are the limit of the CES as σ → 0: esub_top = 0 vs 1e-5
    and defense σ = 0 vs 1e-5 agree to 1e-3."""
    final = {"household": 1.0, "government": 0.0, "defense": 0.0, "investment": 0.0}
    base = _solve_limit(esub_top=0.0, esub_final=final)
    _assert_close(_solve_limit(esub_top=1e-5, esub_final=final), base, "esub_top")
    _assert_close(_solve_limit(esub_top=0.0, esub_final={**final, "defense": 1e-5}), base,
                  "defense")
    _assert_close(_solve_limit(esub_top=0.0, esub_final={**final, "government": 1e-5,
                                                         "investment": 1e-5}), base,
                  "government/investment")


# --------------------------------------------------------------------------------------------
# 8. Closures do what they say
# --------------------------------------------------------------------------------------------
def test_sector_specific_capital():
    """Short run: capital cannot move, so each sector's capital earns its own return and the
    returns diverge after a shock; each sector's capital use stays at its endowment."""
    model = make_model(factor_market="sector_specific_capital")
    tariff_shock(model)
    solve(model)
    m, ctx = model.m, model.ctx
    spread = 0.0
    for r in ctx.regions:
        rets = [value(m.pfs[f, j, rr]) for (f, j, rr) in ctx.FSP if rr == r]
        spread = max(spread, max(rets) - min(rets))
    assert spread > 1e-4, "capital returns equal across sectors"
    for k in ctx.FSP:
        assert value(m.qf[k]) == pytest.approx(1.0, rel=CLOSURE_RTOL)
    # labour stays mobile: one wage per region
    assert all(f == "labour" for (f, r) in ctx.FAC)


def test_unemployment():
    """Fixed real wage: the wage over the household CPI stays at w̄ = 1 and employment moves."""
    model = make_model(factor_market="unemployment")
    tariff_shock(model, rate=0.3)
    solve(model)
    m = model.m
    for r in model.ctx.regions:
        real_wage = value(m.pf["labour", r]) / value(m.pfd["household", r])
        assert real_wage == pytest.approx(1.0, rel=CLOSURE_RTOL)
    assert max(abs(value(m.lsup[r]) - 1) for r in model.ctx.regions) > MOVED
    # and labour demand = benchmark supply × employment index
    for r in model.ctx.regions:
        use = sum(value(m.qf["labour", j, r]) * model.ctx.p["vfm"]["labour", j, r]
                  for j in model.ctx.activities_using["labour", r])
        assert use == pytest.approx(model.ctx.p["evom"]["labour", r] * value(m.lsup[r]),
                                    rel=CLOSURE_RTOL)


def _trade_accounts(model):
    """Exports, imports (fob = cif, incl. export taxes and iceberg) and net transfers received,
    by region, recomputed from the solution."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    cet = model.options.transformation == "cet"
    ex = dict.fromkeys(ctx.regions, 0.0)
    im = dict.fromkeys(ctx.regions, 0.0)
    for (i, s, r) in ctx.TRD:
        px = value(m.pe[i, s]) if cet else value(m.pd[i, s])
        val = (px * (1 + value(m.tx[i, s, r])) * value(m.ice[i, s, r]) * value(m.imp[i, s, r])
               * p["vxmd"][i, s, r])
        ex[s] += val
        im[r] += val
    ntr = {r: value(m.net_transfers[r]) for r in ctx.regions}
    return ex, im, ntr


def test_global_bank():
    """Global bank: world investment = world saving, and each region's investment − saving is
    its foreign saving = imports − exports − net transfers received (the current account
    adjusts)."""
    model = make_model(external="global_bank")
    tariff_shock(model, rate=0.3)
    model.m.trf["R1", "R2"].fix(4.0)
    solve(model)
    m, ctx, p = model.m, model.ctx, model.ctx.p
    inv = {r: value(m.efd["investment", r]) for r in ctx.regions}
    sav = {r: value(m.saving[r]) for r in ctx.regions}
    assert sum(inv.values()) == pytest.approx(sum(sav.values()), rel=CLOSURE_RTOL)
    ex, im, ntr = _trade_accounts(model)
    scale = sum(p["inc0"][r] for r in ctx.regions)
    moved = 0.0
    for r in ctx.regions:
        fs = im[r] - ex[r] - ntr[r]
        assert abs(inv[r] - sav[r] - fs) <= CLOSURE_RTOL * scale, r
        moved = max(moved, abs(fs - p["fsav0"][r]))
    assert moved > MOVED * scale, "current accounts did not move under the global bank"
    # investment shares of world saving are fixed
    world_inv0 = sum(p["efd0"]["investment", r] for r in ctx.regions)
    for r in ctx.regions:
        assert inv[r] / sum(inv.values()) == pytest.approx(
            p["efd0"]["investment", r] / world_inv0, rel=CLOSURE_RTOL)


@pytest.mark.parametrize("pnum", [1.0, 2.0])
@pytest.mark.parametrize("inst", ["regional_household", "separate"])
def test_fixed_current_account(inst, pnum):
    """Fixed current account: trade balance + net transfers = −foreign saving stays at its
    benchmark value in numeraire units, whatever the shock."""
    model = make_model(institutions=inst)
    tariff_shock(model, rate=0.3)
    model.m.trf["R0", "R1"].fix(6.0)
    model.m.pnum.fix(pnum)
    solve(model)
    ex, im, ntr = _trade_accounts(model)
    p = model.ctx.p
    scale = sum(p["inc0"][r] for r in model.ctx.regions)
    for r in model.ctx.regions:
        ca = (ex[r] - im[r] + ntr[r]) / pnum
        assert abs(ca + p["fsav0"][r]) <= CLOSURE_RTOL * scale, r
    # the results' current account says the same
    if pnum == 1.0:
        from cge.results import extract_results
        res = extract_results(model, solve(model))
        for r in model.ctx.regions:
            assert abs(float(res.current_account.sel(region=r)) + p["fsav0"][r]) <= (
                CLOSURE_RTOL * scale)


# --------------------------------------------------------------------------------------------
# 9. Transfers under a fixed current account
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("opts", [
    {}, {"institutions": "separate"}, {"transformation": "cet"},
    {"factor_market": "unemployment"},
], ids=["regional_household", "separate", "cet", "unemployment"])
def test_transfer_moves_trade_balances(opts):
    """A transfer of X from A to B under fixed current accounts: A's trade balance rises by X
    and B's falls by X (numeraire units); a third region's is unchanged."""
    amount = 7.5
    sess = _session("random", 0, 3, 4, ModelOptions(**opts))
    base = sess.run(toml='name = "base"\n')
    res = sess.run(toml=f'name = "trf"\n[[transfer]]\npayer = "R0"\nrecipient = "R2"\n'
                   f'amount = {amount}\n')
    d_tb = (res.trade_balance - base.trade_balance).to_series()
    assert d_tb["R0"] == pytest.approx(amount, rel=TRANSFER_RTOL)
    assert d_tb["R2"] == pytest.approx(-amount, rel=TRANSFER_RTOL)
    assert abs(d_tb["R1"]) <= TRANSFER_RTOL * amount
    assert float(res.trade_balance_change.sel(region="R0")) == pytest.approx(
        float(base.trade_balance_change.sel(region="R0")) + amount, rel=TRANSFER_RTOL)


def test_transfer_two_by_two():
    """Same on the hand-made 2×2 data: ΔTB_payer = +X, ΔTB_recipient = −X."""
    amount = 3.0
    sess = _session("two_by_two", 0, 2, 2)
    base = sess.run(toml='name = "base"\n')
    res = sess.run(toml=f'name = "trf"\n[[transfer]]\npayer = "FOREIGN"\nrecipient = "HOME"\n'
                   f'amount = {amount}\n')
    d_tb = (res.trade_balance - base.trade_balance).to_series()
    assert d_tb["FOREIGN"] == pytest.approx(amount, rel=TRANSFER_RTOL)
    assert d_tb["HOME"] == pytest.approx(-amount, rel=TRANSFER_RTOL)


# --------------------------------------------------------------------------------------------
# Instruments that should be equivalent or hit their target
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["two_by_two", "random"])
def test_labour_productivity_equals_effective_endowment(name):
    """Labour-augmenting productivity ×1.1 is 10 % more labour in efficiency units: every real
    quantity and goods price equals that of a 10 % labour endowment increase, and the wage per
    physical worker is 1.1 × the wage per efficiency unit (numeraire: a CPI, not a wage)."""
    region = "HOME" if name == "two_by_two" else "R0"
    num = "cpi:FOREIGN" if name == "two_by_two" else "cpi:R1"
    params = calibrated(name, 0)
    runs = {}
    for kind in ("endow", "prod"):
        model = build_model(params, ModelOptions(numeraire=num))
        if kind == "endow":
            model.m.endow["labour", region].fix(1.1)
        else:
            for j in model.ctx.activities_using["labour", region]:
                model.m.prod_f["labour", j, region].fix(1.1)
        solve(model)
        runs[kind] = model
    e, pr = runs["endow"], runs["prod"]
    same = ("Y", "qfd", "qim", "pd", "pa", "pim", "pva", "pfd")
    err, where = worst(by_component(pr, same), by_component(e, same))
    assert err <= HOMOGENEITY_RTOL, f"{where} differs by {err:.3g}"
    assert value(pr.m.pf["labour", region]) == pytest.approx(
        1.1 * value(e.m.pf["labour", region]), rel=HOMOGENEITY_RTOL)


@pytest.mark.parametrize("inst", ["regional_household", "separate"])
def test_defense_rules(inst):
    """Defense set exogenously: a real scale fixes real defense purchases; a share of GDP is the
    real level of that share of benchmark GDP (benchmark prices); without a defense shock real
    defense stays at the benchmark level."""
    sess = _session("random", 0, 3, 4, ModelOptions(institutions=inst))
    res = sess.run(toml='name = "def"\n[[defense]]\nregion = "R1"\nscale = 1.5\n')
    assert float(res.defense_real.sel(region="R1")) == pytest.approx(1.5, rel=CLOSURE_RTOL)
    res = sess.run(toml='name = "def2"\n[[defense]]\nregion = "R2"\nshare_of_gdp = 3.0\n')
    p = sess.params
    real = 0.03 * p.gdp0.sel(region="R2").item() / p.efd0.sel(agent="defense",
                                                                region="R2").item()
    assert float(res.defense_real.sel(region="R2")) == pytest.approx(real, rel=CLOSURE_RTOL)
    assert float(res.defense_real.sel(region="R1")) == pytest.approx(1.0, rel=CLOSURE_RTOL)


@pytest.mark.parametrize("opts", [{}, {"institutions": "separate", "transformation": "cet"},
                                  {"external": "global_bank",
                                   "factor_market": "sector_specific_capital"}],
                         ids=["default", "textbook", "global_bank-specific"])
@pytest.mark.parametrize("name", ["two_by_two", "random"])
def test_results_at_benchmark(name, opts):
    """The empty scenario reports the benchmark: every % change and EV 0, every index 1, income
    = benchmark income, trade balance changes 0 (real GDP at benchmark prices = nominal GDP)."""
    sess = _session(name, 0, 3, 4, ModelOptions(**opts))
    res = sess.run(toml='name = "base"\n')
    for key in res.data_vars:
        vals = res[key].values[~np.isnan(res[key].values)]
        if key.endswith("_pct") or key in ("EV", "trade_balance_change"):
            assert np.abs(vals).max(initial=0.0) <= REPLICATION_TOL * 100, key
        if key in ("utility", "gdp_deflator", "cpi", "real_exchange_rate", "export_price_index",
                   "import_price_index", "employment_index", "output_index"):
            assert np.abs(vals - 1).max(initial=0.0) <= REPLICATION_TOL, key
    inc0 = sess.params.inc0.values
    assert np.abs(res.income.values - inc0).max() <= REPLICATION_TOL * inc0.max()


def test_partial_esub_final_keeps_the_defaults():
    """esub_final = {"government": 0.25} changes the government bundle only: the model equals
    the one with every other agent at its documented default (household 1, others 0), and
    differs from the one with all other bundles Cobb-Douglas (the bug: `.get(a, 1.0)`)."""
    text = ('name = "t"\n[[tariff]]\nimporter = "R0"\nexporter = "R1"\ncommodities = "all"\n'
            'add = 30\n')
    runs = {}
    for key, final in (("partial", {"government": 0.25}),
                       ("full", {"household": 1.0, "government": 0.25, "defense": 0.0,
                                 "investment": 0.0}),
                       ("all_cd", {"household": 1.0, "government": 0.25, "defense": 1.0,
                                   "investment": 1.0})):
        sess = _session("random", 0, 3, 4, ModelOptions(esub_final=final))
        runs[key] = sess.run(toml=text)
    same = float(np.abs(runs["partial"].output_index - runs["full"].output_index).max())
    other = float(np.abs(runs["partial"].output_index - runs["all_cd"].output_index).max())
    assert same <= 1e-12
    assert other > 1e-6


@pytest.mark.parametrize("opts", [{}, {"institutions": "separate", "transformation": "cet"},
                                  {"factor_market": "unemployment"},
                                  {"factor_market": "sector_specific_capital",
                                   "external": "global_bank"}],
                         ids=["default", "textbook", "unemployment", "specific-global_bank"])
def test_every_equation_determines_its_variable(opts):
    """The model statement (cge.model.PAIRING): each active equation maps one to one onto the
    free variable it determines, in every closure; a broken pairing is reported."""
    from cge.model import PAIRING, pairing_problems

    model = make_model(**opts)
    assert pairing_problems(model.m) == []
    assert {p.block for p in PAIRING} == {"production", "trade", "demand", "income",
                                          "financing", "markets", "closures"}
    # an equation dropped and a variable freed instead: counts still match, pairing does not
    m = model.m
    m.mkt_pim[next(iter(m.mkt_pim))].deactivate()
    m.endow[next(iter(m.endow))].unfix()
    problems = pairing_problems(m)
    assert any("qim" in p for p in problems) and any("endow" in p for p in problems)
