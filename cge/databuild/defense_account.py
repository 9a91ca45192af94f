"""The defense accounts of ``default2024``: what the defense bundle buys; the stationing account.

Two steps of :func:`cge.databuild.default2024.build_default2024`, after defense has been sized
to its 2024 share of GDP (:func:`~cge.databuild.default2024.set_defense_shares`). Both move
flows between buyers of the same goods, so every market and every activity keeps its totals
and the benchmark stays balanced.

1. :func:`compose_defense_bundle` -- **the goods defense buys**. WIOD gives defense no column
   of its own; the split of government purchases copies civil government's composition, which
   is nearly all public administration and services (Japan's defense bought 0.01 % other
   transport equipment). The target is the ``defense_composition`` rows of
   ``data/policy/defense_purchases.csv`` (budget titles mapped to commodities, each row with its
   source or marked ``assumption``). For every commodity defense buys too little of, the
   shortfall is taken, in this order, from

   a. civil government's purchases of it (the two halves of one government account);
   b. public administration's intermediate inputs of it -- where the 1993 SNA, and WIOD's
      tables built on it, record weapons: the activity buys less of the good and defense buys
      less of its output, by the same value, so the activity shrinks by what it passed on;
   c. investment's purchases of it -- where the 2008 SNA records weapon systems (government
      gross fixed capital formation; the US accounts since 1996).

   Source b gives up at most the part of the activity's inputs that defense's purchases of
   its output embody (:func:`defense_part_of_public_admin`: defense buys directly what it
   bought through the activity); source c at most :data:`MAX_TAKE` of a commodity
   (**assumption**: the rest is the private sector's). What defense has too much
   of (public administration, services) goes back to the source it took from (b: the public
   administration output it no longer needs; a and c: the surplus, goods first, then services
   and pay). The
   domestic/import split of a moved flow is its source's. A target the sources cannot meet is
   left short, and :func:`defense_bundle_table` says by how much (``defense_bundle.csv``).

2. :func:`add_stationing_account` -- **the stationing account** ``vdpur``: the purchases of
   US forces in Japan and Korea (:data:`STATIONING_ACCOUNT`, sized by
   :func:`cge.databuild.policy.stationing_purchases` from GAO-21-270), composed as the
   ``stationing_composition`` rows say. In the national accounts they are exports of the host
   (the balance of payments' government goods and services n.i.e.) and government spending and
   imports of the buyer; the input-output tables record them as the host's own final demand.
   So the host's final demand for those goods (civil government's first, then households') is
   cut by the amounts, which become the buyer government's purchases; the buyer's defense
   bundle is cut by the same total (moved to its civil government) so that its defense
   spending, bundle plus purchases abroad, stays at its 2024 share of GDP; direct taxes and
   household saving are re-derived (:func:`cge.data.benchmark.complete`). The host's current
   account improves and the buyer's worsens by the amount.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from cge.data.benchmark import DataError, check_balance, complete, direct_purchase_flows

#: The part of investment in one commodity that the defense bundle may take (assumption: the
#: rest is private investment; no split of GFCF into military and other was found).
MAX_TAKE = 0.5
#: The (buyer, host) pairs of the benchmark's stationing account: the published GAO totals.
STATIONING_ACCOUNT: tuple[tuple[str, str], ...] = (("USA", "JPN"), ("USA", "KOR"))
#: The activity whose intermediate inputs hold weapons in SNA-1993 tables.
PUBLIC_ADMIN = "public_admin"
#: Source b and c names, as in the table.
SOURCES = ("civil government", "public administration inputs", "investment")


def _purchases(ds: xr.Dataset, agent: str, r: str) -> xr.DataArray:
    return (ds.vdfd + ds.vifd).sel(agent=agent, region=r)


def _move_final(ds: xr.Dataset, src: str, dst: str, r: str, amounts: pd.Series,
                split_of: str) -> None:
    """Move ``amounts`` (commodity -> value) of r's purchases from final agent ``src`` to
    ``dst``, domestic and imported in the proportions of agent ``split_of``'s purchases."""
    for i, t in amounts.items():
        if t == 0:
            continue
        dom = float(ds.vdfd.loc[i, split_of, r])
        imp = float(ds.vifd.loc[i, split_of, r])
        parts = (("vdfd", t * dom / (dom + imp)), ("vifd", t * imp / (dom + imp)))
        for key, part in parts:
            ds[key].loc[i, src, r] = _nonneg(float(ds[key].loc[i, src, r]) - part, part)
            ds[key].loc[i, dst, r] = float(ds[key].loc[i, dst, r]) + part


def _nonneg(value: float, scale: float) -> float:
    """``value``, with a rounding-size negative (all of a flow moved) set to 0."""
    return 0.0 if -1e-9 * max(abs(scale), 1.0) < value < 0 else value


def _from_public_admin(ds: xr.Dataset, r: str, amounts: pd.Series) -> None:
    """Defense buys ``amounts`` directly instead of through public administration's inputs:
    the activity's inputs and output, and defense's purchases of that output, fall by them."""
    if not float(amounts.sum()):
        return
    total = 0.0
    for i, t in amounts.items():
        if t == 0:
            continue
        dom = float(ds.vdfm.loc[i, PUBLIC_ADMIN, r])
        imp = float(ds.vifm.loc[i, PUBLIC_ADMIN, r])
        d_part, i_part = t * dom / (dom + imp), t * imp / (dom + imp)
        ds["vdfm"].loc[i, PUBLIC_ADMIN, r] = _nonneg(dom - d_part, t)
        ds["vifm"].loc[i, PUBLIC_ADMIN, r] = _nonneg(imp - i_part, t)
        ds["vdfd"].loc[i, "defense", r] = float(ds.vdfd.loc[i, "defense", r]) + d_part
        ds["vifd"].loc[i, "defense", r] = float(ds.vifd.loc[i, "defense", r]) + i_part
        total += t
    ds["vom"].loc[PUBLIC_ADMIN, r] = float(ds.vom.loc[PUBLIC_ADMIN, r]) - total
    ds["vdfd"].loc[PUBLIC_ADMIN, "defense", r] = float(
        ds.vdfd.loc[PUBLIC_ADMIN, "defense", r]) - total


def defense_part_of_public_admin(ds: xr.Dataset, r: str) -> float:
    """The part of r's public administration output that defense buys: the part of the
    activity's inputs its purchases embody."""
    out = float(ds.vom.loc[PUBLIC_ADMIN, r])
    return float(ds.vdfd.loc[PUBLIC_ADMIN, "defense", r]) / out if out > 0 else 0.0


def _take(short: pd.Series, available: pd.Series, cap: float) -> pd.Series:
    return np.minimum(short, cap * available.clip(lower=0.0)).fillna(0.0)


def _give_back(surplus: pd.Series, amount: float, order: tuple[tuple[str, ...], ...]
               ) -> pd.Series:
    """``amount`` out of defense's surplus, group by group in ``order`` (pro rata within a
    group; the empty tuple stands for every commodity not named): so a target left short is
    held in pay and services, not in goods defense has no use for."""
    out = pd.Series(0.0, index=surplus.index)
    named = {i for group in order for i in group}
    for group in order:
        members = [i for i in surplus.index if (i in group if group else i not in named)]
        have = float(surplus[members].sum())
        if amount <= 0 or have <= 0:
            continue
        part = min(1.0, amount / have)
        out[members] = surplus[members] * part
        amount -= have * part
    return out


#: Order in which defense gives its surplus back: goods first, then services and pay.
_TO_INVESTMENT = ((), ("services",), (PUBLIC_ADMIN,))
_TO_CIVIL = ((), (PUBLIC_ADMIN, "services"))


def compose_defense_bundle(ds: xr.Dataset, composition: xr.DataArray) -> xr.Dataset:
    """Re-route purchases so that each covered region's defense bundle buys ``composition``
    (commodity, region; fractions summing to 1, 0 for regions not covered) as far as the
    sources allow (module docstring, step 1). Total defense, civil government and investment
    spending, every activity's costs but public administration's, and every market's totals
    are unchanged. Returns a new, balanced data set."""
    ds = ds.copy(deep=True)
    commodities = [str(c) for c in ds.commodity.values]
    for r in map(str, composition.region.values):
        shares = composition.sel(region=r).to_series().reindex(commodities).fillna(0.0)
        if shares.sum() <= 0:
            continue
        bundle = _purchases(ds, "defense", r).to_series()
        gap = shares * bundle.sum() - bundle
        short, surplus = gap.clip(lower=0.0), (-gap).clip(lower=0.0)
        t_civil = _take(short, _purchases(ds, "government", r).to_series(), 1.0)
        short -= t_civil
        if PUBLIC_ADMIN in ds.activity.values:
            pa_inputs = (ds.vdfm + ds.vifm).sel(activity=PUBLIC_ADMIN, region=r).to_series()
            t_pa = _take(short, pa_inputs, defense_part_of_public_admin(ds, r))
        else:                                   # no public administration activity
            t_pa = short * 0.0
        if t_pa.sum() > surplus.get(PUBLIC_ADMIN, 0.0):      # paid for by defense's PA surplus
            t_pa *= surplus.get(PUBLIC_ADMIN, 0.0) / t_pa.sum()
        short -= t_pa
        t_inv = _take(short, _purchases(ds, "investment", r).to_series(), MAX_TAKE)
        _move_final(ds, "government", "defense", r, t_civil, split_of="government")
        _from_public_admin(ds, r, t_pa)
        if PUBLIC_ADMIN in surplus.index:
            surplus[PUBLIC_ADMIN] -= t_pa.sum()
        back_inv = _give_back(surplus, float(t_inv.sum()), _TO_INVESTMENT)
        surplus -= back_inv
        back_civil = _give_back(surplus, float(t_civil.sum()), _TO_CIVIL)
        _move_final(ds, "investment", "defense", r, t_inv, split_of="investment")
        _move_final(ds, "defense", "investment", r, back_inv, split_of="defense")
        _move_final(ds, "defense", "government", r, back_civil, split_of="defense")
    check_balance(ds)
    return ds


def defense_bundle_table(ds: xr.Dataset, composition: xr.DataArray) -> pd.DataFrame:
    """For each covered region and commodity: the target share of the defense bundle, the
    share reached, and the bundle's import share of the commodity (percent)."""
    rows = []
    for r in map(str, composition.region.values):
        shares = composition.sel(region=r).to_series()
        if shares.sum() <= 0:
            continue
        dom = ds.vdfd.sel(agent="defense", region=r).to_series()
        imp = ds.vifd.sel(agent="defense", region=r).to_series()
        total = float((dom + imp).sum())
        for i in map(str, ds.commodity.values):
            bought = float(dom[i] + imp[i])
            rows.append({"region": r, "commodity": i,
                         "target_pct": 100.0 * float(shares.get(i, 0.0)),
                         "reached_pct": 100.0 * bought / total if total else 0.0,
                         "import_share_pct": 100.0 * float(imp[i]) / bought if bought else 0.0})
    return pd.DataFrame(rows)


def add_stationing_account(ds: xr.Dataset, purchases: dict[tuple[str, str], pd.Series]
                           ) -> xr.Dataset:
    """Add ``vdpur``: ``purchases[(buyer, host)]`` (commodity -> value at the host's market
    price) bought by the buyer's government from the host's producers (module docstring,
    step 2). Raises :class:`DataError` if the host's final demand for a good is smaller than
    the purchases of it. Returns a new, balanced data set."""
    ds = ds.copy(deep=True)
    if "vdpur" not in ds.data_vars:
        ds["vdpur"] = xr.zeros_like(ds.vxmd)
    for (buyer, host), amounts in purchases.items():
        for i, x in amounts.items():
            left = float(x)
            for agent in ("government", "household"):
                have = float(ds.vdfd.loc[i, agent, host])
                cut = min(left, have)
                _cut_purchase(ds, i, agent, host, cut)
                left -= cut
            if left > 1e-9 * float(x):
                raise DataError(f"stationing account {buyer} in {host}: {host}'s government "
                                f"and households buy less {i} at home than the purchases of "
                                f"{float(x):.6g}")
            ds["vdpur"].loc[i, host, buyer] = float(ds.vdpur.loc[i, host, buyer]) + float(x)
        bundle = _purchases(ds, "defense", buyer).to_series()
        total = float(amounts.sum())
        _move_final(ds, "defense", "government", buyer, bundle * total / bundle.sum(),
                    split_of="defense")
    ds = complete(ds, government_saving=ds.vsav.sel(institution="government", drop=True))
    check_balance(ds)
    return ds


def _cut_purchase(ds: xr.Dataset, i: str, agent: str, r: str, cut: float) -> None:
    """Agent's domestic purchases of i fall by ``cut``; its commodity tax keeps its rate."""
    if cut <= 0:
        return
    before = float((ds.vdfd + ds.vifd).sel(agent=agent, region=r).sum())
    ds["vdfd"].loc[i, agent, r] = float(ds.vdfd.loc[i, agent, r]) - cut
    ds["vtfd"].loc[agent, r] = float(ds.vtfd.loc[agent, r]) * (before - cut) / before


def defense_import_table(ds: xr.Dataset, published: pd.DataFrame) -> pd.DataFrame:
    """Our defense import shares against the published ``defense_import_share`` rows of
    ``defense_purchases.csv`` (a check, not a fit: nothing was fitted to them). Ours: the
    defense bundle's imports from ``seller`` (each commodity's imports split by the importer's
    sourcing shares; ``*`` = every foreign seller) plus direct purchases from it, in percent of
    the bundle plus all purchases abroad (at purchasers' prices before commodity tax)."""
    landed = (ds.vxmd + ds.vtx + ds.vtm).transpose("commodity", "exporter", "importer")
    sourcing = landed / landed.sum("exporter").where(landed.sum("exporter") > 0)
    rows = published[published["item"] == "defense_import_share"]
    out = []
    for (buyer, seller), group in rows.groupby(["buyer", "seller"]):
        if buyer not in ds.region.values:
            continue
        bundle = _purchases(ds, "defense", buyer)
        direct = direct_purchase_flows(ds).sel(importer=buyer)
        sellers = ([str(s) for s in ds.region.values if s != buyer] if seller == "*"
                   else [seller])
        imported = ds.vifd.sel(agent="defense", region=buyer)
        from_sellers = float((imported * sourcing.sel(importer=buyer, exporter=sellers)
                              .sum("exporter").fillna(0.0)).sum())
        abroad = float(direct.sum())
        ours = (from_sellers + float(direct.sel(exporter=sellers).sum())) / (
            float(bundle.sum()) + abroad)
        out.append({"region": buyer, "seller": seller, "ours_pct": 100.0 * ours,
                    "published_pct": float(group["value"].sum()),
                    "published_year": str(group["year"].iloc[0])})
    return pd.DataFrame(out)
