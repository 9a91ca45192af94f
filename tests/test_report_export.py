r"""Report tables as CSV/XLSX and results to CSV/XLSX (``cge.report.export``, ``cge export``).

The EV table's CSV holds the numbers the PDF prints (the Dataset's EV in the report's money
unit, rounded as printed), with no zero-width spaces or typographic minus signs; the workbook
holds the same cells as the CSVs; ``cge export`` writes the Dataset's values exactly; a run
writes ``counterfactual.xlsx`` and ``results/tables/``; bad requests exit 2 with one line.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from conftest import ELASTICITIES, HOME_TARIFF_20, save_tiny_benchmark

import cge
from cge.api import compare, write_netcdf
from cge.report import write_report
from cge.report.build import money_unit
from cge.report.export import ExportError, export_results, plain_cell

ROOT = Path(__file__).resolve().parents[1]


@cache
def _results() -> list:
    from cge.data.examples import two_by_two

    s = cge.Session(two_by_two(), ELASTICITIES)
    return [s.run(toml='name = "benchmark"\n'), s.run(toml=HOME_TARIFF_20)]


def _csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_plain_cell():
    assert plain_cell("\u22123.25") == -3.25
    assert plain_cell("+1,234.5") == 1234.5
    assert plain_cell("0.29 %") == 0.29
    assert plain_cell("home_\u200btariff") == "home_tariff"
    assert plain_cell(["+1.0 best", "0.01 %"]) == "+1.0 best / 0.01"
    assert plain_cell("\u2013") == "\u2013"


def test_report_tables_as_csv_and_xlsx(tmp_path):
    from openpyxl import load_workbook

    pdf = write_report(_results(), tmp_path / "r.pdf")
    folder, book = tmp_path / "r_tables", tmp_path / "r_tables.xlsx"
    files = sorted(folder.glob("T*.csv"))
    assert len(files) >= 10 and pdf.exists()
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert "\u200b" not in text and "\u2212" not in text, f.name
    ev = next(f for f in files if _csv(f)[0][0].startswith("Equivalent variation, "))
    rows = _csv(ev)
    header, body = rows[1], rows[2:]
    row = next(r for r in body if r[0] == "home_tariff_20")    # scenarios as rows
    mo = money_unit(_results())
    got = {r: float(row[header.index(r)]) for r in ("HOME", "FOREIGN")}
    for r, v in got.items():
        expect = round(float(_results()[1].EV.sel(region=r)) * mo.scale, mo.decimals)
        assert v == pytest.approx(expect, abs=1e-12), r
    assert any(abs(v) > 0.01 for v in got.values())            # not a table of zeros
    wb = load_workbook(book)
    assert len(wb.sheetnames) == len(files)
    for f, name in zip(files, wb.sheetnames, strict=True):
        sheet = [[("" if c is None else c) for c in row] for row in
                 wb[name].iter_rows(values_only=True)]
        from_csv = _csv(f)
        assert len(sheet) == len(from_csv)
        for a, b in zip(sheet, from_csv, strict=True):
            assert [str(plain_cell(x)) if not isinstance(x, str) else x for x in a][:len(b)] \
                == [str(plain_cell(x)) if not isinstance(plain_cell(x), str) else x
                    for x in b], f.name


def test_export_results_exact(tmp_path):
    from openpyxl import load_workbook

    stack = compare(_results())
    nc = write_netcdf(stack, tmp_path / "cf.nc")
    out = export_results(nc, ["EV", "trade_volume"], tmp_path / "out.csv")
    rows = _csv(out)
    assert rows[0][0] == "variable" and rows[0][-1] == "value"
    ev = [r for r in rows[1:] if r[0] == "EV"]
    dims = rows[0][1:-1]
    for r in ev:
        sel = {d: v for d, v in zip(dims, r[1:-1], strict=True) if v}
        assert float(r[-1]) == float(stack.EV.sel(**sel))
    assert len(ev) == stack.EV.size
    book = export_results(nc, ["EV"], tmp_path / "out.xlsx")
    sheet = list(load_workbook(book)["EV"].iter_rows(values_only=True))
    assert sheet[0] == ("scenario", "region", "value")
    np.testing.assert_allclose([r[2] for r in sheet[1:]], stack.EV.values.ravel(), rtol=1e-15)
    with pytest.raises(ExportError, match="no variable"):
        export_results(nc, ["EVX"], tmp_path / "x.csv")
    with pytest.raises(ExportError, match=".csv or .xlsx"):
        export_results(nc, ["EV"], tmp_path / "x.txt")
    proc = subprocess.run([sys.executable, "-m", "cge", "export", str(nc), "--var", "EVX",
                           "--out", str(tmp_path / "y.csv")], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_run_writes_the_workbook(tmp_path):
    from cge.runner import run_scenarios

    data, elast = save_tiny_benchmark(tmp_path)
    (tmp_path / "t.toml").write_text(HOME_TARIFF_20)
    out = tmp_path / "run"
    run_scenarios([str(tmp_path / "t.toml")], data=str(data), elasticities=str(elast),
                  out_dir=out, echo=False)
    assert (out / "counterfactual.xlsx").stat().st_size > 5000
    assert len(list((out / "results" / "tables").glob("T*.csv"))) >= 10
