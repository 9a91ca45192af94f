r"""The deal frontier: the Pareto frontier of two regions' welfare over instruments they bargain on.

Two regions a and b (e.g. the USA and Japan) can agree on a package of instruments — a's
tariffs on b's goods by commodity group, b's tariffs on a's goods, a government transfer from
b to a (host-nation support, cost-sharing, either sign), ... — every other instrument at the
benchmark. The *deal frontier* is the set of packages in which neither can gain without the
other losing: the upper-right boundary of the set of attainable (EV_a, EV_b). It is traced by
the **epsilon-constraint method**, one nonlinear programme per level :math:`L_k` of b's EV:

.. math::
    \max_{x,\,z}\; EV_a(x) \quad\text{s.t.}\quad F(x, z) = 0,\qquad
    EV_b(x) \ge L_k,\qquad \underline z_j \le z_j \le \overline z_j,

where :math:`F = 0` are the model's equilibrium equations (square in the free variables x for
given instruments), :math:`z_j` the instruments (linked to the model's fixed tariff cells and
transfer variables by linear equations, as in :func:`cge.strategy.optimal_tariff`) and EV the
headline equivalent variation of :mod:`cge.welfare` (objective and constraint divided by their
benchmark expenditures, so both are of order one).

Two ways to solve each programme (``method``). By default (``"reduced"``) in the space of the
instruments alone: the equilibrium is a function x(z) of the instruments, solved at every trial
point by Newton warm-started from the last (:class:`cge.implicit.EquilibriumMap`), and the EVs'
gradients come from the implicit-function theorem (one adjoint solve each); SLSQP (scipy)
solves the small programme in z. Measured on the default data, a 25-level frontier over four
instruments: 7 SLSQP iterations and 0.18 s per interior level, 9.7 s in all with the Nash
threat point and the bargaining refinement. ``"full"``: one NLP over every model variable, the
equilibrium rows the model's (AMPL), the linking rows and the one *inequality* row on b's EV
added in the Ipopt callbacks (:class:`_FrontierCallbacks`); gradients by reverse-mode
differentiation, Hessian L-BFGS; 30-150 Ipopt iterations and 0.7-3 s per level. Both reach the
same points (tested); a level the reduced space cannot solve falls back to the full space.
Unlike a weighted sum :math:`\max w EV_a + (1-w) EV_b`, which finds only the convex
part of the frontier, the constraint method reaches every point of the frontier, convex or
not — provided Ipopt finds the global maximum at each level (it is a local method: each level
is warm-started from the previous one, which follows one branch of the frontier
continuously).

Grid: the two ends are the unconstrained maxima of EV_a (where b's EV is lowest on the
frontier, :math:`L_{lo}`) and of EV_b (:math:`L_{hi}`); ``levels=n`` spaces n levels evenly
between them (the ends are those two optima), a list takes the levels given (a level above
:math:`L_{hi}` is infeasible, one below :math:`L_{lo}` does not bind: the point is a's optimum).
Every point is an equilibrium: the instruments are fixed at the NLP's values and the model is
re-solved by an ordinary square solve (residual <= 1e-8), whose EVs are reported.

With a transfer among the instruments utility is (almost) transferable: moving a dollar from
b to a moves EV about one for one, so the frontier is close to a straight line of slope -1
whose position is set by the most *efficient* tariff package (the one that maximises joint
welfare); the tariffs along the frontier stay near that package and the transfer does the
distribution, until the transfer hits a bound and the tariffs take over.

Marked points (:class:`FrontierResult.marks`): the status quo (the benchmark, EV 0 for both by
construction), a given scenario (e.g. the announced tariffs ``us_jpn_reciprocal_autos``), the
threat point (by default the Nash tariff war between a and b, :func:`cge.strategy.nash`) and
the **Nash bargaining solution**: the frontier point that maximises
:math:`(EV_a - EV_a^{T})(EV_b - EV_b^{T})` over the points that leave both better off than the
threat point T, refined between the grid's neighbours by a bounded scalar search over the
level (each trial one NLP). EV is always measured against the benchmark (data unit, e.g. US$
million per year at benchmark prices).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from pyomo.core.expr.calculus.derivatives import Modes, differentiate
from pyomo.core.expr.visitor import identify_variables
from pyomo.environ import value

from cge.implicit import EquilibriumMap
from cge.model import CGEModel
from cge.scenario import Scenario
from cge.shocks import MAX_RATE
from cge.solve import SolveError, model_nlp, nlp_residual, solve
from cge.strategy import (
    StrategyError,
    TariffCallbacks,
    domain_errors,
    headline_ev,
    nash,
    purchases_var,
    resolve_names,
    run_ipopt,
    session_of,
    single_region,
    target_model,
    tariff_cells,
    two_regions,
    welfare_objective,
)

if TYPE_CHECKING:
    from cge.api import Session

__all__ = [
    "FrontierResult",
    "Instrument",
    "default_instruments",
    "frontier",
    "parse_instrument",
    "plot_frontier",
    "purchases",
    "tariff",
    "transfer",
]

#: Ipopt's "no bound" (``nlp_upper_bound_inf`` is 1e19).
_INF = 1e20
#: The bargaining point's refinement: tolerance on the level (relative to the bracket of the
#: best grid point's neighbours) and trials at most (each one NLP).
REFINE_XTOL = 1e-4
REFINE_MAX = 20
#: The reduced-space NLPs (SLSQP): tolerance on the objective (EV / benchmark expenditure) at
#: the frontier's ends (a region's unconstrained optimum, where EV is flat and the instruments
#: are found to about its square root) and at a binding level (where the objective changes to
#: first order along the frontier; a tighter tolerance is below the noise of the equilibrium
#: solve, 1e-11, and SLSQP then only stalls: measured 35-45 iterations instead of 7 per point),
#: and iterations at most; options with these keys go to SLSQP, all others to Ipopt.
REDUCED_FTOL_END = 1e-12
REDUCED_FTOL = 1e-10
REDUCED_MAXITER = 200
_REDUCED_KEYS = ("ftol", "maxiter")
#: A level is feasible when b's EV reaches it within this (relative to max(1, |level|)).
FEASIBILITY_RTOL = 1e-6


# --------------------------------------------------------------------------------------------
# Instruments
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instrument:
    """One instrument of the deal.

    ``kind="tariff"``: the import tariff of ``importer`` on ``commodities`` (a name, a group
    of the data set such as ``"goods"`` or ``"autos"``, a list) from ``exporter``; with
    ``mode="set"`` the instrument is one uniform rate on all those cells, with ``"add"`` the
    percentage points added to each cell's benchmark rate (fractions: 0.1 is 10 % or +10 pp).
    ``kind="transfer"``: the transfer from ``payer`` to ``recipient`` on top of the
    benchmark's (``between="governments"``: ``gtrf``, host-nation support, cost-sharing;
    ``"households"``: ``trf``), data unit per year, either sign (negative: the recipient
    pays). ``kind="purchases"``: direct purchases by ``buyer``'s government from ``seller``'s
    producers on top of the benchmark's (``dpur``: Foreign Military Sales, stationing costs;
    data unit per year, the goods of the buyer's defense bundle, financed by the buyer's
    financing rule like any extra outlay); they buy security the model does not value, so
    in the buyer's EV they are a cost, in the seller's a demand for its goods.
    ``bounds``: the instrument's range (None: tariffs (0, 1) with ``"set"``, (0, 1) pp with
    ``"add"``; transfers +- 2 % of the payer's benchmark income; purchases from their
    benchmark level down to none, up to 2 % of the buyer's benchmark income)."""

    kind: str
    importer: str = ""
    exporter: str = ""
    commodities: str | tuple[str, ...] = "goods"
    mode: str = "set"
    payer: str = ""
    recipient: str = ""
    between: str = "governments"
    buyer: str = ""
    seller: str = ""
    bounds: tuple[float, float] | None = None
    name: str = ""

    @property
    def label(self) -> str:
        """A short name (the column of the table): ``tariff_USA_on_JPN_goods``,
        ``transfer_JPN_to_USA``, ``purchases_JPN_from_USA``."""
        if self.name:
            return self.name
        if self.kind == "tariff":
            what = (self.commodities if isinstance(self.commodities, str)
                    else "+".join(self.commodities))
            return f"tariff_{self.importer}_on_{self.exporter}_{what}"
        if self.kind == "purchases":
            return f"purchases_{self.buyer}_from_{self.seller}"
        return f"transfer_{self.payer}_to_{self.recipient}"


def tariff(importer: str, exporter: str, commodities: str | Sequence[str] = "goods",
           bounds: tuple[float, float] | None = None, *, mode: str = "set",
           name: str = "") -> Instrument:
    """A tariff instrument (see :class:`Instrument`)."""
    comm = commodities if isinstance(commodities, str) else tuple(commodities)
    return Instrument("tariff", importer=importer, exporter=exporter, commodities=comm,
                      mode=mode, bounds=None if bounds is None else tuple(bounds), name=name)


def transfer(payer: str, recipient: str, bounds: tuple[float, float] | None = None, *,
             between: str = "governments", name: str = "") -> Instrument:
    """A transfer instrument (see :class:`Instrument`)."""
    return Instrument("transfer", payer=payer, recipient=recipient, between=between,
                      bounds=None if bounds is None else tuple(bounds), name=name)


def purchases(buyer: str, seller: str, bounds: tuple[float, float] | None = None, *,
              name: str = "") -> Instrument:
    """A direct-purchases instrument (see :class:`Instrument`): ``buyer``'s government buys
    from ``seller``'s producers."""
    return Instrument("purchases", buyer=buyer, seller=seller,
                      bounds=None if bounds is None else tuple(bounds), name=name)


def default_instruments(a: str, b: str, commodities: str = "goods") -> list[Instrument]:
    """a's tariff on b's ``commodities``, b's tariff on a's, and b's transfer to a."""
    return [tariff(a, b, commodities), tariff(b, a, commodities), transfer(b, a)]


def parse_instrument(text: str) -> Instrument:
    """An instrument from the command line's text: ``tariff:IMPORTER:EXPORTER[:COMMODITIES
    [:LO:HI[:MODE]]]`` (rates as fractions; COMMODITIES a name or group, several joined by
    ``+``), ``transfer:PAYER:RECIPIENT[:LO:HI]`` or ``purchases:BUYER:SELLER[:LO:HI]``
    (data unit). Raises
    :class:`~cge.strategy.StrategyError` on a malformed text."""
    parts = text.split(":")
    usage = ("an instrument is tariff:IMPORTER:EXPORTER[:COMMODITIES[:LO:HI[:set|add]]], "
             "transfer:PAYER:RECIPIENT[:LO:HI] or purchases:BUYER:SELLER[:LO:HI]")

    def bounds(lo: str, hi: str) -> tuple[float, float]:
        try:
            return float(lo), float(hi)
        except ValueError:
            raise StrategyError(f"bad bounds {lo!r}:{hi!r} in instrument {text!r}; "
                                f"{usage}") from None

    kind = parts[0]
    if kind == "tariff" and len(parts) in (3, 4, 6, 7):
        comm: str | tuple[str, ...] = parts[3] if len(parts) > 3 else "goods"
        if "+" in comm:
            comm = tuple(comm.split("+"))
        bnd = bounds(parts[4], parts[5]) if len(parts) >= 6 else None
        return tariff(parts[1], parts[2], comm, bnd, mode=parts[6] if len(parts) == 7
                      else "set")
    if kind == "transfer" and len(parts) in (3, 5):
        return transfer(parts[1], parts[2], bounds(parts[3], parts[4]) if len(parts) == 5
                        else None)
    if kind == "purchases" and len(parts) in (3, 5):
        return purchases(parts[1], parts[2], bounds(parts[3], parts[4]) if len(parts) == 5
                         else None)
    raise StrategyError(f"cannot read instrument {text!r}; {usage}")


@dataclass
class _Resolved:
    """An instrument on the model: the variables it sets (``var_i = z + const_i``), its
    bounds and its status-quo value (``z0``: the benchmark's)."""

    spec: Instrument
    label: str
    vars: list
    const: list[float]
    lo: float
    hi: float
    z0: float
    describe: str


def _resolve_instruments(model: CGEModel, instruments: Sequence[Instrument]) -> list[_Resolved]:
    out: list[_Resolved] = []
    seen: dict[int, str] = {}
    index = {id(v): k for k, v in enumerate(model.all_vars)}
    unit = model.params.attrs.get("unit", "US$ million")
    for k, ins in enumerate(instruments):
        if not isinstance(ins, Instrument):
            raise StrategyError(f"instruments[{k}] must be an Instrument (frontier.tariff(...)"
                                f" or frontier.transfer(...)), got {type(ins).__name__}")
        if ins.kind == "tariff":
            vars_, const, lo, hi, z0, describe = _tariff(model, ins, k, index)
        elif ins.kind == "transfer":
            vars_, const, lo, hi, z0, describe = _transfer(model, ins, k, index, unit)
        elif ins.kind == "purchases":
            vars_, const, lo, hi, describe = _purchases(model, ins, k, index, unit)
            z0 = 0.0
        else:
            raise StrategyError(f"instruments[{k}]: kind must be 'tariff', 'transfer' or "
                                f"'purchases', got {ins.kind!r}")
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise StrategyError(f"{ins.label}: bounds must be two finite numbers, lower < "
                                f"upper, got {ins.bounds}")
        if not lo <= z0 <= hi:
            raise StrategyError(f"{ins.label}: bounds [{lo:g}, {hi:g}] exclude the status quo "
                                f"{z0:g}")
        for v in vars_:
            if id(v) in seen:
                raise StrategyError(f"{ins.label} and {seen[id(v)]} set the same variable "
                                    f"{v.name}; each may be set by one instrument only")
            seen[id(v)] = ins.label
        out.append(_Resolved(ins, ins.label, vars_, const, lo, hi, z0, describe))
    labels = [r.label for r in out]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise StrategyError(f"instrument name(s) {twice} used twice; give name=")
    if not out:
        raise StrategyError("no instrument given")
    return out


def _tariff(model: CGEModel, ins: Instrument, k: int, index: dict[int, int]
            ) -> tuple[list, list[float], float, float, float, str]:
    """A tariff instrument: its cells' ``tm``, the constants the unknown is added to, the
    bounds, the status-quo value and a description."""
    bench = model._benchmark
    if ins.mode not in ("set", "add"):
        raise StrategyError(f"{ins.label}: mode must be 'set' or 'add', got {ins.mode!r}")
    importer = single_region(model, ins.importer, f"instruments[{k}].importer")
    exporters = resolve_names(model, "regions", ins.exporter, f"instruments[{k}].exporter")
    members = resolve_names(model, "commodities", ins.commodities,
                            f"instruments[{k}].commodities")
    cells = tariff_cells(model, (importer,), exporters, members)
    if not cells:
        raise StrategyError(f"{ins.label}: {importer} imports none of {list(members)}"
                            f" from {', '.join(exporters)} in the benchmark: no "
                            "tariff to set")
    vars_ = [model.m.tm[c] for c in cells]
    base = [bench["values"][index[id(v)]] for v in vars_]
    lo, hi = ins.bounds if ins.bounds is not None else (0.0, 1.0)
    if ins.mode == "set":
        const = [0.0] * len(cells)
        w = np.array([model.ctx.p["vxmd"][c] for c in cells])
        z0 = float(np.dot(w, base) / w.sum())
        describe = f"uniform rate (fraction) of {importer} on {list(members)}"
    else:
        const, z0 = list(base), 0.0
        describe = f"pp (fraction) added to {importer}'s rates on {list(members)}"
    lo_rate, hi_rate = min(const) + lo, max(const) + hi
    if lo_rate <= -1.0 or hi_rate > MAX_RATE:
        raise StrategyError(f"{ins.label}: bounds {ins.bounds} take a rate outside "
                            f"(-1, {MAX_RATE:g}] (fractions)")
    describe += f" from {', '.join(exporters)}"
    return vars_, const, lo, hi, z0, describe


def _transfer(model: CGEModel, ins: Instrument, k: int, index: dict[int, int], unit: str
              ) -> tuple[list, list[float], float, float, float, str]:
    """A transfer instrument: ``gtrf`` or ``trf`` of the pair, the benchmark transfer it is
    added to, the bounds (default ±2 % of the payer's income), 0 and a description."""
    bench = model._benchmark
    payer, recipient = two_regions(model, ins.payer, ins.recipient, ("payer", "recipient"),
                                   where=f"instruments[{k}].", label=ins.label)
    if ins.between not in ("governments", "households"):
        raise StrategyError(f"{ins.label}: between must be 'governments' or "
                            f"'households', got {ins.between!r}")
    var = (model.m.gtrf if ins.between == "governments" else model.m.trf)[payer, recipient]
    vars_ = [var]
    const = [bench["values"][index[id(var)]]]
    z0 = 0.0
    if ins.bounds is not None:
        lo, hi = ins.bounds
    else:
        span = 0.02 * model.ctx.p["inc0"][payer]
        lo, hi = -span, span
    describe = (f"transfer {payer} -> {recipient} between {ins.between} on top of "
                f"the benchmark's ({unit})")
    return vars_, const, lo, hi, z0, describe


def _purchases(model: CGEModel, ins: Instrument, k: int, index: dict[int, int], unit: str
               ) -> tuple[list, list[float], float, float, str]:
    """(variables, offsets, bounds, description) of a direct-purchases instrument."""
    buyer, seller = two_regions(model, ins.buyer, ins.seller, ("buyer", "seller"),
                                 where=f"instruments[{k}].", label=ins.label)
    var = purchases_var(model, buyer, seller, ins.label)
    base = float(model._benchmark["values"][index[id(var)]])
    if ins.bounds is not None:
        lo, hi = ins.bounds
        if base + lo < 0.0:
            raise StrategyError(f"{ins.label}: lower bound {lo:g} would take the purchases "
                                f"below zero (benchmark {base:g})")
    else:
        lo, hi = -base, 0.02 * model.ctx.p["inc0"][buyer]
    describe = (f"direct purchases by {buyer}'s government from {seller}'s producers on top "
                f"of the benchmark's ({unit})")
    return [var], [base], lo, hi, describe


def _fix(instruments: Sequence[_Resolved], z: Sequence[float]) -> None:
    for ins, zj in zip(instruments, z, strict=True):
        for v, c in zip(ins.vars, ins.const, strict=True):
            v.fix(float(zj) + c)


# --------------------------------------------------------------------------------------------
# The NLP: maximise EV_obj subject to EV_con >= level
# --------------------------------------------------------------------------------------------
class _FrontierCallbacks(TariffCallbacks):
    """:class:`cge.strategy.TariffCallbacks` (model equations + linear links ``var - z_j =
    const``, objective ``-EV_obj/E0_obj``) plus one inequality row ``EV_con/E0_con``, with
    its gradient by reverse-mode differentiation, after the links."""

    def __init__(self, pnlp, iters: list[int], objective, obj_vars: list, obj_pos: np.ndarray,
                 cell_pos: np.ndarray, cell_group: np.ndarray, n_groups: int, con, con_vars,
                 con_pos: np.ndarray):
        super().__init__(pnlp, iters, objective, obj_vars, obj_pos, cell_pos, cell_group,
                         n_groups)
        self.con, self.con_vars, self.con_pos = con, con_vars, con_pos
        row = pnlp.n_equations + len(cell_pos)
        rows, cols = self.structure
        self.structure = (np.concatenate([rows, np.full(len(con_pos), row)]).astype(np.intc),
                          np.concatenate([cols, con_pos]).astype(np.intc))

    def _load_con(self, x) -> None:
        for v, xv in zip(self.con_vars, x[self.con_pos], strict=True):
            v.set_value(float(xv), skip_validation=True)

    def _con_value(self, x) -> np.ndarray:
        self._load_con(x)
        with domain_errors():
            return np.array([value(self.con)])

    def _con_gradient(self, x) -> np.ndarray:
        self._load_con(x)
        with domain_errors():
            d = differentiate(self.con, wrt_list=self.con_vars, mode=Modes.reverse_numeric)
        return np.asarray(d, dtype=float)

    def constraints(self, x):
        return np.concatenate([super().constraints(x), self._evaluate(self._con_value, x)])

    def jacobian(self, x):
        return np.concatenate([super().jacobian(x), self._evaluate(self._con_gradient, x)])


@dataclass
class _Point:
    z: list[float]
    ev: dict[str, float]
    status: str
    iterations: int
    seconds: float
    residual: float
    level: float = math.nan


def _welfare(model: CGEModel, region: str, position: dict[int, int]):
    expr = welfare_objective(model, region)
    vars_ = [v for v in identify_variables(expr, include_fixed=True) if id(v) in position]
    return expr, vars_, np.array([position[id(v)] for v in vars_], dtype=int)


class _Reduced:
    """The frontier's NLPs in reduced space (:mod:`cge.implicit`): the instruments z are the
    only variables, the equilibrium ``x(z)`` is solved at every trial point and the EVs'
    gradients come from the implicit-function theorem; SLSQP (scipy) on the instruments
    scaled to [0, 1]. Every evaluation is an equilibrium (residual <= 1e-8)."""

    def __init__(self, model: CGEModel, instruments: Sequence[_Resolved]):
        self.model, self.instruments = model, list(instruments)
        self.map = EquilibriumMap(model, [(r.vars, r.const) for r in self.instruments])
        self.lo = np.array([r.lo for r in self.instruments])
        self.span = np.array([r.hi - r.lo for r in self.instruments])
        self.expr = {r: welfare_objective(model, r) for r in model.ctx.regions}
        self._at: np.ndarray | None = None

    def _go(self, u: np.ndarray) -> None:
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self._at is None or not np.array_equal(u, self._at):
            self._at = None
            self.map.solve(self.lo + self.span * u)
            self._at = u.copy()

    def ev(self, region: str, u: np.ndarray) -> float:
        self._go(u)
        return self.map.value(self.expr[region])

    def grad(self, region: str, u: np.ndarray) -> np.ndarray:
        self._go(u)
        return self.map.gradient(self.expr[region]) * self.span

    def point(self, objective: str, constrained: str, level: float | None,
              z_start: Sequence[float], options: Mapping[str, object]) -> tuple[list[float],
                                                                                 str, int]:
        """max EV_objective s.t. EV_constrained >= level; returns (z, status, iterations)."""
        from scipy.optimize import minimize

        self._at = None                       # the model may have been moved since
        u0 = np.clip((np.asarray(z_start, dtype=float) - self.lo) / self.span, 0.0, 1.0)
        cons = []
        if level is not None:
            target = level / headline_ev(self.model, constrained)[1]
            cons = [{"type": "ineq", "fun": lambda u: self.ev(constrained, u) - target,
                     "jac": lambda u: self.grad(constrained, u)}]
        res = minimize(lambda u: -self.ev(objective, u), u0,
                       jac=lambda u: -self.grad(objective, u), method="SLSQP",
                       bounds=[(0.0, 1.0)] * len(u0), constraints=cons,
                       options={"ftol": float(options.get(
                                    "ftol", REDUCED_FTOL if cons else REDUCED_FTOL_END)),
                                "maxiter": int(options.get("maxiter", REDUCED_MAXITER))})
        if not res.success:
            raise SolveError(f"frontier NLP (max EV of {objective}, EV of {constrained} >= "
                             f"{level}): SLSQP stopped: {res.message}")
        u = np.clip(res.x, 0.0, 1.0)
        self._go(u)
        return list(self.lo + self.span * u), "optimal", int(res.nit)


def _solve_point(model: CGEModel, instruments: Sequence[_Resolved], objective: str,
                 constrained: str, level: float | None, z_start: Sequence[float],
                 options: Mapping[str, object], reduced: _Reduced | None = None) -> _Point:
    """One NLP from the model's current (solved) point — in reduced space when ``reduced``
    is given, falling back to the full-space NLP if that fails — then the square check solve
    at the NLP's instruments. Raises SolveError if both fail or the check does not solve."""
    if reduced is not None:
        began = time.perf_counter()
        snap = model.snapshot()
        try:
            z, term, iters = reduced.point(objective, constrained, level, z_start, options)
        except (SolveError, ArithmeticError):
            model.restore(snap)
        else:
            _fix(instruments, z)
            solve(model)
            ev = {r: headline_ev(model, r)[0] for r in model.ctx.regions}
            return _Point(z, ev, term, iters, time.perf_counter() - began,
                          float(nlp_residual(model)[0]))
    return _solve_full(model, instruments, objective, constrained, level, z_start,
                       {k: v for k, v in options.items() if k not in _REDUCED_KEYS})


def _solve_full(model: CGEModel, instruments: Sequence[_Resolved], objective: str,
                constrained: str, level: float | None, z_start: Sequence[float],
                options: Mapping[str, object]) -> _Point:
    """One full-space NLP (equilibrium equations + instruments, Ipopt) from the model's
    current (solved) point, then the square check solve at the NLP's instruments. Raises
    SolveError if Ipopt fails or the check does not solve."""

    began = time.perf_counter()
    pnlp = model_nlp(model)
    position = {id(v): k for k, v in enumerate(pnlp.vars)}
    obj, obj_vars, obj_pos = _welfare(model, objective, position)
    con, con_vars, con_pos = _welfare(model, constrained, position)
    flat = [(v, j) for j, ins in enumerate(instruments) for v in ins.vars]
    cell_pos = np.array([position[id(v)] for v, _ in flat], dtype=int)
    cell_group = np.array([j for _, j in flat], dtype=int)
    x0, lb, ub = pnlp.current()
    lb[cell_pos], ub[cell_pos] = -np.inf, np.inf
    k = len(instruments)
    x0 = np.concatenate([x0, np.asarray(z_start, dtype=float)])
    lb = np.concatenate([lb, [ins.lo for ins in instruments]])
    ub = np.concatenate([ub, [ins.hi for ins in instruments]])
    links = [c for ins in instruments for c in ins.const]
    e0 = headline_ev(model, constrained)[1]
    lo_row = -_INF if level is None else level / e0
    cl = np.concatenate([pnlp.rhs, links, [lo_row]])
    cu = np.concatenate([pnlp.rhs, links, [_INF]])
    iters = [0]
    callbacks = _FrontierCallbacks(pnlp, iters, obj, obj_vars, obj_pos, cell_pos, cell_group,
                                   k, con, con_vars, con_pos)
    x, status, term = run_ipopt(callbacks, x0, lb, ub, cl, cu, obj_vars + con_vars, options)
    if status not in (0, 1) or not np.all(np.isfinite(x)):
        from cge.solve import Diagnostics

        raise SolveError(f"frontier NLP (max EV of {objective}, EV of {constrained} >= "
                         f"{level}): Ipopt stopped with '{term}' after {iters[0]} iterations",
                         Diagnostics(status="failed", termination=term, iterations=iters[0]))
    for v, xv in zip(pnlp.vars, x[:len(pnlp.vars)], strict=True):
        if not v.fixed:
            v.set_value(float(xv), skip_validation=True)
    z = [min(max(float(t), ins.lo), ins.hi) for t, ins in zip(x[-k:], instruments,
                                                               strict=True)]
    _fix(instruments, z)
    solve(model)
    ev = {r: headline_ev(model, r)[0] for r in model.ctx.regions}
    return _Point(z, ev, term, iters[0], time.perf_counter() - began,
                  float(nlp_residual(model)[0]))


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------
@dataclass
class FrontierResult:
    """The result of :func:`frontier`.

    ``table``: one row per frontier point (sorted by level): ``level`` (the lower bound on
    b's EV; NaN at a's unconstrained optimum), ``EV_a``, ``EV_b`` (headline EV, data unit,
    against the benchmark), one column per instrument (its label; tariffs as fractions,
    transfers in the data unit), ``status`` (``"a_optimum"``, ``"b_optimum"``, ``"optimal"``,
    ``"not_binding"`` for a level below a's optimum, ``"infeasible"`` above b's maximum,
    ``"failed: ..."``), ``binding`` (the level binds), ``iterations``, ``seconds``,
    ``residual`` (largest relative equation residual of the check solve). ``marks``: one row
    per marked point (``status_quo``, ``scenario``, ``threat``, ``bargaining``) with
    ``EV_a``, ``EV_b``, the instruments where they apply (NaN otherwise) and ``product``
    (the Nash product over the threat point; NaN unless both gain over it). The status
    quo's instrument values are the benchmark's (for a ``"set"`` tariff the benchmark-flow-
    weighted mean of the cells' own rates, which need not be uniform); the scenario's and
    the threat point's are not instrument values (NaN). ``a``/``b``: the regions."""

    a: str
    b: str
    instruments: list[Instrument]
    labels: list[str]
    describe: dict[str, str]
    bounds: dict[str, tuple[float, float]]
    table: pd.DataFrame
    marks: pd.DataFrame
    unit: str
    method: str = "epsilon-constraint"
    scenario: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> pd.DataFrame:
        """The frontier points that were solved (status optimal or an optimum)."""
        return self.table[self.table["status"].isin(SOLVED)]

    def mark(self, name: str) -> pd.Series | None:
        """The marked point ``name`` (a row of :attr:`marks`), or None."""
        return self.marks.loc[name] if name in self.marks.index else None

    def to_dataset(self) -> xr.Dataset:
        """The frontier and the marks as a Dataset (dims ``point``, ``mark``, ``instrument``),
        writable with :func:`cge.api.write_netcdf`."""
        t, mk = self.table, self.marks
        inst = self.labels
        ds = xr.Dataset(
            {"level": ("point", t["level"].to_numpy(float)),
             "EV_a": ("point", t["EV_a"].to_numpy(float)),
             "EV_b": ("point", t["EV_b"].to_numpy(float)),
             "value": (("point", "instrument"), t[inst].to_numpy(float)),
             "status": ("point", t["status"].astype(str).to_numpy()),
             "binding": ("point", t["binding"].to_numpy(int)),
             "iterations": ("point", t["iterations"].to_numpy(int)),
             "residual": ("point", t["residual"].to_numpy(float)),
             "mark_EV_a": ("mark", mk["EV_a"].to_numpy(float)),
             "mark_EV_b": ("mark", mk["EV_b"].to_numpy(float)),
             "mark_value": (("mark", "instrument"), mk[inst].to_numpy(float)),
             "mark_product": ("mark", mk["product"].to_numpy(float)),
             "lower_bound": ("instrument", [self.bounds[x][0] for x in inst]),
             "upper_bound": ("instrument", [self.bounds[x][1] for x in inst])},
            coords={"point": np.arange(len(t)), "mark": list(mk.index.astype(str)),
                    "instrument": inst},
            attrs={"strategy_game": "frontier", "region_a": self.a, "region_b": self.b,
                   "method": self.method, "unit": self.unit, "scenario": self.scenario,
                   "instruments": json.dumps({x: self.describe[x] for x in inst}),
                   "notes": " | ".join(self.notes),
                   "description": f"deal frontier: max EV of {self.a} s.t. EV of {self.b} "
                                  ">= level, over the instruments"})
        ds["EV_a"].attrs.update(units=self.unit, description=f"headline EV of {self.a}")
        ds["EV_b"].attrs.update(units=self.unit, description=f"headline EV of {self.b}")
        ds["level"].attrs.update(units=self.unit,
                                 description=f"lower bound on the EV of {self.b}")
        return ds

    def __str__(self) -> str:
        cols = ["level", "EV_a", "EV_b", *self.labels, "status"]
        head = (f"deal frontier {self.a} x {self.b} ({self.method}, EV in {self.unit}; "
                f"EV_a = {self.a}, EV_b = {self.b})")
        fmt = {c: "{:,.6g}".format for c in cols if c != "status"}
        body = self.table[cols].to_string(index=False, formatters=fmt)
        marks = self.marks[["EV_a", "EV_b", *self.labels, "product"]].to_string(
            formatters={c: "{:,.6g}".format for c in ["EV_a", "EV_b", *self.labels,
                                                       "product"]})
        return f"{head}\n{body}\n\nmarked points\n{marks}"


# --------------------------------------------------------------------------------------------
# The frontier
# --------------------------------------------------------------------------------------------
def frontier(session: Session, a: str = "USA", b: str = "JPN",
             instruments: Sequence[Instrument] | None = None, levels: int | Sequence[float] = 9,
             *, scenario: str | Scenario | None = None,
             threat: str | Mapping[str, float] | None = "nash",
             nash_options: Mapping[str, Any] | None = None, refine: bool = True,
             method: str = "reduced", options: Mapping[str, object] | None = None
             ) -> FrontierResult:
    r"""The Pareto frontier of (EV_a, EV_b) over ``instruments`` (module docstring).

    ``instruments``: :func:`tariff` / :func:`transfer` objects (default
    :func:`default_instruments`: a's tariff on b's goods, b's on a's, b's transfer to a, with
    their default bounds); every other instrument at the benchmark. ``levels``: a number n >=
    2 of levels of b's EV evenly spaced from its value at a's optimum to b's maximum, or the
    levels themselves (data unit). ``scenario``: a scenario (file, library name) whose EVs are
    marked. ``threat``: ``"nash"`` (the Nash tariff war of a and b, :func:`cge.strategy.nash`
    with ``nash_options``; default: uniform rates in [0, 1] on the commodities of the first
    tariff instrument), a mapping ``{a: EV,
    b: EV}``, or None (no threat and no bargaining point). ``refine``: refine the bargaining
    point between the grid's levels. ``method``: ``"reduced"`` (the NLPs over the instruments
    only, :class:`_Reduced`; a point it cannot solve falls back to the full space) or
    ``"full"`` (one NLP over all model variables per point, Ipopt). ``options``: Ipopt options
    over :data:`cge.strategy.NLP_OPTIONS`, and ``ftol``/``maxiter`` for the reduced space's
    SLSQP.

    Raises :class:`~cge.strategy.StrategyError` for a bad request (an unknown region, a and b
    equal, bounds that exclude the status quo, levels of which none is feasible). The model is
    put back to the benchmark at the end."""
    began = time.perf_counter()
    session = session_of(session)
    model = target_model(session, None)
    a = single_region(model, a, "a")
    b = single_region(model, b, "b")
    if a == b:
        raise StrategyError(f"a and b are both {a!r}; the frontier needs two regions")
    specs = list(instruments) if instruments is not None else default_instruments(a, b)
    resolved = _resolve_instruments(model, specs)
    labels = [r.label for r in resolved]
    grid_n, given = _frontier_levels(levels)
    if method not in ("reduced", "full"):
        raise StrategyError(f"method must be 'reduced' or 'full', got {method!r}")
    opts = dict(options or {})
    unit = model.params.attrs.get("unit", "US$ million")
    notes: list[str] = []
    marks, scen_name = _frontier_marks(session, a, b, resolved, scenario, threat, nash_options,
                                       notes)
    mark_z: dict[str, list[float]] = {"status_quo": [r.z0 for r in resolved]}
    model.restore(model._benchmark)
    try:
        z_sq = [r.z0 for r in resolved]
        _fix(resolved, z_sq)
        solve(model)
        reduced = _Reduced(model, resolved) if method == "reduced" else None
        table, snaps, hi_level = _frontier_grid(model, resolved, a, b, grid_n, given, opts,
                                                reduced)
        ok = table["status"].isin(["optimal", "a_optimum", "b_optimum", "not_binding"])
        if not ok.any():
            raise StrategyError(f"no feasible point on the frontier: {b}'s EV is at most "
                                f"{hi_level:,.6g} {unit} over these instruments, every level "
                                f"given ({', '.join(f'{x:,.6g}' for x in given)}) is above it")
        if "threat" in marks:
            bargain = _bargaining(model, resolved, a, b, table, labels, marks["threat"],
                                  refine, opts, snaps, reduced)
            if bargain is not None:
                marks["bargaining"] = {a: bargain.ev[a], b: bargain.ev[b]}
                mark_z["bargaining"] = bargain.z
                if not math.isnan(bargain.level):
                    notes.append(f"bargaining point at level {bargain.level:,.8g} "
                                 f"({bargain.status})")
            else:
                notes.append("no frontier point leaves both better off than the threat point: "
                             "no bargaining point")
    finally:
        model.restore(model._benchmark)
    return FrontierResult(
        a=a, b=b, instruments=specs, labels=labels,
        describe={r.label: r.describe for r in resolved},
        bounds={r.label: (r.lo, r.hi) for r in resolved}, table=table,
        marks=_mark_table(marks, mark_z, labels, a, b),
        unit=unit, scenario=scen_name, seconds=time.perf_counter() - began, notes=notes,
        method=f"epsilon-constraint, {method} space")


def _frontier_levels(levels: int | Sequence[float]) -> tuple[int | None, list[float]]:
    """``levels`` of :func:`frontier`: (n, []) for a number of evenly spaced levels, or
    (None, the levels given, sorted); anything else a :class:`StrategyError`."""
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        if int(levels) < 2:
            raise StrategyError(f"levels must be at least 2 (the two ends), got {levels}")
        return int(levels), []
    try:
        given = sorted(float(x) for x in levels)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise StrategyError(f"levels must be a number of levels or a list of EVs, got "
                            f"{levels!r}") from None
    if not given or not all(math.isfinite(x) for x in given):
        raise StrategyError(f"levels must be finite numbers, got {levels!r}")
    return None, given


def _frontier_marks(session: Session, a: str, b: str, resolved: list, scenario, threat,
                    nash_options: Mapping[str, Any] | None, notes: list[str]
                    ) -> tuple[dict[str, dict[str, float]], str]:
    """The marked points of :func:`frontier` -- the status quo, the scenario's EVs, the
    threat point (the Nash war, or given) -- and the scenario's name; notes appended."""
    marks: dict[str, dict[str, float]] = {"status_quo": {a: 0.0, b: 0.0}}
    scen_name = ""
    if scenario is not None:
        scen, smodel = session.prepared(scenario)
        scen_name = scen.name
        try:
            solve(smodel)
            marks["scenario"] = {r: headline_ev(smodel, r)[0] for r in (a, b)}
        finally:
            smodel.restore(smodel._benchmark)
    if threat == "nash":
        kw = dict(nash_options or {})
        first = next((r.spec for r in resolved if r.spec.kind == "tariff"), None)
        kw.setdefault("commodities", first.commodities if first is not None else "goods")
        war = nash(session, [a, b], **kw)
        if not war.converged:
            notes.append(f"the Nash war did not converge ({war.reason}); its last point is "
                         "the threat point")
        marks["threat"] = {a: war.ev[a], b: war.ev[b]}
        notes.append("threat point: Nash tariffs " + "; ".join(
            f"{p} " + ", ".join(f"{g} {100 * t:.4g} %" for g, t in war.rates[p].items())
            for p in war.players))
    elif isinstance(threat, Mapping):
        marks["threat"] = {a: float(threat[a]), b: float(threat[b])}
    elif threat is not None:
        raise StrategyError(f"threat must be 'nash', a mapping {{{a!r}: EV, {b!r}: EV}} or "
                            f"None, got {threat!r}")
    return marks, scen_name


def _frontier_grid(model: CGEModel, resolved: list, a: str, b: str, grid_n: int | None,
                   given: list[float], opts: dict, reduced) -> tuple[pd.DataFrame, dict, float]:
    """The epsilon-constraint sweep of :func:`frontier` from the status quo (the model solved
    there): a's and b's optima, then a's best EV at each level of b's EV, warm-started along
    the grid. Returns the table (one row per level, with its status), the model's point at
    each solved row (for the bargaining point) and b's largest EV."""
    labels = [r.label for r in resolved]
    z_sq = [r.z0 for r in resolved]
    snap_sq = model.snapshot()
    top_a = _solve_point(model, resolved, a, b, None, z_sq, opts, reduced)
    snap_a = model.snapshot()
    model.restore(snap_sq)
    top_b = _solve_point(model, resolved, b, a, None, z_sq, opts, reduced)
    lo_level, hi_level = top_a.ev[b], top_b.ev[b]
    wanted = list(np.linspace(lo_level, hi_level, grid_n)[1:-1]) if grid_n is not None \
        else given
    tol = FEASIBILITY_RTOL

    def row(level: float, pt: _Point | None, status: str, binding: bool) -> dict:
        out = {"level": level, "EV_a": pt.ev[a] if pt else math.nan,
               "EV_b": pt.ev[b] if pt else math.nan, "status": status,
               "binding": binding, "iterations": pt.iterations if pt else 0,
               "seconds": pt.seconds if pt else 0.0,
               "residual": pt.residual if pt else math.nan}
        out.update({lab: (pt.z[j] if pt else math.nan) for j, lab in enumerate(labels)})
        return out

    rows: list[dict[str, Any]] = []
    snaps: dict[int, Any] = {}      # row -> the model's point there (warm starts)
    if grid_n is not None:
        snaps[len(rows)] = snap_a
        rows.append(row(lo_level, top_a, "a_optimum", False))
    model.restore(snap_a)
    last = top_a
    for level in wanted:
        if level > hi_level + tol * max(1.0, abs(hi_level)):
            rows.append(row(level, None, "infeasible", False))
            continue
        if level <= lo_level:
            rows.append(row(level, top_a, "not_binding", False))
            continue
        try:
            pt = _solve_point(model, resolved, a, b, level, last.z, opts, reduced)
        except (SolveError, StrategyError, ArithmeticError) as exc:
            rows.append(row(level, None, f"failed: {exc}", False))
            model.restore(snap_a)
            continue
        snaps[len(rows)] = model.snapshot()
        rows.append(row(level, pt, "optimal", True))
        last = pt
    if grid_n is not None:
        model.restore(snap_a)
        _fix(resolved, top_b.z)
        solve(model)
        snaps[len(rows)] = model.snapshot()
        rows.append(row(hi_level, top_b, "b_optimum", True))
    return pd.DataFrame(rows), snaps, hi_level


def _mark_table(marks: dict[str, dict[str, float]], mark_z: dict[str, list[float]],
                labels: list[str], a: str, b: str) -> pd.DataFrame:
    """The marks as a table: EVs, instruments where known, the Nash product over the threat
    point."""
    threat_ev = marks.get("threat")
    mrows = []
    for name, ev in marks.items():
        r = {"EV_a": ev[a], "EV_b": ev[b]}
        z = mark_z.get(name)
        r.update({lab: (z[j] if z else math.nan) for j, lab in enumerate(labels)})
        prod = (_product(ev[a], ev[b], threat_ev[a], threat_ev[b])
                if threat_ev is not None else math.nan)
        r["product"] = prod if math.isfinite(prod) else math.nan
        mrows.append(r)
    return pd.DataFrame(mrows, index=pd.Index(list(marks), name="mark"))


def _product(ev_a: float, ev_b: float, t_a: float, t_b: float) -> float:
    """The Nash product over the threat point; -inf unless both gain over it."""
    ga, gb = ev_a - t_a, ev_b - t_b
    return ga * gb if ga > 0 and gb > 0 else -math.inf


def _bargaining(model: CGEModel, resolved: list[_Resolved], a: str, b: str,
                table: pd.DataFrame, labels: list[str], threat: Mapping[str, float],
                refine: bool, opts: Mapping[str, object], snaps: Mapping[int, Any],
                reduced: _Reduced | None = None) -> _Point | None:
    r"""The Nash bargaining point: the frontier point with the largest
    :math:`(EV_a - T_a)(EV_b - T_b)` over those better for both than the threat T; with
    ``refine``, a bounded scalar search over the level between the best grid point's
    neighbours (each trial one NLP), kept only if its product is larger."""
    ok = table["status"].isin(["optimal", "a_optimum", "b_optimum"])
    pts = table[ok]
    rows = list(pts.index)
    pts = pts.reset_index(drop=True)
    if pts.empty:
        return None
    prod = [_product(x, y, threat[a], threat[b]) for x, y in zip(pts["EV_a"], pts["EV_b"],
                                                                  strict=True)]
    k = int(np.argmax(prod))
    if not math.isfinite(prod[k]):
        return None
    best = _Point([float(pts.loc[k, lab]) for lab in labels],
                  {a: float(pts.loc[k, "EV_a"]), b: float(pts.loc[k, "EV_b"])},
                  "grid point", int(pts.loc[k, "iterations"]), 0.0,
                  float(pts.loc[k, "residual"]), float(pts.loc[k, "EV_b"]))
    if not refine or len(pts) < 3:
        return best
    lo = float(pts.loc[max(k - 1, 0), "EV_b"])
    hi = float(pts.loc[min(k + 1, len(pts) - 1), "EV_b"])
    if not hi > lo:
        return best
    from scipy.optimize import minimize_scalar

    found: dict[float, _Point] = {}
    start = snaps[rows[k]]
    penalty = -10.0 * abs(prod[k]) - 1.0        # a failed or non-dominating trial

    def minus_product(level: float) -> float:
        model.restore(start)
        try:
            pt = _solve_point(model, resolved, a, b, float(level), best.z, opts, reduced)
        except (SolveError, StrategyError, ArithmeticError):
            return -penalty
        pt.level = float(level)
        found[float(level)] = pt
        p = _product(pt.ev[a], pt.ev[b], threat[a], threat[b])
        return -p if math.isfinite(p) else -penalty

    minimize_scalar(minus_product, bounds=(lo, hi), method="bounded",
                    options={"xatol": REFINE_XTOL * (hi - lo), "maxiter": REFINE_MAX})
    if found:
        cand = max(found.values(), key=lambda p: _product(p.ev[a], p.ev[b], threat[a],
                                                          threat[b]))
        if _product(cand.ev[a], cand.ev[b], threat[a], threat[b]) > prod[k]:
            cand.status = "refined"
            return cand
    return best


# --------------------------------------------------------------------------------------------
# Chart
# --------------------------------------------------------------------------------------------
#: Marked points: marker, colour (Okabe-Ito, as the report's charts) and legend label.
_MARK_STYLE = {"status_quo": ("o", "#000000", "status quo (benchmark)"),
               "scenario": ("s", "#D55E00", "scenario"),
               "threat": ("X", "#CC79A7", "Nash war (threat point)"),
               "bargaining": ("*", "#009E73", "Nash bargaining")}


#: Statuses of the points that are on the frontier (solved).
SOLVED = ("optimal", "a_optimum", "b_optimum", "not_binding")


def plot_frontier(result: FrontierResult | xr.Dataset, path: str | Path, *,
                  png: str | Path | None = None, title: str | None = None) -> Path:
    """The frontier chart (EV of b against EV of a, the marked points, the threat point's
    quadrant) as SVG with text kept as text (``svg.fonttype = "none"``); ``png``: also a PNG.
    ``result``: a :class:`FrontierResult` or its Dataset (:meth:`FrontierResult.to_dataset`,
    as saved). EVs in US$ bn when the data unit is US$ million."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = result.to_dataset() if isinstance(result, FrontierResult) else result
    a, b, unit0 = ds.attrs["region_a"], ds.attrs["region_b"], ds.attrs.get("unit", "")
    ok = np.isin(ds["status"].values.astype(str), SOLVED)
    ev_a, ev_b = ds["EV_a"].values[ok], ds["EV_b"].values[ok]
    big = float(np.nanmax(np.abs(np.concatenate([ev_a, ev_b])))) if ok.any() else 0.0
    scale, unit = ((1e3, "US$ bn") if unit0 == "US$ million" and big >= 1e3
                   else (1.0, unit0))
    marks = {str(m): (float(x), float(y)) for m, x, y in
             zip(ds["mark"].values, ds["mark_EV_a"].values, ds["mark_EV_b"].values,
                 strict=True)}
    from cge.report.figures import RC, WIDTH_IN

    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.72 * WIDTH_IN))
        ax.plot(ev_a / scale, ev_b / scale, "-", color="#0072B2", lw=1.5, marker=".", ms=5,
                label="deal frontier")
        for name, (x, y) in marks.items():
            marker, color, label = _MARK_STYLE.get(name, ("D", "gray", name))
            if name == "scenario" and ds.attrs.get("scenario"):
                label = f"scenario {ds.attrs['scenario']}"
            ax.plot(x / scale, y / scale, marker, color=color, ms=9, label=label, ls="none")
        if "threat" in marks:
            ax.axvline(marks["threat"][0] / scale, color="#CC79A7", lw=0.8, ls=":")
            ax.axhline(marks["threat"][1] / scale, color="#CC79A7", lw=0.8, ls=":")
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.set_xlabel(f"EV of {a} ({unit} per year)")
        ax.set_ylabel(f"EV of {b} ({unit} per year)")
        ax.set_title(title or f"Deal frontier {a}–{b} over {ds.sizes['instrument']} "
                              "instruments")
        ax.legend(loc="best", frameon=False)
        ax.grid(True, lw=0.3, alpha=0.5)
        fig.tight_layout()
        out = Path(path)
        fig.savefig(out, format="svg", metadata={"Date": None})
        if png is not None:
            fig.savefig(png, format="png", dpi=110)
        plt.close(fig)
    return out
