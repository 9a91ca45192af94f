"""Building every shipped data set in order: ``python -m cge build-data`` / ``make data``.

:func:`build_all` first derives the tables that come from raw public files (:data:`DERIVED`,
each when all its raw files are found by :func:`cge.databuild.raw.locate`, SHA-256 checked;
otherwise a note says which are missing and where to get them, and the committed table is
kept): US goods imports by commodity and partner (:mod:`cge.databuild.census`), gross output
and value added by activity and region (:mod:`cge.databuild.adb`), the 2024 US tariff regime
(:mod:`cge.databuild.us_tariffs`), the 2026 US tariff layers of the scenario files
(:mod:`cge.databuild.us_layers_2026`). Then it runs the three stages, each reading the previous
one's output:

1. ``wiod2011`` (:func:`cge.databuild.wiod.build_default`) from the raw WIOD table and
   ``data/maps/wiod2011.toml``, when the raw file is found
   (:func:`cge.databuild.wiod.find_raw_file`);
   without it a note says so and the committed ``data/wiod2011`` is the input of stage 2;
2. ``wiod_update2024`` (:func:`cge.databuild.update.build_update2024`) from stage 1 and
   ``data/targets2024``;
3. ``default2024`` (:func:`cge.databuild.default2024.build_default2024`) from stage 2 and
   ``data/policy``;
4. ``default2024_mfn``: the same with the pre-2018 US regime (US rows of
   ``data/policy/us_tariffs_2024_mfn_only.csv``: MFN with FTA preferences, no Section 301/232).

The inputs that are not built (raw table, maps, targets, policy tables) always come from the
repository's ``data/``; the outputs go to ``data/`` or, with ``out_dir``, all of them under
``out_dir`` and nothing in the repository.

Each data set is built in a temporary folder next to its destination and moved into place only
when complete, i.e. when it loads as a balanced benchmark (:func:`replace_folder`), so a failed
or interrupted stage leaves the earlier version of that folder exactly as it was. The builds are
deterministic to the byte (see :mod:`cge.databuild.balance` and
:func:`cge.data.benchmark.write_csv`): rebuilding a clean clone leaves ``git status`` clean.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from cge.atomic import swap_folder
from cge.data.benchmark import load_benchmark
from cge.databuild import adb, census, default2024, raw, update, us_layers_2026, us_tariffs, wiod
from cge.paths import DATA_DIR as REPO_DATA

#: The data sets built, in order (folder names under ``data/`` or ``out_dir``).
STAGES: tuple[str, ...] = ("wiod2011", "wiod_update2024", "default2024", "default2024_mfn")

#: The tables derived from raw files: (what, raw file keys, folder under data/, files written,
#: builder writing them into a given folder).
DERIVED: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...], Callable[[Path], object]],
               ...] = (
    ("US imports by commodity and partner",
     ("us_import_weights_2024", "census_codes"), "targets2024", ("us_trade_by_sector.csv",),
     lambda d: census.build_us_trade_targets(d / "us_trade_by_sector.csv")),
    ("gross output and value added by activity (ADB MRIO)",
     ("adb_mrio_summary72", "adb_mrio_countries"), "targets2024", ("output_structure.csv",),
     lambda d: adb.build_output_targets(d / "output_structure.csv")),
    ("the 2024 US tariff regime",
     ("us_import_weights_2024", "census_codes", "mfn_rates_2025", "hts_2025_basic",
      "s301_product_lists", "usmca_product_shares_2024"), "policy",
     ("us_tariffs_2024.csv", "us_tariffs_2024_mfn_only.csv"),
     us_tariffs.build_us_tariff_tables),
    ("the 2026 US tariff layers of the scenario files",
     us_layers_2026.RAW_KEYS, "policy", ("us_layers_2026.csv",),
     us_layers_2026.build_us_layers_2026),
)


def build_all(out_dir: Path | None = None, *, echo: Callable[[str], object] = print
              ) -> list[Path]:
    """Build ``wiod2011`` (if the raw WIOD table is available), ``wiod_update2024`` and
    ``default2024`` in that order into ``out_dir`` (default: the repository's ``data/``); each
    stage reads the previous stage's output (``wiod_update2024`` reads the committed
    ``data/wiod2011`` when the raw table is absent). ``echo`` receives the notes. Returns the
    folders written, in order."""
    root = REPO_DATA if out_dir is None else Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    if root.resolve() != REPO_DATA.resolve():
        # a self-contained tree: the input tables next to the data sets built from them
        for sub in ("targets2024", "policy"):
            shutil.copytree(REPO_DATA / sub, root / sub, dirs_exist_ok=True)
    derive_tables(root, echo=echo)
    written: list[Path] = []
    base = REPO_DATA / "wiod2011"
    try:
        wiod.find_raw_file()
    except FileNotFoundError as exc:
        # The 2011 aggregate is committed; only its aggregation needs the raw table.
        echo(f"note: {exc}\nnote: keeping the committed data/wiod2011; rebuilding "
             "the 2024 update and default2024 from it")
    else:
        base = replace_folder(root / "wiod2011", lambda tmp: wiod.build_default(tmp),
                              check=_check_benchmark)
        written.append(base)
    upd = replace_folder(root / "wiod_update2024",
                         lambda tmp: update.build_update2024(
                             tmp, base_dir=base, targets_dir=root / "targets2024"),
                         check=_check_benchmark)
    written.append(upd)
    us = root / "policy" / "us_tariffs_2024.csv"
    written.append(replace_folder(root / "default2024",
                                  lambda tmp: default2024.build_default2024(
                                      tmp, update_dir=upd, us_tariffs=us),
                                  check=_check_benchmark))
    mfn = root / "policy" / "us_tariffs_2024_mfn_only.csv"
    written.append(replace_folder(root / default2024.MFN_NAME,
                                  lambda tmp: default2024.build_default2024(
                                      tmp, update_dir=upd, us_tariffs=mfn,
                                      name=default2024.MFN_NAME),
                                  check=_check_benchmark))
    return written


def derive_tables(root: Path, *, echo: Callable[[str], object] = print) -> list[Path]:
    """Write each table of :data:`DERIVED` whose raw files are all found into ``root/<folder>``
    (each built in a temporary folder, then moved into place file by file, so a failure leaves
    the earlier tables as they were); for the others echo which raw files are missing and keep
    the tables that are there. Returns the files written."""
    written: list[Path] = []
    for what, keys, sub, names, builder in DERIVED:
        absent = raw.missing(keys)
        if absent:
            echo(f"note: keeping the committed {', '.join(names)} ({what}): "
                 + "; ".join(absent))
            continue
        dest = root / sub
        dest.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".derived-", dir=dest))
        try:
            builder(tmp)
            for name in names:
                os.replace(tmp / name, dest / name)
                written.append(dest / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return written


def _check_benchmark(folder: Path) -> None:
    """``folder`` holds a complete benchmark: it loads and balances (else :class:`DataError`)."""
    load_benchmark(folder)


def replace_folder(dest: Path, build: Callable[[Path], object], *,
                   check: Callable[[Path], object] | None = None) -> Path:
    """Run ``build(tmp)`` on a new empty folder ``tmp`` next to ``dest``, then ``check(tmp)`` if
    given, then put ``tmp`` in the place of ``dest``. If ``build`` or ``check`` raises, ``tmp``
    is removed and ``dest`` is untouched.

    The swap is :func:`cge.atomic.swap_folder` (two renames in one file system; the old copy is
    moved back if the second fails). Returns ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    try:
        build(tmp)
        if check is not None:
            check(tmp)
        swap_folder(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
