r"""The report's key findings and ranked comparison table (``cge.report.findings``).

On ``two_by_two`` with five scenarios — a HOME tariff, the same with FOREIGN's retaliation
(``*_retaliation``), a FOREIGN -> HOME transfer named as a cost-sharing option (``*_hns``) and
two packages — every number a sentence quotes is recomputed here from the result Datasets
(best and worst by EV, the retaliation pair, the options, the best package) and must appear in
the sentence as the report formats it; the comparison table is ranked by the first region's
EV; the PDF carries the findings.
"""

from __future__ import annotations

import subprocess
from functools import cache

import pytest
from conftest import ELASTICITIES

import cge
from cge.report import write_report
from cge.report.build import _table, money_unit
from cge.report.findings import Findings
from cge.report.fmt import breakable

TARIFF = '[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"\ncommodities = "all"\nadd = {t}\n'
RETAL = '[[tariff]]\nimporter = "FOREIGN"\nexporter = "HOME"\ncommodities = "all"\nadd = 15.0\n'
TRANSFER = '[[transfer]]\npayer = "FOREIGN"\nrecipient = "HOME"\namount = {a}\n'
SCENARIOS = {
    "home_tariff": TARIFF.format(t=20.0),
    "home_tariff_retaliation": TARIFF.format(t=20.0) + RETAL,
    "foreign_hns": TRANSFER.format(a=2.0),
    "package_small": TARIFF.format(t=5.0) + TRANSFER.format(a=1.0),
    "package_big": TARIFF.format(t=30.0) + TRANSFER.format(a=3.0),
}


@cache
def _results() -> list:
    from cge.data.examples import two_by_two

    s = cge.Session(two_by_two(), ELASTICITIES)
    return [s.run(toml=f'name = "{n}"\ndescription = "test {n}"\n{body}')
            for n, body in SCENARIOS.items()]


def _findings() -> tuple[Findings, list[dict]]:
    res = _results()
    f = Findings([(str(ds.attrs["scenario"]), ds) for ds in res], ["HOME", "FOREIGN"],
                 ("HOME", "FOREIGN"), money_unit(res))
    return f, f.build()


def _ev(name: str, region: str) -> float:
    ds = next(d for d in _results() if d.attrs["scenario"] == name)
    return float(ds.EV.sel(region=region))


def test_each_sentence_quotes_the_datasets():
    f, items = _findings()
    mo = f.money
    by_kind = {i: item for i, item in enumerate(items)}
    assert len(items) == 4                       # ranking, retaliation, option, packages
    names = list(SCENARIOS)
    for r in ("HOME", "FOREIGN"):
        evs = {n: _ev(n, r) for n in names}
        best, worst = max(evs, key=evs.get), min(evs, key=evs.get)
        assert by_kind[0]["values"][f"best_{r}"] == evs[best]
        assert by_kind[0]["values"][f"worst_{r}"] == evs[worst]
        assert f"{best} (EV {mo.change(evs[best])}" in by_kind[0]["text"]
        assert f"{worst} ({mo.change(evs[worst])}" in by_kind[0]["text"]
    ret = by_kind[1]
    assert ret["values"]["a_with"] == _ev("home_tariff_retaliation", "HOME")
    assert (f"HOME {mo.change(_ev('home_tariff_retaliation', 'HOME'))} instead of "
            f"{mo.change(_ev('home_tariff', 'HOME'))}") in ret["text"]
    opt = by_kind[2]
    assert f"foreign_hns: FOREIGN {mo.change(_ev('foreign_hns', 'FOREIGN'))}" in opt["text"]
    packs = {n: (_ev(n, "HOME"), _ev(n, "FOREIGN")) for n in names if n.startswith("package")}
    best_b = max(packs, key=lambda n: packs[n][1])
    assert by_kind[3]["values"]["best_for_b"] == packs[best_b][1]
    assert by_kind[3]["text"].startswith(f"Of the 2 packages, {best_b} is the best for FOREIGN")


def test_comparison_table_is_ranked_and_marked():
    f, _ = _findings()
    t = f.table(_table, breakable)
    order = sorted(SCENARIOS, key=lambda n: -_ev(n, "HOME"))
    assert [row[0].replace("\u200b", "") for row in t["rows"]] == order
    home = [row[2][0] for row in t["rows"]]
    assert home[0].endswith(" best") and home[-1].endswith(" worst")
    assert t["rows"][0][1] == f"test {order[0]}"
    assert t["header"] == ["Scenario", "What it is", "HOME", "FOREIGN"]


def test_pdf_has_the_findings(tmp_path):
    """Page 1 answers the question: the findings and the ranked comparison table are on it,
    before the contents and the SHA-256 hashes (those are in the scenario appendix)."""
    pdf = write_report(_results(), tmp_path / "r.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    page1 = text.split("\f")[0]
    assert "Key findings" in page1 and "The scenarios ranked by HOME" in page1
    assert "SHA-256" not in page1 and "SHA-256" in text
    _, items = _findings()
    first = items[0]["text"].split(";")[0].replace("\u2212", "-")
    flat = " ".join(text.split()).replace("\u2212", "-").replace("\u200b", "")
    assert " ".join(first.split()) in flat


@pytest.mark.parametrize("n", [1])
def test_one_scenario_has_no_ranking(n):
    res = _results()[:n]
    f = Findings([(str(ds.attrs["scenario"]), ds) for ds in res], ["HOME", "FOREIGN"],
                 ("HOME", "FOREIGN"), money_unit(res))
    assert f.build() == []


def test_package_parts_sentence_quotes_the_split():
    """With the package split in the results (decompose), one sentence gives b's GTAP subtotals
    and the interaction, each equal to the Dataset's numbers as the report formats them."""
    from cge.data.examples import two_by_two

    s = cge.Session(two_by_two(), ELASTICITIES)
    ds = s.run(toml=f'name = "package_big"\n{SCENARIOS["package_big"]}', decompose=True)
    res = _results()
    f = Findings([("package_big", ds)], ["HOME", "FOREIGN"], ("HOME", "FOREIGN"),
                 money_unit(res))
    item = next(i for i in f.build() if i["table"] == "packages")
    mo = f.money
    for p in ("tariffs", "transfers"):
        v = float(ds.EV_part_subtotal.sel(package_part=p, region="FOREIGN"))
        assert item["values"][f"subtotal_{p}"] == v
        assert f"{p} {mo.change(v)}" in item["text"]
    alone = float(ds.EV_part_alone.sel(region="FOREIGN").sum())
    ev = float(ds.EV.sel(region="FOREIGN"))
    assert f"interaction is {mo.change(ev - alone)}" in item["text"]
    assert f"EV of {mo.change(ev)}" in item["text"]
