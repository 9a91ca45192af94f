r"""The report's scenario appendix (``cge.report.appendix``): what each scenario changes.

On ``two_by_two``: HOME +20 pp on everything from FOREIGN plus a FOREIGN -> HOME transfer gives
one tariff line whose before/after rates are the benchmark-trade-weighted means computed here
from the calibration's own rates and flows, and one transfer line; the benchmark changes
nothing; the PDF carries the table, and the scenario files' text only with ``appendix="full"``.
"""

from __future__ import annotations

import subprocess
from functools import cache

import numpy as np
import pytest
from conftest import ELASTICITIES, HOME_TARIFF_20

import cge
from cge.report import write_report
from cge.report.appendix import scenario_changes

TRANSFER = '[[transfer]]\npayer = "FOREIGN"\nrecipient = "HOME"\namount = 1.5\n'


@cache
def _session() -> cge.Session:
    from cge.data.examples import two_by_two

    return cge.Session(two_by_two(), ELASTICITIES)


def _mean_rate(importer: str, exporter: str, add: float = 0.0) -> float:
    p = _session().params
    w = p["vxmd"].sel(exporter=exporter, importer=importer).values
    t = p["tm0"].sel(exporter=exporter, importer=importer).values + add
    return float(np.dot(w, t) / w.sum())


def test_tariff_and_transfer_lines():
    res = _session().run(toml=HOME_TARIFF_20 + TRANSFER)
    lines = scenario_changes(res)
    b0, b1 = _mean_rate("HOME", "FOREIGN"), _mean_rate("HOME", "FOREIGN", 0.20)
    assert lines[0] == f"tariff HOME \u2190 FOREIGN: {100 * b0:.2f} \u2192 {100 * b1:.2f} %"
    assert lines[1] == "transfer: payer FOREIGN, recipient HOME, amount 1.5"
    assert len(lines) == 2                     # FOREIGN's tariffs did not move
    assert scenario_changes(_session().run(toml='name = "benchmark"\n')) == [
        "nothing: the benchmark"]


@pytest.mark.parametrize("appendix", ["summary", "full"])
def test_pdf_appendix(tmp_path, appendix):
    res = [_session().run(toml=HOME_TARIFF_20 + TRANSFER)]
    pdf = write_report(res, tmp_path / "r.pdf", appendix=appendix)
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "What each scenario changes against the benchmark" in text
    assert "tariff HOME \u2190 FOREIGN" in text
    assert ('importer = "HOME"' in text) == (appendix == "full")
    with pytest.raises(ValueError, match="appendix must be"):
        write_report(res, tmp_path / "x.pdf", appendix="all")
