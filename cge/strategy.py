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
* **Nash tariffs.** :func:`nash`: each player's best response (its :func:`optimal_tariff`
  against the others' current rates) in Gauss-Seidel rounds until no rate moves by more than
  ``tol``; rounds counted, the path kept, non-convergence (too many rounds, a cycle, a failed
  best response) reported or raised (:class:`NashError`); the final point is an ordinary
  square solve whose results Dataset (:meth:`NashResult.to_results`) is saved like a
  scenario's, and whose scenario text reproduces it.
* **Equivalence.** One instrument freed and one equation in EV solved on ordinary square
  solves (secant, safeguarded by bisection once bracketed, a grid scan when it leaves the
  bracket; to :data:`EQ_RTOL` relative): :func:`equivalent_transfer` (the transfer that alone
  gives a region a scenario's EV), :func:`equivalent_tariff` (the uniform tariff that alone
  gives a region a transfer's EV), :func:`indifference_transfer` (the transfer at which the
  payer is indifferent between paying it and facing the scenario).

Measured on the default data (8 regions x 11 commodities, 2-core machine): :func:`evaluate`
1.5 ms against 24 ms for :func:`cge.results.extract_results`; the optimal uniform US tariff on
all goods imports 0.2 s for the NLP (9 Ipopt iterations) against 0.09 s for one ordinary solve
of a tariff scenario (4 iterations), and the same rate as a bounded scalar search over 15
ordinary solves (2.2 s) to 1e-8; three groups 0.25 s, nine (one rate per good) 0.7 s. The
US-JPN Nash war on goods (one uniform rate each, on the other): USA 7.89 %, JPN 7.13 %, 3
rounds, 1.7-2.9 s; the JPN -> USA transfer equivalent for the US to
``us_jpn_reciprocal_autos``: -3.05 bn (the US pays Japan), 4 solves, 0.6 s.

Units: tariff rates are fractions (0.25 = 25 %; scenario files use percent), EV and transfers
are in the data set's currency unit (``model.params.attrs["unit"]``, US$ million for the default
data) at benchmark prices; EV is measured against the benchmark, not against the status quo.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from pyomo.core.expr.calculus.derivatives import Modes, differentiate
from pyomo.core.expr.visitor import identify_variables
from pyomo.environ import value

from cge.blocks.flows import export_price
from cge.implicit import polish
from cge.model import CGEModel
from cge.results import extract_results
from cge.scenario import (
    ForeignSaving,
    RateShock,
    Scenario,
    ScenarioError,
    ScenarioParser,  # the scenario files' name resolver (names, groups, "all", "all_but:X", lists)
    Sets,
    Transfer,
)
from cge.shocks import (
    MAX_RATE,
    ShockReport,
    apply_foreign_saving,
    apply_rate_shock,
    apply_transfer,
    buy_from,
    check_budgets,
    reset_instruments,
)
from cge.solve import (
    IPOPT_OPTIONS,
    IPOPT_STATUS,
    RESIDUAL_TOL,
    WALRAS_TOL,
    Diagnostics,
    SolveCallbacks,
    SolveError,
    model_nlp,
    nlp_residual,
    solve,
)
from cge.welfare import equivalent_variation, ev_expression, headline, private_ev

if TYPE_CHECKING:
    from cge.api import Session

__all__ = [
    "Equivalence",
    "Evaluation",
    "NashError",
    "NashResult",
    "NashStep",
    "OptimalTariff",
    "StrategyError",
    "equivalent_tariff",
    "equivalent_transfer",
    "ev_curve",
    "evaluate",
    "get_purchases",
    "get_tariffs",
    "get_transfers",
    "headline_ev",
    "indifference_transfer",
    "nash",
    "nash_results",
    "optimal_tariff",
    "reset",
    "set_foreign_saving",
    "set_purchases",
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


def resolve_names(model: CGEModel, kind: str, spec: str | Sequence[str], field_name: str
             ) -> tuple[str, ...]:
    """Names of ``kind`` ("regions" or "commodities") for a name, group or list, in the data
    set's order, with the scenario files' resolver (a :class:`~cge.scenario.ScenarioError`
    naming ``field_name`` for an unknown one)."""
    names = list(spec) if not isinstance(spec, str) else spec
    return ScenarioParser(_sets(model), SOURCE).resolve(kind, names, field_name)


def single_region(model: CGEModel, name: str, field_name: str) -> str:
    return ScenarioParser(_sets(model), SOURCE).single_region(name, field_name)


def two_regions(model: CGEModel, a: str, b: str, roles: tuple[str, str], *, where: str = "",
                 label: str = "") -> tuple[str, str]:
    """Two single, different regions (payer and recipient, buyer and seller): ``where`` is the
    field prefix of their names in errors (e.g. ``instruments[2].``), ``label`` the
    message's."""
    a = single_region(model, a, f"{where}{roles[0]}")
    b = single_region(model, b, f"{where}{roles[1]}")
    if a == b:
        raise StrategyError(f"{label + ': ' if label else ''}{roles[0]} and {roles[1]} are both "
                            f"{a!r}; they must differ")
    return a, b


def purchases_var(model: CGEModel, buyer: str, seller: str, label: str = ""):
    """``dpur[seller, buyer]``, if the seller produces goods of the buyer's defense bundle."""
    if (seller, buyer) not in model.ctx.dp_weights:
        raise StrategyError(f"{label + ': ' if label else ''}{seller} produces none of the "
                            f"goods in {buyer}'s defense bundle")
    return model.m.dpur[seller, buyer]


def tariff_cells(model: CGEModel, importers: Sequence[str], exporters: Sequence[str],
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
    shock = RateShock("tm", resolve_names(model, "commodities", commodities, "commodities"),
                      resolve_names(model, "regions", exporter, "exporter"),
                      resolve_names(model, "regions", importer, "importer"),
                      "set" if rate is not None else "add", amount, "tariff")
    report = ShockReport()
    apply_rate_shock(model, shock, SOURCE, report)
    return report.changed


def get_tariffs(model: CGEModel, importer: str, exporter: str | Sequence[str] | None = None
                ) -> xr.DataArray:
    """Import tariffs of ``importer`` now set on the model (fractions), by commodity and
    exporter; NaN where there is no benchmark flow (no tariff variable). ``exporter``: all
    partners (None), a group or list (dims ``commodity, exporter``) or one name (dim
    ``commodity``)."""
    importer = single_region(model, importer, "importer")
    partners = (tuple(s for s in model.ctx.regions if s != importer) if exporter is None
                else resolve_names(model, "regions", exporter, "exporter"))
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
    payer, recipient = two_regions(model, payer, recipient, ("payer", "recipient"))
    var = _transfer_var(model, between)[payer, recipient]
    change = float(add) if add is not None else float(amount) - var.value
    if not math.isfinite(change):
        raise StrategyError(f"the transfer must be a finite number, got {amount or add!r}")
    t = Transfer(payer, recipient, change, None, "transfer", between)
    apply_transfer(model, t, SOURCE, {})
    check_budgets(model, _scenario_of(t))
    return float(var.value)


def _scenario_of(t: Transfer | None) -> Scenario:
    """A one-transfer (or empty) scenario, for the budget check's messages."""
    return Scenario(name="strategy", description="", rate_shocks=(),
                    transfers=(t,) if t is not None else (),
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


def set_purchases(model: CGEModel, buyer: str, seller: str, amount: float | None = None,
                  add: float | None = None) -> float:
    """Set (``amount``) or raise (``add``) the direct purchases by ``buyer``'s government from
    ``seller``'s producers (``dpur``: Foreign Military Sales, stationing costs; data unit per
    year, the goods of the buyer's defense bundle, financed by the buyer's financing rule);
    returns the new amount. Applied like a scenario's direct purchases (:mod:`cge.shocks`): the
    amount must stay >= 0, all purchases from the seller below its benchmark GDP, and every
    budget positive at benchmark prices, else a :class:`~cge.scenario.ScenarioError`. Nothing
    is solved."""
    if (amount is None) == (add is None):
        raise StrategyError("give exactly one of amount (the new purchases) and add (a change)")
    buyer, seller = two_regions(model, buyer, seller, ("buyer", "seller"))
    var = purchases_var(model, buyer, seller)
    change = float(add) if add is not None else float(amount) - var.value
    if not math.isfinite(change) or var.value + change < 0.0:
        raise StrategyError(f"purchases must be a finite amount >= 0, got "
                            f"{var.value + change!r}")
    buy_from(model, seller, buyer, change, "purchases", SOURCE)
    check_budgets(model, _scenario_of(None))
    return float(var.value)


def get_purchases(model: CGEModel) -> xr.DataArray:
    """Direct government purchases now set on the model (data unit), by seller and buyer."""
    regions = model.ctx.regions
    dpur = model.m.dpur
    values = np.array([[dpur[s, b].value if s != b else 0.0 for b in regions]
                       for s in regions], dtype=float)
    return xr.DataArray(values, dims=("seller", "buyer"),
                        coords={"seller": regions, "buyer": regions}, name="purchases",
                        attrs={"description": "direct purchases by the buyer's government "
                                              "from the seller's producers",
                               "units": model.params.attrs.get("unit", "US$ million")})


def set_foreign_saving(model: CGEModel, region: str, level: float | None = None,
                       add: float | None = None, offset: str | Sequence[str] = "all"
                       ) -> dict[str, float]:
    """Set (``level``) or raise (``add``) ``region``'s foreign saving (its capital inflow,
    the current-account deficit; data unit per year, numeraire-valued); ``offset`` (a region,
    group, list or ``"all"`` others) moves the opposite way in proportion to benchmark
    income, as a scenario's ``[[foreign_saving]]`` (the same code, :mod:`cge.shocks`; needs
    the fixed current account). Returns every region's foreign saving. Nothing is solved."""
    if (level is None) == (add is None):
        raise StrategyError("give exactly one of level (the new foreign saving) and add")
    region = single_region(model, region, "region")
    others = tuple(r for r in resolve_names(model, "regions", offset, "offset") if r != region)
    if not others:
        raise StrategyError(f"offset {offset!r} names no region other than {region}")
    for x in (level, add):
        if x is not None and not math.isfinite(float(x)):
            raise StrategyError(f"foreign saving must be finite, got {x!r}")
    table = ForeignSaving(region, None if add is None else float(add),
                          None if level is None else float(level), others, "foreign_saving")
    apply_foreign_saving(model, table, SOURCE)
    return {r: float(model.m.fsav[r].value) for r in model.ctx.regions}


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
        groups = {str(g): resolve_names(model, "commodities", spec, f"commodities.{g}")
                  for g, spec in commodities.items()}
    else:
        name = commodities if isinstance(commodities, str) else "+".join(commodities)
        groups = {name: resolve_names(model, "commodities", commodities, "commodities")}
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


def welfare_objective(model: CGEModel, region: str):
    """:func:`cge.welfare.ev_expression`, its errors as :class:`StrategyError`."""
    try:
        return ev_expression(model, region)
    except ValueError as exc:
        raise StrategyError(str(exc)) from None


@contextmanager
def domain_errors() -> Iterator[None]:
    """A math error in the welfare expression at a trial point (the log of a non-positive
    real quantity, an overflow) is an evaluation error for Ipopt, which shortens the step."""
    from pyomo.contrib.pynumero.exceptions import PyNumeroEvaluationError

    try:
        yield
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise PyNumeroEvaluationError(f"welfare objective: {exc}") from exc


class TariffCallbacks(SolveCallbacks):
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
        with domain_errors():
            return np.array([-value(self.expr)])

    def _gradient(self, x) -> np.ndarray:
        self._load(x)
        grad = np.zeros(self.n_total)
        with domain_errors():
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


def target_model(target: Session | CGEModel, scenario: str | Scenario | None) -> CGEModel:
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
    model = target_model(target, scenario)
    region, partners, cells = _optimal_cells(model, region, on, commodities, per_commodity)
    lo, hi = _check_bounds(bounds, mode)
    status_quo, const = _status_quo(model, cells, mode, lo, hi)
    start_rates = _start_rates(cells, status_quo, model.ctx.p["vxmd"], start, mode, lo, hi)
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


def _optimal_cells(model: CGEModel, region: str, on, commodities, per_commodity: bool
                   ) -> tuple[str, tuple[str, ...], dict[str, list]]:
    """The region, its partners in ``on`` and the tariff cells of each free rate's group;
    an error if a group has no benchmark imports."""
    region = single_region(model, region, "region")
    partners = tuple(s for s in resolve_names(model, "regions", on, "on") if s != region)
    if not partners:
        raise StrategyError(f"no partner of {region} in on={on!r}")
    groups = _groups(model, commodities, per_commodity)
    cells = {g: tariff_cells(model, (region,), partners, members)
             for g, members in groups.items()}
    empty = [g for g, c in cells.items() if not c]
    if empty:
        raise StrategyError(f"{region} imports nothing of group(s) {empty} from "
                            f"{', '.join(partners)} in the benchmark: no tariff to set")
    return region, partners, cells


def _status_quo(model: CGEModel, cells: dict[str, list], mode: str, lo: float, hi: float
                ) -> tuple[dict, dict]:
    """The cells' rates now, and the constant each free rate is added to (0 with ``"set"``,
    the status-quo rate with ``"add"``, whose bounds must keep every rate in range)."""
    tm = model.m.tm
    status_quo = {cell: tm[cell].value for group_cells in cells.values() for cell in group_cells}
    const = (dict.fromkeys(status_quo, 0.0) if mode == "set" else dict(status_quo))
    if mode == "add":
        worst = min(status_quo.values()) + lo
        if worst <= -1.0:
            raise StrategyError(f"lower bound {lo} would take a rate to {worst:.4g} <= -100 %")
        if max(status_quo.values()) + hi > MAX_RATE:
            raise StrategyError(f"upper bound {hi} would take a rate beyond {MAX_RATE:g}")
    return status_quo, const


def _tariff_search_range(model: CGEModel, cells: list, mode: str,
                         bracket: tuple[float, float] | None
                         ) -> tuple[dict, float, float, float]:
    """For the equivalent tariff: the constant each cell's rate is the unknown added to (its
    benchmark rate with ``"add"``, 0 with ``"set"``), the start (0, or the flow-weighted
    mean benchmark rate) and the bracket; an error if it takes a rate out of range."""
    tm, vxmd = model.m.tm, model.ctx.p["vxmd"]
    base = {cell: model._benchmark["values"][_position(model, tm[cell])] for cell in cells}
    const = dict(base) if mode == "add" else dict.fromkeys(cells, 0.0)
    if mode == "add":
        default = (-min(base.values()), 1.0)
        x0 = 0.0
    else:
        default = (0.0, 1.0)
        w = np.array([vxmd[c] for c in cells])
        x0 = float(np.dot(w, [base[c] for c in cells]) / w.sum())
    lo, hi = _bracket(bracket, default)
    if min(const.values()) + lo <= -1.0 or max(const.values()) + hi > MAX_RATE:
        raise StrategyError(f"bracket {(lo, hi)} would take a rate outside (-1, {MAX_RATE:g}]")
    return const, x0, lo, hi


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


def run_ipopt(callbacks, x0: np.ndarray, lb: np.ndarray, ub: np.ndarray, cl: np.ndarray,
               cu: np.ndarray, touched: Sequence[Any], options: Mapping[str, object]
               ) -> tuple[np.ndarray, int, str]:
    """Solve one strategy NLP with cyipopt: ``callbacks`` on ``len(x0)`` variables within
    ``[lb, ub]`` and ``len(cl)`` rows within ``[cl, cu]``, Ipopt options
    :data:`cge.solve.IPOPT_OPTIONS` + :data:`NLP_OPTIONS` + ``options``. The Pyomo variables
    in ``touched`` (those the callbacks set to evaluate the welfare expressions) get their
    values back afterwards; a failure the callbacks recorded is raised. Returns (Ipopt's point,
    its status, the termination text)."""
    import cyipopt

    saved = [(v, v.value) for v in {id(v): v for v in touched}.values()]
    opts = {**IPOPT_OPTIONS, **NLP_OPTIONS, **options}
    try:
        problem = cyipopt.Problem(n=len(x0), m=len(cl), problem_obj=callbacks, lb=lb, ub=ub,
                                  cl=cl, cu=cu)
        for key, val in opts.items():
            problem.add_option(key, val)
        x, info = problem.solve(x0)
    finally:
        for v, val in saved:
            v.set_value(val, skip_validation=True)
    if callbacks.failure is not None:
        raise callbacks.failure
    status = int(info["status"])
    return x, status, IPOPT_STATUS.get(status, f"ipopt status {status}")


def _solve_nlp(model: CGEModel, region: str, cells: dict[str, list], const: dict,
               start: dict[str, float], lo: float, hi: float, options: dict
               ) -> tuple[np.ndarray, int, str, int]:
    """Run Ipopt on the optimal-tariff NLP from the model's current (solved) point. Returns
    (the free rates, Ipopt status, termination text, iterations); the model's free variables
    get Ipopt's point when it is finite."""
    pnlp = model_nlp(model)
    position = {id(v): k for k, v in enumerate(pnlp.vars)}
    expr = welfare_objective(model, region)
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
    callbacks = TariffCallbacks(pnlp, iters, expr, obj_vars,
                                 np.array([position[id(v)] for v in obj_vars], dtype=int),
                                 cell_pos, cell_group, n_groups)
    x, status, term = run_ipopt(callbacks, x0, lb, ub, rhs, rhs, obj_vars, options)
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
    model = target_model(target, None)
    region = single_region(model, region, "region")
    partners = tuple(s for s in resolve_names(model, "regions", on, "on") if s != region)
    members = resolve_names(model, "commodities", commodities, "commodities")
    cells = {"group": tariff_cells(model, (region,), partners, members)}
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


# --------------------------------------------------------------------------------------------
# Nash tariffs: best responses until the rates stop moving
# --------------------------------------------------------------------------------------------
class NashError(RuntimeError):
    """The best-response iteration did not reach a Nash equilibrium (``strict=True``);
    ``result`` is the :class:`NashResult` as far as it got (rates, path, reason)."""

    def __init__(self, message: str, result: NashResult):
        super().__init__(message)
        self.result = result


Rates = dict[str, dict[str, float]]


@dataclass
class NashStep:
    """One move of the best-response path: in round ``round`` (0: the start), ``player`` chose
    its best response; ``rates`` are every player's rates after the move (player -> group ->
    fraction), ``ev`` every region's EV there (data unit, against the benchmark);
    ``iterations``/``status`` those of the player's optimal-tariff NLP (of the square solve at
    the start for round 0)."""

    round: int
    player: str
    rates: Rates
    ev: dict[str, float]
    iterations: int
    status: str


@dataclass
class NashResult:
    """The result of :func:`nash`.

    ``rates``: each player's tariff on its partners at the end (player -> group -> fraction:
    the uniform rate with ``mode="set"``, percentage points on the starting rates with
    ``"add"``); ``binding``: the bound each rate sits on (``"lower"``, ``"upper"`` or None);
    ``ev`` / ``ev_start``: every region's headline EV (data unit, benchmark prices, measured
    against the benchmark) at the end and at the starting rates, ``ev_change`` their
    difference; ``path``: every move (:class:`NashStep`, round 0 the start); ``rounds``: the
    Gauss-Seidel rounds run (every player moved once per round); ``converged``: the last round
    moved no rate by more than ``tol``; ``reason``: ``"converged"``, or why not (``max_rounds``,
    a cycle, a failed best response); ``max_change``: the largest rate change of the last round.
    ``check``: the ordinary square solve at the final rates. ``scenario_text``: a scenario file
    (TOML) that reproduces the final point from the benchmark (empty when the game started from
    other instruments than the benchmark's). :meth:`to_results` gives the results Dataset."""

    players: tuple[str, ...]
    partners: dict[str, tuple[str, ...]]
    groups: dict[str, tuple[str, ...]]
    mode: str
    bounds: tuple[float, float]
    tol: float
    rates: Rates
    binding: dict[str, dict[str, str | None]]
    ev: dict[str, float]
    ev_start: dict[str, float]
    start: Rates
    path: list[NashStep]
    rounds: int
    converged: bool
    reason: str
    max_change: float
    seconds: float
    check: Diagnostics
    scenario_text: str
    results: xr.Dataset
    unit: str = "US$ million"

    @property
    def ev_change(self) -> dict[str, float]:
        """EV at the end minus EV at the start, by region (data unit)."""
        return {r: self.ev[r] - self.ev_start[r] for r in self.ev}

    def to_results(self) -> xr.Dataset:
        """The final point's results Dataset (:func:`cge.results.extract_results`, as
        ``Session.run`` returns), with the game in its attrs (``strategy_game = "nash"``,
        ``nash_*``) and the rates and the path as variables (``nash_rate``,
        ``nash_path_rate``, ``nash_path_EV``, ``nash_path_round``, ``nash_path_mover``);
        writable with :func:`cge.api.write_netcdf`. A copy: the caller may change it."""
        return self.results.copy(deep=True)

    def __str__(self) -> str:
        rates = "; ".join(f"{p} " + ", ".join(f"{g} {100 * t:.4g} %"
                                              for g, t in self.rates[p].items())
                          for p in self.players)
        evs = ", ".join(f"{p} {self.ev[p]:,.6g}" for p in self.players)
        state = (f"converged in {self.rounds} rounds" if self.converged
                 else f"NOT converged after {self.rounds} rounds ({self.reason})")
        return (f"Nash tariffs ({self.mode}) of {', '.join(self.players)}: {rates}; "
                f"EV {evs} {self.unit}; {state}, {self.seconds:.2f} s")


def _flat(rates: Rates) -> np.ndarray:
    return np.array([t for p in rates for t in rates[p].values()], dtype=float)


def _copy_rates(rates: Rates) -> Rates:
    return {p: dict(g) for p, g in rates.items()}


def _nash_partners(model: CGEModel, players: tuple[str, ...],
                   on: str | Sequence[str] | Mapping[str, Any] | None
                   ) -> dict[str, tuple[str, ...]]:
    """Player -> the partners its tariff applies to (never itself)."""
    if on is None:
        return {p: tuple(s for s in players if s != p) for p in players}
    if isinstance(on, Mapping):
        unknown = [k for k in on if k not in players]
        if unknown:
            raise StrategyError(f"on= names {unknown}, which are not players ({list(players)})")
        missing = [p for p in players if p not in on]
        if missing:
            raise StrategyError(f"on= gives no partners for player(s) {missing}")
        specs = {p: on[p] for p in players}
    else:
        specs = dict.fromkeys(players, on)
    out = {}
    for p, spec in specs.items():
        partners = tuple(s for s in resolve_names(model, "regions", spec, f"on.{p}") if s != p)
        if not partners:
            raise StrategyError(f"player {p} has no partner in on={spec!r}")
        out[p] = partners
    return out


def _at_benchmark_except(model: CGEModel, skip: Sequence[Any]) -> bool:
    """Every instrument (fixed variable) other than ``skip`` at its benchmark value and every
    defense rule as in the benchmark."""
    ids = {id(v) for v in skip}
    bench = model._benchmark
    for v, val, fixed in zip(model.all_vars, bench["values"], bench["fixed"], strict=True):
        if id(v) in ids:
            continue
        if v.fixed != fixed or (fixed and v.value != val):
            return False
    return True


def _toml_list(names: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{n}"' for n in names) + "]"


def _tariff_block(importers: Sequence[str], exporters: Sequence[str],
                  commodities: Sequence[str], mode: str, rate: float, note: str = "") -> str:
    comment = f"   # {note}" if note else ""
    return (f"[[tariff]]\nimporter = {_toml_list(importers)}\nexporter = "
            f"{_toml_list(exporters)}\ncommodities = {_toml_list(commodities)}\n"
            f"{mode} = {100.0 * rate!r}{comment}\n")


def _scenario_name(raw: str) -> str:
    """A valid scenario name (lowercase letters, digits, '_', at most 100 characters)."""
    import re

    return re.sub(r"[^a-z0-9_]", "_", raw.lower())[:100]


def _nash_name(players: Sequence[str], groups: Mapping[str, Any]) -> str:
    return _scenario_name(f"nash_{'_'.join(players)}_{'_'.join(groups)}")


def nash(target: Session | CGEModel, players: Sequence[str] = ("USA", "JPN"),
         on: str | Sequence[str] | Mapping[str, Any] | None = None,
         commodities: str | Sequence[str] | Mapping[str, Any] = "goods", *,
         mode: str = "set", bounds: tuple[float, float] = (0.0, 1.0), tol: float = 1e-6,
         max_rounds: int = 50, start: float | Mapping[str, Any] | None = None,
         strict: bool = False, options: dict | None = None) -> NashResult:
    r"""Nash equilibrium in tariffs between ``players``, by best responses.

    Each player's strategy is its import tariff on its partners' ``commodities`` (one rate per
    group, as in :func:`optimal_tariff`; ``on``: None, each player taxes the other players; a
    region spec applied to every player; or a mapping player -> partners). A player's *best
    response* maximises its own headline EV over its rates, every other instrument — the
    other players' current rates included — held fixed: one optimal-tariff NLP
    (:func:`optimal_tariff`). Gauss-Seidel rounds: the players move in the order given, each
    against the latest rates of the others; after round k the largest change of any rate in
    the round is compared with ``tol`` (a fraction: 1e-6 is 0.0001 pp). A Nash equilibrium is
    a fixed point of the best responses, :math:`t_p = BR_p(t_{-p})` for every p: when the
    rates stop moving, each is (to ``tol``) the player's best response to the others'.

    Non-convergence is detected and reported (``converged=False``, ``reason``): ``max_rounds``
    rounds without convergence, a cycle (the rates after a round return to within ``tol`` of
    those after an earlier, not the previous, round: the best responses cycle and would do so
    for ever), or a best response that failed (an NLP or solve failure; the rates stay at the
    last good point). With ``strict=True`` these raise :class:`NashError` (carrying the
    result).

    ``mode="set"``: rates are uniform rates on each group's cells, in ``bounds`` (fractions);
    ``mode="add"``: percentage points on each cell's rate at the start, within ``bounds``.
    ``start``: the starting rates — None (``"set"``: each group's benchmark-flow-weighted mean
    rate; ``"add"``: 0), a number for every player and group, or a mapping player -> (number
    or group -> number). The other instruments are the benchmark's (a Session; its model is
    reset first) or those now set on the model given.

    Welfare is each region's headline EV (:mod:`cge.welfare`; data unit, e.g. US$ million per
    year, benchmark prices), measured against the benchmark; ``ev_start`` is that at the start
    (free trade in a free-trade benchmark), so ``ev_change`` is what the trade war does. The
    model is left at the final point (the rates fixed, the equilibrium solved by an ordinary
    square solve, ``check``), whose results Dataset is :meth:`NashResult.to_results`.
    """
    model = target_model(target, None)
    game = _nash_game(model, players, on, commodities, mode, bounds, tol, max_rounds, start)
    names, tm = game["names"], model.m.tm
    all_cells = [tm[cell] for p in names for cell in game["base"][p]]
    from_benchmark = _at_benchmark_except(model, all_cells)
    snap = model.snapshot()
    began = time.perf_counter()
    rates = game["rates"]
    diag = _nash_solve(model, game, snap)
    regions = model.ctx.regions
    ev_start = {r: headline_ev(model, r)[0] for r in regions}
    start_rates = _copy_rates(rates)
    path = [NashStep(0, "", _copy_rates(rates), dict(ev_start), diag.iterations, diag.status)]
    rounds, converged, reason, change, binding = _nash_rounds(model, game, max_rounds, tol,
                                                             options, path)
    check = _nash_solve(model, game, snap)
    ev = {r: headline_ev(model, r)[0] for r in regions}
    name = _nash_name(names, game["groups"])
    text = (_nash_scenario(game, name, converged, rounds, tol) if from_benchmark else "")
    results = extract_results(model, check, scenario=name, scenario_text=text,
                              scenario_sha256=hashlib.sha256(text.encode()).hexdigest()
                              if text else "")
    unit = model.params.attrs.get("unit", "US$ million")
    lo, hi = game["bounds"]
    result = NashResult(
        players=names, partners=game["partners"], groups=dict(game["groups"]), mode=mode,
        bounds=(lo, hi), tol=float(tol), rates=rates, binding=binding, ev=ev,
        ev_start=ev_start, start=start_rates, path=path, rounds=rounds, converged=converged,
        reason=reason, max_change=change, seconds=time.perf_counter() - began, check=check,
        scenario_text=text, results=results, unit=unit)
    _add_nash_to_results(result)
    if strict and not converged:
        raise NashError(f"no Nash equilibrium of {', '.join(names)} reached: {reason}", result)
    return result


def _nash_solve(model: CGEModel, game: dict[str, Any], snap: dict) -> Diagnostics:
    """Every player's current rates fixed, the equilibrium solved; on any error the model is
    put back to ``snap`` and the error raised."""
    try:
        for p in game["names"]:
            _fix_cells(model, game["cells"][p], game["const"][p], game["rates"][p])
        return solve(model)
    except BaseException:
        model.restore(snap)
        raise


def _nash_game(model: CGEModel, players, on, commodities, mode: str, bounds, tol, max_rounds,
               start) -> dict[str, Any]:
    """The game of :func:`nash`, checked: the players (``names``), each one's partners and
    tariff cells by group, the bounds, the cells' rates at the start of the game (``base``),
    what a group's rate is added to (``const``: 0 for ``"set"``, the starting rate for
    ``"add"``) and the starting rates (``rates``). Bad arguments raise
    :class:`StrategyError` naming them."""
    if mode not in ("set", "add"):
        raise StrategyError(f"mode must be 'set' (one uniform rate) or 'add' (percentage "
                            f"points on each cell's rate), got {mode!r}")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise StrategyError(f"tol must be a positive number (a rate, fraction), got {tol!r}")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise StrategyError(f"max_rounds must be a positive integer, got {max_rounds!r}")
    if isinstance(players, str):
        players = [players]
    names = tuple(single_region(model, p, f"players[{k}]") for k, p in enumerate(players))
    twice = sorted({p for p in names if names.count(p) > 1})
    if twice:
        raise StrategyError(f"player(s) {twice} named twice in players={list(players)}")
    if len(names) < 2:
        raise StrategyError(f"a game needs at least two players, got {list(names)}")
    partners = _nash_partners(model, names, on)
    groups = _groups(model, commodities, False)
    cells = {p: {g: tariff_cells(model, (p,), partners[p], members)
                 for g, members in groups.items()} for p in names}
    for p in names:
        empty = [g for g, c in cells[p].items() if not c]
        if empty:
            raise StrategyError(f"{p} imports nothing of group(s) {empty} from "
                                f"{', '.join(partners[p])} in the benchmark: no tariff to set")
    lo, hi = _check_bounds(bounds, mode)
    tm, vxmd = model.m.tm, model.ctx.p["vxmd"]
    base = {p: {cell: tm[cell].value for gc in cells[p].values() for cell in gc} for p in names}
    const = {p: (dict.fromkeys(base[p], 0.0) if mode == "set" else dict(base[p]))
             for p in names}
    if mode == "add":
        every = [t for p in names for t in base[p].values()]
        if min(every) + lo <= -1.0 or max(every) + hi > MAX_RATE:
            raise StrategyError(f"bounds {bounds} would take a rate to "
                                f"{min(every) + lo:.4g} or {max(every) + hi:.4g}: outside "
                                f"(-1, {MAX_RATE:g}]")
    if isinstance(start, Mapping) and any(k in names for k in start):
        missing = [p for p in names if p not in start]
        if missing:
            raise StrategyError(f"start gives no rates for player(s) {missing}")
        starts = {p: start[p] for p in names}
    else:
        starts = dict.fromkeys(names, start)
    rates = {p: _start_rates(cells[p], base[p], vxmd, starts[p], mode, lo, hi) for p in names}
    return {"names": names, "partners": partners, "groups": groups, "cells": cells,
            "mode": mode, "bounds": (lo, hi), "base": base, "const": const, "rates": rates}


def _nash_rounds(model: CGEModel, game: dict[str, Any], max_rounds: int, tol: float,
                 options: dict | None, path: list) -> tuple:
    """The Gauss-Seidel rounds of best responses of :func:`nash`, updating ``game["rates"]``
    and appending each move to ``path``: (rounds, converged, reason, the last round's largest
    change, the binding bounds of each player's groups)."""
    names, groups, rates = game["names"], game["groups"], game["rates"]
    base, cells, const = game["base"], game["cells"], game["const"]
    lo, hi = game["bounds"]
    tm = model.m.tm
    binding: dict[str, dict[str, str | None]] = {
        p: dict.fromkeys(groups, None) for p in names}
    history = [_flat(rates)]
    converged, reason, change, rounds = False, "", math.inf, 0
    for k in range(1, max_rounds + 1):
        rounds, failure = k, ""
        for p in names:
            for cell in base[p]:               # "add" is on the starting rates
                tm[cell].fix(base[p][cell])
            try:
                opt = optimal_tariff(model, p, on=list(game["partners"][p]),
                                     commodities=dict(groups), bounds=(lo, hi),
                                     mode=game["mode"],
                                     start={g: min(max(t, lo), hi)
                                            for g, t in rates[p].items()},
                                     options=options)
            except (SolveError, StrategyError, ArithmeticError) as exc:
                _fix_cells(model, cells[p], const[p], rates[p])
                failure = (f"the best response of {p} failed in round {k}: "
                           f"{type(exc).__name__}: {exc}")
                break
            rates[p] = dict(opt.rates)
            binding[p] = dict(opt.binding)
            path.append(NashStep(k, p, _copy_rates(rates), dict(opt.ev), opt.iterations,
                                 opt.status))
        if failure:
            reason = failure
            break
        now = _flat(rates)
        change = float(np.max(np.abs(now - history[-1])))
        if change <= tol:
            converged, reason = True, "converged"
            break
        back = [j for j, past in enumerate(history[:-1])
                if float(np.max(np.abs(now - past))) <= tol]
        if back:
            reason = (f"cycle: the rates after round {k} are those after round {back[-1]} "
                      f"(period {k - back[-1]}); the best responses cycle")
            break
        history.append(now)
    else:
        reason = (f"max_rounds: {max_rounds} round(s) without convergence (the last moved a "
                  f"rate by {change:.3g} > tol {tol:g})")
    return rounds, converged, reason, change, binding


def _nash_scenario(game: dict[str, Any], name: str, converged: bool, rounds: int,
                   tol: float) -> str:
    """The scenario file that sets the game's final rates (from the benchmark)."""
    names, groups, mode, rates = game["names"], game["groups"], game["mode"], game["rates"]
    blocks = [_tariff_block((p,), game["partners"][p], groups[g], mode, rates[p][g],
                            f"{p}'s {'rate' if mode == 'set' else 'pp'} on {g}")
              for p in names for g in groups]
    return (f'name = "{name}"\ndescription = "Nash tariffs of {", ".join(names)} '
            f'({mode}, {"converged" if converged else "NOT converged"} after {rounds} '
            f'rounds, tol {tol:g})"\n\n' + "\n".join(blocks))


def _add_nash_to_results(res: NashResult) -> None:
    """The game's rates, path and settings into ``res.results`` (variables and attrs)."""
    ds = res.results
    groups = list(res.groups)
    players = list(res.players)
    coords = {"nash_player": players, "nash_group": groups}
    ds["nash_rate"] = xr.DataArray(
        [[res.rates[p][g] for g in groups] for p in players], dims=("nash_player", "nash_group"),
        coords=coords, attrs={"description": f"Nash tariff of each player on its partners "
                              f"({res.mode}: {'uniform rate' if res.mode == 'set' else 'pp'})",
                              "units": "fraction"})
    steps = range(len(res.path))
    ds["nash_path_rate"] = xr.DataArray(
        [[[s.rates[p][g] for g in groups] for p in players] for s in res.path],
        dims=("nash_step", "nash_player", "nash_group"),
        coords={"nash_step": list(steps), **coords},
        attrs={"description": "every player's rates after each move of the best-response "
               "path (step 0: the start)", "units": "fraction"})
    ds["nash_path_EV"] = xr.DataArray(
        [[s.ev[r] for r in ds.region.values] for s in res.path], dims=("nash_step", "region"),
        attrs={"description": "every region's headline EV after each move", "units": res.unit})
    ds["nash_path_round"] = xr.DataArray([s.round for s in res.path], dims="nash_step",
                                         attrs={"description": "round of each move"})
    ds["nash_path_mover"] = xr.DataArray(
        [players.index(s.player) if s.player else -1 for s in res.path], dims="nash_step",
        attrs={"description": "position in nash_player of the player who moved (-1: start)"})
    ds.attrs.update({
        "strategy_game": "nash", "nash_players": ", ".join(players),
        "nash_partners": json.dumps({p: list(v) for p, v in res.partners.items()}),
        "nash_groups": json.dumps({g: list(v) for g, v in res.groups.items()}),
        "nash_mode": res.mode, "nash_bounds": json.dumps(list(res.bounds)),
        "nash_tol": res.tol, "nash_rounds": res.rounds, "nash_converged": int(res.converged),
        "nash_reason": res.reason, "nash_max_change": res.max_change,
        "nash_rates": json.dumps(res.rates),
        "nash_ev_start": json.dumps(res.ev_start)})


def nash_results(target: Session | CGEModel, players: Sequence[str] = ("USA", "JPN"),
                 **kwargs: Any) -> xr.Dataset:
    """:func:`nash` (same arguments) and the final point's results Dataset
    (:meth:`NashResult.to_results`), to save like a scenario result."""
    return nash(target, players, **kwargs).to_results()


# --------------------------------------------------------------------------------------------
# Equivalence: one instrument freed, solved as an equation in EV
# --------------------------------------------------------------------------------------------
#: Relative tolerance of the equivalences on EV: |EV - target| <= EQ_RTOL * max(|target|, 1)
#: (data unit).
EQ_RTOL = 1e-8
#: ... but never tighter than this share of the benchmark expenditure of the region whose EV
#: is matched: the equilibrium is known to a relative residual of about 1e-13
#: (:func:`cge.implicit.polish`), so EV to about 1e-12 of expenditure (US$ 25 of the US's
#: US$ 25 trillion); a small target (EV 80 in US$ million) at 1e-8 relative would ask for
#: 3e-14 of expenditure, below what double precision gives.
EQ_EV_FLOOR = 1e-12
#: Equilibrium solves an equivalence may take.
EQ_MAX_SOLVES = 60
#: Points of the grid scanned for a sign change when the secant leaves the bracket.
EQ_SCAN = 9


@dataclass
class Equivalence:
    """The result of :func:`equivalent_transfer`, :func:`equivalent_tariff` and
    :func:`indifference_transfer`.

    ``value``: the instrument that solves the equation — a transfer (``kind`` ``"transfer"``
    or ``"indifference"``; data unit per year, e.g. US$ million, numeraire-valued, from
    ``instrument["payer"]`` to ``instrument["recipient"]``, negative: the other way) or a
    tariff (``kind="tariff"``; a fraction: the uniform rate with ``mode="set"``, percentage
    points on each cell's benchmark rate with ``"add"``). ``for_region``: whose EV is matched;
    ``target_ev``: its EV in the reference (``reference``: the scenario, or the transfer);
    ``ev``: every region's headline EV with the instrument alone (every other instrument at
    the benchmark), ``ev_reference``: every region's EV in the reference, both against the
    benchmark (data unit, benchmark prices); ``gap``: ``ev[for_region] - target_ev`` at the
    solution (within :data:`EQ_RTOL` relative); ``iterations``: equilibrium solves of the
    search (the reference's not counted); ``scenario_text``: a scenario file (TOML) with the
    instrument alone, which reproduces ``ev`` from the benchmark."""

    kind: str
    value: float
    units: str
    for_region: str
    target_ev: float
    ev: dict[str, float]
    ev_reference: dict[str, float]
    gap: float
    iterations: int
    seconds: float
    instrument: dict[str, Any]
    reference: str
    scenario_text: str
    unit: str = "US$ million"

    def __str__(self) -> str:
        if self.units == "fraction":
            what = (f"tariff of {'/'.join(self.instrument['importer'])} on "
                    f"{'/'.join(self.instrument['exporter'])} "
                    f"({self.instrument['mode']}) {100 * self.value:.6g} %")
        else:
            what = (f"transfer {self.instrument['payer']} -> {self.instrument['recipient']} "
                    f"{self.value:,.6g} {self.unit}")
        return (f"{self.kind}: {what} gives {self.for_region} EV {self.ev[self.for_region]:,.8g}"
                f" = {self.reference}'s {self.target_ev:,.8g} {self.unit} "
                f"({self.iterations} solves, {self.seconds:.2f} s)")


class _Search:
    """f(x) = EV_for(x) - target on an ordinary square solve per point; counts the solves and
    keeps every EV met (for the messages)."""

    def __init__(self, model: CGEModel, apply, for_region: str, target: float):
        self.model, self.apply, self.for_region, self.target = model, apply, for_region, target
        self.calls = 0

    def __call__(self, x: float) -> tuple[float, dict[str, float]]:
        self.calls += 1
        reset_instruments(self.model)
        self.apply(x)
        solve(self.model)
        polish(self.model)
        ev = {r: headline_ev(self.model, r)[0] for r in self.model.ctx.regions}
        return ev[self.for_region] - self.target, ev


def _root(f: _Search, x0: float, step: float, lo: float, hi: float, atol: float,
          what: str, fmt) -> tuple[float, float, dict[str, float]]:
    """Solve f(x) = 0 on [lo, hi] from x0: secant steps (the first of size ``step``),
    safeguarded by the bracket once one is found (bisection when the secant leaves it); a
    failed solve halves the step. When the secant is stuck at an end of [lo, hi] without a
    sign change, a grid of :data:`EQ_SCAN` points is scanned for one; none: a
    :class:`StrategyError` with the EVs at the ends. Returns (x, f(x), EVs)."""
    r = _RootSearch(f, lo, hi, what, fmt)
    x_a = r.clamp(x0)
    g_a, ev_a = f(x_a)
    if abs(g_a) <= atol:
        return x_a, g_a, ev_a
    r.note(x_a, g_a)
    x_b = r.clamp(x_a + step) if r.clamp(x_a + step) != x_a else r.clamp(x_a - step)
    while True:
        x_b, g_b, ev_b = r.solve_near(x_a, x_b)
        r.note(x_b, g_b)
        if abs(g_b) <= atol:
            return x_b, g_b, ev_b
        if f.calls >= EQ_MAX_SOLVES:
            raise StrategyError(f"{what}: no convergence in {EQ_MAX_SOLVES} solves (last "
                                f"{fmt(x_b)}, EV gap {g_b:.3g})")
        x_new = x_b - g_b * (x_b - x_a) / (g_b - g_a) if g_b != g_a else math.nan
        if r.neg is not None and r.pos is not None:
            a, b = r.bracket(g_b)
            if not (math.isfinite(x_new) and a < x_new < b):
                x_new = 0.5 * (a + b)
        elif not math.isfinite(x_new) or r.clamp(x_new) == x_b:
            x_new = r.scan()     # stuck at an end (or a flat EV): a sign change on a grid
        else:
            x_new = r.clamp(x_new)
        x_a, g_a = x_b, g_b
        x_b = x_new


@dataclass
class _RootSearch:
    """The state of :func:`_root`: the search interval, the last points seen on each side of
    the target (``neg``, ``pos``: (x, f(x))), whether the grid was scanned."""

    f: _Search
    lo: float
    hi: float
    what: str
    fmt: Callable[[float], str]
    neg: tuple[float, float] | None = None
    pos: tuple[float, float] | None = None
    scanned: bool = False

    def clamp(self, x: float) -> float:
        return min(max(x, self.lo), self.hi)

    def note(self, x: float, g: float) -> None:
        if g < 0:
            self.neg = (x, g)
        else:
            self.pos = (x, g)

    def solve_near(self, x_a: float, x_b: float) -> tuple[float, float, dict[str, float]]:
        """f at x_b, halving the step from x_a on a failed solve (at most 12 times)."""
        for _ in range(12):
            try:
                g_b, ev_b = self.f(x_b)
                return x_b, g_b, ev_b
            except (SolveError, ScenarioError):
                if self.f.calls >= EQ_MAX_SOLVES:
                    raise
                x_b = 0.5 * (x_a + x_b)
        raise StrategyError(f"{self.what}: no equilibrium near {self.fmt(x_b)}")

    def bracket(self, g_b: float) -> tuple[float, float]:
        """The bracket (a, b) of the sign change; an error if it has collapsed."""
        a, b = sorted((self.neg[0], self.pos[0]))
        if b - a <= 1e-15 * max(1.0, abs(a), abs(b)):
            raise StrategyError(f"{self.what}: the bracket [{self.fmt(a)}, {self.fmt(b)}] "
                                f"collapsed with EV gap {g_b:.3g} (EV not continuous?)")
        return a, b

    def scan(self) -> float:
        """Scan a grid of :data:`EQ_SCAN` points for a sign change (once); the midpoint of
        the bracket found, else :meth:`no_root`."""
        if self.scanned:
            raise self.no_root()
        self.scanned = True
        found, seen = False, []
        for x in np.linspace(self.lo, self.hi, EQ_SCAN):
            try:
                g, _ = self.f(float(x))
            except (SolveError, ScenarioError):
                continue
            seen.append((g, float(x)))
            self.note(float(x), g)
            if self.neg is not None and self.pos is not None:
                found = True
                break
        if not found:
            top = max(seen, default=None)
            extra = (f"; on a grid of {EQ_SCAN} points between them its highest EV is "
                     f"{top[0] + self.f.target:,.10g} at {self.fmt(top[1])}" if top else "")
            raise self.no_root(f"{extra}, no sign change")
        a, b = sorted((self.neg[0], self.pos[0]))
        return 0.5 * (a + b)

    def no_root(self, extra: str = "") -> StrategyError:
        f, fmt = self.f, self.fmt
        ends = []
        for end in (self.lo, self.hi):
            try:
                _g, ev = f(end)
                ends.append(f"{ev[f.for_region]:,.10g} at {fmt(end)}")
            except (SolveError, ScenarioError) as exc:
                ends.append(f"no equilibrium at {fmt(end)} ({str(exc)[:120]})")
        return StrategyError(
            f"no {self.what} in [{fmt(self.lo)}, {fmt(self.hi)}] gives {f.for_region} the EV "
            f"{f.target:,.10g}: {f.for_region}'s EV is {ends[0]} and {ends[1]}{extra}; "
            "widen bracket= or check that the target can be reached")


def _ev_tolerance(model: CGEModel, region: str, target: float) -> float:
    """How close an equivalence gets to its target EV (data unit): :data:`EQ_RTOL` of the
    target, at least :data:`EQ_EV_FLOOR` of the region's benchmark expenditure."""
    return max(EQ_RTOL * max(abs(target), 1.0), EQ_EV_FLOOR * headline_ev(model, region)[1])


def session_of(target: Session) -> Session:
    from cge.api import Session

    if not isinstance(target, Session):
        raise StrategyError(f"an equivalence needs a cge.Session (it runs the scenario and "
                            f"resets the model), got {type(target).__name__}")
    return target


def _bracket(bracket: tuple[float, float] | None, default: tuple[float, float]
             ) -> tuple[float, float]:
    lo, hi = (float(b) for b in (bracket if bracket is not None else default))
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise StrategyError(f"bracket must be two finite numbers, lower < upper, got "
                            f"{bracket}")
    return lo, hi


def _transfer_text(name: str, payer: str, recipient: str, amount: float, between: str,
                   closure: Mapping[str, str]) -> str:
    """A scenario file with one transfer (amounts in scenario files are >= 0: a negative
    transfer is written as the opposite flow)."""
    if amount < 0:
        payer, recipient, amount = recipient, payer, -amount
    head = f'name = "{name}"\n'
    if closure:
        head += "\n[closure]\n" + "".join(f'{k} = "{v}"\n' for k, v in closure.items())
    return (f"{head}\n[[transfer]]\npayer = \"{payer}\"\nrecipient = \"{recipient}\"\n"
            f"amount = {amount!r}\nbetween = \"{between}\"\n")


def _money(unit: str):
    return lambda x: f"{x:,.10g} {unit}"


def _transfer_equation(session: Session, scenario: str | Scenario, payer: str,
                       recipient: str, for_region: str, between: str,
                       bracket: tuple[float, float] | None, kind: str) -> Equivalence:
    began = time.perf_counter()
    scen, model = session.prepared(scenario)
    payer, recipient = two_regions(model, payer, recipient, ("payer", "recipient"))
    for_region = single_region(model, for_region, "for_region")
    _transfer_var(model, between)
    try:
        solve(model)
        polish(model)
    except SolveError as exc:
        model.restore(model._benchmark)
        raise SolveError(f"scenario {scen.name!r}: {exc}", exc.diagnostics) from exc
    reference = {r: headline_ev(model, r)[0] for r in model.ctx.regions}
    target = reference[for_region]
    inc0 = model.ctx.p["inc0"]
    lo, hi = _bracket(bracket, (-0.25 * inc0[recipient], 0.25 * inc0[payer]))
    unit = model.params.attrs.get("unit", "US$ million")
    search = _Search(model, lambda x: set_transfer(model, payer, recipient, add=x,
                                                   between=between), for_region, target)
    # EV_for moves about one for one with the transfer when for_region pays or receives it
    slope = 1.0 if for_region == recipient else -1.0 if for_region == payer else 0.0
    x0 = min(max(0.0, lo), hi)
    step = target / slope if slope else 0.0      # Newton's step from T = 0 (EV 0 there)
    snap = model.snapshot()
    try:
        x, gap, ev = _root(search, x0, step if step else 1e-3 * inc0[payer], lo, hi,
                           _ev_tolerance(model, for_region, target),
                           f"transfer {payer} -> {recipient}", _money(unit))
    except BaseException:
        model.restore(snap)
        raise
    name = _scenario_name(f"{kind}_transfer_{payer}_{recipient}_for_{for_region}_vs_"
                          f"{scen.name}")
    return Equivalence(
        kind=kind, value=float(x), units=unit, for_region=for_region, target_ev=target, ev=ev,
        ev_reference=reference, gap=gap, iterations=search.calls,
        seconds=time.perf_counter() - began,
        instrument={"payer": payer, "recipient": recipient, "between": between},
        reference=f"scenario {scen.name}",
        scenario_text=_transfer_text(name, payer, recipient, float(x), between, scen.closure),
        unit=unit)


def equivalent_transfer(session: Session, scenario: str | Scenario, payer: str,
                        recipient: str, for_region: str, *, between: str = "governments",
                        bracket: tuple[float, float] | None = None) -> Equivalence:
    r"""The transfer from ``payer`` to ``recipient`` that, alone, gives ``for_region`` the EV
    that ``scenario`` gives it.

    Solves :math:`EV_X(T) = EV_X(\text{scenario})` for the transfer T (data unit per year,
    e.g. US$ million, numeraire-valued; ``between="governments"``: ``gtrf``, as
    :func:`set_transfer`, or ``"households"``), where :math:`EV_X(T)` is the headline EV of X
    in the equilibrium with every instrument at the benchmark except the transfer (the
    scenario's tariffs, taxes, transfers, defense all removed; the scenario's closure kept:
    the same model). Either sign: a negative T is a transfer from ``recipient`` to
    ``payer``. The equation is solved on ordinary square solves by a secant method
    safeguarded by bisection once the root is bracketed (``bracket``: default
    :math:`[-\tfrac14 Y_{recipient}, \tfrac14 Y_{payer}]`, Y the benchmark income), to
    :data:`EQ_RTOL` relative in EV. No T in the bracket: a :class:`StrategyError` with X's
    EV at both ends.

    Example: the US tariffs of ``us_jpn_reciprocal_autos`` lower US welfare (the revenue
    and terms-of-trade gain do not make up for the efficiency loss and Japan's lost
    income), so the JPN -> USA transfer that gives the US the same EV is *negative*: the US
    would have to pay Japan. The model is left at the solution (the transfer alone, solved).
    """
    session = session_of(session)
    return _transfer_equation(session, scenario, payer, recipient, for_region, between,
                              bracket, "equivalent")


def indifference_transfer(session: Session, scenario: str | Scenario, payer: str,
                          recipient: str, *, between: str = "governments",
                          bracket: tuple[float, float] | None = None) -> Equivalence:
    r"""The transfer from ``payer`` to ``recipient`` at which the payer is indifferent
    between paying it (no tariffs, every other instrument at the benchmark) and facing
    ``scenario``: :math:`EV_{payer}(T) = EV_{payer}(\text{scenario})` — the most the payer
    would pay to buy the scenario off (for a scenario of the recipient's tariffs on the
    payer). Whether the recipient prefers T to its scenario is in the result: compare
    ``ev[recipient]`` with ``ev_reference[recipient]``. Units, signs and the method as
    :func:`equivalent_transfer` (this is it with ``for_region=payer``)."""
    session = session_of(session)
    return _transfer_equation(session, scenario, payer, recipient, payer, between, bracket,
                              "indifference")


def equivalent_tariff(session: Session, transfer: tuple[str, str, float],
                      importer: str | Sequence[str], exporter: str | Sequence[str],
                      commodities: str | Sequence[str] = "goods", for_region: str | None = None,
                      *, mode: str = "add", between: str = "governments",
                      bracket: tuple[float, float] | None = None) -> Equivalence:
    r"""The uniform tariff of ``importer`` on ``commodities`` from ``exporter`` that, alone,
    gives ``for_region`` (default: the first importer) the EV the transfer
    ``(payer, recipient, amount)`` gives it alone.

    Both sides are evaluated with every other instrument at the benchmark: the reference is
    the benchmark plus the transfer (``amount`` in the data unit per year, either sign,
    ``between`` as :func:`set_transfer`); the unknown is one number t — ``mode="add"``
    (default): t percentage points (a fraction: 0.1 is +10 pp) on every cell's benchmark
    rate; ``"set"``: every cell at the rate t. :math:`EV_X(t) = EV_X(\text{transfer})` is
    solved from t = 0 (``"add"``; ``"set"``: the cells' flow-weighted mean benchmark rate)
    by the safeguarded secant of :func:`equivalent_transfer`, to :data:`EQ_RTOL` relative in
    EV, within ``bracket`` (default ``(-min benchmark rate, 1)`` with ``"add"``, ``(0, 1)``
    with ``"set"``). EV is not monotone in a tariff (an importer's EV rises up to its optimal
    tariff and falls beyond it), so there may be two solutions: the search returns the one it
    reaches from the start, normally the nearer. The model is left at the solution."""
    session = session_of(session)
    if mode not in ("set", "add"):
        raise StrategyError(f"mode must be 'set' or 'add', got {mode!r}")
    try:
        payer, recipient, amount = transfer
    except (TypeError, ValueError):
        raise StrategyError(f"transfer must be (payer, recipient, amount), got {transfer!r}"
                            ) from None
    began = time.perf_counter()
    model = target_model(session, None)
    importers = resolve_names(model, "regions", importer, "importer")
    exporters = resolve_names(model, "regions", exporter, "exporter")
    members = resolve_names(model, "commodities", commodities, "commodities")
    for_region = single_region(model, for_region or importers[0], "for_region")
    cells = tariff_cells(model, importers, exporters, members)
    if not cells:
        raise StrategyError(f"{'/'.join(importers)} imports none of {list(members)} from "
                            f"{'/'.join(exporters)} in the benchmark: no tariff to set")
    snap = model.snapshot()
    try:
        set_transfer(model, payer, recipient, add=float(amount), between=between)
        solve(model)
        polish(model)
    except BaseException:
        model.restore(snap)
        raise
    reference = {r: headline_ev(model, r)[0] for r in model.ctx.regions}
    target = reference[for_region]
    const, x0, lo, hi = _tariff_search_range(model, cells, mode, bracket)

    def apply(t: float) -> None:
        _fix_cells(model, {"g": cells}, const, {"g": t})

    search = _Search(model, apply, for_region, target)
    unit = model.params.attrs.get("unit", "US$ million")
    try:
        t, gap, ev = _root(search, x0, 0.01, lo, hi, _ev_tolerance(model, for_region, target),
                           f"tariff of {'/'.join(importers)} on {'/'.join(exporters)}",
                           lambda x: f"{100 * x:.8g} %")
    except BaseException:
        model.restore(snap)
        raise
    name = _scenario_name(f"equivalent_tariff_{'_'.join(importers)}_on_"
                          f"{'_'.join(exporters)}_for_{for_region}")
    text = (f'name = "{name}"\n\n' + _tariff_block(importers, exporters, members, mode, t))
    return Equivalence(
        kind="tariff", value=float(t), units="fraction", for_region=for_region,
        target_ev=target, ev=ev, ev_reference=reference, gap=gap, iterations=search.calls,
        seconds=time.perf_counter() - began,
        instrument={"importer": importers, "exporter": exporters, "commodities": members,
                    "mode": mode, "cells": cells},
        reference=f"transfer {payer} -> {recipient} of {float(amount):,.6g} {unit}",
        scenario_text=text, unit=unit)


def _position(model: CGEModel, var) -> int:
    """Position of a variable in ``model.all_vars`` (index built once per model)."""
    index = getattr(model, "_strategy_positions", None)
    if index is None:
        index = {id(v): k for k, v in enumerate(model.all_vars)}
        model._strategy_positions = index
    return index[id(var)]
