"""Where the project's files are: data sets, elasticities, scenarios, reports, bench output.

The model's files live next to the package in a source checkout (``<checkout>/data``,
``calibration``, ``scenarios``, ``reports``). An installed package (``pip install .``) carries
only the code, so the project folder is found, in order, from:

1. the environment variable ``CGE_HOME`` (a folder with ``data/`` and ``calibration/``);
2. the folder above the package, when it has ``data/`` and ``calibration/`` (a checkout or an
   editable install);
3. the current directory, when it has ``data/`` and ``calibration/`` (running inside a project
   folder);
4. the copy installed with the package (``pip install .`` puts ``data/``, ``calibration/``,
   ``scenarios/`` and ``sensitivity/`` under ``<prefix>/share/cge``, the ``data-files`` of
   ``pyproject.toml``), found through the distribution's file list. Reports and bench output
   then go to ``reports/`` in the current directory, never into the installation.

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


#: Where ``pip install .`` puts the project's files, relative to the installation prefix.
INSTALLED = ("share", "cge")


def installed_home() -> Path | None:
    """The project files installed with the package (``<prefix>/share/cge``), or None."""
    from importlib import metadata

    try:
        dist = metadata.distribution("cge")
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        parts = Path(f).parts
        if parts[-3:] == ("calibration", "elasticities", "gtap.csv") and \
                tuple(parts[-5:-3]) == INSTALLED:
            home = Path(str(dist.locate_file(f))).resolve().parents[2]
            return home if _is_project(home) else None
    return None


def project_root() -> Path:
    """The project folder (module docstring): ``$CGE_HOME``, the checkout, the cwd, or the
    installed copy."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser().resolve()
    if _is_project(PACKAGE_PARENT):
        return PACKAGE_PARENT
    cwd = Path.cwd()
    if _is_project(cwd):
        return cwd
    return installed_home() or PACKAGE_PARENT


def where_hint() -> str:
    """A sentence saying where the project folder was looked for and how to set it."""
    return (f"project folder {project_root()} (set {ENV} to a folder with data/ and "
            f"calibration/, e.g. a checkout of the repository, or run from one; pip install . "
            f"installs a copy under <prefix>/share/cge)")


ROOT = project_root()
DATA_DIR = ROOT / "data"
CALIBRATION_DIR = ROOT / "calibration"
SCENARIO_DIR = ROOT / "scenarios"
#: Written to: the project's ``reports/``, or ``./reports`` when the files are the installed copy.
REPORTS_DIR = (Path.cwd() if tuple(ROOT.parts[-2:]) == INSTALLED else ROOT) / "reports"
