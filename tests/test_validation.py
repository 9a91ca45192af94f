"""Hold-out validation (cge.databuild.validation): the rules on a hand-made data set, the
checks of the hold-out table, that no hold-out figure is a target, and the report section."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cge
from cge.data.benchmark import SCHEMA, DataError, empty_benchmark, load_benchmark, save_benchmark
from cge.data.examples import two_by_two
from cge.databuild.validation import (
    HOLDOUT_CSV,
    compute_one,
    compute_validation,
    read_holdout,
    summary,
    write_validation,
)
from cge.paths import DATA_DIR

TARGETS_DIR = DATA_DIR / "targets2024"
ELAST = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}


# ------------------------------------------------------------------ a hand-made data set
def _tiny():
    """Three regions A, B, C; goods g1, g2 and services; flows in US$ million."""
    ds = empty_benchmark(["A", "B", "C"], ["g1", "g2", "services"], ["labour"], name="tiny")
    ds.attrs["groups"] = json.dumps({"commodities": {"goods": ["g1", "g2"]}})
    x, t = ds.vxmd, ds.vtm
    for (c, e, i), v in {("g1", "A", "B"): 100.0, ("g2", "A", "B"): 50.0,
                         ("g1", "A", "C"): 30.0, ("services", "A", "B"): 1000.0,
                         ("g1", "A", "A"): 999.0,      # own-region cell: never counted
                         ("g1", "B", "A"): 20.0, ("g2", "B", "A"): 10.0,
                         ("g1", "C", "A"): 5.0, ("g2", "C", "B"): 7.0}.items():
        x.loc[c, e, i] = v
    for (c, e, i), v in {("g1", "B", "A"): 2.0, ("g2", "B", "A"): 1.0, ("g1", "C", "A"): 0.5,
                         ("services", "B", "A"): 7.0, ("g1", "A", "B"): 4.0}.items():
        t.loc[c, e, i] = v
    return ds


def _row(rule, region="A", partner="B", commodity="goods", unit="US$ bn", **kw):
    return {"id": kw.get("id", "t"), "description": "test", "region": region,
            "partner": partner, "commodity": commodity, "value": kw.get("value", 1.0),
            "unit": unit, "quality": "N", "source_url": "https://example.org", "rule": rule}


@pytest.mark.parametrize("row, expected", [
    (_row("exports"), 0.150),                                    # 100 + 50, services left out
    (_row("exports", partner="ALL", commodity="g1"), 0.130),     # 100 + 30
    (_row("exports", partner="A+B"), 0.150),                     # A -> A is not an export
    (_row("imports", partner="ALL"), 0.035),                     # 20 + 10 + 5
    (_row("imports", partner="C", commodity="g1+g2"), 0.005),
    (_row("trade"), 0.180),                                      # 150 + 20 + 10
    (_row("duties", partner="ALL"), 0.0035),                     # 2 + 1 + 0.5, no services
    (_row("duties", region="B", partner="ALL", commodity="g1"), 0.004),
    (_row("share_of_exports", commodity="g1", unit="%"), 100.0 * 100 / 150),
    (_row("share_of_imports", partner="ALL", commodity="g2", unit="%"), 100.0 * 10 / 35),
])
def test_rules_on_a_hand_made_data_set(row, expected):
    assert compute_one(_tiny(), row) == pytest.approx(expected, rel=1e-12)


def test_compute_validation_columns_and_errors():
    rows = pd.DataFrame([_row("exports", id="a", value=0.3), _row("imports", id="b",
                                                                    partner="ALL", value=0.035)])
    out = compute_validation(_tiny(), rows)
    assert list(out["id"]) == ["a", "b"]
    assert out["ours"].tolist() == pytest.approx([0.15, 0.035])
    assert out["ratio"].tolist() == pytest.approx([0.5, 1.0])
    assert out["log_error"].tolist() == pytest.approx([math.log(0.5), 0.0])
    assert out["pct_error"].tolist() == pytest.approx([-50.0, 0.0])
    s = summary(out)
    assert (s["n"], s["n_within"]) == (2, 1)
    assert s["median_abs_log_error"] == pytest.approx(math.log(2) / 2)


@pytest.mark.parametrize("bad, word", [
    ({"rule": "exprots"}, "unknown rule 'exprots'"),
    ({"region": "XYZ"}, "unknown region 'XYZ'"),
    ({"partner": "B+XYZ"}, "unknown region"),
    ({"commodity": "cars"}, "unknown commodity 'cars'"),
    ({"unit": "%"}, "unit must be US$ bn"),
])
def test_unknown_rule_region_commodity_name_the_row(bad, word):
    row = {**_row("exports", id="the_row"), **bad}
    with pytest.raises(DataError, match=re.escape(word)) as info:
        compute_validation(_tiny(), pd.DataFrame([row]))
    assert "the_row" in str(info.value)


def test_write_validation_is_deterministic(tmp_path):
    rows = pd.DataFrame([_row("exports", id="a", value=0.3)])
    write_validation(_tiny(), tmp_path, rows)
    first = (tmp_path / "validation.csv").read_bytes()
    write_validation(_tiny(), tmp_path / "validation.csv", rows)
    assert (tmp_path / "validation.csv").read_bytes() == first
    assert first.decode().splitlines()[1].startswith("a,test,0.15,0.3,US$ bn,0.5,")


# ------------------------------------------------------------------ the hold-out table
def test_holdout_table_is_complete():
    """At least 20 figures, unique ids, a URL, a quote and a known rule on every row, and every
    row computes on the shipped default data set."""
    table = read_holdout()
    assert len(table) >= 20
    assert table["id"].is_unique
    assert all(u.startswith("http") for u in table["source_url"])
    assert all(len(q.strip()) > 10 for q in table["quote"])
    assert set(table["quality"]) <= {"P", "N", "S"}
    assert set(table["year"]) <= {"2023", "2024"}
    out = compute_validation(load_benchmark(DATA_DIR / "default2024"), table)
    assert np.isfinite(out["ours"]).all() and (out["ours"] > 0).all()


def test_read_holdout_rejects_duplicates_and_missing_quotes(tmp_path):
    lines = HOLDOUT_CSV.read_text(encoding="utf-8").splitlines()
    dup = tmp_path / "dup.csv"
    dup.write_text("\n".join([lines[0], lines[1], lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="more than once"):
        read_holdout(dup)
    rows = list(csv.DictReader(HOLDOUT_CSV.open(encoding="utf-8")))
    rows[0]["quote"] = ""
    noquote = tmp_path / "noquote.csv"
    with noquote.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows[:2])
    with pytest.raises(DataError, match="no quote"):
        read_holdout(noquote)


def _target_flows() -> set[tuple[str, str, str]]:
    """(exporter, importer, commodity) of every trade target in data/targets2024/*.csv; partner
    ALL or empty means every partner; the commodity is the target's own column when it has one,
    else read from the item's name (services, motor vehicles, energy) and goods otherwise; and
    the duties collected that the base tariffs are checked against (data/policy)."""
    flows = set()
    for path in sorted(TARGETS_DIR.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "item" not in frame.columns or "region" not in frame.columns:
            continue
        for _, t in frame.iterrows():
            item = t["item"].lower()
            partner = (t.get("partner", "") or "ALL").strip() or "ALL"
            comm = (t.get("commodity", "") or "").strip()
            if not comm:
                comm = next((c for k, c in (("service", "services"), ("motor", "motor_vehicles"),
                                            ("energy", "energy")) if k in item), "goods")
            if "dut" in item or "tariff" in item:
                flows.add((f"duties:{partner}", t["region"], comm))
                continue
            if "export" in item or "balance" in item or "net" in item:
                flows.add((t["region"], partner, comm))
            if "import" in item or "balance" in item or "net" in item:
                flows.add((partner, t["region"], comm))
    duties = DATA_DIR / "policy" / "duties_collected.csv"   # rates are checked against these
    if duties.exists():
        for importer in pd.read_csv(duties, dtype=str, keep_default_na=False)["importer"]:
            flows.add(("duties:ALL", importer, "goods"))
    flows.add(("duties:ALL", "USA", "goods"))   # FY2024 duties: tests/test_us_tariffs.py
    return flows


def _holdout_flows(row) -> list[tuple[str, str, str]]:
    region, partner, comm = row["region"], row["partner"] or "ALL", row["commodity"] or "goods"
    if row["rule"] in ("exports", "share_of_exports"):
        return [(region, partner, comm)]
    if row["rule"] == "duties":
        return [(f"duties:{partner}", region, comm)]
    if row["rule"] in ("imports", "share_of_imports"):
        return [(partner, region, comm)]
    return [(region, partner, comm), (partner, region, comm)]


def test_no_holdout_figure_is_a_target():
    """A figure the balancing reproduces cannot validate it: no hold-out flow is a target flow
    (data/targets2024, read now: the files may grow), no hold-out trade flow touches the US
    (US goods trade by partner and commodity and US services trade are fitted) and none is a
    region's total goods exports or imports (fitted too)."""
    targets = _target_flows()
    assert targets, "no trade targets found in data/targets2024"
    for _, row in read_holdout().iterrows():
        for flow in _holdout_flows(row):
            assert flow not in targets, f"hold-out {row['id']} duplicates target {flow}"
            if row["rule"] != "duties":
                assert "USA" not in flow[:2] and "USA" not in row["partner"].split("+"), row["id"]
                assert not (row["partner"] == "ALL" and row["commodity"] == "goods"), row["id"]


# ------------------------------------------------------------------ data set -> results -> report
def test_load_benchmark_reads_validation_csv(tmp_path):
    folder = tmp_path / "d"
    save_benchmark(two_by_two(), folder, sources={k: "hand-made" for k in SCHEMA})
    assert "validation" not in load_benchmark(folder).attrs
    (folder / "validation.csv").write_text("id,ours\nx,1.0\n", encoding="utf-8")
    ds = load_benchmark(folder)
    assert ds.attrs["validation"] == "id,ours\nx,1.0\n"
    res = cge.Session(ds, ELAST).run(toml='name = "b"\n')
    assert res.attrs["data_validation"] == "id,ours\nx,1.0\n"


VALIDATION_TEXT = (
    "id,description,ours,published,unit,ratio,log_error,pct_error,quality,source_url\n"
    "a,Home exports of cloth to Foreign,12.0,10.0,US$ bn,1.2,0.18232155679395,20.0,P,"
    "https://example.org/a\n"
    "b,Foreign duties collected,1.0,4.0,US$ bn,0.25,-1.3862943611198906,-75.0,S,"
    "https://example.org/b\n")


def test_report_section_from_the_results(tmp_path):
    """The report's data section shows the table carried by the results' attrs (and only
    those: nothing is read from data files), with the count line; without it, one line."""
    from cge.report.build import _Report

    ds = two_by_two()
    ds.attrs["validation"] = VALIDATION_TEXT
    res = cge.Session(ds, ELAST).run(toml='name = "b"\n')
    part = _Report([res], tmp_path).validation()
    table = part["table"]
    assert table["caption"].startswith("Hold-out validation: ours vs published")
    assert [r[0] for r in table["rows"]] == ["Home exports of cloth to Foreign",
                                             "Foreign duties collected"]
    assert table["rows"][0][2:] == ["12.0", "10.0", "1.20", "P"]
    assert part["line"].startswith("2 figures; median absolute log error 0.78")
    assert "1 of 2 within ±25 %" in part["line"]
    bare = cge.Session(two_by_two(), ELAST).run(toml='name = "b"\n')
    none = _Report([bare], tmp_path).validation()
    assert none["table"] is None and "no hold-out validation" in none["line"]


def test_report_pdf_shows_the_validation_table(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from cge.report import write_report

    ds = two_by_two()
    ds.attrs["validation"] = VALIDATION_TEXT
    res = cge.Session(ds, ELAST).run(toml='name = "benchmark"\n')
    path = write_report([res], tmp_path / "r.pdf")
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(str(path)).pages).split())
    assert "Hold-out validation: ours vs published (figures the data were not fitted to)" in text
    assert "Home exports of cloth to Foreign" in text
    assert "1 of 2 within ±25 %" in text


def test_shipped_validation_csv_matches_the_code():
    """data/default2024/validation.csv is what write_validation gives for the shipped data
    (regenerate it with write_validation after a rebuild)."""
    path = Path(DATA_DIR / "default2024" / "validation.csv")
    if not path.exists():
        pytest.skip("no validation.csv in data/default2024")
    ds = load_benchmark(DATA_DIR / "default2024")
    out = compute_validation(ds, read_holdout())
    shipped = pd.read_csv(path)
    assert list(shipped["id"]) == list(out["id"])
    assert shipped["ours"].to_numpy() == pytest.approx(out["ours"].to_numpy(), rel=1e-12)
