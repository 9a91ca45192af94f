"""Report figures: matplotlib → SVG with text kept as text (searchable in the PDF).

Grouped bars give each scenario its own colour of a colour-blind-safe palette (Okabe-Ito), with
hatches once there are more scenarios than colours. Heat tables (sector x region results) are
not drawn here: Typst sets them as tables whose cells are filled from a diverging colormap
centred on zero (:func:`heat_fills`), so every number stays text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cge.report.fmt import MINUS  # noqa: E402

WIDTH_IN = 6.6
#: The tallest chart: with its caption and a section heading it still fits on one A4 page of
#: the report (25.5 cm of text height; charts are set at 17 cm width = WIDTH_IN, so 1 in here
#: is about 1 in on the page).
MAX_HEIGHT_IN = 7.6
#: The Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"): eight colours told apart
#: with the common colour-vision deficiencies, of different lightness for greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
#: After each round of the palette the bars get the next hatch: 8 x 4 = 32 distinct series.
HATCHES = ("", "////", "....", "xxxx")
RC = {
    "svg.fonttype": "none",
    "axes.unicode_minus": False,     # tick labels with hyphen-minus, as the tables
    "svg.hashsalt": "cge-report",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "hatch.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


#: Bar rows per chart: more scenarios are split into several charts (:func:`chunks`), so that
#: every bar keeps a readable row on a page.
MAX_BARS = 16


def chunks(items: Sequence, size: int = MAX_BARS, what: str = "scenarios"
           ) -> list[tuple[list, str]]:
    """``items`` in runs of at most ``size``, each with the caption words that say which part
    of the whole it is (``" (scenarios 17-32 of 46)"``, ``what`` naming the items; ``""`` when
    one run holds all)."""
    items = list(items)
    runs = [items[k:k + size] for k in range(0, len(items), size)]
    if len(runs) <= 1:
        return [(items, "")]
    return [(run, f" ({what} {k * size + 1}-{k * size + len(run)} of {len(items)})")
            for k, run in enumerate(runs)]


def _save(fig, path: Path) -> Path:
    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return path


def _style(k: int) -> dict:
    """Series k's bar style: its own colour, and a hatch once the palette repeats."""
    hatch = HATCHES[(k // len(PALETTE)) % len(HATCHES)]
    return {"color": PALETTE[k % len(PALETTE)], "hatch": hatch,
            "edgecolor": "white" if not hatch and k % len(PALETTE) == 7 else "black",
            "linewidth": 0.4}


def grouped_bars(panels: list[dict], groups: list[str], series: list[str], path: Path,
                 *, ncols: int = 2, horizontal: bool = False) -> Path:
    """One panel per dict {"title", "label", "values": {series: array over groups}}; within a
    panel, groups (regions or sectors) on the category axis and one bar per series (scenario).
    A panel's optional "errors" {series: (low array, high array)} draws each bar's band (e.g.
    the 5-95 % band of a sensitivity sweep) as an error bar from low to high. Horizontal
    panels side by side share their rows: the groups are named in the first column only."""
    with plt.rc_context(RC):
        n = len(panels)
        if not horizontal and len(series) * len(groups) > 48:   # many bars: full width
            ncols = 1
        ncols = min(ncols, n)
        nrows = -(-n // ncols)
        k_series = len(series)
        legend_cols = min(k_series, 6 if max(map(len, series), default=0) <= 12 else 2)
        legend_h = 0.17 * -(-k_series // max(legend_cols, 1)) + 0.12
        if horizontal:
            panel_h = max(0.075 * len(groups) * max(1, k_series) + 0.6, 1.6)
        else:
            panel_h = 2.3
        height = min(panel_h * nrows + legend_h, MAX_HEIGHT_IN)
        fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_IN, height), squeeze=False)
        width = 0.8 / max(k_series, 1)
        pos = np.arange(len(groups))
        for ax, panel in zip(axes.flat, panels, strict=False):
            for k, name in enumerate(series):
                vals = np.asarray(panel["values"][name], dtype=float)
                offset = pos - 0.4 + width * (k + 0.5)
                err = _band(vals, panel.get("errors", {}).get(name))
                bar = {"xerr" if horizontal else "yerr": err} if err is not None else {}
                if err is not None:
                    bar["error_kw"] = {"elinewidth": 0.8, "capsize": 2, "ecolor": "black"}
                if horizontal:
                    ax.barh(offset, np.nan_to_num(vals), height=width, label=name, **bar,
                            **_style(k))
                else:
                    ax.bar(offset, np.nan_to_num(vals), width=width, label=name, **bar,
                           **_style(k))
            if horizontal:
                first_col = list(axes.flat).index(ax) % ncols == 0
                ax.set_yticks(pos, groups if first_col else [])   # rows named once per row
                ax.invert_yaxis()
                ax.axvline(0, color="black", linewidth=0.6)
                ax.set_xlabel(panel["label"])
                ax.grid(axis="x", color="0.85", linewidth=0.5)
            else:
                ax.set_xticks(pos, groups, rotation=0 if len(groups) <= 8 else 45,
                              ha="center" if len(groups) <= 8 else "right")
                ax.axhline(0, color="black", linewidth=0.6)
                ax.set_ylabel(panel["label"])
                ax.grid(axis="y", color="0.85", linewidth=0.5)
            ax.set_axisbelow(True)
            ax.set_title(panel["title"], loc="left")
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.tight_layout(rect=(0, 0, 1, 1 - legend_h / height))
        fig.legend(handles, labels, loc="upper center", ncol=legend_cols, frameon=False,
                   bbox_to_anchor=(0.5, 1.0), handlelength=2.2, handleheight=1.1)
        return _save(fig, path)


def _band(vals: np.ndarray, band) -> np.ndarray | None:
    """Matplotlib's asymmetric error array (2 x n: below, above) of a (low, high) band."""
    if band is None:
        return None
    lo, hi = (np.asarray(b, dtype=float) for b in band)
    below = np.clip(np.nan_to_num(vals - lo), 0.0, None)
    above = np.clip(np.nan_to_num(hi - vals), 0.0, None)
    return np.vstack([below, above])


def scale_of(values) -> float:
    """±scale of a heatmap family: the largest |value| over all its arrays, rounded up to 1,
    2 or 5 times a power of ten (1.0 when all are zero or missing)."""
    arrays = [np.asarray(v, dtype=float).ravel() for v in values]
    flat = np.concatenate(arrays) if arrays else np.zeros(0)
    finite = np.abs(flat[np.isfinite(flat)])
    top = float(finite.max()) if finite.size else 0.0
    if top <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(top))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= top * (1 - 1e-12)))


#: Fill of a heat-table cell without a value (no benchmark activity).
NO_VALUE_FILL = "#ebebeb"


def heat_fills(values, vmax: float) -> tuple[list[list[str]], list[list[str]]]:
    """Cell fills and text colours of a heat table: each value's colour on the diverging
    ``RdBu`` scale from −vmax (red) through white (0) to +vmax (blue), as ``#rrggbb``; values
    beyond ±vmax take the end colour; missing values a light grey. Text is white on the
    darkest cells (|value| > 0.62 vmax), black elsewhere. No figure is drawn: the table is set
    by Typst, its numbers stay text."""
    vals = np.asarray(values, dtype=float)
    cmap = matplotlib.colormaps["RdBu"]
    rgba = cmap(np.clip(0.5 + 0.5 * np.nan_to_num(vals) / vmax, 0.0, 1.0))
    fills = [[NO_VALUE_FILL if not np.isfinite(v) else matplotlib.colors.to_hex(c)
              for v, c in zip(row_v, row_c, strict=True)] for row_v, row_c in zip(vals, rgba,
                                                                               strict=True)]
    inks = [["#ffffff" if np.isfinite(v) and abs(v) > 0.62 * vmax else "#000000"
             for v in row] for row in vals]
    return fills, inks


def scale_decimals(vmax: float) -> int:
    """Decimals with which a colour scale's end is printed: 0 from 1 up, else 2."""
    return 0 if vmax >= 1 else 2


def heat_table(table: dict, values, vmax: float, *, plain_rows: int = 0) -> dict:
    """``table`` (a report table: a label column, then one column per value) made a heat
    table on the scale ±vmax: its body rows after the first ``plain_rows`` (e.g. a benchmark
    row) are ``values`` (rows x columns) and get their cells' fills and inks, and the table
    gets the scale's key. Returns ``table``."""
    fills, inks = heat_fills(values, vmax)
    blank = [[None] * len(table["header"])] * plain_rows
    table.update(fills=blank + [[None, *f] for f in fills],
                 inks=blank + [[None, *k] for k in inks],
                 legend=heat_legend(vmax, scale_decimals(vmax)))
    return table


def heat_legend(vmax: float, decimals: int, steps: int = 9) -> list[dict]:
    """The colour key of a heat-table family: ``steps`` swatches from −vmax to +vmax, each
    {"fill", "ink", "label"} (labels at both ends and at zero)."""
    points = np.linspace(-vmax, vmax, steps)
    fills, inks = heat_fills([points], vmax)
    labels = {0: f"{MINUS}{vmax:.{decimals}f}", steps // 2: "0",
              steps - 1: f"+{vmax:.{decimals}f}"}
    return [{"fill": f, "ink": i, "label": labels.get(k, "")}
            for k, (f, i) in enumerate(zip(fills[0], inks[0], strict=True))]


#: Colours of the parts of a stacked bar (Okabe-Ito without black; grey after them, e.g. for
#: a residual).
PART_COLOURS = PALETTE[:7] + ("#999999",)


def stacked_bars(panels: list[dict], bars: list[str], parts: list[str], path: Path,
                 *, total_label: str = "total") -> Path:
    """Horizontal stacked bars: one panel per dict {"title", "label", "values": {part: array
    over bars}, "total": array over bars}. Within a bar, positive parts stack to the right of
    zero and negative parts to the left, each part in its own colour (and hatch in print
    order), so a bar's two ends are the sums of the gains and of the losses; the total (the
    sum of all parts, or a value given independently) is a black diamond."""
    with plt.rc_context(RC):
        n = len(panels)
        legend_h = 0.17 * -(-(len(parts) + 1) // 4) + 0.15
        panel_h = 0.19 * len(bars) + 0.65
        height = min(panel_h * n + legend_h, MAX_HEIGHT_IN)
        fig, axes = plt.subplots(n, 1, figsize=(WIDTH_IN, height), squeeze=False)
        pos = np.arange(len(bars))
        for ax, panel in zip(axes[:, 0], panels, strict=True):
            left_pos = np.zeros(len(bars))
            left_neg = np.zeros(len(bars))
            for k, part in enumerate(parts):
                vals = np.nan_to_num(np.asarray(panel["values"][part], dtype=float))
                start = np.where(vals >= 0, left_pos, left_neg)
                ax.barh(pos, vals, left=start, height=0.7, label=part,
                        color=PART_COLOURS[k % len(PART_COLOURS)],
                        hatch=HATCHES[(k // len(PART_COLOURS)) % len(HATCHES)],
                        edgecolor="black", linewidth=0.3)
                left_pos += np.where(vals >= 0, vals, 0.0)
                left_neg += np.where(vals < 0, vals, 0.0)
            ax.plot(np.asarray(panel["total"], dtype=float), pos, linestyle="none",
                    marker="D", markersize=3.6, color="black", label=total_label, zorder=3)
            ax.set_yticks(pos, bars)
            ax.invert_yaxis()
            ax.axvline(0, color="black", linewidth=0.6)
            ax.set_xlabel(panel["label"])
            ax.grid(axis="x", color="0.85", linewidth=0.5)
            ax.set_axisbelow(True)
            ax.set_title(panel["title"], loc="left")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.tight_layout(rect=(0, 0, 1, 1 - legend_h / height))
        fig.legend(handles, labels, loc="upper center", ncol=4, frameon=False,
                   bbox_to_anchor=(0.5, 1.0), handlelength=1.6)
        return _save(fig, path)
