"""`make bench` runs: one size measured in-process gives a solved tariff shock and a Newton
comparison (timings themselves are `make bench`'s business, never asserted here)."""

from __future__ import annotations

from cge.bench import measure


def test_bench_measures_a_size():
    row = measure("8x10")
    assert row["vars"] > 1000 and row["nnz"] > row["vars"]
    assert row["iters"] > 0 and row["newton_iters"] > 0     # a real shock was solved
    assert set(row["stages"]) == {"data + calibrate", "Pyomo build", "NL write + AMPL read",
                                  "replication gate"}
