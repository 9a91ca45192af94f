"""The additional US tariffs of 2026 (cge/databuild/us_layers_2026.py) and the scenario files that
use them.

The rebuild and the spot check need the raw files and skip (with the message of
:class:`cge.databuild.raw.RawFileMissing`) when one is absent; the checks of the scenario files
read only the committed ``data/policy/us_layers_2026.csv``, so the files cannot drift from the
derivation even where the raw files are missing.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from cge.databuild import us_layers_2026 as ul
from cge.databuild.census import EU27
from cge.databuild.raw import RawFileMissing, locate

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
TABLE = REPO / "data" / "policy" / ul.OUT_FILE
#: Data set whose commodity groups the scenario files are written for.
GROUPS_FROM = REPO / "data" / "default2024" / "dataset.toml"
#: The files round each cell to 2 decimals (plus float noise).
FILE_TOLERANCE = 0.005 + 1e-9
_BLOCK = re.compile(r"^\s*# --- (.*) ---\s*$")


def _require_raw() -> None:
    try:
        for key in ul.RAW_KEYS:
            locate(key)
    except RawFileMissing as exc:
        pytest.skip(f"raw file missing: {exc}")


def _table() -> pd.DataFrame:
    return pd.read_csv(TABLE, dtype={"add_pct": float})


def _layer(table: pd.DataFrame, name: str) -> dict[tuple[str, str], float]:
    rows = table[table.layer == name]
    assert len(rows) > 0, f"layer {name} not in {TABLE.name}"
    return {(e, c): float(v) for e, c, v in zip(rows.exporter, rows.commodity, rows.add_pct,
                                                strict=True)}


def _groups() -> dict[str, list[str]]:
    with open(GROUPS_FROM, "rb") as f:
        return tomllib.load(f)["groups"]["commodities"]


def _blocks(path: Path) -> list[tuple[str, list[dict]]]:
    """The ``tariff`` entries of a scenario file, split at its ``# --- title ---`` comments."""
    text = path.read_text()
    lines = text.splitlines()
    start = next(i for i, s in enumerate(lines) if s.strip() == "tariff = [")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "]")
    blocks: list[tuple[str, list[str]]] = []
    for line in lines[start + 1:end]:
        m = _BLOCK.match(line)
        if m:
            blocks.append((m.group(1), []))
        elif line.strip():
            assert blocks, f"{path.name}: a tariff entry before the first block title"
            blocks[-1][1].append(line)
    parsed = [(title, tomllib.loads("t = [\n" + "\n".join(body) + "\n]")["t"])
              for title, body in blocks]
    with open(path, "rb") as f:
        whole = tomllib.load(f)["tariff"]
    assert [e for _, entries in parsed for e in entries] == whole, path.name
    return parsed


def _cells(entries: list[dict], groups: dict[str, list[str]]) -> dict[tuple[str, str], float]:
    """The sum of a block's ``add`` values by (exporter, commodity), groups resolved."""
    out: dict[tuple[str, str], float] = {}
    for e in entries:
        assert e.get("importer") == "USA" and set(e) <= {
            "importer", "exporter", "commodity", "commodities", "add"}, e
        commodities = [e["commodity"]] if "commodity" in e else groups[e["commodities"]]
        for c in commodities:
            out[(e["exporter"], c)] = out.get((e["exporter"], c), 0.0) + e["add"]
    return out


# --------------------------------------------------------------------------------------------
# The committed table against a fresh build
# --------------------------------------------------------------------------------------------
def test_committed_table_equals_a_fresh_build(tmp_path: Path) -> None:
    _require_raw()
    path = ul.build_us_layers_2026(tmp_path)
    assert path.read_bytes() == TABLE.read_bytes()


def test_eu_chemicals_share_paying_section_122_computed_directly() -> None:
    """Independent of the module: EU (27 members by Census name) imports of GTAP chm, bph, rpp
    on HTS8 lines not exempt from Section 122 and on no Section 232 list from 6 Apr 2026 (the
    annex tiers I-A, I-B, III, the auto-parts list, ch. 72/73/76), over all of them: about 18 %
    (pharmaceuticals are exempt); the table's 10 % layer is 10 x that share."""
    _require_raw()
    import pyreadr

    w = next(iter(pyreadr.read_r(str(locate("us_import_weights_2024"))).values()))
    codes = pd.read_csv(locate("census_codes"), dtype=str)
    eu = set(codes.Code[codes.Name.isin(EU27)])
    assert len(eu) == 27
    f = w[w.cty_code.isin(eu) & w.gtap_code.str.lower().isin(["chm", "bph", "rpp"])]
    exempt = set(pd.read_csv(locate("s122_exempt_products"), dtype=str).hts8)
    annex = pd.read_csv(locate("s232_annex_products"), dtype=str)
    lists = tuple(annex.hts_prefix[annex.annex.isin(["1a", "1b", "3"])].str.strip()) + tuple(
        locate("s232_auto_parts").read_text().split()) + ("72", "73", "76")
    paying = [not (h[:8] in exempt or h.startswith(lists)) for h in f.hs10]
    share = float(f.imports[paying].sum() / f.imports.sum())
    assert 0.15 < share < 0.21, share
    table = _layer(_table(), "s122_10_post_april")
    assert table[("EU", "chemicals")] == pytest.approx(10 * share, abs=1e-6)


# --------------------------------------------------------------------------------------------
# The table's own arithmetic (no raw files)
# --------------------------------------------------------------------------------------------
def test_window_layers_are_day_weighted() -> None:
    """24 Feb - 5 Apr 2026 is 41 days and 6 Apr - 23 Jul 109 days of Section 122's 150; the
    15 % variant is 1.5 x the 10 % layer."""
    assert (ul.S122_DAYS, ul.PRE_APRIL_WEIGHT * 150, ul.POST_APRIL_WEIGHT * 150) == (
        150, pytest.approx(41), pytest.approx(109))
    t = _table()
    pre, post = _layer(t, "s232_pre_april"), _layer(t, "s232_post_april")
    window = _layer(t, "s232_s122_window")
    s10, s15 = _layer(t, "s122_10_window"), _layer(t, "s122_15_window")
    for cell, value in window.items():
        assert value == pytest.approx((41 * pre[cell] + 109 * post[cell]) / 150, abs=2e-6), cell
        assert s15[cell] == pytest.approx(1.5 * s10[cell], abs=2e-6), cell
    assert len(window) == 63 and set(t.layer) == {layer.name for layer in ul.LAYERS}


# --------------------------------------------------------------------------------------------
# The scenario files carry the table's numbers
# --------------------------------------------------------------------------------------------
def test_every_2026_tariff_scenario_is_checked() -> None:
    files = {p.stem for pattern in ("landscape_2026_*.toml", "branch_2026h2_*.toml")
             for p in SCENARIOS.glob(pattern)}
    assert files == set(ul.SCENARIO_LAYERS)


@pytest.mark.parametrize("stem", sorted(ul.SCENARIO_LAYERS))
def test_scenario_file_equals_the_table(stem: str) -> None:
    table, groups = _table(), _groups()
    blocks = _blocks(SCENARIOS / f"{stem}.toml")
    layers = ul.SCENARIO_LAYERS[stem]
    assert len(blocks) == len(layers), [title for title, _ in blocks]
    for (title, entries), layer in zip(blocks, layers, strict=True):
        expected = _layer(table, layer)
        got = _cells(entries, groups)
        assert set(got) <= set(expected), (stem, title, set(got) - set(expected))
        bad = {cell: (got.get(cell, 0.0), value) for cell, value in expected.items()
               if abs(got.get(cell, 0.0) - value) > FILE_TOLERANCE}
        assert not bad, f"{stem}, block {title!r} (layer {layer}): file vs table {bad}"
