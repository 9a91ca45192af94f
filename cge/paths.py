"""Where the project's files are: data sets, elasticities, scenarios, reports, bench output.

The model's files live next to the package in a source checkout (``<checkout>/data``,
``calibration``, ``scenarios``, ``reports``). An installed package (``pip install .``) carries
only the code, so the project folder is found, in order, from:

1. the environment variable ``CGE_HOME`` (a folder with ``data/`` and ``calibration/``);
2. the folder above the package, when it has ``data/`` and ``calibration/`` (a checkout or an
   editable install);
3. the current directory, when it has ``data/`` and ``calibration/`` (running inside a project
   folder).

If none qualifies the checkout location is used, and the first file that is looked up and
missing gives an error that names this rule (see :func:`where_hint`).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "CGE_HOME"
PACKAGE_PARENT = Path(__file__).resolve().parent.parent


def _is_project(folder: Path) -> bool:
    return (folder / "data").is_dir() and (folder / "calibration").is_dir()


def project_root() -> Path:
    """The project folder (module docstring): ``$CGE_HOME``, the checkout, or the cwd."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser().resolve()
    if _is_project(PACKAGE_PARENT):
        return PACKAGE_PARENT
    cwd = Path.cwd()
    if _is_project(cwd):
        return cwd
    return PACKAGE_PARENT


def where_hint() -> str:
    """A sentence saying where the project folder was looked for and how to set it."""
    return (f"project folder {project_root()} (set {ENV} to a folder with data/ and "
            f"calibration/, e.g. a checkout of the repository, or run from one)")


ROOT = project_root()
DATA_DIR = ROOT / "data"
CALIBRATION_DIR = ROOT / "calibration"
SCENARIO_DIR = ROOT / "scenarios"
REPORTS_DIR = ROOT / "reports"
