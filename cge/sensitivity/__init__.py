"""Systematic sensitivity analysis (GTAP-style SSA): uncertainty specifications and sweeps.

:mod:`cge.sensitivity.spec` reads a specification (``sensitivity/<name>.toml``) and makes its
draws; :mod:`cge.sensitivity.sweep` runs them (``cge.sensitivity.run(scenarios, spec, ...)``)
on Dask; :mod:`cge.sensitivity.summary` summarises. Names are imported on first use, so
``import cge.sensitivity`` stays light.
"""

from __future__ import annotations

from typing import Any

_SPEC_NAMES = ("Draw", "Parameter", "Spec", "SpecError", "Variable", "draws", "load_spec",
               "multipliers", "parse_spec", "spec_path", "stroud3", "variables")

_SWEEP_NAMES = ("STANDARD_SCENARIOS", "SweepError", "SweepResult", "collect", "format_summary",
                "run", "write_pdf")

__all__ = [*_SPEC_NAMES, *_SWEEP_NAMES, "summarise"]


def __getattr__(name: str) -> Any:
    if name in _SPEC_NAMES:
        from cge.sensitivity import spec

        return getattr(spec, name)
    if name in _SWEEP_NAMES:
        from cge.sensitivity import sweep

        return getattr(sweep, name)
    if name == "summarise":
        from cge.sensitivity.summary import summarise

        return summarise
    raise AttributeError(f"module 'cge.sensitivity' has no attribute {name!r}")
