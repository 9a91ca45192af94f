r"""The strategy analysis of a negotiating pair (``cge.negotiation``), its report section and its
place in a run (``run_scenarios(strategy=...)``, ``cge counterfactual --strategy``).

On ``two_by_two`` (HOME, FOREIGN), the pair HOME x FOREIGN with one scenario file (HOME +20 pp
on everything from FOREIGN), checked against independent calculations — ordinary square solves
of scenario files, not the optimisers' own numbers:

* each optimal rate beats the same rate +- 0.01 for its own region (local optimum);
* the Nash war's last rates are mutual best responses (each +- 0.01 is worse for the mover);
* the equivalence table's transfers, written as ``[[transfer]]`` scenario files and solved,
  give the region they are for the scenario's EV (1e-8 relative), and the deal space is their
  difference;
* the frontier in the Dataset is monotone and its part round-trips to the frontier's own
  Dataset layout;
* the report gets a strategy section with these numbers; the run writes
  ``results/strategy/HOME_FOREIGN.nc``; a pair the data cannot run is skipped with its reason;
  a failing strategy leaves the earlier outputs exactly as they were.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import ELASTICITIES, HOME_TARIFF_20, save_tiny_benchmark, tree_state

import cge
from cge import negotiation as ng
from cge.api import write_netcdf
from cge.report import write_report
from cge.runner import run_scenarios

SCENARIO = HOME_TARIFF_20
STEP = 0.01
#: The Nash check's step: the two Nash rates differ by 0.0026 here, so a smaller step than
#: that is needed to tell one player's best response from the other's.
NASH_STEP = 1e-3
EV_RTOL = 1e-8


@cache
def _files() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="cge-negotiation-"))
    (folder / "home_tariff_20.toml").write_text(SCENARIO)
    return folder


def _spec(**kw) -> ng.PairAnalysis:
    path = str(_files() / "home_tariff_20.toml")
    args = {"a": "HOME", "b": "FOREIGN", "groups": {"all": "all"}, "retaliation": "all",
            "tariff_bounds": (0.0, 2.0), "scenarios": (path,), "reference": path,
            "levels": 7, "transfer_share": 0.02, **kw}
    return ng.PairAnalysis(**args)


@cache
def _session() -> cge.Session:
    from cge.data.examples import two_by_two

    return cge.Session(two_by_two(), ELASTICITIES)


@cache
def _pair() -> xr.Dataset:
    return ng.analyse_pair(_session(), _spec())


def _ev_with(toml: str, region: str) -> float:
    res = _session().run(toml=toml)
    return float(res.EV.sel(region=region))


def _tariffs(rates: dict[tuple[str, str], float]) -> str:
    body = "".join(f'[[tariff]]\nimporter = "{i}"\nexporter = "{e}"\ncommodities = "all"\n'
                   f"set = {100 * t!r}\n" for (i, e), t in rates.items())
    return f'name = "check"\n{body}'


# --------------------------------------------------------------------------------------------
def test_optimal_rates_are_local_optima():
    ds = _pair()
    rows = [k for k in range(ds.sizes["optimal_row"])
            if str(ds.optimal_against.values[k]) == "benchmark"]
    assert len(rows) == 2
    for k in rows:
        player, partner = str(ds.optimal_player.values[k]), str(ds.optimal_partner.values[k])
        rate = float(ds.optimal_rate.values[k])
        assert 0.0 < rate < 1.9 and not str(ds.optimal_binding.values[k]), rate  # interior
        best = _ev_with(_tariffs({(player, partner): rate}), player)
        for t in (rate - STEP, rate + STEP):
            assert _ev_with(_tariffs({(player, partner): t}), player) < best


def test_nash_rates_are_mutual_best_responses():
    ds = _pair()
    assert ds.attrs["nash_converged"] == 1
    ra, rb = float(ds.nash_rate_a.values[-1]), float(ds.nash_rate_b.values[-1])
    base = {("HOME", "FOREIGN"): ra, ("FOREIGN", "HOME"): rb}
    for mover, cell in (("HOME", ("HOME", "FOREIGN")), ("FOREIGN", ("FOREIGN", "HOME"))):
        best = _ev_with(_tariffs(base), mover)
        for d in (-NASH_STEP, NASH_STEP):
            assert _ev_with(_tariffs({**base, cell: base[cell] + d}), mover) < best
    # the war costs both (against free trade at the benchmark's own rates: EV 0)
    assert ds.attrs["nash_EV_a"] < 0 and ds.attrs["nash_EV_b"] < 0


@pytest.mark.parametrize(("column", "region"), [("transfer_for_a", "HOME"),
                                                ("transfer_for_b", "FOREIGN")])
def test_equivalent_transfers_reproduce_the_scenario_ev(column, region):
    ds = _pair()
    target = _ev_with(SCENARIO, region)
    assert abs(target) > 1e-3                                # not vacuous
    t = float(ds[f"equivalence_{column}"].values[0])
    payer, recipient = ("FOREIGN", "HOME") if t >= 0 else ("HOME", "FOREIGN")
    toml = (f'name = "check"\n[[transfer]]\npayer = "{payer}"\nrecipient = "{recipient}"\n'
            f"amount = {abs(t)!r}\n")
    assert _ev_with(toml, region) == pytest.approx(target, rel=EV_RTOL, abs=1e-9)
    assert float(ds.equivalence_deal_space.values[0]) == pytest.approx(
        float(ds.equivalence_transfer_for_b.values[0])
        - float(ds.equivalence_transfer_for_a.values[0]), rel=1e-12)


def test_frontier_part_is_monotone_and_round_trips(tmp_path):
    ds = _pair()
    part = ng.frontier_part(ds)
    assert set(part.dims) == {"point", "mark", "instrument"}
    assert part.attrs["region_a"] == "HOME" and part.attrs["scenario"] == "home_tariff_20"
    ok = np.isin(part.status.values.astype(str), ["optimal", "a_optimum", "b_optimum"])
    ev_a, ev_b = part.EV_a.values[ok], part.EV_b.values[ok]
    assert len(ev_a) == 7
    assert np.all(np.diff(ev_a) <= 1e-9) and np.all(np.diff(ev_b) >= -1e-9)
    assert list(part.instrument.values) == ["tariff_HOME_on_FOREIGN_all",
                                            "tariff_FOREIGN_on_HOME_all",
                                            "transfer_FOREIGN_to_HOME",
                                            "purchases_FOREIGN_from_HOME"]
    path = write_netcdf(ds, tmp_path / "pair.nc")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        np.testing.assert_allclose(ng.frontier_part(back).EV_a.values, part.EV_a.values)
        assert str(back.equivalence_scenario.values[0]).endswith("home_tariff_20.toml")


def test_usable_names_what_is_missing():
    assert ng.usable(_session(), _spec()) == ""
    assert ng.usable(_session(), ng.PairAnalysis()) == "the data set has no region USA, JPN"
    why = ng.usable(_session(), _spec(scenarios=("us_jpn_reciprocal_autos",)))
    assert why.startswith("scenario us_jpn_reciprocal_autos does not apply")


# --------------------------------------------------------------------------------------------
def test_report_has_the_strategy_section(tmp_path):
    results = [_session().run(toml=SCENARIO)]
    pdf = write_report(results, tmp_path / "r.pdf", strategy=[_pair()])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Strategy: the HOME – FOREIGN bargain" in text
    assert "Tariff-transfer equivalence" in text and "Deal space" in text
    assert "Deal frontier HOME–FOREIGN" in text
    # a number of the equivalence table, as the report prints it (data unit, 2 decimals)
    t = float(_pair().equivalence_transfer_for_b.values[0])
    assert f"{t:+.2f}".replace("-", "\u2212") in text
    plain = write_report(results, tmp_path / "plain.pdf")
    assert "Strategy: the" not in subprocess.run(["pdftotext", str(plain), "-"],
                                                  capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    data, elast = save_tiny_benchmark(tmp_path_factory.mktemp("negotiation_run"))
    return {"data": data, "elast": elast}


def test_run_writes_the_pair_and_skips_what_cannot_run(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    run_scenarios([str(_files() / "home_tariff_20.toml")], data=str(tiny["data"]),
                  elasticities=str(tiny["elast"]), out_dir=out,
                  strategy=(_spec(levels=3), ng.PairAnalysis()))
    printed = capsys.readouterr().out
    assert (out / "results" / "strategy" / "HOME_FOREIGN.nc").is_file()
    assert "strategy USA-JPN skipped: the data set has no region USA, JPN" in printed
    with xr.open_dataset(out / "results" / "strategy" / "HOME_FOREIGN.nc",
                         engine="h5netcdf") as ds:
        assert ds.attrs["region_a"] == "HOME" and ds.sizes["frontier_point"] == 3


def test_failed_strategy_leaves_earlier_outputs(tiny, tmp_path):
    out = tmp_path / "run"
    args = {"data": str(tiny["data"]), "elasticities": str(tiny["elast"]), "out_dir": out,
            "echo": False}
    run_scenarios([str(_files() / "home_tariff_20.toml")], **args)
    before = tree_state(out)
    with pytest.raises(cge.strategy.StrategyError):
        run_scenarios([str(_files() / "home_tariff_20.toml")],
                      strategy=(_spec(levels=1),), **args)
    assert tree_state(out) == before


def test_cli_strategy_flag(tiny, tmp_path, capsys):
    """``--strategy`` on ``run`` asks for the pair (skipped here: no USA/JPN, with the line
    saying so); ``run`` without it does not."""
    from cge.cli import main as cli_main

    base = ["run", str(_files() / "home_tariff_20.toml"), "--data", str(tiny["data"]),
            "--elasticities", str(tiny["elast"])]
    assert cli_main([*base, "--out", str(tmp_path / "a"), "--strategy"]) == 0
    assert "strategy USA-JPN skipped: the data set has no region USA, JPN" in (
        capsys.readouterr().out)
    assert cli_main([*base, "--out", str(tmp_path / "b")]) == 0
    assert "strategy USA-JPN" not in capsys.readouterr().out


@pytest.mark.slow
def test_default_data_pair_round_trips():
    """On the default data (the report's own analysis): the transfer equal to the 24 % + 25 %
    package for each side, applied as a scenario, gives that side the package's EV; the US's
    optimal tariffs by group are interior; the frontier is monotone and dominates the status
    quo at the benchmark's level of Japan's EV."""
    session = cge.Session("default2024")
    ds = ng.analyse_pair(session)
    k = [str(x) for x in ds.equivalence_scenario.values].index("us_jpn_reciprocal_autos")
    ref = session.run("us_jpn_reciprocal_autos")
    for col, region in (("transfer_for_a", "USA"), ("transfer_for_b", "JPN")):
        t = float(ds[f"equivalence_{col}"].values[k])
        payer, recipient = ("JPN", "USA") if t >= 0 else ("USA", "JPN")
        toml = (f'name = "check"\n[[transfer]]\npayer = "{payer}"\nrecipient = '
                f'"{recipient}"\namount = {abs(t)!r}\n')
        got = float(session.run(toml=toml).EV.sel(region=region))
        assert got == pytest.approx(float(ref.EV.sel(region=region)), rel=1e-8, abs=1e-3)
    us = [i for i in range(ds.sizes["optimal_row"]) if str(ds.optimal_player.values[i]) == "USA"]
    assert len(us) == 3 and all(0.0 < float(ds.optimal_rate.values[i]) < 1.0 for i in us)
    part = ng.frontier_part(ds)
    ok = np.isin(part.status.values.astype(str), ["optimal", "a_optimum", "b_optimum"])
    assert ok.sum() == 25
    assert np.all(np.diff(part.EV_a.values[ok]) <= 1e-6)
    assert np.all(np.diff(part.EV_b.values[ok]) >= -1e-6)
    at_zero = np.interp(0.0, part.EV_b.values[ok], part.EV_a.values[ok])
    assert at_zero > 0.0                 # a deal beats the status quo for both
