"""Determinism: the same inputs give the same results, bit for bit.

Measured (two_by_two and wiod2011, current solve path): two runs of a scenario in fresh
``Session`` objects give data variables that are equal **bit for bit** (``np.array_equal``, NaN
in the same cells), not merely to 1e-12; so does re-running a scenario in the same session after
another scenario (every run starts from the benchmark point). The tests therefore assert exact
equality. Only the solver's wall-clock time (``solver_seconds``) differs between runs, so NetCDF
files written from two runs have identical data variables and attributes except that one; the
same Dataset written twice gives byte-identical files.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import ELASTICITIES

import cge
from cge.api import write_netcdf
from cge.data.examples import random_benchmark, two_by_two

TARIFF = ('name = "det"\n[[tariff]]\nimporter = "{imp}"\nexporter = "{exp}"\n'
          'commodities = "all"\nadd = 20\n[[transfer]]\npayer = "{exp}"\nrecipient = "{imp}"\n'
          "share_of_payer_gdp = 1\n")
#: Attributes that legitimately differ between runs (wall-clock time).
VOLATILE_ATTRS = {"solver_seconds"}


def assert_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    """Every data variable equal bit for bit (NaN in the same cells), same coordinates, same
    attributes apart from the solver time."""
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        assert x.dtype == y.dtype, name
        if np.issubdtype(x.dtype, np.floating):
            assert np.array_equal(x, y, equal_nan=True), (
                f"{name} differs by up to {np.nanmax(np.abs(x - y)):.3g}")
        else:
            assert np.array_equal(x, y), name
    for coord in a.coords:
        assert np.array_equal(a[coord].values, b[coord].values), coord
    drop = VOLATILE_ATTRS
    assert {k: v for k, v in a.attrs.items() if k not in drop} == {
        k: v for k, v in b.attrs.items() if k not in drop}


CASES = [
    pytest.param(lambda: two_by_two(), ELASTICITIES, ("HOME", "FOREIGN"), id="two_by_two"),
    pytest.param(lambda: random_benchmark(4, 5, 3, sparsity=0.2), ELASTICITIES, ("R2", "R0"),
                 id="random_4x5"),
    pytest.param(lambda: "wiod2011", "gtap", ("USA", "JPN"), id="wiod2011"),
]


@pytest.mark.parametrize(("data", "elasticities", "pair"), CASES)
def test_fresh_sessions_bit_identical(data, elasticities, pair):
    text = TARIFF.format(imp=pair[0], exp=pair[1])
    first = cge.Session(data(), elasticities).run(toml=text)
    second = cge.Session(data(), elasticities).run(toml=text)
    assert first.attrs["solver_iterations"] > 0
    assert_identical(first, second)


def test_same_session_rerun_bit_identical():
    """A scenario re-run after another one in the same session: identical (warm start is always
    the benchmark)."""
    sess = cge.Session(two_by_two(), ELASTICITIES)
    text = TARIFF.format(imp="HOME", exp="FOREIGN")
    first = sess.run(toml=text)
    sess.run(toml=TARIFF.format(imp="FOREIGN", exp="HOME").replace("add = 20", "add = 300"))
    assert_identical(first, sess.run(toml=text))


def test_netcdf_written_twice(tmp_path):
    """Files from two runs have identical data variables (read back bit for bit); the same
    Dataset written twice gives byte-identical files."""
    text = TARIFF.format(imp="HOME", exp="FOREIGN")
    runs = [cge.Session(two_by_two(), ELASTICITIES).run(toml=text) for _ in range(2)]
    paths = [write_netcdf(r, tmp_path / f"run{k}.nc") for k, r in enumerate(runs)]
    with xr.open_dataset(paths[0], engine="h5netcdf") as a, \
            xr.open_dataset(paths[1], engine="h5netcdf") as b:
        a.load()
        b.load()
        assert_identical(a, b)
        assert_identical(a, runs[0])
    again = write_netcdf(runs[0], tmp_path / "again.nc")
    assert again.read_bytes() == paths[0].read_bytes()
