r"""The strategy analysis of one negotiating pair for the report: what each side's tariffs are
worth to it, what the trade war gives, which transfers equal the announced tariffs, and the deal
frontier.

For a pair (a, b) — by default the USA and Japan — on one data set, with every other
instrument at the benchmark, :func:`analyse_pair` runs (:mod:`cge.strategy`,
:mod:`cge.frontier`):

1. **Optimal tariffs**: a's tariffs on b's goods by commodity group (one uniform rate per group,
   :func:`cge.strategy.optimal_tariff`), b's uniform tariff on a's goods against the benchmark
   and against the reference scenario (b's best retaliation).
2. **Nash tariffs**: a's and b's uniform tariffs on each other's goods by best responses
   (:func:`cge.strategy.nash`), the whole best-response path.
3. **Equivalence**: for each scenario of the pair's list, the transfer from b to a (either
   sign) that gives a the scenario's EV, and the one that gives b its EV (b's indifference
   transfer: the most b would pay to have the scenario's tariffs lifted). When the second is
   larger than the first (b would pay more than a needs), every transfer between them leaves
   both better off than the scenario: that interval is the *deal space* of a
   tariffs-for-transfer bargain.
4. **Deal frontier** (:func:`cge.frontier.frontier`) over four instruments: a's tariff on b's
   goods, b's on a's, b's transfer to a and b's government purchases from a's producers
   (direct purchases: Foreign Military Sales), marking the status quo, the reference scenario,
   the Nash war (the threat point) and the Nash bargaining point.

EV is the headline equivalent variation (:mod:`cge.welfare`) against the benchmark, in the data
unit per year; tariffs are fractions; transfers and purchases in the data unit per year. The
result is one Dataset (:func:`analyse_pair`), written next to the scenario results by
``make counterfactual`` and read by the report's strategy section.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from cge import frontier as fr
from cge import strategy as st

if TYPE_CHECKING:
    from cge.api import Session

__all__ = ["STANDARD_PAIRS", "PairAnalysis", "analyse_pair", "analyse_pairs", "frontier_part",
           "pair_file", "pair_name", "usable"]

#: The tariff groups of a's optimal tariff when the data set has them: the Section 232 split.
SECTION_232_GROUPS = {"autos": "autos", "metals": "metals", "other_goods": "goods_ex_232"}


@dataclass(frozen=True)
class PairAnalysis:
    """What :func:`analyse_pair` computes for the pair (a, b).

    ``groups``: a's tariff groups on b (name -> commodities or a group of the data set; None:
    :data:`SECTION_232_GROUPS` when the data set has those groups, else its ``goods``);
    ``retaliation``: the commodities of b's uniform tariff on a and of both sides' tariffs in
    the Nash war and on the frontier; ``tariff_bounds``: bounds of every free tariff
    (fractions); ``scenarios``: the equivalence table's scenarios (library names);
    ``reference``: the scenario marked on the frontier and against which b's best retaliation
    is computed; ``levels``: frontier levels; ``transfer_share``: the bounds of the transfer
    (+-) and of the purchases (0 to) as a share of b's benchmark income."""

    a: str = "USA"
    b: str = "JPN"
    groups: Mapping[str, Any] | None = None
    retaliation: str = "goods"
    tariff_bounds: tuple[float, float] = (0.0, 1.0)
    scenarios: tuple[str, ...] = ("jpn_baseline_10", "jpn_reciprocal_24",
                                  "us_jpn_reciprocal_autos", "jpn_deal_15")
    reference: str = "us_jpn_reciprocal_autos"
    levels: int = 25
    transfer_share: float = 0.005
    notes: tuple[str, ...] = field(default_factory=tuple)


#: The pairs ``make counterfactual`` analyses (when the data set has their regions).
STANDARD_PAIRS: tuple[PairAnalysis, ...] = (PairAnalysis(),)


def pair_name(spec: PairAnalysis) -> str:
    """The pair's name: ``USA_JPN``."""
    return f"{spec.a}_{spec.b}"


def pair_file(spec: PairAnalysis) -> str:
    """Where a run keeps the pair's result, under its ``results/``: ``strategy/USA_JPN.nc``."""
    return f"strategy/{pair_name(spec)}.nc"


def usable(session: Session, spec: PairAnalysis) -> str:
    """Why the data set cannot run the pair's analysis ("" if it can): a region missing, or a
    scenario of the pair's list that does not apply to the data set."""
    from cge.scenario import ScenarioError

    regions = session.model().ctx.regions
    missing = [r for r in (spec.a, spec.b) if r not in regions]
    if missing:
        return f"the data set has no region {', '.join(missing)}"
    for name in dict.fromkeys((*spec.scenarios, spec.reference)):
        try:
            session.validate(name)
        except ScenarioError as exc:
            return f"scenario {name} does not apply to this data set ({exc})"
    return ""


def _groups(session: Session, spec: PairAnalysis) -> Mapping[str, Any]:
    if spec.groups is not None:
        return spec.groups
    model = session.model()
    known = set(model.ctx.commodities) | set(_data_groups(model))
    if all(g in known for g in SECTION_232_GROUPS.values()):
        return dict(SECTION_232_GROUPS)
    return {"goods": "goods" if "goods" in known else "all"}


def _data_groups(model) -> dict[str, Any]:
    groups = json.loads(model.params.attrs.get("groups", "{}") or "{}")
    return groups.get("commodities", {})


def _instruments(session: Session, spec: PairAnalysis) -> list[fr.Instrument]:
    span = spec.transfer_share * session.model().ctx.p["inc0"][spec.b]
    a, b, goods = spec.a, spec.b, spec.retaliation
    return [fr.tariff(a, b, goods, spec.tariff_bounds),
            fr.tariff(b, a, goods, spec.tariff_bounds),
            fr.transfer(b, a, (-span, span)),
            fr.purchases(b, a, (0.0, span))]


def _optimal_rows(session: Session, spec: PairAnalysis, groups: Mapping[str, Any]
                  ) -> pd.DataFrame:
    """One row per optimised rate: a on b by group, b on a (benchmark), b on a (reference)."""
    runs = [("benchmark", st.optimal_tariff(session, spec.a, on=spec.b, commodities=groups,
                                            bounds=spec.tariff_bounds)),
            ("benchmark", st.optimal_tariff(session, spec.b, on=spec.a,
                                            commodities=spec.retaliation,
                                            bounds=spec.tariff_bounds)),
            (spec.reference, st.optimal_tariff(session, spec.b, on=spec.a,
                                               commodities=spec.retaliation,
                                               bounds=spec.tariff_bounds,
                                               scenario=spec.reference))]
    rows = []
    for against, res in runs:
        for g, rate in res.rates.items():
            rows.append({"player": res.region, "partner": ", ".join(res.partners),
                         "against": against, "group": g, "rate": rate,
                         "binding": res.binding[g] or "", "EV_a": res.ev[spec.a],
                         "EV_b": res.ev[spec.b], "iterations": res.iterations})
    session.model().restore(session.model()._benchmark)
    return pd.DataFrame(rows)


def _nash_rows(session: Session, spec: PairAnalysis) -> tuple[pd.DataFrame, st.NashResult]:
    war = st.nash(session, [spec.a, spec.b], commodities=spec.retaliation,
                  bounds=spec.tariff_bounds)
    group = next(iter(war.groups))
    rows = [{"round": s.round, "mover": s.player or "start",
             "rate_a": s.rates[spec.a][group], "rate_b": s.rates[spec.b][group],
             "EV_a": s.ev[spec.a], "EV_b": s.ev[spec.b]} for s in war.path]
    return pd.DataFrame(rows), war


def _equivalence_rows(session: Session, spec: PairAnalysis) -> pd.DataFrame:
    rows = []
    for name in spec.scenarios:
        for_a = st.equivalent_transfer(session, name, payer=spec.b, recipient=spec.a,
                                       for_region=spec.a)
        for_b = st.indifference_transfer(session, name, payer=spec.b, recipient=spec.a)
        rows.append({"scenario": name, "EV_a_scenario": for_a.ev_reference[spec.a],
                     "EV_b_scenario": for_a.ev_reference[spec.b],
                     "transfer_for_a": for_a.value, "EV_b_at_transfer_for_a": for_a.ev[spec.b],
                     "transfer_for_b": for_b.value, "EV_a_at_transfer_for_b": for_b.ev[spec.a],
                     "deal_space": for_b.value - for_a.value,
                     "solves": for_a.iterations + for_b.iterations})
    session.model().restore(session.model()._benchmark)
    return pd.DataFrame(rows)


def _table(df: pd.DataFrame, dim: str, prefix: str) -> xr.Dataset:
    """A DataFrame as Dataset variables ``prefix_<column>`` along ``dim``."""
    out = xr.Dataset(coords={dim: np.arange(len(df))})
    for col in df.columns:
        vals = df[col].to_numpy()
        if vals.dtype == object:
            vals = vals.astype(str)
        out[f"{prefix}_{col}"] = (dim, vals)
    return out


#: The frontier Dataset's dimensions and their names inside the pair's Dataset.
_FRONTIER_DIMS = {"point": "frontier_point", "mark": "frontier_mark",
                  "instrument": "frontier_instrument"}


def frontier_part(ds: xr.Dataset) -> xr.Dataset:
    """The frontier as :meth:`cge.frontier.FrontierResult.to_dataset` gives it, taken out of a
    pair's Dataset (variables ``frontier_*``, attrs ``frontier_*``)."""
    names = [v for v in ds.data_vars if v.startswith("frontier_")]
    part = ds[names].rename({v: v[len("frontier_"):] for v in names})
    part = part.rename({new: old for old, new in _FRONTIER_DIMS.items() if new in part.dims})
    part.attrs = {k[len("frontier_"):]: v for k, v in ds.attrs.items()
                  if k.startswith("frontier_")}
    return part


def analyse_pair(session: Session, spec: PairAnalysis = STANDARD_PAIRS[0],
                 stage: Callable[[str], None] | None = None) -> xr.Dataset:
    """Run the pair's analysis (module docstring) and return it as one Dataset: variables
    ``optimal_*`` (dim ``optimal_row``), ``nash_*`` (``nash_step``), ``equivalence_*``
    (``equivalence_case``) and ``frontier_*`` (``frontier_point``, ``frontier_mark``,
    ``frontier_instrument``; :func:`frontier_part` gives it back as the frontier's own
    Dataset); attrs: the pair, the data set, the unit, the Nash outcome, seconds per part.
    The session's model is put back to the benchmark."""
    stage = stage or (lambda text: None)
    a, b = spec.a, spec.b
    model = session.model()
    unit = model.params.attrs.get("unit", "US$ million")
    groups = _groups(session, spec)
    seconds: dict[str, float] = {}

    def timed(part: str, fn):
        stage(f"strategy {a}-{b}: {part}")
        t = time.perf_counter()
        out = fn()
        seconds[part] = round(time.perf_counter() - t, 3)
        return out

    try:
        optimal = timed("optimal tariffs", lambda: _optimal_rows(session, spec, groups))
        path, war = timed("Nash tariffs", lambda: _nash_rows(session, spec))
        equiv = timed("equivalence", lambda: _equivalence_rows(session, spec))
        front = timed("deal frontier", lambda: fr.frontier(
            session, a, b, _instruments(session, spec), levels=spec.levels,
            scenario=spec.reference, threat={a: war.ev[a], b: war.ev[b]}))
    finally:
        model.restore(model._benchmark)
    fds = front.to_dataset()
    frontier_attrs, fds.attrs = dict(fds.attrs), {}
    fds = fds.rename({v: f"frontier_{v}" for v in fds.data_vars}).rename(_FRONTIER_DIMS)
    ds = xr.merge([_table(optimal, "optimal_row", "optimal"),
                   _table(path, "nash_step", "nash"),
                   _table(equiv, "equivalence_case", "equivalence"),
                   fds], combine_attrs="drop")
    rates = "; ".join(f"{p} {100 * t:.4g} %" for p, t in
                      ((p, war.rates[p][next(iter(war.groups))]) for p in war.players))
    ds.attrs.update({f"frontier_{k}": v for k, v in frontier_attrs.items()})
    ds.attrs.update({
        "strategy_pair": f"{a},{b}", "region_a": a, "region_b": b, "unit": unit,
        "data_set": str(session.benchmark.attrs.get("name", "")),
        "tariff_groups": json.dumps({g: v if isinstance(v, str) else list(v)
                                     for g, v in groups.items()}),
        "retaliation": spec.retaliation, "tariff_bounds": json.dumps(list(spec.tariff_bounds)),
        "reference": spec.reference, "transfer_share": spec.transfer_share,
        "nash_rates": rates, "nash_converged": int(war.converged), "nash_rounds": war.rounds,
        "nash_reason": war.reason, "nash_EV_a": war.ev[a], "nash_EV_b": war.ev[b],
        "seconds": json.dumps(seconds),
        "description": f"strategy analysis of {a} and {b}: optimal and Nash tariffs, "
                       "transfer equivalence, deal frontier (cge.negotiation)"})
    ds.attrs["frontier_notes"] = " | ".join(
        [f"threat point: Nash tariffs {rates}", *front.notes])
    return ds


def analyse_pairs(session: Session, specs: Sequence[PairAnalysis] = STANDARD_PAIRS,
                  stage: Callable[[str], None] | None = None) -> dict[str, xr.Dataset]:
    """:func:`analyse_pair` for each pair the data set allows (:func:`usable`), by name."""
    return {pair_name(s): analyse_pair(session, s, stage) for s in specs
            if not usable(session, s)}
