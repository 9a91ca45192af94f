"""``[[foreign_saving]]``: one region's foreign saving set, other regions take the other side
(issue 17, item 1).

A table changes the region's foreign saving ``fsav`` by ``change`` (or to ``level``) and the
``offset`` regions' by minus that, split in proportion to their benchmark income, so world
foreign saving keeps summing to zero. Sign convention, derived from ``cge/shocks.py``: a
``[[capital_flow]]`` from A to B of ``x`` sets ``fsav[A] -= x``, ``fsav[B] += x``; a
``[[foreign_saving]]`` on A with ``change = c`` and ``offset = B`` sets ``fsav[A] += c``,
``fsav[B] -= c``; so ``change = -x`` on A offset B (or ``change = +x`` on B offset A) is that
capital flow, and must give the same equilibrium.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import ELASTICITIES, SCENARIO_DIR, benchmark_data, leading_comment
from hypothesis import event, given, settings
from hypothesis import strategies as st

from cge.api import Session
from cge.options import ModelOptions
from cge.scenario import ScenarioError
from cge.solve import RESIDUAL_TOL, WALRAS_TOL, solve

#: Regions of ``random_benchmark(4, 3, seed=5)`` (unequal incomes, non-zero foreign saving).
REGIONS4 = ("R0", "R1", "R2", "R3")


@pytest.fixture(scope="module")
def two() -> Session:
    return Session(benchmark_data("two_by_two"), ELASTICITIES)


@pytest.fixture(scope="module")
def four() -> Session:
    return Session(benchmark_data("random", seed=5, n_regions=4, n_sectors=3), ELASTICITIES)


def _fs(region: str, value: float, *, mode: str = "change", offset: str | None = None) -> str:
    text = f'[[foreign_saving]]\nregion = "{region}"\n{mode} = {value!r}\n'
    return text + (f"offset = {offset}\n" if offset is not None else "")


def _solved_state(session: Session, toml: str) -> dict[str, float]:
    """Every variable of the model after solving ``toml`` from the benchmark."""
    _, model = session.prepared(toml=toml)
    try:
        diag = solve(model)
        assert diag.max_residual <= RESIDUAL_TOL
        return {v.name: float(v.value) for v in model.all_vars}
    finally:
        model.restore(model._benchmark)


def _fsav_after(session: Session, toml: str) -> dict[str, float]:
    """Foreign saving of every region after applying ``toml`` (not solved)."""
    _, model = session.prepared(toml=toml)
    try:
        return {r: float(model.m.fsav[r].value) for r in session.sets.regions}
    finally:
        model.restore(model._benchmark)


def _expected(session: Session, tables: list[tuple[str, str, float, tuple[str, ...]]]
              ) -> dict[str, float]:
    """Foreign saving after ``(region, mode, value, offset)`` tables, computed here from the
    calibrated parameters: the offset takes minus the change, by benchmark income."""
    p = session.params
    fsav = {r: float(p.fsav0.sel(region=r)) for r in session.sets.regions}
    inc0 = {r: float(p.inc0.sel(region=r)) for r in session.sets.regions}
    for region, mode, value, offset in tables:
        change = value if mode == "change" else value - fsav[region]
        fsav[region] += change
        total = sum(inc0[s] for s in offset)
        for s in offset:
            fsav[s] -= change * inc0[s] / total
    return fsav


# --------------------------------------------------------------------------------------------
# (1) the same equilibrium as the equivalent capital flow
# --------------------------------------------------------------------------------------------
def _assert_same(a: dict[str, float], b: dict[str, float]) -> None:
    assert a.keys() == b.keys()
    worst = max(a, key=lambda k: abs(a[k] - b[k]))
    assert abs(a[worst] - b[worst]) <= 1e-9, (worst, a[worst], b[worst])


@pytest.mark.parametrize("payer, recipient, x", [("HOME", "FOREIGN", 3.0),
                                                 ("FOREIGN", "HOME", 1.5)])
def test_same_equilibrium_as_capital_flow_two_by_two(two, payer, recipient, x):
    flow = _solved_state(two, f'name = "cf"\n[[capital_flow]]\npayer = "{payer}"\n'
                              f'recipient = "{recipient}"\namount = {x}\n')
    bench = _solved_state(two, 'name = "b"\n')
    assert abs(flow[f"fsav[{payer}]"] - bench[f"fsav[{payer}]"] + x) < 1e-12
    as_payer = _solved_state(two, 'name = "fs"\n' + _fs(payer, -x, offset=f'"{recipient}"'))
    as_recipient = _solved_state(two, 'name = "fs"\n' + _fs(recipient, x, offset=f'"{payer}"'))
    default = _solved_state(two, 'name = "fs"\n' + _fs(payer, -x))   # "all" = the other one
    for state in (as_payer, as_recipient, default):
        _assert_same(state, flow)


def test_same_equilibrium_as_capital_flow_four_regions(four):
    """One offset region among four: only the two regions' foreign saving moves."""
    flow = _solved_state(four, 'name = "cf"\n[[capital_flow]]\npayer = "R1"\n'
                               'recipient = "R3"\namount = 20.0\n')
    fs = _solved_state(four, 'name = "fs"\n' + _fs("R1", -20.0, offset='"R3"'))
    _assert_same(fs, flow)


# --------------------------------------------------------------------------------------------
# (2) world foreign saving sums to zero; the offset is split by benchmark income
# --------------------------------------------------------------------------------------------
CASES = {
    "one_offset": [("R0", "change", -30.0, ("R2",))],
    "all_default": [("R1", "change", 25.0, ("R0", "R2", "R3"))],
    "all_explicit": [("R3", "change", -40.0, ("R0", "R1", "R2"))],
    "list": [("R0", "change", 12.5, ("R1", "R3"))],
    "group": [("R2", "change", -7.0, ("R0", "R1", "R3"))],
    "level_all": [("R3", "level", 0.0, ("R0", "R1", "R2"))],
    "level_negative": [("R0", "level", -80.0, ("R3",))],
    "sequence": [("R0", "change", -20.0, ("R1", "R2", "R3")),
                 ("R2", "change", 15.0, ("R0", "R3")),
                 ("R1", "level", -60.0, ("R0", "R2", "R3")),
                 ("R1", "change", 5.0, ("R3",))],
}
#: How a case writes its offsets (None: the default); other cases list the offset regions.
OFFSET_TEXT = {"one_offset": ['"R2"'], "all_default": [None], "all_explicit": ['"all"'],
               "group": ['"all_but:R2"'], "level_all": [None],
               "sequence": [None, '["R0", "R3"]', None, '"R3"']}


def _toml_list(names: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in names) + "]"


def _case_toml(name: str) -> str:
    text = f'name = "{name}"\n'
    for k, (region, mode, value, offset) in enumerate(CASES[name]):
        written = OFFSET_TEXT[name][k] if name in OFFSET_TEXT else _toml_list(offset)
        text += _fs(region, value, mode=mode, offset=written)
    return text


@pytest.mark.parametrize("name", CASES)
def test_world_foreign_saving_sums_to_zero(four, name):
    bench = sum(float(four.params.fsav0.sel(region=r)) for r in REGIONS4)
    assert abs(bench) < 1e-9
    after = _fsav_after(four, _case_toml(name))
    assert abs(sum(after.values())) < 1e-9
    expected = _expected(four, CASES[name])
    for r in REGIONS4:
        assert after[r] == pytest.approx(expected[r], rel=1e-12, abs=1e-10), r
    region, mode, value, _ = CASES[name][-1]
    if mode == "level":
        assert after[region] == value


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.sampled_from(REGIONS4),
                          st.floats(-25.0, 25.0, allow_nan=False),
                          st.sets(st.sampled_from(REGIONS4), max_size=3),
                          st.booleans()),
                min_size=1, max_size=4))
def test_world_sum_and_split_hold_for_any_tables(four, tables):
    """Random sequences of tables (change or level, offset a random subset or the default):
    accepted exactly when investment stays positive everywhere after every table."""
    text, spec = 'name = "h"\n', []
    sav0 = {r: float(four.params.sav0.sel(region=r)) for r in REGIONS4}
    feasible = True
    for region, value, subset, level in tables:
        offset = tuple(s for s in REGIONS4 if s in subset and s != region)
        written = _toml_list(offset) if offset else None
        offset = offset or tuple(s for s in REGIONS4 if s != region)   # default: the others
        mode = "level" if level else "change"
        text += _fs(region, value, mode=mode, offset=written)
        spec.append((region, mode, value, offset))
        fsav = _expected(four, spec)
        feasible = feasible and all(sav0[s] + fsav[s] > 0 for s in (region, *offset))
    event("refused" if not feasible else "accepted")
    if not feasible:
        with pytest.raises(ScenarioError, match="investment would be"):
            _fsav_after(four, text)
        return
    after = _fsav_after(four, text)
    assert abs(sum(after.values())) < 1e-9
    expected = _expected(four, spec)
    for r in REGIONS4:
        assert after[r] == pytest.approx(expected[r], rel=1e-9, abs=1e-9), r


def test_default_data_all_offset_splits_by_income(session):
    """Eight regions of the default data: offset "all" is the other seven, by income."""
    text = 'name = "d"\n' + _fs("JPN", -40000.0)
    after = _fsav_after(session, text)
    assert abs(sum(after.values())) < 1e-6          # US$ million; benchmark sum ~1e-10
    others = tuple(r for r in session.sets.regions if r != "JPN")
    expected = _expected(session, [("JPN", "change", -40000.0, others)])
    for r in session.sets.regions:
        assert after[r] == pytest.approx(expected[r], rel=1e-12), r


# --------------------------------------------------------------------------------------------
# (3) solved: Walras slack ~0, residual small, the current account moves by the change
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["one_offset", "all_default", "group", "level_all",
                                  "sequence"])
def test_solves_with_walras_slack_zero(four, name):
    res = four.run(toml=_case_toml(name))
    assert abs(res.attrs["solver_walras_slack"]) < WALRAS_TOL
    assert res.attrs["solver_max_residual"] <= RESIDUAL_TOL
    expected = _expected(four, CASES[name])
    for r in REGIONS4:   # current account = -foreign saving (numeraire units, pnum = 1)
        assert float(res.current_account.sel(region=r)) == pytest.approx(-expected[r],
                                                                           rel=1e-9, abs=1e-9)
    assert abs(float(res.current_account.sum())) < 1e-8


def test_library_scenario(session):
    """scenarios/jpn_capital_outflow_1pct.toml: 1 % of Japan's benchmark GDP, to the US."""
    path = SCENARIO_DIR / "jpn_capital_outflow_1pct.toml"
    head = leading_comment(path).lower()
    assert "simplif" in head or "assumption" in head
    (fs,) = session.scenario(path).foreign_saving
    gdp = float(session.params.gdp0.sel(region="JPN"))
    assert (fs.region, fs.offset, fs.level) == ("JPN", ("USA",), None)
    assert fs.change == pytest.approx(-0.01 * gdp, abs=0.05)
    res = session.run(path)
    assert abs(res.attrs["solver_walras_slack"]) < WALRAS_TOL
    assert res.attrs["solver_max_residual"] <= RESIDUAL_TOL
    tb = res.trade_balance_change
    assert float(tb.sel(region="JPN")) == pytest.approx(-fs.change, rel=1e-9)
    assert float(tb.sel(region="USA")) == pytest.approx(fs.change, rel=1e-9)
    inv = res.final_demand_real.sel(agent="investment")
    assert float(inv.sel(region="JPN")) < 1 < float(inv.sel(region="USA"))
    assert float(res.EV.sel(region="JPN")) < 0 < float(res.EV.sel(region="USA"))


# --------------------------------------------------------------------------------------------
# (4) bad input: a ScenarioError naming the file and the table
# --------------------------------------------------------------------------------------------
GOOD = '[[foreign_saving]]\nregion = "R0"\nchange = 1.0\n'
BAD_PARSE = {
    "unknown_region": ('[[foreign_saving]]\nregion = "R9"\nchange = 1.0\n',
                       "foreign_saving[1].region", "unknown region"),
    "no_region": ('[[foreign_saving]]\nchange = 1.0\n', "foreign_saving[1].region",
                  "missing required field 'region'"),
    "region_list": ('[[foreign_saving]]\nregion = ["R0"]\nchange = 1.0\n',
                    "foreign_saving[1].region", "expected a string"),
    "region_group": ('[[foreign_saving]]\nregion = "all"\nchange = 1.0\n',
                     "foreign_saving[1].region", "unknown region"),
    "plural_key": ('[[foreign_saving]]\nregions = "R0"\nchange = 1.0\n',
                   "foreign_saving[1].regions", "unknown key"),
    "in_own_offset": ('[[foreign_saving]]\nregion = "R0"\nchange = 1.0\noffset = ["R1", "R0"]\n',
                      "foreign_saving[1].offset", "includes 'R0'"),
    "in_own_offset_alone": ('[[foreign_saving]]\nregion = "R0"\nchange = 1.0\noffset = "R0"\n',
                            "foreign_saving[1].offset", "includes 'R0'"),
    "in_own_offset_group": ('[[foreign_saving]]\nregion = "R0"\nchange = 1.0\n'
                            'offset = "all_but:R1"\n', "foreign_saving[1].offset",
                            "includes 'R0'"),
    "unknown_offset": ('[[foreign_saving]]\nregion = "R0"\nchange = 1.0\noffset = "R7"\n',
                       "foreign_saving[1].offset", "unknown region or group"),
    "empty_offset": ('[[foreign_saving]]\nregion = "R0"\nchange = 1.0\noffset = []\n',
                     "foreign_saving[1].offset", "empty list"),
    "both": ('[[foreign_saving]]\nregion = "R0"\nchange = 1.0\nlevel = 2.0\n',
             "foreign_saving[1].level", "contradictory"),
    "neither": ('[[foreign_saving]]\nregion = "R0"\noffset = "R1"\n', "foreign_saving[1]",
                "exactly one of change, level"),
    "nan": ('[[foreign_saving]]\nregion = "R0"\nchange = nan\n', "foreign_saving[1].change",
            "finite"),
    "inf": ('[[foreign_saving]]\nregion = "R0"\nlevel = -inf\n', "foreign_saving[1].level",
            "finite"),
    "huge": ('[[foreign_saving]]\nregion = "R0"\nlevel = 1e999\n', "foreign_saving[1].level",
             "finite"),
    "boolean": ('[[foreign_saving]]\nregion = "R0"\nchange = true\n',
                "foreign_saving[1].change", "expected a number"),
    "string": ('[[foreign_saving]]\nregion = "R0"\nchange = "5"\n',
               "foreign_saving[1].change", "expected a number"),
    "unknown_key": ('[[foreign_saving]]\nregion = "R0"\nchange = 1.0\namount = 1.0\n',
                    "foreign_saving[1].amount", "unknown key"),
    "second_table": (GOOD + '[[foreign_saving]]\nregion = "R1"\nchange = 1.0\nofset = "R0"\n',
                     "foreign_saving[2].ofset", "did you mean 'offset'"),
    "single_brackets": ('[foreign_saving]\nregion = "R0"\nchange = 1.0\n', "foreign_saving",
                        "[[foreign_saving]]"),
}


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "my_scenario.toml"
    path.write_text('name = "bad"\n' + body, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", BAD_PARSE)
def test_parser_rejects(four, tmp_path, case):
    body, field, phrase = BAD_PARSE[case]
    path = _write(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        four.scenario(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {field}: "), message
    assert err.value.source == str(path) and err.value.field == field
    assert phrase in message


def _investment0(session: Session, r: str) -> float:
    p = session.params
    return float(p.sav0.sel(region=r)) + float(p.fsav0.sel(region=r))


def _emptying(session: Session, r: str, offset: tuple[str, ...]) -> float:
    """The change that leaves offset region r without investment: r takes its benchmark
    income's share of the change."""
    inc = {s: float(session.params.inc0.sel(region=s)) for s in offset}
    return _investment0(session, r) * sum(inc.values()) / inc[r]


def _model_cases(session: Session) -> dict[str, tuple[str, str, str]]:
    """(body, table, phrase) of tables only the model can refuse."""
    inv_r0 = _investment0(session, "R0")
    inv_r3 = _investment0(session, "R3")
    need = 1.001 * _emptying(session, "R1", ("R1", "R3"))
    return {
        "region_investment": (_fs("R0", -inv_r0 - 1.0, offset='"R1"'), "foreign_saving[1]",
                              "R0's investment would be"),
        "region_level": (_fs("R0", -float(session.params.sav0.sel(region="R0")) - 1.0,
                             mode="level"), "foreign_saving[1]", "R0's investment would be"),
        "offset_investment": (_fs("R2", inv_r3 + 1.0, offset='"R3"'), "foreign_saving[1]",
                              "R3's investment would be"),
        "offset_split_investment": (_fs("R0", need, offset='["R1", "R3"]'),
                                    "foreign_saving[1]", "R1's investment would be"),
        "after_earlier_tables": (_fs("R0", -0.6 * inv_r0, offset='"R1"')
                                 + _fs("R0", -0.6 * inv_r0, offset='"R2"'),
                                 "foreign_saving[2]", "R0's investment would be"),
    }


@pytest.mark.parametrize("case", ["region_investment", "region_level", "offset_investment",
                                  "offset_split_investment", "after_earlier_tables"])
def test_model_rejects(four, tmp_path, case):
    body, field, phrase = _model_cases(four)[case]
    path = _write(tmp_path, body)
    four.scenario(path)                                    # the parser accepts it
    with pytest.raises(ScenarioError) as err:
        four.validate(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {field}: "), message
    assert phrase in message and "must stay positive" in message


def test_offset_split_just_inside_is_accepted(four):
    """The split is by income: 0.999 of what empties R1's investment passes (R1 has the
    lowest investment per unit of income, R3 the highest)."""
    ok = 0.999 * _emptying(four, "R1", ("R1", "R3"))
    four.validate(toml='name = "ok"\n' + _fs("R0", ok, offset='["R1", "R3"]'))


def test_needs_a_fixed_current_account(tmp_path):
    bank = Session(benchmark_data("two_by_two"), ELASTICITIES,
                   ModelOptions(external="global_bank"))
    path = _write(tmp_path, _fs("HOME", -1.0))
    with pytest.raises(ScenarioError) as err:
        bank.validate(path)
    assert str(err.value).startswith(f"{path}: foreign_saving[1]: ")
    assert "fixed_current_account" in str(err.value)


def test_scenario_records_the_tables(two):
    scen = two.scenario(toml='name = "r"\n' + _fs("HOME", -2.0) + _fs("FOREIGN", 3.0,
                                                                         mode="level"))
    assert not scen.is_benchmark and not scen.capital_flows
    first, second = scen.foreign_saving
    assert (first.region, first.change, first.level, first.offset, first.where) == (
        "HOME", -2.0, None, ("FOREIGN",), "foreign_saving[1]")
    assert (second.change, second.level, second.where) == (None, 3.0, "foreign_saving[2]")
    assert math.isfinite(second.level)
