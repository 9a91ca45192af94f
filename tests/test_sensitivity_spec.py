"""Uncertainty specifications (cge.sensitivity.spec): parsing, errors, Stroud quadrature and
Monte Carlo draws."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import replace

import numpy as np
import pytest

from cge.calibrate import load_elasticities
from cge.data.examples import two_by_two
from cge.options import ModelOptions
from cge.scenario import Sets
from cge.sensitivity.spec import (
    SPEC_DIR,
    SpecError,
    draws,
    load_spec,
    multipliers,
    parse_spec,
    stroud3,
    variables,
)

ELASTICITIES = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}   # as tests/conftest.py
COMMODITIES = ["food", "cloth"]


@pytest.fixture(scope="module")
def sets() -> Sets:
    return Sets.from_benchmark(two_by_two())


@pytest.fixture(scope="module")
def central():
    return load_elasticities(ELASTICITIES, COMMODITIES)


def spec_text(params: str, head: str = 'method = "monte_carlo"\ndraws = 10\nseed = 1') -> str:
    return f'name = "t"\n{head}\n{params}'


ESUBM_EACH_TRI = """
[[parameter]]
name = "esubm"
distribution = "triangular"
spread = 0.5
[[parameter]]
name = "esubd"
follow = "esubm"
[[parameter]]
name = "esubva"
distribution = "uniform"
spread = 0.4
vary = "together"
"""


# --------------------------------------------------------------------------------------------
# Stroud's degree-3 rule
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", range(1, 8))
def test_stroud3_mean_zero_identity_second_moments(n):
    x = stroud3(n)
    assert x.shape == (2 * n, n)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(x.T @ x / (2 * n), np.eye(n), atol=1e-12)


#: Moments E[z^p] of a standardised (mean 0, variance 1) uniform and normal variable.
MOMENTS = {"uniform": {0: 1.0, 1: 0.0, 2: 1.0, 3: 0.0, 4: 9.0 / 5.0},
           "normal": {0: 1.0, 1: 0.0, 2: 1.0, 3: 0.0, 4: 3.0}}


def _monomials(n: int, degree: int):
    for combo in itertools.combinations_with_replacement(range(n), degree):
        yield np.bincount(np.array(combo, dtype=int), minlength=n)


@pytest.mark.parametrize("law", ["uniform", "normal"])
@pytest.mark.parametrize("n", range(1, 8))
def test_stroud3_exact_to_degree_3_not_4(law, n):
    x = stroud3(n)
    for degree in range(4):
        for powers in _monomials(n, degree):
            exact = math.prod(MOMENTS[law][int(p)] for p in powers)
            rule = float(np.mean(np.prod(x ** powers, axis=1)))
            assert rule == pytest.approx(exact, abs=1e-12), (degree, powers)
    errors = [abs(float(np.mean(np.prod(x ** powers, axis=1)))
                  - math.prod(MOMENTS[law][int(p)] for p in powers))
              for powers in _monomials(n, 4)]
    if n >= 2:
        assert max(errors) > 0.1       # the rule is of degree 3, not more


def test_quadrature_exact_for_cubic_in_multipliers(sets, central):
    spec = parse_spec(spec_text(ESUBM_EACH_TRI, 'method = "quadrature"'), sets)
    assert spec.draws == 6 and spec.seed is None
    ds = draws(spec, central, ModelOptions())
    assert len(ds) == 6
    assert sum(d.weight for d in ds) == pytest.approx(1.0, abs=1e-15)

    def f(d):   # a cubic in the drawn values (not in the multipliers directly)
        a = float(d.elasticities.esubm.sel(commodity="food")) / 4.0
        b = float(d.elasticities.esubd.sel(commodity="cloth")) / 2.0
        v = float(d.elasticities.esubva.sel(commodity="food"))
        return a**3 + 2 * a * b * v - b**2 * v + 3 * v**3 - a * v + 5 * b

    # exact: a, b independent triangular on [0.5, 1.5] (var s^2/6), v uniform on [0.6, 1.4]
    # (var s^2/3); E[m^2] = 1 + var, E[m^3] = 1 + 3 var (symmetric around 1)
    vt, vu = 0.5**2 / 6, 0.4**2 / 3
    exact = (1 + 3 * vt) + 2 - (1 + vt) + 3 * (1 + 3 * vu) - 1 + 5
    assert sum(d.weight * f(d) for d in ds) == pytest.approx(exact, abs=1e-12)
    # and a quartic is not integrated exactly (so the test above knows the order)
    quartic = sum(d.weight * (float(d.elasticities.esubm.sel(commodity="food")) / 4) ** 4
                  for d in ds)
    assert abs(quartic - (1 + 6 * vt + 0.5**4 / 15)) > 1e-4


# --------------------------------------------------------------------------------------------
# Monte Carlo
# --------------------------------------------------------------------------------------------
def _mult(ds, label):
    return np.array([d.multipliers[label] for d in ds])


def test_draws_match_multipliers(sets, central):
    spec = parse_spec(spec_text(ESUBM_EACH_TRI), sets)
    vs, mult = multipliers(spec, central, ModelOptions())
    assert tuple(v.label for v in variables(spec, central, ModelOptions())) == spec.labels
    ds = draws(spec, central, ModelOptions())
    for k, d in enumerate(ds):
        assert d.multipliers == {v.label: float(mult[k, j]) for j, v in enumerate(vs)}
        assert d.weight == 0.1
        np.testing.assert_array_equal(d.elasticities.esubm.values, 4.0 * mult[k, :2])
        np.testing.assert_array_equal(d.elasticities.esubva.values, [mult[k, 2]] * 2)


def test_monte_carlo_reproducible_and_seeded(sets, central):
    one = draws(parse_spec(spec_text(ESUBM_EACH_TRI), sets), central, ModelOptions())
    two = draws(parse_spec(spec_text(ESUBM_EACH_TRI), sets), central, ModelOptions())
    other = draws(parse_spec(spec_text(ESUBM_EACH_TRI, 'method = "monte_carlo"\ndraws = 10\n'
                                                       'seed = 2'), sets),
                  central, ModelOptions())
    assert len(one) == 10 and [d.index for d in one] == list(range(10))
    for a, b in zip(one, two, strict=True):
        assert a.multipliers == b.multipliers
        for k in ("esubd", "esubm", "esubva"):
            assert a.elasticities[k].values.tobytes() == b.elasticities[k].values.tobytes()
    assert all(a.multipliers != c.multipliers for a, c in zip(one, other, strict=True))
    assert one[3].elasticities.attrs["elasticity_source"] == "t draw 3"
    # a table appended at the end leaves the draws of the others unchanged
    more = ESUBM_EACH_TRI + ('[[parameter]]\nname = "esub_final.household"\n'
                             'distribution = "uniform"\nspread = 0.2\n')
    extended = draws(parse_spec(spec_text(more), sets), central, ModelOptions())
    assert [d.multipliers["esubm[food]"] for d in extended] == [
        d.multipliers["esubm[food]"] for d in one]


@pytest.mark.parametrize("dist,spread,sd", [("uniform", 0.5, 0.5 / math.sqrt(3)),
                                            ("triangular", 0.5, 0.5 / math.sqrt(6)),
                                            ("normal", 0.2, 0.2)])
def test_monte_carlo_moments(sets, central, dist, spread, sd):
    text = spec_text(f'[[parameter]]\nname = "esubm"\ndistribution = "{dist}"\n'
                     f'spread = {spread}\n', 'method = "monte_carlo"\ndraws = 20000\nseed = 7')
    spec = parse_spec(text, sets)
    (v, _), mult = multipliers(spec, central, ModelOptions())
    assert v.sd == pytest.approx(sd, rel=1e-5)   # normal: truncated at 0, 5 sd away
    assert mult.shape == (20000, 2)
    m = mult[:, 0]
    assert abs(m.mean() - 1.0) < 3 * sd / math.sqrt(m.size)
    assert m.std() == pytest.approx(sd, rel=0.05)


def test_monte_carlo_copula_correlation(sets, central):
    text = spec_text('[[parameter]]\nname = "esubm"\ndistribution = "uniform"\nspread = 0.5\n'
                     'correlation = 0.6\n', 'method = "monte_carlo"\ndraws = 20000\nseed = 3')
    spec = parse_spec(text, sets)
    vs, mult = multipliers(spec, central, ModelOptions())
    assert [v.label for v in vs] == ["esubm[food]", "esubm[cloth]"]
    r = np.corrcoef(mult[:, 0], mult[:, 1])[0, 1]
    expected = 6 / math.pi * math.asin(0.6 / 2)          # Pearson of a Gaussian copula, U
    assert r == pytest.approx(expected, abs=0.02)
    assert abs(r - 0.6) > 0.01                          # the copula parameter is not Pearson
    # quadrature targets the same correlation, exactly
    q = parse_spec(text.replace('method = "monte_carlo"\ndraws = 20000\nseed = 3',
                                'method = "quadrature"'), sets)
    qd = draws(q, central, ModelOptions())
    a, b = _mult(qd, "esubm[food]"), _mult(qd, "esubm[cloth]")
    w = np.array([d.weight for d in qd])
    cov = np.sum(w * (a - 1) * (b - 1))
    assert cov / (0.5**2 / 3) == pytest.approx(expected, abs=1e-6)
    assert np.sum(w * a) == pytest.approx(1.0, abs=1e-12)
    assert np.sum(w * (a - 1) ** 2) == pytest.approx(0.5**2 / 3, abs=1e-12)


def test_monte_carlo_tables_independent(sets, central):
    text = spec_text('[[parameter]]\nname = "esubm"\ndistribution = "uniform"\nspread = 0.5\n'
                     'vary = "together"\n'
                     '[[parameter]]\nname = "esubva"\ndistribution = "uniform"\nspread = 0.5\n'
                     'vary = "together"\n'
                     '[[parameter]]\nname = "esubd"\ndistribution = "uniform"\nspread = 0.5\n',
                     'method = "monte_carlo"\ndraws = 20000\nseed = 4')
    _, mult = multipliers(parse_spec(text, sets), central, ModelOptions())
    corr = np.corrcoef(mult.T)
    np.testing.assert_allclose(corr, np.eye(4), atol=0.03)   # 4 variables, all independent


def test_drawn_values_in_valid_range_and_options(sets, central):
    params = ESUBM_EACH_TRI.replace('"uniform"\nspread = 0.4', '"uniform"\nspread = 1.0') + """
[[parameter]]
name = "esub_cet"
distribution = "normal"
spread = 2.0
[[parameter]]
name = "esub_final.household"
distribution = "triangular"
spread = 0.9
"""
    options = ModelOptions(transformation="cet", esub_cet=2.0)
    for head in ('method = "monte_carlo"\ndraws = 3000\nseed = 11', 'method = "quadrature"'):
        ds = draws(parse_spec(spec_text(params, head), sets), central, options)
        for d in ds:
            for k in ("esubd", "esubm", "esubva"):
                assert np.all(np.isfinite(d.elasticities[k].values))
                assert np.all(d.elasticities[k].values >= 0)
            assert 0 < d.options.esub_cet < math.inf
            assert d.options.esub_cet == pytest.approx(2.0 * d.multipliers["esub_cet"])
            assert d.options.esub_final["household"] == pytest.approx(
                d.multipliers["esub_final.household"])
            assert d.options.transformation == "cet"
        cet = np.array([d.options.esub_cet for d in ds])
        assert cet.min() > 0 and cet.std() > 0.5


@pytest.mark.parametrize("method", ["monte_carlo", "quadrature"])
def test_follow_keeps_ratio(sets, method):
    central = load_elasticities({"esubd": {"food": 1.5, "cloth": 3.0},
                                 "esubm": {"food": 3.0, "cloth": 7.0}, "esubva": 1.0},
                                COMMODITIES)
    head = ('method = "monte_carlo"\ndraws = 200\nseed = 5' if method == "monte_carlo"
            else 'method = "quadrature"')
    ds = draws(parse_spec(spec_text(ESUBM_EACH_TRI, head), sets), central, ModelOptions())
    ratio0 = central.esubd.values / central.esubm.values
    for d in ds:
        np.testing.assert_allclose(d.elasticities.esubd.values / d.elasticities.esubm.values,
                                   ratio0, rtol=1e-14)
    assert np.std([d.elasticities.esubd.values[0] for d in ds]) > 0.1


def test_library_specs_load(sets, central):
    for name in ("standard", "quadrature"):
        spec = load_spec(name, sets)
        assert spec.source == str(SPEC_DIR / f"{name}.toml")
        assert spec.labels == ("esubm[food]", "esubm[cloth]", "esubva[all]")
        assert spec.text == (SPEC_DIR / f"{name}.toml").read_text()
    assert load_spec("standard", sets).draws == 50
    assert load_spec("quadrature", sets).draws == 6
    with pytest.raises(SpecError, match="no such specification"):
        load_spec("no_such_spec", sets)


def test_groups_and_lists_resolved_like_scenarios():
    sets = Sets(regions=("A", "B"), commodities=("x", "y", "z"), factors=("labour",),
                commodity_groups={"goods": ("x", "y")})
    for value, expected in (('"goods"', ("x", "y")), ('"all_but:y"', ("x", "z")),
                            ('["z", "x"]', ("x", "z")), ('"all"', ("x", "y", "z"))):
        spec = parse_spec(spec_text(f'[[parameter]]\nname = "esubva"\ncommodities = {value}\n'
                                    f'distribution = "uniform"\nspread = 0.1\n'), sets)
        assert spec.parameters[0].commodities == expected
    spec = parse_spec(spec_text('[[parameter]]\nname = "esubm"\ncommodities = "goods"\n'
                                'distribution = "uniform"\nspread = 0.1\nvary = "together"\n'),
                      sets)
    assert spec.labels == ("esubm[goods]",)


def test_draw_builds_a_session(sets, central):
    from cge.api import Session

    spec = parse_spec(spec_text(ESUBM_EACH_TRI, 'method = "monte_carlo"\ndraws = 2\nseed = 9'),
                      sets)
    d = draws(spec, central, ModelOptions())[1]
    again = load_elasticities({k: dict(zip(COMMODITIES, map(float, d.elasticities[k].values),
                                           strict=True)) for k in ("esubd", "esubm", "esubva")},
                              COMMODITIES)
    np.testing.assert_array_equal(again.esubm.values, d.elasticities.esubm.values)
    session = Session(two_by_two(), d.elasticities, options=d.options)
    np.testing.assert_allclose(session.params.esubva.values, d.elasticities.esubva.values)
    assert session.params.attrs["elasticity_source"] == "t draw 1"
    session.model()                                   # built and benchmark-checked


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
P = '[[parameter]]\nname = "esubm"\ndistribution = "uniform"\nspread = 0.5\n'
MC = 'method = "monte_carlo"\ndraws = 10\nseed = 1'
BAD = [
    ("drawz = 3\n" + P, MC, "drawz", "unknown key"),
    (P + "sprad = 1\n", MC, "parameter[1].sprad", "unknown key"),
    (P.replace('"esubm"', '"esubx"'), MC, "parameter[1].name", "unknown parameter"),
    (P + 'commodities = "fod"\n', MC, "parameter[1].commodities", "did you mean 'food'"),
    (P + 'commodities = "food"\n' + P, MC, "parameter[2].commodities", "already in"),
    (P.replace("0.5", "0.0"), MC, "parameter[1].spread", "must be > 0"),
    (P.replace("0.5", "-0.2"), MC, "parameter[1].spread", "must be > 0"),
    (P.replace("0.5", "nan"), MC, "parameter[1].spread", "finite"),
    (P.replace("0.5", "inf"), MC, "parameter[1].spread", "finite"),
    (P.replace("0.5", "1.5"), MC, "parameter[1].spread", "negative bound"),
    (P.replace('"uniform"', '"normal"') + "min = -1.0\n", MC, "parameter[1].min",
     "negative bound"),
    (P.replace('"uniform"', '"normal"') + "min = 2.0\nmax = 1.0\n", MC, "parameter[1].max",
     "above min"),
    (P + "min = 0.5\n", MC, "parameter[1].min", "normal distribution only"),
    (P + "correlation = 1.0\n", MC, "parameter[1].correlation", "[0, 1)"),
    (P + "correlation = -0.1\n", MC, "parameter[1].correlation", "[0, 1)"),
    (P + 'vary = "together"\ncorrelation = 0.2\n', MC, "parameter[1].correlation",
     "vary = 'each'"),
    (P + 'vary = "some"\n', MC, "parameter[1].vary", "unknown vary"),
    (P.replace('"uniform"', '"lognormal"'), MC, "parameter[1].distribution",
     "unknown distribution"),
    ('[[parameter]]\nname = "esubm"\nspread = 0.5\n', MC, "parameter[1].distribution",
     "missing"),
    (P + '[[parameter]]\nname = "esubd"\nfollow = "esubva"\n', MC, "parameter[2].follow",
     "not specified"),
    ('[[parameter]]\nname = "esubd"\nfollow = "esubd"\n', MC, "parameter[1].follow",
     "itself"),
    (P + '[[parameter]]\nname = "esubd"\nfollow = "esubm"\n'
         '[[parameter]]\nname = "esubva"\nfollow = "esubd"\n', MC, "parameter[3].follow",
     "chains"),
    (P + '[[parameter]]\nname = "esub_cet"\nfollow = "esubm"\n', MC, "parameter[2].follow",
     "not alike"),
    (P + '[[parameter]]\nname = "esubd"\nfollow = "esubm"\nspread = 0.1\n', MC,
     "parameter[2].spread", "unknown key"),
    (P.replace('"esubm"', '"esub_cet"') + 'commodities = "all"\n', MC,
     "parameter[1].commodities", "one number"),
    (P.replace('"esubm"', '"esub_cet"') + '[[parameter]]\nname = "esub_cet"\n'
     'distribution = "uniform"\nspread = 0.1\n', MC, "parameter[2].name", "already in"),
    (P, 'method = "monte_carlo"\ndraws = 1\nseed = 1', "draws", ">= 2"),
    (P, 'method = "monte_carlo"\ndraws = 2.5\nseed = 1', "draws", "integer"),
    (P, 'method = "monte_carlo"\ndraws = true\nseed = 1', "draws", "integer"),
    (P, 'method = "monte_carlo"\ndraws = 5\nseed = "abc"', "seed", "integer"),
    (P, 'method = "monte_carlo"\ndraws = 5\nseed = -1', "seed", ">= 0"),
    (P, 'method = "monte_carlo"\ndraws = 5', "seed", "missing"),
    (P, 'method = "bootstrap"', "method", "unknown method"),
    (P, "", "method", "missing"),
    (P, 'method = "quadrature"\ndraws = 10', "draws", "quadrature"),
    (P, 'method = "quadrature"\nseed = 10', "seed", "quadrature"),
    ("", MC, "parameter", "at least one"),
    ('[parameter]\nname = "esubm"\n', MC, "parameter", "double"),
]


@pytest.mark.parametrize("params,head,field,message", BAD)
def test_bad_spec(sets, params, head, field, message):
    with pytest.raises(SpecError) as info:
        parse_spec(spec_text(params, head), sets, source="bad.toml")
    err = info.value
    assert (err.source, err.field) == ("bad.toml", field)
    assert str(err).startswith(f"bad.toml: {field}: ")
    assert message in err.problem


def test_bad_file_level(sets, tmp_path):
    with pytest.raises(SpecError) as info:
        parse_spec('name = "Bad Name"\n' + MC + "\n" + P, sets, source="x.toml")
    assert info.value.field == "name"
    with pytest.raises(SpecError) as info:
        parse_spec("name = \n", sets, source="x.toml")
    assert info.value.field is None and str(info.value).startswith("x.toml: invalid TOML")
    path = tmp_path / "mine.toml"
    path.write_text(spec_text(P.replace("0.5", "-1")))
    with pytest.raises(SpecError, match=r"mine\.toml: parameter\[1\]\.spread: "):
        load_spec(path, sets)


def test_bad_at_draw_time(sets, central):
    cet = parse_spec(spec_text(P.replace('"esubm"', '"esub_cet"')), sets, source="c.toml")
    with pytest.raises(SpecError, match=r"c\.toml: parameter\[1\]\.name: .*transformation"):
        draws(cet, central, ModelOptions())
    gov = parse_spec(spec_text(P.replace('"esubm"', '"esub_final.government"')), sets,
                     source="g.toml")
    with pytest.raises(SpecError, match=r"g\.toml: parameter\[1\]\.name: .*is 0"):
        draws(gov, central, ModelOptions())
    assert draws(gov, central, replace(ModelOptions(), esub_final={"government": 0.5}))
    # quadrature points leave the support when many correlated variables share one table
    many = [f"c{i}" for i in range(40)]
    big = Sets(regions=("A",), commodities=tuple(many), factors=("labour",))
    text = ('name = "q"\nmethod = "quadrature"\n[[parameter]]\nname = "esubm"\n'
            'distribution = "uniform"\nspread = 1.0\ncorrelation = 0.9\n')
    spec = parse_spec(text, big, source="q.toml")
    with pytest.raises(SpecError, match=r"q\.toml: parameter\[1\]\.spread: .*valid range"):
        draws(spec, load_elasticities(ELASTICITIES, many), ModelOptions())


def test_docs_examples_parse(sets, central):
    """Every ```toml block of the section "The specification file" of docs/sensitivity.md
    parses (on two_by_two, as its first line says) and draws."""
    text = (SPEC_DIR.parent / "docs" / "sensitivity.md").read_text()
    start = text.index("## The specification file")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else None]
    blocks = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    assert blocks, "no ```toml block found in docs/sensitivity.md"
    for block in blocks:
        assert block.startswith("# data: two_by_two")
        spec = parse_spec(block, sets, source="docs/sensitivity.md")
        assert len(draws(spec, central, ModelOptions())) == spec.draws
    for key in ("name", "commodities", "distribution", "spread", "vary", "correlation",
                "`min`, `max`", "follow"):
        assert f"| `{key}` |" in section or f"| {key} |" in section, key
