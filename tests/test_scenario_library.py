"""The scenario library in ``scenarios/``: every file parses, cites its source, solves, and the
tariff / transfer / defense scenarios move the economy in the directions theory predicts.

One :class:`cge.Session` on the default data (``default2024``: 2024 levels, motor vehicles split
from other transport, base-year tariffs; elasticities ``gtap_autos_split``) serves the whole
module; each scenario is solved at most once (results are cached). That every file also
validates on ``wiod2011`` is checked in ``test_default2024.py``. Measured: all ~41 files solve
in about 17 s including the one-off model build, so the solve test is not marked ``slow``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import leading_comment

from cge.solve import RESIDUAL_TOL, WALRAS_TOL

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
FILES = sorted(SCENARIO_DIR.glob("*.toml"))
IDS = [p.stem for p in FILES]

#: Files exempt from the citation check, with the reason.
NO_MEASURE = {"benchmark": "no shocks: replicates the data set, cites no measure"}
#: Pre-existing files without a URL (not owned by the scenario library; expected to be fixed
#: upstream -- strict xfail so that adding a URL turns this into a reminder to drop the entry).
MISSING_URL: dict[str, str] = {}

DATE_RE = re.compile(r"\b(19|20)\d\d\b")


def test_library_is_there():
    names = set(IDS)
    for required in ("jpn_baseline_10", "jpn_reciprocal_24", "jpn_autos_232",
                     "jpn_steel_alu_232", "jpn_deal_15", "jpn_deal_15_retaliation",
                     "eu_announced_20", "eu_deal_15", "kor_announced_25", "kor_deal_15",
                     "us_2025_landscape", "jpn_hns_plus50", "jpn_hns_plus100",
                     "jpn_pays_full_cost", "kor_sma_2026", "kor_sma_double", "jpn_defense_2pct",
                     "eu_defense_2pct", "landscape_2026_s232_only",
                     "landscape_2026_s232_s122_15", "package_jpn_deal15_hns_plus50",
                     "package_jpn_deal15_full_cost", "package_jpn_reciprocal_hns_plus100",
                     "package_kor_deal15_sma_double", "package_eu_deal15_defense_2pct"):
        assert required in names
    # every tariff case comes with a retaliation variant
    for stem in ("jpn_baseline_10", "jpn_reciprocal_24", "jpn_autos_232", "jpn_steel_alu_232",
                 "jpn_announced_24", "jpn_deal_15", "eu_announced_20", "eu_deal_15",
                 "kor_announced_25", "kor_deal_15"):
        assert f"{stem}_retaliation" in names


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_parses_and_validates(session, path):
    scen = session.scenario(path)
    assert scen.name == path.stem, "the scenario name must equal the file name"
    assert scen.description


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_leading_comment_cites_a_source_and_date(path, request):
    if path.stem in NO_MEASURE:
        pytest.skip(NO_MEASURE[path.stem])
    if path.stem in MISSING_URL:
        request.applymarker(pytest.mark.xfail(reason=MISSING_URL[path.stem], strict=True))
    head = leading_comment(path)
    assert head, "no leading comment block"
    assert "http" in head, "the leading comment must cite a source URL"
    assert DATE_RE.search(head), "the leading comment must give a date (year)"


#: Phrases of the 2011, tariff-free, pre-December-2026 library that must not come back (matched
#: case-insensitively in the leading comment and the description, which the PDF report prints).
STALE_PHRASES = (
    "2011 benchmark", "of 2011", "no MFN", "has NO tariffs", "zero base", "zero-tariff benchmark",
    "to be verified", "to verify", "a later issue", "household to household",
    "share of the budget", "not re-opened", "WIOD c15",
    # the base before the 2024 US regime was derived from the HTS (issue 15)
    "0-4 % by sector", "Section 301 tariffs on China are not modelled",
    "1.29% (MFN and preferential rates only", "China 301 tariffs pull it down",
)
#: Words a ``# Status:`` line starts with.
STATUS_WORDS = ("in force", "expired", "announced", "pledged", "hypothetical", "uncertain",
                "counterfactual")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_leading_comment_is_current(session, path):
    """The header and description describe the library as it runs on ``default2024`` (base
    tariffs, defense fixed in real terms, transfers between governments), with a status."""
    if path.stem in NO_MEASURE:
        pytest.skip(NO_MEASURE[path.stem])
    head = leading_comment(path)
    text = f"{head}\n{session.scenario(path).description}".lower()
    stale = [p for p in STALE_PHRASES if p.lower() in text]
    assert not stale, f"stale phrases in the leading comment or description: {stale}"
    status = [line for line in head.splitlines() if line.startswith("# Status:")]
    assert status, "no line starting with '# Status:' in the leading comment"
    for line in status:
        word = line.removeprefix("# Status:").strip().lower()
        assert word.startswith(STATUS_WORDS), f"status must start with one of {STATUS_WORDS}: " \
                                              f"{line}"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_solves(run, path):
    res = run(path.stem)
    assert abs(res.attrs["solver_walras_slack"]) < WALRAS_TOL
    assert res.attrs["solver_max_residual"] <= RESIDUAL_TOL


# ------------------------------------------------------------------------- economic sanity
def test_us_auto_tariff_on_japan(run):
    """A US tariff on Japanese motor vehicles makes them dearer in the US: US imports of them
    fall, and US demand shifts to domestic varieties, whose price rises (numeraire: world
    factor price)."""
    res = run("jpn_autos_232")
    assert res.trade_volume_pct.sel(commodity="motor_vehicles", exporter="JPN",
                                    importer="USA").item() < 0
    assert res.price_domestic.sel(commodity="motor_vehicles", region="USA").item() > 1


@pytest.mark.parametrize("name", ["jpn_hns_plus50", "jpn_hns_plus100", "jpn_pays_full_cost"])
def test_japan_to_us_transfer(run, name):
    """An unrequited transfer raises the recipient's welfare and lowers the payer's; with a
    fixed current account the payer must run a larger trade surplus to pay it (the transfer
    problem), the recipient a larger deficit."""
    res = run(name)
    assert res.EV.sel(region="USA").item() > 0
    assert res.EV.sel(region="JPN").item() < 0
    assert res.trade_balance_change.sel(region="JPN").item() > 0
    assert res.trade_balance_change.sel(region="USA").item() < 0


def test_transfer_size_orders_welfare(run):
    """A larger Japan->USA transfer costs Japan more."""
    ev = [run(n).EV.sel(region="JPN").item()
          for n in ("jpn_hns_plus50", "jpn_hns_plus100", "jpn_pays_full_cost")]
    assert ev[0] > ev[1] > ev[2]


def test_korea_to_us_transfer(run):
    res = run("kor_sma_double")
    assert res.EV.sel(region="USA").item() > 0 > res.EV.sel(region="KOR").item()
    assert res.trade_balance_change.sel(region="KOR").item() > 0


def test_defense_to_two_percent_crowds_out_consumption(run):
    """Japan's defense at 2% of GDP (1.4% in the 2024 benchmark) takes resources that
    private consumption would otherwise use: real household demand falls."""
    res = run("jpn_defense_2pct")
    assert res.final_demand_real.sel(agent="household", region="JPN").item() < 1


@pytest.mark.parametrize("stem", ["jpn_reciprocal_24", "jpn_deal_15", "eu_deal_15",
                                  "kor_deal_15"])
def test_retaliation_lowers_us_exports(run, stem):
    """A partner's mirror tariffs on US goods lower US exports to that partner."""
    partner = {"jpn": "JPN", "eu": "EU", "kor": "KOR"}[stem.split("_")[0]]

    def us_exports(name):
        return run(name).trade_volume.sel(exporter="USA", importer=partner).sum().item()

    assert us_exports(f"{stem}_retaliation") < us_exports(stem)


@pytest.mark.parametrize("no_deal", ["jpn_announced_24", "us_jpn_reciprocal_autos"])
def test_deal_hurts_japan_less_than_no_deal(run, no_deal):
    """15% on goods and autos hurts Japan less than 24% on goods plus 25% on autos (the metals
    rate is 50% in both jpn_deal_15 and jpn_announced_24)."""
    assert (run("jpn_deal_15").EV.sel(region="JPN").item()
            > run(no_deal).EV.sel(region="JPN").item())


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_leading_comment_says_what_it_simplifies(path):
    """Every file's header says what it simplifies or assumes (issue 16: the measure, its
    dates, status and source are checked above; this is the last field of the header)."""
    if path.stem in NO_MEASURE:
        pytest.skip(NO_MEASURE[path.stem])
    head = leading_comment(path).lower()
    assert "simplif" in head or "assumption" in head, \
        "the leading comment does not say what the file simplifies or assumes"
