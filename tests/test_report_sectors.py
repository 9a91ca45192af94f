"""Sector x region heat tables of the report (cge.report.build._Report.sectors): every cell is
the Dataset's value as printed, coloured on one scale per family over all scenarios, and the
colour of a value follows its sign and size."""

from __future__ import annotations

import numpy as np
import pytest

import cge
from cge.data.examples import two_by_two
from cge.report import figures
from cge.report.build import _Report
from cge.report.export import plain_cell

TARIFF = ('name = "{name}"\n[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"\n'
          'commodities = "cloth"\nadd = {add}\n')


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[k:k + 2], 16) for k in (1, 3, 5)], dtype=float)


def test_heat_colours_follow_sign_and_size():
    fills, inks = figures.heat_fills([[0.0, 5.0, -5.0, 10.0, -10.0, 40.0, float("nan")]], 10.0)
    zero, up, down, top, bottom, beyond, missing = (_rgb(f) for f in fills[0])
    assert np.all(zero > 240), "zero is (near) white"
    assert up[2] > up[0] and down[0] > down[2], "a rise is blue, a fall red"
    assert top.sum() < up.sum() < zero.sum() and bottom.sum() < down.sum() < zero.sum(), \
        "larger changes are darker"
    assert np.array_equal(beyond, top), "values beyond the scale take the end colour"
    assert fills[0][6] == figures.NO_VALUE_FILL
    assert inks[0] == ["#000000", "#000000", "#000000", "#ffffff", "#ffffff", "#ffffff",
                       "#000000"]


@pytest.fixture(scope="module")
def sector_tables(tmp_path_factory):
    session = cge.Session(two_by_two(), {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0})
    results = [session.run(toml='name = "benchmark"\n'),
               session.run(toml=TARIFF.format(name="small", add=5.0)),
               session.run(toml=TARIFF.format(name="large", add=60.0))]
    report = _Report(results, tmp_path_factory.mktemp("figs"))
    return results, report.sectors()


def test_heat_table_cells_are_the_results(sector_tables):
    results, sectors = sector_tables
    base = results[0]
    assert [s["scenario"] for s in sectors] == ["small", "large"]
    for ds, s in zip(results[1:], sectors, strict=True):
        output, price = s["tables"]
        want_out = ds.output_pct.transpose("activity", "region")
        want_price = 100 * (ds.price_domestic / base.price_domestic - 1)
        for table, want in ((output, want_out),
                            (price, want_price.transpose("commodity", "region"))):
            assert [plain_cell(h) for h in table["header"][1:]] == list(want.region.values)
            for row, expect in zip(table["rows"], want.values, strict=True):
                np.testing.assert_allclose([plain_cell(c) for c in row[1:]], expect,
                                           atol=0.005 + 1e-12)
            assert len(table["fills"]) == len(table["rows"])


def test_one_colour_scale_per_family(sector_tables):
    """Both scenarios' output tables share one key whose end is at least the largest |change|
    of either; the same value is the same colour in both."""
    results, sectors = sector_tables
    for family in (0, 1):
        keys = [s["tables"][family]["legend"] for s in sectors]
        assert keys[0] == keys[1]
        vmax = float(plain_cell(keys[0][-1]["label"]))
        cells = [abs(float(plain_cell(c))) for s in sectors
                 for row in s["tables"][family]["rows"] for c in row[1:]]
        assert max(cells) <= vmax < 10 * max(cells)
        assert all(f"±{keys[0][-1]['label'].lstrip('+')} %" in s["tables"][family]["caption"]
                   for s in sectors)
    small = sectors[0]["tables"][0]
    large = sectors[1]["tables"][0]
    assert small["fills"] != large["fills"], "a 5pp and a 60pp tariff look different"
