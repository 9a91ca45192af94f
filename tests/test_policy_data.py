"""Policy data: base tariffs (table, loader, applying them to the benchmark) and defense figures."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cge.data.benchmark import DataError, check_balance, load_benchmark
from cge.databuild.policy import (
    BASE_TARIFFS,
    MEASURES,
    apply_base_tariffs,
    load_base_tariffs,
    load_defense_data,
    read_tariff_table,
    stationing_purchases,
    tariff_adjustment_report,
    tariff_summary,
)

ROOT = Path(__file__).resolve().parents[1]

#: Plausible band for the US trade-weighted average tariff on goods in the MFN/preferential base
#: (no Section 232/301). Collected duties / goods imports were about 1.4% before 2018; the 2024
#: AETR of about 2.2-2.4% (PUBLIC_FIGURES F) includes Section 301 and 232 duties.
US_BAND_PCT = (1.0, 4.0)


@lru_cache(maxsize=1)
def _benchmark():
    return load_benchmark(ROOT / "data" / "wiod2011")


@lru_cache(maxsize=1)
def _tariffed():
    return apply_base_tariffs(_benchmark(), load_base_tariffs())


def test_every_row_is_sourced_or_marked():
    for path in (BASE_TARIFFS, ROOT / "data" / "policy" / "defense.csv", MEASURES):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        unsourced = frame[(frame.source_url.str.strip() == "")
                          & ~frame.status.isin(["assumption", "derived"])]
        assert unsourced.empty, f"{path.name}: rows without source: {unsourced.index.tolist()}"
        assert set(frame.status) <= {"published", "derived", "assumption"}
        derived = frame[frame.status == "derived"]
        note = "note" if "note" in frame else "quote_or_note"
        assert (derived[note].str.len() > 10).all(), f"{path.name}: derived rows must explain"


def test_rates_valid_and_complete():
    table = read_tariff_table()
    assert (table.rate_pct > -100).all() and (table.rate_pct < 100).all()
    rates = load_base_tariffs()
    assert rates.dims == ("commodity", "exporter", "importer")
    assert np.all(np.isfinite(rates.values)) and float(rates.min()) >= 0
    for r in rates.exporter.values:
        assert float(abs(rates.sel(exporter=r, importer=r)).max()) == 0
    assert float(rates.sel(commodity=["services", "public_admin"]).max()) == 0


def test_published_anchor_rates():
    rates = load_base_tariffs() * 100
    # EU: MFN on China vs EU-Japan EPA (cars staged to 0 by Feb 2026; 2.5% in 2024 -> 1.7%
    # on the sector) and EU-Korea FTA.
    eu_mv = rates.sel(importer="EU", commodity="motor_vehicles")
    assert float(eu_mv.sel(exporter="CHN")) == pytest.approx(8.5)  # vehicles + parts only
    assert float(eu_mv.sel(exporter="CHN")) == float(eu_mv.sel(exporter="USA"))
    assert float(eu_mv.sel(exporter="JPN")) <= 2.5
    assert float(eu_mv.sel(exporter="KOR")) == 0
    assert float(rates.sel(importer="JPN", commodity="motor_vehicles").max()) == 0
    for a in ("CAN", "MEX"):
        for b in ("USA", "CAN", "MEX"):
            assert float(rates.sel(importer=a, exporter=b).max()) == 0  # USMCA
    # US rows derived from the HTS: USMCA only on the claimed share, so a little duty is left
    for b in ("CAN", "MEX"):
        assert 0 < float(rates.sel(importer="USA", exporter=b).max()) <= 0.5, b
    # KORUS: only Section 232 aluminium (Korea's steel quota is duty-free) is left
    kor = rates.sel(importer="USA", exporter="KOR")
    assert float(kor.drop_sel(commodity="metals").max()) <= 0.02
    assert 0.5 <= float(kor.sel(commodity="metals")) <= 1.5
    assert float(rates.sel(importer="CHN", exporter="USA", commodity="motor_vehicles")) > 9
    assert float(rates.sel(importer="JPN", exporter="USA", commodity="agri_food")) >= 10


def test_loader_rejects_bad_tables(tmp_path):
    table = read_tariff_table()
    bad = table.copy()
    bad.loc[0, "commodity"] = "cars"
    path = tmp_path / "t.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError, match="unknown commodity.*valid"):
        load_base_tariffs(path)
    bad = table.copy()
    bad.loc[5, "rate_pct"] = -100
    bad.to_csv(path, index=False)
    with pytest.raises(DataError, match="-100"):
        load_base_tariffs(path)
    bad = table[table.commodity != "services"]
    bad.to_csv(path, index=False)
    with pytest.raises(DataError, match="no row gives the rate"):
        load_base_tariffs(path)


def test_applied_benchmark_balances_and_us_average_plausible():
    before, after = _benchmark(), _tariffed()
    check_balance(after)
    rates = load_base_tariffs()
    np.testing.assert_allclose(after.vtm, (rates * (before.vxmd + before.vtx)).transpose(
        *after.vtm.dims), rtol=1e-12)
    np.testing.assert_allclose(after.vxmd, before.vxmd)  # world-price trade untouched
    np.testing.assert_allclose(after.vom, before.vom)  # output untouched
    summary = tariff_summary(after)
    us = summary.loc["USA", "rate_goods_pct"]
    assert US_BAND_PCT[0] <= us <= US_BAND_PCT[1], us
    assert (summary.rate_goods_pct < 6).all()
    report = tariff_adjustment_report(before, after)
    # activities absorb duties on their inputs in capital income; labour untouched
    np.testing.assert_allclose(-report.capital_income, report.intermediate_imports_landed,
                               rtol=1e-9)
    assert float(report.labour_income.abs().max()) == 0
    np.testing.assert_allclose(report.tariff_revenue,
                               report.intermediate_imports_landed + report.final_imports_landed,
                               rtol=1e-9)


def test_session_builds_on_tariffed_benchmark():
    import cge

    session = cge.Session(_tariffed())
    session.model()  # builds and passes the replication gate (check_benchmark)


def test_defense_data_and_stationing():
    frame = load_defense_data()
    assert set(frame.columns) >= {"item", "region", "year", "value", "unit", "source_url",
                                  "quote_or_note", "quality", "status"}
    shares = frame[(frame["item"] == "defense_share_gdp") & (frame.year == "2011")]
    assert set(shares.region) == {"USA", "JPN", "EU", "KOR", "CHN", "CAN", "MEX", "ROW"}
    assert stationing_purchases(("USA", "JPN")) == pytest.approx(20900 / 4)
    assert stationing_purchases("USA-KOR") == pytest.approx(13400 / 4)
    assert 3000 < stationing_purchases(("USA", "EU")) < 12000
    with pytest.raises(DataError, match="known pairs"):
        stationing_purchases(("JPN", "USA"))
    hns = frame[frame["item"] == "host_nation_support_jpy_per_year"].value.iloc[0]
    assert hns == 211000
