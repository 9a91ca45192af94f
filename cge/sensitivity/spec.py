r"""Uncertainty specifications for systematic sensitivity analysis (GTAP-style SSA).

A *specification* (a TOML file, ``sensitivity/<name>.toml``) says which elasticities are
uncertain, how (a distribution around the central value) and how the draws are made (Monte
Carlo or Stroud's degree-3 quadrature). :func:`load_spec` / :func:`parse_spec` validate it
against the sets of a data set (:class:`~cge.scenario.Sets`) and return a frozen :class:`Spec`;
:func:`draws` turns it, with the central elasticities and model options, into the list of
:class:`Draw` that the sweep (:mod:`cge.sensitivity.sweep`) solves.

File format (docs/sensitivity.md, "The specification file")::

    name = "standard"                 # [a-z0-9_]+
    description = "..."
    method = "monte_carlo"            # or "quadrature"
    draws = 50                        # monte_carlo only (>= 2)
    seed = 20261202                   # monte_carlo only, integer >= 0

    [[parameter]]
    name = "esubm"                    # esubd | esubm | esubva | esub_cet | esub_final.<agent>
    commodities = "all"               # esubd/esubm/esubva only (default "all")
    distribution = "triangular"       # uniform | triangular | normal
    spread = 0.5                      # relative to the central value
    vary = "each"                     # "each" (default) | "together"
    correlation = 0.0                 # vary = "each" only, in [0, 1) (default 0)
    # min = 0.0, max = 10.0           # normal only: truncation bounds, absolute units

    [[parameter]]
    name = "esubd"
    follow = "esubm"                  # same multiplier as esubm, commodity by commodity

Semantics
---------
Every random variable is a **multiplier** ``m`` on the central value ``c``: the drawn value is
``c * m``. ``uniform``: ``m ~ U[1 - s, 1 + s]``; ``triangular``: symmetric triangle on
``[1 - s, 1 + s]`` with mode 1; both have mean exactly 1 and standard deviation ``s/sqrt(3)``
and ``s/sqrt(6)``. ``normal``: ``m ~ N(1, s^2)`` truncated to ``[min/c, max/c]`` (``min``
default 0, ``max`` default none), i.e. the value has standard deviation ``s*c`` before
truncation and the central value is its **location (mode) before truncation**; when the
truncation bites, the mean of ``m`` is not exactly 1 (it is slightly above 1 for the default
``min = 0``). A central value of 0 (Leontief) stays 0 in every draw.

``vary = "each"`` makes one random variable per commodity (labelled ``esubm[<commodity>]``),
``"together"`` one for all the table's commodities (labelled ``esubm[<commodities as
written>]``, e.g. ``esubm[all]``). ``correlation`` (``each`` only) is the equicorrelation of a
Gaussian copula among a table's variables; tables are independent of each other. A ``follow``
table has no distribution of its own: each of its commodities is multiplied by the multiplier
of the same commodity of the followed parameter (GTAP's "rule of two", ESUBD = ESUBM / 2, is
kept in every draw when ``esubd`` follows ``esubm``).

Monte Carlo draws use :func:`numpy.random.default_rng` seeded per table from
``SeedSequence(seed).spawn(...)``: the same file gives the same draws bit for bit, and a table's
draws depend only on the seed, its position and its own content (adding a table at the end
leaves the others' draws unchanged). Quadrature uses :func:`stroud3` (see there).

Errors
------
Any problem raises :class:`SpecError` (a ``ValueError``); ``str(err)`` is ``"<file>: <table
path>: <problem>"`` with 1-based table indices (``parameter[2].spread``), like
:class:`~cge.scenario.ScenarioError`.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from cge.inputs import InputFileError, fmt_list, show, suggest, type_name
from cge.options import FINAL_DEMAND_AGENTS, ModelOptions
from cge.paths import ROOT
from cge.scenario import ScenarioParser, Sets

__all__ = [
    "COMMODITY_PARAMETERS",
    "DISTRIBUTIONS",
    "METHODS",
    "SCALAR_PARAMETERS",
    "SPEC_DIR",
    "Draw",
    "Parameter",
    "Spec",
    "SpecError",
    "Variable",
    "draws",
    "load_spec",
    "multipliers",
    "parse_spec",
    "spec_path",
    "stroud3",
    "variables",
]

#: The library of specifications (``load_spec("standard")`` reads ``SPEC_DIR/standard.toml``).
SPEC_DIR = ROOT / "sensitivity"
#: Elasticities by commodity (``esubva`` by activity, named like the commodities).
COMMODITY_PARAMETERS: tuple[str, ...] = ("esubd", "esubm", "esubva")
#: One-number parameters of :class:`~cge.options.ModelOptions`.
SCALAR_PARAMETERS: tuple[str, ...] = ("esub_cet",
                                      *(f"esub_final.{a}" for a in FINAL_DEMAND_AGENTS))
PARAMETER_NAMES: tuple[str, ...] = (*COMMODITY_PARAMETERS, *SCALAR_PARAMETERS)
METHODS: tuple[str, ...] = ("monte_carlo", "quadrature")
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "triangular", "normal")
VARY: tuple[str, ...] = ("each", "together")
TOP_LEVEL_KEYS: tuple[str, ...] = ("name", "description", "method", "draws", "seed", "parameter")
PARAMETER_KEYS: tuple[str, ...] = ("name", "commodities", "distribution", "spread", "vary",
                                   "correlation", "min", "max", "follow")
FOLLOW_KEYS: tuple[str, ...] = ("name", "follow", "commodities")
#: Largest number of Monte Carlo draws (each draw is a recalibration and a solve per scenario).
MAX_DRAWS = 1_000_000
MAX_NAME_LENGTH = 100
_NAME_RE = re.compile(r"[a-z0-9_]+")


class SpecError(InputFileError):
    """Any problem with a specification (:class:`cge.inputs.InputFileError`): ``str(err)``
    is ``"<source>: <field>: <problem>"``, e.g. ``parameter[2].spread``."""


# --------------------------------------------------------------------------------------------
# Parsed specification
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parameter:
    """One ``[[parameter]]`` table, validated and resolved.

    ``commodities`` is the resolved tuple (data-set order) for ``esubd``/``esubm``/``esubva``
    and ``None`` for a scalar parameter; ``written`` is the ``commodities`` value as written
    (labels of ``vary = "together"``). A ``follow`` table has ``distribution = None``.
    """

    name: str
    where: str
    commodities: tuple[str, ...] | None
    written: str
    distribution: str | None
    spread: float | None
    vary: str
    correlation: float
    min: float | None
    max: float | None
    follow: str | None

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels of this table's random variables (none for a ``follow`` table)."""
        if self.follow is not None:
            return ()
        if self.commodities is None:
            return (self.name,)
        if self.vary == "together":
            return (f"{self.name}[{self.written}]",)
        return tuple(f"{self.name}[{c}]" for c in self.commodities)


@dataclass(frozen=True)
class Spec:
    """A validated specification. ``draws`` is the number of draws: as given for Monte Carlo,
    ``2 n`` (``n`` random variables) for quadrature; ``seed`` is ``None`` for quadrature.
    ``text`` is the file text and ``sha256`` its hash (provenance of a sweep)."""

    name: str
    description: str
    method: str
    draws: int
    seed: int | None
    parameters: tuple[Parameter, ...]
    source: str
    text: str = field(repr=False)
    sha256: str = ""

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of all random variables, in file order."""
        return tuple(label for p in self.parameters for label in p.labels)


class _SpecParser(ScenarioParser):
    """The scenario parser's checks and name resolution, raising :class:`SpecError`."""

    def fail(self, path: str | None, problem: str) -> SpecError:  # type: ignore[override]
        return SpecError(self.source, path, problem)

    def integer(self, value: Any, path: str, low: int, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected an integer, got {type_name(value)} {show(value)}")
        if value < low or (high is not None and value > high):
            bound = f">= {low}" + (f" and <= {high}" if high is not None else "")
            raise self.fail(path, f"must be an integer {bound}, got {value}")
        return value

    def choice(self, value: Any, path: str, allowed: tuple[str, ...], what: str) -> str:
        value = self.string(value, path)
        if value not in allowed:
            raise self.fail(path, f"unknown {what} {show(value)}{suggest(value, allowed)}; "
                                  f"allowed: {fmt_list(allowed)}")
        return value

    def parameter(self, path: str, table: dict[str, Any]) -> Parameter:
        if "name" not in table:
            raise self.fail(f"{path}.name", f"missing required field 'name' (one of "
                                            f"{fmt_list(PARAMETER_NAMES)})")
        name = self.choice(table["name"], f"{path}.name", PARAMETER_NAMES, "parameter")
        by_commodity = name in COMMODITY_PARAMETERS
        follow = None
        if "follow" in table:
            self.check_keys(table, path, FOLLOW_KEYS)
            follow = self.string(table["follow"], f"{path}.follow")
        else:
            self.check_keys(table, path, PARAMETER_KEYS)
        commodities: tuple[str, ...] | None = None
        written = ""
        if by_commodity:
            value = table.get("commodities", "all")
            commodities = self.resolve("commodities", value, f"{path}.commodities")
            written = value if isinstance(value, str) else ",".join(commodities)
        elif "commodities" in table:
            raise self.fail(f"{path}.commodities", f"{name} is one number, not by commodity: "
                                                   f"remove 'commodities'")
        if follow is not None:
            return Parameter(name, path, commodities, written, None, None, "each", 0.0, None,
                             None, follow)
        for key in ("distribution", "spread"):
            if key not in table:
                raise self.fail(f"{path}.{key}", f"missing required field {key!r} (or give "
                                                 f"'follow' = another parameter)")
        dist = self.choice(table["distribution"], f"{path}.distribution", DISTRIBUTIONS,
                           "distribution")
        spread = self.number(table["spread"], f"{path}.spread")
        if spread <= 0:
            raise self.fail(f"{path}.spread", f"must be > 0 (relative to the central value, "
                                              f"0.5 = +-50 %), got {spread:g}")
        if not by_commodity and ("vary" in table or "correlation" in table):
            key = "vary" if "vary" in table else "correlation"
            raise self.fail(f"{path}.{key}", f"{name} is one number: 'vary' and 'correlation' "
                                             f"apply to by-commodity parameters only")
        vary = self.choice(table.get("vary", "each"), f"{path}.vary", VARY, "vary")
        correlation = 0.0
        if "correlation" in table:
            if vary != "each":
                raise self.fail(f"{path}.correlation", "correlation applies to vary = 'each' "
                                                       "only (vary = 'together' is one variable)")
            correlation = self.number(table["correlation"], f"{path}.correlation")
            if not 0 <= correlation < 1:
                raise self.fail(f"{path}.correlation", f"must be in [0, 1), got "
                                                       f"{correlation:g}")
        low: float | None = None
        high: float | None = None
        if dist == "normal":
            low = self.number(table["min"], f"{path}.min") if "min" in table else 0.0
            high = self.number(table["max"], f"{path}.max") if "max" in table else math.inf
            floor = 0.0
            if low < floor:
                raise self.fail(f"{path}.min", f"negative bound: min = {low:g} allows values "
                                               f"below 0, outside the valid range of {name} "
                                               f"(>= 0)")
            if high <= low:
                raise self.fail(f"{path}.max", f"max = {high:g} must be above min = {low:g}")
        else:
            for key in ("min", "max"):
                if key in table:
                    raise self.fail(f"{path}.{key}", f"{key!r} applies to the normal "
                                                     f"distribution only ({dist} has the "
                                                     f"support [c(1-s), c(1+s)])")
            if spread > 1:
                raise self.fail(f"{path}.spread", f"negative bound: spread {spread:g} gives the "
                                                  f"support [c(1-s), c(1+s)] = "
                                                  f"[{1 - spread:g}c, {1 + spread:g}c], "
                                                  f"below 0; use spread <= 1")
            if spread == 1 and name == "esub_cet":
                raise self.fail(f"{path}.spread", "spread 1 reaches 0, but esub_cet must be > 0; "
                                                  "use spread < 1")
        return Parameter(name, path, commodities, written, dist, spread, vary, correlation, low,
                         high, None)

    def check_parameters(self, params: list[Parameter]) -> None:
        """Overlaps, duplicates and ``follow`` references across tables."""
        covered: dict[str, dict[str | None, str]] = {}
        for p in params:
            seen = covered.setdefault(p.name, {})
            for c in (p.commodities if p.commodities is not None else (None,)):
                if c in seen:
                    what = f"commodity {c!r} of {p.name}" if c is not None else p.name
                    raise self.fail(f"{p.where}.commodities" if c is not None
                                    else f"{p.where}.name",
                                    f"{what} is already in {seen[c]}: a value is specified "
                                    f"in one table only")
                seen[c] = p.where
        followers = {p.name for p in params if p.follow is not None}
        for p in params:
            if p.follow is None:
                continue
            path = f"{p.where}.follow"
            if p.follow == p.name:
                raise self.fail(path, f"{p.name} cannot follow itself")
            leaders = [q for q in params if q.name == p.follow and q.follow is None]
            if p.follow in followers:
                raise self.fail(path, f"{p.follow} itself follows another parameter: chains "
                                      f"are not allowed; follow the leader directly")
            if not leaders:
                known = sorted({q.name for q in params if q.follow is None})
                raise self.fail(path, f"{show(p.follow)} is not specified by a table with a "
                                      f"distribution in this file; specified: "
                                      f"{fmt_list(known) or 'none'}")
            if (p.commodities is None) != (p.follow in SCALAR_PARAMETERS):
                raise self.fail(path, f"{p.name} and {p.follow} are not alike: a by-commodity "
                                      f"parameter follows a by-commodity one, a scalar a scalar")
            if p.commodities is not None:
                varied = {c for q in leaders for c in (q.commodities or ())}
                missing = [c for c in p.commodities if c not in varied]
                if missing:
                    raise self.fail(f"{p.where}.commodities",
                                    f"{p.follow} is not varied for {fmt_list(missing)}, so "
                                    f"{p.name} cannot follow it there")

    def parse(self, text: str) -> Spec:  # type: ignore[override]
        data = self.load_toml(text)
        self.check_keys(data, "", TOP_LEVEL_KEYS)
        if "name" not in data:
            raise self.fail("name", "missing required field 'name' ([a-z0-9_]+)")
        name = self.string(data["name"], "name")
        if len(name) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(name):
            raise self.fail("name", f"invalid name {show(name)}: use only lowercase letters, "
                                    f"digits and '_' ([a-z0-9_]+), at most {MAX_NAME_LENGTH}")
        description = self.string(data.get("description", ""), "description")
        if "method" not in data:
            raise self.fail("method", f"missing required field 'method' ({fmt_list(METHODS)})")
        method = self.choice(data["method"], "method", METHODS, "method")
        seed: int | None = None
        n_draws = 0
        if method == "monte_carlo":
            for key in ("draws", "seed"):
                if key not in data:
                    raise self.fail(key, f"missing required field {key!r} (monte_carlo needs "
                                         f"the number of draws and a seed)")
            n_draws = self.integer(data["draws"], "draws", 2, MAX_DRAWS)
            seed = self.integer(data["seed"], "seed", 0)
        else:
            for key in ("draws", "seed"):
                if key in data:
                    raise self.fail(key, f"a quadrature rule fixes its points (2 per random "
                                         f"variable, no randomness): remove {key!r}")
        if "parameter" not in data:
            raise self.fail("parameter", "no [[parameter]] table: specify at least one "
                                         "uncertain parameter")
        params = [self.parameter(path, dict(table))
                  for path, table in self.array(data, "parameter")]
        if not params:
            raise self.fail("parameter", "no [[parameter]] table: specify at least one "
                                         "uncertain parameter")
        self.check_parameters(params)
        n_vars = sum(len(p.labels) for p in params)
        if method == "quadrature":
            n_draws = 2 * n_vars
        return Spec(name=name, description=description, method=method, draws=n_draws,
                    seed=seed, parameters=tuple(params), source=self.source, text=text,
                    sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


def parse_spec(text: str, sets: Sets, source: str = "<string>") -> Spec:
    """Parse and validate specification TOML ``text`` against the sets of a data set.

    ``source`` names the text in messages. Raises :class:`SpecError` for any invalid input."""
    source = str(source)
    if not isinstance(text, str):
        raise SpecError(source, None, f"expected TOML text, got {type_name(text)}")
    return _SpecParser(sets, source).parse(text.removeprefix("\ufeff"))


def spec_path(source: str | Path) -> Path:
    """The file of a path or a library name (``"standard"`` -> ``sensitivity/standard.toml``)."""
    path = Path(source)
    if path.exists():
        return path
    name = str(source)
    if "/" not in name and not name.endswith(".toml") and (SPEC_DIR / f"{name}.toml").is_file():
        return SPEC_DIR / f"{name}.toml"
    known = sorted(p.stem for p in SPEC_DIR.glob("*.toml")) if SPEC_DIR.is_dir() else []
    raise SpecError(name[:80], None, f"no such specification file or library name (library "
                                     f"{SPEC_DIR}: {fmt_list(known) or 'empty'})")


def load_spec(path: str | Path, sets: Sets) -> Spec:
    """Read a specification file (UTF-8) or a library name and validate it against ``sets``."""
    file = spec_path(path)
    source = str(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise SpecError(source, None, f"cannot read specification file: {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise SpecError(source, None, f"not UTF-8 text (line {line}): {exc}") from None
    return parse_spec(text, sets, source=source)


# --------------------------------------------------------------------------------------------
# Random variables
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variable:
    """One random variable: a multiplier on the central value of ``targets``.

    ``label`` (``"esubm[food]"``, ``"esubva[all]"``, ``"esub_cet"``); ``parameter`` and
    ``where`` (its table); ``targets`` the commodities it multiplies (``()`` for a scalar);
    ``central`` their central values; ``dist`` the multiplier's distribution (a frozen
    ``scipy.stats`` distribution); ``mean`` and ``sd`` its moments, so that the standardised
    form is ``z = (m - mean) / sd``; ``block`` the index of its correlation block and
    ``correlation`` the copula equicorrelation within the block.
    """

    label: str
    parameter: str
    where: str
    targets: tuple[str, ...]
    central: tuple[float, ...]
    distribution: str
    spread: float
    mean: float
    sd: float
    block: int
    correlation: float
    dist: Any = field(compare=False, repr=False)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The multiplier at probabilities ``u`` (inverse CDF)."""
        return np.asarray(self.dist.ppf(u), dtype=float)


def _central(central: xr.Dataset) -> xr.Dataset:
    """``esubd``/``esubm``/``esubva`` on ``commodity`` from an elasticity Dataset
    (:func:`cge.calibrate.load_elasticities`) or calibrated parameters (``esubva`` on
    ``activity``)."""
    missing = [k for k in COMMODITY_PARAMETERS if k not in central]
    if missing:
        raise ValueError(f"central elasticities lack {missing}: pass the Dataset of "
                         f"cge.calibrate.load_elasticities or the calibrated parameters")
    out = xr.Dataset(coords={"commodity": central["esubd"].coords["commodity"].values})
    for k in COMMODITY_PARAMETERS:
        da = central[k]
        if "activity" in da.dims:
            da = da.rename(activity="commodity")
        out[k] = ("commodity", da.sel(commodity=out.commodity.values).values.astype(float))
    out.attrs["elasticity_source"] = str(central.attrs.get("elasticity_source", ""))
    return out


def _scalar_central(name: str, options: ModelOptions) -> float:
    if name == "esub_cet":
        return float(options.esub_cet)
    return float(options.final_sigmas()[name.split(".", 1)[1]])


def _multiplier_dist(p: Parameter, central: tuple[float, ...], source: str
                     ) -> tuple[Any, float, float]:
    from scipy import stats

    s = float(p.spread or 0.0)
    if p.distribution == "uniform":
        return stats.uniform(loc=1 - s, scale=2 * s), 1.0, s / math.sqrt(3)
    if p.distribution == "triangular":
        return stats.triang(0.5, loc=1 - s, scale=2 * s), 1.0, s / math.sqrt(6)
    low = float(p.min if p.min is not None else 0.0)
    high = float(p.max if p.max is not None else math.inf)
    positive = [c for c in central if c > 0]
    for c in positive:
        if not low <= c <= high:
            key = "min" if c < low else "max"
            raise SpecError(source, f"{p.where}.{key}", f"the central value {c:g} of {p.name} "
                                                        f"lies outside [min, max] = "
                                                        f"[{low:g}, {high:g}]")
    lo_m = max((low / c for c in positive), default=0.0)
    hi_m = min((high / c for c in positive), default=math.inf)
    dist = stats.truncnorm((lo_m - 1) / s, (hi_m - 1) / s, loc=1.0, scale=s)
    return dist, float(dist.mean()), float(dist.std())


def variables(spec: Spec, central: xr.Dataset, options: ModelOptions) -> list[Variable]:
    """The random variables of ``spec`` for the central elasticities and options, in file
    order (one per commodity of a ``vary = "each"`` table, one per other table; ``follow``
    tables have none). A scalar parameter whose central value is 0, or ``esub_cet`` without
    a CET (``transformation = "none"``), is a :class:`SpecError` (nothing to vary)."""
    central = _central(central)
    known = {str(c) for c in central.commodity.values}
    out: list[Variable] = []
    for block, p in enumerate(spec.parameters):
        if p.follow is not None:
            continue
        if p.commodities is None:
            if p.name == "esub_cet" and options.transformation != "cet":
                raise SpecError(spec.source, f"{p.where}.name",
                                "esub_cet is drawn, but the model options have "
                                "transformation = 'none' (no CET): it would change nothing")
            c0 = _scalar_central(p.name, options)
            if c0 == 0:
                raise SpecError(spec.source, f"{p.where}.name",
                                f"the central {p.name} is 0 (Leontief): a relative spread "
                                f"cannot vary it; set a positive value in the model options")
            groups: list[tuple[str, tuple[str, ...], tuple[float, ...]]] = [
                (p.name, (), (c0,))]
        else:
            lacking = [c for c in p.commodities if c not in known]
            if lacking:
                raise SpecError(spec.source, f"{p.where}.commodities",
                                f"the central elasticities have no {fmt_list(lacking)} "
                                f"(another data set?)")
            values = central[p.name].sel(commodity=list(p.commodities)).values
            cvals = tuple(float(v) for v in values)
            if p.vary == "together":
                groups = [(p.labels[0], p.commodities, cvals)]
            else:
                groups = [(label, (c,), (v,))
                          for label, c, v in zip(p.labels, p.commodities, cvals, strict=True)]
        for label, targets, cvals in groups:
            dist, mean, sd = _multiplier_dist(p, cvals, spec.source)
            out.append(Variable(label, p.name, p.where, targets, cvals, str(p.distribution),
                                float(p.spread or 0.0), mean, sd, block, p.correlation, dist))
    return out


# --------------------------------------------------------------------------------------------
# Quadrature
# --------------------------------------------------------------------------------------------
def stroud3(n: int) -> np.ndarray:
    r"""Stroud's degree-3 rule for ``n`` variables: ``(2n, n)`` points, equal weights ``1/(2n)``.

    Point ``k = 1..2n`` has components ``x_{2r-1} = sqrt(2) cos((2r-1) k pi / n)``,
    ``x_{2r} = sqrt(2) sin((2r-1) k pi / n)`` for ``r = 1..floor(n/2)`` and, for odd ``n``,
    ``x_n = (-1)^k``. The points have mean 0 and identity second moments, and the set is
    symmetric (point ``k + n`` is minus point ``k``), so all odd moments vanish: the rule
    integrates exactly every polynomial of degree <= 3 under any distribution of independent,
    symmetric, unit-variance variables (not degree 4).

    References: A. H. Stroud (1957), "Remarks on the disposition of points in numerical
    integration formulas", *Math. Tables Aids Comput.* 11; E. A. DeVuyst & P. V. Preckel
    (1997), "Sensitivity analysis revisited: a quadrature-based approach", *J. Policy
    Modeling* 19(2); C. Arndt (1996), "An introduction to systematic sensitivity analysis via
    Gaussian quadrature", GTAP Technical Paper 2; C. Arndt & K. R. Pearson (1998), "How to
    carry out systematic sensitivity analysis via Gaussian quadrature and GEMPACK", GTAP
    Technical Paper 3 (the method of GTAP's SSA tool, used by Liu & Arndt).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"stroud3 needs n >= 1 variables, got {n!r}")
    n = int(n)
    k = np.arange(1, 2 * n + 1, dtype=float)
    pts = np.empty((2 * n, n))
    for r in range(1, n // 2 + 1):
        angle = (2 * r - 1) * k * math.pi / n
        pts[:, 2 * r - 2] = math.sqrt(2) * np.cos(angle)
        pts[:, 2 * r - 1] = math.sqrt(2) * np.sin(angle)
    if n % 2:
        pts[:, n - 1] = np.where(np.arange(1, 2 * n + 1) % 2 == 0, 1.0, -1.0)
    return pts


def _copula_pearson(a: Variable, b: Variable, rho: float, nodes: int = 80) -> float:
    """Pearson correlation of multipliers ``a`` and ``b`` joined by a Gaussian copula with
    parameter ``rho`` (Gauss-Hermite product rule)."""
    from scipy.special import ndtr

    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    eps = 1e-15
    z1 = x[:, None]
    z2 = rho * x[:, None] + math.sqrt(1 - rho * rho) * x[None, :]
    ga = a.ppf(np.clip(ndtr(z1), eps, 1 - eps))
    gb = b.ppf(np.clip(ndtr(z2), eps, 1 - eps))
    cov = float(np.sum(w[:, None] * w[None, :] * (ga - a.mean) * (gb - b.mean)))
    return cov / (a.sd * b.sd)


def _quadrature_correlation(vs: list[Variable]) -> np.ndarray:
    """Pearson correlation matrix of the multipliers implied by the Monte Carlo copula."""
    n = len(vs)
    corr = np.eye(n)
    done: dict[tuple, float] = {}     # variables of one table mostly share their marginal
    for i in range(n):
        for j in range(i + 1, n):
            if vs[i].block == vs[j].block and vs[i].correlation > 0:
                key = (vs[i].block, vs[i].mean, vs[i].sd, vs[j].mean, vs[j].sd)
                if key not in done:
                    done[key] = _copula_pearson(vs[i], vs[j], vs[i].correlation)
                corr[i, j] = corr[j, i] = done[key]
    return corr


# --------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Draw:
    """One draw: ``index`` 0..n-1, ``weight`` (1/n), the draw's ``elasticities`` (``esubd``,
    ``esubm``, ``esubva`` on ``commodity``, as :func:`cge.calibrate.load_elasticities`
    returns them; attrs ``elasticity_source = "<spec> draw <index>"``), its ``options`` (the
    central options with ``esub_cet`` / ``esub_final`` replaced where drawn) and the
    ``multipliers`` of every random variable (label -> float)."""

    index: int
    weight: float
    elasticities: xr.Dataset = field(repr=False)
    options: ModelOptions
    multipliers: dict[str, float]


def _monte_carlo(spec: Spec, vs: list[Variable]) -> np.ndarray:
    """(draws, variables) multipliers: per table, standard normals from its own stream, the
    Gaussian copula z_j = sqrt(rho) w + sqrt(1 - rho) e_j, then the marginal's inverse CDF."""
    from scipy.special import ndtr

    out = np.empty((spec.draws, len(vs)))
    streams = np.random.SeedSequence(spec.seed).spawn(len(spec.parameters))
    for block in sorted({v.block for v in vs}):
        cols = [j for j, v in enumerate(vs) if v.block == block]
        rng = np.random.default_rng(streams[block])
        p = spec.parameters[block]
        if p.commodities is not None and p.vary == "each":
            e = rng.standard_normal((spec.draws, 1 + len(cols)))
            rho = p.correlation
            z = math.sqrt(rho) * e[:, :1] + math.sqrt(1 - rho) * e[:, 1:]
        else:
            z = rng.standard_normal((spec.draws, 1))
        u = np.clip(ndtr(z), 1e-16, 1 - 1e-16)
        for i, j in enumerate(cols):
            out[:, j] = vs[j].ppf(u[:, i])
    return out


def _quadrature(vs: list[Variable]) -> np.ndarray:
    """(2n, n) multipliers: Stroud points, correlated by the Cholesky factor of the
    multipliers' correlation matrix, scaled to each multiplier's mean and sd."""
    z = stroud3(len(vs))
    corr = _quadrature_correlation(vs)
    if not np.allclose(corr, np.eye(len(vs))):
        z = z @ np.linalg.cholesky(corr).T
    mean = np.array([v.mean for v in vs])
    sd = np.array([v.sd for v in vs])
    return mean + sd * z


def multipliers(spec: Spec, central: xr.Dataset, options: ModelOptions
                ) -> tuple[list[Variable], np.ndarray]:
    """The random variables and their ``(draws, variables)`` matrix of multipliers, as
    :func:`draws` uses them (without building a Dataset per draw, for large samples). A
    multiplier that makes a value leave its parameter's valid range (< 0, or <= 0 for
    ``esub_cet``, or not finite) is a :class:`SpecError` naming the table; it can happen only
    at quadrature points (with correlation they may leave the support) and for a normal
    whose ``min`` is 0 at the bound itself."""
    vs = variables(spec, central, options)
    mult = _monte_carlo(spec, vs) if spec.method == "monte_carlo" else _quadrature(vs)
    strict = {"esub_cet"} | {p.follow for p in spec.parameters if p.name == "esub_cet"}
    for j, v in enumerate(vs):
        col = mult[:, j]
        bad = ~np.isfinite(col) | ((col <= 0) if v.parameter in strict else (col < 0))
        if bad.any():
            k = int(np.argmax(bad))
            bound = "> 0" if v.parameter in strict else ">= 0"
            raise SpecError(spec.source, f"{v.where}.spread",
                            f"{spec.method} draw {k} gives the multiplier {v.label} = "
                            f"{col[k]:g}, a value outside the valid range of {v.parameter} "
                            f"({bound}, finite): reduce the spread or the correlation")
    return vs, mult


def draws(spec: Spec, central: xr.Dataset, options: ModelOptions) -> list[Draw]:
    r"""The draws of ``spec`` around the ``central`` elasticities and ``options``.

    ``central``: the Dataset of :func:`cge.calibrate.load_elasticities` (or calibrated
    parameters). Monte Carlo: ``spec.draws`` draws of equal weight, reproducible bit for bit
    from ``spec.seed`` (module docstring). Quadrature: :func:`stroud3` on the standardised
    variables, ``m_j = mean_j + sd_j z_j`` with ``z = L x``, ``L`` the Cholesky factor of the
    multipliers' correlation matrix; that matrix is the Pearson correlation implied by the
    Gaussian copula the Monte Carlo draws use (for uniform marginals ``(6/pi) asin(rho/2)``),
    so both methods target the same means and covariances. Independent symmetric multipliers
    (uniform, triangular, a normal truncated far away or symmetrically): the rule integrates
    every polynomial of degree <= 3 in the multipliers exactly. With correlation the points
    ``L x`` keep the mean and the covariance exactly, and degree 3 stays exact for
    polynomials in variables that are a linear map ``L x`` of independent symmetric ones
    (e.g. jointly normal multipliers); for a Gaussian copula with other marginals only degree
    2 (means, variances, covariances) is exact. A normal truncated asymmetrically (``min``
    near the centre) has a third moment the rule does not see: exact to degree 2. References:
    DeVuyst & Preckel (1997); Arndt (1996); Arndt & Pearson (1998), see :func:`stroud3`.

    A drawn value outside the valid range of its parameter (``esub_cet > 0``, the others
    ``>= 0``, all finite) is a :class:`SpecError` naming the table (:func:`multipliers`).
    """
    c0 = _central(central)
    vs, mult = multipliers(spec, c0, options)
    n = mult.shape[0]
    # (parameter, commodity or None) -> variable column
    column: dict[tuple[str, str | None], int] = {}
    for j, v in enumerate(vs):
        for c in (v.targets or (None,)):
            column[(v.parameter, c)] = j
    for p in spec.parameters:
        if p.follow is not None:
            for c in (p.commodities or (None,)):
                column[(p.name, c)] = column[(p.follow, c)]
    commodities = [str(c) for c in c0.commodity.values]
    pos = {c: i for i, c in enumerate(commodities)}
    out: list[Draw] = []
    for k in range(n):
        arrays = {name: c0[name].values.copy() for name in COMMODITY_PARAMETERS}
        scalars: dict[str, float] = {}
        for (name, c), j in column.items():
            if c is None:
                scalars[name] = _scalar_central(name, options) * float(mult[k, j])
            else:
                arrays[name][pos[c]] = arrays[name][pos[c]] * float(mult[k, j])
        ds = xr.Dataset({name: ("commodity", arrays[name]) for name in COMMODITY_PARAMETERS},
                        coords={"commodity": commodities})
        ds.attrs["elasticity_source"] = f"{spec.name} draw {k}"
        ds.attrs["central_elasticity_source"] = c0.attrs.get("elasticity_source", "")
        opts = options
        if "esub_cet" in scalars:
            opts = replace(opts, esub_cet=scalars["esub_cet"])
        finals = {name.split(".", 1)[1]: v for name, v in scalars.items()
                  if name.startswith("esub_final.")}
        if finals:
            opts = replace(opts, esub_final={**opts.esub_final, **finals})
        out.append(Draw(k, 1.0 / n, ds, opts,
                        {v.label: float(mult[k, j]) for j, v in enumerate(vs)}))
    return out
