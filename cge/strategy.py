r"""Trade strategy on a built model: instruments set directly, a lean evaluation, optimal tariffs.

The model is a square system in which every policy instrument is a *fixed* Pyomo variable
(:mod:`cge.blocks.instruments`). This module works on that model without scenario files:

* **Instruments set directly.** :func:`set_tariff` / :func:`get_tariffs` (import tariffs ``tm``,
  fractions: 0.25 is 25 %), :func:`set_transfer` / :func:`get_transfers` (international
  transfers ``gtrf`` between governments or ``trf`` between households, data unit, e.g. US$
  million, numeraire-valued) and :func:`reset` (every instrument back to the benchmark). Regions
  and commodities may be names, the data set's groups (``"goods"``, ``"deal_partners"``),
  ``"all"``, ``"all_but:X"`` or lists of them, resolved exactly as in scenario files; values
  are checked and applied by the same code as a scenario's ``[[tariff]]`` and ``[[transfer]]``
  tables (:mod:`cge.shocks`).
* **Lean evaluation.** :func:`evaluate` returns each region's EV (the headline EV of
  :func:`cge.results.extract_results`, same numbers), whether the model sits at an equilibrium,
  and three indicators (EV in % of the welfare base, real GDP and terms of trade, % change),
  from the solved model's values without building the results Dataset.
* **Optimal tariff as one NLP.** :func:`optimal_tariff` maximises one region's EV over its own
  import tariffs (one rate per commodity group, on one partner or several), every other
  instrument fixed, as *one* nonlinear programme solved by Ipopt through cyipopt on the model's
  persistent AMPL representation (:class:`cge.solve.ModelNLP`):

  .. math::
      \max_{x,\,t}\; EV_r(x) \quad\text{s.t.}\quad F(x, t) = 0,\qquad
      tm_{isr} = t_g + c_{isr}\;\; (i \in g,\ s \in \text{partners}),\qquad
      \underline t \le t_g \le \overline t,

  where :math:`F = 0` are the model's equilibrium equations (square in the free variables
  :math:`x` for given instruments), :math:`t_g` the free rate of group :math:`g` and
  :math:`c_{isr} = 0` (``mode="set"``: one uniform rate on the group's cells) or the cell's
  status-quo rate (``mode="add"``: the same number of percentage points on top of each cell's
  rate). With :math:`G` groups the programme has :math:`G` degrees of freedom. The objective is
  the welfare of region r as :mod:`cge.welfare` defines it (the Cobb–Douglas utility of private
  consumption, civil government and real saving under the regional household; household
  consumption under separate institutions), divided by its benchmark expenditure so that the
  objective is of order one: :math:`-EV_r / E^0_r`. Its gradient comes from Pyomo's reverse-mode
  differentiation of that expression; the Hessian of the Lagrangian is approximated (L-BFGS).
  The linking equations are linear and added beside the AMPL constraints, so the model itself
  gets no new component: after the solve every freed cell is fixed at its optimal rate and the
  model is an ordinary square model at that scenario, re-solved once as a check.
* :func:`ev_curve`: every region's EV along a grid of rates (each point an ordinary square
  solve), for a chart and as the cross-check of the NLP.

Measured on the default data (8 regions x 11 commodities, 2-core machine): :func:`evaluate`
1.5 ms against 24 ms for :func:`cge.results.extract_results`; the optimal uniform US tariff on
all goods imports 0.2 s for the NLP (9 Ipopt iterations) against 0.09 s for one ordinary solve
of a tariff scenario (4 iterations), and the same rate as a bounded scalar search over 15
ordinary solves (2.2 s) to 1e-8; three groups 0.25 s, nine (one rate per good) 0.7 s.

Units: tariff rates are fractions (0.25 = 25 %; scenario files use percent), EV and transfers
are in the data set's currency unit (``model.params.attrs["unit"]``, US$ million for the default
data) at benchmark prices; EV is measured against the benchmark, not against the status quo.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from pyomo.core.expr.calculus.derivatives import Modes, differentiate
from pyomo.core.expr.visitor import identify_variables
from pyomo.environ import exp, log, value

from cge.blocks.flows import export_price
from cge.model import CGEModel
from cge.scenario import (
    RateShock,
    Scenario,
    Sets,
    Transfer,
    _Parser,  # the scenario files' name resolver (names, groups, "all", "all_but:X", lists)
)
from cge.shocks import (
    MAX_RATE,
    ShockReport,
    _apply_rate_shock,
    _apply_transfer,
    check_budgets,
    reset_instruments,
)
from cge.solve import (
    IPOPT_OPTIONS,
    IPOPT_STATUS,
    RESIDUAL_TOL,
    WALRAS_TOL,
    Diagnostics,
    SolveError,
    _Callbacks,
    model_nlp,
    nlp_residual,
    solve,
)
from cge.welfare import equivalent_variation, headline, private_ev

if TYPE_CHECKING:
    from cge.api import Session

__all__ = [
    "Evaluation",
    "OptimalTariff",
    "StrategyError",
    "ev_curve",
    "evaluate",
    "get_tariffs",
    "get_transfers",
    "headline_ev",
    "optimal_tariff",
    "reset",
    "set_tariff",
    "set_transfer",
]

#: Source name in the errors raised for requests made through this module.
SOURCE = "<strategy>"

#: Ipopt options of the optimal-tariff NLP, on top of :data:`cge.solve.IPOPT_OPTIONS` (same
#: residual tolerance, no scaling, L-BFGS). The start is an equilibrium, so the constraints
#: hold there; the optimality tolerance is on the objective -EV/E0 (order one).
NLP_OPTIONS: dict[str, object] = {
    "tol": 1e-10,
    "acceptable_tol": 1e-8,
    "max_iter": 500,
    "mu_init": 1e-6,
    "bound_push": 1e-8,
    "bound_frac": 1e-8,
    "constr_mult_init_max": 1e3,
}

#: A free rate within this distance of a bound is reported as binding there.
BINDING_TOL = 1e-7


class StrategyError(ValueError):
    """A request this module cannot carry out (a region, partner or bound that does not fit
    the data or the model); the message says what and why."""


# --------------------------------------------------------------------------------------------
# Names and cells
# --------------------------------------------------------------------------------------------
def _sets(model: CGEModel) -> Sets:
    return Sets.from_benchmark(model.params)


def _resolve(model: CGEModel, kind: str, spec: str | Sequence[str], field_name: str
             ) -> tuple[str, ...]:
    """Names of ``kind`` ("regions" or "commodities") for a name, group or list, in the data
    set's order, with the scenario files' resolver (a :class:`~cge.scenario.ScenarioError`
    naming ``field_name`` for an unknown one)."""
    return _Parser(_sets(model), SOURCE).resolve(kind, list(spec) if not isinstance(spec, str)
                                                 else spec, field_name)


def _single_region(model: CGEModel, name: str, field_name: str) -> str:
    return _Parser(_sets(model), SOURCE).single_region(name, field_name)


def _tariff_cells(model: CGEModel, importers: Sequence[str], exporters: Sequence[str],
                  commodities: Sequence[str]) -> list[tuple[str, str, str]]:
    """The (commodity, exporter, importer) cells with a benchmark flow (the model has a tariff
    variable only there: a zero flow stays zero at any rate)."""
    tm = model.m.tm
    return [(c, s, r) for c in commodities for s in exporters for r in importers
            if s != r and (c, s, r) in tm]


# --------------------------------------------------------------------------------------------
# Instruments set directly
# --------------------------------------------------------------------------------------------
def reset(model: CGEModel) -> None:
    """Every instrument (tariffs, taxes, transfers, defense rules, ...) back to its benchmark
    value; free variables keep their values (a warm start). :func:`cge.shocks.reset_instruments`."""
    reset_instruments(model)


def set_tariff(model: CGEModel, importer: str | Sequence[str], exporter: str | Sequence[str],
               commodities: str | Sequence[str] = "all", rate: float | None = None,
               add: float | None = None) -> int:
    """Set (``rate``) or raise (``add``) the import tariff ``tm`` of ``importer`` on
    ``commodities`` from ``exporter``; returns the number of cells changed.

    Rates are **fractions** (``rate=0.15`` is 15 %, ``add=0.24`` is +24 pp); exactly one of
    ``rate`` and ``add``. ``importer``, ``exporter`` and ``commodities`` take names, groups of
    the data set, ``"all"``, ``"all_but:X"`` or lists, as in a scenario's ``[[tariff]]``;
    the change is applied by the same code (:func:`cge.shocks.apply_scenario`: a composed rate
    must stay in (-100 %, 100 000 %], cells without a benchmark flow are skipped). Nothing is
    solved: call :func:`cge.solve.solve` next."""
    if (rate is None) == (add is None):
        raise StrategyError("give exactly one of rate (the new rate, a fraction) and add "
                            "(percentage points as a fraction, e.g. 0.1 for +10 pp)")
    amount = float(rate if rate is not None else add)
    if not math.isfinite(amount):
        raise StrategyError(f"the tariff must be a finite number, got {amount!r}")
    shock = RateShock("tm", _resolve(model, "commodities", commodities, "commodities"),
                      _resolve(model, "regions", exporter, "exporter"),
                      _resolve(model, "regions", importer, "importer"),
                      "set" if rate is not None else "add", amount, "tariff")
    report = ShockReport()
    _apply_rate_shock(model, shock, SOURCE, report)
    return report.changed


def get_tariffs(model: CGEModel, importer: str, exporter: str | Sequence[str] | None = None
                ) -> xr.DataArray:
    """Import tariffs of ``importer`` now set on the model (fractions), by commodity and
    exporter; NaN where there is no benchmark flow (no tariff variable). ``exporter``: all
    partners (None), a group or list (dims ``commodity, exporter``) or one name (dim
    ``commodity``)."""
    importer = _single_region(model, importer, "importer")
    partners = (tuple(s for s in model.ctx.regions if s != importer) if exporter is None
                else _resolve(model, "regions", exporter, "exporter"))
    commodities = model.ctx.commodities
    tm = model.m.tm
    values = np.array([[tm[c, s, importer].value if (c, s, importer) in tm else np.nan
                        for s in partners] for c in commodities], dtype=float)
    out = xr.DataArray(values, dims=("commodity", "exporter"),
                       coords={"commodity": commodities, "exporter": list(partners)},
                       name="tariff", attrs={"description": f"import tariff of {importer}",
                                             "units": "fraction", "importer": importer})
    if isinstance(exporter, str) and exporter in model.ctx.regions:
        return out.sel(exporter=exporter)
    return out


def _transfer_var(model: CGEModel, between: str):
    if between not in ("governments", "households"):
        raise StrategyError(f"between must be 'governments' or 'households', got {between!r}")
    return model.m.gtrf if between == "governments" else model.m.trf


def set_transfer(model: CGEModel, payer: str, recipient: str, amount: float | None = None,
                 add: float | None = None, between: str = "governments") -> float:
    """Set (``amount``) or raise (``add``) the transfer from ``payer`` to ``recipient``
    (data unit per year, e.g. US$ million, numeraire-valued); returns the new amount.

    ``between="governments"`` (host-nation support, cost-sharing; instrument ``gtrf``) or
    ``"households"`` (``trf``). Either sign: a negative amount is a flow from the recipient to
    the payer. Applied like a scenario's ``[[transfer]]`` (:mod:`cge.shocks`): what the payer
    pays must stay below its benchmark income and every budget must stay positive at
    benchmark prices (:func:`cge.shocks.check_budgets`), else a
    :class:`~cge.scenario.ScenarioError`. Nothing is solved."""
    if (amount is None) == (add is None):
        raise StrategyError("give exactly one of amount (the new transfer) and add (a change)")
    payer = _single_region(model, payer, "payer")
    recipient = _single_region(model, recipient, "recipient")
    if payer == recipient:
        raise StrategyError(f"payer and recipient are both {payer!r}; they must differ")
    var = _transfer_var(model, between)[payer, recipient]
    change = float(add) if add is not None else float(amount) - var.value
    if not math.isfinite(change):
        raise StrategyError(f"the transfer must be a finite number, got {amount or add!r}")
    t = Transfer(payer, recipient, change, None, "transfer", between)
    _apply_transfer(model, t, SOURCE, {})
    check_budgets(model, _scenario_of(t))
    return float(var.value)


def _scenario_of(t: Transfer) -> Scenario:
    """A one-transfer scenario, for the budget check's messages."""
    return Scenario(name="strategy", description="", rate_shocks=(), transfers=(t,),
                    defense=(), factor_shocks=(), closure={}, source=SOURCE, text="",
                    sha256="")


def get_transfers(model: CGEModel, between: str = "governments") -> xr.DataArray:
    """Transfers now set on the model (data unit), by payer and recipient (0 on the
    diagonal)."""
    var = _transfer_var(model, between)
    regions = model.ctx.regions
    values = np.array([[var[s, r].value if s != r else 0.0 for r in regions] for s in regions],
                      dtype=float)
    return xr.DataArray(values, dims=("payer", "recipient"),
                        coords={"payer": regions, "recipient": regions}, name="transfer",
                        attrs={"description": f"international transfers between {between}",
                               "units": model.params.attrs.get("unit", "US$ million")})


# --------------------------------------------------------------------------------------------
# Lean evaluation
# --------------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """Welfare and a few indicators of the model's current point, by region.

    ``ev``: the headline EV (data unit, benchmark prices; regional EV under the regional
    household, private EV under separate institutions, as ``extract_results(...).EV``);
    ``ev_pct``: EV in % of the benchmark expenditure it measures; ``real_gdp_pct`` and
    ``tot_pct``: real GDP (expenditure side at benchmark prices) and the terms of trade
    (Laspeyres export over import price index), % change from the benchmark, defined as in
    :mod:`cge.results`. ``solved``: the point is an equilibrium (largest relative residual
    ``max_residual`` and the Walras slack within :data:`cge.solve.RESIDUAL_TOL` /
    :data:`cge.solve.WALRAS_TOL`)."""

    ev: dict[str, float]
    ev_pct: dict[str, float]
    real_gdp_pct: dict[str, float]
    tot_pct: dict[str, float]
    solved: bool
    max_residual: float
    whose: str
    unit: str
    status: str = ""

    def to_dataset(self) -> xr.Dataset:
        """The numbers as a small Dataset over ``region``."""
        regions = list(self.ev)
        data = {k: ("region", [getattr(self, k)[r] for r in regions])
                for k in ("ev", "ev_pct", "real_gdp_pct", "tot_pct")}
        return xr.Dataset(data, coords={"region": regions},
                          attrs={"solved": int(self.solved), "whose": self.whose,
                                 "unit": self.unit, "status": self.status})


@dataclass
class _TradeArrays:
    """Index arrays of the bilateral flows, built once per model for :func:`evaluate`."""

    sigma: np.ndarray          # esubm of each flow's commodity
    vxmd: np.ndarray
    tx0: np.ndarray
    wedge0: np.ndarray         # (1 + tx0)(1 + tm0)
    exporter: np.ndarray       # region position of each flow's exporter / importer
    importer: np.ndarray
    tv0: np.ndarray            # benchmark fob value (vxmd (1 + tx0))
    vars: dict[str, list]      # per flow: tm, tx, ice, px (export price), qim, pim variables
    direct: list[tuple[int, Any, list[tuple[float, Any]]]]   # seller, dpur, [(w, pd)]
    final: list[tuple[int, float, Any]]   # region, efd0, qfd (real final demand)


def _trade_arrays(model: CGEModel) -> _TradeArrays:
    cached = getattr(model, "_strategy_arrays", None)
    if cached is not None:
        return cached
    m, ctx, p = model.m, model.ctx, model.ctx.p
    R = ctx.regions
    trd = ctx.TRD
    arr = _TradeArrays(
        sigma=np.array([p["esubm"][i] for i, _, _ in trd]),
        vxmd=np.array([p["vxmd"][k] for k in trd]),
        tx0=np.array([p["tx0"][k] for k in trd]),
        wedge0=np.array([(1 + p["tx0"][k]) * (1 + p["tm0"][k]) for k in trd]),
        exporter=np.array([R.index(s) for _, s, _ in trd], dtype=int),
        importer=np.array([R.index(r) for _, _, r in trd], dtype=int),
        tv0=np.array([p["vxmd"][k] * (1 + p["tx0"][k]) for k in trd]),
        vars={"tm": [m.tm[k] for k in trd], "tx": [m.tx[k] for k in trd],
              "ice": [m.ice[k] for k in trd],
              "px": [export_price(m, ctx, i, s) for i, s, _ in trd],
              "qim": [m.qim[i, r] for i, _, r in trd], "pim": [m.pim[i, r] for i, _, r in trd]},
        direct=[(R.index(s), m.dpur[s, b], [(w, m.pd[i, s]) for i, w in weights.items()])
                for (s, b), weights in ctx.dp_weights.items()],
        final=[(R.index(r), p["efd0"][a, r], m.qfd[a, r]) for (a, r) in ctx.FDA],
    )
    model._strategy_arrays = arr
    return arr


def _values(vars_: list) -> np.ndarray:
    return np.array([v.value for v in vars_], dtype=float)


def _shipped(arr: _TradeArrays) -> tuple[np.ndarray, np.ndarray]:
    r"""(quantity shipped, fob price incl. export tax) of every flow: the model's
    :math:`\tau m V^X` with :math:`m = q^{im} (p^{im}/p^m)^{\sigma^M}` and
    :math:`p^m = p^x (1+tx)(1+tm)\tau / ((1+tx^0)(1+tm^0))` (:mod:`cge.blocks.trade`),
    vectorised."""
    v = {k: _values(x) for k, x in arr.vars.items()}
    pm = v["px"] * (1 + v["tx"]) * (1 + v["tm"]) * v["ice"] / arr.wedge0
    ratio = v["pim"] / pm
    index = np.where(arr.sigma == 0, 1.0, np.where(arr.sigma == 1, ratio, ratio ** arr.sigma))
    qty = arr.vxmd * v["qim"] * index * v["ice"]
    return qty, v["px"] * (1 + v["tx"])


def _indicators(model: CGEModel) -> tuple[np.ndarray, np.ndarray]:
    """(real GDP % change, terms of trade % change) by region, as :mod:`cge.results`."""
    arr, ctx, p = _trade_arrays(model), model.ctx, model.ctx.p
    nr = len(ctx.regions)
    qty, fob = _shipped(arr)
    tq = qty * (1 + arr.tx0)
    unit = np.divide(qty * fob, tq, out=np.ones_like(tq), where=tq != 0)
    exports0 = np.bincount(arr.exporter, arr.tv0, nr)
    imports0 = np.bincount(arr.importer, arr.tv0, nr)
    num_x = np.bincount(arr.exporter, arr.tv0 * unit, nr)
    num_m = np.bincount(arr.importer, arr.tv0 * unit, nr)
    px = np.divide(num_x, exports0, out=np.ones(nr), where=exports0 != 0)
    pm = np.divide(num_m, imports0, out=np.ones(nr), where=imports0 != 0)
    real = np.bincount(arr.exporter, tq, nr) - np.bincount(arr.importer, tq, nr)
    pnum = model.m.pnum.value
    for seller, dpur, goods in arr.direct:
        real[seller] += sum(dpur.value * w * pnum / pd.value for w, pd in goods)
    for k, e0, q in arr.final:
        real[k] += e0 * q.value
    gdp0 = np.array([p["gdp0"][r] for r in ctx.regions])
    return 100 * (real / gdp0 - 1), 100 * (px / pm - 1)


def headline_ev(model: CGEModel, region: str) -> tuple[float, float]:
    """(headline EV, benchmark expenditure it is measured against) of ``region`` at the
    model's current point (:mod:`cge.welfare`: regional EV, or private EV under separate
    institutions)."""
    if headline(model) == "private":
        return private_ev(model, region), model.ctx.p["efd0"]["household", region]
    ev, _, e0 = equivalent_variation(model, region)
    return ev, e0


def evaluate(model: CGEModel, diag: Diagnostics | None = None) -> Evaluation:
    """EV and indicators of the model's current point (see :class:`Evaluation`), from the
    variables' values: no results Dataset is built. ``diag`` (the solve's diagnostics), if
    given, sets ``status``; ``solved`` is checked on the point itself either way (one
    evaluation of the equations)."""
    regions = model.ctx.regions
    ev, ev_pct = {}, {}
    for r in regions:
        e, e0 = headline_ev(model, r)
        ev[r], ev_pct[r] = e, (100 * e / e0 if e0 > 0 else 0.0)
    gdp, tot = _indicators(model)
    res, _ = nlp_residual(model)
    walras = model.m.walras.value
    solved = bool(res <= RESIDUAL_TOL and walras is not None and abs(walras) <= WALRAS_TOL)
    return Evaluation(ev=ev, ev_pct=ev_pct,
                      real_gdp_pct=dict(zip(regions, gdp.tolist(), strict=True)),
                      tot_pct=dict(zip(regions, tot.tolist(), strict=True)),
                      solved=solved, max_residual=float(res), whose=headline(model),
                      unit=model.params.attrs.get("unit", "US$ million"),
                      status=diag.status if diag is not None else
                      ("solved" if solved else "not an equilibrium"))


# --------------------------------------------------------------------------------------------
# Optimal tariff
# --------------------------------------------------------------------------------------------
@dataclass
class OptimalTariff:
    """The result of :func:`optimal_tariff`.

    ``rates``: the optimal free rate of each group (a fraction: the uniform rate with
    ``mode="set"``, the percentage points added to each cell's status-quo rate with
    ``mode="add"``); ``binding``: ``"lower"``, ``"upper"`` or None per group; ``ev``: every
    region's headline EV at the optimum (data unit, against the benchmark); ``ev_start``: the
    same at the starting rates; ``cells``: the tariff cells (commodity, exporter, importer) of
    each group. ``status`` is Ipopt's termination; ``iterations``/``seconds`` those of the
    NLP alone, ``total_seconds`` with the solve at the start and the check; ``check`` the
    diagnostics of the ordinary square solve at the optimal rates (zero or
    one iteration when the NLP point is an equilibrium)."""

    region: str
    partners: tuple[str, ...]
    mode: str
    bounds: tuple[float, float]
    rates: dict[str, float]
    binding: dict[str, str | None]
    ev: dict[str, float]
    ev_start: dict[str, float]
    start: dict[str, float]
    cells: dict[str, list[tuple[str, str, str]]]
    status: str
    iterations: int
    seconds: float
    total_seconds: float
    check: Diagnostics
    unit: str = "US$ million"

    def __str__(self) -> str:
        rates = ", ".join(f"{g} {100 * t:.4g} %" + (f" ({b} bound)" if b else "")
                          for (g, t), b in zip(self.rates.items(), self.binding.values(),
                                               strict=True))
        return (f"optimal tariff of {self.region} on {', '.join(self.partners)} "
                f"({self.mode}): {rates}; EV {self.ev[self.region]:,.6g} {self.unit} "
                f"(Ipopt: {self.status}, {self.iterations} iterations, "
                f"{self.seconds:.2f} s)")


def _groups(model: CGEModel, commodities: str | Sequence[str] | Mapping[str, Any],
            per_commodity: bool) -> dict[str, tuple[str, ...]]:
    """Group name -> commodities: one group for a name/group/list, one per key of a mapping,
    one per commodity with ``per_commodity``."""
    if isinstance(commodities, Mapping):
        groups = {str(g): _resolve(model, "commodities", spec, f"commodities.{g}")
                  for g, spec in commodities.items()}
    else:
        name = commodities if isinstance(commodities, str) else "+".join(commodities)
        groups = {name: _resolve(model, "commodities", commodities, "commodities")}
    if per_commodity:
        groups = {c: (c,) for members in groups.values() for c in members}
    if not groups:
        raise StrategyError("no commodity group given")
    seen: dict[str, str] = {}
    for g, members in groups.items():
        for c in members:
            if c in seen:
                raise StrategyError(f"commodity {c!r} is in two groups ({seen[c]!r} and "
                                    f"{g!r}); each tariff cell has one free rate")
            seen[c] = g
    return groups


def _welfare_objective(model: CGEModel, region: str):
    r"""The Pyomo expression :math:`EV_r / E^0_r` (the headline EV of :mod:`cge.welfare`,
    relative to its benchmark expenditure).

    Regional household: :math:`U_r - 1`, :math:`U_r = \exp \sum_a \theta_a
    \log(Q_a / E^0_a)` over private consumption, civil government and real saving (saving
    deflated by the investment price index incl. taxes), as
    :func:`cge.welfare.utility_components`. Separate institutions: :math:`q^{fd}_{hh} - 1`
    (the private EV :math:`(Q_C/C^0 - 1)`)."""
    m, ctx, p = model.m, model.ctx, model.ctx.p
    if headline(model) == "private":
        if ("household", region) not in ctx.fd_set:
            raise StrategyError(f"{region} has no household demand: its private EV is 0 at "
                                "any tariff")
        return m.qfd["household", region] - 1.0
    parts = []   # (benchmark expenditure E0_a, Q_a / E0_a)
    for a in ("household", "government"):
        if (a, region) in ctx.fd_set:
            parts.append((p["efd0"][a, region], m.qfd[a, region]))
    sav0 = p["sav0"][region]
    if sav0 > 0:
        if ("investment", region) in ctx.fd_set:
            pinv = ((1.0 + m.tfd_eff["investment", region]) * m.pfd["investment", region]
                    / (1.0 + p["tfd0"]["investment", region]))
        else:
            pinv = 1.0
        parts.append((sav0, m.saving[region] / pinv / sav0))
    if not parts:
        raise StrategyError(f"{region} has no welfare components (no household, government "
                            "or saving in the benchmark)")
    e0 = sum(e for e, _ in parts)
    return exp(sum(e / e0 * log(q) for e, q in parts)) - 1.0


@contextmanager
def _domain_errors() -> Iterator[None]:
    """A math error in the welfare expression at a trial point (the log of a non-positive
    real quantity, an overflow) is an evaluation error for Ipopt, which shortens the step."""
    from pyomo.contrib.pynumero.exceptions import PyNumeroEvaluationError

    try:
        yield
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise PyNumeroEvaluationError(f"welfare objective: {exc}") from exc


class _TariffCallbacks(_Callbacks):
    """Ipopt's callbacks for the optimal-tariff NLP: the model's constraints (AMPL) plus the
    linear linking equations ``tm_cell - t_group = c_cell``; objective ``-EV_r/E0_r``
    evaluated on the few variables it contains (Pyomo), gradient by reverse-mode
    differentiation. Values beyond :data:`cge.solve.MAX_EVALUATION` or AMPL domain errors
    are evaluation errors for Ipopt, as in the ordinary solve."""

    def __init__(self, pnlp, iters: list[int], objective, obj_vars: list, obj_pos: np.ndarray,
                 cell_pos: np.ndarray, cell_group: np.ndarray, n_groups: int):
        super().__init__(pnlp, iters)
        self.n = len(pnlp.vars)
        self.expr, self.obj_vars, self.obj_pos = objective, obj_vars, obj_pos
        self.cell_pos, self.cell_group = cell_pos, cell_group
        self.t_pos = self.n + cell_group
        rows, cols = pnlp.jacobian_structure
        k = len(cell_pos)
        link_rows = pnlp.n_equations + np.arange(k)
        self.structure = (np.concatenate([rows, link_rows, link_rows]).astype(np.intc),
                          np.concatenate([cols, cell_pos, self.t_pos]).astype(np.intc))
        self.link_values = np.concatenate([np.ones(k), -np.ones(k)])
        self.n_total = self.n + n_groups

    def _load(self, x) -> None:
        for v, xv in zip(self.obj_vars, x[self.obj_pos], strict=True):
            v.set_value(float(xv), skip_validation=True)

    def _objective(self, x) -> np.ndarray:
        self._load(x)
        with _domain_errors():
            return np.array([-value(self.expr)])

    def _gradient(self, x) -> np.ndarray:
        self._load(x)
        grad = np.zeros(self.n_total)
        with _domain_errors():
            d = differentiate(self.expr, wrt_list=self.obj_vars, mode=Modes.reverse_numeric)
        np.add.at(grad, self.obj_pos, -np.asarray(d, dtype=float))
        return grad

    def objective(self, x):
        return float(self._evaluate(self._objective, x)[0])

    def gradient(self, x):
        return self._evaluate(self._gradient, x)

    def constraints(self, x):
        g = self._evaluate(self.pnlp.constraint_values, x[:self.n])
        return np.concatenate([g, x[self.cell_pos] - x[self.t_pos]])

    def jacobianstructure(self):
        return self.structure

    def jacobian(self, x):
        jac = self._evaluate(self.pnlp.jacobian_values, x[:self.n])
        return np.concatenate([jac, self.link_values])


def _target_model(target: Session | CGEModel, scenario: str | Scenario | None) -> CGEModel:
    """The model to optimise: a Session's (reset to the benchmark, or at ``scenario``), or a
    model as it is."""
    if isinstance(target, CGEModel):
        if scenario is not None:
            raise StrategyError("scenario= needs a Session; on a model, set the instruments "
                                "first (set_tariff, set_transfer, apply_scenario)")
        return target
    from cge.api import Session

    if not isinstance(target, Session):
        raise StrategyError(f"expected a cge.Session or a built model, got "
                            f"{type(target).__name__}")
    if scenario is None:
        model = target.model()
        model.restore(model._benchmark)
        return model
    return target.prepared(scenario)[1]


def _check_bounds(bounds: tuple[float, float], mode: str) -> tuple[float, float]:
    lo, hi = (float(b) for b in bounds)
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise StrategyError(f"bounds must be two finite numbers, lower < upper, got {bounds}")
    if mode == "set" and not (-1.0 < lo and hi <= MAX_RATE):
        raise StrategyError(f"bounds {bounds} on a tariff rate must lie in (-1, {MAX_RATE:g}] "
                            "(fractions: -100 % < rate <= 100 000 %)")
    return lo, hi


def _fix_cells(model: CGEModel, cells: dict[str, list], const: dict, rates: Mapping[str, float]
               ) -> None:
    tm = model.m.tm
    for g, group_cells in cells.items():
        for cell in group_cells:
            tm[cell].fix(rates[g] + const[cell])


def optimal_tariff(target: Session | CGEModel, region: str, on: str | Sequence[str] = "all",
                   commodities: str | Sequence[str] | Mapping[str, Any] = "goods", *,
                   bounds: tuple[float, float] = (0.0, 1.0),
                   start: float | Mapping[str, float] | None = None,
                   per_commodity: bool = False, mode: str = "set",
                   scenario: str | Scenario | None = None, options: dict | None = None
                   ) -> OptimalTariff:
    r"""Region ``region``'s import tariffs that maximise its EV, every other instrument fixed,
    solved as one NLP (module docstring).

    ``target``: a :class:`cge.Session` (its model is put back to the benchmark, or to
    ``scenario`` — a file, library name or :class:`~cge.scenario.Scenario` — whose
    instruments are then the fixed ones) or a built model, used with the instruments now set
    on it. ``on``: the partner(s) whose goods are taxed (a name, group, ``"all"``, a list);
    ``commodities``: one group (a name, group or list: one free rate), a mapping
    ``{group name: commodities}`` (one free rate per group) or, with ``per_commodity``, one
    rate per commodity. ``mode="set"``: every cell of a group takes the group's rate;
    ``mode="add"``: each cell keeps its status-quo rate plus the group's percentage points.
    ``bounds``: lower and upper bound of each free rate (fractions); ``start``: the rates the
    NLP starts from (default: the benchmark-flow-weighted mean status-quo rate of the group
    with ``"set"``, 0 with ``"add"``, moved into the bounds); the model is solved there first.
    ``options``: Ipopt options over :data:`NLP_OPTIONS`.

    The model is left at the optimum: the freed cells fixed at their optimal rates and the
    equilibrium solved, so :func:`evaluate` or :func:`cge.results.extract_results` can follow.
    On failure it is put back where it was and :class:`~cge.solve.SolveError` is raised.

    The objective is region r's welfare only: the partners' EVs are reported, not weighed;
    a positive optimal tariff is the classical terms-of-trade argument (a large country
    lowers the world price of what it imports), which is beggar-thy-neighbour.
    """
    if mode not in ("set", "add"):
        raise StrategyError(f"mode must be 'set' (one uniform rate) or 'add' (percentage "
                            f"points on each cell's rate), got {mode!r}")
    model = _target_model(target, scenario)
    region = _single_region(model, region, "region")
    partners = tuple(s for s in _resolve(model, "regions", on, "on") if s != region)
    if not partners:
        raise StrategyError(f"no partner of {region} in on={on!r}")
    groups = _groups(model, commodities, per_commodity)
    cells = {g: _tariff_cells(model, (region,), partners, members)
             for g, members in groups.items()}
    empty = [g for g, c in cells.items() if not c]
    if empty:
        raise StrategyError(f"{region} imports nothing of group(s) {empty} from "
                            f"{', '.join(partners)} in the benchmark: no tariff to set")
    lo, hi = _check_bounds(bounds, mode)
    tm, p = model.m.tm, model.ctx.p
    status_quo = {cell: tm[cell].value for group_cells in cells.values() for cell in group_cells}
    const = (dict.fromkeys(status_quo, 0.0) if mode == "set" else dict(status_quo))
    if mode == "add":
        worst = min(status_quo.values()) + lo
        if worst <= -1.0:
            raise StrategyError(f"lower bound {lo} would take a rate to {worst:.4g} <= -100 %")
        if max(status_quo.values()) + hi > MAX_RATE:
            raise StrategyError(f"upper bound {hi} would take a rate beyond {MAX_RATE:g}")
    start_rates = _start_rates(cells, status_quo, p["vxmd"], start, mode, lo, hi)
    snap = model.snapshot()
    began = time.perf_counter()
    try:
        _fix_cells(model, cells, const, start_rates)
        solve(model)
        ev_start = {r: headline_ev(model, r)[0] for r in model.ctx.regions}
        nlp_began = time.perf_counter()
        x, status, term, iters = _solve_nlp(model, region, cells, const, start_rates,
                                            lo, hi, options or {})
        nlp_seconds = time.perf_counter() - nlp_began
        rates = {g: float(x[k]) for k, g in enumerate(cells)}
        if status not in (0, 1):
            raise SolveError(f"optimal tariff of {region}: Ipopt stopped with '{term}' after "
                             f"{iters} iterations", Diagnostics(status="failed",
                                                                termination=term,
                                                                iterations=iters))
        _fix_cells(model, cells, const, rates)
        check = solve(model)
    except BaseException:
        model.restore(snap)
        raise
    binding = {g: ("lower" if t <= lo + BINDING_TOL else "upper" if t >= hi - BINDING_TOL
                   else None) for g, t in rates.items()}
    return OptimalTariff(
        region=region, partners=partners, mode=mode, bounds=(lo, hi), rates=rates,
        binding=binding, ev={r: headline_ev(model, r)[0] for r in model.ctx.regions},
        ev_start=ev_start, start=start_rates, cells=cells, status=term, iterations=iters,
        seconds=nlp_seconds, total_seconds=time.perf_counter() - began, check=check,
        unit=model.params.attrs.get("unit", "US$ million"))


def _start_rates(cells: dict[str, list], status_quo: dict, vxmd, start, mode: str,
                 lo: float, hi: float) -> dict[str, float]:
    """The free rates the NLP starts from, inside [lo, hi]."""
    out = {}
    for g, group_cells in cells.items():
        if isinstance(start, Mapping):
            if g not in start:
                raise StrategyError(f"start has no rate for group {g!r} (groups: "
                                    f"{list(cells)})")
            t = float(start[g])
        elif start is not None:
            t = float(start)
        elif mode == "add":
            t = 0.0
        else:
            w = np.array([vxmd[c] for c in group_cells])
            t = float(np.dot(w, [status_quo[c] for c in group_cells]) / w.sum())
        if start is not None and not lo <= t <= hi:
            raise StrategyError(f"start rate {t} of group {g!r} is outside the bounds "
                                f"[{lo}, {hi}]")
        out[g] = min(max(t, lo), hi)
    return out


def _solve_nlp(model: CGEModel, region: str, cells: dict[str, list], const: dict,
               start: dict[str, float], lo: float, hi: float, options: dict
               ) -> tuple[np.ndarray, int, str, int]:
    """Run Ipopt on the optimal-tariff NLP from the model's current (solved) point. Returns
    (the free rates, Ipopt status, termination text, iterations); the model's free variables
    get Ipopt's point when it is finite."""
    import cyipopt

    pnlp = model_nlp(model)
    position = {id(v): k for k, v in enumerate(pnlp.vars)}
    expr = _welfare_objective(model, region)
    obj_vars = [v for v in identify_variables(expr, include_fixed=True)]
    missing = [v.name for v in obj_vars if id(v) not in position and not v.fixed]
    if missing:
        raise StrategyError(f"welfare of {region} depends on variables outside the model's "
                            f"equations: {missing[:3]}")
    obj_vars = [v for v in obj_vars if id(v) in position]
    group_names = list(cells)
    flat = [(cell, k) for k, g in enumerate(group_names) for cell in cells[g]]
    cell_pos = np.array([position[id(model.m.tm[cell])] for cell, _ in flat], dtype=int)
    cell_group = np.array([k for _, k in flat], dtype=int)
    x0, lb, ub = pnlp.current()
    lb[cell_pos], ub[cell_pos] = -np.inf, np.inf          # freed: tied to t by the links
    t0 = np.array([start[g] for g in group_names])
    n_groups = len(group_names)
    x0 = np.concatenate([x0, t0])
    lb = np.concatenate([lb, np.full(n_groups, lo)])
    ub = np.concatenate([ub, np.full(n_groups, hi)])
    rhs = np.concatenate([pnlp.rhs, [const[cell] for cell, _ in flat]])
    iters = [0]
    callbacks = _TariffCallbacks(pnlp, iters, expr, obj_vars,
                                 np.array([position[id(v)] for v in obj_vars], dtype=int),
                                 cell_pos, cell_group, n_groups)
    saved = [(v, v.value) for v in obj_vars]
    opts = {**IPOPT_OPTIONS, **NLP_OPTIONS, **options}
    try:
        problem = cyipopt.Problem(n=len(x0), m=len(rhs), problem_obj=callbacks, lb=lb, ub=ub,
                                  cl=rhs, cu=rhs)
        for key, val in opts.items():
            problem.add_option(key, val)
        x, info = problem.solve(x0)
    finally:
        for v, val in saved:
            v.set_value(val, skip_validation=True)
    if callbacks.failure is not None:
        raise callbacks.failure
    status = int(info["status"])
    term = IPOPT_STATUS.get(status, f"ipopt status {status}")
    if not np.all(np.isfinite(x)):
        return t0, -13, f"{term}; Ipopt's point is not finite", iters[0]
    for v, xv in zip(pnlp.vars, x[:len(pnlp.vars)], strict=True):
        if not v.fixed:
            v.set_value(float(xv), skip_validation=True)
    return x[len(pnlp.vars):], status, term, iters[0]


# --------------------------------------------------------------------------------------------
# EV along a grid of rates
# --------------------------------------------------------------------------------------------
def ev_curve(target: Session | CGEModel, region: str, on: str | Sequence[str] = "all",
             commodities: str | Sequence[str] = "goods", rates: Sequence[float] = (),
             *, mode: str = "set") -> xr.DataArray:
    """Every region's headline EV (data unit) when ``region``'s tariff on ``commodities`` from
    ``on`` is each of ``rates`` (fractions; ``mode="set"``: the uniform rate, ``"add"``:
    percentage points on each cell's current rate). Each point is an ordinary square solve,
    warm-started from the previous one; the other instruments are those now set on the model
    (a Session's model is put back to the benchmark first). The model is put back where it
    was at the end. Dims ``(rate, region)``."""
    if mode not in ("set", "add"):
        raise StrategyError(f"mode must be 'set' or 'add', got {mode!r}")
    model = _target_model(target, None)
    region = _single_region(model, region, "region")
    partners = tuple(s for s in _resolve(model, "regions", on, "on") if s != region)
    members = _resolve(model, "commodities", commodities, "commodities")
    cells = {"group": _tariff_cells(model, (region,), partners, members)}
    if not cells["group"]:
        raise StrategyError(f"{region} imports none of {list(members)} from {list(partners)}")
    tm = model.m.tm
    const = {c: (tm[c].value if mode == "add" else 0.0) for c in cells["group"]}
    grid = [float(t) for t in rates]
    regions = model.ctx.regions
    out = np.full((len(grid), len(regions)), np.nan)
    snap = model.snapshot()
    try:
        for k, t in enumerate(grid):
            _fix_cells(model, cells, const, {"group": t})
            solve(model)
            out[k] = [headline_ev(model, r)[0] for r in regions]
    finally:
        model.restore(snap)
    return xr.DataArray(out, dims=("rate", "region"), coords={"rate": grid, "region": regions},
                        name="EV", attrs={"description": f"EV when {region}'s tariff on "
                                          f"{commodities} from {', '.join(partners)} is "
                                          f"'rate' ({mode})",
                                          "units": model.params.attrs.get("unit", "")})
