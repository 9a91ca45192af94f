r"""Sensitivity sweeps (``cge.sensitivity.run``) on ``two_by_two``: Dask against serial, a failed
draw, interruption and resume, the summary against numbers computed here from the task files,
the command line.

The scenario: HOME +20 pp on everything from FOREIGN; the specification: ESUBM of both
commodities drawn independently (triangular, +-50 %), ESUBD following it, 4 Monte Carlo draws.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import HOME_TARIFF_20, save_tiny_benchmark

from cge.sensitivity import sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = HOME_TARIFF_20
SPEC = """name = "test_mc"
description = "ESUBM by commodity, ESUBD following"
method = "monte_carlo"
draws = 4
seed = 7

[[parameter]]
name = "esubm"
commodities = "all"
distribution = "triangular"
spread = 0.5
vary = "each"

[[parameter]]
name = "esubd"
follow = "esubm"
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sweep")
    data, elast = save_tiny_benchmark(base)
    (base / "home_tariff_20.toml").write_text(SCENARIO)
    (base / "spec.toml").write_text(SPEC)
    return {"data": data, "elast": elast, "scenario": base / "home_tariff_20.toml",
            "spec": base / "spec.toml", "base": base}


def _run(files, out: Path, **kw) -> sweep.SweepResult:
    return sweep.run([str(files["scenario"])], files["spec"], data=str(files["data"]),
                     elasticities=str(files["elast"]), out_dir=out, **kw)


@pytest.fixture(scope="module")
def serial(files, tmp_path_factory) -> sweep.SweepResult:
    return _run(files, tmp_path_factory.mktemp("serial") / "out", workers=0)


# --------------------------------------------------------------------------------------------
def test_dask_two_workers_equals_serial(files, serial, tmp_path):
    """4 draws on a LocalCluster with 2 worker processes: the same numbers as in this
    process, to 1e-12 (every variable of every draw)."""
    par = _run(files, tmp_path / "dask", workers=2)
    assert par.done == serial.done == 4 and par.failed == serial.failed == 0
    assert par.workers == 2
    a, b = serial.results, par.results
    assert set(a.data_vars) == set(b.data_vars) and a.sizes == b.sizes
    for var in a.data_vars:
        np.testing.assert_allclose(b[var].values, a[var].values, rtol=1e-12, atol=1e-12,
                                   err_msg=var)
    ev = a["EV"].sel(scenario="home_tariff_20", region="HOME").values
    assert np.ptp(ev) > 1e-3                               # the draws do differ


def test_summary_from_the_task_files(files, serial):
    """Mean, sd (ddof 1), 5/95 % quantiles and the sign share of HOME's EV, computed here
    from the four task files, equal the summary's; the central value is the run at the
    central elasticities."""
    import cge

    evs = []
    for k in range(4):
        path = serial.out_dir / "tasks" / "home_tariff_20" / f"draw_{k:05d}.nc"
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            evs.append(float(ds.EV.sel(region="HOME").squeeze()))
    evs = np.array(evs)
    s = serial.summary["EV"].sel(scenario="home_tariff_20", region="HOME")
    assert float(s.sel(stat="mean")) == pytest.approx(evs.mean(), rel=1e-12)
    assert float(s.sel(stat="sd")) == pytest.approx(evs.std(ddof=1), rel=1e-12)
    assert float(s.sel(stat="p05")) == pytest.approx(np.percentile(evs, 5), rel=1e-12)
    assert float(s.sel(stat="p95")) == pytest.approx(np.percentile(evs, 95), rel=1e-12)
    central = cge.Session(str(files["data"]), str(files["elast"])).run(str(files["scenario"]))
    assert float(s.sel(stat="central")) == pytest.approx(float(central.EV.sel(region="HOME")),
                                                         rel=1e-12)
    share = float(serial.summary["EV_sign_share"].sel(scenario="home_tariff_20",
                                                      region="HOME"))
    assert share == pytest.approx(np.mean(np.sign(evs) == np.sign(float(
        central.EV.sel(region="HOME")))))
    assert (serial.out_dir / "summary.nc").is_file() and (serial.out_dir / "results.nc").is_file()


def test_failed_draw_is_recorded_and_the_sweep_completes(files, tmp_path, monkeypatch):
    """A draw with a negative ESUBM fails in calibration: it is in index.csv with its error,
    counted, NaN in the results; the other draws are summarised."""
    from cge.sensitivity import spec as spec_mod

    real = spec_mod.draws

    def broken(*args, **kwargs):
        out = real(*args, **kwargs)
        bad = out[2]
        el = bad.elasticities.copy(deep=True)
        el["esubm"][:] = -1.0
        out[2] = type(bad)(**{**bad.__dict__, "elasticities": el})
        return out

    monkeypatch.setattr(spec_mod, "draws", broken)
    res = _run(files, tmp_path / "out", workers=0)
    assert (res.done, res.failed) == (3, 1)
    assert len(res.failures) == 1 and res.failures[0]["draw"] == 2
    assert "esubm" in res.failures[0]["error"] and "DataError" in res.failures[0]["error"]
    index = (res.out_dir / "index.csv").read_text()
    assert "failed" in index and index.count("\n") == 5
    assert int(res.summary["draws_solved"].sel(scenario="home_tariff_20")) == 3
    assert int(res.summary.attrs["tasks_failed"]) == 1
    assert "1 failed in all" in sweep.format_summary(res)


def test_interrupted_sweep_resumes_to_the_same_result(files, serial, tmp_path):
    out = tmp_path / "out"
    seen = []

    def stop_after_two(task, outcome):
        seen.append(task.draw)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(files, out, workers=0, on_task=stop_after_two)
    assert len(list((out / "tasks" / "home_tariff_20").glob("*.nc"))) == 2
    res = _run(files, out, workers=0, resume=True)
    assert (res.done, res.skipped, res.failed) == (2, 2, 0)
    for var in serial.summary.data_vars:
        np.testing.assert_allclose(res.summary[var].values, serial.summary[var].values,
                                   rtol=1e-12, atol=1e-12, err_msg=var)


def test_same_sweep_continues_another_is_refused_fresh_replaces(files, serial, tmp_path):
    """Re-running the same sweep in its folder solves nothing and gives the same summary; a
    different specification there is refused (naming what differs) and, with fresh, runs
    aside and replaces it only when complete."""
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(serial.out_dir, out)
    again = _run(files, out, workers=0)
    assert (again.done, again.skipped) == (0, 4)
    np.testing.assert_array_equal(again.summary["EV"].values, serial.summary["EV"].values)
    other = files["base"] / "other.toml"
    other.write_text(SPEC.replace("seed = 7", "seed = 8"))
    before = sorted(p.name for p in (out / "tasks" / "home_tariff_20").iterdir())
    with pytest.raises(sweep.SweepError, match="differs in spec_sha256"):
        sweep.run([str(files["scenario"])], other, data=str(files["data"]),
                  elasticities=str(files["elast"]), out_dir=out, workers=0)
    assert sorted(p.name for p in (out / "tasks" / "home_tariff_20").iterdir()) == before
    with pytest.raises(sweep.SweepError, match="nothing to resume"):
        _run(files, tmp_path / "empty", workers=0, resume=True)
    new = sweep.run([str(files["scenario"])], other, data=str(files["data"]),
                    elasticities=str(files["elast"]), out_dir=out, workers=0, fresh=True)
    assert new.done == 4 and new.out_dir == out
    assert json.loads((out / "sweep.json").read_text())["spec_sha256"] != json.loads(
        (serial.out_dir / "sweep.json").read_text())["spec_sha256"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".copy.staging-")]


def test_cli_writes_summary_and_pdf_and_refuses_bad_spec(files, tmp_path):
    out = tmp_path / "cli"
    base = [sys.executable, "-m", "cge", "sensitivity", str(files["scenario"]), "--data",
            str(files["data"]), "--elasticities", str(files["elast"]), "--workers", "0"]
    proc = subprocess.run([*base, "--spec", str(files["spec"]), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "home_tariff_20" in proc.stdout and "4 tasks" in proc.stdout
    assert (out / "summary.nc").is_file() and (out / "sensitivity.pdf").stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(out / "sensitivity.pdf"), "-"],
                          capture_output=True, text=True).stdout
    assert "sensitivity band" in text
    bad = files["base"] / "bad.toml"
    bad.write_text(SPEC.replace('name = "esubm"', 'name = "esubx"'))
    proc = subprocess.run([*base, "--spec", str(bad), "--out", str(tmp_path / "bad")],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "esubx" in lines[0]
    assert json.loads((out / "sweep.json").read_text())["spec"] == "test_mc"


def test_scheduler_address_from_the_configuration(monkeypatch):
    """--scheduler, else CGE_DASK_SCHEDULER, else Dask's config entry scheduler-address."""
    import dask

    monkeypatch.delenv("CGE_DASK_SCHEDULER", raising=False)
    with dask.config.set({"scheduler-address": None}):
        assert sweep.scheduler_address() is None
    with dask.config.set({"scheduler-address": "tcp://head:8786"}):
        assert sweep.scheduler_address() == "tcp://head:8786"
        monkeypatch.setenv("CGE_DASK_SCHEDULER", "tcp://env:8786")
        assert sweep.scheduler_address() == "tcp://env:8786"
        assert sweep.scheduler_address("tcp://given:1") == "tcp://given:1"
