"""The benchmark's stationing account ``vdpur`` and the defense bundle's composition.

Economics checked:
* the account in the data: the host's current account improves and the buyer's worsens by
  exactly the purchases, the host's output is unchanged, the buyer's defense spending (bundle
  plus purchases abroad) is unchanged; the data balance and survive a save/load round trip;
* the model starts at the account: the benchmark replicates with every financing rule (the
  account is paid from the ordinary budget, not an extra outlay), ``scale = 0.5`` is the same
  shock as ``amount = -X/2``, and the host paying the bill is exactly a transfer between the
  governments of the account's size;
* on default2024: halving US forces' purchases in Japan returns what the US no longer buys to
  US households and costs Japan export demand;
* the defense bundle reaches its sourced composition where the sources allow, with every
  agent's total and every market's total unchanged;
* aggregation keeps the account (a purchase inside a merged region becomes its defense
  demand); the GTAP writer refuses it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from cge.api import Session
from cge.data.aggregate import aggregate
from cge.data.benchmark import (
    DataError,
    check_balance,
    final_expenditure,
    foreign_saving,
    load_benchmark,
    save_benchmark,
)
from cge.data.examples import random_benchmark
from cge.data.har import benchmark_to_gtap
from cge.databuild.defense_account import (
    add_stationing_account,
    compose_defense_bundle,
    defense_bundle_table,
)
from cge.scenario import ScenarioError

ELAST = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}
BUY = {"s0": 0.6, "s2": 0.4}          # what R0's forces buy in R1 (value at R1's prices)


def _with_account(scale: float = 1.0) -> xr.Dataset:
    base = random_benchmark(3, 3, seed=3)
    return add_stationing_account(base, {("R0", "R1"): pd.Series(BUY) * scale})


@pytest.fixture(scope="module")
def account() -> xr.Dataset:
    return _with_account()


@pytest.fixture(scope="module")
def session(account: xr.Dataset) -> Session:
    return Session(account, ELAST)


def _defense_total(ds: xr.Dataset) -> xr.DataArray:
    fe = final_expenditure(ds).sel(agent="defense", drop=True)
    abroad = ds.vdpur.sum(["commodity", "exporter"]).rename(importer="region") \
        if "vdpur" in ds else 0.0
    return fe + abroad


def test_account_moves_the_current_accounts_by_the_purchases(account: xr.Dataset) -> None:
    base = random_benchmark(3, 3, seed=3)
    x = sum(BUY.values())
    dfs = (foreign_saving(account) - foreign_saving(base)).to_series()
    assert dfs["R1"] == pytest.approx(-x, rel=1e-12)       # host: exports up
    assert dfs["R0"] == pytest.approx(x, rel=1e-12)        # buyer: imports up
    assert dfs["R2"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(account.vom, base.vom, rtol=1e-12)
    np.testing.assert_allclose(_defense_total(account), _defense_total(base), rtol=1e-12)
    check_balance(account)


def test_account_survives_save_and_load(account: xr.Dataset, tmp_path) -> None:
    sources = {k: "test" for k in (*account.data_vars,)}
    save_benchmark(account, tmp_path / "d", sources=sources, notes="")
    back = load_benchmark(tmp_path / "d")
    np.testing.assert_allclose(back.vdpur.transpose(*account.vdpur.dims), account.vdpur,
                               rtol=1e-15)


def test_a_region_cannot_buy_from_itself(account: xr.Dataset) -> None:
    bad = account.copy(deep=True)
    bad["vdpur"].loc["s0", "R0", "R0"] = 1.0
    with pytest.raises(DataError, match="buying from itself"):
        check_balance(bad)


@pytest.mark.parametrize("financing", ["lump_sum", "consumption_tax", "output_tax"])
def test_benchmark_replicates_under_every_financing(session: Session, financing: str) -> None:
    """The account is paid from the ordinary budget: no surcharge at the benchmark."""
    res = session.run(toml=f'name = "b"\n[[defense]]\nregion = "R0"\nscale = 1.0\n'
                           f'financing = "{financing}"\n')
    assert float(np.abs(res.EV).max()) < 1e-8
    assert float(res.direct_purchases.sel(exporter="R1", importer="R0")) == pytest.approx(
        sum(BUY.values()), rel=1e-10)
    model = session.model()
    assert abs(model.m.tsur["R0"].value) < 1e-10


def test_scale_is_a_cut_of_the_account(session: Session) -> None:
    x = sum(BUY.values())
    half = session.run(toml='name = "h"\n[[stationing]]\nbuyer = "R0"\nhost = "R1"\n'
                            'scale = 0.5\n')
    cut = session.run(toml=f'name = "c"\n[[stationing]]\nbuyer = "R0"\nhost = "R1"\n'
                           f'amount = {-x / 2}\n')
    assert float(half.direct_purchases.sel(exporter="R1", importer="R0")) == pytest.approx(
        x / 2, rel=1e-10)
    np.testing.assert_allclose(half.EV, cut.EV, rtol=1e-9, atol=1e-10)
    assert float(half.EV.sel(region="R0")) > 0 > float(half.EV.sel(region="R1"))


def test_a_level_below_zero_is_refused(session: Session) -> None:
    with pytest.raises(ScenarioError, match=r"stationing\[1\]\.amount"):
        session.run(toml='name = "n"\n[[stationing]]\nbuyer = "R0"\nhost = "R1"\n'
                         'amount = -5.0\n')


def test_host_paying_the_bill_is_a_transfer_of_the_account(session: Session) -> None:
    """Who pays changes no purchase: the host paying is a government-to-government transfer
    of the account's size, to the last digit of the solve."""
    x = sum(BUY.values())
    for closure in ("", '[closure]\ninstitutions = "separate"\n'):
        host = session.run(toml=f'name = "h"\n{closure}[[stationing]]\nbuyer = "R0"\n'
                                f'host = "R1"\nscale = 1.0\npaid_by = "host"\n')
        trf = session.run(toml=f'name = "t"\n{closure}[[transfer]]\npayer = "R1"\n'
                               f'recipient = "R0"\namount = {x}\n')
        np.testing.assert_allclose(host.EV, trf.EV, rtol=1e-9, atol=1e-10)
        assert float(host.EV.sel(region="R1")) < -0.5 * x


def test_troop_cut_on_default2024() -> None:
    """US forces' purchases in Japan halved (5,225 -> 2,612.5): the US budget saves the
    difference and households get it; Japan loses the export demand."""
    s = Session()
    res = s.run("jpn_troop_cut_50")
    dp = res.direct_purchases.sel(exporter="JPN", importer="USA")
    dp0 = res.direct_purchases_benchmark.sel(exporter="JPN", importer="USA")
    assert float(dp0) == pytest.approx(5225.0, rel=1e-12)
    assert float(dp) == pytest.approx(2612.5, rel=1e-9)
    assert float(res.EV.sel(region="USA")) > 0.9 * 2612.5
    assert float(res.EV.sel(region="JPN")) < 0
    assert float(res.defense_real.sel(region="USA")) == pytest.approx(1.0, abs=1e-9)


def test_bundle_reaches_its_composition_and_keeps_the_totals() -> None:
    base = random_benchmark(3, 3, seed=3)
    target = xr.DataArray(np.array([[0.2], [0.5], [0.3]]), dims=("commodity", "region"),
                          coords={"commodity": ["s0", "s1", "s2"], "region": ["R1"]})
    out = compose_defense_bundle(base, target)
    table = defense_bundle_table(out, target).set_index("commodity")
    np.testing.assert_allclose(table.reached_pct, 100 * target.sel(region="R1").values,
                               rtol=1e-9)
    fe0, fe1 = final_expenditure(base), final_expenditure(out)
    np.testing.assert_allclose(fe1, fe0, rtol=1e-12)          # every agent's total
    demand = lambda d: (d.vdfd + d.vifd).sum("agent") + (d.vdfm + d.vifm).sum("activity")  # noqa: E731
    np.testing.assert_allclose(demand(out), demand(base), rtol=1e-12)   # every market's
    check_balance(out)


def test_aggregation_keeps_the_account(account: xr.Dataset) -> None:
    mapping = {"regions": {"A": ["R0", "R1"], "R2": ["R2"]}}
    merged = aggregate(account, mapping)
    assert float(np.abs(merged.vdpur).max()) == 0.0         # R0 bought in R1: now inside A
    np.testing.assert_allclose(float(_defense_total(merged).sel(region="A")),
                               float(_defense_total(account).sel(region=["R0", "R1"]).sum()),
                               rtol=1e-12)
    apart = aggregate(account, {"regions": {"A": ["R0", "R2"], "R1": ["R1"]}})
    assert float(apart.vdpur.sel(exporter="R1", importer="A").sum()) == pytest.approx(
        sum(BUY.values()), rel=1e-12)


def test_gtap_writer_refuses_the_account(account: xr.Dataset) -> None:
    no_transfers = account.copy(deep=True)
    no_transfers["vtrf"] = no_transfers.vtrf * 0.0
    with pytest.raises(DataError, match="vdpur"):
        benchmark_to_gtap(no_transfers)


def test_purchases_buy_what_the_account_says(session: Session) -> None:
    weights = session.model().ctx.dp_weights["R1", "R0"]
    total = sum(BUY.values())
    assert weights == pytest.approx({i: v / total for i, v in BUY.items()}, rel=1e-12)


def test_defense_import_table_all_sellers_is_the_import_share() -> None:
    """``*`` = every foreign seller: the bundle's imports plus purchases abroad over the
    bundle plus purchases abroad, computed here without the sourcing split."""
    from cge.databuild.defense_account import defense_import_table
    from cge.databuild.policy import load_defense_purchases

    ds = load_benchmark(Path(__file__).resolve().parents[1] / "data" / "default2024")
    table = defense_import_table(ds, load_defense_purchases()).set_index(["region", "seller"])
    for r in ("KOR", "EU"):
        bundle = float((ds.vdfd + ds.vifd).sel(agent="defense", region=r).sum())
        imported = float(ds.vifd.sel(agent="defense", region=r).sum())
        abroad = float(ds.vdpur.sel(importer=r).sum())
        expected = 100 * (imported + abroad) / (bundle + abroad)
        assert table.loc[(r, "*"), "ours_pct"] == pytest.approx(expected, rel=1e-9)
        assert 0 < table.loc[(r, "USA"), "ours_pct"] < expected


def test_default2024_defense_bundle_buys_equipment() -> None:
    """Finding 4 of issue 13: the defense bundle copied government consumption (Japan's import
    share 0.11 %, no equipment). Now each covered region's bundle buys what its budget titles
    say, as far as the data hold it: no goods share above its target, at least 60 % of the
    goods targeted reached (other transport equipment at least a quarter), public
    administration and services holding the shortfall; Japan's defense imports are several
    percent."""
    root = Path(__file__).resolve().parents[1]
    ds = load_benchmark(root / "data" / "default2024")
    rows = pd.read_csv(root / "data" / "policy" / "defense_purchases.csv")
    rows = rows[(rows["item"] == "defense_composition") & (rows["unit"] == "%")]
    for r in ("USA", "JPN", "KOR", "EU"):
        target = rows[rows["buyer"] == r].groupby("commodity")["value"].sum()
        bought = (ds.vdfd + ds.vifd).sel(agent="defense", region=r).to_series()
        reached = 100 * bought / bought.sum()
        goods = [i for i in reached.index if i not in ("public_admin", "services")]
        for i in goods:                     # never above the target, short only where the
            assert reached[i] <= float(target.get(i, 0.0)) + 0.05, (r, i)  # data hold little
        assert reached[goods].sum() >= 0.6 * target.reindex(goods).fillna(0.0).sum(), r
        assert reached["other_transport"] >= 0.25 * target["other_transport"], r
    jpn = ds.sel(region="JPN", agent="defense")
    assert 5.0 < 100 * float(jpn.vifd.sum() / (jpn.vdfd + jpn.vifd).sum()) < 30.0
