"""The page-layout checks of :mod:`cge.report.layout`: each one on small PDFs made with Typst
(the report's page set-up, a clean page, then one fault each: the checks can fail), then
:func:`~cge.report.layout.check_pdf` on real reports (a representative selection here; the
standard set with the strategy section and the whole scenario library as slow cases)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cge.report import layout
from cge.report.layout import (
    LayoutProblem,
    check_pdf,
    margin_ink,
    overlapping_text,
    stranded_headings,
    text_outside,
)

#: The page set-up of ``cge/report/templates/report.typ``: A4, its margins, header and footer.
PAGE = """
#set page(
  paper: "a4",
  margin: (x: 2cm, top: 2.2cm, bottom: 2cm),
  header: context {
    if counter(page).get().first() > 1 {
      set text(7.5pt, fill: luma(90))
      [cge 0.1.0 · counterfactual report · data set default2024 #h(1fr) 2026-12-02]
      v(-4pt)
      line(length: 100%, stroke: 0.3pt + luma(150))
    }
  },
  footer: context {
    set text(8pt, fill: luma(60))
    h(1fr)
    counter(page).display("1 / 1", both: true)
    h(1fr)
  },
)
#set text(font: "Libertinus Serif", size: 10pt, lang: "en")
#set par(justify: true, leading: 0.58em)
#set heading(numbering: "1.1")
#show heading.where(level: 1): it => { pagebreak(weak: true); block(below: 0.9em, text(14pt, it)) }
#show heading.where(level: 2): it => block(above: 1.1em, below: 0.7em, text(11pt, it))
"""

#: Two and a half pages of clean text: headings, a table and two formulas of the report's
#: methods section, whose word boxes overlap although their glyphs do not touch (a sub- and a
#: superscript stacked in an exponent; an inline fraction's denominator over the next line).
CLEAN = """
= Summary
#lorem(120)
== Bilateral trade JPN – USA
Zero profit sets the output price:
$ p^"va"_(j r) = (sum_f theta^f_(f j r) (p^f_(f r) / pi_(f j r))^(1 - sigma^"VA"_j))^(
  1 / (1 - sigma^"VA"_j)) $
#lorem(30) Under the private EV counts household consumption alone,
$(Q_(C r) / Q^0_(C r) - 1) C^0_r$; under the
separate institutions the private one; both are reported. #lorem(40)
#figure(kind: table, caption: [A table.], table(columns: 4, stroke: none,
  [Region], [EV], [GDP], [ToT], [USA], [+43.9], [−0.27], [+3.47], [JPN], [−4.5], [−0.02], [−0.54]))
#lorem(500)
= Methods
#lorem(300)
== Data
#lorem(200)
"""


def _pdf(tmp_path: Path, body: str, name: str = "t") -> Path:
    """``body`` set on the report's page set-up, compiled with Typst → the PDF's path."""
    import typst

    src = tmp_path / f"{name}.typ"
    src.write_text(PAGE + body, encoding="utf-8")
    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(typst.compile(str(src)))
    return pdf


def _listing(problems: list[LayoutProblem]) -> str:
    return "\n".join(map(str, problems)) or "(none)"


def _kinds(problems: list[LayoutProblem]) -> set[str]:
    return {p.kind for p in problems}


# ---------------------------------------------------------------------------- synthetic pages
@pytest.fixture(scope="module")
def clean_pdf(tmp_path_factory) -> Path:
    return _pdf(tmp_path_factory.mktemp("clean"), CLEAN)


def test_clean_pages_have_no_problems(clean_pdf):
    from cge.report import pdf_page_count

    assert pdf_page_count(clean_pdf) >= 3          # headers from page 2 on, several footers
    assert check_pdf(clean_pdf) == [], _listing(check_pdf(clean_pdf))


def test_each_check_is_clean_on_clean_pages(clean_pdf):
    for check in (margin_ink, text_outside, overlapping_text, stranded_headings):
        assert check(clean_pdf) == [], f"{check.__name__}:\n{_listing(check(clean_pdf))}"


def test_text_placed_over_text_overlaps(tmp_path):
    pdf = _pdf(tmp_path, "= Summary\n#lorem(60)\n"
                         "#place(top + left, dy: 1.2cm)[Overprinted words on the paragraph]\n")
    found = overlapping_text(pdf)
    assert found and _kinds(found) == {"overlapping-text"}, _listing(found)
    assert {p.page for p in found} == {1}
    assert any("Overprinted" in p.detail for p in found), _listing(found)
    assert margin_ink(pdf) == [] and stranded_headings(pdf) == []


def test_table_columns_running_into_each_other_overlap(tmp_path):
    pdf = _pdf(tmp_path, "= Summary\n#table(columns: (1.2cm, 1.2cm, 1.2cm), stroke: none,\n"
                         "  [us_2025_landscape_retaliation], [USA], [−92.1],\n"
                         "  [branch_2026h2_mfn_s232], [JPN], [+85.6])\n")
    found = overlapping_text(pdf)
    assert any("'us_2025_landscape_retaliation'" in p.detail and "'USA'" in p.detail
               for p in found), _listing(found)


@pytest.mark.parametrize(("placement", "side"), [
    ("left + top, dx: -1.6cm, dy: 3cm", "left"),          # in the left margin
    ("right + top, dx: 1.6cm, dy: 8cm", "right"),         # in the right margin
    ("center + bottom, dy: 1.75cm", "bottom"),            # below the footer band
    ("center + top, dy: -1.9cm", "top"),                  # above the header band
    ("left + bottom, dy: 1cm", "bottom"),                 # beside the page number
    ("center + bottom, dy: 0.5cm", "bottom"),             # between text area and footer
])
def test_box_in_a_margin_is_ink(tmp_path, placement, side):
    pdf = _pdf(tmp_path, f"= Summary\n#lorem(80)\n#pagebreak()\n#lorem(40)\n"
                         f"#place({placement}, rect(width: 6mm, height: 4mm, fill: black))\n")
    found = margin_ink(pdf)
    assert [(p.page, p.kind) for p in found] == [(2, "margin-ink")], _listing(found)
    assert f"the {side} margin" in found[0].detail, _listing(found)


def test_header_and_footer_bands_are_not_margin_ink(clean_pdf):
    """The running header and the page number are in the margins: the bands allow them, so
    a clean page is clean (above); blank the bands and the same pages show the ink."""
    saved = layout.HEADER_BAND, layout.FOOTER_BAND
    try:
        layout.HEADER_BAND = layout.FOOTER_BAND = (-2.0, -1.0)
        found = margin_ink(clean_pdf)
    finally:
        layout.HEADER_BAND, layout.FOOTER_BAND = saved
    where = {(p.page, p.detail.split(":")[0]) for p in found}
    assert (1, "ink in the bottom margin") in where
    assert (2, "ink in the top margin") in where
    assert (1, "ink in the top margin") not in where     # no header on the title page


def test_text_in_a_margin_is_outside(tmp_path):
    pdf = _pdf(tmp_path, "= Summary\n#lorem(80)\n"
                         "#place(left + top, dx: -1.9cm, dy: 4cm, text(7pt)[stray])\n"
                         "#place(center + bottom, dy: 1.2cm, text(8.5pt)[caption pushed down])\n")
    found = text_outside(pdf)
    details = " ".join(p.detail for p in found)
    assert _kinds(found) == {"text-outside"}, _listing(found)
    assert "left margin" in details and "'stray'" in details, _listing(found)
    assert "bottom margin" in details and "caption pushed down" in details, _listing(found)


def test_heading_before_a_pagebreak_is_stranded(tmp_path):
    pdf = _pdf(tmp_path, "= Summary\n#lorem(80)\n== Bilateral trade JPN – USA\n#pagebreak()\n"
                         "#lorem(80)\n")
    found = stranded_headings(pdf)
    assert [(p.page, p.kind) for p in found] == [(1, "stranded-heading")], _listing(found)
    assert "'1.1 Bilateral trade JPN – USA'" in found[0].detail


def test_heading_alone_on_its_page_is_stranded(tmp_path):
    """A level-1 heading whose figure did not fit: the heading is the page's only text."""
    pdf = _pdf(tmp_path, "= Summary\n#lorem(80)\n= Macroeconomic results\n#pagebreak()\n"
                         "#lorem(40)\n")
    found = stranded_headings(pdf)
    assert [(p.page, p.kind) for p in found] == [(2, "stranded-heading")], _listing(found)


def test_check_pdf_sorts_all_kinds_by_page(tmp_path):
    pdf = _pdf(tmp_path, "= Summary\n#lorem(80)\n== Trade\n#pagebreak()\n#lorem(40)\n"
                         "#place(top + left, dy: 5mm)[Overprinted words]\n"
                         "#place(left + top, dx: -1.9cm, dy: 4cm)[stray]\n")
    found = check_pdf(pdf)
    assert _kinds(found) == {"stranded-heading", "overlapping-text", "margin-ink",
                             "text-outside"}, _listing(found)
    assert [p.page for p in found] == sorted(p.page for p in found)
    assert str(found[0]).startswith("page 1: stranded-heading: ")


# ---------------------------------------------------------------------------- real reports
#: A representative selection of the standard set: the benchmark, a tariff landscape with
#: retaliation, a 2026 branch, a defense-transfer scenario and a package (long names, wide
#: tables, every chart kind except the strategy section's).
SELECTION = ("benchmark", "us_2025_landscape_retaliation", "branch_2026h2_mfn_s232",
             "jpn_hns_plus100", "package_2026h2_jpn_all")


def _report(out: Path, names, *, strategy: bool) -> tuple[Path, float]:
    """Run ``names`` as ``cge counterfactual`` does, into ``out`` → the PDF and seconds."""
    from cge.negotiation import STANDARD_PAIRS
    from cge.runner import run_scenarios

    t0 = time.perf_counter()
    run_scenarios(names, out_dir=out, echo=False, strategy=STANDARD_PAIRS if strategy else ())
    return out / "counterfactual.pdf", time.perf_counter() - t0


def _assert_clean(pdf: Path) -> None:
    problems = check_pdf(pdf)
    assert not problems, f"{len(problems)} layout problem(s) in {pdf}:\n{_listing(problems)}"


def test_selection_report_layout(tmp_path):
    """About 30 s: the selection without the strategy analysis (which adds about 35 s)."""
    pdf, _ = _report(tmp_path, SELECTION, strategy=False)
    _assert_clean(pdf)


@pytest.mark.slow
def test_standard_report_layout(tmp_path):
    """The report of ``make counterfactual`` (the standard set, with the strategy section;
    about 2 min)."""
    from cge.runner import STANDARD_SCENARIOS

    pdf, _ = _report(tmp_path, STANDARD_SCENARIOS, strategy=True)
    _assert_clean(pdf)


@pytest.mark.slow
def test_library_report_layout(tmp_path):
    """The report of ``make counterfactual SCENARIOS=all`` (the whole library; several
    minutes)."""
    pdf, _ = _report(tmp_path, ["all"], strategy=True)
    _assert_clean(pdf)
