"""A package split into its parts (cge.subtotals): each part alone, GTAP subtotals.

* The subtotals are path integrals of implicit-function gradients; their sum is checked
  against the package's EV solved on its own by Ipopt: the gap (quadrature error) shrinks
  from 2 to 6 Gauss nodes and is tiny at 6.
* A part alone equals the same part run as its own scenario through the ordinary solve.
* Small-shock limit: the interaction is second order, so subtotals and alone values agree
  to first order, while for a large package they differ (the interaction is real).
* The results carry both splits for a package, none for a one-instrument scenario, and the
  stacked results keep them per scenario.
"""

from __future__ import annotations

import numpy as np
import pytest

from cge.api import Session, compare
from cge.data.examples import random_benchmark
from cge.subtotals import package_parts, split_package

ELAST = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}


def _package(scale: float = 1.0) -> str:
    return ('name = "pkg"\ndescription = "tariff + transfer"\n'
            f'[[tariff]]\nimporter = "R0"\nexporter = "R1"\ncommodities = "all"\n'
            f'add = {25.0 * scale}\n'
            f'[[transfer]]\npayer = "R1"\nrecipient = "R0"\namount = {4.0 * scale}\n')


def _tariff_only() -> str:
    return _package().split("[[transfer]]")[0].replace('name = "pkg"', 'name = "tariff"')


@pytest.fixture(scope="module")
def session() -> Session:
    return Session(random_benchmark(3, 3, seed=4), ELAST)


def test_parts_of_a_scenario(session: Session) -> None:
    scen = session.scenario(toml=_package())
    assert list(package_parts(scen)) == ["tariffs", "transfers"]
    tariff_only = session.scenario(toml=_tariff_only())
    assert list(package_parts(tariff_only)) == ["tariffs"]
    model = session.model()
    with pytest.raises(ValueError, match="not a package"):
        split_package(model, tariff_only)


def test_subtotals_add_up_to_the_solved_package(session: Session) -> None:
    res = session.run(toml=_package())
    ev = res.EV.values
    assert np.abs(ev).min() > 1e-2                       # every region is affected
    scen, model = session.prepared(toml=_package())
    gaps = {}
    for nodes in (2, 6):
        split = split_package(model, scen, nodes=nodes)
        gaps[nodes] = np.abs(split.EV_part_subtotal.sum("package_part").values - ev).max()
        # the path's end point is the package itself
        np.testing.assert_allclose(split.EV_package.values, ev, rtol=1e-7, atol=1e-9)
    assert gaps[6] <= 1e-7 * np.abs(ev).max()
    assert gaps[6] < gaps[2]                              # quadrature, not construction


def test_alone_equals_the_part_run_on_its_own(session: Session) -> None:
    scen, model = session.prepared(toml=_package())
    split = split_package(model, scen)
    for part, sub in package_parts(scen).items():
        alone = session.run(sub).EV.values
        np.testing.assert_allclose(split.EV_part_alone.sel(package_part=part).values, alone,
                                   rtol=1e-7, atol=1e-9)


def test_interaction_is_second_order(session: Session) -> None:
    def gap(scale: float) -> tuple[float, float]:
        scen, model = session.prepared(toml=_package(scale))
        s = split_package(model, scen)
        diff = np.abs(s.EV_part_subtotal - s.EV_part_alone).max()
        return float(diff), float(np.abs(s.EV_part_alone).max())

    small_gap, small_size = gap(0.01)
    large_gap, large_size = gap(1.0)
    assert large_gap > 1e-3 * large_size                 # a real interaction at full size
    assert small_gap < 0.05 * (large_gap / large_size) * small_size   # shrinks ~ linearly more


def test_results_carry_the_split(session: Session) -> None:
    pkg = session.run(toml=_package(), decompose=True)
    one = session.run(toml=_tariff_only(), decompose=True)
    assert set(pkg.EV_part_alone.package_part.values) == {"tariffs", "transfers"}
    assert "EV_part_subtotal" not in one
    both = compare([one, pkg])
    assert np.isnan(both.EV_part_subtotal.sel(scenario=one.attrs["scenario"])).all()
    np.testing.assert_allclose(both.EV_part_subtotal.sel(scenario="pkg").values,
                               pkg.EV_part_subtotal.values)
