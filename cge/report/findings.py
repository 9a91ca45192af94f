"""The report's first page of results: generated findings and the ranked comparison table.

Every sentence is built from the results passed to the report (and, when given, the strategy
pair and the sensitivity summary) and names the table its numbers come from; the numbers are
formatted exactly as in that table. Each finding is kept with the values it quotes
(``values``), so a test can check the sentence against the Datasets.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from cge.report.fmt import MoneyUnit, pct

#: Regions shown in the comparison table besides the pair, when the data set has them.
OTHER_KEY_REGIONS = ("EU", "KOR", "CHN")
#: Scenario name parts that mark a region's own cost-sharing or defense option.
DEFENSE_WORDS = ("hns", "defense", "full_cost", "stationing", "troop")
#: The comparison table's description column, at most this many characters.
DESCRIPTION_CHARS = 90


def description(ds: xr.Dataset) -> str:
    """The scenario's one-line description from its TOML text ("" if none)."""
    try:
        text = tomllib.loads(str(ds.attrs.get("scenario_text", ""))).get("description", "")
    except tomllib.TOMLDecodeError:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= DESCRIPTION_CHARS else text[:DESCRIPTION_CHARS - 1] + "…"


def key_regions(regions: Sequence[str], pair: Sequence[str]) -> list[str]:
    """The regions a comparison shows: the pair, then :data:`OTHER_KEY_REGIONS` the data set
    has."""
    return [*pair, *[r for r in OTHER_KEY_REGIONS if r in regions and r not in pair]]


def _ev(ds: xr.Dataset, r: str) -> float:
    return float(ds.EV.sel(region=r))


def _evp(ds: xr.Dataset, r: str) -> float:
    return float(ds.EV_pct.sel(region=r))


class Findings:
    """Findings for the counterfactuals ``cf`` [(name, results)] with regions a, b first."""

    def __init__(self, cf: Sequence[tuple[str, xr.Dataset]], regions: Sequence[str],
                 pair: tuple[str, str], money: MoneyUnit, pairs: Sequence[xr.Dataset] = (),
                 sens: xr.Dataset | None = None) -> None:
        self.cf, self.money, self.pairs, self.sens = list(cf), money, list(pairs), sens
        self.a, self.b = pair
        self.keys = key_regions(regions, pair)
        self.items: list[dict] = []

    def _add(self, text: str, table: str, **values: float) -> None:
        self.items.append({"text": text, "table": table, "values": values})

    def _m(self, x: float) -> str:
        return self.money.change(x)

    def ranking(self) -> None:
        """Best and worst scenario for a and for b."""
        if len(self.cf) < 2:
            return
        parts = []
        values = {}
        for r in (self.a, self.b):
            best = max(self.cf, key=lambda c: _ev(c[1], r))
            worst = min(self.cf, key=lambda c: _ev(c[1], r))
            parts.append(f"for {r} the best of the {len(self.cf)} scenarios is {best[0]} (EV "
                         f"{self._m(_ev(best[1], r))}, {pct(_evp(best[1], r))} % of spending) "
                         f"and the worst {worst[0]} ({self._m(_ev(worst[1], r))}, "
                         f"{pct(_evp(worst[1], r))} %)")
            values.update({f"best_{r}": _ev(best[1], r), f"worst_{r}": _ev(worst[1], r)})
        text = (parts[0][0].upper() + parts[0][1:] + "; " + parts[1]
                + f" ({self.money.label}).")
        self._add(text, "comparison", **values)

    def retaliation(self) -> None:
        """A scenario and its ``_retaliation`` variant: what retaliation changes."""
        names = dict(self.cf)
        for name, ds in self.cf:
            other = names.get(f"{name}_retaliation")
            if other is None:
                continue
            a, b = self.a, self.b
            self._add(f"With the partners' retaliation, {name} gives {a} "
                      f"{self._m(_ev(other, a))} instead of {self._m(_ev(ds, a))} and {b} "
                      f"{self._m(_ev(other, b))} instead of {self._m(_ev(ds, b))} "
                      f"({self.money.label}).", "comparison",
                      a_without=_ev(ds, a), a_with=_ev(other, a), b_without=_ev(ds, b),
                      b_with=_ev(other, b))
            return

    def defense(self) -> None:
        """b's own cost-sharing and defense options: what each costs b and gives a."""
        opts = [(n, ds) for n, ds in self.cf if not n.startswith("package")
                and any(w in n for w in DEFENSE_WORDS)]
        if not opts:
            return
        a, b = self.a, self.b
        text = "; ".join(f"{n}: {b} {self._m(_ev(ds, b))}, {a} {self._m(_ev(ds, a))}"
                         for n, ds in opts)
        self._add(f"Cost-sharing and defense options ({self.money.label}) — {text}.",
                  "comparison", **{f"{n}_{r}": _ev(ds, r) for n, ds in opts for r in (a, b)})

    def packages(self) -> None:
        """The best package for each side."""
        packs = [(n, ds) for n, ds in self.cf if n.startswith("package")]
        if len(packs) < 2:
            return
        a, b = self.a, self.b
        pa = max(packs, key=lambda c: _ev(c[1], a))
        pb = max(packs, key=lambda c: _ev(c[1], b))
        self._add(f"Of the {len(packs)} packages, {pb[0]} is the best for {b} ({b} "
                  f"{self._m(_ev(pb[1], b))}, {a} {self._m(_ev(pb[1], a))}) and {pa[0]} the "
                  f"best for {a} ({a} {self._m(_ev(pa[1], a))}, {b} {self._m(_ev(pa[1], b))}"
                  f"; {self.money.label}).", "comparison",
                  best_for_b=_ev(pb[1], b), best_for_a=_ev(pa[1], a))

    def package_parts(self) -> None:
        """The package with the most parts, split for b: GTAP subtotals and the interaction."""
        packs = [(n, ds) for n, ds in self.cf if "EV_part_subtotal" in ds]
        if not packs:
            return
        parts_of = {n: [str(p) for p in ds.package_part.values
                        if np.isfinite(ds.EV_part_subtotal.sel(package_part=p)).all()]
                    for n, ds in packs}
        n, ds = max(packs, key=lambda c: len(parts_of[c[0]]))
        b, parts = self.b, parts_of[n]
        sub = {p: float(ds.EV_part_subtotal.sel(package_part=p, region=b)) for p in parts}
        alone = sum(float(ds.EV_part_alone.sel(package_part=p, region=b)) for p in parts)
        ev = _ev(ds, b)
        text = ", ".join(f"{p.replace('_', ' ')} {self._m(v)}" for p, v in
                         sorted(sub.items(), key=lambda kv: kv[1]))
        self._add(f"Part by part, {b}'s EV of {self._m(ev)} in {n} is {text} (GTAP "
                  f"subtotals); the parts alone add up to {self._m(alone)}, so the "
                  f"interaction is {self._m(ev - alone)} ({self.money.label}).", "packages",
                  ev=ev, alone_sum=alone, **{f"subtotal_{p}": v for p, v in sub.items()})

    def strategy(self) -> None:
        """The pair analysis: optimal tariffs, the war, the equivalent transfers."""
        for ds in self.pairs:
            a, b = ds.attrs["region_a"], ds.attrs["region_b"]
            mo = MoneyUnit(self.money.scale, self.money.label, 2)
            rows = [k for k in range(ds.sizes["optimal_row"])
                    if str(ds.optimal_player.values[k]) == a]
            rates = ", ".join(f"{ds.optimal_group.values[k]} "
                              f"{100 * float(ds.optimal_rate.values[k]):.2f} %" for k in rows)
            ev_opt = float(ds.optimal_EV_a.values[rows[0]]) if rows else np.nan
            ref = str(ds.attrs.get("reference", ""))
            cases = [str(x) for x in ds.equivalence_scenario.values]
            eq = ""
            values = {"optimal_EV_a": ev_opt, "nash_EV_a": float(ds.attrs["nash_EV_a"]),
                      "nash_EV_b": float(ds.attrs["nash_EV_b"])}
            if ref in cases:
                k = cases.index(ref)
                ta = float(ds.equivalence_transfer_for_a.values[k])
                tb = float(ds.equivalence_transfer_for_b.values[k])
                eq = (f"; the transfer from {b} that is worth {ref} to {a} is {mo.change(ta)}, "
                      f"to {b} {mo.change(tb)} (deal space {mo.change(tb - ta)})")
                values.update(transfer_for_a=ta, transfer_for_b=tb)
            self._add(f"{a}'s optimal tariffs on {b} ({rates}) give {a} "
                      f"{mo.change(ev_opt)}; in the Nash tariff war both lose ({a} "
                      f"{mo.change(values['nash_EV_a'])}, {b} {mo.change(values['nash_EV_b'])})"
                      f"{eq} ({mo.label} a year).", "strategy", **values)

    def sensitivity(self) -> None:
        """How robust the signs of the key regions' EVs are across the draws."""
        s = self.sens
        if s is None or "EV_sign_share" not in s:
            return
        names = [n for n, _ in self.cf if n in s.scenario.values]
        keys = [r for r in self.keys if r in s.region.values]
        if not names or not keys:
            return
        share = s["EV_sign_share"].sel(scenario=names, region=keys)
        robust = int((share >= 0.95).sum())
        idx = np.unravel_index(int(np.argmin(share.values)), share.shape)
        n, r = names[idx[0]], keys[idx[1]]
        ev = s["EV"].sel(scenario=n, region=r)
        lo, hi = float(ev.sel(stat="p05")), float(ev.sel(stat="p95"))
        self._add(f"Across {s.attrs.get('draws', '?')} elasticity draws the sign of the EV "
                  f"holds in at least 95 % of draws for {robust} of {share.size} scenario and "
                  f"key-region cells; the least robust is {r} in {n} (same sign in "
                  f"{float(share.sel(scenario=n, region=r)):.0%} of draws, 90 % band "
                  f"{self._m(lo)} to {self._m(hi)} {self.money.label}).", "sensitivity",
                  least_share=float(share.sel(scenario=n, region=r)), least_p05=lo,
                  least_p95=hi)

    def build(self) -> list[dict]:
        for step in (self.ranking, self.retaliation, self.defense, self.packages,
                     self.package_parts, self.strategy, self.sensitivity):
            step()
        return self.items

    def table(self, make: Callable, breakable: Callable[[str], str]) -> dict | None:
        """Scenarios ranked by a's EV; per key region EV and EV % of spending, the best and
        the worst scenario of each region marked."""
        if not self.cf:
            return None
        order = sorted(self.cf, key=lambda c: -_ev(c[1], self.a))
        best = {r: max(self.cf, key=lambda c: _ev(c[1], r))[0] for r in self.keys}
        worst = {r: min(self.cf, key=lambda c: _ev(c[1], r))[0] for r in self.keys}
        rows = []
        for n, ds in order:
            row = [breakable(n), description(ds)]
            for r in self.keys:
                tag = " best" if n == best[r] else " worst" if n == worst[r] else ""
                row.append([self._m(_ev(ds, r)) + tag, pct(_evp(ds, r)) + " %"])
            rows.append(row)
        k = len(self.keys)
        return make(f"The scenarios ranked by {self.a}'s welfare: EV ({self.money.label}) and "
                    "EV in % of the spending it measures, for the key regions.",
                    ["Scenario", "What it is", *[f"{r}" for r in self.keys]], rows,
                    align="ll" + "r" * k, size=7.5, inset=1.8, breakable=True,
                    widths=["auto", "1fr", *["auto"] * k],
                    note="best / worst: the scenario with the highest / lowest EV of that "
                         "region. Descriptions from the scenario files. All regions: the "
                         "table that follows.")
