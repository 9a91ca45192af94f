"""The raw public files of ``make data`` (cge/databuild/raw.py) and the build's stage that
derives tables from them (cge/databuild/build.py ``derive_tables``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cge.data.benchmark import DataError
from cge.databuild import build, raw

REPO = Path(__file__).resolve().parents[1]


def test_every_raw_file_names_where_to_get_it() -> None:
    for key, spec in raw.RAW_FILES.items():
        assert len(spec.sha256) == 64 and len(spec.commit) == 40, key
        assert spec.repository.count("/") == 1 and spec.source_path, key
        assert spec.commit[:12] in spec.hint() and spec.relpath in spec.hint(), key


def test_a_missing_raw_file_says_where_to_get_it(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(raw, "search_folders", lambda: [tmp_path])
    with pytest.raises(raw.RawFileMissing, match=r"us_import_weights_2024 not found .*"
                       r"Budget-Lab-Yale/Tariff-Model at commit b581de878f01"):
        raw.locate("us_import_weights_2024")
    assert len(raw.missing(["census_codes", "hs10_gtap_crosswalk"])) == 2


def test_a_changed_raw_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = raw.RAW_FILES["census_codes"]
    fake = tmp_path / spec.relpath
    fake.parent.mkdir(parents=True)
    fake.write_text("Code,Name\n1000,United States of America\n")
    monkeypatch.setattr(raw, "search_folders", lambda: [tmp_path])
    with pytest.raises(DataError, match="SHA-256 .* differs from the expected"):
        raw.locate("census_codes")


def test_without_raw_files_the_committed_tables_are_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No raw file anywhere: each derived table gets one note naming what is missing and where to
    get it, and the tables copied from the repository stay as they are."""
    monkeypatch.setattr(raw, "search_folders", lambda: [tmp_path / "nowhere"])
    root = tmp_path / "out"
    for sub in ("targets2024", "policy"):
        (root / sub).mkdir(parents=True)
        for name in ("us_trade_by_sector.csv", "output_structure.csv", "us_tariffs_2024.csv",
                     "us_tariffs_2024_mfn_only.csv"):
            if (REPO / "data" / sub / name).exists():
                (root / sub / name).write_bytes((REPO / "data" / sub / name).read_bytes())
    before = {p: p.read_bytes() for p in root.rglob("*.csv")}
    notes: list[str] = []
    assert build.derive_tables(root, echo=notes.append) == []
    assert len(notes) == len(build.DERIVED)
    assert all("keeping the committed" in n and "get " in n for n in notes)
    assert {p: p.read_bytes() for p in root.rglob("*.csv")} == before


def test_a_failing_derivation_leaves_the_earlier_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(folder: Path) -> None:
        (folder / "t.csv").write_text("half-written\n")
        raise DataError("derivation failed half-way")

    monkeypatch.setattr(raw, "missing", lambda keys: [])
    monkeypatch.setattr(build, "DERIVED", (("t", (), "sub", ("t.csv",), failing),))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "t.csv").write_text("old\n")
    with pytest.raises(DataError, match="half-way"):
        build.derive_tables(tmp_path, echo=lambda s: None)
    assert (tmp_path / "sub" / "t.csv").read_text() == "old\n"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["t.csv"]
