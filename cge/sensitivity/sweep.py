r"""Run a sensitivity sweep: every (scenario, draw) pair a task, on Dask, written as it arrives.

A *sweep* solves each scenario under each draw of a specification (:mod:`cge.sensitivity.spec`):
per task, the data set is **recalibrated** with the draw's elasticities (shares do not move,
the substitution parameters do) and the model is built and benchmark-checked, then the scenario
is solved from the benchmark — the same :meth:`cge.Session.run` as any run. A worker keeps the
last session it built, so consecutive tasks of the same draw (the tasks are ordered draw by
draw) reuse its model.

Tasks run on ``dask.distributed``: a ``LocalCluster`` with one single-threaded worker process
per core by default (``workers``), or an existing scheduler (``scheduler="tcp://host:8786"``,
e.g. from dask-jobqueue on SLURM/PBS or a Kubernetes deployment, docs/sensitivity.md), or in
this process (``workers=0``: the same task function, serially). Each finished task comes back
to this process (so workers need the data set, not a shared file system), is written at once
as ``tasks/<scenario>/draw_<k>.nc`` (atomic) and recorded in ``index.csv`` (scenario,
draw, status, seconds, error), so an interrupted sweep keeps what finished and a second run
of the same sweep runs only what is missing. A failed task (a draw whose calibration or solve
fails) is recorded with its error and counted, never dropped; the sweep goes on.

``sweep.json`` records what the sweep is (data set, elasticities, scenarios, the
specification's text and hash); resuming a folder written for another sweep is refused.
At the end :func:`collect` stacks the finished tasks along ``draw`` and
:func:`cge.sensitivity.summary.summarise` gives mean, standard deviation, 5-95 % band and the
share of draws in which each region's EV keeps the central sign.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from cge.atomic import atomic_file, swap_folder

__all__ = ["STANDARD_SCENARIOS", "SweepError", "SweepResult", "Task", "collect",
           "format_summary", "run", "solve_task", "write_pdf"]

#: The scenarios of ``make sensitivity``: the US-Japan deal and the announced tariffs (issue
#: 18's cases), the 2026 MFN + Section 232 branch and Japan's full package on it.
STANDARD_SCENARIOS = ("jpn_deal_15", "us_jpn_reciprocal_autos", "branch_2026h2_mfn_s232",
                      "package_2026h2_jpn_all")
#: The columns of ``index.csv``.
INDEX_COLUMNS = ("scenario", "draw", "status", "seconds", "error")


class SweepError(ValueError):
    """A sweep that cannot start: a folder of another sweep, an unknown scenario, ..."""


@dataclass(frozen=True)
class Task:
    """One solve: the scenario ``name`` (its TOML text ``scenario``, so a remote worker needs
    no copy of the file) under draw ``draw``."""

    scenario: str
    name: str
    draw: int

    @property
    def file(self) -> str:
        return f"tasks/{self.name}/draw_{self.draw:05d}.nc"


@dataclass
class SweepResult:
    """What :func:`run` did: the folder, the tasks done / failed / skipped (already done when
    resuming), the wall time, and the stacked results (:func:`collect`) and their summary."""

    out_dir: Path
    total: int
    done: int
    failed: int
    skipped: int
    seconds: float
    workers: int | str
    results: xr.Dataset | None = None
    summary: xr.Dataset | None = None
    failures: list[dict] = field(default_factory=list)
    central: dict[str, xr.Dataset] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# The task (runs on a worker)
# --------------------------------------------------------------------------------------------
_CACHE: dict[str, Any] = {}


def _session(data: str, key: str, elasticities: xr.Dataset, options) -> Any:
    """This worker's session for a draw: the last one built, or a new one recalibrated from
    the data set, which the worker reads once (reading and checking the default data takes
    about 1 s, the recalibration and build 0.3 s)."""
    from cge.api import Session, load_data

    if _CACHE.get("data") != data:
        _CACHE.clear()
        _CACHE["benchmark"] = load_data(data)
        _CACHE["data"] = data
    if _CACHE.get("key") != key:
        _CACHE.pop("session", None)
        _CACHE["session"] = Session(_CACHE["benchmark"], elasticities, options)
        _CACHE["key"] = key
    return _CACHE["session"]


def solve_task(data: str, spec_hash: str, draw, task: Task) -> dict:
    """Recalibrate ``data`` with the draw and solve the task's scenario; returns
    ``{"status": "ok" | "failed", "seconds", "error", "results"}`` (the results Dataset with
    a ``draw`` dimension, or None). The caller writes the file, so workers need no shared
    file system, only the data set. Never raises for a failed draw (the error text is
    returned); KeyboardInterrupt passes."""
    began = time.perf_counter()
    try:
        session = _session(data, f"{spec_hash}:{draw.index}", draw.elasticities, draw.options)
        res = session.run(toml=task.scenario)
        res = res.expand_dims(draw=[draw.index])
        res.attrs.update({"draw": draw.index, "draw_weight": draw.weight,
                          "draw_multipliers": json.dumps(draw.multipliers)})
        return {"status": "ok", "seconds": time.perf_counter() - began, "error": "",
                "results": res}
    except Exception as exc:  # a failed draw is a result, recorded with its error
        _CACHE.pop("key", None)
        _CACHE.pop("session", None)
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        return {"status": "failed", "seconds": time.perf_counter() - began,
                "error": f"{type(exc).__name__}: {exc}"[:2000] + where, "results": None}


# --------------------------------------------------------------------------------------------
# The sweep (runs in the calling process)
# --------------------------------------------------------------------------------------------
def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _describe(data: str, elasticities: str | None, spec, scenarios: Sequence[str]) -> dict:
    return {"data": str(data), "elasticities": str(elasticities), "spec": spec.name,
            "spec_sha256": _sha(spec.text), "method": spec.method,
            "scenarios": list(scenarios), "code_sha256": _code_sha()}


def _read_index(path: Path) -> dict[tuple[str, int], dict]:
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [{**r, "draw": int(r["draw"])} for r in csv.DictReader(fh)]
    return {(r["scenario"], r["draw"]): r for r in rows}


def _write_index(path: Path, rows: dict[tuple[str, int], dict]) -> None:
    with atomic_file(path) as tmp:
        with Path(tmp).open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=INDEX_COLUMNS)
            w.writeheader()
            for key in sorted(rows):
                w.writerow({c: rows[key].get(c, "") for c in INDEX_COLUMNS})


def _code_sha() -> str:
    """A hash of the package's Python sources: results of another version are not reused."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _prepare(out_dir: Path, about: dict, resume: bool) -> dict[tuple[str, int], dict]:
    """Create the folder, or check that it holds this sweep (then its finished tasks count);
    the index so far."""
    meta = out_dir / "sweep.json"
    if meta.exists():
        old = json.loads(meta.read_text(encoding="utf-8"))
        if old != about:
            diff = sorted(k for k in about if old.get(k) != about[k])
            raise SweepError(f"{out_dir} holds another sweep (differs in {', '.join(diff)}); "
                             "its finished tasks are reused only for the same data, "
                             "elasticities, scenarios, specification and code: use fresh "
                             "(--fresh) to replace it, or another folder")
    elif resume:
        raise SweepError(f"nothing to resume: {out_dir} holds no sweep (no sweep.json)")
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_file(meta) as tmp:
            Path(tmp).write_text(json.dumps(about, indent=1), encoding="utf-8")
    index = _read_index(out_dir / "index.csv")
    # a task counts as finished only if it failed or its file is there
    return {k: r for k, r in index.items()
            if r["status"] == "failed" or (out_dir / Task("", k[0], k[1]).file).exists()}


def scheduler_address(given: str | None = None) -> str | None:
    """The Dask scheduler to use: ``given`` (``--scheduler``), else the environment variable
    ``CGE_DASK_SCHEDULER``, else Dask's own configuration entry ``scheduler-address`` (e.g.
    ``scheduler-address: tcp://head:8786`` in ``~/.config/dask/distributed.yaml``, or
    ``DASK_SCHEDULER_ADDRESS``); None: a local cluster."""
    if given:
        return given
    env = os.environ.get("CGE_DASK_SCHEDULER")
    if env:
        return env
    import dask

    return dask.config.get("scheduler-address", None) or None


def _client(workers: int, scheduler: str | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster), cluster


def run(scenarios: Sequence[str], spec: str | Path, *, data: str = "default2024",
        elasticities: str | None = None, out_dir: str | Path | None = None,
        workers: int | None = None, scheduler: str | None = None, resume: bool = False,
        fresh: bool = False, progress=None, on_task: Callable[[Task, dict], None] | None = None
        ) -> SweepResult:
    """Solve every scenario under every draw of ``spec`` (a file or a name in
    ``sensitivity/``) and summarise (module docstring). ``workers``: local worker processes
    (default: the machine's cores; 0 runs the tasks in this process); ``scheduler``: the
    address of a running Dask scheduler instead (default :func:`scheduler_address`: the
    environment or Dask's configuration, else a local cluster). ``out_dir`` default
    ``reports/sensitivity/<spec name>/``.

    A folder that holds the same sweep (same data, elasticities, scenarios, specification
    and code) is continued: its finished tasks are kept, only the missing ones run (so a
    second run only re-summarises). ``resume=True`` insists on that (an error if the folder
    holds no sweep). A folder of another sweep is refused unless ``fresh=True``: the new
    sweep then runs in a staging folder next to it and replaces it only when complete.
    ``on_task(task, outcome)`` is called after each finished task (the tests interrupt a
    sweep there). Returns a :class:`SweepResult`; the stacked results are also written as
    ``results.nc`` and the summary as ``summary.nc``."""
    from cge.api import Session, scenario_path, write_netcdf
    from cge.calibrate import load_elasticities
    from cge.paths import REPORTS_DIR
    from cge.sensitivity.spec import draws, load_spec
    from cge.sensitivity.summary import summarise

    began = time.perf_counter()
    central = Session(data, elasticities)
    spec_obj = load_spec(spec, central.sets)
    names = [central.scenario(s).name for s in scenarios]          # validates every file
    if len(set(names)) != len(names):
        raise SweepError(f"scenario names repeat: {names}")
    commodities = [str(c) for c in central.benchmark.commodity.values]
    e0 = (central.elasticities if isinstance(central.elasticities, xr.Dataset)
          else load_elasticities(central.elasticities, commodities))
    all_draws = draws(spec_obj, e0, central.options)
    final = (Path(out_dir) if out_dir is not None
             else REPORTS_DIR / "sensitivity" / spec_obj.name)
    about = _describe(data, elasticities, spec_obj, scenarios)
    out = _sweep_folder(final, fresh)
    index = _prepare(out, about, resume and out == final)
    texts = [scenario_path(s).read_text(encoding="utf-8") for s in scenarios]
    tasks = [Task(t, n, d.index) for d in all_draws for t, n in zip(texts, names, strict=True)]
    todo = [t for t in tasks if (t.name, t.draw) not in index]
    by_index = {d.index: d for d in all_draws}
    spec_hash = _sha(spec_obj.text)
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    scheduler = scheduler_address(scheduler) if n_workers != 0 or scheduler else None
    failed_before = sum(1 for r in index.values() if r["status"] == "failed")
    if progress is not None:
        progress.start(len(tasks), len(tasks) - len(todo) - failed_before, failed_before)
    record = _Recorder(out, index, progress, on_task)
    try:
        if todo and n_workers == 0 and not scheduler:
            for t in todo:
                record(t, solve_task(str(data), spec_hash, by_index[t.draw], t))
        elif todo:
            _run_dask(todo, by_index, str(data), spec_hash, n_workers, scheduler, record)
    finally:
        if progress is not None:
            progress.close()
    results = collect(out, names, by_index)
    central_runs = _central_runs(central, scenarios)
    summary = summarise(results, central_runs, spec_obj.method)
    summary.attrs.update({k: (json.dumps(v) if isinstance(v, list) else v)
                          for k, v in about.items()})
    summary.attrs.update({"draws": len(all_draws),
                          "tasks_failed": sum(r["status"] == "failed" for r in index.values()),
                          "tasks": len(tasks)})
    write_netcdf(results, out / "results.nc")
    write_netcdf(summary, out / "summary.nc")
    if out != final:
        swap_folder(out, final)
        out = final
    failures = [r for r in index.values() if r["status"] == "failed"]
    return SweepResult(out, len(tasks), record.done, record.failed, len(tasks) - len(todo),
                       time.perf_counter() - began, scheduler or n_workers, results, summary,
                       failures, central_runs)


def _sweep_folder(final: Path, fresh: bool) -> Path:
    """Where the sweep runs: ``final``, or with ``fresh`` over an existing sweep a staging
    folder next to it (swapped in only when the sweep is complete)."""
    if fresh and (final / "sweep.json").exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    return final


@dataclass
class _Recorder:
    """Records each finished task: its results file, its row of ``index.csv`` (rewritten at
    once, so an interrupted sweep keeps what it finished), the counts and the progress bar."""

    out: Path
    index: dict
    progress: Any
    on_task: Callable[[Task, dict], None] | None
    done: int = 0
    failed: int = 0

    def __call__(self, task: Task, outcome: dict) -> None:
        from cge.api import write_netcdf

        if outcome.get("results") is not None:
            write_netcdf(outcome["results"], self.out / task.file)
        self.index[(task.name, task.draw)] = {"scenario": task.name, "draw": task.draw,
                                              "status": outcome["status"],
                                              "seconds": f"{outcome['seconds']:.3f}",
                                              "error": outcome["error"]}
        _write_index(self.out / "index.csv", self.index)
        ok = outcome["status"] == "ok"
        self.done += ok
        self.failed += not ok
        if self.progress is not None:
            self.progress.task_done(f"{task.name} draw {task.draw}", ok)
        if self.on_task is not None:
            self.on_task(task, outcome)


def _run_dask(todo: list[Task], by_index: dict, data: str, spec_hash: str, workers: int,
              scheduler: str | None, record) -> None:
    from dask.distributed import as_completed

    client, cluster = _client(workers, scheduler)
    try:
        futures = {client.submit(solve_task, data, spec_hash, by_index[t.draw], t,
                                 key=f"cge-{spec_hash[:8]}-{t.name}-{t.draw}", pure=False): t
                   for t in todo}
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker itself died: the task failed
                outcome = {"status": "failed", "seconds": 0.0,
                           "error": f"worker lost: {type(exc).__name__}: {exc}"[:2000]}
            record(task, outcome)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _central_runs(session, scenarios: Sequence[str]) -> dict[str, xr.Dataset]:
    """The scenarios at the central elasticities (the point estimates of the band)."""
    out = {}
    for s in scenarios:
        res = session.run(s)
        out[str(res.attrs.get("scenario", s))] = res
    return out


def collect(out_dir: str | Path, names: Sequence[str], draws_by_index: dict | None = None
            ) -> xr.Dataset:
    """The finished tasks of a sweep folder stacked: dims ``scenario`` and ``draw`` in front of
    each result variable's own; a task not finished (failed) is NaN there. ``draw_weight``
    (draw) holds the draws' weights."""
    out_dir = Path(out_dir)
    per_scenario = []
    for name in names:
        files = sorted((out_dir / "tasks" / name).glob("draw_*.nc"))
        parts = [xr.load_dataset(f, engine="h5netcdf") for f in files]
        if not parts:
            continue
        numeric = [_numeric(p) for p in parts]
        per_scenario.append(xr.concat(numeric, dim="draw", join="outer")
                            .expand_dims(scenario=[name]))
    if not per_scenario:
        return xr.Dataset()
    ds = xr.concat(per_scenario, dim="scenario", join="outer")
    if draws_by_index:
        ds["draw_weight"] = ("draw", [draws_by_index[int(k)].weight for k in ds.draw.values])
    return ds


def _numeric(ds: xr.Dataset) -> xr.Dataset:
    """The numeric result variables (strings and attrs dropped: they are the central run's)."""
    keep = [v for v in ds.data_vars if np.issubdtype(ds[v].dtype, np.number)]
    out = ds[keep]
    out.attrs = {}
    return out


def format_summary(res: SweepResult) -> str:
    """The console table: each scenario and region's EV, central, mean, sd, 90 % band and the
    share of draws keeping the central sign; then the task counts."""
    s = res.summary
    lines = []
    if s is not None and "EV" in s:
        unit = s["EV"].attrs.get("units", "")
        lines.append(f"{'scenario':<28} {'region':<6} {'central':>10} {'mean':>10} {'sd':>9} "
                     f"{'5 %':>10} {'95 %':>10} {'sign':>5}   EV, {unit}")
        for scen in s.scenario.values:
            for r in s.region.values:
                v = s["EV"].sel(scenario=scen, region=r)
                lines.append(f"{str(scen):<28} {str(r):<6} "
                             + " ".join(f"{float(v.sel(stat=k)):>{w},.1f}" for k, w in
                                        (("central", 10), ("mean", 10), ("sd", 9),
                                         ("p05", 10), ("p95", 10)))
                             + f" {float(s['EV_sign_share'].sel(scenario=scen, region=r)):5.2f}")
        lines.append(f"band: {s.attrs.get('band', '')}")
    lines.append(f"{res.total} tasks: {res.done} solved now, {res.skipped} finished before "
                 f"(resume), {len(res.failures)} failed in all; {res.seconds:.1f} s on "
                 f"{res.workers} worker(s)")
    for f in res.failures[:5]:
        lines.append(f"  failed: {f['scenario']} draw {f['draw']}: {f['error'][:160]}")
    return "\n".join(lines)


def write_pdf(res: SweepResult) -> Path:
    """The sweep's report: the central runs with the sensitivity bands
    (:func:`cge.report.write_report` with ``sensitivity=``), ``sensitivity.pdf``."""
    from cge.report import write_report

    return write_report(list(res.central.values()), res.out_dir / "sensitivity.pdf",
                        sensitivity=res.summary)
