"""``[[capital_flow]]``: saving moved from one region to investment in another (issue 16).

The payer's foreign saving falls and the recipient's rises by the amount, so with a fixed
current account the payer's trade balance rises and the recipient's falls by exactly the amount
(numeraire units); investment moves with it; no income changes hands, so the payer loses far
less than with a transfer of the same size. Bad input is refused with the field named.
"""

from __future__ import annotations

import pytest

from cge.api import Session
from cge.data.examples import random_benchmark
from cge.options import ModelOptions
from cge.scenario import ScenarioError

ELAST = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}
AMOUNT = 3.0


@pytest.fixture(scope="module")
def session() -> Session:
    return Session(random_benchmark(3, 3, seed=5), ELAST)


def _flow(amount: float = AMOUNT, table: str = "capital_flow") -> str:
    return (f'name = "c"\n[[{table}]]\npayer = "R0"\nrecipient = "R1"\namount = {amount}\n')


def test_current_accounts_move_by_the_amount(session: Session) -> None:
    res = session.run(toml=_flow())
    tb = res.trade_balance_change
    assert float(tb.sel(region="R0")) == pytest.approx(AMOUNT, rel=1e-9)
    assert float(tb.sel(region="R1")) == pytest.approx(-AMOUNT, rel=1e-9)
    assert abs(float(tb.sel(region="R2"))) < 1e-9
    inv = res.final_demand_real.sel(agent="investment")
    assert float(inv.sel(region="R0")) < 1 < float(inv.sel(region="R1"))
    assert float(res.income.sel(region="R0")) == pytest.approx(
        float(session.params.inc0.sel(region="R0")), rel=0.02)


def test_a_capital_flow_is_not_a_transfer(session: Session) -> None:
    """Same amount: the payer of a transfer loses about the amount; the payer of a capital
    flow only the terms-of-trade cost of the surplus that finances it."""
    flow = session.run(toml=_flow())
    gift = session.run(toml=_flow(table="transfer"))
    loss_flow = -float(flow.EV.sel(region="R0"))
    loss_gift = -float(gift.EV.sel(region="R0"))
    assert loss_gift > 0.8 * AMOUNT
    assert abs(loss_flow) < 0.5 * loss_gift


@pytest.mark.parametrize("text, field", [
    ('[[capital_flow]]\npayer = "R0"\nrecipient = "R0"\namount = 1\n', "capital_flow[1].recipient"),
    ('[[capital_flow]]\npayer = "R0"\nrecipient = "R1"\namount = -1\n', "capital_flow[1].amount"),
    ('[[capital_flow]]\npayer = "R0"\nrecipient = "R1"\n', "capital_flow[1]"),
    ('[[capital_flow]]\npayer = "R0"\nrecipient = "R1"\namount = 1\nshare_of_payer_gdp = 1\n',
     "capital_flow[1].share_of_payer_gdp"),
    ('[[capital_flow]]\npayer = "R0"\nrecipient = "R1"\nshare_of_payer_gdp = 100\n',
     "capital_flow[1].share_of_payer_gdp"),
    ('[[capital_flow]]\npayer = "R0"\nrecipient = "R1"\namount = 1\nbetween = "x"\n',
     "capital_flow[1]"),
])
def test_parser_rejects(session: Session, text: str, field: str) -> None:
    with pytest.raises(ScenarioError) as err:
        session.scenario(toml='name = "bad"\n' + text)
    assert field in str(err.value)


def test_model_rejects_what_it_cannot_do(session: Session) -> None:
    sav0 = float(session.params.sav0.sel(region="R0"))
    fsav0 = float(session.params.fsav0.sel(region="R0"))
    with pytest.raises(ScenarioError, match="R0's investment would be"):
        session.run(toml=_flow(sav0 + fsav0 + 1.0))
    bank = Session(random_benchmark(3, 3, seed=5), ELAST, ModelOptions(external="global_bank"))
    with pytest.raises(ScenarioError, match="fixed_current_account"):
        bank.run(toml=_flow())


def test_decomposition_explains_a_capital_flow(session: Session) -> None:
    """The EV decomposition's residual stays small with a capital flow: the inflow's direct
    addition to absorption is not utility (domestic saving is), so the investment-saving term
    takes it out (without that the residual is the whole flow)."""
    res = session.run(toml=_flow(), decompose=True)
    inc0 = session.params.inc0
    for r in res.region.values:
        resid = float(res.EV_decomposition.sel(component="residual", region=r))
        ev = float(res.EV_regional.sel(region=r))
        assert abs(resid) <= max(0.01 * abs(ev), 1e-5 * float(inc0.sel(region=r))), r
