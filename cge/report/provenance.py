"""What was run, for the report's methods section: read from the results alone.

Every model option (:class:`cge.options.ModelOptions`) is an attribute of a result named as the
option (:func:`cge.results.option_attrs`); a scenario of a stacked file
(``stack.sel(scenario=name)``) carries the same names as scalar coordinates.
"""

from __future__ import annotations

import dataclasses
import json

import xarray as xr

from cge.options import ModelOptions
from cge.report.fmt import MISSING, level


def _recorded(ds: xr.Dataset, key: str) -> object:
    """The attribute ``key`` of a result, else the scalar coordinate of that name (one scenario
    of a stack); ``None`` when neither is there."""
    if key in ds.attrs:
        return ds.attrs[key]
    if key in ds.coords and ds[key].ndim == 0:
        return ds[key].item()
    return None


def option_text(name: str, value: object) -> str:
    """One option's value as run, as printed: numbers with 2 decimals, ``esub_final`` as
    ``"household 1.00, government 0.50, ..."``, text as it is; :data:`MISSING` when absent."""
    if value is None or value == "":
        return MISSING
    if name == "esub_final":
        sigmas = json.loads(value) if isinstance(value, str) else dict(value)
        return ", ".join(f"{agent} {level(float(s), 2)}" for agent, s in sigmas.items())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return level(float(value), 2)
    return str(value)


def options_rows(ds: xr.Dataset) -> list[list[str]]:
    """``[option, value as run]`` for every field of :class:`~cge.options.ModelOptions`, in
    the order of its fields, from a result's attributes (an option the result does not record
    shows :data:`MISSING`)."""
    return [[f.name, option_text(f.name, _recorded(ds, f.name))]
            for f in dataclasses.fields(ModelOptions)]
