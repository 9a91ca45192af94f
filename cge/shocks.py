"""Apply a validated :class:`~cge.scenario.Scenario` to a built model by setting instruments.

Nothing is rebuilt: the model's fixed instrument variables are first put back to their benchmark
values, then each shock is applied in file order (``add`` accumulates, ``set`` overrides,
``multiply`` multiplies). Shocks to flows that are zero in the benchmark are skipped and counted:
in an Armington model a zero benchmark flow stays zero at every price.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cge.model import CGEModel
from cge.scenario import RateShock, Scenario, ScenarioError


@dataclass
class ShockReport:
    """What applying a scenario did: cells changed and cells skipped (zero benchmark flows)."""

    changed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def reset_instruments(model: CGEModel) -> None:
    """Instruments (fixed variables) and defense rules back to the benchmark; free variables keep
    their current values (a warm start)."""
    bench = model._benchmark
    for v, val, fixed in zip(model.all_vars, bench["values"], bench["fixed"], strict=True):
        if fixed:
            v.fix(val)
        elif v.fixed:
            v.unfix()


def _new_rate(old: float, shock: RateShock) -> float:
    if shock.mode == "add":
        return old + shock.value
    if shock.mode == "set":
        return shock.value
    return old * shock.value


def apply_scenario(model: CGEModel, scenario: Scenario) -> ShockReport:
    """Set the model's instruments to the scenario's values (from the benchmark)."""
    reset_instruments(model)
    m, ctx = model.m, model.ctx
    report = ShockReport()
    src = scenario.source
    for shock in scenario.rate_shocks:
        for cell in shock.cells():
            if shock.instrument == "to":
                j, r = cell
                if (j, r) not in m.to:
                    report.skipped[shock.where] = report.skipped.get(shock.where, 0) + 1
                    continue
                var = m.to[j, r]
                new = _new_rate(var.value, shock)
            else:
                if cell not in m.tm:
                    report.skipped[shock.where] = report.skipped.get(shock.where, 0) + 1
                    continue
                if shock.instrument == "tm":
                    var = m.tm[cell]
                    new = _new_rate(var.value, shock)
                elif shock.instrument == "tx":
                    var = m.tx[cell]
                    new = _new_rate(var.value, shock)
                else:  # iceberg trade cost: ad-valorem equivalent tau, factor 1 + tau
                    var = m.ice[cell]
                    new = 1.0 + _new_rate(var.value - 1.0, shock)
            if shock.instrument == "trade_cost" and new <= 0:
                raise ScenarioError(src, shock.where, f"trade cost factor for {cell} would be "
                                    f"{new:.4g}; the ad-valorem equivalent must stay > -100 %")
            if shock.instrument != "trade_cost" and new <= -1.0:
                raise ScenarioError(src, shock.where, f"rate for {cell} would be {new:.2%}; "
                                    "rates must stay > -100 %")
            var.fix(new)
            report.changed += 1
    p = ctx.p
    for t in scenario.transfers:
        amount = t.amount if t.amount is not None else t.share_of_payer_gdp * p["gdp0"][t.payer]
        if amount > p["inc0"][t.payer]:
            raise ScenarioError(src, t.where, f"transfer of {amount:.6g} exceeds the payer's "
                                f"benchmark income {p['inc0'][t.payer]:.6g}")
        var = m.trf[t.payer, t.recipient]
        var.fix(var.value + amount)
        report.changed += 1
    for d in scenario.defense:
        if d.region not in ctx.DEF:
            raise ScenarioError(src, d.where, f"region {d.region} has no defense spending in "
                                f"the benchmark; regions with defense: {ctx.DEF}")
        r = d.region
        e0 = p["efd0"]["defense", r]
        # the increase at benchmark prices and GDP; a share of it may be bought directly abroad
        target = d.value * e0 if d.mode == "scale" else d.value * p["gdp0"][r]
        direct = d.from_share * max(target - e0, 0.0) if d.from_region else 0.0
        if direct > 0 and (d.from_region, r) not in ctx.dp_weights:
            raise ScenarioError(src, d.where, f"{d.from_region} produces none of the goods in "
                                f"{r}'s defense bundle")
        m.def_rule_budget[r].fix(0.0)
        if d.mode == "scale":
            m.def_rule_real[r].fix(1.0)
            m.def_real[r].fix((target - direct) / e0)
        else:
            m.def_rule_gdp[r].fix(1.0)
            m.def_share[r].fix((target - direct) / p["gdp0"][r])
        if direct > 0:
            m.dpur[d.from_region, r].fix(m.dpur[d.from_region, r].value + direct)
        if d.financing != "lump_sum":
            base = {"consumption_tax": m.tsur_c, "output_tax": m.tsur_o,
                    "direct_tax": m.tsur_d}[d.financing]
            if d.financing == "direct_tax" and model.options.institutions != "separate":
                raise ScenarioError(src, f"{d.where}.financing", "direct_tax financing needs "
                                    "institutions = 'separate' (the regional household has no "
                                    "direct tax); use consumption_tax or output_tax")
            m.fin_tax[r].fix(1.0)
            base[r].fix(1.0)
        report.changed += 1
    for st in scenario.stationing:
        if (st.host, st.buyer) not in ctx.dp_weights:
            raise ScenarioError(src, st.where, f"{st.host} produces none of the goods in "
                                f"{st.buyer}'s defense bundle")
        m.dpur[st.host, st.buyer].fix(m.dpur[st.host, st.buyer].value + st.amount)
        if st.paid_by == "host":
            m.trf[st.host, st.buyer].fix(m.trf[st.host, st.buyer].value + st.amount)
        report.changed += 1
    for fs in scenario.factor_shocks:
        for r in fs.regions:
            for f in fs.factors:
                if fs.kind == "endowment":
                    m.endow[f, r].fix(m.endow[f, r].value * fs.value)
                    report.changed += 1
                else:
                    for j in ctx.activities_using.get((f, r), []):
                        m.prod_f[f, j, r].fix(m.prod_f[f, j, r].value * fs.value)
                        report.changed += 1
    return report
