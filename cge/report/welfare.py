"""The report's explanations of welfare: where each scenario's EV comes from (the EV
decomposition, one chart and one table) and what each part of a package does (alone, GTAP
subtotal, interaction).

Both read the results only: ``EV_decomposition`` (component, region) from
:func:`cge.welfare.decompose_ev`, ``EV_part_alone`` / ``EV_part_subtotal`` (package_part,
region) from :func:`cge.subtotals.split_package`. Each term is defined once, in the table's
note; the residuals are shown, never folded into a term.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from cge.report import figures
from cge.report.fmt import MoneyUnit, breakable
from cge.subtotals import PART_LABELS
from cge.welfare import COMPONENT_FORMULAS, COMPONENTS

__all__ = ["decomposition_section", "packages_section"]

#: How the report names the EV decomposition's components.
COMPONENT_LABELS = {
    "allocative": "allocative",
    "terms_of_trade": "terms of trade",
    "transfers": "transfers",
    "endowment": "endowment",
    "defense": "defense",
    "investment_saving": "investment-saving",
    "composition": "composition",
    "residual": "residual",
}
#: The decomposition's terms, each defined once (the formulas of :mod:`cge.welfare`).
DECOMPOSITION_NOTE = (
    "Regional EV, Huff–Hertel style, integrated along the path of the shock. "
    + " ".join(f"{COMPONENT_LABELS[c].capitalize()}: {COMPONENT_FORMULAS[c]}."
               for c in COMPONENTS)
    + " The resource parts are in EV units: times the money-metric weight (EV per unit of "
    "real absorption).")
PACKAGE_NOTE = (
    "Alone: the part run by itself from the benchmark. Interaction: the package's EV − the sum "
    "of its parts alone (what the parts do together that none does alone). Subtotal (GTAP, "
    "Harrison, Horridge & Pearson 2000): all instruments move together along a straight line "
    "from the benchmark to the package, and each part is credited with the EV its own "
    "instruments add on the way (∫ ∂EV/∂z · dz over its instruments, 6-point Gauss–Legendre, "
    "implicit-function gradients); subtotals add up to the package's EV with no interaction "
    "term. Residual: the package's EV (solved on its own) − the sum of the subtotals, the "
    "quadrature error.")

Table = Callable[..., dict]


def _decomposed(cf: Sequence[tuple[str, xr.Dataset]]) -> list[tuple[str, xr.Dataset]]:
    return [(n, ds) for n, ds in cf if "EV_decomposition" in ds
            and np.isfinite(ds.EV_decomposition.values).all()]


def decomposition_section(cf: Sequence[tuple[str, xr.Dataset]], keys: Sequence[str],
                          money: MoneyUnit, fig_path: Callable[[str], Path],
                          table: Table) -> dict | None:
    """The EV decomposition of every decomposed scenario for the key regions: a stacked-bar
    chart (one panel per region, one bar per scenario, the EV as a diamond) and one table
    (scenario × region rows, one column per component, the residual and the EV)."""
    done = _decomposed(cf)
    if not done:
        return None
    labels = [COMPONENT_LABELS.get(c, c) for c in COMPONENTS]
    figs = []
    for c, (chunk, part) in enumerate(figures.chunks(done)):
        panels = []
        for r in keys:
            values = {COMPONENT_LABELS.get(x, x): [money.scale * float(
                ds.EV_decomposition.sel(component=x, region=r)) for _, ds in chunk]
                for x in COMPONENTS}
            panels.append({"title": f"{r}: parts of the regional EV", "label": money.label,
                           "values": values, "total": [money.scale * float(
                               ds.EV_regional.sel(region=r)) for _, ds in chunk]})
        path = figures.stacked_bars(panels, [n for n, _ in chunk], labels,
                                    fig_path(f"ev_decomposition{c}"),
                                    total_label="regional EV")
        figs.append({"file": path.name,
                     "caption": f"Where the welfare change comes from{part}: the parts of the "
                                f"regional EV of {', '.join(keys)} in each scenario "
                                f"({money.label}); gains stack to the right of zero, losses "
                                "to the left; the diamond is the EV. Terms: the table below."})
    rows, breaks = [], []
    for n, ds in done:
        if rows:
            breaks.append(len(rows))
        for k, r in enumerate(keys):
            d = ds.EV_decomposition.sel(region=r)
            rows.append([breakable(n) if k == 0 else "", r,
                         *[money.change(float(d.sel(component=c))) for c in COMPONENTS],
                         money.change(float(ds.EV_regional.sel(region=r)))])
    worst = max(abs(float(ds.EV_decomposition.sel(component="residual", region=r)))
                for _, ds in done for r in keys)
    return {
        "figures": figs,
        "table": table(f"EV decomposition of {', '.join(keys)}, {money.label} (every "
                       "region: results variable EV_decomposition).",
                       ["Scenario", "Region", *labels, "regional EV"], rows,
                       align="ll" + "r" * (len(labels) + 1), breaks=breaks, size=7,
                       inset=1.5, widths=["1.6fr", "auto", *["1fr"] * (len(labels) + 1)],
                       note=DECOMPOSITION_NOTE + " Largest |residual| here: "
                       f"{money.change(worst)} {money.label}."),
    }


def _packages(cf: Sequence[tuple[str, xr.Dataset]]) -> list[tuple[str, xr.Dataset, list[str]]]:
    out = []
    for n, ds in cf:
        if "EV_part_subtotal" not in ds:
            continue
        sub = ds.EV_part_subtotal
        parts = [str(p) for p in sub.package_part.values
                 if np.isfinite(sub.sel(package_part=p).values).all()]
        if len(parts) > 1:
            out.append((n, ds, parts))
    return out


def packages_section(cf: Sequence[tuple[str, xr.Dataset]], keys: Sequence[str],
                     money: MoneyUnit, fig_path: Callable[[str], Path],
                     table: Table) -> dict | None:
    """Each package split into its parts for the key regions: stacked-bar charts of the
    subtotals (one bar per package, the EV as a diamond; more packages than
    :data:`figures.MAX_BARS` in further charts) and a table of the parts alone, the
    interaction, the subtotals and the residual."""
    packs = _packages(cf)
    if not packs:
        return None
    all_parts = [p for p in PART_LABELS if any(p in parts for _, _, parts in packs)]
    labels = [PART_LABELS[p] for p in all_parts]
    figs = []
    for c, (chunk, run) in enumerate(figures.chunks(packs, what="packages")):
        panels = []
        for r in keys:
            values = {PART_LABELS[p]: [money.scale * (float(ds.EV_part_subtotal.sel(
                package_part=p, region=r)) if p in parts else 0.0) for _, ds, parts in chunk]
                for p in all_parts}
            panels.append({"title": f"{r}: GTAP subtotals of the package's EV",
                           "label": money.label, "values": values,
                           "total": [money.scale * float(ds.EV.sel(region=r))
                                     for _, ds, _ in chunk]})
        path = figures.stacked_bars(panels, [n for n, _, _ in chunk], labels,
                                    fig_path(f"packages{c}"), total_label="EV of the package")
        figs.append({"file": path.name,
                     "caption": f"The packages part by part{run}"
                                f": GTAP subtotals of the EV of {', '.join(keys)} "
                                f"({money.label}); the diamond is the package's EV. Alone "
                                "values and the interaction: the table below."})
    header = ["Package", "Part"]
    for r in keys:
        header += [f"{r} alone", f"{r} subtotal"]
    rows, breaks = [], []
    for n, ds, parts in packs:
        if rows:
            breaks.append(len(rows))
        for k, p in enumerate(parts):
            row = [breakable(n) if k == 0 else "", PART_LABELS[p]]
            for r in keys:
                row += [money.change(float(ds.EV_part_alone.sel(package_part=p, region=r))),
                        money.change(float(ds.EV_part_subtotal.sel(package_part=p,
                                                                   region=r)))]
            rows.append(row)
        inter, total = ["", "interaction / residual"], ["", "package (EV)"]
        for r in keys:
            ev = float(ds.EV.sel(region=r))
            alone = float(ds.EV_part_alone.sel(package_part=parts, region=r).sum())
            sub = float(ds.EV_part_subtotal.sel(package_part=parts, region=r).sum())
            inter += [money.change(ev - alone), money.change(ev - sub)]
            total += [money.change(ev), money.change(ev)]
        rows += [inter, total]
    return {
        "figures": figs,
        "table": table(f"The packages part by part, {money.label}: each part alone and its "
                       "GTAP subtotal.", header, rows, align="ll" + "r" * (2 * len(keys)),
                       breaks=breaks, size=7.5, inset=1.6,
                       note=PACKAGE_NOTE + " In the interaction / residual row the alone "
                       "columns hold the interaction, the subtotal columns the residual."),
    }
