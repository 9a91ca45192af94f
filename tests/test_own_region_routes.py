"""Trade of a composite region with itself on a route of its own (issue 20, item 3).

A region made of members keeps their trade with each other as an import route of its own
(``aggregate(..., intra_region="routes")``, a GTAP data base by default), with its own tariff
and Armington share, so ``own_region = true`` shocks reach it. The test of the treatment is
the one a GTAP user would run by hand: split the composite region into two identical halves,
whose trade with each other is the route; both models must give the same equilibrium, shock
for shock, the halves' EVs adding up to the composite's."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr

import cge
from cge.data.aggregate import aggregate
from cge.data.benchmark import SCHEMA, check_balance, empty_benchmark
from cge.data.examples import random_benchmark

REGION_DIMS = ("region", "exporter", "importer", "payer", "recipient")
MAPPING = {"regions": {"EU": ["R0", "R1"], "US": ["R2"], "JP": ["R3"]}}
HALVES = ("EU_a", "EU_b")
ELAST = {"esubd": 2.5, "esubm": 5.0, "esubva": 1.2}
#: every tariff +10 points on goods, the route of each region with itself included or not
SHOCK = ('name = "t10"\n[[tariff]]\nimporter = "all"\nexporter = "all"\ncommodities = "all"\n'
         'add = 10\nown_region = {own}\n')


def split_halves(ds: xr.Dataset, region: str, halves: tuple[str, str]) -> xr.Dataset:
    """``region`` split into two identical halves: every flow of the region half each; its
    trade with itself becomes trade between the halves (half each way), none within a half.
    An independent construction (not the model's code)."""
    old = [str(r) for r in ds.region.values]
    new = [h for r in old for h in (halves if r == region else (r,))]
    parent = {n: (region if n in halves else n) for n in new}
    out = empty_benchmark(new, [str(c) for c in ds.commodity.values],
                          [str(f) for f in ds.factor.values], name=f"{ds.attrs['name']}_split",
                          unit=ds.attrs["unit"], year=ds.attrs.get("year"))
    for key, spec in SCHEMA.items():
        src = ds[key].transpose(*spec.dims)
        rdims = [k for k, d in enumerate(spec.dims) if d in REGION_DIMS]
        values = np.zeros(out[key].shape)
        for cell in itertools.product(*(range(len(new)) if k in rdims else [slice(None)]
                                        for k in range(len(spec.dims)))):
            names = [new[cell[k]] for k in rdims]
            halved = [n for n in names if n in halves]
            weight = 0.5 ** len(halved)
            if len(halved) == 2:                   # both ends in the composite region
                weight = 0.5 if halved[0] != halved[1] else 0.0
            at = tuple(old.index(parent[new[c]]) if k in rdims else c
                       for k, c in enumerate(cell))
            values[cell] = np.asarray(src.values[at]) * weight
        out[key] = out[key].copy(data=values)
    check_balance(out)
    return out


@pytest.fixture(scope="module")
def sessions():
    base = random_benchmark(4, 3, 11, transfers=False)
    composite = aggregate(base, MAPPING, name="composite", intra_region="routes")
    split = split_halves(composite, "EU", HALVES)
    return cge.Session(composite, ELAST), cge.Session(split, ELAST)


def test_the_composite_keeps_its_trade_with_itself():
    base = random_benchmark(4, 3, 11, transfers=False)
    routes = aggregate(base, MAPPING, intra_region="routes")
    domestic = aggregate(base, MAPPING)
    inner = base.vxmd.sel(exporter=["R0", "R1"], importer=["R0", "R1"]).sum(["exporter",
                                                                             "importer"])
    own = routes.vxmd.sel(exporter="EU", importer="EU")
    np.testing.assert_allclose(own.values, inner.values, rtol=1e-12)
    assert float(own.min()) > 0
    assert float(routes.vtm.sel(exporter="EU", importer="EU").sum()) > 0, "its tariffs kept"
    assert float(domestic.vxmd.sel(exporter="EU", importer="EU").sum()) == 0.0
    check_balance(routes)


def _ev(res: xr.Dataset) -> dict[str, float]:
    ev = res.EV.to_series()
    out = {r: float(ev[r]) for r in ev.index if r not in HALVES}
    if HALVES[0] in ev.index:
        out["EU"] = float(ev[HALVES[0]] + ev[HALVES[1]])
    return out


@pytest.mark.parametrize("own", [True, False])
def test_two_identical_halves_give_the_own_region_route(sessions, own):
    """The composite with ``own_region = {own}`` against the split model with the same cells
    shocked (between the halves exactly when the own route is)."""
    composite, split = sessions
    res_c = composite.run(toml=SHOCK.format(own=str(own).lower()))
    if own:
        res_s = split.run(toml=SHOCK.format(own="false"))
    else:   # the halves' trade with each other stays untaxed, like the route it stands for
        res_s = split.run(toml=(
            'name = "t10"\n[[tariff]]\nimporter = ["US", "JP"]\nexporter = "all"\n'
            'commodities = "all"\nadd = 10\n'
            '[[tariff]]\nimporter = "EU_a"\nexporter = "all_but:EU_b"\ncommodities = "all"\n'
            'add = 10\n'
            '[[tariff]]\nimporter = "EU_b"\nexporter = "all_but:EU_a"\ncommodities = "all"\n'
            'add = 10\n'))
    ev_c, ev_s = _ev(res_c), _ev(res_s)
    scale = max(abs(v) for v in ev_c.values())
    assert scale > 1e-3 * float(composite.benchmark.vom.sum()) / 1e3, "the shock does something"
    for r, v in ev_c.items():
        assert ev_s[r] == pytest.approx(v, abs=1e-7 * scale), r
    for half in HALVES:     # prices, the ToT index and real GDP of each half are the whole's
        for var in ("price_domestic", "tot_pct", "real_gdp_pct", "cpi"):
            np.testing.assert_allclose(res_s[var].sel(region=half).values,
                                       res_c[var].sel(region="EU").values, rtol=1e-8,
                                       atol=1e-10, err_msg=f"{var} of {half}")
    for var in ("trade_balance_change", "tariff_revenue"):   # flows: the halves add up
        assert float(res_s[var].sel(region=list(HALVES)).sum()) == pytest.approx(
            float(res_c[var].sel(region="EU")), rel=1e-8, abs=1e-9 * scale), var


def test_only_own_region_true_reaches_the_route(sessions):
    composite, _ = sessions
    off, on = (composite.run(toml=SHOCK.format(own=o)) for o in ("false", "true"))
    route = {"commodity": "s0", "exporter": "EU", "importer": "EU"}
    bench = float(off.tariff_rate_benchmark.sel(route))
    assert float(off.tariff_rate.sel(route)) == pytest.approx(bench, abs=1e-12)
    assert float(on.tariff_rate.sel(route)) == pytest.approx(bench + 0.10, abs=1e-12)
    assert float(on.EV.sel(region="EU")) < float(off.EV.sel(region="EU")), \
        "taxing its members' trade with each other costs the composite region"
    assert on.attrs["intra_region_trade"].startswith("own import routes")


def test_own_region_must_be_a_boolean(sessions):
    from cge.scenario import ScenarioError, parse_scenario

    composite, _ = sessions
    with pytest.raises(ScenarioError, match=r"tariff\[1\]\.own_region.*true or false.*'yes'"):
        parse_scenario(SHOCK.format(own='"yes"'), composite.sets)
    scen = parse_scenario(SHOCK.format(own="true"), composite.sets)
    assert ("s0", "EU", "EU") in scen.rate_shocks[0].cells()
    assert ("s0", "EU", "EU") not in parse_scenario(SHOCK.format(own="false"),
                                                    composite.sets).rate_shocks[0].cells()
