"""International transport margins (issue 20, item 5): tariffs on the cif value, margins bought
from a global transport pool that buys the margin services from the regions.

Checked on a GTAP data base with margins (gtap7_3x3, skipped with the place looked in where
the raw files are absent) and on a small made-up one: the benchmark replicates and reproduces
GTAP's cif accounts; at a shocked solution the world's trade balances add up to zero (the
pool sells what the routes buy), Walras' law holds, prices are homogeneous of degree one in the
numeraire, the tariff revenue is the tariff rate times the cif value, and the EV decomposition
explains EV; the margins survive conversion and aggregation."""

from __future__ import annotations

import numpy as np
import pytest
from pyomo.environ import value

import cge
from cge.data.aggregate import aggregate
from cge.data.benchmark import check_balance, foreign_saving, has_margins, route_margins
from cge.data.gtap import load_gtap, read_parameters
from cge.data.har import read_har
from tests.test_gtap_folder import gtap_folder

SHOCK = ('name = "all_power_10"\n[[tariff]]\nimporter = "all"\nexporter = "all"\n'
         'commodities = "all"\npower = 1.1\nown_region = true\n')


@pytest.fixture(scope="module")
def folder():
    return gtap_folder("gtap7_3x3")


@pytest.fixture(scope="module")
def solved(folder):
    session = cge.Session(folder)
    res = session.run(toml=SHOCK, decompose=True)
    return session, res


def test_benchmark_keeps_gtaps_margins(folder):
    ds = load_gtap(folder)
    har = read_har(folder / "basedata.har")
    assert has_margins(ds)
    margins = (har["VCIF"] - har["VFOB"]).astype(float).transpose("COMM", "REG", "REG_2")
    np.testing.assert_allclose(route_margins(ds).values, margins.values, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ds.vst.sum("commodity").values,
                               har["VST"].astype(float).sum("MARG").values, rtol=1e-5)
    # tariffs on cif: VMSB - VCIF, route by route
    np.testing.assert_allclose(ds.vtm.values,
                               (har["VMSB"] - har["VCIF"]).astype(float).values,
                               rtol=1e-5, atol=1e-3)


def test_benchmark_results_value_imports_cif(folder, solved):
    session, _ = solved
    bench = session.run(toml='name = "benchmark"\n')
    har = read_har(folder / "basedata.har")
    margins = (har["VCIF"] - har["VFOB"]).astype(float).transpose("COMM", "REG", "REG_2")
    np.testing.assert_allclose(bench.margin_value.values, margins.values, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(bench.margin_benchmark.values, margins.values, rtol=1e-5,
                               atol=1e-3)
    # GTAP's trade balance: exports fob + margin services supplied - imports cif
    tb = (har["VFOB"].astype(float).sum(["COMM", "REG_2"]).values
          + har["VST"].astype(float).sum("MARG").values
          - har["VCIF"].astype(float).sum(["COMM", "REG"]).values)
    # (float32 headers: VST is scaled to the VTWR total, a change of ~1e-6 of world trade)
    scale = float(har["VCIF"].astype(float).sum())
    np.testing.assert_allclose(bench.trade_balance.values, tb, rtol=0, atol=1e-6 * scale)
    assert bench.attrs["margins"].startswith("cif = fob + transport margins")


def test_world_trade_balances_add_up(solved):
    """Exports (fob and margin services sold to the pool) equal imports (cif) world-wide: the
    pool's sales to the routes are paid for what its suppliers are paid."""
    _, res = solved
    assert float(np.abs(res.margin_value - res.margin_benchmark).max()) > 1.0, "no change"
    world = float(res.trade_balance.sum())
    assert abs(world) <= 1e-7 * float(res.trade_value.sum()), world


def test_walras_and_tariffs_on_cif(solved):
    session, res = solved
    model = session.model()
    assert abs(value(model.m.walras)) < 1e-6
    cif = res.trade_value + res.margin_value
    np.testing.assert_allclose(res.tariff_revenue.values,
                               (res.tariff_rate * cif).sum(["commodity", "exporter"]).values,
                               rtol=1e-9)
    fob_only = (res.tariff_rate * res.trade_value).sum(["commodity", "exporter"]).values
    assert np.all(np.abs(res.tariff_revenue.values - fob_only) > 1.0), \
        "the margins are a visible part of the tariff base"


def test_decomposition_explains_ev_with_margins(solved):
    _, res = solved
    dec = res.EV_decomposition
    for r in res.region.values:
        ev = float(res.EV_regional.sel(region=r))
        resid = float(dec.sel(component="residual", region=r))
        assert abs(resid) <= max(0.01 * abs(ev), 1e-5 * float(res.income.sel(region=r))), \
            (str(r), ev, resid)
    assert float(np.abs(dec.sel(component="terms_of_trade")).max()) > 1.0, "no ToT effects"


def test_homogeneous_in_the_numeraire(folder):
    """Doubling the numeraire doubles the transport pool's price and every export price and
    leaves every route's volume, so the margins and pool sales, unchanged."""
    from cge.solve import solve

    session = cge.Session(folder)
    session.run(toml=SHOCK)
    model = session.model()
    pt1 = {k: value(model.m.pt[k]) for k in model.m.pt}
    imp1 = {k: value(model.m.imp[k]) for k in model.m.imp}
    assert pt1 and max(abs(v - 1) for v in pt1.values()) > 1e-3, "the shock moved nothing"
    try:
        model.m.pnum.fix(2.0)
        solve(model)
        for k, v in pt1.items():
            assert value(model.m.pt[k]) == pytest.approx(2 * v, rel=1e-7), k
        for k, v in imp1.items():
            assert value(model.m.imp[k]) == pytest.approx(v, rel=1e-7), k
    finally:
        model.m.pnum.fix(1.0)


def test_services_mode_same_benchmark(folder):
    from cge.data.har import gtap_to_benchmark

    arrays = read_har(folder / "basedata.har")
    transport = gtap_to_benchmark(arrays)
    services = gtap_to_benchmark(arrays, margins="services")
    assert not has_margins(services)
    np.testing.assert_allclose(foreign_saving(services).values,
                               foreign_saving(transport).values, atol=1e-6)
    el = read_parameters(folder / "default.prm", [str(c) for c in transport.commodity.values])
    a = cge.Session(transport, el).run(toml='name = "benchmark"\n')
    b = cge.Session(services, el).run(toml='name = "benchmark"\n')
    np.testing.assert_allclose(a.gdp_nominal.values, b.gdp_nominal.values, rtol=1e-9)
    np.testing.assert_allclose(a.tariff_revenue.values, b.tariff_revenue.values, rtol=1e-9)
    assert b.attrs["margins"].startswith("fob = cif")


@pytest.mark.parametrize("treatment", ["routes", "domestic"])
def test_aggregation_keeps_the_margins_of_routes_that_stay(folder, treatment):
    ds = load_gtap(folder)
    regions = [str(r) for r in ds.region.values]
    mapping = {"regions": {"A": regions[:2], "B": regions[2:]}}
    out = aggregate(ds, mapping, intra_region=treatment)
    check_balance(out)
    total = float(route_margins(ds).sum())
    between = float(route_margins(ds).sel(exporter=regions[:2], importer=regions[2:]).sum()
                     + route_margins(ds).sel(exporter=regions[2:], importer=regions[:2]).sum())
    kept = float(route_margins(out).sum())
    if treatment == "routes":
        assert kept == pytest.approx(total, rel=1e-12)
    else:     # the routes within A and within B are domestic, their margins services bought
        assert kept == pytest.approx(between, rel=1e-12)
        assert between < total
    np.testing.assert_allclose(foreign_saving(out).values,
                               [float(foreign_saving(ds).sel(region=regions[:2]).sum()),
                                float(foreign_saving(ds).sel(region=regions[2:]).sum())],
                               rtol=1e-9)
    el = read_parameters(folder / "default.prm", [str(c) for c in out.commodity.values])
    model_res = cge.Session(out, el).run(toml='name = "benchmark"\n')
    assert float(np.abs(model_res.EV).max()) < 1e-6


def test_suppliers_markets_stay_sparse():
    """A margin service's market in each supplier holds the pool's demand as one variable
    (``qt``), not every route of the world: its Jacobian row is no longer than a good's. (With
    the routes' margins summed into every supplier's row, 41 regions x 20 commodities made 41
    rows of 33,000 entries and the solve 50 times slower.)"""
    from cge.solve import model_nlp

    session = cge.Session(gtap_folder("gtap7_10x7"))
    model = session.model()
    nlp = model_nlp(model)
    counts = np.bincount(nlp.jacobian_structure[0], minlength=nlp.n_equations)
    rows = {name: int(c) for name, c in zip(nlp.constraint_names, counts, strict=True)}
    services = [v for k, v in rows.items() if k.startswith("mkt_pd[Svces,")]
    goods = [v for k, v in rows.items() if k.startswith("mkt_pd[Manuf,")]
    assert services and goods
    assert max(services) <= 2 * max(goods), (max(services), max(goods))
    assert len(model.ctx.route_margins) > max(services), "the check has teeth"


def test_report_says_how_trade_is_valued(solved, tmp_path):
    """The report of a run with margins says cif in its methods, data section and tariff
    note, and never the fob = cif of data without margins."""
    import shutil
    import subprocess

    from cge.report import write_report

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    session, res = solved
    bench = session.run(toml='name = "benchmark"\n')
    pdf = write_report([bench, res], tmp_path / "report.pdf")
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "valued fob and cif" in text
    assert "Tariffs are levied on the cif value" in text
    assert "Trade valuation: cif = fob + transport margins" in text
    assert "fob = cif, no transport margins" not in text
