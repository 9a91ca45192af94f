"""What each scenario changes, in one line per instrument: the report's scenario table.

Tariffs come from the results (``tariff_rate`` and ``tariff_rate_benchmark``): for each
importer-exporter pair whose rates moved, the benchmark-trade-weighted mean rate before and
after (``USA <- JPN 1.38 -> 16.20 %``), the largest changes in trade terms first. The other
tables (transfers, defense, stationing, capital flows, foreign saving, other taxes, factor
shocks, the closure) are read from the scenario's own text as run (``scenario_text``), one
short line per table.
"""

from __future__ import annotations

import tomllib
from typing import Any

import numpy as np
import xarray as xr

#: Tariff pairs listed per scenario (the rest are counted).
MAX_PAIRS = 6
#: Tables of one kind listed per scenario (the rest are counted).
MAX_TABLES = 4
#: A pair's mean rate moved when it changed by more than this (fraction).
MOVED = 1e-9
#: The keys that say where and how much, in the order they are shown.
_SHOWN = ("payer", "recipient", "region", "buyer", "host", "importer", "exporter",
          "commodities", "commodity", "factors", "factor", "activities", "amount",
          "share_of_payer_gdp", "scale", "share_of_gdp", "change", "level", "offset", "set",
          "add", "multiply", "power", "financing", "from_region", "from_share", "paid_by",
          "between")


def tariff_changes(ds: xr.Dataset) -> tuple[list[str], int]:
    """Lines ``tariff IMPORTER <- EXPORTER: before -> after %`` for the pairs whose
    benchmark-trade-weighted mean tariff moved, the largest (change x trade) first, at most
    :data:`MAX_PAIRS`; and how many pairs moved in all."""
    if "tariff_rate" not in ds or "tariff_rate_benchmark" not in ds:
        return [], 0
    w = ds.trade_benchmark
    total = w.sum("commodity")
    before = (w * ds.tariff_rate_benchmark).sum("commodity") / total.where(total > 0)
    after = (w * ds.tariff_rate).sum("commodity") / total.where(total > 0)
    moved = []
    for s in ds.exporter.values:
        for r in ds.importer.values:
            b0, b1 = float(before.sel(exporter=s, importer=r)), float(after.sel(exporter=s,
                                                                                importer=r))
            if np.isfinite(b0) and abs(b1 - b0) > MOVED:
                weight = abs(b1 - b0) * float(total.sel(exporter=s, importer=r))
                moved.append((weight, f"tariff {r} \u2190 {s}: {100 * b0:.2f} \u2192 "
                                      f"{100 * b1:.2f} %"))
    moved.sort(key=lambda x: -x[0])
    return [line for _, line in moved[:MAX_PAIRS]], len(moved)


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "/".join(_value(x) for x in v)
    if isinstance(v, float):
        return f"{v:,.6g}"
    return str(v)


def table_line(kind: str, table: dict) -> str:
    """One table as a short line: its kind and its where/how-much keys."""
    keys = [k for k in _SHOWN if k in table] + sorted(k for k in table if k not in _SHOWN)
    return f"{kind.replace('_', ' ')}: " + ", ".join(f"{k} {_value(table[k])}" for k in keys)


def other_changes(text: str) -> list[str]:
    """The non-tariff tables of a scenario's text, one line each (at most :data:`MAX_TABLES`
    per kind, the rest counted), and its closure if it sets one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return ["(scenario text not readable)"]
    lines = []
    closure = data.get("closure") or {}
    if closure:
        lines.append("closure: " + ", ".join(f"{k} {_value(v)}" for k, v in closure.items()))
    for kind, tables in data.items():
        if kind == "tariff" or not isinstance(tables, list):
            continue
        tables = [t for t in tables if isinstance(t, dict)]
        lines += [table_line(kind, t) for t in tables[:MAX_TABLES]]
        if len(tables) > MAX_TABLES:
            lines.append(f"… and {len(tables) - MAX_TABLES} more {kind.replace('_', ' ')} "
                         "tables")
    return lines


def scenario_changes(ds: xr.Dataset) -> list[str]:
    """Everything a scenario changes against the benchmark, one short line per item."""
    tariffs, n = tariff_changes(ds)
    if n > len(tariffs):
        tariffs.append(f"… and {n - len(tariffs)} more importer-exporter pairs")
    lines = tariffs + other_changes(str(ds.attrs.get("scenario_text", "")))
    return lines or ["nothing: the benchmark"]
