"""A GTAP data base folder as a data set (cge.data.gtap): loaded through the API and the CLI,
the benchmark replicated, its GDP, bilateral trade and tariff revenue equal to those computed
directly from the HAR headers, its elasticities those of its own default.prm.

The GTAP-format data bases are public raw files (../shared/data/gtap7/, or data/raw/gtap7/);
without them these tests skip, saying where they looked."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

import cge
from cge.data.gtap import is_gtap_folder, read_parameters
from cge.paths import ROOT
from cge.solve import nlp_residual

PLACES = (ROOT / "data" / "raw" / "gtap7", ROOT.parent / "shared" / "data" / "gtap7")
SHOCK = '[[tariff]]\nimporter = "USA"\nexporter = "all"\ncommodities = "all"\npower = 1.1\n'
TARIFF = 'name = "usa_tariff_10"\ndescription = "USA: every tariff power +10 %"\n' + SHOCK


def gtap_folder(name: str):
    for place in PLACES:
        if (place / name / "basedata.har").is_file():
            return place / name
    pytest.skip(f"GTAP data base {name} not found (looked in {', '.join(map(str, PLACES))}); "
                "get datasets/<name>/ of github.com/mmc00/equilibria at commit 2ae322e0b738")


@pytest.fixture(scope="module", params=["gtap7_3x3", "gtap7_10x7"])
def gtap(request):
    from cge.data.har import read_har

    folder = gtap_folder(request.param)
    session = cge.Session(folder)
    return folder, read_har(folder / "basedata.har"), session, session.run(
        toml='name = "benchmark"\n')


def test_detected_by_content(gtap, tmp_path):
    folder = gtap[0]
    assert is_gtap_folder(folder)
    assert not is_gtap_folder(ROOT / "data" / "default2024")
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "basedata.har").write_bytes(b"not a header array file")
    assert not is_gtap_folder(fake)


def test_benchmark_replicates(gtap):
    _, _, session, bench = gtap
    model = session.model()                      # the replication gate: 0 Ipopt iterations
    model.restore(model._benchmark)
    residual, where = nlp_residual(model)
    assert residual <= 1e-9, where
    assert np.abs(bench.EV.values).max() < 1e-6



def test_gdp_trade_and_tariff_revenue_of_the_data(gtap):
    """GTAP's own accounts, from the headers: GDP = final demand at purchasers' prices + exports
    fob (every route) + margin exports VST - imports cif (every route); tariff revenue =
    VMSB - VCIF on every route, a composite region's route with itself included (GTAP's
    treatment, the default); exports fob of a non-margin commodity = VFOB, route by route."""
    _, har, _, bench = gtap
    regions = [str(r) for r in bench.region.values]
    assert [str(r) for r in har["VFOB"].REG.values] == regions
    final = sum(har[h].astype(float).sum("COMM").values
                for h in ("VDPP", "VMPP", "VDGP", "VMGP", "VDIP", "VMIP"))
    gdp = (final + har["VFOB"].astype(float).values.sum(axis=(0, 2))
           + har["VST"].astype(float).sum("MARG").values
           - har["VCIF"].astype(float).values.sum(axis=(0, 1)))
    np.testing.assert_allclose(bench.gdp_nominal.values, gdp, rtol=1e-6)
    tariffs = (har["VMSB"] - har["VCIF"]).astype(float).values.sum(axis=(0, 1))
    np.testing.assert_allclose(bench.tariff_revenue.values, tariffs, rtol=1e-6)
    margins = {str(m) for m in har["VST"].MARG.values}
    goods = [str(c) for c in bench.commodity.values if str(c) not in margins]
    ours = bench.trade_benchmark.sel(commodity=goods).transpose(
        "commodity", "exporter", "importer").values
    np.testing.assert_allclose(ours, har["VFOB"].astype(float).sel(COMM=goods).values,
                               rtol=1e-6, atol=1e-3)


def test_elasticities_are_the_data_bases_own(gtap):
    from cge.data.har import read_har

    folder, _, _, bench = gtap
    prm = read_har(folder / "default.prm")
    for name, header in (("esubd", "ESBD"), ("esubm", "ESBM"), ("esubva", "ESBV")):
        dim = "activity" if name == "esubva" else "commodity"
        want = prm[header].astype(float).isel(REG=0)
        got = bench[name]
        np.testing.assert_allclose(got.values, want.sel({want.dims[0]: got[dim].values}).values)
    assert "default.prm" in bench.attrs["elasticity_source"]
    assert read_parameters(folder / "default.prm").attrs.get("notes") is None, \
        "standard GTAP parameters are the same in every region"


def test_cli_runs_a_gtap_folder(tmp_path):
    folder = gtap_folder("gtap7_10x7")
    scen = tmp_path / "usa_tariff_10.toml"
    scen.write_text(TARIFF, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cge", "run", "--data", str(folder), str(scen),
                           "--quiet", "--out", str(tmp_path / "run")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    import xarray as xr

    res = xr.load_dataset(tmp_path / "run" / "results" / "usa_tariff_10.nc")
    assert res.attrs["data_set"] == "gtap7_10x7" and res.attrs["data_year"] == 2017
    ev = res.EV.to_series()
    assert ev["USA"] > 0 > ev.drop("USA").max(), "a large importer's tariff: it gains, others lose"
    assert (tmp_path / "run" / "counterfactual.pdf").is_file()


def test_gtap_folder_without_parameters_is_one_clear_error(tmp_path):
    folder = tmp_path / "no_prm"
    shutil.copytree(gtap_folder("gtap7_3x3"), folder)
    (folder / "default.prm").unlink()
    scen = tmp_path / "t.toml"
    scen.write_text(TARIFF, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cge", "run", "--data", str(folder), str(scen),
                           "--quiet", "--out", str(tmp_path / "run")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2
    assert "has no default.prm" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_the_real_wage_is_labours():
    """The tables' real wage is the price of labour: the project's `labour`, GTAP's unskilled
    labour, another factor named like labour; never land or capital."""
    from cge.data.benchmark import wage_factor

    assert wage_factor(["labour", "capital"]) == "labour"
    assert wage_factor(["Land", "UnSkLab", "SkLab", "Capital", "NatRes"]) == "UnSkLab"
    assert wage_factor(["Land", "SkLab", "UnSkLab"]) == "UnSkLab", "GTAP's headline wage"
    assert wage_factor(["Land", "Capital", "Labor"]) == "Labor"
    assert wage_factor(["Land", "Capital"]) is None


def test_report_wage_of_gtap_data(gtap, tmp_path):
    from cge.report.build import _Report

    bench = gtap[3]
    assert _Report([bench], tmp_path)._labour() == "UnSkLab"


@pytest.mark.parametrize("market", ["mobile", "sector_specific_capital", "unemployment"])
def test_closures_name_gtap_factors(gtap, market):
    """The closures find GTAP's factors by role (labour: UnSkLab, capital: Capital): each
    replicates the benchmark and solves a tariff-power shock; under unemployment the real
    wage of unskilled labour is what stays fixed, under the others it moves."""
    _, _, session, _ = gtap
    assert (session.options.labour, session.options.capital) == ("UnSkLab", "Capital")
    opts = session.options.with_closure({"factor_market": market})
    model = session.model(opts)                  # the replication gate for this closure
    model.restore(model._benchmark)
    assert nlp_residual(model)[0] <= 1e-9
    res = session.run(toml=f'name = "t"\n[closure]\nfactor_market = "{market}"\n{SHOCK}')
    wage = res.real_factor_price_pct.sel(factor="UnSkLab").values
    if market == "unemployment":
        np.testing.assert_allclose(wage, 0.0, atol=1e-8)
    else:
        assert np.abs(wage).max() > 1e-3


def _cge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cge", *args, "--quiet"], capture_output=True,
                          text=True, timeout=300)


def test_convert_gives_the_same_data_set(tmp_path):
    """`cge convert` writes the project's format; loaded, it is the same benchmark (content
    hash), the same elasticities and the same results, bit for bit."""
    folder = gtap_folder("gtap7_3x3")
    done = _cge("convert", "--data", str(folder), "--out", str(tmp_path / "conv"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "conv" / "dataset.toml").is_file()
    shock = f'name = "t"\n{SHOCK}'
    direct = cge.Session(folder).run(toml=shock)
    converted = cge.Session(tmp_path / "conv").run(toml=shock)
    assert converted.attrs["data_sha256"] == direct.attrs["data_sha256"]
    assert converted.attrs["elasticity_source"].endswith("elasticities.csv")
    for var in ("EV", "esubd", "esubm", "esubva", "trade_volume"):
        np.testing.assert_array_equal(converted[var].values, direct[var].values, err_msg=var)


def test_convert_refuses_and_leaves_what_is_there(tmp_path):
    folder = gtap_folder("gtap7_3x3")
    taken = tmp_path / "notes"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep me", encoding="utf-8")
    for data, out, words in ((folder, taken, "not a data set folder"),
                             (tmp_path, tmp_path / "new", "not a GTAP data base folder")):
        done = _cge("convert", "--data", str(data), "--out", str(out))
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert [p.name for p in taken.iterdir()] == ["mine.txt"]
    assert not (tmp_path / "new").exists()


def test_intra_region_trade_routes_or_domestic(tmp_path):
    """A GTAP data base keeps EU_28's and ROW's trade with themselves on own import routes
    (GTAP's treatment); ``--intra-region domestic`` makes it domestic. A tariff on every route,
    own routes included, then taxes intra-EU trade only in the first."""
    import xarray as xr

    folder = gtap_folder("gtap7_3x3")
    scen = tmp_path / "all_tariffs.toml"
    scen.write_text('name = "all_tariffs"\n[[tariff]]\nimporter = "all"\nexporter = "all"\n'
                    'commodities = "all"\npower = 1.1\nown_region = true\n', encoding="utf-8")
    ev, text = {}, {}
    for treatment in ("routes", "domestic"):
        done = subprocess.run([sys.executable, "-m", "cge", "run", "--data", str(folder),
                               "--intra-region", treatment, str(scen), "--quiet", "--no-strategy",
                               "--out", str(tmp_path / treatment)], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        res = xr.load_dataset(tmp_path / treatment / "results" / "all_tariffs.nc")
        ev[treatment], text[treatment] = res.EV.to_series(), res.attrs["intra_region_trade"]
    assert text["routes"].startswith("own import routes") and "EU_28 4,182,360" in text["routes"]
    assert text["domestic"].startswith("none")
    # taxing the EU's 4.2 tn of trade with itself costs it more than the external tariffs do
    assert ev["routes"]["EU_28"] < 1.5 * ev["domestic"]["EU_28"] < 0
    with pytest.raises(TypeError, match="intra_region"):
        cge.Session(cge.load_data(folder), intra_region="domestic")
