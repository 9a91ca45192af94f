"""The PDF report (cge.report): built from a small solved case, checked through its text."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

pypdf = pytest.importorskip("pypdf")

import cge  # noqa: E402
from cge.data.examples import two_by_two  # noqa: E402
from cge.report import money_unit, pct, write_report  # noqa: E402
from cge.report.fmt import MINUS, choose_money_unit, signed  # noqa: E402

SCENARIOS = {
    "benchmark": 'name = "benchmark"\ndescription = "no shocks"\n',
    "home_cloth_tariff": (
        'name = "home_cloth_tariff"\n'
        'description = "HOME raises its tariff on FOREIGN cloth by 20pp"\n\n'
        "[[tariff]]\n"
        'importer = "HOME"\n'
        'exporter = "FOREIGN"\n'
        'commodities = "cloth"\n'
        "add = 20.0\n"
    ),
    "foreign_home_transfer": (
        'name = "foreign_home_transfer"\n\n'
        "[[transfer]]\n"
        'payer = "FOREIGN"\n'
        'recipient = "HOME"\n'
        "share_of_payer_gdp = 1.0\n"
    ),
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    data = two_by_two()
    session = cge.Session(data, {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0})
    results = [session.run(toml=text) for text in SCENARIOS.values()]
    path = write_report(results, tmp_path_factory.mktemp("report") / "report.pdf")
    reader = pypdf.PdfReader(str(path))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return {"path": path, "reader": reader, "text": text, "results": results}


def test_formatting():
    assert signed(1.234) == "+1.23"
    assert signed(-1.234) == f"{MINUS}1.23"
    assert signed(-0.001) == "0.00"
    assert pct(float("nan")) == "\u2013"
    big = choose_money_unit([-62_300.0, 5.0], "US$ million", 2011)
    assert (big.label, big.change(-62_345.0)) == ("US$ bn of 2011", f"{MINUS}62.3")
    small = choose_money_unit([0.5], "US$ million", 2024)
    assert (small.label, small.change(0.456)) == ("US$ million of 2024", "+0.46")


def test_report_pages_and_sections(report):
    assert report["path"].exists()
    assert len(report["reader"].pages) >= 4
    text = report["text"]
    for heading in ("Contents", "Summary", "Welfare and macroeconomic results", "Methods",
                    "Data", "Solver diagnostics", "Scenario definitions",
                    "not one of the data sets shipped",
                    "fob = cif, no transport margins", cge.__version__, "two_by_two"):
        assert heading in text, heading
    for ds in report["results"]:
        assert ds.attrs["scenario_sha256"] in text


def test_report_names_and_headline_numbers(report):
    text, results = report["text"], report["results"]
    for name in SCENARIOS:
        assert name in text, name
    for region in ("HOME", "FOREIGN"):
        assert region in text
    unit = money_unit(results)
    assert unit.label == "US$ million of 2024"
    assert unit.label in text
    for ds in results:
        for r in ds.region.values:
            ev = unit.change(float(ds.EV.sel(region=r)))
            ev_pct = pct(float(ds.EV_pct.sel(region=r)))
            assert ev in text, (ds.attrs["scenario"], r, ev)
            assert ev_pct in text, (ds.attrs["scenario"], r, ev_pct)
    # the tariff makes HOME's EV non-zero, so the check above is not only about zeros
    tariff = results[1]
    assert abs(float(tariff.EV.sel(region="FOREIGN"))) > 0
    # the transfer appears in the transfer table
    assert "Net international transfers received" in text


def test_data_section_describes_the_data_run(report, tmp_path):
    """The repository's sources and the WIOD story are told for the data sets shipped with the
    model only: a hand-made (or GTAP) data set gets its own notes instead."""
    from cge.report.build import _Report

    assert "Timmer" not in report["text"] and "Data sources (data/SOURCES.md)" not in \
        report["text"]
    own = _Report(report["results"], tmp_path).data()
    assert not own["shipped"] and own["sources"] is None and own["imputations"] == []
    shipped = _Report([cge.Session().run("benchmark")], tmp_path).data()
    assert shipped["shipped"] and len(shipped["sources"]["rows"]) > 3 and shipped["imputations"]


def test_copied_text_has_plain_numbers(report):
    """Text copied out of the PDF (pdftotext, as a reader's copy and paste) has no invisible
    characters and negative numbers with a hyphen-minus, so pasted numbers are numbers; the
    names that may break after their underscores still read whole."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", str(report["path"]), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "\u200b" not in text and "\u00ad" not in text
    assert not re.search("\u2212\\d", text), "a typographic minus before a digit"
    negative = [v for ds in report["results"] for v in ds.EV.values if v < -0.01]
    assert negative, "the test scenarios have a welfare loss to look for"
    assert any(f"-{abs(v):.2f}" in text or f"-{abs(v):.1f}" in text for v in negative)
    assert "home_cloth_tariff" in text.replace("\n", "")


@pytest.mark.slow
def test_report_renders_to_png(report, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    from PIL import Image

    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "4",
                    str(report["path"]), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 4
    for png in pngs:
        im = Image.open(png).convert("L")
        dark = sum(im.histogram()[:200])
        assert dark > 0.002 * im.width * im.height, f"{png.name} looks blank"


def test_report_states_what_was_run(tmp_path):
    """Elasticities and options in the report come from the results, not from defaults or
    input files: a run with esub_top = 0.5, a partial esub_final and its own elasticity dict
    reports those values (before: esub_top 0.00 and the elasticity CSV of the data set)."""
    import dataclasses

    from cge.options import ModelOptions
    from cge.report.build import _Report

    opts = ModelOptions(esub_top=0.5, esub_final={"government": 0.25})
    session = cge.Session(two_by_two(), {"esubd": 2.5, "esubm": 4.5, "esubva": 0.8}, opts)
    res = session.run(toml='name = "t"\n[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"\n'
                      'commodities = "all"\nadd = 10\n')
    assert res.attrs["esub_top"] == 0.5
    methods = _Report([res], tmp_path).methods()
    other = {row[0]: row[1] for row in methods["other"]["rows"]}
    assert other["esub_top"] == "0.50"
    finals = dict(x.split() for x in other["esub_final"].split(", "))
    assert finals["government"] == "0.25"
    assert finals["household"] == "1.00"                       # default kept
    assert finals["defense"] == "0.00"
    assert set(other) == {f.name for f in dataclasses.fields(ModelOptions)}   # every option
    assert {tuple(r[1:]) for r in methods["elasticities"]["rows"]} == {("2.50", "4.50", "0.80")}
    assert "user dict" in methods["elasticities"]["caption"]


def test_results_identify_the_data(tmp_path):
    """data_sha256: the same for the same content however it is read, different when one
    value changes."""
    from cge.data.benchmark import content_sha256, load_benchmark, save_benchmark

    ds = two_by_two()
    sources = {k: "test" for k in ("vom", "vdfm", "vifm", "vfm", "vto", "vdfd", "vifd", "vtfd",
                                   "vxmd", "vtx", "vtm", "vdtax", "vsav", "vtrf")}
    save_benchmark(ds, tmp_path / "d", sources=sources)
    again = load_benchmark(tmp_path / "d")
    assert content_sha256(again) == content_sha256(ds)
    res = cge.Session(again, {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}).run(
        toml='name = "b"\n')
    assert res.attrs["data_sha256"] == content_sha256(ds)
    changed = ds.copy(deep=True)
    changed["vfm"][0, 0, 0] = changed["vfm"][0, 0, 0] * (1 + 1e-12)
    assert content_sha256(changed) != content_sha256(ds)
