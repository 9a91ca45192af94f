"""Stationing purchases and defense sourcing (direct government purchases abroad).

Economics checked:
* US purchases in Japan paid by the US budget: the US loses at least the amount (plus a
  terms-of-trade loss from buying abroad), Japan gains through its terms of trade; the US trade
  balance including the purchases is unchanged under a fixed current account, so US goods
  exports rise to pay for them.
* The same purchases paid by Japan (a host → buyer transfer): Japan's trade balance improves by
  the amount, and Japan's EV falls by about the amount.
* Japan buying part of a defense increase from US producers raises US EV relative to the same
  increase bought through the usual bundle.
* Homogeneity and Walras hold with direct purchases on; the parser rejects bad tables.
"""

from __future__ import annotations

import pytest
from pyomo.environ import value

from cge.api import Session
from cge.data.examples import random_benchmark
from cge.scenario import ScenarioError

ELAST = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}
AMOUNT = 3.0
TOL = 1e-8


def _stationing(paid_by: str) -> str:
    return (f'name = "s"\n[[stationing]]\nbuyer = "R0"\nhost = "R1"\namount = {AMOUNT}\n'
            f'paid_by = "{paid_by}"\n')


@pytest.fixture(scope="module")
def session() -> Session:
    return Session(random_benchmark(3, 3, seed=3), ELAST)


def test_buyer_pays(session: Session) -> None:
    res = session.run(toml=_stationing("buyer"))
    assert float(res.direct_purchases.sel(exporter="R1", importer="R0")) == pytest.approx(AMOUNT)
    assert float(res.EV.sel(region="R0")) < -AMOUNT * 0.9
    assert float(res.EV.sel(region="R1")) > 0
    assert float(res.trade_balance_change.sel(region="R0")) == pytest.approx(0.0, abs=TOL)
    goods_exports = res.trade_value.sel(exporter="R0").sum()
    assert float(goods_exports) > float(res.trade_benchmark.sel(exporter="R0").sum())
    assert abs(res.attrs["solver_walras_slack"]) < TOL


def test_host_pays(session: Session) -> None:
    res = session.run(toml=_stationing("host"))
    assert float(res.trade_balance_change.sel(region="R1")) == pytest.approx(AMOUNT, rel=1e-7)
    assert float(res.EV.sel(region="R1")) == pytest.approx(-AMOUNT, rel=0.25)


def test_defense_sourcing_helps_the_supplier(session: Session) -> None:
    plain = session.run(toml='name = "d"\n[[defense]]\nregion = "R1"\nscale = 1.5\n')
    sourced = session.run(toml='name = "d"\n[[defense]]\nregion = "R1"\nscale = 1.5\n'
                          'from_region = "R0"\nfrom_share = 50\n')
    assert float(sourced.EV.sel(region="R0")) > float(plain.EV.sel(region="R0"))
    assert float(sourced.direct_purchases.sel(exporter="R0", importer="R1")) > 0


def test_homogeneity_with_direct_purchases(session: Session) -> None:
    session.run(toml=_stationing("host"))
    model = session.model()
    m = model.m
    from cge.solve import solve

    q = {v.name: v.value for v in m.Y.values()}
    p = {v.name: v.value for v in m.pd.values()}
    m.pnum.fix(2.0)
    solve(model)
    for v in m.Y.values():
        assert v.value == pytest.approx(q[v.name], rel=TOL)
    for v in m.pd.values():
        assert v.value == pytest.approx(2.0 * p[v.name], rel=TOL)
    assert abs(value(m.walras)) < TOL
    m.pnum.fix(1.0)


@pytest.mark.parametrize("text, field", [
    ('[[stationing]]\nbuyer = "R0"\nhost = "R0"\namount = 1\n', "stationing[1].host"),
    ('[[stationing]]\nbuyer = "R0"\nhost = "R1"\nscale = -1\n', "stationing[1].scale"),
    ('[[stationing]]\nbuyer = "R0"\nhost = "R1"\n', "stationing[1].scale"),
    ('[[stationing]]\nbuyer = "R0"\nhost = "R1"\namount = 1\npaid_by = "x"\n',
     "stationing[1].paid_by"),
    ('[[stationing]]\nbuyer = "R0"\nhost = "R9"\namount = 1\n', "stationing[1].host"),
    ('[[defense]]\nregion = "R1"\nscale = 2\nfrom_region = "R0"\n', "defense[1]"),
    ('[[defense]]\nregion = "R1"\nscale = 2\nfrom_region = "R1"\nfrom_share = 10\n',
     "defense[1].from_region"),
    ('[[defense]]\nregion = "R1"\nscale = 2\nfrom_region = "R0"\nfrom_share = 120\n',
     "defense[1].from_share"),
])
def test_parser_rejects(session: Session, text: str, field: str) -> None:
    with pytest.raises(ScenarioError) as err:
        session.scenario(toml='name = "bad"\n' + text)
    assert field in str(err.value)


@pytest.mark.parametrize("financing", ["consumption_tax", "output_tax"])
def test_tax_financed_defense(session: Session, financing: str) -> None:
    """A defense increase financed by a tax surcharge: the surcharge is positive and its revenue
    equals the defense spending above the benchmark real level at current prices; the lump-sum
    case has no surcharge; EV parts add up with a small residual."""
    from cge.blocks.financing import surcharge_revenue

    base = 'name = "d"\n[[defense]]\nregion = "R1"\nscale = 2.0\n'
    model = session.model()
    m, p = model.m, model.ctx.p
    session.run(toml=base)
    assert abs(value(m.tsur["R1"])) < TOL
    taxed = session.run(toml=base + f'financing = "{financing}"\n', decompose=True)
    assert value(m.tsur["R1"]) > 0
    unit = value((1 + m.tfd_eff["defense", "R1"]) * m.pfd["defense", "R1"]) * p["vfd"][
        "defense", "R1"]
    extra = value(m.efd["defense", "R1"]) - unit
    assert value(surcharge_revenue(m, model.ctx, "R1")) == pytest.approx(extra, rel=1e-7)
    assert abs(taxed.attrs["solver_walras_slack"]) < TOL
    ev = float(taxed.EV.sel(region="R1"))
    residual = float(taxed.EV_decomposition.sel(component="residual", region="R1"))
    assert abs(residual) <= 1e-3 * abs(ev)


def test_direct_tax_financing_needs_separate_institutions(session: Session) -> None:
    with pytest.raises(ScenarioError, match="direct_tax"):
        session.run(toml='name = "d"\n[[defense]]\nregion = "R1"\nscale = 2.0\n'
                    'financing = "direct_tax"\n')


def test_direct_tax_financing_separate_institutions() -> None:
    from cge.options import ModelOptions

    s = Session(random_benchmark(3, 3, seed=3), ELAST, ModelOptions(institutions="separate"))
    s.run(toml='name = "d"\n[[defense]]\nregion = "R1"\nscale = 2.0\nfinancing = "direct_tax"\n')
    m = s.model().m
    assert value(m.tsur["R1"]) > 0
    assert abs(value(m.walras)) < TOL
