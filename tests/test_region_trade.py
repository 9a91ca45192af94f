"""Region trade targets (data/targets2024/region_trade.csv), duties collected
(data/policy/duties_collected.csv) and the FTA/preference rows of data/policy/base_tariffs.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cge.databuild.policy import load_base_tariffs, read_tariff_table

ROOT = Path(__file__).resolve().parents[1]
REGION_TRADE = ROOT / "data" / "targets2024" / "region_trade.csv"
DUTIES = ROOT / "data" / "policy" / "duties_collected.csv"

COLUMNS = ["item", "region", "partner", "commodity", "value", "unit", "year", "source_url",
           "quote_or_note", "quality", "status", "role", "tolerance"]
REGIONS = {"USA", "JPN", "EU", "KOR", "CHN", "CAN", "MEX", "ROW"}
ITEMS = {"goods_exports": ("goods",), "goods_imports": ("goods", "energy"),
         "energy_balance": ("energy",)}
GOODS = ["agri_food", "energy", "chemicals", "metals", "motor_vehicles", "other_transport",
         "electronics", "machinery", "other_mfg"]


def _region_trade() -> pd.DataFrame:
    return pd.read_csv(REGION_TRADE, dtype=str, keep_default_na=False)


def _duties() -> pd.DataFrame:
    return pd.read_csv(DUTIES, dtype=str, keep_default_na=False)


def test_region_trade_rows_sourced_in_usd_bn_with_tolerance():
    frame = _region_trade()
    assert list(frame.columns) == COLUMNS
    assert len(frame) > 0
    for row in frame.itertuples():
        where = f"{REGION_TRADE.name}: {row.item} {row.region}"
        assert row.source_url.strip().startswith("http"), where
        assert len(row.quote_or_note.strip()) > 20 and "'" in row.quote_or_note, where  # a quote
        assert row.unit == "US$ bn", where
        assert 0 < float(row.tolerance) <= 0.5, where
        assert row.item in ITEMS and row.commodity in ITEMS[row.item], where
        assert row.region in REGIONS and row.partner == "ALL", where
        assert row.year == "2024" and row.quality in {"P", "N", "S", "derived"}, where
        assert row.status in {"published", "derived", "assumption"}, where
        assert row.role in {"target", "cross-check"}, where
        # energy imports only (no energy exports found) and the near-zero Mexican petroleum
        # balance are cross-checks, not targets
        assert (row.role == "target") == (row.commodity == "goods"), where
        value = float(row.value)
        if row.item == "energy_balance":
            assert -2000 < value < 2000, where
        else:
            assert 0 < value < 10000, where  # US$ bn, not million
    assert not frame.duplicated(["item", "region", "partner", "commodity"]).any()


def test_region_trade_values_consistent():
    frame = _region_trade()
    frame = frame[frame.commodity == "goods"].set_index(["item", "region"])
    value = frame["value"].astype(float)
    # China's customs surplus is about 990 US$ bn (GACC: 992.1), Korea's 51.8, Mexico's -8.2.
    def balance(region):
        return value["goods_exports", region] - value["goods_imports", region]

    assert balance("CHN") == pytest.approx(990, abs=10)
    assert balance("KOR") == pytest.approx(51.8, abs=0.5)
    assert balance("MEX") == pytest.approx(-8.2, abs=0.1)


def test_duties_collected_sourced_and_ratio_consistent():
    frame = _duties()
    assert list(frame.columns) == ["importer", "value", "unit", "year", "value_usd_bn",
                                   "imports_usd_bn", "ratio_pct", "source_url", "quote", "quality"]
    assert set(frame.importer) <= REGIONS and {"EU", "KOR", "CHN"} <= set(frame.importer)
    for row in frame.itertuples():
        assert row.source_url.startswith("http") and len(row.quote) > 40, row.importer
        ratio = float(row.ratio_pct)
        assert 0 < ratio < 10, row.importer
        # ratio from the US$ columns (up to the currency conversion of the imports)
        assert 100 * float(row.value_usd_bn) / float(row.imports_usd_bn) == pytest.approx(
            ratio, rel=0.02), row.importer


def test_fta_pairs_are_zero_and_row_preferences_active():
    rates = load_base_tariffs() * 100
    # FTA pairs set in the table: zero on industrial goods.
    for imp, exp in (("EU", "KOR"), ("KOR", "EU"), ("EU", "JPN"), ("JPN", "EU"), ("EU", "CAN")):
        assert float(rates.sel(importer=imp, exporter=exp, commodity="chemicals")) == 0, (imp, exp)
    assert float(rates.sel(importer="EU", exporter="KOR").max()) == 0
    table = read_tariff_table()
    mfn = table[table.exporter == "*"].set_index(["importer", "commodity"]).rate_pct
    for imp in sorted(set(_duties().importer) - {"USA"}):
        row_rates = rates.sel(importer=imp, exporter="ROW", commodity=GOODS)
        base = pd.Series({c: mfn[imp, c] for c in GOODS})
        # Preferences inside ROW lower the ROW rate below the MFN rate wherever the MFN rate is
        # positive, and never raise it.
        for c in GOODS:
            r = float(row_rates.sel(commodity=c))
            assert r <= base[c] + 1e-9, (imp, c)
            if base[c] >= 1:
                assert r < base[c], (imp, c)
        # MFN partners without a preferential agreement with the importer stay at MFN.
        assert float(rates.sel(importer=imp, exporter="USA" if imp == "CHN" else "CHN",
                               commodity="other_mfg")) == pytest.approx(
            base["other_mfg"] if imp != "KOR" else 0.6 * base["other_mfg"])
