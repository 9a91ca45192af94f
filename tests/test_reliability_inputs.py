"""Reliability on bad input: every bad input gets one clear error and writes nothing.

Each case goes through a public entry point (``cge.Session``, ``cge.load_data``,
``load_benchmark``, ``cge.runner.run_scenarios``, ``cge.cli.main``) and checks

* the exception type (``ScenarioError``, ``DataError``, ``OptionsError``; a contradictory
  scenario closure raises ``ClosureError``, which is both a ``ScenarioError`` and an
  ``OptionsError``),
* that the message names the file (or data set), the field and the allowed values,
* that nothing was written: output folders stay empty, earlier result files stay byte-identical,
  corrupted input folders are not "repaired".

The last section fuzzes the whole path (random TOML → ``Session.run`` on ``two_by_two``): only
``ScenarioError`` or ``SolveError`` may escape, and a returned result has no NaN.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from conftest import ELASTICITIES, save_tiny_benchmark, tree_state
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

import cge
from cge.calibrate import load_elasticities
from cge.cli import main as cli_main
from cge.data.benchmark import DataError, load_benchmark
from cge.data.examples import two_by_two
from cge.options import ModelOptions, OptionsError
from cge.runner import run_scenarios
from cge.scenario import ClosureError, ScenarioError
from cge.solve import RESIDUAL_TOL, WALRAS_TOL, SolveError

ROOT = Path(__file__).resolve().parents[1]
WIOD = ROOT / "data" / "wiod2011"
SCENARIOS = ROOT / "scenarios"


# --------------------------------------------------------------------------------------------
# Helpers and fixtures
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def tiny_session() -> cge.Session:
    """One session on the hand-made 2x2 economy, shared by the tests (models are cached per
    closure inside it; every run starts from the benchmark)."""
    return cge.Session(two_by_two(), ELASTICITIES)


def assert_mentions(message: str, *fragments: str) -> None:
    for frag in fragments:
        assert frag in message, f"{frag!r} not in error message:\n{message}"


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """``two_by_two`` saved as a benchmark folder and an elasticity CSV for it (fast runner and
    CLI runs)."""
    return save_tiny_benchmark(tmp_path_factory.mktemp("tiny"))




def tariff(**kw) -> str:
    """A [[tariff]] table, HOME importing from FOREIGN, all commodities, ``add = 10`` unless
    overridden (a value of None drops the key)."""
    table = {"importer": '"HOME"', "exporter": '"FOREIGN"', "commodities": '"all"', "add": "10"}
    table.update(kw)
    return "[[tariff]]\n" + "".join(f"{k} = {v}\n" for k, v in table.items() if v is not None)


# --------------------------------------------------------------------------------------------
# 1. Scenario files through Session.run (file on disk: the message must name it)
# --------------------------------------------------------------------------------------------
H = 'name = "t"\n'
TRANSFER = '[[transfer]]\npayer = "HOME"\nrecipient = "FOREIGN"\n'
#: (id, TOML text, error type, fragments the message must contain besides the file path).
BAD_SCENARIOS = [
    ("malformed_toml", H + "[[tariff]\nimporter = 1\n", ScenarioError,
     ["invalid TOML", "line 2"]),
    ("unterminated_string", 'name = "t\n', ScenarioError, ["invalid TOML"]),
    ("missing_name", tariff(), ScenarioError, ["name", "missing required field"]),
    ("bad_name", 'name = "Bad Name"\n', ScenarioError, ["name", "[a-z0-9_]+"]),
    ("unknown_top_key", H + "tarif = 3\n", ScenarioError,
     ["tarif", "unknown key", "did you mean 'tariff'", "valid keys", "export_tax"]),
    ("unknown_table_key", H + tariff(add=None, ad="10"), ScenarioError,
     ["tariff[1].ad", "unknown key", "valid keys", "add, set, multiply"]),
    ("single_brackets", H + '[tariff]\nimporter = "HOME"\n', ScenarioError,
     ["tariff", "[[tariff]]"]),
    ("unknown_region", H + tariff(importer='"HOM"'), ScenarioError,
     ["tariff[1].importer", "'HOM'", "did you mean 'HOME'", "HOME, FOREIGN"]),
    ("unknown_region_in_list", H + tariff(exporter='["FOREIGN", "MARS"]'), ScenarioError,
     ["tariff[1].exporter[2]", "'MARS'", "HOME, FOREIGN"]),
    ("unknown_sector", H + tariff(commodities='"cars"'), ScenarioError,
     ["tariff[1].commodities", "'cars'", "food, cloth"]),
    ("unknown_group", H + tariff(exporter='"asia"'), ScenarioError,
     ["tariff[1].exporter", "'asia'", "groups: all, all_but:<name>"]),
    ("unknown_all_but", H + tariff(exporter='"all_but:MARS"'), ScenarioError,
     ["tariff[1].exporter", "MARS", "HOME, FOREIGN"]),
    ("unknown_factor", H + '[[endowment]]\nregion = "HOME"\nfactor = "land"\nscale = 1.1\n',
     ScenarioError, ["endowment[1].factor", "'land'", "labour, capital"]),
    ("bad_local_group", H + '[groups]\nregions.g = ["HOME", "MOON"]\n', ScenarioError,
     ["groups.regions.g[2]", "MOON", "HOME, FOREIGN"]),
    ("no_pair", H + tariff(exporter='"HOME"'), ScenarioError,
     ["tariff[1]", "exporter != importer"]),
    ("tariff_add_minus_100", H + tariff(add="-100"), ScenarioError,
     ["tariff[1].add", "-100", "must be > -100"]),
    ("tariff_add_minus_250", H + tariff(add="-250"), ScenarioError,
     ["tariff[1].add", "must be > -100"]),
    ("tariff_set_minus_100", H + tariff(add=None, set="-100"), ScenarioError,
     ["tariff[1].set", "must be > -100"]),
    ("export_tax_set_minus_150", H + tariff(add=None, set="-150").replace("tariff",
                                                                          "export_tax"),
     ScenarioError, ["export_tax[1].set", "must be > -100"]),
    ("trade_cost_add_minus_100", H + tariff(add="-100").replace("tariff", "trade_cost"),
     ScenarioError, ["trade_cost[1].add", "must be > -100"]),
    ("output_tax_minus_100", H + '[[output_tax]]\nregion = "HOME"\ncommodities = "all"\n'
     "add = -100\n", ScenarioError, ["output_tax[1].add", "must be > -100"]),
    ("tariff_multiply_zero", H + tariff(add=None, multiply="0"), ScenarioError,
     ["tariff[1].multiply", "must be > 0"]),
    ("two_modes", H + tariff(set="5"), ScenarioError, ["tariff[1]", "add", "set"]),
    ("no_mode", H + tariff(add=None), ScenarioError, ["tariff[1]", "add", "set", "multiply"]),
    ("nan_rate", H + tariff(add="nan"), ScenarioError, ["tariff[1].add", "finite number"]),
    ("inf_rate", H + tariff(add="inf"), ScenarioError, ["tariff[1].add", "finite number"]),
    ("bool_rate", H + tariff(add="true"), ScenarioError, ["tariff[1].add"]),
    ("string_rate", H + tariff(add='"ten"'), ScenarioError, ["tariff[1].add"]),
    # composition reaches -100 % only once the two shocks are applied to the model
    ("composed_rate_minus_120", H + tariff(add="-60") + tariff(add="-60"), ScenarioError,
     ["tariff[2]", "-120.00%", "must stay > -100 %"]),
    ("transfer_above_income", H + TRANSFER + "amount = 1e6\n", ScenarioError,
     ["transfer[1]", "exceeds the payer's benchmark income"]),
    ("transfer_negative", H + TRANSFER + "amount = -5\n", ScenarioError,
     ["transfer[1].amount", ">= 0"]),
    ("transfer_share_100", H + TRANSFER + "share_of_payer_gdp = 100\n", ScenarioError,
     ["transfer[1].share_of_payer_gdp", "(0, 100)"]),
    ("transfer_to_self", H + '[[transfer]]\npayer = "HOME"\nrecipient = "HOME"\namount = 1\n',
     ScenarioError, ["transfer[1].recipient", "must differ"]),
    ("transfer_group_payer", H + '[[transfer]]\npayer = "all"\nrecipient = "HOME"\n'
     "amount = 1\n", ScenarioError, ["transfer[1].payer", "HOME, FOREIGN"]),
    ("defense_scale_zero", H + '[[defense]]\nregion = "HOME"\nscale = 0\n', ScenarioError,
     ["defense[1].scale", "> 0"]),
    ("defense_twice", H + '[[defense]]\nregion = "HOME"\nscale = 2\n[[defense]]\n'
     'region = "HOME"\nscale = 3\n', ScenarioError, ["defense[2]", "contradictory"]),
    ("endowment_negative", H + '[[endowment]]\nregion = "HOME"\nfactor = "labour"\n'
     "scale = -1\n", ScenarioError, ["endowment[1].scale", "> 0"]),
    ("unknown_closure_value", H + '[closure]\nfactor_market = "fixed"\n', ScenarioError,
     ["closure.factor_market", "'fixed'", "mobile, sector_specific_capital, unemployment"]),
    ("unknown_closure_key", H + '[closure]\nlabour_market = "mobile"\n', ScenarioError,
     ["closure.labour_market", "valid keys", "factor_market"]),
    ("bad_numeraire", H + '[closure]\nnumeraire = "cpi:MARS"\n', ScenarioError,
     ["closure.numeraire", "MARS", "HOME, FOREIGN"]),
    ("contradictory_closure", H + '[closure]\ninstitutions = "separate"\n'
     'external = "global_bank"\n', ClosureError,
     ["closure", "global_bank", "regional_household", "fixed_current_account"]),
    # economically impossible shocks, refused before solving (cge.shocks)
    ("transfers_together_above_income", H + (TRANSFER + "share_of_payer_gdp = 60\n") * 2,
     ScenarioError, ["transfer[2]", "with 82.8 paid in earlier tables",
                     "exceeds the payer's benchmark income 138"]),
    ("host_cannot_pay_stationing", H + TRANSFER + "share_of_payer_gdp = 80\n"
     '[[stationing]]\nbuyer = "FOREIGN"\nhost = "HOME"\namount = 50\npaid_by = "host"\n',
     ScenarioError, ["stationing[1].paid_by", "HOME would pay 160.4", "exceeds"]),
    ("stationing_above_host_gdp", H + '[[stationing]]\nbuyer = "FOREIGN"\nhost = "HOME"\n'
     "amount = 150\n", ScenarioError, ["stationing[1]", "entire benchmark GDP 138"]),
    ("defense_leaves_no_consumption", H + '[[defense]]\nregion = "HOME"\nshare_of_gdp = 99\n',
     ScenarioError, ["defense[1]", "impossible at benchmark prices",
                     "HOME's private consumption would be -38.62", "must stay positive"]),
    ("defense_scale_leaves_no_consumption", H + '[[defense]]\nregion = "FOREIGN"\n'
     "scale = 100\n", ScenarioError, ["defense[1]", "FOREIGN's private consumption"]),
    ("defense_beyond_government_budget", H + '[closure]\ninstitutions = "separate"\n'
     '[[defense]]\nregion = "HOME"\nscale = 20\nfinancing = "spending_cut"\n', ScenarioError,
     ["defense[1]", "civil government purchases would be -43.5", "budget 16.5"]),
    ("stationing_beyond_buyer_budget", H + '[closure]\ninstitutions = "separate"\n'
     '[[stationing]]\nbuyer = "FOREIGN"\nhost = "HOME"\namount = 80\n[[defense]]\n'
     'region = "FOREIGN"\nscale = 1\nfinancing = "spending_cut"\n', ScenarioError,
     ["stationing[1]", "FOREIGN's civil government purchases"]),
    ("tax_financed_defense_beyond_household", H + '[closure]\ninstitutions = "separate"\n'
     '[[defense]]\nregion = "HOME"\nshare_of_gdp = 90\nfinancing = "direct_tax"\n',
     ScenarioError, ["defense[1]", "HOME's household consumption would be"]),
    ("productivity_1e200", H + '[[productivity]]\nregions = "HOME"\nfactors = "labour"\n'
     "scale = 1e200\n", ScenarioError, ["productivity[1].scale", "[0.001, 1000]"]),
    ("endowment_zero", H + '[[endowment]]\nregion = "HOME"\nfactor = "labour"\nscale = 0\n',
     ScenarioError, ["endowment[1].scale", "> 0"]),
    ("endowment_composed_beyond_range", H + ('[[endowment]]\nregion = "HOME"\n'
                                             'factor = "labour"\nscale = 50\n') * 2,
     ScenarioError, ["endowment[2].scale", "2500 times the benchmark", "[0.001, 1000]"]),
    ("composed_rate_above_100000", H + tariff(add="60000") + tariff(add="60000"),
     ScenarioError, ["tariff[2]", "at most 100000 %"]),
    ("composed_trade_cost_above_100000", H + (tariff(add="60000") * 2).replace(
        "tariff", "trade_cost"), ScenarioError, ["trade_cost[2]", "100000 %]"]),
]


@pytest.mark.parametrize(("text", "exc_type", "fragments"),
                         [pytest.param(t, e, f, id=i) for i, t, e, f in BAD_SCENARIOS])
def test_bad_scenario_file(tmp_path, text, exc_type, fragments):
    """One clear error naming the file, the field and the allowed values; the session's model
    is left at the benchmark; nothing is written next to the file."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    before = tree_state(tmp_path)
    session = tiny_session()
    with pytest.raises(exc_type) as info:
        session.run(path)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    assert_mentions(msg, *fragments)
    assert isinstance(info.value, ScenarioError)
    assert tree_state(tmp_path) == before
    # the model is still usable and unchanged: the benchmark scenario replicates
    res = session.run(toml='name = "bench"\n')
    assert float(abs(res.EV).max()) <= 1e-6
    assert res.attrs["solver_iterations"] == 0


def test_contradictory_closure_is_options_error_too():
    """separate institutions + global_bank: an OptionsError (the issue's contract) that is also
    a ScenarioError naming the source and the field; and as plain options as well."""
    text = H + '[closure]\ninstitutions = "separate"\nexternal = "global_bank"\n'
    with pytest.raises(OptionsError) as info:
        tiny_session().scenario(toml=text)
    assert isinstance(info.value, ScenarioError)
    assert info.value.field == "closure" and info.value.source == "<string>"
    with pytest.raises(OptionsError, match="global_bank"):
        ModelOptions(institutions="separate", external="global_bank")
    # a closure that contradicts the *session's* options (not the scenario's own keys)
    sess = cge.Session(two_by_two(), ELASTICITIES, ModelOptions(institutions="separate"))
    with pytest.raises(ClosureError, match="global_bank"):
        sess.run(toml=H + '[closure]\nexternal = "global_bank"\n')


# --------------------------------------------------------------------------------------------
# 2. Benchmark data: corrupted copies of data/wiod2011
# --------------------------------------------------------------------------------------------
def _edit_value(line_no: int, new: str):
    def edit(text: str) -> str:
        lines = text.splitlines()
        head, _ = lines[line_no - 1].rsplit(",", 1)
        lines[line_no - 1] = f"{head},{new}"
        return "\n".join(lines) + "\n"
    return edit


def _scale_value(text: str) -> str:
    lines = text.splitlines()
    head, val = lines[1].rsplit(",", 1)
    lines[1] = f"{head},{float(val) * 1.5!r}"
    return "\n".join(lines) + "\n"


def _replace_line(line_no: int, new: str):
    def edit(text: str) -> str:
        lines = text.splitlines()
        lines[line_no - 1] = new
        return "\n".join(lines) + "\n"
    return edit


#: (id, file, edit, fragments of the message besides the file path).
BAD_DATA = [
    ("negative_flow", "vxmd.csv", _edit_value(2, "-17055"),
     ["vxmd.csv", "line 2", "negative", ">= 0"]),
    ("nan_value", "vxmd.csv", _edit_value(2, "nan"), ["vxmd.csv", "line 2", "'nan'",
                                                      "finite number"]),
    ("NA_value", "vfm.csv", _edit_value(3, "NA"), ["vfm.csv", "line 3", "'NA'"]),
    ("inf_value", "vdfm.csv", _edit_value(2, "inf"), ["vdfm.csv", "line 2", "finite"]),
    ("empty_value", "vom.csv", _edit_value(2, ""), ["vom.csv", "line 2", "''"]),
    ("text_value", "vifd.csv", _edit_value(2, "abc"), ["vifd.csv", "line 2", "'abc'"]),
    ("extra_field", "vxmd.csv", lambda t: t.replace("\n", ",5\n", 2).replace(",5\n", "\n", 1),
     ["vxmd.csv", "Expected 4 fields"]),
    ("bad_header", "vtm.csv", lambda t: t.replace("value", "val", 1),
     ["vtm.csv", "columns", "expected", "'value'"]),
    ("empty_file", "vtx.csv", lambda t: "", ["vtx.csv", "not a readable CSV"]),
    ("unknown_region", "vxmd.csv", lambda t: t.replace(",USA,JPN,", ",USA,JAP,", 1),
     ["vxmd.csv", "unknown importer", "JAP", "JPN"]),
    ("unknown_sector", "vom.csv", lambda t: t.replace("agri_food", "agrifood", 1),
     ["vom.csv", "unknown activity", "agrifood", "agri_food"]),
    ("duplicate_row", "vxmd.csv", lambda t: t + t.splitlines()[1] + "\n",
     ["vxmd.csv", "duplicated rows"]),
    ("unbalanced", "vxmd.csv", _scale_value,
     ["is unbalanced", "domestic market does not balance", "import market does not balance",
      "agri_food/USA: -8527.5", "US$ million"]),
    ("toml_malformed", "dataset.toml", lambda t: t + "\n[[[oops\n",
     ["dataset.toml", "cannot read"]),
    ("toml_duplicate_region", "dataset.toml",
     lambda t: t.replace('region = ["USA"', 'region = ["USA", "USA"', 1),
     ["dataset.toml", "'region'", "USA", "more than once"]),
    ("toml_no_source", "dataset.toml", lambda t: t.replace("[arrays.vtm]", "[arrays.vtmx]"),
     ["dataset.toml", "vtm"]),
    ("missing_file", "vtrf.csv", None, ["vtrf.csv", "file missing"]),
]


@pytest.fixture(scope="module")
def wiod_copy_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wiod_copies")


@pytest.mark.parametrize(("fname", "edit", "fragments"),
                         [pytest.param(f, e, fr, id=i) for i, f, e, fr in BAD_DATA])
@pytest.mark.parametrize("entry", ["load_benchmark", "load_data", "Session"])
def test_corrupted_benchmark(wiod_copy_root, request, entry, fname, edit, fragments):
    """A corrupted copy of data/wiod2011: one DataError naming the folder or file (and the row or
    accounts); the folder is left exactly as it was."""
    folder = wiod_copy_root / f"{request.node.callspec.id}"
    shutil.copytree(WIOD, folder)
    target = folder / fname
    if edit is None:
        target.unlink()
    else:
        target.write_text(edit(target.read_text()))
    before = tree_state(folder)
    call = {"load_benchmark": load_benchmark, "load_data": cge.load_data,
            "Session": lambda p: cge.Session(p)}[entry]
    with pytest.raises(DataError) as info:
        call(folder)
    msg = str(info.value)
    assert msg.startswith(str(folder)), msg
    assert_mentions(msg, *fragments)
    assert tree_state(folder) == before


def test_unbalanced_dataset_names_accounts_and_gap():
    """An in-memory data set that does not balance: the accounts and the size of the gap."""
    ds = two_by_two()
    ds["vdfd"].loc[{"commodity": "food", "agent": "household", "region": "HOME"}] += 7.0
    with pytest.raises(DataError) as info:
        cge.Session(ds, ELASTICITIES)
    assert_mentions(str(info.value), "two_by_two", "unbalanced", "domestic market",
                    "food/HOME: -7", "household budget", "HOME: -7")


@pytest.mark.parametrize(("array", "cell", "value", "fragments"), [
    ("vxmd", {"commodity": "food", "exporter": "HOME", "importer": "FOREIGN"}, -1.0,
     ["'vxmd'", "negative", "commodity=food, exporter=HOME, importer=FOREIGN"]),
    ("vfm", {"factor": "labour", "activity": "food", "region": "HOME"}, float("nan"),
     ["'vfm'", "NaN or infinite", "factor=labour, activity=food, region=HOME"]),
    ("vdfd", {"commodity": "cloth", "agent": "household", "region": "FOREIGN"}, float("inf"),
     ["'vdfd'", "NaN or infinite"]),
])
def test_negative_or_nan_in_memory_data(array, cell, value, fragments):
    ds = two_by_two()
    ds[array].loc[cell] = value
    with pytest.raises(DataError) as info:
        cge.Session(ds, ELASTICITIES)
    assert_mentions(str(info.value), "two_by_two", *fragments)


def test_load_data_unknown_name():
    with pytest.raises(DataError, match="'no_such_data_set' not found"):
        cge.load_data("no_such_data_set")


# --------------------------------------------------------------------------------------------
# 3. Elasticities: 0 (Leontief) is allowed; negative, NaN, inf, non-numbers are errors
# --------------------------------------------------------------------------------------------
BAD_ELASTICITY_DICTS = [
    ("negative", {"esubd": -1.0, "esubm": 4.0, "esubva": 1.0}, ["esubd", ">= 0", "food"]),
    ("nan", {"esubd": 2.0, "esubm": float("nan"), "esubva": 1.0}, ["esubm", "finite"]),
    ("inf", {"esubd": 2.0, "esubm": 4.0, "esubva": float("inf")}, ["esubva", "finite"]),
    ("negative_one_commodity", {"esubd": {"food": 2.0, "cloth": -0.5}, "esubm": 4.0,
                                "esubva": 1.0}, ["esubd", "cloth", "-0.5"]),
    ("string", {"esubd": "two", "esubm": 4.0, "esubva": 1.0}, ["esubd[food]", "'two'"]),
    ("none", {"esubd": 2.0, "esubm": None, "esubva": 1.0}, ["esubm[food]", "None"]),
    ("bool", {"esubd": True, "esubm": 4.0, "esubva": 1.0}, ["esubd[food]", "bool"]),
    ("missing_key", {"esubd": 2.0, "esubm": 4.0}, ["esubva", "missing"]),
    ("unknown_key", {**ELASTICITIES, "esub_top": 0.5}, ["unknown keys", "esub_top",
                                                        "esubd", "esubm", "esubva"]),
    ("missing_commodity", {"esubd": {"food": 2.0}, "esubm": 4.0, "esubva": 1.0},
     ["esubd", "cloth", "food, cloth".replace(", ", "', '")]),
    ("unknown_commodity", {"esubd": {"food": 2.0, "cloth": 2.0, "cars": 1.0}, "esubm": 4.0,
                           "esubva": 1.0}, ["esubd", "cars", "valid commodities"]),
]


@pytest.mark.parametrize(("elast", "fragments"),
                         [pytest.param(e, f, id=i) for i, e, f in BAD_ELASTICITY_DICTS])
def test_bad_elasticity_dict(elast, fragments):
    with pytest.raises(DataError) as info:
        cge.Session(two_by_two(), elast)
    assert_mentions(str(info.value), "elasticities", *fragments)


BAD_ELASTICITY_CSVS = [
    ("negative", "food,-2,4,1,x\ncloth,2,4,1,x\n", ["esubd", "food", ">= 0"]),
    ("nan", "food,2,nan,1,x\ncloth,2,4,1,x\n", ["esubm", "food", "finite"]),
    ("text", "food,2,4,abc,x\ncloth,2,4,1,x\n", ["esubva", "food"]),
    ("empty_cell", "food,2,4,,x\ncloth,2,4,1,x\n", ["esubva", "food"]),
    ("missing_commodity", "food,2,4,1,x\n", ["no elasticities for commodities", "cloth"]),
    ("duplicate_commodity", "food,2,4,1,x\nfood,3,4,1,x\ncloth,2,4,1,x\n",
     ["food", "more than once"]),
]


@pytest.mark.parametrize(("body", "fragments"),
                         [pytest.param(b, f, id=i) for i, b, f in BAD_ELASTICITY_CSVS])
def test_bad_elasticity_csv(tmp_path, body, fragments):
    path = tmp_path / "el.csv"
    path.write_text("commodity,esubd,esubm,esubva,source\n" + body)
    with pytest.raises(DataError) as info:
        cge.Session(two_by_two(), path)
    assert_mentions(str(info.value), str(path), *fragments)


@pytest.mark.parametrize("header", ["commodity,esubd,esubm,source", "sector,esubd,esubm,esubva"])
def test_elasticity_csv_missing_column(tmp_path, header):
    path = tmp_path / "el.csv"
    path.write_text(header + "\nfood,1,2,3\ncloth,1,2,3\n")
    with pytest.raises(DataError, match="columns .* missing"):
        load_elasticities(path, ["food", "cloth"])


def test_unknown_elasticity_set():
    with pytest.raises(DataError, match="elasticity set 'gtap_v11' not found"):
        cge.Session(two_by_two(), "gtap_v11")


def test_zero_elasticities_are_leontief_not_errors():
    """σ = 0 is allowed (Leontief): the session builds and replicates the benchmark."""
    sess = cge.Session(two_by_two(), {"esubd": 0.0, "esubm": 0.0, "esubva": 0.0})
    res = sess.run(toml='name = "bench"\n')
    assert res.attrs["solver_iterations"] == 0


# --------------------------------------------------------------------------------------------
# 4. Model options
# --------------------------------------------------------------------------------------------
BAD_OPTIONS = [
    ("unknown_institutions", {"institutions": "sepparate"},
     ["institutions", "regional_household", "separate"]),
    ("unknown_factor_market", {"factor_market": "fixed"},
     ["factor_market", "mobile", "sector_specific_capital", "unemployment"]),
    ("unknown_external", {"external": "bank"}, ["external", "global_bank"]),
    ("unknown_transformation", {"transformation": "cte"}, ["transformation", "cet"]),
    ("separate_global_bank", {"institutions": "separate", "external": "global_bank"},
     ["global_bank", "fixed_current_account"]),
    ("cet_zero", {"transformation": "cet", "esub_cet": 0.0}, ["esub_cet", "> 0"]),
    ("cet_nan", {"transformation": "cet", "esub_cet": float("nan")}, ["esub_cet"]),
    ("esub_top_negative", {"esub_top": -0.5}, ["esub_top", ">= 0"]),
    ("esub_top_nan", {"esub_top": float("nan")}, ["esub_top", "finite"]),
    ("esub_top_string", {"esub_top": "0.5"}, ["esub_top", "number"]),
    ("esub_final_nan", {"esub_final": {"household": float("nan")}},
     ["esub_final['household']", "finite"]),
    ("esub_final_negative", {"esub_final": {"investment": -1.0}},
     ["esub_final['investment']", ">= 0"]),
    ("esub_final_unknown_agent", {"esub_final": {"houshold": 1.0}},
     ["esub_final", "houshold", "household", "investment"]),
]


@pytest.mark.parametrize(("kwargs", "fragments"),
                         [pytest.param(k, f, id=i) for i, k, f in BAD_OPTIONS])
def test_bad_options(kwargs, fragments):
    with pytest.raises(OptionsError) as info:
        ModelOptions(**kwargs)
    assert_mentions(str(info.value), *fragments)


def test_bad_numeraire_option_at_build():
    sess = cge.Session(two_by_two(), ELASTICITIES, ModelOptions(numeraire="cpi:MARS"))
    with pytest.raises(OptionsError, match="MARS"):
        sess.model()


def test_impossible_scenario_numeraire_names_the_file(tmp_path):
    """A numeraire that the closure cannot support (a factor price with sector-specific
    capital): found while building, reported as a ClosureError naming the file."""
    path = tmp_path / "num.toml"
    path.write_text(H + '[closure]\nfactor_market = "sector_specific_capital"\n'
                        'numeraire = "factor_price:capital:HOME"\n')
    with pytest.raises(ClosureError) as info:
        tiny_session().run(path)
    assert_mentions(str(info.value), str(path), "closure", "numeraire")


# --------------------------------------------------------------------------------------------
# 5. Runner: validation before anything is written; earlier files untouched
# --------------------------------------------------------------------------------------------
GOOD_TINY = H.replace('"t"', '"good_a"') + tariff(add="15")
GOOD_TINY_2 = 'name = "good_b"\n' + tariff(add="5").replace("HOME", "X").replace(
    "FOREIGN", "HOME").replace("X", "FOREIGN")


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


#: (id, bad scenario text, expected exception type, fragments)
RUNNER_BAD = [
    ("parse_error", H + tariff(importer='"HOM"'), ScenarioError, ["tariff[1].importer"]),
    ("apply_error_transfer", H + TRANSFER + "amount = 1e6\n", ScenarioError,
     ["transfer[1]", "exceeds"]),
    ("apply_error_rate", H + tariff(add="-60") + tariff(add="-60"), ScenarioError,
     ["tariff[2]", "-100 %"]),
    ("closure", H + '[closure]\ninstitutions = "separate"\nexternal = "global_bank"\n',
     OptionsError, ["closure", "global_bank"]),
    ("duplicate_name", 'name = "good_a"\n', ScenarioError, ["name", "'good_a'", "also used"]),
]


@pytest.mark.parametrize(("bad", "exc_type", "fragments"),
                         [pytest.param(b, e, f, id=i) for i, b, e, f in RUNNER_BAD])
def test_runner_bad_scenario_writes_nothing(tmp_path, tiny_dirs, bad, exc_type, fragments):
    """One bad scenario among good ones: the error comes before anything is written, both into
    an empty output folder and into one holding earlier results (left byte-identical)."""
    data, elast = tiny_dirs
    src = tmp_path / "scen"
    files = [_write(src, "good_a", GOOD_TINY), _write(src, "bad", bad),
             _write(src, "good_b", GOOD_TINY_2)]
    empty_out = tmp_path / "out_empty"
    empty_out.mkdir()
    with pytest.raises(exc_type) as info:
        run_scenarios([str(p) for p in files], data=str(data), elasticities=str(elast),
                      out_dir=empty_out, echo=False)
    assert_mentions(str(info.value), str(files[1]), *fragments)
    assert tree_state(empty_out) == {}

    full_out = tmp_path / "out_full"
    (full_out / "results").mkdir(parents=True)
    (full_out / "results" / "good_a.nc").write_bytes(b"earlier results of good_a")
    (full_out / "counterfactual.nc").write_bytes(b"earlier stack")
    (full_out / "counterfactual.pdf").write_bytes(b"%PDF earlier report")
    before = tree_state(full_out)
    with pytest.raises(exc_type):
        run_scenarios([str(p) for p in files], data=str(data), elasticities=str(elast),
                      out_dir=full_out, echo=False)
    assert tree_state(full_out) == before


def test_runner_default_data_bad_scenario_writes_nothing(tmp_path):
    """The same on the default data (wiod2011) with the shipped scenarios around a bad one."""
    bad = _write(tmp_path / "scen", "bad", 'name = "bad"\n[[tariff]]\nimporter = "USA"\n'
                 'exporter = "JAPAN"\ncommodities = "all"\nadd = 10\n')
    out = tmp_path / "out"
    with pytest.raises(ScenarioError) as info:
        run_scenarios(["us_baseline_10", str(bad), "benchmark"], out_dir=out, echo=False)
    assert_mentions(str(info.value), str(bad), "tariff[1].exporter", "'JAPAN'",
                    "did you mean 'JPN'", "USA, JPN")
    assert tree_state(out) == {}


def test_runner_unknown_scenario_name(tmp_path):
    with pytest.raises(ScenarioError, match="not_a_scenario: no such scenario file or library "
                       "name.*cge list"):
        run_scenarios(["benchmark", "not_a_scenario"], out_dir=tmp_path, echo=False)
    assert tree_state(tmp_path) == {}


# --------------------------------------------------------------------------------------------
# 6. Command line: exit code 2, one message on stderr, nothing written
# --------------------------------------------------------------------------------------------
CLI_CASES = [
    ("bad_region", H + tariff(importer='"HOM"'), [], ["tariff[1].importer", "HOME, FOREIGN"]),
    ("malformed", H + "[[tariff]\n", [], ["invalid TOML"]),
    ("tariff_minus_100", H + tariff(add="-100"), [], ["tariff[1].add", "> -100"]),
    ("transfer_above_income", H + TRANSFER + "amount = 1e6\n", [], ["transfer[1]", "exceeds"]),
    ("closure", H + '[closure]\ninstitutions = "separate"\nexternal = "global_bank"\n', [],
     ["closure", "global_bank"]),
]


@pytest.mark.parametrize(("text", "extra", "fragments"),
                         [pytest.param(t, e, f, id=i) for i, t, e, f in CLI_CASES])
def test_cli_bad_scenario(tmp_path, tiny_dirs, capsys, text, extra, fragments):
    data, elast = tiny_dirs
    good = _write(tmp_path / "scen", "good_a", GOOD_TINY)
    bad = _write(tmp_path / "scen", "bad", text)
    out = tmp_path / "out"
    code = cli_main(["run", str(good), str(bad), "--data", str(data), "--elasticities",
                     str(elast), "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ") and captured.err.count("error: ") == 1
    assert "Traceback" not in captured.err
    assert_mentions(captured.err, str(bad), *fragments)
    assert captured.out == ""
    assert tree_state(out) == {}


@pytest.mark.parametrize(("args", "fragments"), [
    pytest.param(["run", "no_such_scenario"], ["no_such_scenario", "cge list"], id="unknown_name"),
    pytest.param(["run", "benchmark", "--data", "no_such_data"], ["no_such_data",
                                                                   "not found"],
                 id="unknown_data"),
    pytest.param(["run", "benchmark", "--elasticities", "gtap_v11"], ["gtap_v11", "not found"],
                 id="unknown_elasticities"),
])
def test_cli_bad_arguments(tmp_path, capsys, args, fragments):
    out = tmp_path / "out"
    code = cli_main([*args, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert_mentions(captured.err, "error: ", *fragments)
    assert tree_state(out) == {}


def test_cli_corrupted_data(tmp_path, capsys):
    folder = tmp_path / "wiod_bad"
    shutil.copytree(WIOD, folder)
    target = folder / "vfm.csv"
    target.write_text(_edit_value(2, "-1")(target.read_text()))
    out = tmp_path / "out"
    code = cli_main(["run", "benchmark", "--data", str(folder), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert_mentions(captured.err, str(target), "line 2", "negative")
    assert tree_state(out) == {}


# --------------------------------------------------------------------------------------------
# 7. Whole-path fuzz: random TOML that parses -> Session.run on two_by_two
# --------------------------------------------------------------------------------------------
# mostly valid tokens and sizes, with a minority of invalid ones, so that the fuzz reaches the
# solver as well as the parser
_REGION = st.sampled_from(['"HOME"', '"FOREIGN"', '"all"', '"all_but:HOME"', '["HOME"]',
                           '["HOME", "FOREIGN"]', '"FOREIGN"', '"HOME"', '"MARS"'])
_COMMODITY = st.sampled_from(['"food"', '"cloth"', '"all"', '"all_but:food"', '["cloth"]',
                              '"all"', '"cars"'])
_FACTOR = st.sampled_from(['"labour"', '"capital"', '"all"', '"labour"', '"land"'])
_NUMBER = st.one_of(
    st.floats(min_value=0.5, max_value=60, allow_nan=False).map(repr),
    st.floats(min_value=0.5, max_value=60, allow_nan=False).map(repr),
    st.sampled_from(["0", "1", "-1", "-99.9", "-100", "1e3", "1e4", "5000", "1e308", "nan",
                     "inf", "-0.0", "true", '"x"']),
    st.floats(min_value=-150, max_value=2000, allow_nan=False).map(repr),
    st.integers(min_value=-200, max_value=10_000).map(str),
)
_CLOSURE_VALUES = {
    "factor_market": ['"mobile"', '"unemployment"', '"sector_specific_capital"', '"fixed"'],
    "external": ['"fixed_current_account"', '"global_bank"'],
    "institutions": ['"regional_household"', '"separate"'],
    "transformation": ['"none"', '"cet"'],
    "numeraire": ['"world_factor_price"', '"cpi:HOME"', '"factor_price:labour:FOREIGN"',
                  '"cpi:MARS"'],
}
_RATE_KIND = st.sampled_from(["tariff", "export_tax", "trade_cost"])
_RATE_MODE = st.sampled_from(["add", "set", "multiply"])


@st.composite
def _shock_table(draw) -> str:
    kind = draw(st.sampled_from(["rate", "output_tax", "transfer", "defense", "endowment",
                                 "productivity"]))
    if kind == "rate":
        return (f"[[{draw(_RATE_KIND)}]]\nimporter = {draw(_REGION)}\n"
                f"exporter = {draw(_REGION)}\ncommodities = {draw(_COMMODITY)}\n"
                f"{draw(_RATE_MODE)} = {draw(_NUMBER)}\n")
    if kind == "output_tax":
        return (f"[[output_tax]]\nregion = {draw(_REGION)}\ncommodities = {draw(_COMMODITY)}\n"
                f"{draw(_RATE_MODE)} = {draw(_NUMBER)}\n")
    if kind == "transfer":
        payer, recipient = draw(st.permutations(['"HOME"', '"FOREIGN"']))
        mode = draw(st.sampled_from(["amount", "share_of_payer_gdp"]))
        return (f"[[transfer]]\npayer = {payer}\nrecipient = {recipient}\n"
                f"{mode} = {draw(_NUMBER)}\n")
    if kind == "defense":
        mode = draw(st.sampled_from(["scale", "share_of_gdp"]))
        return f"[[defense]]\nregion = {draw(_REGION)}\n{mode} = {draw(_NUMBER)}\n"
    return (f"[[{kind}]]\nregions = {draw(_REGION)}\nfactors = {draw(_FACTOR)}\n"
            f"scale = {draw(_NUMBER)}\n")


@st.composite
def _scenario_text(draw) -> str:
    parts = ['name = "fuzz"\n']
    closure = {}
    for key, values in _CLOSURE_VALUES.items():
        if draw(st.integers(0, 3)) == 0:
            closure[key] = draw(st.sampled_from(values))
    if closure:
        parts.append("[closure]\n" + "".join(f"{k} = {v}\n" for k, v in closure.items()))
    parts += draw(st.lists(_shock_table(), min_size=0, max_size=4))
    return "".join(parts)


@lru_cache(maxsize=1)
def _structural_nan() -> dict[str, np.ndarray]:
    """NaN masks of the benchmark results: cells that are undefined by construction (e.g. the %
    change of a trade flow that is zero in the benchmark, or intra-region trade)."""
    res = tiny_session().run(toml='name = "bench"\n')
    return {k: np.isnan(da.values) for k, da in res.data_vars.items()
            if np.issubdtype(da.dtype, np.number)}


def _check_clean(res) -> None:
    """A solution: optimal, residual and Walras slack below 1e-8, no NaN beyond the structural
    ones of the benchmark results."""
    assert res.attrs["solver_status"] == "optimal"
    assert float(res.attrs["solver_max_residual"]) <= RESIDUAL_TOL
    assert abs(float(res.attrs["solver_walras_slack"])) <= WALRAS_TOL
    structural = _structural_nan()
    for name, da in res.data_vars.items():
        if np.issubdtype(da.dtype, np.number):
            extra = np.isnan(da.values) & ~structural[name]
            assert not bool(extra.any()), f"NaN in {name} where the benchmark has a value"


FUZZ_RUN = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
#: The slow fuzz is reproducible: derandomized (hypothesis derives its seed from the test);
#: the random-seed variant prints its seed on failure.
FUZZ_RUN_SLOW = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                         suppress_health_check=[HealthCheck.too_slow])
FUZZ_RUN_RANDOM = settings(max_examples=300, deadline=None, database=None,
                           suppress_health_check=[HealthCheck.too_slow])
#: Each example is written here before it runs: should the process die (a crash in native
#: code kills pytest), the file names the example. The subprocess fuzz of
#: tests/test_crash_fuzz.py reports such a crash as a test failure instead.
LAST_EXAMPLE = Path(tempfile.gettempdir()) / f"cge_fuzz_last_example_{os.getpid()}.toml"


@pytest.fixture(scope="module", autouse=True)
def _forget_last_example():
    """The file is only of use after a crash: a run that ends normally removes it."""
    yield
    LAST_EXAMPLE.unlink(missing_ok=True)


def _fuzz_one(text: str) -> None:
    LAST_EXAMPLE.write_text(text, encoding="utf-8")
    try:
        res = tiny_session().run(toml=text)
    except (ScenarioError, SolveError) as exc:
        assert str(exc)
        event(type(exc).__name__)
        return
    event("solved")
    _check_clean(res)


@FUZZ_RUN
@given(_scenario_text())
def test_fuzz_whole_path(text):
    """Only ScenarioError (incl. ClosureError) or SolveError escape; a result is clean."""
    _fuzz_one(text)


@pytest.mark.slow
@FUZZ_RUN_SLOW
@given(_scenario_text())
def test_fuzz_whole_path_slow(text):
    """300 examples, the same in every run."""
    _fuzz_one(text)


@pytest.mark.slow
def test_fuzz_whole_path_random_seed():
    """300 examples from a new seed each run; the seed is in the failure message
    (``CGE_FUZZ_SEED=<seed> pytest -m slow -k random_seed`` reruns it)."""
    fuzz_seed = int(os.environ.get("CGE_FUZZ_SEED") or random.SystemRandom().randrange(2**32))

    @seed(fuzz_seed)
    @FUZZ_RUN_RANDOM
    @given(_scenario_text())
    def run(text):
        _fuzz_one(text)

    try:
        run()
    except Exception as exc:
        raise AssertionError(f"whole-path fuzz failed with seed {fuzz_seed} (rerun with "
                             f"CGE_FUZZ_SEED={fuzz_seed}): {exc}") from exc


def test_unknown_labour_factor_is_options_error():
    sess = cge.Session(two_by_two(), ELASTICITIES,
                       ModelOptions(labour="work", factor_market="unemployment"))
    with pytest.raises(OptionsError, match="work"):
        sess.model()


def test_build_data_command_calls_the_builder(monkeypatch, capsys, tmp_path):
    """`make data` / `cge build-data [--out X]` runs :func:`cge.databuild.build.build_all` with the
    output folder (None: the repository's data/) and prints its notes unless --quiet; what the
    builder does without the raw WIOD file is tested in tests/test_data_build.py."""
    import cge.databuild.build as build

    calls: list = []

    def fake(out=None, *, echo=print):
        calls.append(out)
        echo("note: building")
        return []

    monkeypatch.setattr(build, "build_all", fake)
    assert cli_main(["build-data"]) == 0
    assert cli_main(["build-data", "--out", str(tmp_path)]) == 0
    assert calls == [None, tmp_path]
    assert capsys.readouterr().out.count("note: building") == 2
    assert cli_main(["-q", "build-data"]) == 0
    assert capsys.readouterr().out == ""
