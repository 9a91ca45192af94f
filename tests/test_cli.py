"""First-run behaviour: the solver library found from any Python, the floating-point environment
left alone, and a command line that never prints a traceback for a user error, never leaves a
half-written run and never writes over another run.

Runs use the hand-made 2x2 economy saved as a benchmark folder (fast); subprocess tests run the
package as a user would, with ``PYOMO_CONFIG_DIR`` removed from the environment.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ELASTICITIES, save_tiny_benchmark, tree_state

import cge
import cge.runner as runner
from cge.cli import main as cli_main
from cge.data.examples import two_by_two
from cge.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
TARIFF = ('[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"\ncommodities = "all"\n'
          'add = {add}\n')


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYOMO_CONFIG_DIR", None)
    return env


def _python(code: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(), cwd=kw.pop("cwd", ROOT), timeout=300, **kw)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """The 2x2 economy as a benchmark folder, its elasticities, and two scenario files."""
    base = tmp_path_factory.mktemp("cli")
    data, elast = save_tiny_benchmark(base)
    scen = base / "scen"
    scen.mkdir()
    (scen / "t10.toml").write_text('name = "t10"\n' + TARIFF.format(add=10))
    (scen / "t20.toml").write_text('name = "t20"\n' + TARIFF.format(add=20))
    return {"data": data, "elast": elast, "t10": scen / "t10.toml", "t20": scen / "t20.toml",
            "base": base}


def _run(tiny, *scenarios, out: Path | None = None, extra=()) -> list[str]:
    args = ["run", *map(str, scenarios), "--data", str(tiny["data"]), "--elasticities",
            str(tiny["elast"])]
    return args + (["--out", str(out)] if out is not None else []) + list(extra)


# ----------------------------------------------------------------------- the solver library
def test_solver_found_without_pyomo_config_dir():
    """The venv's python finds PyNumero's library with no environment variable (a notebook
    kernel or a script on the venv is the same process type)."""
    out = _python("from cge.solve import check_solver; print(check_solver())")
    assert out.returncode == 0, out.stderr
    assert "OK" in out.stdout and "Traceback" not in out.stderr


def test_console_script_solves_without_pyomo_config_dir(tiny, tmp_path):
    script = Path(sys.executable).parent / "cge"
    if not script.exists():
        pytest.skip("console script `cge` not installed in this environment")
    out = subprocess.run([str(script), "-q", *_run(tiny, tiny["t10"], out=tmp_path / "o")],
                         capture_output=True, text=True, env=_env(), timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "o" / "counterfactual.nc").is_file()


def test_missing_solver_library_is_one_clear_error():
    """No library anywhere: SolverUnavailable with the advice, and the CLI says it in one
    line with exit code 2 (no Pyomo traceback, no AttributeError from a half-built object)."""
    code = ("import sys, cge.asl as a\n"
            "from pathlib import Path\n"
            "a.candidates = lambda: [Path('/nonexistent/libpynumero_ASL.so')]\n"
            "from cge.cli import main\n"
            "sys.exit(main(['check-solver']))\n")
    out = _python(code)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "libpynumero_ASL.so" in lines[0] and "make setup" in lines[0]


def test_building_a_model_keeps_the_fp_environment():
    """Opening an NL file runs libamplsolver's fpinit_ASL (x87 to 53-bit precision); the
    environment must be the same after a model build, and long-double arithmetic unchanged."""
    out = _python(
        "import numpy as np, cge\n"
        "from cge.asl import fp_environment\n"
        "from cge.data.examples import two_by_two\n"
        "before = fp_environment()[:2]; third = repr(np.longdouble(1) / 3)\n"
        "s = cge.Session(two_by_two(), {'esubd': 2.0, 'esubm': 4.0, 'esubva': 1.0})\n"
        "s.model(); s.run(toml='name = \"t\"\\n')\n"
        "print(before.hex(), fp_environment()[:2].hex(), third, repr(np.longdouble(1) / 3))\n")
    assert out.returncode == 0, out.stderr
    cw_before, cw_after, third_before, third_after = out.stdout.split()
    assert cw_after == cw_before
    assert third_after == third_before
    if np.finfo(np.longdouble).nmant > 52:          # x87 extended precision (x86_64)
        assert third_before.endswith("3334')"), third_before   # 64-bit mantissa digits


# ----------------------------------------------------------------------- runs and folders
def test_run_writes_its_own_folder_not_the_standard_report(tiny, tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    (reports / "results").mkdir(parents=True)
    (reports / "counterfactual.pdf").write_bytes(b"standard report")
    (reports / "counterfactual.nc").write_bytes(b"standard results")
    (reports / "results" / "benchmark.nc").write_bytes(b"standard")
    before = tree_state(reports)
    monkeypatch.setattr(runner, "REPORTS_DIR", reports)
    assert cli_main(["-q", *_run(tiny, tiny["t10"], tiny["t20"])]) == 0
    run = reports / "runs" / "t10+t20"
    files = sorted(tree_state(run))
    tables = [f for f in files if f.startswith("results/tables")]
    assert [f for f in files if f not in tables] == [
        "counterfactual.nc", "counterfactual.pdf", "counterfactual.xlsx", "results",
        "results/t10.nc", "results/t20.nc"]
    assert len(tables) >= 10                       # the report's tables as CSV
    after = tree_state(reports)
    assert {k: v for k, v in after.items() if not k.startswith("runs")} == before
    for p in run.rglob("*"):                      # readable by others
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


def test_api_writers_leave_readable_files(tmp_path):
    """write_netcdf (and so every results file) is 0644 for API users too, not mkstemp's 0600;
    a failed write leaves the earlier file and no temporary file."""
    ds = cge.Session(two_by_two(), ELASTICITIES).run(toml='name = "b"\n')
    path = cge.write_netcdf(ds, tmp_path / "sub" / "b.nc")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    before = path.read_bytes()
    with pytest.raises(TypeError):
        cge.write_netcdf(ds.assign_attrs(bad=object()), path)
    assert path.read_bytes() == before and sorted(p.name for p in path.parent.iterdir()) == ["b.nc"]


def test_run_folder_names():
    assert runner.run_folder(runner.STANDARD_SCENARIOS) == runner.REPORTS_DIR
    assert runner.run_folder(("jpn_deal_15",)) == runner.REPORTS_DIR / "runs" / "jpn_deal_15"
    assert runner.run_folder(("scenarios/a.toml", "b")).name == "a+b"
    long = runner.run_folder(tuple(f"scenario_{k}" for k in range(20))).name
    assert len(long) < 80 and long.startswith("scenario_0+19_more-")
    odd = runner.run_folder(("../we ird/$x.toml",)).name
    assert "/" not in odd and " " not in odd and "$" not in odd


def _published(tiny, out: Path) -> dict[str, str]:
    assert cli_main(["-q", *_run(tiny, tiny["t10"], out=out)]) == 0
    state = tree_state(out)
    assert "counterfactual.pdf" in state
    return state


def test_failed_solve_leaves_earlier_run_exactly(tiny, tmp_path, capsys):
    out = tmp_path / "o"
    before = _published(tiny, out)
    bad = tmp_path / "big.toml"       # a 1e6 % tariff: the solve (or the check) must fail
    bad.write_text('name = "big"\n' + TARIFF.format(add=1e9))
    capsys.readouterr()
    code = cli_main(_run(tiny, tiny["t20"], bad, out=out))
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert tree_state(out) == before


@pytest.mark.parametrize("where", ["write_netcdf", "write_report"])
def test_disk_full_leaves_earlier_run_exactly(tiny, tmp_path, capsys, monkeypatch, where):
    """A full disk while writing NetCDF or the PDF: one line naming the file and the cause,
    exit 2, the earlier run untouched, no staging folder left."""
    out = tmp_path / "o"
    before = _published(tiny, out)

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[1]))

    if where == "write_netcdf":
        monkeypatch.setattr(runner, "write_netcdf", full)
    else:
        import cge.report
        monkeypatch.setattr(cge.report, "write_report", full)
    capsys.readouterr()
    code = cli_main(_run(tiny, tiny["t20"], out=out))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "disk full" in err and err.count("\n") == 1, err
    assert tree_state(out) == before


def test_unwritable_output_is_refused_before_solving(tiny, tmp_path, capsys, monkeypatch):
    solved = []
    monkeypatch.setattr(runner.Session, "run", lambda *a, **k: solved.append(1))
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub", Path("/proc/cge_no_such_dir")):
        code = cli_main(_run(tiny, tiny["t10"], out=out))
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: output folder") and "--out" in err, err
    assert solved == []
    if os.geteuid() != 0:                       # root may write into a read-only folder
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        assert cli_main(_run(tiny, tiny["t10"], out=ro)) == 2
    assert blocker.read_text() == "x"


# ----------------------------------------------------------------------- paths and text
def test_a_path_is_always_a_file_and_text_never_a_path(tiny, tmp_path):
    s = cge.Session(two_by_two(), ELASTICITIES)
    tricky = tmp_path / "name = x"                  # a file whose name looks like TOML
    tricky.mkdir()
    for stem in ("name_first", "#hash", "[bracket"):
        f = tricky / f"{stem}.toml"
        f.write_text('name = "from_file"\n' + TARIFF.format(add=5))
        assert s.scenario(str(f)).name == "from_file"
        assert s.scenario(f).name == "from_file"
    text = 'description = "text first"\nname = "from_text"\n'
    assert s.scenario(toml=text).name == "from_text"
    with pytest.raises(ScenarioError, match="toml="):
        s.scenario(text)
    with pytest.raises(TypeError, match="exactly one"):
        s.scenario(str(tricky / "name_first.toml"), toml=text)
    with pytest.raises(TypeError, match="exactly one"):
        s.scenario()


HOSTILE_PATHS = {
    "a folder": lambda t: t,
    "a device": lambda t: Path("/dev/zero"),
    "a pipe": lambda t: _fifo(t / "pipe.toml"),
    "a huge file": lambda t: _sized(t / "huge.toml", 3_000_000),
    "a 5000-character name": lambda t: Path("x" * 5000),
    "a non-UTF-8 file name": lambda t: _touch(Path(os.fsdecode(bytes(t / "bad") + b"\xff.toml"))),
    "a file of NUL bytes": lambda t: _sized(t / "nul.toml", 4096),
}


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


def _sized(p: Path, n: int) -> Path:
    p.write_bytes(b"\0" * n)
    return p


def _touch(p: Path) -> Path:
    p.write_bytes(b"\xff\xfe name = 1")
    return p


@pytest.mark.parametrize("kind", sorted(HOSTILE_PATHS))
def test_hostile_scenario_paths(tiny, tmp_path, capsys, kind):
    """Odd files given as a scenario: one line, exit 2, no output folder content, no hang."""
    path = HOSTILE_PATHS[kind](tmp_path)
    out = tmp_path / "o"
    code = cli_main(_run(tiny, path, out=out))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and len(err) < 400, err
    assert not out.exists()                      # no empty folder left behind either


# ----------------------------------------------------------------------- commands and flags
def test_version_list_quiet_debug(tiny, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"cge {cge.__version__}"
    assert cli_main(["list"]) == 0
    listing = capsys.readouterr().out
    files = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    assert all(f" {name} " in listing for name in files)
    assert "* jpn_deal_15" in listing               # in the standard set, marked
    assert "15% all-in" in listing                   # its description
    assert cli_main(["-q", *_run(tiny, tiny["t10"], out=tmp_path / "q")]) == 0
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    assert cli_main(_run(tiny, tiny["t10"], out=tmp_path / "v", extra=["--quiet"])) == 0
    assert capsys.readouterr().out == ""
    assert cli_main(_run(tiny, tiny["t10"], out=tmp_path / "loud")) == 0
    assert "t10" in capsys.readouterr().out           # the table
    with pytest.raises(ScenarioError):
        cli_main(["--debug", *_run(tiny, tmp_path / "missing.toml", out=tmp_path / "d")])


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def stage(self, text):
        self.events.append(("stage", text))

    def start_solving(self, total):
        self.events.append(("start", total))

    def solving(self, name):
        self.events.append(("solving", name))

    def solved(self, name, status, iterations, seconds):
        self.events.append(("solved", name, status, iterations))

    def close(self):
        self.events.append(("close",))


def test_progress_reports_each_scenario(tiny, tmp_path):
    rec = _Recorder()
    runner.run_scenarios([str(tiny["t10"]), str(tiny["t20"])], data=str(tiny["data"]),
                         elasticities=str(tiny["elast"]), out_dir=tmp_path / "p", echo=False,
                         progress=rec)
    solved = [e for e in rec.events if e[0] == "solved"]
    assert [e[1] for e in solved] == ["t10", "t20"]
    assert all(e[2] == "optimal" and e[3] > 0 for e in solved)
    assert ("start", 2) in rec.events and rec.events[-1] == ("close",)
    stages = " ".join(e[1] for e in rec.events if e[0] == "stage")
    assert "calibrating" in stages and "typesetting" in stages
    from cge.progress import Silent, make_progress
    assert isinstance(make_progress(quiet=True), Silent)
    assert isinstance(make_progress(), Silent)        # pytest's stderr is not a terminal


@pytest.mark.parametrize("command", [[], ["counterfactual"], ["run"], ["list"],
                                     ["check-solver"], ["strategy"], ["sensitivity"],
                                     ["export"]])
def test_every_help_text_prints(command, capsys):
    """``cge [COMMAND] --help`` prints its usage and exits 0 (a bare % in a help string made
    argparse raise ValueError with a traceback)."""
    from cge.cli import main

    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: cge" in capsys.readouterr().out
