"""The report's strategy section: one pair's analysis (:mod:`cge.negotiation`) → tables and the
deal-frontier chart for ``report.typ``.

Reads the pair's Dataset only (as :func:`cge.negotiation.analyse_pair` returns it and
``make counterfactual`` saves it); every cell is formatted here as plain text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

from cge.report.fmt import MISSING, MoneyUnit, choose_money_unit

#: Percentages of rates with this many decimals.
RATE_DECIMALS = 2

_MARK_NAMES = {"status_quo": "status quo (benchmark)", "scenario": "scenario",
               "threat": "Nash tariff war (threat point)", "bargaining": "Nash bargaining point"}


def _rate(x: float) -> str:
    """A tariff (fraction) as a percentage, e.g. ``7.89``."""
    if x is None or not np.isfinite(x):
        return MISSING
    return f"{100.0 * float(x):.{RATE_DECIMALS}f}"


def _money_unit(ds: xr.Dataset) -> MoneyUnit:
    values = [float(v) for name in ("frontier_EV_a", "frontier_EV_b",
                                    "equivalence_transfer_for_b")
              for v in np.ravel(ds[name].values) if np.isfinite(v)]
    mu = choose_money_unit(values, ds.attrs.get("unit", "US$ million"))
    return MoneyUnit(mu.scale, mu.label, 2)


def _col(ds: xr.Dataset, prefix: str, name: str) -> list:
    return list(ds[f"{prefix}_{name}"].values)


def _optimal(ds: xr.Dataset, mo: MoneyUnit, table) -> dict:
    a, b = ds.attrs["region_a"], ds.attrs["region_b"]
    rows = []
    for k in range(ds.sizes["optimal_row"]):
        get = {c: ds[f"optimal_{c}"].values[k] for c in ("player", "partner", "against",
                                                         "group", "rate", "binding",
                                                         "EV_a", "EV_b")}
        rows.append([str(get["player"]), str(get["partner"]), str(get["group"]),
                     str(get["against"]).replace("_", "_\u200b"), _rate(get["rate"]),
                     str(get["binding"]) or MISSING, mo.change(get["EV_a"]),
                     mo.change(get["EV_b"])])
    return table(f"Optimal tariffs: each rate maximises its own region's EV with every other "
                 f"instrument held (one NLP per row group), {mo.label}.",
                 ["Importer", "On", "Group", "Against", "Rate %", "Bound", f"EV {a}",
                  f"EV {b}"], rows, align="lllllrrr", size=8,
                 note=f"Uniform rate on all the group's goods (MFN base rates replaced). "
                      f"'Against': the instruments held fixed — the benchmark, or a "
                      f"scenario ({b}'s best retaliation to it). EV against the benchmark; "
                      f"bounds of each rate {_bounds(ds)}; 'Bound': the rate sits on it.")


def _bounds(ds: xr.Dataset) -> str:
    lo, hi = json.loads(ds.attrs.get("tariff_bounds", "[0, 1]"))
    return f"{100 * lo:g}-{100 * hi:g} %"


def _nash(ds: xr.Dataset, mo: MoneyUnit, table) -> dict:
    a, b = ds.attrs["region_a"], ds.attrs["region_b"]
    rows = [[str(k), str(r), str(m), _rate(ra), _rate(rb), mo.change(ea), mo.change(eb)]
            for k, (r, m, ra, rb, ea, eb) in enumerate(zip(
                _col(ds, "nash", "round"), _col(ds, "nash", "mover"),
                _col(ds, "nash", "rate_a"), _col(ds, "nash", "rate_b"),
                _col(ds, "nash", "EV_a"), _col(ds, "nash", "EV_b"), strict=True))]
    state = ("converged" if int(ds.attrs.get("nash_converged", 0))
             else f"NOT converged ({ds.attrs.get('nash_reason', '')})")
    return table(f"Nash tariff war of {a} and {b} on each other's {ds.attrs['retaliation']}: "
                 f"the best-response path, {mo.label}.",
                 ["Step", "Round", "Moves", f"{a} rate %", f"{b} rate %", f"EV {a}",
                  f"EV {b}"], rows, align="rrlrrrr", size=8,
                 note=f"Each move: the mover's optimal uniform tariff given the other's "
                      f"(Gauss-Seidel). Step 0: the benchmark's trade-weighted mean rates, "
                      f"set uniform. {state} after {ds.attrs.get('nash_rounds')} rounds.")


def _equivalence(ds: xr.Dataset, mo: MoneyUnit, table) -> dict:
    a, b = ds.attrs["region_a"], ds.attrs["region_b"]
    rows = []
    for k in range(ds.sizes["equivalence_case"]):
        v = {c: ds[f"equivalence_{c}"].values[k] for c in (
            "scenario", "EV_a_scenario", "EV_b_scenario", "transfer_for_a",
            "transfer_for_b", "deal_space")}
        rows.append([str(v["scenario"]).replace("_", "_\u200b"), mo.change(v["EV_a_scenario"]),
                     mo.change(v["EV_b_scenario"]), mo.change(v["transfer_for_a"]),
                     mo.change(v["transfer_for_b"]), mo.change(v["deal_space"])])
    return table(f"Tariff-transfer equivalence: the transfer from {b} to {a} that gives each "
                 f"side the scenario's EV, {mo.label} per year.",
                 ["Scenario", f"EV {a}", f"EV {b}", f"Equal for {a}", f"Equal for {b}",
                  "Deal space"], rows, align="lrrrrr", size=8,
                 note=f"'Equal for {a}': the transfer {b} → {a} that alone (no tariffs) gives "
                      f"{a} the scenario's EV; negative: {a} would have to pay {b} (the "
                      f"tariffs cost {a} itself). 'Equal for {b}': the most {b} would pay to "
                      f"have the scenario lifted ({b} indifferent). Deal space = the second "
                      f"minus the first: when positive, any transfer between them leaves both "
                      f"better off than the scenario. Each solved to 1e-8 of the EV (at "
                      f"least 1e-12 of the region's benchmark spending).")


def _frontier(ds: xr.Dataset, mo: MoneyUnit, table) -> tuple[dict, dict]:
    a, b = ds.attrs["region_a"], ds.attrs["region_b"]
    inst = [str(x) for x in ds["frontier_instrument"].values]
    head = [_short(x) for x in inst]

    def cells(vals) -> list[str]:
        return [_rate(v) if x.startswith("tariff") else mo.change(v)
                for x, v in zip(inst, vals, strict=True)]

    ok = np.isin(ds["frontier_status"].values.astype(str),
                 ("optimal", "a_optimum", "b_optimum", "not_binding"))
    pts = [[str(k), mo.change(ds["frontier_EV_a"].values[k]),
            mo.change(ds["frontier_EV_b"].values[k]),
            *cells(ds["frontier_value"].values[k])]
           for k in np.flatnonzero(ok)]
    scen = ds.attrs.get("frontier_scenario", "")
    marks = []
    for k, m in enumerate(ds["frontier_mark"].values.astype(str)):
        label = f"scenario {scen}" if m == "scenario" and scen else _MARK_NAMES.get(m, m)
        marks.append([label.replace("_", "_\u200b"),
                      mo.change(ds["frontier_mark_EV_a"].values[k]),
                      mo.change(ds["frontier_mark_EV_b"].values[k]),
                      *cells(ds["frontier_mark_value"].values[k])])
    lo, hi = ds["frontier_lower_bound"].values, ds["frontier_upper_bound"].values
    bounds = "; ".join(f"{h} {_rate(x) if i.startswith('tariff') else mo.change(x)} to "
                       f"{_rate(y) if i.startswith('tariff') else mo.change(y)}"
                       for h, i, x, y in zip(head, inst, lo, hi, strict=True))
    unit_note = (f"Tariffs in %, transfers and purchases in {mo.label} per year. Bounds: "
                 f"{bounds}.")
    align = "r" * (3 + len(inst))
    points = table(f"The deal frontier {a}–{b}: at each point {a}'s EV is the most it can "
                   f"get given {b}'s, {mo.label}.", ["Point", f"EV {a}", f"EV {b}", *head],
                   pts, align=align, size=7.5, inset=1.6,
                   note=unit_note)
    mark_t = table(f"Marked points of the deal frontier {a}–{b}, {mo.label}.",
                   ["Point", f"EV {a}", f"EV {b}", *head], marks, align="l" + align[1:],
                   size=8, note="Instruments are shown where the point is a set of instrument "
                                f"values ({MISSING}: the scenario's and the war's own tariffs, "
                                f"not these instruments). {unit_note}")
    return points, mark_t


def _short(label: str) -> str:
    """``tariff_USA_on_JPN_goods`` → ``USA tariff on JPN %``; transfers, purchases alike."""
    parts = label.split("_")
    if parts[0] == "tariff" and len(parts) >= 4:
        return f"{parts[1]} tariff on {parts[3]} %"
    if parts[0] == "transfer" and len(parts) >= 4:
        return f"transfer {parts[1]} → {parts[3]}"
    if parts[0] == "purchases" and len(parts) >= 4:
        return f"{parts[1]} buys from {parts[3]}"
    return label


#: A frontier tariff below this (fraction) counts as zero (free trade between the pair).
ZERO_TARIFF = 1e-6


def _free_trade_finding(ds: xr.Dataset) -> str:
    """What the frontier's tariffs say: on how many points both tariffs are zero, and whether
    the points with a tariff are those where the transfer sits on a bound."""
    inst = [str(x) for x in ds["frontier_instrument"].values]
    tariffs = [k for k, x in enumerate(inst) if x.startswith("tariff")]
    transfers = [k for k, x in enumerate(inst) if x.startswith("transfer")]
    ok = np.isin(ds["frontier_status"].values.astype(str),
                 ("optimal", "a_optimum", "b_optimum", "not_binding"))
    if not tariffs or not ok.any():
        return ""
    vals = ds["frontier_value"].values[ok]
    taxed = np.any(vals[:, tariffs] >= ZERO_TARIFF, axis=1)
    a, b = ds.attrs["region_a"], ds.attrs["region_b"]
    text = (f"On {int((~taxed).sum())} of the {int(ok.sum())} frontier points both tariffs "
            "are zero")
    if not transfers:
        return text + "."
    lo = ds["frontier_lower_bound"].values[transfers]
    hi = ds["frontier_upper_bound"].values[transfers]
    span = hi - lo
    t = vals[:, transfers]
    at_bound = np.all((t <= lo + 1e-6 * span) | (t >= hi - 1e-6 * span), axis=1)
    text += (f": there the transfer moves welfare between {a} and {b} at less cost than a "
             "tariff, which also destroys trade")
    if taxed.any() and np.all(at_bound[taxed]):
        text += ("; a tariff appears on the frontier only where the transfer is at its bound "
                 f"({int(taxed.sum())} points)")
    return text + "."


def strategy_section(pairs: list[xr.Dataset], fig: Callable[[str], Path], table
                     ) -> list[dict]:
    """One entry per pair: title, intro facts, the tables and the frontier chart."""
    from cge.frontier import plot_frontier
    from cge.negotiation import frontier_part

    out = []
    for ds in pairs:
        a, b = ds.attrs["region_a"], ds.attrs["region_b"]
        mo = _money_unit(ds)
        path = fig(f"frontier_{a}_{b}")
        plot_frontier(frontier_part(ds), path,
                      title=f"Deal frontier {a}–{b}: tariffs, transfer and purchases")
        points, marks = _frontier(ds, mo, table)
        threat = (mo.change(ds.attrs.get("nash_EV_a")), mo.change(ds.attrs.get("nash_EV_b")))
        bargain = [r for r in marks["rows"] if r[0].startswith("Nash bargaining")]
        finding = _free_trade_finding(ds)
        out.append({
            "a": a, "b": b, "unit": mo.label, "nash_rates": str(ds.attrs.get("nash_rates")),
            "threat": list(threat), "bargaining": bargain[0][1:3] if bargain else None,
            "reference": str(ds.attrs.get("reference", "")),
            "groups": ", ".join(json.loads(ds.attrs.get("tariff_groups", "{}"))),
            "optimal": _optimal(ds, mo, table), "nash": _nash(ds, mo, table),
            "equivalence": _equivalence(ds, mo, table), "frontier_points": points,
            "frontier_marks": marks,
            "figure": {"file": path.name,
                       "caption": f"Deal frontier {a}–{b} over four instruments ({a}'s and "
                                  f"{b}'s uniform tariffs on each other's goods, {b}'s "
                                  f"transfer to {a}, {b}'s government purchases from {a}'s "
                                  f"producers): the most EV {a} can get for each EV of {b} "
                                  f"(epsilon-constraint method), with the status quo, the "
                                  f"scenario, the Nash war and the Nash bargaining point."},
            "method": str(ds.attrs.get("frontier_method", "")), "finding": finding})
    return out
