"""The report's welfare explanations (cge.report.welfare): long charts are split so every bar
keeps a readable row, the decomposition table carries every scenario and region."""

from __future__ import annotations

import numpy as np
import xarray as xr

from cge.report.build import _table
from cge.report.figures import MAX_BARS
from cge.report.fmt import MoneyUnit
from cge.report.welfare import decomposition_section
from cge.welfare import COMPONENTS


def _result(k: int) -> xr.Dataset:
    rng = np.random.default_rng(k)
    dec = rng.normal(size=(len(COMPONENTS), 2))
    return xr.Dataset({"EV_decomposition": (("component", "region"), dec),
                       "EV_regional": (("region",), dec.sum(axis=0))},
                      coords={"component": list(COMPONENTS), "region": ["USA", "JPN"]})


def test_long_decomposition_chart_is_split(tmp_path):
    n = MAX_BARS + 5
    cf = [(f"scenario_{k}", _result(k)) for k in range(n)]
    made = []

    def fig_path(stem: str):
        made.append(tmp_path / f"{stem}.svg")
        return made[-1]

    out = decomposition_section(cf, ["USA", "JPN"], MoneyUnit(1e-3, "US$ bn", 1), fig_path,
                                _table)
    assert len(out["figures"]) == 2
    assert "(scenarios 1-16 of 21)" in out["figures"][0]["caption"]
    assert "(scenarios 17-21 of 21)" in out["figures"][1]["caption"]
    for path in made:
        svg = path.read_text()
        labels = [f">scenario_{k}<" in svg for k in range(n)]
        assert 0 < sum(labels) <= MAX_BARS
    assert len(out["table"]["rows"]) == 2 * n                 # every scenario x region
