"""Every table of a report as CSV and all of them in one Excel workbook; results variables to
CSV/XLSX (``cge export``).

A report table is a dict with ``caption``, ``header`` and ``rows``
(:func:`cge.report.build._table`); its cells are the strings the PDF prints. Exported, a cell
is plain text a spreadsheet reads: the zero-width spaces that let long names break in the PDF
are removed, the typographic minus (U+2212) becomes a hyphen-minus, a cell of several lines is
joined with `` / ``, and a cell that is a number as printed (sign, thousands separators,
decimals, optionally a trailing ``%``) becomes that number — the value shown in the PDF,
rounded as there.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from cge.atomic import atomic_file

__all__ = ["ExportError", "export_results", "iter_tables", "plain_cell", "write_tables"]


class ExportError(ValueError):
    """An export that cannot be done: an unknown variable, a wrong output suffix."""

_NUMBER = re.compile(r"[+-]?\d{1,3}(,\d{3})*(\.\d+)?|[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")
#: Excel's limit on a sheet name.
SHEET_CHARS = 31


def plain_cell(cell: Any) -> str | float:
    """A table cell as a spreadsheet should get it (module docstring)."""
    if isinstance(cell, (list, tuple)):
        return " / ".join(str(plain_cell(c)) for c in cell)
    text = str(cell).replace("\u200b", "").replace("\u2212", "-").replace("\u2060", "").strip()
    body = text[:-1].rstrip() if text.endswith("%") else text
    if _NUMBER.fullmatch(body):
        return float(body.replace(",", ""))
    return text


def iter_tables(data: Any) -> Iterator[dict]:
    """Every table in a report's data (nested dicts and lists), in document order."""
    if isinstance(data, Mapping):
        if {"caption", "header", "rows"} <= set(data):
            yield data
            return
        for v in data.values():
            yield from iter_tables(v)
    elif isinstance(data, list):
        for v in data:
            yield from iter_tables(v)


def _slug(caption: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", caption).strip("_").lower()
    return words[:40].rstrip("_") or "table"


def write_tables(data: Mapping, folder: Path, workbook: Path) -> list[Path]:
    """Each table of ``data`` as ``folder/T<nn>_<caption words>.csv`` (caption on the first
    line, then the header and the rows) and all of them in ``workbook`` (one sheet per table,
    named ``T<nn>``, the caption in A1); returns the CSV paths. Written atomically."""
    from openpyxl import Workbook

    tables = list(iter_tables(data))
    folder.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.remove(book.active)
    paths = []
    for k, t in enumerate(tables, start=1):
        rows = [[plain_cell(h) for h in t["header"]],
                *[[plain_cell(c) for c in row] for row in t["rows"]]]
        caption = str(plain_cell(t["caption"]))
        path = folder / f"T{k:02d}_{_slug(caption)}.csv"
        with atomic_file(path) as tmp:
            with Path(tmp).open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow([caption])
                w.writerows(rows)
        paths.append(path)
        sheet = book.create_sheet(f"T{k:02d}"[:SHEET_CHARS])
        sheet.append([caption])
        for row in rows:
            sheet.append(row)
    if not tables:
        book.create_sheet("empty").append(["no tables"])
    with atomic_file(workbook) as tmp:
        book.save(tmp)
    return paths


def export_results(path: str | Path, variables: Sequence[str], out: str | Path) -> Path:
    """Result variables of a NetCDF (one scenario's or the stacked ``counterfactual.nc``) as
    long tables — one column per dimension, then ``value`` — in CSV (``out`` ``*.csv``: one
    table with a ``variable`` column and the union of the variables' dimensions) or XLSX (one
    sheet per variable). No ``variables``: every variable with a dimension. Unknown
    variables raise an :class:`ExportError` naming the ones the file has. Written
    atomically."""
    import pandas as pd

    out = Path(out)
    if out.suffix not in (".csv", ".xlsx"):
        raise ExportError(f"the output must end in .csv or .xlsx, got {out.name!r}")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        names = list(variables) or [str(v) for v in ds.data_vars if ds[v].dims]
        missing = [v for v in names if v not in ds.data_vars]
        if missing:
            raise ExportError(f"{path}: no variable(s) {missing}; it has "
                             f"{sorted(map(str, ds.data_vars))[:40]}")
        frames = {}
        for v in names:
            df = ds[v].load().to_dataframe(name="value").reset_index()
            frames[v] = df[[*map(str, ds[v].dims), "value"]]
    if out.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        book.remove(book.active)
        for v, df in frames.items():
            sheet = book.create_sheet(v[:SHEET_CHARS])
            sheet.append(list(df.columns))
            for row in df.itertuples(index=False):
                sheet.append([x.item() if hasattr(x, "item") else x for x in row])
        with atomic_file(out) as tmp:
            book.save(tmp)
        return out
    long = pd.concat([df.assign(variable=v) for v, df in frames.items()], ignore_index=True)
    dims = [c for c in long.columns if c not in ("variable", "value")]
    with atomic_file(out) as tmp:
        long[["variable", *dims, "value"]].to_csv(tmp, index=False)
    return out
