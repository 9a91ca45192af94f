"""cge: a calibrated multi-region Armington CGE trade model (Pyomo + Ipopt via cyipopt).

Data flow: ``cge.data`` (benchmark SAM) → ``cge.calibrate`` (share parameters) → ``cge.model``
(Pyomo blocks in ``cge.blocks``, closures in ``cge.closures``) → ``cge.solve`` (Ipopt) →
``cge.results`` / ``cge.welfare`` (xarray). Scenarios: ``cge.scenario`` (TOML) and
``cge.shocks``. The API in one place: ``cge.api``.
"""

__version__ = "0.1.0"

from cge.api import Session, check_benchmark, compare, load_data, write_netcdf  # noqa: E402
from cge.calibrate import calibrate, load_elasticities  # noqa: E402
from cge.model import build_model  # noqa: E402
from cge.options import ModelOptions  # noqa: E402
from cge.report import write_report  # noqa: E402
from cge.results import extract_results  # noqa: E402
from cge.runner import run_scenarios  # noqa: E402
from cge.scenario import load_scenario, parse_scenario  # noqa: E402
from cge.shocks import apply_scenario  # noqa: E402
from cge.solve import solve  # noqa: E402

__all__ = [
    "ModelOptions", "Session", "apply_scenario", "build_model", "calibrate", "check_benchmark",
    "compare", "extract_results", "load_data", "load_elasticities", "load_scenario",
    "parse_scenario", "run_scenarios", "solve", "write_netcdf", "write_report",
]
