"""cge: a calibrated multi-region Armington CGE trade model (Pyomo + Ipopt via cyipopt).

Data flow: ``cge.data`` (benchmark SAM) → ``cge.calibrate`` (share parameters) → ``cge.model``
(Pyomo blocks in ``cge.blocks``, closures in ``cge.closures``) → ``cge.solve`` (Ipopt) →
``cge.results`` / ``cge.welfare`` (xarray). Scenarios: ``cge.scenario`` (TOML) and
``cge.shocks``. The API in one place: ``cge.api``.

The names below are imported on first use (PEP 562), so ``import cge.data.benchmark``, a Dask
worker or ``cge --version`` do not pay for Pyomo, the solver and the report.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "Session": "cge.api", "check_benchmark": "cge.api", "compare": "cge.api",
    "load_data": "cge.api", "write_netcdf": "cge.api",
    "calibrate": "cge.calibrate", "load_elasticities": "cge.calibrate",
    "build_model": "cge.model", "ModelOptions": "cge.options",
    "write_report": "cge.report", "extract_results": "cge.results",
    "run_scenarios": "cge.runner", "load_scenario": "cge.scenario",
    "parse_scenario": "cge.scenario", "apply_scenario": "cge.shocks", "solve": "cge.solve",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """``cge.calibrate`` and ``cge.solve`` are functions of the API *and* submodules. Importing
    a submodule makes Python set it as an attribute of the package, which would hide the
    function; this keeps the function (the submodule stays in ``sys.modules``, so
    ``from cge.solve import SolveError`` and ``importlib.import_module("cge.solve")`` work)."""

    def __setattr__(self, name: str, value: object) -> None:
        if (isinstance(value, types.ModuleType) and name in _EXPORTS
                and value.__name__ == f"{__name__}.{name}"):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
