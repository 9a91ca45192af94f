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
