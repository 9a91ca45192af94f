"""The 2024 benchmark data/wiod_update2024 (cge/databuild/update.py): balance, targets, autos split,
reproducibility, and the model's replication gate on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import cge
from cge.data.benchmark import load_benchmark
from cge.databuild.build import build_all
from cge.databuild.update import (
    SERVICES,
    make_targets,
    read_all_targets,
    read_targets,
    set_labour_shares,
)

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data" / "wiod_update2024"
TARGETS = REPO / "data" / "targets2024" / "targets.csv"
SHARES = REPO / "data" / "targets2024" / "autos_split_shares.csv"

#: GTAP defaults from calibration/elasticities/gtap.csv; motor_vehicles now = GTAP mvh
#: (2.8/5.6/1.26) and other_transport = GTAP otn (4.3/8.6/1.26),
#: verified in the GTAP v11c file.
_GTAP = pd.read_csv(REPO / "calibration" / "elasticities" / "gtap.csv").set_index("commodity")
ELASTICITIES = {col: {**{c: float(_GTAP.loc[c, col]) for c in _GTAP.index},
                      "motor_vehicles": mvh, "other_transport": otn}
                for col, mvh, otn in (("esubd", 2.8, 4.3), ("esubm", 5.6, 8.6),
                                      ("esubva", 1.26, 1.26))}


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return load_benchmark(DATA_DIR)  # checks every account at 1e-9


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return read_targets(TARGETS)


def test_sets_and_split(ds: xr.Dataset) -> None:
    assert ds.attrs["name"] == "wiod_update2024" and ds.attrs["year"] == 2024
    assert ds.attrs["unit"] == "US$ million"
    goods = list(ds.commodity.values)
    assert goods.index("other_transport") == goods.index("motor_vehicles") + 1
    assert float(ds.vom.sel(activity="other_transport").min()) > 0


def test_targets_held_fixed(ds: xr.Dataset) -> None:
    """targets.csv exactly; the sector tables (US imports by commodity x partner, region trade
    totals, ADB output structure) each within its tolerance, recomputed here from the data."""
    table = read_all_targets()
    held = make_targets(ds, table)
    assert len(held) == int((table.role == "target").sum()) >= 250
    n_soft = 0
    for _, target in held:
        got = target.total(ds)
        if target.tolerance == 0:
            assert got == pytest.approx(target.value, rel=1e-6), target.name
        else:
            n_soft += 1
            assert abs(got - target.value) <= target.tolerance * abs(target.value), target.name
    assert n_soft >= 200
    achieved = pd.read_csv(DATA_DIR / "targets_achieved.csv")
    fixed = achieved[achieved.held_fixed]
    assert len(fixed) == len(held) and fixed.within_tolerance.all()
    assert float(np.abs(fixed[fixed.tolerance == 0].rel_gap).max()) <= 1e-6


def test_every_target_row_is_sourced(table: pd.DataFrame) -> None:
    for row in table.itertuples():
        assert row.source_url.strip() or row.status == "assumption", row
        assert row.quality in {"P", "N", "S", "derived"}
    shares = pd.read_csv(SHARES, keep_default_na=False)
    for row in shares.itertuples():
        assert row.source_url.strip() or row.status == "assumption", row


def test_headline_figures(ds: xr.Dataset, table: pd.DataFrame) -> None:
    gdp = ds.vfm.sum(["factor", "activity"])
    rows = table[(table["item"] == "gdp") & (table.role == "target")]
    assert sorted(rows.region) == sorted(ds.region.values)
    for row in rows.itertuples():
        assert float(gdp.sel(region=row.region)) == pytest.approx(row.value * 1e3, rel=1e-3)
    goods = [c for c in ds.commodity.values if c not in SERVICES]
    from_jpn = ds.vxmd.sel(exporter="JPN", importer="USA")
    imports = float(from_jpn.sel(commodity=goods).sum())
    assert imports == pytest.approx(148_200, rel=0.01)
    share = float(from_jpn.sel(commodity="motor_vehicles")) / imports
    assert share == pytest.approx(52.3 / 148.2, rel=0.01)


def test_labour_shares_are_the_published_ones(ds: xr.Dataset, table: pd.DataFrame) -> None:
    """Each region's labour share of value added is its targets.csv ``labour_share`` row (PWT
    10.01 labsh 2019; EU, ROW derived), in every activity, not the 2011 share of wiod2011."""
    rows = table[table["item"] == "labour_share"]
    assert sorted(rows.region) == sorted(ds.region.values)
    assert set(rows.status) == {"published"} and set(rows.role) == {"target"}
    labour, va = ds.vfm.sel(factor="labour"), ds.vfm.sum("factor")
    base = load_benchmark(REPO / "data" / "wiod2011")
    base_share = base.vfm.sel(factor="labour").sum("activity") / base.vfm.sum(["factor",
                                                                                "activity"])
    for row in rows.itertuples():
        share = float(labour.sel(region=row.region).sum() / va.sel(region=row.region).sum())
        assert abs(share - row.value) <= 1e-6, row.region
        assert abs(float(base_share.sel(region=row.region)) - row.value) > 1e-3, row.region
        by_activity = (labour / va).sel(region=row.region).values
        np.testing.assert_allclose(by_activity[np.isfinite(by_activity)], row.value, rtol=1e-9)


def test_set_labour_shares_keeps_value_added(ds: xr.Dataset) -> None:
    """Non-uniform shares: one odds factor per region, value added of every activity kept."""
    skew = ds.copy(deep=True)
    vfm = skew.vfm.copy()
    va = vfm.sum("factor")
    ramp = xr.DataArray(np.linspace(0.05, 0.95, ds.sizes["activity"]), dims="activity",
                        coords={"activity": ds.activity.values})
    vfm.loc[{"factor": "labour"}] = va * ramp
    vfm.loc[{"factor": "capital"}] = va * (1 - ramp)
    skew["vfm"] = vfm
    target = xr.DataArray([0.3, 0.8], dims="region", coords={"region": ["USA", "JPN"]})
    out, factor = set_labour_shares(skew, target)
    np.testing.assert_allclose(out.vfm.sum("factor"), va, rtol=1e-12)
    assert float(out.vfm.min()) >= 0.0
    lab = out.vfm.sel(factor="labour")
    for reg, want in (("USA", 0.3), ("JPN", 0.8)):
        got = float(lab.sel(region=reg).sum() / va.sel(region=reg).sum())
        assert got == pytest.approx(want, rel=1e-12)
        odds = (lab / (va - lab)).sel(region=reg) / (ramp / (1 - ramp))
        np.testing.assert_allclose(odds, float(factor.sel(region=reg)), rtol=1e-9)
    xr.testing.assert_identical(out.vfm.sel(region="EU"), skew.vfm.sel(region="EU"))
    assert float(factor.sel(region="EU")) == 1.0


def test_rebuild_reproduces_committed_files(tmp_path: Path) -> None:
    """``build_all`` into a temporary folder gives the committed files byte for byte: every data
    set it builds (wiod2011 only when the raw WIOD table is available), the same file names."""
    written = build_all(tmp_path, echo=lambda s: None)
    assert [p.name for p in written][-3:] == ["wiod_update2024", "default2024", "default2024_mfn"]
    for folder in written:
        committed = REPO / "data" / folder.name
        names = sorted(p.name for p in committed.iterdir() if p.is_file())
        assert sorted(p.name for p in folder.iterdir()) == names, folder.name
        differ = [n for n in names if (folder / n).read_bytes() != (committed / n).read_bytes()]
        assert not differ, f"{folder.name}: rebuilt {differ} differ from the committed files"
    from cge.databuild.build import DERIVED
    from cge.databuild.raw import missing
    for _what, keys, sub, names, _builder in DERIVED:   # tables derived from raw files
        if not missing(keys):
            for name in names:
                assert ((tmp_path / sub / name).read_bytes()
                        == (REPO / "data" / sub / name).read_bytes()), f"{sub}/{name}"


def test_model_replicates_the_updated_benchmark() -> None:
    session = cge.Session(DATA_DIR, ELASTICITIES)
    session.model()  # builds and runs the replication gate (raises if not replicated)
