"""Packages on today's tariff branch (issue 16 item 4), read against the branch alone.

Each ``package_2026h2_*`` file is ``branch_2026h2_mfn_s232`` (the Section 122 surcharge lapsed on
24 Jul 2026, nothing in its place) plus defense, transfer or capital-flow terms copied from the
single-measure files. There is no include mechanism, so a package repeats the branch's tariff
array; the tests here pin that copy and the copied terms to their source files, so neither can
drift, and check the economics with a floor against the branch alone:

* every file solves on ``default2024`` (Walras slack and residual within the solver tolerances);
* the parsed tariff shocks of each package equal the branch's, shock by shock, and it has no
  other rate shocks; its transfers, defense and capital flows equal those of its component files;
* the header has a hypothetical status, a URL, a 2026 date and names the branch and components;
* full cost of US forces: Japan's EV falls and the US's rises against the branch, each by at
  least half the transfer (it moves about one for one);
* US$ 550 bn flow: the US trade balance and current account fall against the branch by at least
  90 % of the flow (foreign saving into the US rises by it; fixed current account: exactly), US
  real investment rises, Japan's EV falls;
* all three at once: Japan's EV is below each single package's, and by at least half the sum of
  the other two terms' own effects against the branch (near-additive);
* defense at 3.5 %: Japan's EV falls against the branch by at least half the extra purchases,
  the US gains (30 % of the increase is bought from US producers);
* Korea: SMA doubling plus the US$ 20 bn a year flow lowers Korea's EV and the US trade balance
  against the branch, raises the US EV.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import leading_comment

from cge.solve import RESIDUAL_TOL, WALRAS_TOL

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
BRANCH = "branch_2026h2_mfn_s232"

#: Each package -> the single-measure files whose non-tariff terms it copies.
PACKAGES = {
    "package_2026h2_jpn_hns_full_cost": ("jpn_pays_full_cost",),
    "package_2026h2_jpn_defense_3p5_us30": ("jpn_defense_3p5pct_us30",),
    "package_2026h2_jpn_invest550": ("jpn_invest_550",),
    "package_2026h2_jpn_all": ("jpn_pays_full_cost", "jpn_defense_3p5pct_us30",
                               "jpn_invest_550"),
    "package_2026h2_kor_sma_invest350": ("kor_sma_double", "kor_invest_350"),
}
JPN_SINGLES = ("package_2026h2_jpn_hns_full_cost", "package_2026h2_jpn_defense_3p5_us30",
               "package_2026h2_jpn_invest550")
ALL_IN = "package_2026h2_jpn_all"
#: Regions of the EV table of the report (US$ bn via ``EV / 1e3``).
REGIONS = ("USA", "JPN", "EU", "KOR", "CHN", "CAN", "MEX")


def _ev(res, region: str) -> float:
    return float(res.EV.sel(region=region))


def _d_ev(run, name: str, region: str) -> float:
    """EV of ``name`` less the EV of the branch alone (US$ million)."""
    return _ev(run(name), region) - _ev(run(BRANCH), region)


def _strip(shock) -> tuple:
    """A parsed shock without its ``where`` (file and table position), for comparisons."""
    return tuple((k, v) for k, v in dataclasses.asdict(shock).items() if k != "where")


def _terms(scen) -> dict[str, list[tuple]]:
    return {"transfers": sorted(_strip(t) for t in scen.transfers),
            "defense": sorted(_strip(d) for d in scen.defense),
            "capital_flows": sorted(_strip(c) for c in scen.capital_flows),
            "stationing": sorted(_strip(s) for s in scen.stationing),
            "factor_shocks": sorted(_strip(f) for f in scen.factor_shocks)}


# ----------------------------------------------------------------------------------- files
def test_packages_are_there():
    names = {p.stem for p in SCENARIO_DIR.glob("package_2026h2_*.toml")}
    assert names == set(PACKAGES)


@pytest.mark.parametrize("name", (BRANCH, *PACKAGES))
def test_solves(run, name):
    res = run(name)
    assert abs(res.attrs["solver_walras_slack"]) < WALRAS_TOL
    assert res.attrs["solver_max_residual"] <= RESIDUAL_TOL


@pytest.mark.parametrize("name", PACKAGES)
def test_tariffs_are_the_branchs(session, name):
    """The copied tariff array parses to exactly the branch's shocks, in order, and the package
    has no other rate shocks (export taxes, trade costs, output taxes)."""
    branch = [_strip(s) for s in session.scenario(SCENARIO_DIR / f"{BRANCH}.toml").rate_shocks]
    package = [_strip(s) for s in session.scenario(SCENARIO_DIR / f"{name}.toml").rate_shocks]
    assert branch and all(dict(s)["instrument"] == "tm" for s in branch)
    assert len(package) == len(branch)
    for i, (p, b) in enumerate(zip(package, branch, strict=True), start=1):
        assert p == b, f"tariff[{i}] differs from {BRANCH}'s: {dict(p)} != {dict(b)}"


@pytest.mark.parametrize("name", PACKAGES)
def test_terms_are_the_components(session, name):
    """Transfers, defense, capital flows (and nothing else) are those of the component files."""
    want: dict[str, list[tuple]] = {}
    for comp in PACKAGES[name]:
        scen = session.scenario(SCENARIO_DIR / f"{comp}.toml")
        assert not scen.rate_shocks, f"{comp} is meant to carry no tariffs"
        for key, items in _terms(scen).items():
            want[key] = sorted(want.get(key, []) + items)
    assert _terms(session.scenario(SCENARIO_DIR / f"{name}.toml")) == want


@pytest.mark.parametrize("name", PACKAGES)
def test_header(session, name):
    path = SCENARIO_DIR / f"{name}.toml"
    head = leading_comment(path)
    status = [line for line in head.splitlines() if line.startswith("# Status:")]
    assert status and all(s.removeprefix("# Status:").strip().startswith("hypothetical")
                          for s in status)
    assert "http" in head and re.search(r"\b2026\b", head)
    assert BRANCH in head
    for comp in PACKAGES[name]:
        assert comp in head, f"the header must name the component file {comp}"
    assert "hypothetical" in session.scenario(path).description.lower()


def test_hns_header_gives_the_expiry():
    assert "31 Mar 2027" in leading_comment(SCENARIO_DIR / "package_2026h2_jpn_hns_full_cost.toml")


# ------------------------------------------------------------------------------- economics
def test_full_cost_moves_welfare_from_japan_to_the_us(session, run):
    name = "package_2026h2_jpn_hns_full_cost"
    (transfer,) = session.scenario(SCENARIO_DIR / f"{name}.toml").transfers
    assert _d_ev(run, name, "JPN") < -0.5 * transfer.amount
    assert _d_ev(run, name, "USA") > 0.5 * transfer.amount


def test_invest550_moves_the_us_towards_deficit(session, run):
    name = "package_2026h2_jpn_invest550"
    (flow,) = session.scenario(SCENARIO_DIR / f"{name}.toml").capital_flows
    res, base = run(name), run(BRANCH)
    for var in ("trade_balance", "current_account"):
        d_us = float(res[var].sel(region="USA") - base[var].sel(region="USA"))
        d_jp = float(res[var].sel(region="JPN") - base[var].sel(region="JPN"))
        assert d_us < -0.9 * flow.amount, var
        assert d_jp > 0.9 * flow.amount, var
    inv = "investment"
    assert float(res.final_demand_real.sel(agent=inv, region="USA")) > \
        float(base.final_demand_real.sel(agent=inv, region="USA"))
    assert float(res.final_demand_real.sel(agent=inv, region="JPN")) < \
        float(base.final_demand_real.sel(agent=inv, region="JPN"))
    assert _d_ev(run, name, "JPN") < 0 < _d_ev(run, name, "USA")


def test_defense_costs_japan_and_helps_the_us(session, run):
    name = "package_2026h2_jpn_defense_3p5_us30"
    (defense,) = session.scenario(SCENARIO_DIR / f"{name}.toml").defense
    base = run(BRANCH)
    share0 = float(base.defense_share_of_gdp.sel(region="JPN")) / 100.0
    extra = (defense.value - share0) * float(session.params.gdp0.sel(region="JPN"))
    assert extra > 0
    assert _d_ev(run, name, "JPN") < -0.5 * extra
    assert _d_ev(run, name, "USA") > 0


def test_all_in_costs_japan_more_than_each_single(run):
    """Japan's EV under all three terms is below each single package's, by at least half of
    what the other two terms cost Japan on their own against the branch."""
    all_in = _ev(run(ALL_IN), "JPN")
    own = {name: _d_ev(run, name, "JPN") for name in JPN_SINGLES}
    assert all(v < 0 for v in own.values())
    for name in JPN_SINGLES:
        others = sum(v for k, v in own.items() if k != name)
        assert all_in < _ev(run(name), "JPN") + 0.5 * others, name
    assert _d_ev(run, ALL_IN, "USA") > max(_d_ev(run, n, "USA") for n in JPN_SINGLES)


def test_korea_package(session, run):
    name = "package_2026h2_kor_sma_invest350"
    scen = session.scenario(SCENARIO_DIR / f"{name}.toml")
    (transfer,), (flow,) = scen.transfers, scen.capital_flows
    res, base = run(name), run(BRANCH)
    assert _d_ev(run, name, "KOR") < -0.5 * transfer.amount
    assert _d_ev(run, name, "USA") > 0.5 * transfer.amount
    d_tb = float(res.trade_balance.sel(region="USA") - base.trade_balance.sel(region="USA"))
    assert d_tb < -0.9 * (flow.amount + transfer.amount)
