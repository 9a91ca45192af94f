"""Build the Pyomo model from calibrated parameters, calling the blocks in a fixed order.

The model is a square system (one equation per free variable, paired by role: zero-profit
``prf_*`` ↔ activity levels and unit-cost prices, market clearing ``mkt_*`` ↔ prices, income
``inc_*`` ↔ incomes, expenditure rules ``dem_*`` ↔ final demands, the numeraire rule ↔ the Walras
slack), solved by Ipopt with a constant objective. It is built once per (data, elasticities,
options); scenarios change fixed instrument variables and re-solve from the current point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import xarray as xr
from pyomo.environ import ConcreteModel, Constraint, Objective, Var

from cge.blocks.context import Context
from cge.blocks.demand import add_expenditure_rules, add_final_demand, add_final_demand_variables
from cge.blocks.financing import add_financing_rule, add_financing_variables
from cge.blocks.income import add_income
from cge.blocks.instruments import add_instruments
from cge.blocks.markets import add_market_clearing, add_markets
from cge.blocks.production import add_production, add_production_variables
from cge.blocks.trade import add_trade, add_trade_variables
from cge.closures import add_closure_variables, add_closures
from cge.options import ModelOptions


@dataclass(frozen=True)
class Pair:
    """An equation family, the variable family it determines, and the block that owns both.
    ``index`` maps an equation index to the variable index it pairs with (identity if None)."""

    equation: str
    variable: str
    block: str
    index: object = None


def _defense_agent(r):
    return ("defense", r)


#: The model statement: every equation family paired with the variable it determines (as
#: GTAPinGAMS declares the pairing of its MCP). Zero-profit conditions determine activity levels
#: and unit-cost prices, market clearing determines prices, income equations incomes, spending
#: rules final demands; the numeraire rule determines the Walras slack.
PAIRING: tuple[Pair, ...] = (
    Pair("prf_va", "pva", "production"),
    Pair("prf_y", "Y", "production"),
    Pair("prf_pa", "pa", "trade"),
    Pair("prf_pim", "pim", "trade"),
    Pair("mkt_pim", "qim", "trade"),
    Pair("prf_pt", "pt", "trade"),
    Pair("mkt_qt", "qt", "trade"),
    Pair("prf_fd", "pfd", "demand"),
    Pair("dem_fd", "qfd", "demand"),
    Pair("dem_def", "qfd", "demand", _defense_agent),
    Pair("trev_def", "trev", "income"),
    Pair("inc_ra", "inc", "income"),
    Pair("inc_h", "yh", "income"),
    Pair("inc_g", "yg", "income"),
    Pair("fin_rule", "tsur", "financing"),
    Pair("levy_rule", "levy", "financing"),
    Pair("mkt_pd", "pd", "markets"),
    Pair("mkt_pe", "pe", "markets"),
    Pair("mkt_pf", "pf", "markets"),
    Pair("mkt_pfs", "pfs", "markets"),
    Pair("prf_pft", "pft", "markets"),
    Pair("num_def", "walras", "closures"),
    Pair("wage_rule", "lsup", "closures"),
)


def pairing_problems(m) -> list[str]:
    """What in model ``m`` breaks :data:`PAIRING`: an active equation family or a free variable
    family the table does not name, or a family whose active equations do not map one to one
    onto the free variables of its partner. Empty when the model statement holds."""
    problems = []
    eqs = {c.name: c for c in m.component_objects(Constraint, active=True)}
    known_eq = {p.equation for p in PAIRING}
    known_var = {p.variable for p in PAIRING}
    active = {name: [k for k, c in con.items() if c.active] for name, con in eqs.items()}
    for name, keys in active.items():
        if name not in known_eq and keys:
            problems.append(f"equation family {name} is not in the pairing table")
    for var in m.component_objects(Var):
        if var.name not in known_var and any(not v.fixed for v in var.values()):
            problems.append(f"free variable family {var.name} is not in the pairing table")
    for variable in known_var:
        var = getattr(m, variable, None)
        free = set() if var is None else {k for k, v in var.items() if not v.fixed}
        paired: list = []
        for p in (p for p in PAIRING if p.variable == variable):
            keys = active.get(p.equation, [])
            paired += [p.index(k) for k in keys] if p.index else keys
        if len(paired) != len(set(paired)) or set(paired) != free:
            extra = sorted(map(str, set(paired) - free))[:3]
            lacking = sorted(map(str, free - set(paired)))[:3]
            problems.append(f"{variable}: equations without a free variable {extra}, free "
                            f"variables without an equation {lacking}")
    return problems


@dataclass
class CGEModel:
    """A built model: the Pyomo model, its build context and the benchmark point.

    Use :func:`build_model` to create one. ``benchmark_values`` holds every variable's benchmark
    value (all prices and quantity indices 1, the Walras slack 0, instruments at benchmark rates),
    so :meth:`reset` returns the model to the benchmark exactly.
    """

    params: xr.Dataset
    options: ModelOptions
    ctx: Context
    m: ConcreteModel
    all_vars: list = field(default_factory=list)

    # ----------------------------------------------------------------------------------------
    def variables(self):
        """All variable data objects (free and fixed)."""
        return self.m.component_data_objects(Var, descend_into=True)

    def free_variables(self) -> list:
        return [v for v in self.variables() if not v.fixed]

    def active_equations(self) -> list:
        return list(self.m.component_data_objects(Constraint, active=True, descend_into=True))

    def snapshot(self) -> dict:
        """Current values of all variables and the fixed/active state needed to restore them.

        Values are keyed by the variable's position in :attr:`all_vars` (Pyomo variables are
        not hashable)."""
        return {
            "values": [v.value for v in self.all_vars],
            "fixed": [v.fixed for v in self.all_vars],
        }

    def restore(self, snap: dict) -> None:
        """Put back a :meth:`snapshot`."""
        for v, val in zip(self.all_vars, snap["values"], strict=True):
            v.set_value(val, skip_validation=True)
        for v, fixed in zip(self.all_vars, snap["fixed"], strict=True):
            if fixed and not v.fixed:
                v.fix()
            elif not fixed and v.fixed:
                v.unfix()

    def reset(self) -> None:
        """Return every variable and instrument to the benchmark."""
        self.restore(self._benchmark)

    def check_square(self) -> tuple[int, int]:
        """(number of active equations, number of free variables); raises if they differ."""
        n_eq = len(self.active_equations())
        n_var = len(self.free_variables())
        if n_eq != n_var:
            raise RuntimeError(f"model is not square: {n_eq} equations, {n_var} free variables")
        return n_eq, n_var

    def check_pairing(self) -> None:
        """Raise unless every equation is paired with the free variable it determines
        (:data:`PAIRING`)."""
        problems = pairing_problems(self.m)
        if problems:
            raise RuntimeError("model statement broken: " + "; ".join(problems))


def build_model(params: xr.Dataset, options: ModelOptions | None = None) -> CGEModel:
    """Build the Pyomo model for calibrated ``params`` (from :func:`cge.calibrate.calibrate`)."""
    options = options or ModelOptions()
    ctx = Context(params, options)
    m = ConcreteModel(name=f"cge[{params.attrs.get('name', '')}]")
    # variables first: instruments (fixed), prices and quantities of every block
    add_instruments(m, ctx)
    add_markets(m, ctx)
    add_closure_variables(m, ctx)
    add_production_variables(m, ctx)
    add_trade_variables(m, ctx)
    add_final_demand_variables(m, ctx)
    add_financing_variables(m, ctx)
    # equations, in the order of the data flow
    add_production(m, ctx)
    add_trade(m, ctx)
    add_final_demand(m, ctx)
    add_income(m, ctx)
    add_expenditure_rules(m, ctx)
    add_financing_rule(m, ctx)
    add_market_clearing(m, ctx)
    add_closures(m, ctx)
    m.objective = Objective(expr=0.0, doc="constant: the model is a square system")
    model = CGEModel(params=params, options=options, ctx=ctx, m=m)
    model.all_vars = list(model.variables())
    model.check_square()
    model.check_pairing()
    model._benchmark = model.snapshot()
    model.last_solution = model._benchmark
    return model
