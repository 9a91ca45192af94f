"""The Python API: data → calibration → model → solve → results, and scenario runs.

Typical use::

    import cge
    s = cge.Session()              # default2024 + its elasticities: load + check + calibrate
    res = s.run("scenarios/us_jpn_reciprocal_autos.toml")   # xarray Dataset
    print(res.EV.sel(region="JPN").item(), res.real_gdp_pct.to_series())

A session keeps one built model per set of options (closures): scenarios change instrument values
and re-solve, warm-started from the benchmark; nothing is rebuilt between scenarios.
"""

from __future__ import annotations

import dataclasses
import numbers
import time
from pathlib import Path

import numpy as np
import xarray as xr

from cge.atomic import atomic_file
from cge.calibrate import calibrate
from cge.data.aggregate import internalize_trade
from cge.data.benchmark import (
    DataError,
    capital_factor,
    factor_roles_of,
    load_benchmark,
    wage_factor,
)
from cge.data.gtap import PARAMETERS as GTAP_PARAMETERS
from cge.data.gtap import is_gtap_folder, load_gtap, read_parameters
from cge.model import CGEModel, build_model
from cge.options import ModelOptions, OptionsError
from cge.path_indices import GTAP_INDEX_TEXT, gtap_indices
from cge.paths import DATA_DIR, REPORTS_DIR, ROOT, SCENARIO_DIR, where_hint  # noqa: F401
from cge.results import extract_results
from cge.scenario import (
    ClosureError,
    Scenario,
    ScenarioError,
    Sets,
    load_scenario,
    parse_scenario,
)
from cge.shocks import apply_scenario
from cge.solve import (
    IPOPT_OPTIONS,
    RESIDUAL_TOL,
    WALRAS_TOL,
    Diagnostics,
    SolveError,
    nlp_residual,
    solve,
)
from cge.subtotals import package_parts, split_package
from cge.welfare import COMPONENT_FORMULAS, COMPONENTS, decompose_ev


class BenchmarkReplicationError(RuntimeError):
    """The model does not reproduce its benchmark: a calibration or model error."""


#: The default data set (a folder of ``data/``) and the elasticities used when a data set does
#: not name its own.
DEFAULT_DATA = "default2024"
FALLBACK_ELASTICITIES = "gtap"


def _data_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if not path.exists() and (DATA_DIR / str(name_or_path)).exists():
        path = DATA_DIR / str(name_or_path)
    return path


def load_data(name_or_path: str | Path = DEFAULT_DATA,
              intra_region: str | None = None,
              mapping: str | Path | dict | None = None) -> xr.Dataset:
    """A benchmark by name (a folder of ``data/``) or path, balance-checked on load: a folder
    in the project's format (``dataset.toml`` and CSV files, :mod:`cge.data.benchmark`) or a
    GTAP data base (``basedata.har``, :mod:`cge.data.gtap`).

    ``intra_region``: how a (composite) region's trade with itself is held. ``None``: as the
    data have it (a GTAP data base: on the region's own import route, as in GTAP; a folder in
    the project's format: as saved). ``"routes"``: the same. ``"domestic"``: made domestic
    trade, its tariffs and export taxes kept as taxes of the users
    (:func:`cge.data.aggregate.internalize_trade`), so the region is one economy.

    ``mapping`` (a TOML file laid out like ``data/maps/wiod2011.toml``, or a dict; GTAPAgg's
    job): the data aggregated on load (:func:`cge.data.aggregate.aggregate_on_load`), trade
    between members of a new region kept on its own route unless ``intra_region`` is
    ``"domestic"`` (for a data set in the project's format without own routes, domestic is the
    default); the data set's elasticities, factor roles and ETRAE aggregated along, so the
    result runs as a data set of its own (:func:`data_elasticities` gives its elasticities)."""
    if intra_region not in (None, "routes", "domestic"):
        raise DataError(f"intra_region must be 'routes' or 'domestic', not {intra_region!r}")
    path = _data_path(name_or_path)
    if not path.exists():
        known = sorted(p.parent.name for p in DATA_DIR.glob("*/dataset.toml"))
        raise DataError(f"data set {str(name_or_path)!r} not found: neither a folder of "
                        f"{DATA_DIR} ({', '.join(known) or 'none'}) nor an existing path; "
                        f"{where_hint()}")
    gtap = is_gtap_folder(path)
    if gtap:
        ds = load_gtap(path, intra_region or "routes")
    else:
        ds = load_benchmark(path)
        if intra_region == "domestic":
            ds, _ = internalize_trade(ds)
    if mapping is None:
        return ds
    from cge.calibrate import load_elasticities
    from cge.data.aggregate import aggregate_on_load

    el = load_elasticities(data_elasticities(ds), [str(c) for c in ds.commodity.values])
    own = intra_region or ("routes" if gtap or _has_own_routes(ds) else "domestic")
    return aggregate_on_load(ds, mapping, el, intra_region=own)


def _has_own_routes(ds: xr.Dataset) -> bool:
    """The data set has trade of a region with itself (an own import route)."""
    diag = np.arange(ds.region.size)
    vxmd = ds.vxmd.transpose("commodity", "exporter", "importer").values
    return bool(np.any(vxmd[:, diag, diag] > 0))


def data_elasticities(data: str | Path | xr.Dataset) -> str | xr.Dataset:
    """The elasticity set a data set names (top-level key ``elasticities`` of its
    ``dataset.toml``, e.g. ``"gtap_autos_split"`` for data with ``other_transport``), else
    ``"gtap"``; for a GTAP data base the elasticities of its own ``default.prm``
    (:func:`cge.data.gtap.read_parameters`). A Dataset is looked up through ``attrs["path"]``
    (set by the loader)."""
    import tomllib

    if isinstance(data, xr.Dataset):
        from cge.data.aggregate import carried_elasticities

        carried = carried_elasticities(data)     # aggregated on load: its own
        if carried is not None:
            return carried
        if data.attrs.get("elasticities"):
            return str(data.attrs["elasticities"])
        where = data.attrs.get("path")
        if not where:
            return FALLBACK_ELASTICITIES
        path = Path(where)
    else:
        path = _data_path(data)
    if is_gtap_folder(path):
        if not (path / GTAP_PARAMETERS).is_file():
            raise DataError(f"GTAP data base {path} has no {GTAP_PARAMETERS}: give its "
                            "elasticities (--elasticities NAME|CSV, or Session(..., "
                            "elasticities=...))")
        return read_parameters(path / GTAP_PARAMETERS)
    meta = path / "dataset.toml"
    if meta.is_file():
        try:
            name = tomllib.loads(meta.read_text(encoding="utf-8")).get("elasticities")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            name = None  # load_benchmark reports an unreadable dataset.toml
        if isinstance(name, str) and name:
            return str(path / name) if (path / name).is_file() else name   # a file of its own
    return FALLBACK_ELASTICITIES


#: Largest scenario file accepted (the library's largest is about 10 kB).
MAX_SCENARIO_BYTES = 1_000_000


def scenario_path(source: str | Path) -> Path:
    """The scenario file for a path or a library name (a file ``scenarios/<name>.toml``).

    An existing path is used as it is; otherwise a bare name is looked up in ``scenarios/``.
    Neither, or not a regular file (a folder, a device, a pipe) or larger than
    :data:`MAX_SCENARIO_BYTES`: :class:`~cge.scenario.ScenarioError`."""
    path = Path(source)
    if path.exists():
        if not path.is_file():
            raise ScenarioError(str(path), None, "not a regular file (a scenario is a .toml "
                                "file)")
        size = path.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise ScenarioError(str(path), None, f"file of {size:,} bytes; a scenario file "
                                f"is at most {MAX_SCENARIO_BYTES:,} bytes")
        return path
    name = str(source)
    if "/" not in name and not name.endswith(".toml") and (SCENARIO_DIR / f"{name}.toml").is_file():
        return SCENARIO_DIR / f"{name}.toml"
    hint = ("this looks like TOML text, not a file: save it in a .toml file (in Python: "
            "Session.run(toml=...))" if ("=" in name or "\n" in name)
            else "`python -m cge list` shows the library")
    if not any(SCENARIO_DIR.glob("*.toml")):
        hint = f"no scenario library at {SCENARIO_DIR}; {where_hint()}"
    raise ScenarioError(name[:80], None, f"no such scenario file or library name ({hint})")


def data_options(benchmark: xr.Dataset) -> ModelOptions:
    """The default options with what the data set says about its factors: the names the
    closures use -- ``labour`` (the unemployment closure's labour:
    :func:`~cge.data.benchmark.wage_factor`, e.g. GTAP's ``UnSkLab``) and ``capital`` (fixed by
    sector under sector-specific capital: :func:`~cge.data.benchmark.capital_factor`, e.g.
    GTAP's ``Capital``) -- and the factors' roles and transformation elasticities
    (:func:`~cge.data.benchmark.factor_roles_of`: a GTAP data base's EFLG / ETRE, or the
    ``[factor_roles]`` / ``[etrae]`` tables of a ``dataset.toml``; none: every factor mobile).
    A data set without the named factors keeps the defaults (and those closures say the factor
    is missing). Options given to :class:`Session` replace all of these."""
    factors = [str(f) for f in benchmark.factor.values]
    roles, etrae = factor_roles_of(benchmark)
    base = ModelOptions()
    return dataclasses.replace(base, labour=wage_factor(factors) or base.labour,
                               capital=capital_factor(factors) or base.capital,
                               factor_roles=roles, etrae=etrae)


class Session:
    """One data set + elasticities, calibrated once, with a model per closure configuration."""

    def __init__(self, data: str | Path | xr.Dataset = DEFAULT_DATA,
                 elasticities: str | Path | dict | xr.Dataset | None = None,
                 options: ModelOptions | None = None, intra_region: str | None = None,
                 mapping: str | Path | dict | None = None) -> None:
        """``data``: a data set name, a folder or a benchmark Dataset; ``intra_region`` and
        ``mapping`` (aggregation on load): see :func:`load_data` (for a name or folder
        only)."""
        if isinstance(data, xr.Dataset) and (intra_region is not None or mapping is not None):
            raise TypeError("intra_region and mapping apply when the data are loaded: pass "
                            "load_data(..., intra_region=..., mapping=...) as data instead")
        self.benchmark = (data if isinstance(data, xr.Dataset)
                          else load_data(data, intra_region, mapping))
        if elasticities is None:  # the data set's own (dataset.toml), else gtap
            elasticities = data_elasticities(
                self.benchmark if isinstance(data, xr.Dataset) or mapping is not None
                else data)
        self.elasticities = elasticities
        self.params = calibrate(self.benchmark, elasticities)
        self.options = options or data_options(self.benchmark)
        self.sets = Sets.from_benchmark(self.benchmark)
        self._models: dict[str, CGEModel] = {}

    def model(self, options: ModelOptions | None = None) -> CGEModel:
        """The built model for ``options`` (built once, then reused), benchmark-checked."""
        options = options or self.options
        key = repr(options)
        if key not in self._models:
            model = build_model(self.params, options)
            check_benchmark(model)
            self._models[key] = model
        return self._models[key]

    def scenario(self, source: str | Path | Scenario | None = None, *,
                 toml: str | None = None) -> Scenario:
        """A validated scenario from a file, a library name, TOML text or a Scenario.

        ``source`` is a path (``str`` or ``Path``) to a TOML file, always read as a file, or the
        name of a file in ``scenarios/`` (``"jpn_deal_15"``); TOML *text* is passed as
        ``toml="..."`` and never taken for a path. Exactly one of the two. Its ``[closure]`` is
        checked against the session's options here (a contradiction raises
        :class:`~cge.scenario.ClosureError`, which names the file)."""
        if (source is None) == (toml is None):
            raise TypeError("give a scenario file or name as `source`, or TOML text as "
                            "`toml=` (exactly one)")
        if toml is not None:
            scen = parse_scenario(str(toml), self.sets)
        elif isinstance(source, Scenario):
            scen = source
        else:
            scen = load_scenario(scenario_path(source), self.sets)
        self.options_for(scen)
        return scen

    def options_for(self, scen: Scenario) -> ModelOptions:
        """The session's options with the scenario's closure; a contradiction is a
        :class:`~cge.scenario.ClosureError` naming the scenario file."""
        try:
            return self.options.with_closure(dict(scen.closure))
        except OptionsError as exc:
            raise ClosureError(scen.source, "closure", f"{exc} (closure of this scenario: "
                               f"{dict(scen.closure)})") from None

    def _model_for(self, scen: Scenario) -> CGEModel:
        try:
            return self.model(self.options_for(scen))
        except ClosureError:
            raise
        except OptionsError as exc:  # raised while building, e.g. an impossible numeraire
            raise ClosureError(scen.source, "closure", f"{exc} (closure of this scenario: "
                               f"{dict(scen.closure)})") from None

    def validate(self, source: str | Path | Scenario | None = None, *,
                 toml: str | None = None) -> Scenario:
        """Check a scenario completely without solving: parse it, build (or reuse) the model
        of its closure and apply its shocks (rates that would reach -100 %, transfers larger
        than the payer's income, ...), then put the model back at the benchmark."""
        scen = self.scenario(source, toml=toml)
        model = self._model_for(scen)
        try:
            model.restore(model._benchmark)
            apply_scenario(model, scen)
        finally:
            model.restore(model._benchmark)
        return scen

    def prepared(self, source: str | Path | Scenario | None = None, *,
                 toml: str | None = None) -> tuple[Scenario, CGEModel]:
        """The scenario and its model, reset to the benchmark and with the scenario's
        instruments applied, not yet solved (on an error the model is left at the benchmark)."""
        scen = self.scenario(source, toml=toml)
        model = self._model_for(scen)
        model.restore(model._benchmark)
        try:
            apply_scenario(model, scen)
        except BaseException:
            model.restore(model._benchmark)
            raise
        return scen, model

    def run(self, source: str | Path | Scenario | None = None, *, toml: str | None = None,
            decompose: bool = False) -> xr.Dataset:
        """Solve one scenario (warm-started from the benchmark) and return its results.

        ``source`` / ``toml`` as in :meth:`scenario`: a file or library name, or TOML text.

        A :class:`~cge.solve.SolveError` names the scenario and says what was tried.
        With ``decompose``, the results also hold ``EV_decomposition`` (component, region):
        the regional EV split into allocative, terms-of-trade, transfer, endowment, defense,
        investment-saving and composition effects and the residual
        (:func:`cge.welfare.decompose_ev`); for a package (instruments of several kinds) also
        ``EV_part_alone`` and ``EV_part_subtotal`` (package_part, region): each part's EV
        alone and its GTAP subtotal (:func:`cge.subtotals.split_package`)."""
        scen, model = self.prepared(source, toml=toml)
        try:
            diag = solve(model)
        except SolveError as exc:
            if exc.args and isinstance(exc.args[0], str):
                exc.args = (f"{scen.source}: scenario {scen.name!r}: {exc.args[0]}",
                            *exc.args[1:])
            raise
        res = extract_results(model, diag, scenario=scen.name, scenario_text=scen.text,
                              scenario_sha256=scen.sha256, scenario_description=scen.description,
                              scenario_closure=scen.closure)
        if decompose:
            path: list = []
            parts = decompose_ev(model, states=path)
            for key, by_region in gtap_indices(path, model.ctx.regions).items():
                res[key] = xr.DataArray([by_region[r] for r in res.region.values],
                                        dims="region", attrs={"units": "%",
                                                              "description": GTAP_INDEX_TEXT[key]})
            res["EV_decomposition"] = xr.DataArray(
                [[parts[r][c] for r in res.region.values] for c in COMPONENTS],
                dims=("component", "region"), coords={"component": list(COMPONENTS)},
                attrs={"description": "decomposition of EV_regional (Huff-Hertel style, "
                       "path-integrated); 'residual' is the path-integration error",
                       "units": res.EV.attrs.get("units", ""),
                       **{f"formula_{c}": COMPONENT_FORMULAS[c] for c in COMPONENTS}})
            if len(package_parts(scen)) > 1:
                split = split_package(model, scen)
                for name in ("EV_part_alone", "EV_part_subtotal"):
                    res[name] = split[name].assign_attrs(units=res.EV.attrs.get("units", ""))
        return res


def check_benchmark(model: CGEModel) -> Diagnostics:
    """The replication gate: at the benchmark point every equation holds within Ipopt's
    tolerance (relative residual ≤ ``IPOPT_OPTIONS["tol"]``, 1e-10) and the Walras slack is
    zero, so that Ipopt accepts the benchmark as it is (zero iterations). A residual
    evaluation of the compiled model only, no solve: 0.2 s at GTAP's 41 regions x 20
    commodities, where running Ipopt for its zero iterations took 2.3 s (its set-up on
    940,000 Jacobian entries). Raises :class:`BenchmarkReplicationError`."""
    start = time.perf_counter()
    model.reset()
    res, where = nlp_residual(model)
    if not res <= RESIDUAL_TOL:
        raise BenchmarkReplicationError(
            f"benchmark not replicated: residual {res:.3g} in {where} before solving")
    tol = float(IPOPT_OPTIONS["tol"])
    if not res <= tol:
        raise BenchmarkReplicationError(
            f"benchmark not replicated: residual {res:.3g} in {where} is above Ipopt's "
            f"tolerance {tol:g} (a solve from the benchmark would take iterations)")
    walras = model.m.walras.value
    if walras is None or not abs(walras) <= WALRAS_TOL:
        raise BenchmarkReplicationError(f"benchmark not replicated: Walras slack {walras}")
    return Diagnostics(status="optimal", termination="benchmark replicated (no solve needed)",
                       seconds=time.perf_counter() - start, max_residual=res,
                       worst_equation=where, walras_slack=float(walras))


def compare(results: list[xr.Dataset]) -> xr.Dataset:
    """Stack scenario results along a ``scenario`` dimension (a variable missing from some
    results, e.g. the EV decomposition under separate institutions, is NaN there).

    Every attribute of the results but ``scenario`` becomes a coordinate along ``scenario``
    (:func:`run_record`; prefixed ``run_`` should a name be taken by a variable): each scenario
    keeps its description, text and hash, closure and other model options, data set, code
    version and solver diagnostics in the stack. The stack itself has one attribute,
    ``data_set``."""
    names = [r.attrs.get("scenario", f"s{k}") for k, r in enumerate(results)]
    data_set = str(results[0].attrs.get("data_set", "")) if results else ""
    record = run_record(results)
    results = [r.drop_attrs(deep=False) for r in results]  # per-scenario attrs (solver, text)
    for name in {v for r in results for v in r.data_vars}:
        model_var = next(r[name] for r in results if name in r)
        for k, r in enumerate(results):
            if name not in r:
                results[k] = r.assign({name: xr.full_like(model_var, float("nan"))})
    out = xr.concat(results,
                    dim=xr.DataArray(names, dims="scenario", name="scenario"),
                    join="outer", combine_attrs="drop_conflicts")  # vars keep description, units
    out = out.assign_coords({(f"run_{k}" if k in out.variables else k): v
                             for k, v in record.items()})
    out.attrs["data_set"] = data_set
    return out


def run_record(results: list[xr.Dataset]) -> dict[str, xr.DataArray]:
    """The attributes of each result (what was run: ``cge.results.extract_results``) as
    variables along ``scenario``, named as the attributes, in the order they first appear; all
    but ``scenario``. Numbers stay numbers (NaN where a result lacks the attribute), anything
    else is text (``""`` where it is missing)."""
    keys = list(dict.fromkeys(k for r in results for k in r.attrs if k != "scenario"))
    out = {}
    for key in keys:
        vals = [r.attrs.get(key) for r in results]
        given = [v for v in vals if v is not None]
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in given):
            arr = (np.asarray(vals) if len(given) == len(vals)
                   else np.array([np.nan if v is None else float(v) for v in vals]))
        else:
            arr = np.array(["" if v is None else str(v) for v in vals], dtype=object)
        out[key] = xr.DataArray(arr, dims="scenario")
    return out


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write atomically (:func:`cge.atomic.atomic_file`): a failed write leaves any earlier file
    at ``path`` untouched; the file is readable by others (0644)."""
    with atomic_file(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return Path(path)
