"""A mapping file applied on load (issue 20, item 1; GTAPAgg's job): ``load_data(path,
mapping=...)``, ``Session(path, mapping=...)``, ``--aggregate MAP.toml``, ``cge convert
--aggregate``.

Checked on gtap7_10x7 (skipped with the place looked in where the raw files are absent): the
identity mapping changes nothing (a shock's results to 1e-9); an aggregated data base
replicates, and its GDP and tariff revenue per new region are the sums of its members' computed
from the HAR headers; elasticities are the documented weighted means (computed here from the
headers); factors of different roles cannot be merged; the CLI runs it, a bad mapping is one
clear error (exit 2) that leaves earlier output as it was; a converted aggregate loads to the
same data set and elasticities."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import cge
from cge.data.benchmark import DataError
from cge.data.har import read_har
from cge.paths import ROOT
from tests.test_gtap_folder import gtap_folder

SHOCK = ('name = "all_power_10"\n[[tariff]]\nimporter = "all"\nexporter = "all"\n'
         'commodities = "all"\npower = 1.1\nown_region = true\n')
GROUPS = {"NAM": ["USA"], "EUJ": ["EU_28", "JPN"], "ASIA": ["CHN", "IND"],
          "REST": ["SSA", "ROW"]}
GOODS = {"agrifood": ["Rice", "Crops", "Livestock", "FoodProc", "ForestFish"],
         "industry": ["Energy", "Textiles", "Chem", "Manuf"], "services": ["Svces"]}
MAPPING = {"name": "gtap7_4x3", "regions": GROUPS, "commodities": GOODS}


def write_mapping(path, mapping=MAPPING) -> str:
    lines = [f'name = "{mapping["name"]}"']
    for section in ("regions", "commodities", "factors"):
        if section in mapping:
            lines.append(f"[{section}]")
            lines += [f"{k} = {v!r}".replace("'", '"') for k, v in mapping[section].items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def folder():
    return gtap_folder("gtap7_10x7")


@pytest.fixture(scope="module")
def aggregated(folder):
    return cge.Session(folder, mapping=MAPPING)


def test_identity_mapping_changes_nothing(folder):
    plain = cge.Session(folder)
    same = {"regions": [str(r) for r in plain.benchmark.region.values],
            "commodities": {c: [c] for c in map(str, plain.benchmark.commodity.values)},
            "name": "same"}
    a = plain.run(toml=SHOCK)
    b = cge.Session(folder, mapping=same).run(toml=SHOCK)
    for key in ("EV_regional", "EV_private", "real_gdp_pct", "tot_pct", "tariff_revenue"):
        np.testing.assert_allclose(b[key].values, a[key].values, rtol=1e-9, atol=1e-6,
                                   err_msg=key)
    assert b.attrs["elasticity_source"].startswith(a.attrs["elasticity_source"])


def test_aggregate_replicates_and_keeps_the_accounts(folder, aggregated):
    har = read_har(folder / "basedata.har")
    bench = aggregated.run(toml='name = "benchmark"\n')
    assert float(np.abs(bench.EV).max()) < 1e-6
    assert [str(r) for r in bench.region.values] == list(GROUPS)
    assert [str(c) for c in bench.commodity.values] == list(GOODS)
    final = sum(har[h].astype(float).sum("COMM")
                for h in ("VDPP", "VMPP", "VDGP", "VMGP", "VDIP", "VMIP"))
    gdp = (final + har["VFOB"].astype(float).sum(["COMM", "REG_2"])
           + har["VST"].astype(float).sum("MARG")
           - har["VCIF"].astype(float).sum(["COMM", "REG"]).rename(REG_2="REG"))
    tariffs = (har["VMSB"] - har["VCIF"]).astype(float).sum(["COMM", "REG"]).rename(
        REG_2="REG")
    for g, members in GROUPS.items():
        assert float(bench.gdp_nominal.sel(region=g)) == pytest.approx(
            float(gdp.sel(REG=members).sum()), rel=1e-6), g
        assert float(bench.tariff_revenue.sel(region=g)) == pytest.approx(
            float(tariffs.sel(REG=members).sum()), rel=1e-6), g
    res = aggregated.run(toml=SHOCK)
    assert res.attrs["data_set"] == "gtap7_4x3"
    assert "Aggregated on load" in res.attrs["data_notes"]
    assert float(res.EV_regional.sel(region="EUJ")) < -1e4


def test_elasticities_are_weighted_means(folder, aggregated):
    har = read_har(folder / "basedata.har")
    prm = read_har(folder / "default.prm")
    el = aggregated.params
    absorption = sum(har[h].astype(float).sum([d for d in har[h].dims if d != "COMM"])
                     for h in ("VDFB", "VMFB", "VDPB", "VMPB", "VDGB", "VMGB", "VDIB", "VMIB"))
    imports = sum(har[h].astype(float).sum([d for d in har[h].dims if d != "COMM"])
                  for h in ("VMFB", "VMPB", "VMGB", "VMIB"))
    value_added = har["EVFB"].astype(float).sum(["ENDW", "REG"])
    for new, members in GOODS.items():
        for key, header, w in (("esubd", "ESBD", absorption), ("esubm", "ESBM", imports),
                               ("esubva", "ESBV", value_added)):
            sigma = prm[header].astype(float).isel(REG=0)
            dim, wdim = sigma.dims[0], w.dims[0]
            want = float((sigma.sel({dim: members}).values * w.sel({wdim: members}).values).sum()
                         / w.sel({wdim: members}).values.sum())
            got = float(el[key].sel({"activity" if key == "esubva" else "commodity": new}))
            assert got == pytest.approx(want, rel=1e-4), (key, new)
    assert float(el.esubm.sel(commodity="services")) == float(
        prm["ESBM"].astype(float).isel(REG=0).sel(COMM="Svces"))


def test_factors_of_different_roles_are_not_merged(folder, tmp_path):
    bad = {**MAPPING, "factors": {"Labour": ["UnSkLab", "SkLab"],
                                  "Other": ["Land", "NatRes", "Capital"]}}
    path = write_mapping(tmp_path / "bad_factors.toml", bad)
    with pytest.raises(DataError, match=r"bad_factors\.toml.*'Other' merges factors of "
                                        r"different roles.*Land sluggish"):
        cge.load_data(folder, mapping=path)
    good = {**MAPPING, "factors": {"Land": ["Land"], "Labour": ["UnSkLab", "SkLab"],
                                   "Capital": ["Capital"], "NatRes": ["NatRes"]}}
    s = cge.Session(folder, mapping=good)
    roles = {f: s.options.factor_roles.get(f, "mobile") for f in good["factors"]}
    assert roles == {"Land": "sluggish", "Labour": "mobile", "Capital": "mobile",
                     "NatRes": "fixed"}
    assert s.options.labour == "Labour"


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cge", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_cli_aggregates_on_load(folder, tmp_path):
    mapping = write_mapping(tmp_path / "map.toml")
    scen = tmp_path / "all_power_10.toml"
    scen.write_text(SHOCK)
    out = tmp_path / "run"
    done = _cli("run", str(scen), "--data", str(folder), "--aggregate", mapping, "--out",
                str(out), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert "counterfactual.pdf" in before
    broken = tmp_path / "broken.toml"
    broken.write_text('[regions]\nNAM = ["USA", "NOWHERE"]\n')
    failed = _cli("run", str(scen), "--data", str(folder), "--aggregate", str(broken),
                  "--out", str(out), cwd=ROOT)
    assert failed.returncode == 2
    lines = [ln for ln in failed.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "broken.toml" in lines[0] and "NOWHERE" in lines[0], lines
    assert "Traceback" not in failed.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_convert_an_aggregate(folder, tmp_path, aggregated):
    mapping = write_mapping(tmp_path / "map.toml")
    out = tmp_path / "gtap7_4x3"
    done = _cli("convert", "--data", str(folder), "--aggregate", mapping, "--out", str(out),
                cwd=ROOT)
    assert done.returncode == 0, done.stderr
    again = cge.Session(out)
    for key in ("vom", "vxmd", "vtm", "vtwr", "vst", "vfm"):
        np.testing.assert_allclose(again.benchmark[key].values,
                                   aggregated.benchmark[key].transpose(
                                       *again.benchmark[key].dims).values, rtol=1e-12,
                                   atol=1e-9, err_msg=key)
    for key in ("esubd", "esubm", "esubva"):
        np.testing.assert_allclose(again.params[key].values, aggregated.params[key].values,
                                   rtol=1e-12, err_msg=key)
    assert again.options.factor_roles == aggregated.options.factor_roles
