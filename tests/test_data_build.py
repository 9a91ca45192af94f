"""Reproducible data builds (cge/databuild/build.py, cge/databuild/balance.py): the same bytes
whatever the FPU state, the CPU's SIMD level, the BLAS kernel and threads; nothing written in the
repository when an output folder is given; a failed stage leaves the earlier folder as it was; the
balancing's stopping rule is attainable in floating point and still fails loudly."""

from __future__ import annotations

import hashlib
import io
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cge.data.benchmark import DataError, write_csv
from cge.data.examples import two_by_two
from cge.databuild import default2024, wiod
from cge.databuild.balance import Target, balance, ieee_exp, mask
from cge.databuild.build import STAGES, build_all, replace_folder

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
#: ulps by which :func:`ieee_exp` may differ from the C library's ``exp``.
EXP_ULPS = 2


def _raw_available() -> bool:
    try:
        wiod.find_raw_file()
    except FileNotFoundError:
        return False
    return True


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: kind, size, modification time and content hash."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.stat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[str(p.relative_to(root))] = (p.is_dir(), st.st_size, st.st_mtime_ns, digest)
    return out


def assert_same_files(built: Path, committed: Path) -> None:
    """``built`` holds the same file names as ``committed`` with the same bytes."""
    names = sorted(p.name for p in committed.iterdir() if p.is_file())
    assert sorted(p.name for p in built.iterdir()) == names, built
    differ = [n for n in names if (built / n).read_bytes() != (committed / n).read_bytes()]
    assert not differ, f"{built.name}: {differ} differ from the committed files"


def _build_in_subprocess(out: Path, *, prelude: str = "", env: dict[str, str] | None = None
                         ) -> None:
    """``build_all(out)`` in a fresh interpreter, after running ``prelude`` there."""
    code = (f"{prelude}\nfrom pathlib import Path\nfrom cge.databuild.build import build_all\n"
            f"build_all(Path({str(out)!r}), echo=lambda s: None)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


#: Sets the x87 precision control to 53 bits (control word 0x027f, the first two bytes of
#: glibc's x86_64 fenv_t), as loading the AMPL library does, and checks that it took effect.
X87_53_BITS = """
import ctypes, ctypes.util
import numpy as np
libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
env = ctypes.create_string_buffer(64)
libm.fegetenv(env)
assert env.raw[:2] == (0x037F).to_bytes(2, "little"), env.raw[:2].hex()
raw = bytearray(env.raw)
raw[:2] = (0x027F).to_bytes(2, "little")
libm.fesetenv(ctypes.create_string_buffer(bytes(raw), 64))
assert str(np.longdouble(1) / 3) == "0.33333333333333331483", np.longdouble(1) / 3
"""

x86_64_linux = pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or sys.platform != "linux",
    reason="the x87 control word and numpy's x86 SIMD levels exist on x86_64 Linux only")


def _check_against_committed(out: Path) -> None:
    for name in STAGES:
        if name == "wiod2011" and not _raw_available():
            assert not (out / name).exists()
            continue
        assert_same_files(out / name, DATA / name)


@x86_64_linux
def test_x87_53_bit_precision_gives_the_same_bytes(tmp_path: Path) -> None:
    """The FPU state that libamplsolver leaves behind (53-bit x87 precision) changed LAPACK's
    results (OpenBLAS's x87 kernels) and stalled the balancing at 1.5e-9; now the build does not
    depend on it."""
    _build_in_subprocess(tmp_path, prelude=X87_53_BITS)
    _check_against_committed(tmp_path)


@x86_64_linux
def test_other_simd_level_and_blas_kernel_give_the_same_bytes(tmp_path: Path) -> None:
    """A machine without AVX-512/AVX2 (numpy's dispatch disabled: ``np.exp`` is then the C
    library's), another OpenBLAS kernel and one thread: the same bytes."""
    env = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
           "OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "1"}
    _build_in_subprocess(tmp_path, env=env)
    _check_against_committed(tmp_path)


def test_build_all_with_out_dir_writes_nothing_in_the_repository(tmp_path: Path) -> None:
    before = _snapshot(DATA)
    written = build_all(tmp_path / "out", echo=lambda s: None)
    assert _snapshot(DATA) == before
    names = [n for n in STAGES if n != "wiod2011" or _raw_available()]
    assert written == [tmp_path / "out" / n for n in names]
    # the input tables (copied, with those derived from raw files rebuilt) next to the data sets
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [*names, "policy", "targets2024"])


def test_build_all_without_the_raw_table_reads_the_committed_2011_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Path:
        raise FileNotFoundError("WIOD raw file wiot_2011.RData not found (looked in: x)")

    monkeypatch.setattr(wiod, "find_raw_file", missing)
    notes: list[str] = []
    written = build_all(tmp_path, echo=notes.append)
    assert written == [tmp_path / "wiod_update2024", tmp_path / "default2024",
                       tmp_path / "default2024_mfn"]
    assert not (tmp_path / "wiod2011").exists()
    wiod_notes = [n for n in notes if "wiot_2011.RData not found" in n]
    assert len(wiod_notes) == 1 and "keeping the committed data/wiod2011" in wiod_notes[0]
    # the other notes (if any) are the derived tables whose raw files are absent
    assert all("keeping the committed" in n for n in notes)
    for folder in written:
        assert_same_files(folder, DATA / folder.name)


def test_failed_build_leaves_the_earlier_folder_as_it_was(tmp_path: Path) -> None:
    dest = tmp_path / "set"
    replace_folder(dest, lambda d: (d / "a.csv").write_text("old\n"))
    before = _snapshot(tmp_path)

    def failing(d: Path) -> None:
        (d / "a.csv").write_text("new\n")
        raise DataError("stage failed half-way")

    with pytest.raises(DataError, match="half-way"):
        replace_folder(dest, failing)
    assert _snapshot(tmp_path) == before          # no temporary folder left either
    replace_folder(dest, lambda d: (d / "b.csv").write_text("new\n"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]
    assert sorted(p.name for p in dest.iterdir()) == ["b.csv"]


def test_stage_writing_no_benchmark_replaces_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage that "succeeds" without writing a complete benchmark (here: nothing at all) does
    not put its folder in place: the earlier folder stays, DataError names the temporary one."""
    build_all(tmp_path, echo=lambda s: None)
    before = _snapshot(tmp_path)
    monkeypatch.setattr(default2024, "build_default2024", lambda *a, **k: None)
    with pytest.raises(DataError, match="default2024.building-.*no dataset.toml"):
        build_all(tmp_path, echo=lambda s: None)
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k.startswith("default2024")} == {
        k: v for k, v in before.items() if k.startswith("default2024")}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(n for n in STAGES if n != "wiod2011" or _raw_available()), "policy", "targets2024"])


def test_write_csv_writes_shortest_round_trip_decimals(tmp_path: Path) -> None:
    values = [0.1, 1 / 3, 239676.6187, 1e-300, 2.0**60, -0.0, float("nan"), 5e-324]
    frame = pd.DataFrame({"name": list("abcdefgh"), "value": values})
    write_csv(frame, tmp_path / "x.csv")
    text = (tmp_path / "x.csv").read_bytes().decode("utf-8")
    assert "\r" not in text
    assert text.splitlines()[1:] == [f"{n},{'' if v != v else repr(v)}"
                                     for n, v in zip("abcdefgh", values, strict=True)]
    back = pd.read_csv(io.StringIO(text)).value.to_numpy()
    np.testing.assert_array_equal(back, np.array(values))   # NaN == NaN here; exact otherwise


def test_ieee_exp_matches_the_c_library_to_two_ulps() -> None:
    z = np.concatenate([np.linspace(-745, 709.7, 20001), np.linspace(-1, 1, 20001),
                        np.random.default_rng(0).normal(scale=3.0, size=20000)])
    got = ieee_exp(z)
    want = np.array([math.exp(v) for v in z])
    ulp = np.spacing(np.abs(want))
    assert float(np.max(np.abs(got - want) / ulp)) <= EXP_ULPS
    extremes = ieee_exp(np.array([-1e10, -746.0, 0.0, 710.0, 1e10, np.nan]))
    assert list(extremes[:5]) == [0.0, 0.0, 1.0, math.inf, math.inf]
    assert math.isnan(extremes[5])


# --------------------------------------------------------------------------------------------
# The stopping rule
# --------------------------------------------------------------------------------------------
def _export_target(ds, value: float, name: str = "exports") -> Target:
    return Target(name, {"vxmd": mask(ds, "vxmd", commodity="food", exporter="HOME",
                                      importer="FOREIGN")}, value)


def test_tolerance_zero_converges_to_the_rounding_floor() -> None:
    """``tol = 0``: the old rule (``max |residual| <= tol``) can never be met; the new one stops
    where rounding allows, within a few iterations, and the targets hold to ~1e-15."""
    ds = two_by_two()
    res = balance(ds, [_export_target(ds, 25.0)], tol=0.0)
    assert res.iterations < 20
    assert abs(float(res.targets.achieved.iloc[0]) - 25.0) <= 1e-13 * 25.0
    assert res.max_residual < 1e-14


def test_inconsistent_targets_raise() -> None:
    """The same cell held at two values: the second constraint depends on the first, Newton
    leaves it and its residual cannot shrink: DataError naming it, not a silent stop."""
    ds = two_by_two()
    targets = [_export_target(ds, 25.0, "a"), _export_target(ds, 26.0, "b")]
    with pytest.raises(DataError, match="balance: no progress.*target b"):
        balance(ds, targets)


def test_unreachable_target_raises() -> None:
    """A negative target on positive cells: no balanced data set exists; DataError naming it."""
    ds = two_by_two()
    with pytest.raises(DataError, match="balance: no progress.*target exports"):
        balance(ds, [_export_target(ds, -5.0)])


def test_too_few_iterations_raise() -> None:
    ds = two_by_two()
    with pytest.raises(DataError, match="no convergence after 1 Newton iterations.*exports"):
        balance(ds, [_export_target(ds, 25.0)], max_iter=1)
