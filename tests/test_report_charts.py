"""The report's bar charts stay readable for any number of scenarios: welfare, macro and
bilateral charts name each scenario on a row of its own, at most figures.MAX_BARS rows per
chart, every scenario in exactly one chart of each family; the bilateral volume tables hold
the Dataset's values."""

from __future__ import annotations

import re

import numpy as np
import pytest

import cge
from cge.data.examples import two_by_two
from cge.report import figures
from cge.report.build import _Report
from cge.report.export import plain_cell

N = figures.MAX_BARS + 3
TARIFF = ('name = "t{k:02d}"\n[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"\n'
          'commodities = "cloth"\nadd = {add}\n')


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    session = cge.Session(two_by_two(), {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0})
    results = [session.run(toml='name = "benchmark"\n')]
    results += [session.run(toml=TARIFF.format(k=k, add=2.0 * (k + 1))) for k in range(N)]
    folder = tmp_path_factory.mktemp("figs")
    return results, _Report(results, folder), folder


def _names_in(svg_path) -> list[str]:
    return re.findall(r">(t\d\d)<", svg_path.read_text(encoding="utf-8"))


def _family(folder, figs) -> list[list[str]]:
    return [_names_in(folder / f["file"]) for f in figs]


def test_every_scenario_once_per_chart_family(many):
    results, report, folder = many
    welfare, macro = report._welfare_figures()
    bilateral = report.bilateral()["figures"]
    want = [f"t{k:02d}" for k in range(N)]
    for name, figs, rows in (("welfare", welfare, figures.MAX_BARS),
                             ("macro", macro, figures.MAX_BARS // 2),
                             ("bilateral", bilateral, figures.MAX_BARS)):
        per_chart = [sorted(set(names)) for names in _family(folder, figs)]
        assert len(figs) == -(-N // rows), f"{name}: {len(figs)} charts for {N} scenarios"
        assert all(0 < len(names) <= rows for names in per_chart), name
        assert sorted(n for names in per_chart for n in names) == want, \
            f"{name}: a scenario missing or in two charts"
        assert f"of {N})" in figs[-1]["caption"], f"{name}: the caption says which part"


def test_bilateral_volume_tables_are_the_results(many):
    results, report, _ = many
    tables = report.bilateral()["tables"]
    a, b = report._pair()
    for table, (s, d) in zip(tables, ((a, b), (b, a)), strict=True):
        body = table["rows"][1:]
        assert len(body) == N
        for row, ds in zip(body, results[1:], strict=True):
            want = ds.trade_volume_pct.sel(exporter=s, importer=d).values
            np.testing.assert_allclose([plain_cell(c) for c in row[1:]], want, atol=0.005)
        assert table["fills"][0] == [None] * len(table["header"]), "benchmark row uncoloured"
    assert tables[0]["legend"] == tables[1]["legend"], "one colour scale for both directions"


def test_bilateral_directions_share_one_scale(tmp_path):
    """On the default data the two directions of US-Japan trade change by very different
    amounts (Japan's exports to the US fall by far more): one key covers both, so the same
    colour means the same change in either table."""
    session = cge.Session()
    results = [session.run("benchmark"), session.run("jpn_deal_15")]
    tables = _Report(results, tmp_path).bilateral()["tables"]
    tops = [max(abs(float(plain_cell(c))) for row in t["rows"][1:] for c in row[1:]
                if plain_cell(c) != "\u2013") for t in tables]
    vmax = float(plain_cell(tables[0]["legend"][-1]["label"]))
    assert tables[0]["legend"] == tables[1]["legend"]
    assert max(tops) <= vmax < 10 * max(tops)
    assert min(tops) < vmax / 2, "the two directions differ enough to test one scale"


def test_trade_balance_panel_only_when_it_moves(tmp_path):
    """Under a fixed current account a tariff moves the trade balance by solver noise only
    (~1e-11): the macro chart leaves that panel out and its caption says the balance does not
    change; a transfer moves it, and the panel is there."""
    session = cge.Session(two_by_two(), {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0})
    bench = session.run(toml='name = "benchmark"\n')
    tariff = session.run(toml=TARIFF.format(k=1, add=10.0))
    assert abs(float(tariff.trade_balance_change.max())) < 1e-6
    transfer = session.run(toml='name = "gift"\n[[transfer]]\npayer = "HOME"\n'
                                'recipient = "FOREIGN"\namount = 5\n')
    assert float(np.abs(transfer.trade_balance_change).max()) > 1.0
    for results, moved in (([bench, tariff], False), ([bench, transfer], True)):
        folder = tmp_path / str(moved)
        folder.mkdir()
        _, macro = _Report(results, folder)._welfare_figures()
        svg = (folder / macro[0]["file"]).read_text(encoding="utf-8")
        assert ("Trade balance change" in svg) is moved
        assert ("does not change" in macro[0]["caption"]) is not moved
