"""Automatic page-layout checks of the PDF report.

The report (``report.typ``: A4, margins x 2 cm, top 2.2 cm, bottom 2 cm, a running header in
the top margin from page 2 on and a centred page number in the bottom margin) must have

* no ink outside the text area, except in the header and footer bands (:func:`margin_ink`),
  and no text there either, visible or clipped (:func:`text_outside`);
* no two pieces of text printed over each other: table columns that run into each other,
  chart labels on top of each other (:func:`overlapping_text`);
* no heading stranded at the foot of a page, i.e. a numbered heading that is the last line of
  text on its page (:func:`stranded_headings`).

Each check takes a PDF path and returns a list of :class:`LayoutProblem` (empty when the
PDF is clean); :func:`check_pdf` runs them all. The checks use poppler's ``pdftoppm`` (pages
rendered to grey PNGs, read with :mod:`matplotlib.image`) and ``pdftotext -bbox-layout``
(word and line boxes as XHTML, read with :mod:`xml.etree.ElementTree`). Lengths are in PDF
points (1/72 in) measured from the top left corner of the page, as ``pdftotext`` gives them.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "LayoutProblem", "Word", "Line", "TextPage",
    "margin_ink", "text_outside", "overlapping_text", "stranded_headings", "check_pdf",
    "text_pages", "page_count",
    "MARGIN_X", "MARGIN_TOP", "MARGIN_BOTTOM", "HEADER_BAND", "FOOTER_BAND",
]

PT_PER_CM = 72 / 2.54

#: The page margins of ``report.typ`` (``margin: (x: 2cm, top: 2.2cm, bottom: 2cm)``), in pt.
MARGIN_X = 2.0 * PT_PER_CM          # 56.69 pt
MARGIN_TOP = 2.2 * PT_PER_CM        # 62.36 pt
MARGIN_BOTTOM = 2.0 * PT_PER_CM     # 56.69 pt
#: Ink may reach this far (1.5 mm) beyond the text area: glyph ascenders of a first line and
#: descenders of a last line, side bearings and anti-aliasing at low resolution.
TOLERANCE = 0.15 * PT_PER_CM        # 4.25 pt

#: The header band (top, bottom) in pt from the top of the page, across the text width.
#: Measured on the template's output (rendered at 144 dpi): the header text (7.5 pt) inks
#: 33.0-40.5 pt and its rule (0.3 pt, luma 150) 43.5-44.0 pt; a few pt are added either side.
HEADER_BAND = (28.0, 49.0)
#: The footer band (top, bottom) in pt from the top of an A4 page (841.89 pt high), around the
#: centre line (:data:`FOOTER_HALF_WIDTH`). Measured the same way: the page number "n / N"
#: (8 pt) inks 801.5-807.5 pt (its pdftotext box is 800.3-809.4 pt); the text area ends at
#: 785.2 pt.
FOOTER_BAND = (795.0, 815.0)
#: The footer band reaches this far either side of the page's centre line: the page number is
#: centred, "1 / 2" is 14 pt wide (x 290.6-304.6 pt), "110 / 110" about 29 pt.
FOOTER_HALF_WIDTH = 25.0
#: The pdftotext boxes of the header line (7.5 pt: y 31.9-40.5 pt) and of the page number
#: (8 pt: y 800.3-809.4 pt), measured on the template's output, with 0.6 pt to spare.
HEADER_TEXT = (31.3, 41.1)
FOOTER_TEXT = (799.7, 810.0)
#: The words of the page number "n / N".
FOOTER_WORD = re.compile(r"\d+|/")
#: How many of the words outside the text area a problem names.
_SHOW = 12
#: At most this many overprinting pairs are listed for a page, then one problem counts the rest.
MAX_PAIRS = 20
#: Pages per ``pdftoppm`` call when rendering in parallel.
RENDER_CHUNK = 4

#: A pixel is ink when its grey value (0-255, the darkest of R, G, B) is below this.
INK_THRESHOLD = 245
#: Two word boxes overprint when their intersection exceeds this fraction of the smaller box.
OVERLAP_FRACTION = 0.25
#: pdftotext's line box is about 1.14 x the font size (11.4 pt for the 10 pt body text,
#: 12.5 pt for the 11 pt level-2 headings, 16.0 pt for 14 pt level-1 headings). Lines at
#: least this high (a font of about 10.5 pt or more) can be headings.
HEADING_MIN_HEIGHT = 12.0
#: A numbered heading: "3", "3.2" or "3.2.1" then a title starting with a letter.
HEADING_NUMBER = re.compile(r"\d+(?:\.\d+)*")

_NS = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class LayoutProblem:
    """One layout problem: ``page`` (1-based), ``kind`` (``"margin-ink"``,
    ``"text-outside"``, ``"overlapping-text"`` or ``"stranded-heading"``) and
    what was found (``detail``)."""

    page: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"page {self.page}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Word:
    """A word box from ``pdftotext -bbox-layout`` (pt, origin top left)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def area(self) -> float:
        return max(self.x1 - self.x0, 0.0) * max(self.y1 - self.y0, 0.0)


@dataclass(frozen=True)
class Line:
    """A text line from ``pdftotext -bbox-layout``: its words and its box."""

    words: tuple[Word, ...]
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def height(self) -> float:
        return max((w.y1 - w.y0 for w in self.words), default=self.y1 - self.y0)


@dataclass(frozen=True)
class TextPage:
    """The text of one page: its number (1-based), size (pt) and lines."""

    number: int
    width: float
    height: float
    lines: tuple[Line, ...]

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]


def _run(cmd: list[str]) -> str:
    """Run a poppler tool; its stdout (poppler's warnings on stderr are dropped)."""
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise RuntimeError(f"{cmd[0]} not found: install poppler-utils") from None
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res.stdout


def _box(el: ET.Element) -> tuple[float, float, float, float]:
    return tuple(float(el.get(k)) for k in ("xMin", "yMin", "xMax", "yMax"))  # type: ignore


def text_pages(pdf: str | Path) -> list[TextPage]:
    """Every page's text lines and word boxes, from ``pdftotext -bbox-layout``."""
    xml = _run(["pdftotext", "-bbox-layout", str(pdf), "-"])
    root = ET.fromstring(xml)
    pages = []
    for k, page in enumerate(root.iter(f"{_NS}page"), start=1):
        lines = []
        for line in page.iter(f"{_NS}line"):
            words = tuple(Word(w.text or "", *_box(w)) for w in line.iter(f"{_NS}word"))
            if words:
                lines.append(Line(words, *_box(line)))
        pages.append(TextPage(k, float(page.get("width")), float(page.get("height")),
                              tuple(lines)))
    return pages


# ---------------------------------------------------------------------------- margin ink
def page_count(pdf: str | Path) -> int:
    """Pages of a PDF, from ``pdfinfo``."""
    m = re.search(r"^Pages:\s+(\d+)", _run(["pdfinfo", str(pdf)]), re.MULTILINE)
    if m is None:
        raise RuntimeError(f"pdfinfo gives no page count for {pdf}")
    return int(m.group(1))


def _render(pdf: str | Path, dpi: int, first: int, last: int, folder: str) -> None:
    _run(["pdftoppm", "-png", "-gray", "-r", str(dpi), "-f", str(first), "-l", str(last),
          str(pdf), f"{folder}/p"])


def _gray_pages(pdf: str | Path, dpi: int) -> list[np.ndarray]:
    """The pages rendered at ``dpi`` as 2-D arrays of grey values 0-255. Runs of
    :data:`RENDER_CHUNK` pages are rendered in parallel (one ``pdftoppm`` each, on every
    CPU): a page of hatched bars can take ``pdftoppm`` seconds."""
    import matplotlib.image as mpimg

    n = page_count(pdf)
    chunks = [(k, min(k + RENDER_CHUNK - 1, n)) for k in range(1, n + 1, RENDER_CHUNK)]
    with tempfile.TemporaryDirectory(prefix="layout-") as tmp, \
            ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for job in [pool.submit(_render, pdf, dpi, a, b, tmp) for a, b in chunks]:
            job.result()
        files = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        pages = []
        for f in files:
            img = mpimg.imread(f)
            if img.ndim == 3:
                img = img[..., :3].min(axis=2)
            if img.dtype.kind == "f":
                img = img * 255.0
            pages.append(np.asarray(img, dtype=np.float32))
    if len(pages) != n:
        raise RuntimeError(f"pdftoppm rendered {len(pages)} of the {n} pages of {pdf}")
    return pages


def _allowed_mask(h: int, w: int, scale: float) -> np.ndarray:
    """Where ink may be on a page of ``h`` x ``w`` pixels (``scale`` pixels per pt): the
    text area plus :data:`TOLERANCE`, the header band across the text width and the footer
    band :data:`FOOTER_HALF_WIDTH` either side of the centre."""
    width_pt, height_pt = w / scale, h / scale
    ys = (np.arange(h) + 0.5) / scale
    xs = (np.arange(w) + 0.5) / scale
    in_x = (xs >= MARGIN_X - TOLERANCE) & (xs <= width_pt - MARGIN_X + TOLERANCE)
    in_y = (ys >= MARGIN_TOP - TOLERANCE) & (ys <= height_pt - MARGIN_BOTTOM + TOLERANCE)
    header = (ys >= HEADER_BAND[0]) & (ys <= HEADER_BAND[1])
    footer = (ys >= FOOTER_BAND[0]) & (ys <= FOOTER_BAND[1])
    centre = np.abs(xs - width_pt / 2) <= FOOTER_HALF_WIDTH
    return (((in_y | header)[:, None] & in_x[None, :])
            | (footer[:, None] & centre[None, :]))


def margin_ink(pdf: str | Path, dpi: int = 60) -> list[LayoutProblem]:
    """Ink outside the text area (plus 1.5 mm) other than the header and footer bands: one
    problem per page and margin, with the box of the stray ink (pt from the top left)."""
    problems = []
    scale = dpi / 72.0
    for k, gray in enumerate(_gray_pages(pdf, dpi), start=1):
        h, w = gray.shape
        stray = (gray < INK_THRESHOLD) & ~_allowed_mask(h, w, scale)
        if not stray.any():
            continue
        ys, xs = np.nonzero(stray)
        cx, cy = (xs + 0.5) / scale, (ys + 0.5) / scale
        side = np.where(cx < MARGIN_X, "left", np.where(
            cx > w / scale - MARGIN_X, "right", np.where(cy < h / scale / 2, "top", "bottom")))
        sides = {s: np.nonzero(side == s)[0] for s in ("left", "right", "top", "bottom")}
        for where, idx in sides.items():
            if not len(idx):
                continue
            sy, sx = ys[idx], xs[idx]
            problems.append(LayoutProblem(k, "margin-ink", (
                f"ink in the {where} margin: {len(idx)} px at {dpi} dpi within "
                f"x {sx.min() / scale:.1f}-{(sx.max() + 1) / scale:.1f} pt, "
                f"y {sy.min() / scale:.1f}-{(sy.max() + 1) / scale:.1f} pt "
                f"(text area x {MARGIN_X:.1f}-{w / scale - MARGIN_X:.1f}, "
                f"y {MARGIN_TOP:.1f}-{h / scale - MARGIN_BOTTOM:.1f} pt)")))
    return problems


def _outside(page: TextPage) -> list[LayoutProblem]:
    """Words of one page whose box reaches more than :data:`TOLERANCE` beyond the text area,
    other than the header line (from page 2 on) and the page number in the footer: one
    problem per margin, naming the words (the first :data:`_SHOW`) and their box."""
    x0, x1 = MARGIN_X - TOLERANCE, page.width - MARGIN_X + TOLERANCE
    y0, y1 = MARGIN_TOP - TOLERANCE, page.height - MARGIN_BOTTOM + TOLERANCE
    sides: dict[str, list[Word]] = {}
    for w in page.words:
        inside_x = w.x0 >= x0 and w.x1 <= x1
        if inside_x and w.y0 >= y0 and w.y1 <= y1:
            continue
        if page.number > 1 and inside_x and HEADER_TEXT[0] <= w.y0 and w.y1 <= HEADER_TEXT[1]:
            continue
        if (inside_x and FOOTER_TEXT[0] <= w.y0 and w.y1 <= FOOTER_TEXT[1]
                and FOOTER_WORD.fullmatch(w.text)):
            continue
        cx, cy = (w.x0 + w.x1) / 2, (w.y0 + w.y1) / 2
        side = ("left" if w.x0 < x0 and cx < page.width / 2 else
                "right" if w.x1 > x1 and cx >= page.width / 2 else
                "top" if cy < page.height / 2 else "bottom")
        sides.setdefault(side, []).append(w)
    problems = []
    for side, words in sides.items():
        words.sort(key=lambda w: (round(w.y0), w.x0))
        text = " ".join(w.text for w in words[:_SHOW]) + (" …" if len(words) > _SHOW else "")
        problems.append(LayoutProblem(page.number, "text-outside", (
            f"{len(words)} word(s) in the {side} margin within "
            f"x {min(w.x0 for w in words):.1f}-{max(w.x1 for w in words):.1f}, "
            f"y {min(w.y0 for w in words):.1f}-{max(w.y1 for w in words):.1f} pt: {text!r}")))
    return problems


def text_outside(pdf: str | Path) -> list[LayoutProblem]:
    """Text outside the text area, visible or not, other than the running header and the page
    number: a table or figure running into a margin, a caption pushed into the footer, and
    the labels of a figure taller than the page that the page cuts off (clipped text leaves
    no ink for :func:`margin_ink` to find, but ``pdftotext`` still reports it)."""
    return [p for page in text_pages(pdf) for p in _outside(page)]


# ---------------------------------------------------------------------------- overprinting
def _is_math(word: Word) -> bool:
    """A word of a typeset formula: it has a letter of Unicode's Mathematical Alphanumeric
    Symbols (U+1D400-U+1D7FF, the italic letters Typst sets math in)."""
    return any("\U0001d400" <= c <= "\U0001d7ff" for c in word.text)


def _overlaps(page: TextPage, fraction: float) -> list[LayoutProblem]:
    """Pairs of word boxes of one page that intersect by more than ``fraction`` of the
    smaller box. Sweep line over the boxes sorted by top edge: a box is compared only with the
    later boxes that start above its bottom edge. The first :data:`MAX_PAIRS` pairs are
    listed, then one problem counts the others.

    Words of formulas are left out: sub- and superscripts, stacked limits and fractions have
    boxes (a full line high) that overlap their neighbours and the lines above and below
    although their glyphs do not touch."""
    words = sorted((w for w in page.words if w.area > 0 and not _is_math(w)),
                   key=lambda w: w.y0)
    problems = []
    pairs = 0
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            if b.y0 >= a.y1:
                break
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            if dx <= 0:
                continue
            dy = min(a.y1, b.y1) - b.y0
            if dx * dy > fraction * min(a.area, b.area):
                pairs += 1
                if pairs > MAX_PAIRS:
                    continue
                share = dx * dy / min(a.area, b.area)
                problems.append(LayoutProblem(page.number, "overlapping-text", (
                    f"{a.text!r} at ({a.x0:.1f}, {a.y0:.1f}) and {b.text!r} at "
                    f"({b.x0:.1f}, {b.y0:.1f}) pt overlap by {share:.0%} of the smaller box")))
    if pairs > MAX_PAIRS:
        problems.append(LayoutProblem(page.number, "overlapping-text", (
            f"and {pairs - MAX_PAIRS} more overlapping pairs of words on this page "
            f"({pairs} in all)")))
    return problems


def overlapping_text(pdf: str | Path, fraction: float = OVERLAP_FRACTION) -> list[LayoutProblem]:
    """Words printed over each other: pairs of word boxes on a page whose intersection is
    more than ``fraction`` of the smaller box (table columns running into each other, chart
    labels on top of each other; the charts are SVG with their text kept as text)."""
    return [p for page in text_pages(pdf) for p in _overlaps(page, fraction)]


# ---------------------------------------------------------------------------- stranded headings
def _is_heading(line: Line) -> bool:
    """A numbered heading line: a section number, then a title starting with a letter, set
    larger than the body text."""
    words = line.words
    return (len(words) >= 2 and HEADING_NUMBER.fullmatch(words[0].text) is not None
            and words[1].text[:1].isalpha() and line.height >= HEADING_MIN_HEIGHT)


def _stranded(page: TextPage) -> list[LayoutProblem]:
    """The page's last line of text in the text area (below the header band, above the
    footer band), if it is a numbered heading."""
    body = [ln for ln in page.lines
            if ln.y0 >= HEADER_BAND[1] and ln.y1 <= page.height - MARGIN_BOTTOM + TOLERANCE]
    if not body:
        return []
    last = max(body, key=lambda ln: (ln.y0, ln.y1))
    # another line may end lower (a taller line beside it): the heading must be lowest
    if not _is_heading(last) or any(ln.y1 > last.y1 + 1.0 for ln in body if ln is not last):
        return []
    return [LayoutProblem(page.number, "stranded-heading", (
        f"heading {last.text!r} is the last text on the page (y {last.y0:.1f}-{last.y1:.1f} "
        f"pt; text area ends at {page.height - MARGIN_BOTTOM:.1f} pt)"))]


def stranded_headings(pdf: str | Path) -> list[LayoutProblem]:
    """Numbered headings ("3.2 Bilateral trade JPN – USA", 11-14 pt) that are the last line
    of text above the footer on their page."""
    return [p for page in text_pages(pdf) for p in _stranded(page)]


def check_pdf(pdf: str | Path, dpi: int = 60) -> list[LayoutProblem]:
    """All checks (:func:`margin_ink`, :func:`text_outside`, :func:`overlapping_text`,
    :func:`stranded_headings`; the text extracted once, while the pages render), sorted by
    page."""
    with ThreadPoolExecutor(max_workers=1) as pool:     # pdftotext while pdftoppm renders
        text = pool.submit(text_pages, pdf)
        problems = margin_ink(pdf, dpi)
        pages = text.result()
    problems += [p for page in pages for p in _outside(page)]
    problems += [p for page in pages for p in _overlaps(page, OVERLAP_FRACTION)]
    problems += [p for page in pages for p in _stranded(page)]
    return sorted(problems, key=lambda p: p.page)
