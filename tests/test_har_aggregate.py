"""GTAP header-array files (cge.data.har) and mapping-driven aggregation (cge.data.aggregate)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from cge.data.aggregate import aggregate, internalize_trade
from cge.data.benchmark import (
    SCHEMA,
    DataError,
    check_balance,
    final_expenditure,
    foreign_saving,
    has_margins,
    route_margins,
    tax_revenue,
)
from cge.data.examples import random_benchmark
from cge.data.har import (
    benchmark_to_gtap,
    gtap_to_benchmark,
    read_har,
    write_gtap_har,
)

MAPPING = {
    "regions": {"A": ["R0", "R3"], "B": ["R1"], "C": ["R2", "R4"]},
    "commodities": {"goods": ["s0", "s1", "s4"], "energy": ["s2"], "services": ["s3", "s5"]},
}


def assert_same(a: xr.Dataset, b: xr.Dataset, rtol: float) -> None:
    for key in SCHEMA:
        x = np.asarray(a[key].values, dtype=float)
        y = np.asarray(b[key].transpose(*a[key].dims).values, dtype=float)
        scale = max(float(np.abs(x).max()), 1e-12)
        np.testing.assert_allclose(y, x, rtol=rtol, atol=rtol * scale, err_msg=key)


# --------------------------------------------------------------------------------------------
# HAR files
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "sparsity"), [(0, 0.0), (3, 0.5)])
def test_har_round_trip(tmp_path, seed, sparsity):
    ds = random_benchmark(3, 4, seed, sparsity=sparsity, transfers=False)
    path = tmp_path / "basedata.har"
    write_gtap_har(benchmark_to_gtap(ds), path)
    arrays = read_har(path)
    # unchanged arrays: float32 values, set labels as coordinates (stripped), sets recorded
    assert arrays["VXSB"].dtype == np.float32
    assert arrays["VXSB"].dims == ("COMM", "REG", "REG_2")
    assert arrays["VXSB"].attrs["sets"] == ("COMM", "REG", "REG")
    assert list(arrays["REG"].values) == ["R0", "R1", "R2"]
    assert list(arrays["VDFB"].ACTS.values) == ["s0", "s1", "s2", "s3"]
    back = gtap_to_benchmark(arrays, name="back", year=2024)
    check_balance(back)
    assert back.attrs["year"] == 2024
    assert_same(ds, back, 1e-5)
    for adj in back.attrs["adjustments"].values():
        assert adj["max_rel"] < 1e-6


def test_defense_share_splits_government(tmp_path):
    ds = random_benchmark(3, 4, 1, transfers=False)
    gtap = benchmark_to_gtap(ds)
    for h in ("VDDB", "VMDB", "VDDP", "VMDP"):      # a plain GTAP data base: no defense
        del gtap[h]
    plain = gtap_to_benchmark(gtap)
    assert float(abs(final_expenditure(plain).sel(agent="defense")).max()) == 0.0
    split = gtap_to_benchmark(gtap, defense_share={"R0": 0.2, "R1": 0.0, "R2": 0.5})
    check_balance(split)
    fe_plain, fe_split = final_expenditure(plain), final_expenditure(split)
    gov_total = fe_plain.sel(agent="government")
    np.testing.assert_allclose(fe_split.sel(agent="defense").values,
                               gov_total.values * [0.2, 0.0, 0.5], rtol=1e-12)
    np.testing.assert_allclose(fe_split.sel(agent=["government", "defense"]).sum("agent"),
                               gov_total, rtol=1e-12)
    with pytest.raises(DataError, match="between 0 and 1"):
        gtap_to_benchmark(gtap, defense_share=1.5)


def add_margins(gtap: dict[str, xr.DataArray], margin: str, rate: float) -> None:
    """Give a GTAP data base (no margins) transport margins, keeping GTAP's identities.

    Every route pays ``rate`` × fob in services of ``margin``, supplied by the importer itself
    (VST(m, r) = margins on r's imports); importers pay cif (VMSB, VMxB, VMxP up) and buy that
    much less of domestic ``margin`` (VDxB, VDxP down), so users' costs are unchanged.
    """
    comm = [str(c) for c in gtap["COMM"].values]
    vfob = gtap["VFOB"]
    vtwr = (vfob * rate).expand_dims(MARG=[margin]).transpose("MARG", "COMM", "REG", "REG_2")
    vtwr.attrs.update(sets=("MARG", "COMM", "REG", "REG"), long_name="margins by route")
    gtap["VTWR"] = vtwr
    m_cr = vtwr.sel(MARG=margin, drop=True).sum("REG").rename(REG_2="REG")    # (COMM, REG)
    gtap["VCIF"] = gtap["VCIF"] + vtwr.sel(MARG=margin, drop=True)
    gtap["VMSB"] = gtap["VMSB"] + vtwr.sel(MARG=margin, drop=True)
    vst = m_cr.sum("COMM").expand_dims(MARG=[margin])
    vst.attrs.update(sets=("MARG", "REG"), long_name="margin exports")
    gtap["VST"] = vst
    users = [("VMFB", "VMFP", "VDFB", "VDFP")] + [
        (f"VM{x}B", f"VM{x}P", f"VD{x}B", f"VD{x}P") for x in "PGI"]
    total = sum(gtap[mb].sum("ACTS") if "ACTS" in gtap[mb].dims else gtap[mb]
                for mb, *_ in users)                                       # (COMM, REG)
    for mb, mp, db, dp in users:
        extra = gtap[mb] * (m_cr / total)
        gtap[mb] = gtap[mb] + extra
        gtap[mp] = gtap[mp] + extra
        less = extra.sum("COMM")
        sel = {"COMM": comm.index(margin)}
        for h in (db, dp):
            values = gtap[h].copy()
            values[sel] = values[sel] - less
            assert float(values[sel].min()) > 0
            gtap[h] = values


def margins_har(tmp_path) -> tuple[xr.Dataset, dict[str, xr.DataArray]]:
    """A benchmark and its GTAP arrays with 1 % margins of s3 on every route, read back from a
    HAR file."""
    ds = random_benchmark(3, 4, 2, transfers=False)
    gtap = benchmark_to_gtap(ds)
    add_margins(gtap, "s3", 0.01)
    path = tmp_path / "margins.har"
    write_gtap_har(gtap, path)
    return ds, read_har(path)


def test_margins_become_service_exports(tmp_path):
    ds, arrays = margins_har(tmp_path)
    back = gtap_to_benchmark(arrays, margins="services")
    check_balance(back)
    assert "vtwr" not in back and "vst" not in back
    # output, factor income, revenue, final expenditure, current accounts: all unchanged
    for f in (lambda d: d.vom, lambda d: d.vfm, tax_revenue, final_expenditure,
              foreign_saving):
        np.testing.assert_allclose(f(back).values, f(ds).values, rtol=1e-5, atol=1e-4)
    # margin services are now traded: more s3 trade, less of everything else
    assert float(back.vxmd.sel(commodity="s3").sum()) > float(ds.vxmd.sel(commodity="s3").sum())
    np.testing.assert_allclose(back.vxmd.sel(commodity="s0"), ds.vxmd.sel(commodity="s0"),
                               rtol=1e-5)
    assert float(back.vifm.sel(commodity="s0").sum()) < float(ds.vifm.sel(commodity="s0").sum())


def test_margins_kept_as_transport_pool(tmp_path):
    ds, arrays = margins_har(tmp_path)
    back = gtap_to_benchmark(arrays)
    check_balance(back)
    assert has_margins(back)
    # trade fob (VXSB), margins VCIF - VFOB on every route, tariffs VMSB - VCIF
    np.testing.assert_allclose(back.vxmd.values, ds.vxmd.values, rtol=1e-5)
    cif = (arrays["VCIF"] - arrays["VFOB"]).transpose("COMM", "REG", "REG_2").values
    np.testing.assert_allclose(route_margins(back).values, cif, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(back.vst.sum().item(), back.vtwr.sum().item(), rtol=1e-12)
    # the same economy: output, incomes, revenue, current accounts as without margins
    for f in (lambda d: d.vom, lambda d: d.vfm, tax_revenue, final_expenditure,
              foreign_saving):
        np.testing.assert_allclose(f(back).values, f(ds).values, rtol=1e-5, atol=1e-4)
    services = gtap_to_benchmark(arrays, margins="services")
    np.testing.assert_allclose(foreign_saving(back), foreign_saving(services), atol=1e-9)


def test_har_errors(tmp_path):
    bad = tmp_path / "not.har"
    bad.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(DataError):
        read_har(bad)
    gtap = benchmark_to_gtap(random_benchmark(2, 2, 0, transfers=False))
    del gtap["VDFB"], gtap["MAKS"]
    with pytest.raises(DataError, match=r"VDFB.*MAKS"):
        gtap_to_benchmark(gtap)


@pytest.mark.parametrize("treatment", ["domestic", "routes"])
def test_gtap_composite_region_trade_domestic_or_route(treatment):
    ds = random_benchmark(3, 3, 4, transfers=False)
    gtap = benchmark_to_gtap(ds)
    # a composite region trading with itself: 10 of s1 shipped within R0, 10 % tariff
    for h, v in (("VXSB", 10.0), ("VFOB", 10.0), ("VCIF", 10.0), ("VMSB", 11.0)):
        gtap[h] = gtap[h].copy()
        gtap[h].loc[{"COMM": "s1", "REG": "R0", "REG_2": "R0"}] = v
    gtap["VMPB"] = gtap["VMPB"].copy()
    gtap["VMPP"] = gtap["VMPP"].copy()
    gtap["VMPB"].loc[{"COMM": "s1", "REG": "R0"}] += 11.0
    gtap["VMPP"].loc[{"COMM": "s1", "REG": "R0"}] += 11.0
    gtap["MAKB"] = gtap["MAKB"].copy()
    gtap["MAKS"] = gtap["MAKS"].copy()
    gtap["MAKB"].loc[{"COMM": "s1", "ACTS": "s1", "REG": "R0"}] += 10.0
    gtap["MAKS"].loc[{"COMM": "s1", "ACTS": "s1", "REG": "R0"}] += 10.0
    gtap["EVFB"] = gtap["EVFB"].copy()
    gtap["EVFP"] = gtap["EVFP"].copy()
    gtap["EVFB"].loc[{"ENDW": "labour", "ACTS": "s1", "REG": "R0"}] += 10.0
    gtap["EVFP"].loc[{"ENDW": "labour", "ACTS": "s1", "REG": "R0"}] += 10.0
    back = gtap_to_benchmark(gtap, intra_region=treatment)
    check_balance(back)
    own = {"commodity": "s1", "exporter": "R0", "importer": "R0"}
    if treatment == "domestic":
        assert float(back.vxmd.sel(own)) == 0.0
        assert back.attrs["internalized_trade_taxes"]["R0"] == pytest.approx(1.0)
    else:   # GTAP's treatment: the route and its tariff stay
        assert float(back.vxmd.sel(own)) == pytest.approx(10.0)
        assert float(back.vtm.sel(own)) == pytest.approx(1.0)
        assert back.attrs["internalized_trade_taxes"]["R0"] == 0.0
    assert float(tax_revenue(back).sel(region="R0")) == pytest.approx(
        float(tax_revenue(ds).sel(region="R0")) + 1.0)


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def five_by_six():
    return random_benchmark(5, 6, 7)


def test_aggregate_balances_and_preserves_totals(five_by_six):
    ds = five_by_six
    agg = aggregate(ds, MAPPING)
    check_balance(agg)
    assert list(agg.region.values) == ["A", "B", "C"]
    assert list(agg.commodity.values) == ["goods", "energy", "services"]
    # intra-region trade is gone
    for r in agg.region.values:
        assert float(agg.vxmd.sel(exporter=r, importer=r).sum()) == 0.0
        assert float(agg.vtm.sel(exporter=r, importer=r).sum()) == 0.0
    assert agg.attrs["internalized_trade_taxes"]["B"] == 0.0
    assert agg.attrs["internalized_trade_taxes"]["A"] > 0.0
    total = {
        "world output": lambda d: d.vom.sum(),
        "world factor income": lambda d: d.vfm.sum(),
        "total tax revenue": lambda d: tax_revenue(d).sum(),
        "total final demand": lambda d: final_expenditure(d).sum(),
        "direct taxes": lambda d: d.vdtax.sum(),
        "saving": lambda d: d.vsav.sum(),
    }
    for what, f in total.items():
        assert float(f(agg)) == pytest.approx(float(f(ds)), rel=1e-12), what
    # regional sums are those of the members
    members = {"A": ["R0", "R3"], "B": ["R1"], "C": ["R2", "R4"]}
    for new, old in members.items():
        assert float(agg.vfm.sel(region=new).sum()) == pytest.approx(
            float(ds.vfm.sel(region=old).sum()), rel=1e-12)
        assert float(tax_revenue(agg).sel(region=new)) == pytest.approx(
            float(tax_revenue(ds).sel(region=old).sum()), rel=1e-12)
        assert float(foreign_saving(agg).sel(region=new)) == pytest.approx(
            float(foreign_saving(ds).sel(region=old).sum()), rel=1e-9, abs=1e-9)


def test_aggregate_replicates_benchmark(five_by_six):
    import cge

    agg = aggregate(five_by_six, MAPPING)
    session = cge.Session(agg, {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0})
    session.model()      # builds the model and runs the benchmark replication gate


def test_aggregate_from_toml_and_factors(tmp_path, five_by_six):
    path = tmp_path / "map.toml"
    path.write_text(
        'name = "small"\n'
        '[regions]\nWORLD = ["R0", "R1", "R2", "R3", "R4"]\n'
        '[sectors]\nall = ["s0", "s1", "s2", "s3", "s4", "s5"]\n'
        '[factors]\nva = ["labour", "capital"]\n')
    agg = aggregate(five_by_six, path)
    assert agg.attrs["name"] == "small"
    check_balance(agg)
    assert float(agg.vxmd.sum()) == 0.0 and float(agg.vifm.sum()) == 0.0
    assert float(agg.vom.sum()) == pytest.approx(float(five_by_six.vom.sum()), rel=1e-12)
    assert float(tax_revenue(agg).sum()) == pytest.approx(
        float(tax_revenue(five_by_six).sum()), rel=1e-12)


def test_aggregate_nets_transfers():
    ds = random_benchmark(3, 2, 5)
    ds["vtrf"] = ds.vtrf.copy(data=np.array([[0, 5.0, 2.0], [1.0, 0, 0], [0, 3.0, 0]]))
    # transfers move saving: household saving adjusts (still balanced)
    ds["vsav"].loc[{"institution": "household"}] = (
        ds.vsav.sel(institution="household") + ds.vtrf.sum("payer").values
        - ds.vtrf.sum("recipient").values)
    check_balance(ds)
    agg = aggregate(ds, {"regions": {"X": ["R0", "R1"], "Y": ["R2"]}})
    check_balance(agg)
    np.testing.assert_allclose(agg.vtrf.values, [[0, 2.0], [3.0, 0]])


def test_internalize_trade_without_self_trade_is_identity(five_by_six):
    same, converted = internalize_trade(five_by_six)
    assert float(converted.sum()) == 0.0
    assert_same(five_by_six, same, 0.0)


def test_bad_mapping_names_labels(five_by_six):
    bad = {"regions": {"A": ["R0", "R3", "XX"], "B": ["R1", "YY"], "C": ["R2", "R4"]}}
    with pytest.raises(DataError, match=r"unknown regions.*'XX'.*'YY'"):
        aggregate(five_by_six, bad)
    missing = {"regions": {"A": ["R0", "R3"], "C": ["R2"]}}
    with pytest.raises(DataError, match=r"not mapped: \['R1', 'R4'\]"):
        aggregate(five_by_six, missing)
    twice = {"commodities": {"g": ["s0", "s1", "s2"], "h": ["s2", "s3", "s4", "s5"]}}
    with pytest.raises(DataError, match=r"more than once: \['s2'\]"):
        aggregate(five_by_six, twice)
