"""Output-structure targets from ADB MRIO 2022 (cge/databuild/adb.py,
data/targets2024/output_structure.csv): reproducible, consistent with the GDP targets, checked
against reference calculations made here directly from the raw files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from cge.databuild import adb
from cge.databuild.raw import RawFileMissing, locate

REPO = Path(__file__).resolve().parents[1]
CSV = REPO / "data" / "targets2024" / "output_structure.csv"
TARGETS = REPO / "data" / "targets2024" / "targets.csv"
SHARES = REPO / "data" / "targets2024" / "autos_split_shares.csv"
#: ADB / WIOD sectors of the model's `services` (c18..c35 without c31), written out here
#: independently of data/maps/adb_mrio.toml.
SERVICES = [18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 32, 33, 34, 35]


@pytest.fixture(scope="module")
def raw() -> dict[str, Path]:
    """The three ADB raw files, or skip: the tests need them (data/raw/ or ../shared/data/)."""
    try:
        return {k: locate(k) for k in ("adb_mrio_summary72", "adb_mrio_summary62",
                                       "adb_mrio_countries")}
    except RawFileMissing as exc:
        pytest.skip(f"ADB MRIO raw files absent, cannot rebuild or check the targets: {exc}")


@pytest.fixture(scope="module")
def rows(raw: dict[str, Path]) -> pd.DataFrame:
    return pd.read_csv(CSV, keep_default_na=False, dtype={"value": float})


@pytest.fixture(scope="module")
def gdp() -> dict[str, float]:
    t = pd.read_csv(TARGETS, keep_default_na=False)
    t = t[(t["item"] == "gdp") & (t.role == "target")]
    return dict(zip(t.region, t.value.astype(float), strict=True))


@pytest.fixture(scope="module")
def mrio_sheet(raw: dict[str, Path]) -> pd.DataFrame:
    return pd.read_excel(raw["adb_mrio_countries"], sheet_name="MRIO")


@pytest.fixture(scope="module")
def adb2022(raw: dict[str, Path]) -> pd.DataFrame:
    d = pd.read_parquet(raw["adb_mrio_summary72"])
    return d[d.t == 2022]


def _cell(rows: pd.DataFrame, item: str, region: str, commodity: str) -> float:
    hit = rows[(rows["item"] == item) & (rows.region == region) & (rows.commodity == commodity)]
    assert len(hit) == 1, (item, region, commodity)
    return float(hit.value.iloc[0])


def test_committed_csv_equals_fresh_rebuild(raw: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "output_structure.csv"
    adb.build_output_targets(out)
    assert out.read_bytes() == CSV.read_bytes(), \
        "data/targets2024/output_structure.csv is stale: run python -m cge.databuild.adb"


def test_format(rows: pd.DataFrame) -> None:
    assert list(rows.columns) == adb.COLUMNS
    keys = list(zip(rows["item"], rows.region, rows.commodity, strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    targets = rows[rows.role == "target"]
    assert len(targets) == 2 * 8 * 11
    assert set(targets["item"]) == {"value_added", "gross_output"}
    assert (targets.year == 2024).all() and (targets.unit == "US$ bn").all()
    assert set(rows.quality) == {"P"} and set(rows.status) == {"derived"}
    assert (rows.partner == "").all()
    assert rows.source_url.str.contains("ksreyes/mrio-processing/blob/9eb705a2eaa6").all()
    tol = targets.tolerance.astype(float)
    conflicts = [t for t, _ in adb.CLASSIFICATION_CONFLICTS.values()]
    assert tol.isin([0.03, 0.05, 0.10, 0.15, *conflicts]).all()
    checks = rows[rows.role == "cross-check"]
    assert sorted(checks.region) == sorted(adb.load_mapping().regions)
    assert (checks["item"] == "value_added_total_2022").all() and (checks.tolerance == "").all()


def test_value_added_sums_to_gdp_targets(rows: pd.DataFrame, gdp: dict[str, float]) -> None:
    va = rows[rows["item"] == "value_added"].groupby("region").value.sum()
    assert sorted(va.index) == sorted(gdp)
    for region, total in va.items():
        assert total == pytest.approx(gdp[region], rel=1e-12), region


def test_gross_output_at_least_value_added(rows: pd.DataFrame) -> None:
    va = rows[rows["item"] == "value_added"].set_index(["region", "commodity"]).value
    go = rows[rows["item"] == "gross_output"].set_index(["region", "commodity"]).value
    assert sorted(va.index) == sorted(go.index)
    assert (va > 0).all()
    assert (go.loc[va.index] >= va).all()


def test_us_services_reference_calculation(rows: pd.DataFrame, gdp: dict[str, float],
                                           mrio_sheet: pd.DataFrame,
                                           adb2022: pd.DataFrame) -> None:
    s = int(mrio_sheet.loc[mrio_sheet.mrio_code == "USA", "mrio"].iloc[0])
    us = adb2022[adb2022.s == s]
    serv = us[us.i.isin(SERVICES)]
    share = serv.va.sum() / us.va.sum()
    assert 0.70 < share < 0.75  # BEA: private services + construction about 72 % of US GDP
    va = share * gdp["USA"]
    assert _cell(rows, "value_added", "USA", "services") == pytest.approx(va, rel=1e-12)
    go = va * serv.x.sum() / serv.va.sum()
    assert _cell(rows, "gross_output", "USA", "services") == pytest.approx(go, rel=1e-12)


def test_japan_motor_vehicles_reference_calculation(rows: pd.DataFrame, gdp: dict[str, float],
                                                    mrio_sheet: pd.DataFrame,
                                                    adb2022: pd.DataFrame) -> None:
    s = int(mrio_sheet.loc[mrio_sheet.mrio_code == "JPN", "mrio"].iloc[0])
    jp = adb2022[adb2022.s == s]
    share = pd.read_csv(SHARES).set_index("region").motor_vehicles_share["JPN"]
    c15 = jp[jp.i == 15]
    va = float(c15.va.iloc[0]) * share / jp.va.sum() * gdp["JPN"]
    assert _cell(rows, "value_added", "JPN", "motor_vehicles") == pytest.approx(va, rel=1e-12)
    rest = float(c15.va.iloc[0]) * (1 - share) / jp.va.sum() * gdp["JPN"]
    assert _cell(rows, "value_added", "JPN", "other_transport") == pytest.approx(rest, rel=1e-9)


def test_eu_is_the_eu27_of_the_countries_file(rows: pd.DataFrame,
                                              raw: dict[str, Path],
                                              adb2022: pd.DataFrame) -> None:
    """EU members by the countries file's own rta_eu flag (27, Croatia in, UK out); the EU
    cross-check row is their 2022 value added."""
    sheet = pd.read_excel(raw["adb_mrio_countries"], sheet_name="Consolidated")
    eu = sheet[(sheet.rta_eu == 1) & sheet.mrio.notna()]
    assert len(eu) == 27 and "HRV" in set(eu.mrio_code) and "UKG" not in set(eu.mrio_code)
    assert sorted(adb.load_mapping().regions["EU"]) == sorted(eu.mrio_code)
    total = adb2022[adb2022.s.isin(eu.mrio.astype(int))].va.sum() / 1000
    assert _cell(rows, "value_added_total_2022", "EU", "") == pytest.approx(total, rel=1e-12)


def test_mapping_covers_every_economy_and_sector_once(mrio_sheet: pd.DataFrame,
                                                      adb2022: pd.DataFrame) -> None:
    mapping = adb.load_mapping()
    codes = [c for cs in mapping.regions.values() for c in cs]
    assert sorted(codes) == sorted(mrio_sheet.mrio_code) and len(codes) == len(set(codes)) == 73
    numbers = adb.economy_numbers()
    assert sorted(numbers[c] for c in codes) == sorted(adb2022.s.unique()) == list(range(1, 74))
    sectors = [i for ns in mapping.sectors.values() for i in ns]
    assert sorted(sectors) == sorted(adb2022.i.unique()) == list(range(1, 36))
    assert mapping.sectors["services"] == SERVICES and mapping.sectors["public_admin"] == [31]


def test_economy_numbering_is_plausible(rows: pd.DataFrame) -> None:
    """The economy numbers really are the economies: 2022 value added (US$ tn) near GDP."""
    total = rows[rows["item"] == "value_added_total_2022"].set_index("region").value / 1000
    assert 24 < total["USA"] < 27 and 17 < total["CHN"] < 19 and 4.0 < total["JPN"] < 4.5
    assert 14 < total["EU"] < 17 and 1.5 < total["KOR"] < 2.0
    assert 90 < total.sum() < 105  # world GDP 2022 about 100 tn at market prices


def test_62_economy_table_gives_the_same_aggregates(raw: dict[str, Path]) -> None:
    mapping = adb.load_mapping()
    agg72 = adb.aggregate(adb.read_adb("adb_mrio_summary72"), mapping,
                          adb.economy_numbers("adb_mrio_summary72"))
    only72 = {"ARG", "COL", "ECU", "ARM", "GEO", "EGY", "KUW", "SAU", "UAE", "NZL"}
    m62 = replace(mapping, regions={r: [c for c in cs if c not in only72]
                                    for r, cs in mapping.regions.items()})
    agg62 = adb.aggregate(adb.read_adb("adb_mrio_summary62"), m62,
                          adb.economy_numbers("adb_mrio_summary62"))
    assert list(agg62.region) == list(agg72.region)
    for col in ("x", "va"):
        assert agg62[col].to_numpy() == pytest.approx(agg72[col].to_numpy(), rel=1e-9)


def test_tolerance_rule(rows: pd.DataFrame, gdp: dict[str, float]) -> None:
    targets = rows[rows.role == "target"]
    va = targets[targets["item"] == "value_added"].set_index(["region", "commodity"]).value
    for r in targets.itertuples():
        small = va[(r.region, r.commodity)] < 0.005 * gdp[r.region]
        want = (0.15 if small else 0.10 if r.commodity in ("motor_vehicles", "other_transport")
                else {"value_added": 0.03, "gross_output": 0.05}[r.item])
        conflict = adb.CLASSIFICATION_CONFLICTS.get((r.item, r.region, r.commodity))
        if conflict:   # a documented classification conflict: its own tolerance and reason
            want = conflict[0]
            assert conflict[1] in r.quote_or_note
        assert float(r.tolerance) == want, (r.item, r.region, r.commodity)
