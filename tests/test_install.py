"""An installed (non-editable) package finds the project's files through CGE_HOME, and says
how when it cannot (one error line, exit code 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package copied as an installed package would be: code and package data only."""
    target = tmp_path_factory.mktemp("site")
    shutil.copytree(ROOT / "cge", target / "cge",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _run(installed: Path, code: list[str], home: Path | None, cwd: Path):
    env = {k: v for k, v in os.environ.items() if k != "CGE_HOME"}
    env["PYTHONPATH"] = str(installed)
    if home is not None:
        env["CGE_HOME"] = str(home)
    return subprocess.run([sys.executable, *code], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def test_without_a_project_folder_the_error_says_how(installed, tmp_path) -> None:
    proc = _run(installed, ["-m", "cge", "list"], None, tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "CGE_HOME" in lines[0] and "Traceback" not in proc.stderr


def test_cge_home_finds_data_elasticities_and_scenarios(installed, tmp_path) -> None:
    code = (f"import cge, cge.paths as p; assert p.ROOT == p.Path(r'{ROOT}'); "
            "s = cge.Session(); print(len(s.params.region)); "
            "print(cge.api.scenario_path('jpn_deal_15').name)")
    proc = _run(installed, ["-c", code], ROOT, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["8", "jpn_deal_15.toml"]


def _installed_with_files(tmp: Path) -> Path:
    """A prefix laid out as ``pip install .`` leaves it: the package in
    ``lib/python3.X/site-packages``, its dist-info whose RECORD lists the project's files, and
    those files under ``share/cge`` (the ``data-files`` of pyproject.toml)."""
    import tomllib

    site = tmp / "lib" / "python3" / "site-packages"
    shutil.copytree(ROOT / "cge", site / "cge", ignore=shutil.ignore_patterns("__pycache__"))
    share = tmp / "share" / "cge"
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    record = []
    for dest, patterns in meta["tool"]["setuptools"]["data-files"].items():
        for pattern in patterns:
            for f in sorted(ROOT.glob(pattern)):
                target = tmp / dest / f.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, target)
                record.append(f"../../../{dest}/{f.name},,")
    info = site / "cge-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cge\nVersion: 0.1.0\n")
    (info / "RECORD").write_text("\n".join(record) + "\n")
    assert (share / "data" / "default2024" / "dataset.toml").is_file()
    return site


def test_pip_layout_finds_its_own_files(tmp_path) -> None:
    """Without CGE_HOME, outside any project folder, the package finds the copy installed
    under <prefix>/share/cge, solves a library scenario, and writes reports to ./reports."""
    site = _installed_with_files(tmp_path / "prefix")
    away = tmp_path / "away"
    away.mkdir()
    code = ("import cge, cge.paths as p; print(p.ROOT); print(p.REPORTS_DIR); "
            "print(round(float(cge.Session().run('jpn_deal_15').EV.sel(region='JPN'))))")
    proc = _run(site, ["-c", code], None, away)
    assert proc.returncode == 0, proc.stderr
    root, reports, ev = proc.stdout.split()
    assert Path(root) == (tmp_path / "prefix" / "share" / "cge").resolve()
    assert Path(reports) == away / "reports"
    assert int(ev) < 0
