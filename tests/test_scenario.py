"""Tests of cge.scenario: TOML scenario files -> validated shocks, and one error type."""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from pathlib import Path

import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cge.scenario import (
    CLOSURE_OPTIONS,
    DefenseShock,
    FactorShock,
    RateShock,
    Scenario,
    ScenarioError,
    Sets,
    Transfer,
    load_scenario,
    parse_scenario,
)

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"

#: The scenario files use the data-set groups (goods, goods_ex_232, autos, deal_partners, ...)
#: that wiod2011's mapping file defines.
_WIOD_GROUPS = tomllib.loads((SCENARIO_DIR.parent / "data" / "maps" / "wiod2011.toml")
                            .read_text(encoding="utf-8"))["groups"]
DEFAULT_SETS = Sets(
    regions=("USA", "JPN", "EU", "KOR", "CHN", "CAN", "MEX", "ROW"),
    commodities=("agri_food", "energy", "chemicals", "metals", "motor_vehicles", "electronics",
                 "machinery", "other_mfg", "services", "public_admin"),
    factors=("labour", "capital"),
    region_groups=_WIOD_GROUPS["regions"],
    commodity_groups=_WIOD_GROUPS["commodities"],
)

# A tiny hand-made set: three regions, three goods, two factors, one data-set group each.
TINY = Sets(
    regions=("AAA", "BBB", "CCC"),
    commodities=("food", "cars", "serv"),
    factors=("lab", "cap"),
    region_groups={"asia": ("CCC", "BBB")},
    commodity_groups={"goods": ("food", "cars")},
)

HEAD = 'name = "t"\n'


def parse(body: str, sets: Sets = TINY) -> Scenario:
    return parse_scenario(HEAD + body, sets, source="test.toml")


def tariff(**kw: object) -> str:
    fields = {"importer": '"AAA"', "exporter": '"BBB"', "commodities": '"all"', "add": "10"}
    fields.update({k: v for k, v in kw.items() if v is not None})
    for k in [k for k, v in kw.items() if v is None]:
        fields.pop(k)
    return "[[tariff]]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items())


# --------------------------------------------------------------------------------------------
# Example files
# --------------------------------------------------------------------------------------------
EXAMPLES = sorted(SCENARIO_DIR.glob("*.toml"))


def test_examples_exist() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"benchmark", "us_baseline_10", "us_jpn_reciprocal_autos",
            "us_jpn_reciprocal_autos_retaliation", "jpn_usa_transfer_0p1"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses(path: Path) -> None:
    sc = load_scenario(path, DEFAULT_SETS)
    assert sc.name == path.stem
    assert sc.source == str(path)
    assert sc.text == path.read_text(encoding="utf-8")
    assert sc.sha256 == hashlib.sha256(sc.text.encode()).hexdigest()
    assert sc.description
    assert sc.text.lstrip().startswith("#"), "example files begin with a comment block"


def test_example_contents() -> None:
    def load(stem: str) -> Scenario:
        return load_scenario(SCENARIO_DIR / f"{stem}.toml", DEFAULT_SETS)

    assert load("benchmark").is_benchmark

    (base,) = load("us_baseline_10").rate_shocks
    assert base.importers == ("USA",)
    assert base.exporters == ("JPN", "EU", "KOR", "CHN", "CAN", "MEX", "ROW")
    assert "services" not in base.commodities and "public_admin" not in base.commodities
    assert len(base.commodities) == 8
    assert (base.instrument, base.mode, base.value) == ("tm", "add", pytest.approx(0.10))

    rec = load("us_jpn_reciprocal_autos").rate_shocks
    cells = {}
    for s in rec:
        for c in s.cells():
            cells[c] = cells.get(c, 0.0) + s.value
    assert cells[("motor_vehicles", "JPN", "USA")] == pytest.approx(0.25)
    assert cells[("electronics", "JPN", "USA")] == pytest.approx(0.24)
    assert ("services", "JPN", "USA") not in cells

    ret = load("us_jpn_reciprocal_autos_retaliation").rate_shocks
    assert {(s.importers, s.exporters) for s in ret} == {(("USA",), ("JPN",)),
                                                         (("JPN",), ("USA",))}

    (tr,) = load("jpn_usa_transfer_0p1").transfers
    assert (tr.payer, tr.recipient, tr.amount) == ("JPN", "USA", None)
    assert tr.share_of_payer_gdp == pytest.approx(0.001)


# --------------------------------------------------------------------------------------------
# Resolution and conversion
# --------------------------------------------------------------------------------------------
def test_groups_builtin_dataset_and_local() -> None:
    sc = parse("""
[groups]
regions.west = ["BBB", "AAA"]
commodities.nocar = ["food", "serv"]
commodities.both = ["nocar", "goods"]
[[tariff]]
importer = "asia"
exporter = ["west", "CCC", "AAA"]
commodities = "both"
add = 5
""")
    (s,) = sc.rate_shocks
    assert s.importers == ("BBB", "CCC")              # the sets' order, not the group's
    assert s.exporters == ("AAA", "BBB", "CCC")       # unique
    assert s.commodities == ("food", "cars", "serv")
    # diagonal pairs are never shocked
    assert ("food", "BBB", "BBB") not in s.cells()
    assert len(s.cells()) == 3 * (3 * 2 - 2)


def test_all_but() -> None:
    (s,) = parse(tariff(exporter='"all_but:AAA"')).rate_shocks
    assert s.exporters == ("BBB", "CCC")
    (s,) = parse(tariff(commodities='"all_but:serv"')).rate_shocks
    assert s.commodities == ("food", "cars")
    with pytest.raises(ScenarioError, match=r"tariff\[1\]\.exporter.*'XXX'.*AAA, BBB, CCC"):
        parse(tariff(exporter='"all_but:XXX"'))


@pytest.mark.parametrize(("mode", "raw", "value"), [
    ("add", "10", 0.10), ("add", "-20.5", -0.205), ("set", "15", 0.15), ("set", "0", 0.0),
    ("multiply", "2", 2.0), ("add", "250", 2.5),
])
def test_rate_percent_to_fraction(mode: str, raw: str, value: float) -> None:
    (s,) = parse(tariff(**{"add": None, mode: raw})).rate_shocks
    assert s.mode == mode and s.value == pytest.approx(value)


def test_all_kinds_and_synonyms() -> None:
    sc = parse("""
[closure]
factor_market = "sector_specific_capital"
external = "global_bank"
institutions = "separate"
transformation = "cet"
numeraire = "factor_price:lab:BBB"
[[export_tax]]
exporters = ["AAA"]
importers = "all"
commodity = "food"
set = 5
[[trade_cost]]
exporter = "AAA"
importer = "BBB"
commodities = "goods"
add = -3
[[output_tax]]
regions = "asia"
commodities = "serv"
multiply = 0.5
[[transfer]]
payer = "AAA"
recipient = "BBB"
amount = 4000
[[transfer]]
payer = "BBB"
recipient = "CCC"
share_of_payer_gdp = 0.5
[[defense]]
regions = "asia"
share_of_gdp = 2
[[defense]]
region = "AAA"
scale = 1.5
[[endowment]]
region = "AAA"
factor = "lab"
scale = 1.1
[[productivity]]
regions = "all"
factors = ["cap", "lab"]
scale = 1.02
""")
    assert dict(sc.closure) == {"factor_market": "sector_specific_capital",
                                "external": "global_bank", "institutions": "separate",
                                "transformation": "cet", "numeraire": "factor_price:lab:BBB"}
    tx, tc, to = sc.rate_shocks
    assert tx == RateShock("tx", ("food",), ("AAA",), ("AAA", "BBB", "CCC"), "set", 0.05,
                           "export_tax[1]")
    assert tc.instrument == "trade_cost" and tc.value == pytest.approx(-0.03)
    assert to == RateShock("to", ("serv",), ("BBB", "CCC"), (), "multiply", 0.5, "output_tax[1]")
    assert to.cells() == (("serv", "BBB"), ("serv", "CCC"))
    assert sc.transfers == (Transfer("AAA", "BBB", 4000.0, None, "transfer[1]"),
                            Transfer("BBB", "CCC", None, 0.005, "transfer[2]"))
    assert sc.defense == (DefenseShock("BBB", "share_of_gdp", 0.02, "defense[1]"),
                          DefenseShock("CCC", "share_of_gdp", 0.02, "defense[1]"),
                          DefenseShock("AAA", "scale", 1.5, "defense[2]"))
    assert sc.factor_shocks == (
        FactorShock(("AAA",), ("lab",), "endowment", 1.1, "endowment[1]"),
        FactorShock(("AAA", "BBB", "CCC"), ("lab", "cap"), "productivity", 1.02,
                    "productivity[1]"))
    assert not sc.is_benchmark


def test_closure_only_is_benchmark_and_numeraires() -> None:
    for num in ("world_factor_price", "cpi:CCC", "factor_price:cap:AAA"):
        sc = parse(f'[closure]\nnumeraire = "{num}"\n')
        assert sc.is_benchmark and sc.closure == {"numeraire": num}
    assert set(CLOSURE_OPTIONS) == {"factor_market", "external", "institutions",
                                    "transformation", "numeraire"}


def test_sets_from_benchmark() -> None:
    ds = xr.Dataset(coords={"region": ["AAA", "BBB"], "commodity": ["x", "y"],
                            "factor": ["lab"]})
    sets = Sets.from_benchmark(ds)
    assert sets.regions == ("AAA", "BBB") and sets.factors == ("lab",)
    assert dict(sets.region_groups) == {}
    ds.attrs["groups"] = {"regions": {"pair": ["BBB", "AAA"]}, "commodities": {"xs": ["x"]}}
    sets = Sets.from_benchmark(ds)
    assert sets.region_groups["pair"] == ("BBB", "AAA")
    ds.attrs["groups"] = json.dumps({"commodities": {"ys": ["y"]}})
    assert Sets.from_benchmark(ds).commodity_groups["ys"] == ("y",)


def test_load_scenario_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError, match="nope.toml"):
        load_scenario(missing, TINY)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match="latin1.toml.*UTF-8"):
        load_scenario(bad, TINY)


# --------------------------------------------------------------------------------------------
# Bad input: one error type, naming file, field and the valid values
# --------------------------------------------------------------------------------------------
REGIONS = "AAA, BBB, CCC"
BAD_CASES = [
    # (id, text after HEAD (None: replace the whole file), field path, substrings in message)
    ("toml-syntax", 'description = "x"\nadd = = 3\n', None, ["line 3", "add = = 3"]),
    ("top-level-key", "[[tarrif]]\n", "tarrif", ["did you mean 'tariff'", "export_tax"]),
    ("table-key", tariff(importr='"AAA"'), "tariff[1].importr",
     ["valid keys", "importer", "exporters", "multiply"]),
    ("unknown-region", tariff(importer='"usa"'), "tariff[1].importer", ["'usa'", REGIONS,
                                                                        "asia", "all_but:"]),
    ("unknown-region-in-list", tariff(exporter='["AAA", "ZZZ"]'), "tariff[1].exporter[2]",
     ["'ZZZ'", REGIONS]),
    ("unknown-commodity", tariff(commodities='"steel"'), "tariff[1].commodities",
     ["'steel'", "food, cars, serv", "goods"]),
    ("unknown-factor", '[[endowment]]\nregion = "AAA"\nfactor = "land"\nscale = 2\n',
     "endowment[1].factor", ["'land'", "lab, cap"]),
    ("unknown-group-member", '[groups]\nregions.g = ["AAA", "XX"]\n', "groups.regions.g[2]",
     ["'XX'", REGIONS]),
    ("group-shadows-name", '[groups]\nregions.AAA = ["BBB"]\n', "groups.regions.AAA",
     ["invalid group name", REGIONS]),
    ("group-unknown-kind", '[groups]\nsectors.g = ["food"]\n', "groups.sectors",
     ["regions, commodities, factors"]),
    ("empty-list", tariff(exporter="[]"), "tariff[1].exporter", ["at least one", REGIONS]),
    ("region-wrong-type", tariff(exporter="3"), "tariff[1].exporter", ["integer", REGIONS]),
    ("rate-string", tariff(add='"10"'), "tariff[1].add", ["expected a number", "string"]),
    ("rate-bool", tariff(add="true"), "tariff[1].add", ["expected a number", "boolean"]),
    ("rate-nan", tariff(add="nan"), "tariff[1].add", ["finite"]),
    ("rate-inf", tariff(add="-inf"), "tariff[1].add", ["finite"]),
    ("rate-huge-int", tariff(add="9" * 400), "tariff[1].add", ["finite"]),
    ("set-minus-100", tariff(add=None, set="-100"), "tariff[1].set", ["-100", "1 + rate"]),
    ("add-minus-150", tariff(add="-150"), "tariff[1].add", ["-100"]),
    ("multiply-zero", tariff(add=None, multiply="0"), "tariff[1].multiply", ["> 0"]),
    ("add-and-set", tariff(set="5"), "tariff[1].set", ["contradictory", "add, set, multiply"]),
    ("no-mode", tariff(add=None), "tariff[1]", ["missing", "add, set, multiply"]),
    ("missing-importer", tariff(importer=None), "tariff[1].importer", ["missing"]),
    ("singular-and-plural", tariff(importers='"CCC"'), "tariff[1].importers", ["both"]),
    ("same-pair", tariff(exporter='"AAA"'), "tariff[1]", ["exporter != importer"]),
    ("tariff-not-array", '[tariff]\nimporter = "AAA"\n', "tariff", ["[[tariff]]"]),
    ("tariff-scalar", "tariff = 3\n", "tariff", ["array of tables"]),
    ("tariff-array-of-ints", "tariff = [1]\n", "tariff[1]", ["expected a table"]),
    ("transfer-same", '[[transfer]]\npayer = "AAA"\nrecipient = "AAA"\namount = 1\n',
     "transfer[1].recipient", ["must differ"]),
    ("transfer-group", '[[transfer]]\npayer = "asia"\nrecipient = "AAA"\namount = 1\n',
     "transfer[1].payer", ["single region", REGIONS]),
    ("transfer-negative", '[[transfer]]\npayer = "AAA"\nrecipient = "BBB"\namount = -1\n',
     "transfer[1].amount", [">= 0"]),
    ("transfer-share-100", '[[transfer]]\npayer = "AAA"\nrecipient = "BBB"\n'
     "share_of_payer_gdp = 100\n", "transfer[1].share_of_payer_gdp", ["(0, 100)"]),
    ("transfer-both", '[[transfer]]\npayer = "AAA"\nrecipient = "BBB"\namount = 1\n'
     "share_of_payer_gdp = 1\n", "transfer[1].share_of_payer_gdp", ["contradictory"]),
    ("transfer-missing-payer", '[[transfer]]\nrecipient = "BBB"\namount = 1\n',
     "transfer[1].payer", ["missing", REGIONS]),
    ("defense-scale-neg", '[[defense]]\nregion = "AAA"\nscale = -1\n', "defense[1].scale",
     ["> 0"]),
    ("defense-twice", '[[defense]]\nregion = "AAA"\nscale = 2\n[[defense]]\nregions = "all"\n'
     "scale = 1.5\n", "defense[2]", ["contradictory", "defense[1]"]),
    ("endowment-no-scale", '[[endowment]]\nregion = "AAA"\nfactor = "lab"\n',
     "endowment[1].scale", ["missing"]),
    ("closure-key", '[closure]\nfactor_mkt = "mobile"\n', "closure.factor_mkt",
     ["factor_market", "numeraire"]),
    ("closure-value", '[closure]\nfactor_market = "fixed"\n', "closure.factor_market",
     ["mobile, sector_specific_capital, unemployment"]),
    ("numeraire-bad-factor", '[closure]\nnumeraire = "factor_price:land:AAA"\n',
     "closure.numeraire", ["'land'", "lab, cap", "cpi:<region>"]),
    ("numeraire-bad-region", '[closure]\nnumeraire = "cpi:XXX"\n', "closure.numeraire",
     ["'XXX'", REGIONS]),
    ("closure-not-table", 'closure = "mobile"\n', "closure", ["expected a table"]),
    ("missing-name", None, "name", ["missing"]),
    ("bad-name", 'name = "Bad Name"\n', "name", ["[a-z0-9_]+"]),
    ("name-type", "name = 1\n", "name", ["string"]),
    ("description-type", "description = 2024-01-01\n", "description", ["string"]),
    # magnitudes outside the documented ranges (cge.scenario module docstring)
    ("add-above-100000", tariff(add="1e6"), "tariff[1].add", ["(-100, 100000]", "prohibitive"]),
    ("set-1e308", tariff(add=None, set="1e308"), "tariff[1].set", ["(-100, 100000]"]),
    ("multiply-above-1000", tariff(add=None, multiply="1e4"), "tariff[1].multiply",
     ["at most 1000"]),
    ("productivity-1e200", '[[productivity]]\nregions = "AAA"\nfactors = "lab"\nscale = 1e200\n',
     "productivity[1].scale", ["[0.001, 1000]", "1e+200"]),
    ("productivity-1e308", '[[productivity]]\nregions = "AAA"\nfactors = "lab"\nscale = 1e308\n',
     "productivity[1].scale", ["[0.001, 1000]"]),
    ("productivity-tiny", '[[productivity]]\nregions = "AAA"\nfactors = "cap"\n'
     "scale = 4.127887473740214e-20\n", "productivity[1].scale", ["[0.001, 1000]"]),
    ("endowment-zero", '[[endowment]]\nregion = "AAA"\nfactor = "lab"\nscale = 0\n',
     "endowment[1].scale", ["> 0", "[0.001, 1000]"]),
    ("endowment-subnormal", '[[endowment]]\nregion = "AAA"\nfactor = "lab"\nscale = 5e-324\n',
     "endowment[1].scale", ["[0.001, 1000]"]),
    ("defense-scale-above-1000", '[[defense]]\nregion = "AAA"\nscale = 1001\n',
     "defense[1].scale", ["(0, 1000]"]),
    # names and values that would not fit in a message or a file name
    ("name-too-long", 'name = "' + "a" * 101 + '"\n', "name", ["at most 100 characters"]),
    ("group-name-too-long", "[groups]\nregions." + "g" * 101 + ' = ["AAA"]\n',
     "groups.regions." + "g" * 60, ["at most 100"]),
    ("huge-unknown-region", tariff(importer='"' + "Z" * 100_000 + '"'), "tariff[1].importer",
     ["(100002 characters)", REGIONS]),
    ("huge-unknown-key", tariff(**{"k" * 5000: "1"}), "tariff[1]." + "k" * 60 + "...",
     ["(5002 characters)", "valid keys"]),
]


@pytest.mark.parametrize(("body", "field", "needles"),
                         [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_input(tmp_path: Path, body: str | None, field: str | None,
                   needles: list[str]) -> None:
    path = tmp_path / "my_scenario.toml"
    if body is None:
        text = 'description = "no name"\n'
    elif body.startswith("name ="):
        text = body
    else:
        text = HEAD + body
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, TINY)
    err = info.value
    msg = str(err)
    assert isinstance(err, ValueError)
    assert str(path) in msg and err.source == str(path)
    if field is not None:
        assert err.field == field
        assert f": {field}: " in msg
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"


@pytest.mark.parametrize("raw", [b"\xef\xbb\xbf" + HEAD.encode() + tariff().encode(),
                                 (HEAD + tariff()).replace("\n", "\r\n").encode()],
                         ids=["bom", "crlf"])
def test_bom_and_crlf_are_accepted(tmp_path: Path, raw: bytes) -> None:
    """Windows editors: a UTF-8 byte-order mark and CRLF line ends parse like plain text."""
    path = tmp_path / "win.toml"
    path.write_bytes(raw)
    scen = load_scenario(path, TINY)
    assert scen.name == "t" and scen.rate_shocks == parse(tariff()).rate_shocks
    assert not scen.text.startswith("\ufeff")


@pytest.mark.parametrize(("raw", "needles"), [
    pytest.param(b'name = "t"\n# caf\xe9\n', ["not UTF-8 text (line 2)", "save the file as"],
                 id="latin1"),
    pytest.param(b'name = "t"\x00\n', ["invalid TOML"], id="nul"),
    pytest.param(b'name = "t"\ndescription = "\x00"\n', ["invalid TOML", "line 2"],
                 id="nul_in_string"),
    pytest.param(b"name = " + b"[" * 5000 + b"]" * 5000 + b"\n", ["nesting too deep"],
                 id="deep_nesting"),
])
def test_hostile_bytes_are_one_scenario_error(tmp_path: Path, raw: bytes,
                                               needles: list[str]) -> None:
    path = tmp_path / "hostile.toml"
    path.write_bytes(raw)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, TINY)
    for needle in needles:
        assert needle in str(info.value)
    assert len(str(info.value)) < 2000


def test_lone_surrogate_is_an_error() -> None:
    """Text from Python that cannot be written as UTF-8 (the results file stores it)."""
    with pytest.raises(ScenarioError, match="not valid Unicode text \\(line 2\\)"):
        parse_scenario('name = "t"\n# \ud800\n', TINY)


def test_largest_allowed_magnitudes_parse() -> None:
    """The ends of the documented ranges are allowed."""
    scen = parse(tariff(add="100000") + '[[productivity]]\nregions = "AAA"\nfactors = "lab"\n'
                 'scale = 1000\n[[endowment]]\nregion = "AAA"\nfactor = "lab"\nscale = 0.001\n'
                 '[[defense]]\nregion = "AAA"\nscale = 1000\n')
    assert scen.rate_shocks[0].value == 1000.0
    assert sorted(f.value for f in scen.factor_shocks) == [0.001, 1000.0]
    assert parse_scenario('name = "' + "a" * 100 + '"\n', TINY).name == "a" * 100


def test_toml_error_names_line() -> None:
    with pytest.raises(ScenarioError, match=r"<string>: invalid TOML.*line 2") as info:
        parse_scenario('name = "x"\nfoo = "unclosed\nbar = 1\n', TINY)
    assert info.value.field is None
    assert 'foo = "unclosed' in str(info.value)
    # an error "at end of document" points at the last non-blank line
    with pytest.raises(ScenarioError, match=r"line 2: foo = \[1,"):
        parse_scenario('name = "x"\nfoo = [1,\n\n', TINY)


def test_sets_validation() -> None:
    with pytest.raises(ValueError):
        Sets(("A", "A"), ("x",), ("f",))
    with pytest.raises(ValueError):
        Sets(("A",), ("x",), ("f",), region_groups={"g": ("B",)})
    with pytest.raises(ValueError):
        Sets(("A",), ("x",), ("f",), region_groups={"A": ("A",)})


# --------------------------------------------------------------------------------------------
# Fuzzing: nothing but ScenarioError, ever
# --------------------------------------------------------------------------------------------
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

_KEYS = ["name", "description", "groups", "closure", "tariff", "export_tax", "trade_cost",
         "output_tax", "transfer", "defense", "endowment", "productivity", "importer",
         "importers", "exporter", "exporters", "region", "regions", "factor", "factors",
         "commodity", "commodities", "add", "set", "multiply", "payer", "recipient", "amount",
         "share_of_payer_gdp", "scale", "share_of_gdp", "factor_market", "numeraire",
         "external", "AAA", "asia", "goods"]
_WORDS = ["AAA", "BBB", "CCC", "asia", "goods", "all", "all_but:AAA", "all_but:", "food",
          "cars", "serv", "lab", "cap", "t", "mobile", "cpi:AAA", "factor_price:lab:AAA",
          "factor_price::", "", "Ωmega"]

_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(_WORDS),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=5), children, max_size=4),
    ),
    max_leaves=20,
)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(v: object) -> str:
    """A minimal TOML serialiser (inline tables and arrays) for the fuzz test."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    assert isinstance(v, dict)
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


def _to_toml(doc: dict) -> str:
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in doc.items())


def _parse_or_scenario_error(text: str) -> None:
    try:
        sc = parse_scenario(text, TINY, source="fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml")
    else:
        assert isinstance(sc, Scenario)


def test_serialiser_roundtrip() -> None:
    doc = {"name": "ok", "tariff": [{"importer": "AAA", "exporter": ["asia"],
                                     "commodities": "all", "add": 1.5}]}
    (s,) = parse_scenario(_to_toml(doc), TINY).rate_shocks
    assert s.value == pytest.approx(0.015) and s.exporters == ("BBB", "CCC")


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_random_text(text: str) -> None:
    _parse_or_scenario_error(text)


_LINES = [
    'name = "t"', "name = 3", "[[tariff]]", "[tariff]", "[[transfer]]", "[[defense]]",
    "[[endowment]]", "[[productivity]]", "[[output_tax]]", "[[export_tax]]", "[[trade_cost]]",
    "[closure]", "[groups]", 'regions.g = ["AAA", "BBB"]', 'commodities.g = "all"',
    'importer = "AAA"', 'exporter = "asia"', 'exporters = ["BBB", "zzz"]', 'region = "AAA"',
    'commodities = "goods"', 'factor = "lab"', "add = 10", "add = -150", "set = 5",
    "multiply = 0", "scale = 1.1", "scale = true", 'payer = "AAA"', 'recipient = "BBB"',
    "amount = 1e400", "share_of_payer_gdp = 0.1", "share_of_gdp = 2", 'numeraire = "cpi:AAA"',
    'factor_market = "mobile"', "x = [", "= 1", 'description = """a\nb"""',
]


@FUZZ
@given(st.lists(st.sampled_from(_LINES) | st.text(max_size=10), max_size=15))
def test_fuzz_tomlish_lines(lines: list[str]) -> None:
    _parse_or_scenario_error("\n".join(lines))


@FUZZ
@given(st.dictionaries(st.sampled_from(_KEYS), _values, max_size=5),
       st.booleans())
def test_fuzz_random_documents(doc: dict, with_name: bool) -> None:
    if with_name:
        doc = {"name": "t", **doc}
    _parse_or_scenario_error(_to_toml(doc))


@FUZZ
@given(st.sampled_from(["tariff", "export_tax", "trade_cost", "output_tax", "transfer",
                        "defense", "endowment", "productivity"]),
       st.dictionaries(st.sampled_from(_KEYS), _scalars | st.lists(_scalars, max_size=3),
                       max_size=6))
def test_fuzz_shock_tables(kind: str, table: dict) -> None:
    _parse_or_scenario_error(_to_toml({"name": "t", kind: [table]}))
