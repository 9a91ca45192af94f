"""What every block needs to add its equations: index sets of non-zero flows and parameter lookups.

Only flows that are non-zero in the benchmark get variables and terms: in an Armington model a
flow that is zero in the benchmark stays zero at every price, so omitting it is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from cge.closures import factor_roles
from cge.closures import institutions as institutions_closure
from cge.options import ModelOptions


class Lookup(dict):
    """A parameter as a dict keyed by coordinate labels (a tuple, or a str for 1-d); 0 if absent."""

    def __missing__(self, key):  # noqa: D105
        return 0.0


def lookup(da: xr.DataArray) -> Lookup:
    """Non-zero cells of a DataArray as a :class:`Lookup`."""
    values = np.asarray(da.values, dtype=float)
    nz = np.nonzero(values)
    labels = [np.array([str(x) for x in da[d].values], dtype=object)[i].tolist()
              for d, i in zip(da.dims, nz, strict=True)]
    keys = labels[0] if len(labels) == 1 else zip(*labels, strict=True)
    return Lookup(zip(keys, values[nz].tolist(), strict=True))


@dataclass
class Context:
    """Sets, index lists and parameters of one model build."""

    params: xr.Dataset
    options: ModelOptions
    regions: list[str] = field(init=False)
    commodities: list[str] = field(init=False)
    factors: list[str] = field(init=False)
    agents: list[str] = field(init=False)
    p: dict[str, Lookup] = field(init=False)

    def __post_init__(self) -> None:
        ds = self.params
        self.regions = list(map(str, ds.region.values))
        self.commodities = list(map(str, ds.commodity.values))
        self.factors = list(map(str, ds.factor.values))
        self.agents = list(map(str, ds.agent.values))
        self.p = {k: lookup(ds[k]) for k in ds.data_vars}
        self.cet = self.options.transformation == "cet"
        #: σ of each final-demand bundle (defaults filled in)
        self.sigma_fd = self.options.final_sigmas()
        self._production_sets()
        self._demand_sets()
        self._trade_sets()
        self._groupings()
        self._direct_purchase_weights()

    def _production_sets(self) -> None:
        """Activities, factor inputs, and the factor markets of each role (closure rule
        :func:`cge.closures.factor_roles`): mobile (f, r), sluggish (f, r) and by sector
        (f, j, r) for sluggish and fixed factors."""
        p, R, I, F = self.p, self.regions, self.commodities, self.factors
        #: activities with output
        self.YJ = [(j, r) for r in R for j in I if p["vom"][j, r] > 0]
        #: primary factor inputs
        self.VAF = [(f, j, r) for (j, r) in self.YJ for f in F if p["vfm"][f, j, r] > 0]
        #: every factor's role: mobile, sluggish or fixed
        self.roles = factor_roles(self.options, F)
        #: factors priced by sector (sluggish and fixed)
        self.sector_priced = {f for f, role in self.roles.items() if role != "mobile"}
        #: transformation elasticity of each sluggish factor
        self.etrae = {f: float(self.options.etrae[f]) for f, role in self.roles.items()
                      if role == "sluggish"}
        #: mobile factor markets (f, r), sluggish ones (f, r), sector markets (f, j, r)
        self.FAC = [(f, r) for r in R for f in F
                    if self.roles[f] == "mobile" and p["evom"][f, r] > 0]
        self.SLG = [(f, r) for r in R for f in F
                    if self.roles[f] == "sluggish" and p["evom"][f, r] > 0]
        self.FSP = [(f, j, r) for (f, j, r) in self.VAF if f in self.sector_priced]
        self.sectors_of: dict[tuple[str, str], list[str]] = {}
        for (f, j, r) in self.FSP:
            self.sectors_of.setdefault((f, r), []).append(j)

    def _demand_sets(self) -> None:
        """Armington nests of activities and final agents; final agents; defense; government
        accounts."""
        p, R, I = self.p, self.regions, self.commodities
        #: intermediate Armington nests (i, j, r) and final-demand ones (i, a, r)
        self.INT = [(i, j, r) for (j, r) in self.YJ for i in I
                    if p["vdfm"][i, j, r] + p["vifm"][i, j, r] > 0]
        self.FDA = [(a, r) for r in R for a in self.agents if p["vfd"][a, r] > 0]
        self.FDI = [(i, a, r) for (a, r) in self.FDA for i in I
                    if p["vdfd"][i, a, r] + p["vifd"][i, a, r] > 0]
        self.ARM = self.INT + self.FDI
        self.fd_set = set(self.FDA)
        #: regions with defense purchases in the benchmark
        self.DEF = [r for (a, r) in self.FDA if a == "defense"]
        #: separate institutions: regions without a government account (no civil government
        #: and no defense purchases); their taxes and transfers accrue to the household
        self.no_gov = {r for r in R if ("government", r) not in self.fd_set
                       and ("defense", r) not in self.fd_set}

    def _trade_sets(self) -> None:
        """Domestic and export markets, the Walras market, import composites, bilateral flows."""
        p, R = self.p, self.regions
        #: domestic-sales markets and export markets
        if self.cet:
            self.D = [(i, r) for (i, r) in self.YJ if p["vom"][i, r] - p["vxs"][i, r] > 0]
            self.E = [(i, r) for (i, r) in self.YJ if p["vxs"][i, r] > 0]
        else:
            self.D = list(self.YJ)
            self.E = []
        #: the market whose clearing equation carries the Walras slack: the largest domestic one
        self.walras_market = max(self.D, key=lambda k: p["vom"][k]) if self.D else None
        #: import composites and bilateral flows (commodity, exporter, importer)
        self.IM = [(i, r) for r in R for i in self.commodities
                   if any(p["vxmd"][i, s, r] > 0 for s in R)]
        self.TRD = [(i, s, r) for (i, r) in self.IM for s in R if p["vxmd"][i, s, r] > 0]
        self.PAIRS = [(s, r) for s in R for r in R if s != r]
        #: the global transport pool (data with margins): services m, their suppliers (m, t),
        #: and the margins of each route {(i, s, r): [m, ...]}
        vtwr, vst = p.get("vtwr", Lookup()), p.get("vst", Lookup())
        self.MARG = [m for m in self.commodities if any(vst[m, t] > 0 for t in R)]
        self.MSUP = [(m, t) for m in self.MARG for t in R if vst[m, t] > 0]
        self.route_margins: dict[tuple[str, str, str], list[str]] = {}
        self.margin_routes: dict[str, list[tuple[str, str, str]]] = {m: [] for m in self.MARG}
        trade = set(self.TRD)
        for (m, i, s, r), v in vtwr.items():
            if v > 0 and (i, s, r) in trade:
                self.route_margins.setdefault((i, s, r), []).append(m)
                self.margin_routes[m].append((i, s, r))

    def _groupings(self) -> None:
        """Lookups from a market or an agent to the flows it takes part in."""
        self.trd_from: dict[tuple[str, str], list[str]] = {}
        self.trd_to: dict[tuple[str, str], list[str]] = {}
        for (i, s, r) in self.TRD:
            self.trd_to.setdefault((i, r), []).append(s)
            self.trd_from.setdefault((i, s), []).append(r)
        self.arm_agents: dict[tuple[str, str], list[str]] = {}
        for (i, a, r) in self.ARM:
            self.arm_agents.setdefault((i, r), []).append(a)
        self.int_inputs: dict[tuple[str, str], list[str]] = {}
        for (i, j, r) in self.INT:
            self.int_inputs.setdefault((j, r), []).append(i)
        self.fd_inputs: dict[tuple[str, str], list[str]] = {}
        for (i, a, r) in self.FDI:
            self.fd_inputs.setdefault((a, r), []).append(i)
        self.factors_of: dict[tuple[str, str], list[str]] = {}
        for (f, j, r) in self.VAF:
            self.factors_of.setdefault((j, r), []).append(f)
        self.activities_using: dict[tuple[str, str], list[str]] = {}
        for (f, j, r) in self.VAF:
            self.activities_using.setdefault((f, r), []).append(j)
        self.is_activity = set(self.commodities)

    def _direct_purchase_weights(self) -> None:
        """Commodity weights of direct government purchases (seller s, buyer r): the data set's
        composition (``dp_share``: what forces stationed abroad and arms purchases buy) where it
        covers the pair, else the buyer's defense bundle (else its government or household
        bundle); restricted to goods the seller sells at home."""
        p, I = self.p, self.commodities
        self.dp_weights: dict[tuple[str, str], dict[str, float]] = {}
        self.dp_source: dict[tuple[str, str], str] = {}
        domestic = set(self.D)
        share = p.get("dp_share", Lookup())
        for (s, r) in self.PAIRS:
            w = {i: share[i, s, r] for i in I if (i, s) in domestic and share[i, s, r] > 0}
            self.dp_source[s, r] = "data"
            if not w:
                for agent in ("defense", "government", "household"):
                    if (agent, r) in self.fd_set:
                        break
                w = {i: p["theta_fd"][i, agent, r] for i in I
                     if (i, s) in domestic and p["theta_fd"][i, agent, r] > 0}
                self.dp_source[s, r] = f"{agent} bundle of {r}"
            total = sum(w.values())
            if total > 0:
                self.dp_weights[s, r] = {i: x / total for i, x in w.items()}

    def vd0(self, i: str, a: str, r: str) -> float:
        """Benchmark domestic purchases of i by agent a (activity or final agent) in r."""
        return self.p["vdfm"][i, a, r] if a in self.is_activity else self.p["vdfd"][i, a, r]

    def theta_d(self, i: str, a: str, r: str) -> float:
        """Domestic share of agent a's benchmark purchases of i in r (calibrated)."""
        key = "theta_dm" if a in self.is_activity else "theta_df"
        return self.p[key][i, a, r]

    def vi0(self, i: str, a: str, r: str) -> float:
        """Benchmark imported purchases of i by agent a in r (landed prices)."""
        return self.p["vifm"][i, a, r] if a in self.is_activity else self.p["vifd"][i, a, r]

    def dpur0(self, s: str, r: str) -> float:
        """Benchmark direct purchases of r's government from s's producers (the data set's
        stationing account ``vdpur``; 0 without one), data unit."""
        return self.p.get("dpur0", Lookup())[s, r]

    def direct_purchases0(self, r: str) -> float:
        """Benchmark direct purchases abroad of r's government, data unit."""
        return sum(self.dpur0(s, r) for s in self.regions if s != r)

    def budget0(self, r: str) -> float:
        """Benchmark ordinary budget of region r (see ``cge.blocks.income``): regional income
        (regional household) or the government's purchases budget (separate institutions)."""
        return institutions_closure(self).budget0(self, r)

    def esub_fd(self, a: str) -> float:
        """σ among commodities in final agent a's bundle."""
        return self.sigma_fd[a]
