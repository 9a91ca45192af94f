"""Only what was run: a result records the elasticities, every model option, the data set, the
scenario and the code exactly as used, and the stacked NetCDF keeps them per scenario."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("pyomo")

import cge  # noqa: E402
from cge.data.benchmark import content_sha256  # noqa: E402
from cge.data.examples import two_by_two  # noqa: E402
from cge.options import DEFAULT_ESUB_FINAL, ModelOptions  # noqa: E402
from cge.report.provenance import options_rows  # noqa: E402
from cge.results import code_commit, option_attrs  # noqa: E402

ELASTICITIES = {"esubd": 2.5, "esubm": 4.5, "esubva": 0.8}
#: Every option the closures do not set is off its default here.
OPTIONS = dict(esub_top=0.5, esub_final={"government": 0.5}, transformation="cet",
               esub_cet=3.0, numeraire="cpi:HOME")
TARIFF = ('name = "{name}"\ndescription = "{description}"\n{closure}[[tariff]]\n'
          'importer = "HOME"\nexporter = "FOREIGN"\ncommodities = "all"\nadd = {add}\n')
SCENARIOS = {
    "ten": ("ten points on HOME's imports", "", 10),
    "twenty_unemp": ("twenty points, unemployment", '[closure]\nfactor_market = "unemployment"\n'
                     'numeraire = "world_factor_price"\n', 20),
    "five_separate": ("five points, separate institutions",
                      '[closure]\ninstitutions = "separate"\n', 5),
}


@pytest.fixture(scope="module")
def runs():
    """(session, {name: (scenario, result)}) for a non-default run of three scenarios."""
    session = cge.Session(two_by_two(), ELASTICITIES, ModelOptions(**OPTIONS))
    out = {}
    for name, (description, closure, add) in SCENARIOS.items():
        text = TARIFF.format(name=name, description=description, closure=closure, add=add)
        scen = session.scenario(toml=text)
        out[name] = (scen, session.run(scen))
    return session, out


def test_options_are_not_defaults():
    """The run below would not notice a default recorded instead of the value used unless
    each option it sets differs from its default."""
    default = ModelOptions()
    for key, val in OPTIONS.items():
        assert getattr(default, key) != val, key


def test_every_option_recorded_as_run(runs):
    """Every field of ModelOptions is an attribute, equal to the option the scenario ran with
    (the session's, with the scenario's [closure] applied)."""
    session, results = runs
    for scen, res in results.values():
        used = session.options_for(scen)
        for f in dataclasses.fields(ModelOptions):
            assert f.name in res.attrs, f"option {f.name} not recorded"
            val = getattr(used, f.name)
            if f.name == "esub_final":
                assert json.loads(res.attrs[f.name]) == used.final_sigmas()
            elif isinstance(val, dict):     # factor_roles, etrae: as JSON
                assert json.loads(res.attrs[f.name]) == val, f.name
            else:
                assert res.attrs[f.name] == val, f.name
    ten, unemp, separate = (res.attrs for _, res in results.values())
    assert ten["numeraire"] == "cpi:HOME" and unemp["numeraire"] == "world_factor_price"
    assert (ten["factor_market"], unemp["factor_market"]) == ("mobile", "unemployment")
    assert separate["institutions"] == "separate" and ten["institutions"] != "separate"
    assert ten["esub_top"] == 0.5 and ten["esub_cet"] == 3.0 and ten["transformation"] == "cet"
    assert json.loads(ten["esub_final"]) == {**DEFAULT_ESUB_FINAL, "government": 0.5}


def test_a_new_option_is_recorded():
    """Options are recorded field by field: an option added to ModelOptions is recorded without
    touching cge.results."""
    extended = dataclasses.make_dataclass(
        "Extended", [("new_knob", float, dataclasses.field(default=7.5))],
        bases=(ModelOptions,), frozen=True)
    attrs = option_attrs(extended(esub_top=0.25))
    assert attrs["new_knob"] == 7.5 and attrs["esub_top"] == 0.25
    assert set(attrs) == {f.name for f in dataclasses.fields(extended)}


def test_data_elasticities_scenario_and_code_recorded(runs):
    _, results = runs
    for name, (scen, res) in results.items():
        a = res.attrs
        assert a["data_set"] == "two_by_two"
        assert a["data_sha256"] == content_sha256(two_by_two())
        assert a["elasticity_source"] == "user dict"
        for key, val in ELASTICITIES.items():
            assert np.array_equal(res[key].values, np.full(res[key].size, val)), key
        assert a["scenario"] == name
        assert a["scenario_description"] == SCENARIOS[name][0]
        assert a["scenario_text"] == scen.text
        assert a["scenario_sha256"] == hashlib.sha256(scen.text.encode("utf-8")).hexdigest()
        assert json.loads(a["scenario_closure"]) == dict(scen.closure)
        assert a["code_version"] == cge.__version__
        assert re.fullmatch(r"([0-9a-f]{40}(-dirty)?)?", a["code_commit"])
    assert json.loads(results["ten"][1].attrs["scenario_closure"]) == {}
    assert json.loads(results["twenty_unemp"][1].attrs["scenario_closure"]) == {
        "factor_market": "unemployment", "numeraire": "world_factor_price"}


def test_code_commit_in_and_outside_a_checkout(tmp_path):
    """The commit of this checkout when the package is one; "" outside a git checkout, in a
    folder that is not the checkout's top, or without a commit."""
    here = code_commit()
    git = shutil.which("git")
    if here and git:
        head = subprocess.run([git, "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=cge.__path__[0], check=True).stdout.strip()
        assert here.removesuffix("-dirty") == head
    assert code_commit(tmp_path) == ""
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / ".git").write_text("not a repository")
    assert code_commit(tmp_path / "fake") == ""
    if git:
        repo = tmp_path / "repo"
        repo.mkdir()
        subprocess.run([git, "init", "-q", str(repo)], check=True)
        assert code_commit(repo) == ""                    # no commit yet
        subprocess.run([git, "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                        "commit", "-q", "--allow-empty", "-m", "t"], check=True)
        code_commit.cache_clear()
        assert re.fullmatch(r"[0-9a-f]{40}", code_commit(repo))
        (repo / "sub").mkdir()
        (repo / "sub" / ".git").mkdir()
        assert code_commit(repo / "sub") == ""            # inside, not the top of, a checkout


def test_stack_keeps_each_scenario_record(runs, tmp_path):
    """compare + write_netcdf + read back: every attribute of each result is a coordinate along
    scenario with that scenario's value (description, closure, solver status, options ...)."""
    _, results = runs
    stack = cge.compare([res for _, res in results.values()])
    path = cge.write_netcdf(stack, tmp_path / "counterfactual.nc")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        back.load()
    assert back.attrs == {"data_set": "two_by_two"}
    assert list(back.scenario.values) == list(results)
    for name, (scen, res) in results.items():
        row = back.sel(scenario=name)
        for key, val in res.attrs.items():
            if key == "scenario":
                continue
            assert key in back.coords and back[key].dims == ("scenario",), key
            got = row[key].item()
            if isinstance(val, float):
                assert got == pytest.approx(val, rel=1e-15, nan_ok=True), (name, key)
            else:
                assert got == val, (name, key)
        assert row.scenario_description.item() == scen.description
        assert json.loads(row.scenario_closure.item()) == dict(scen.closure)
        assert row.solver_status.item() == "optimal"
        assert row.solver_iterations.item() == res.attrs["solver_iterations"] > 0
        assert row.solver_max_residual.item() <= 1e-8
    assert list(back.factor_market.values) == ["mobile", "unemployment", "mobile"]
    assert list(back.institutions.values) == ["regional_household", "regional_household",
                                              "separate"]
    assert list(back.numeraire.values) == ["cpi:HOME", "world_factor_price", "cpi:HOME"]
    np.testing.assert_array_equal(back.EV.sel(scenario="ten").values,
                                  results["ten"][1].EV.values)


def test_options_rows_every_option_as_run(runs):
    """One row per ModelOptions field, in field order, with the value run; also for one
    scenario of a stack."""
    _, results = runs
    res = results["ten"][1]
    rows = options_rows(res)
    assert [r[0] for r in rows] == [f.name for f in dataclasses.fields(ModelOptions)]
    got = dict(rows)
    assert got["esub_final"] == "household 1.00, government 0.50, defense 0.00, investment 0.00"
    assert got["esub_top"] == "0.50" and got["esub_cet"] == "3.00"
    assert got["transformation"] == "cet" and got["numeraire"] == "cpi:HOME"
    assert got["labour"] == "labour" and got["factor_market"] == "mobile"
    stack = cge.compare([r for _, r in results.values()])
    assert dict(options_rows(stack.sel(scenario="twenty_unemp")))["factor_market"] == \
        "unemployment"
    assert dict(options_rows(res.drop_attrs()))["esub_top"] == "\u2013"   # not recorded
