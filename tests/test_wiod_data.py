"""The committed default benchmark data/wiod2011 (built by cge/databuild/wiod.py from WIOD 2011)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from cge.data.benchmark import SCHEMA, load_benchmark

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data" / "wiod2011"
REGIONS = ["USA", "JPN", "EU", "KOR", "CHN", "CAN", "MEX", "ROW"]
SECTORS = ["agri_food", "energy", "chemicals", "metals", "motor_vehicles", "electronics",
           "machinery", "other_mfg", "public_admin", "services"]


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return load_benchmark(DATA_DIR)  # checks the balance (1e-9 relative)


def test_sets(ds: xr.Dataset) -> None:
    assert list(ds.region.values) == REGIONS
    assert list(ds.commodity.values) == SECTORS
    assert list(ds.activity.values) == SECTORS
    assert list(ds.factor.values) == ["labour", "capital"]
    assert ds.attrs["name"] == "wiod2011"
    assert ds.attrs["year"] == 2011
    assert ds.attrs["unit"] == "US$ million"


def test_every_array_has_a_source(ds: xr.Dataset) -> None:
    for key in SCHEMA:
        assert ds[key].attrs.get("source", "").strip(), key


def test_value_added_and_labour_share(ds: xr.Dataset) -> None:
    va = ds.vfm.sum("factor")
    assert float(va.min()) >= 0.0
    assert float(ds.vfm.min()) >= 0.0
    share = ds.vfm.sel(factor="labour").sum("activity") / va.sum("activity")
    assert bool(((share > 0) & (share < 1)).all())
    # one labour share per region: the same in every activity
    by_activity = ds.vfm.sel(factor="labour") / va
    np.testing.assert_allclose(by_activity.values, np.broadcast_to(share.values, va.shape),
                               rtol=1e-12)


def test_world_exports_equal_world_imports(ds: xr.Dataset) -> None:
    exports = ds.vxmd.sum(["exporter", "importer"])
    by_exporter = ds.vxmd.sum("importer").sum("exporter")
    imports_by_users = (ds.vifm.sum("activity") + ds.vifd.sum("agent")).sum("region")
    np.testing.assert_allclose(by_exporter.values, exports.values, rtol=1e-12)
    np.testing.assert_allclose(imports_by_users.values, exports.values, rtol=1e-9)
    assert bool((exports > 0).all())


def test_trade_treatment(ds: xr.Dataset) -> None:
    # intra-region (e.g. intra-EU) trade is domestic: no diagonal trade
    for r in REGIONS:
        assert float(ds.vxmd.sel(exporter=r, importer=r).sum()) == 0.0
    # no tariffs, export or product taxes, transfers in WIOD
    for key in ("vtx", "vtm", "vto", "vtfd", "vtrf"):
        assert float(np.abs(ds[key]).sum()) == 0.0, key
    # defense is a positive part of government consumption everywhere
    fe = (ds.vdfd + ds.vifd).sum("commodity")
    assert bool((fe.sel(agent="defense") > 0).all())
    assert bool((fe.sel(agent="defense") < fe.sel(agent="government")
                 + fe.sel(agent="defense")).all())


def test_imputations_recorded() -> None:
    imp = pd.read_csv(DATA_DIR / "imputations.csv")
    assert list(imp.columns) == ["item", "region", "value", "unit", "source", "status"]
    assert set(imp.status) <= {"published", "assumption"}
    assert imp.source.notna().all()
    for item in ("labour_share", "defense_share", "defense_value", "direct_tax"):
        assert set(imp.loc[imp.item == item, "region"]) == set(REGIONS), item


def test_rebuild_reproduces_committed_files(tmp_path: Path) -> None:
    """wiod2011 rebuilt from the raw WIOD table: the committed files, byte for byte."""
    from cge.databuild import wiod

    try:
        wiod.find_raw_file()
    except FileNotFoundError as exc:
        pytest.skip(f"raw WIOD table not available, cannot rebuild wiod2011: {exc}")
    wiod.build_default(tmp_path)
    names = sorted(p.name for p in DATA_DIR.iterdir() if p.is_file())
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    differ = [n for n in names if (tmp_path / n).read_bytes() != (DATA_DIR / n).read_bytes()]
    assert not differ, f"rebuilt {differ} differ from the committed files"
