r"""The model's AMPL representation (an NL file), written straight from its Pyomo expressions.

The solver evaluates the equations and their Jacobian with the AMPL Solver Library (ASL), which
reads the model as an NL file (D. M. Gay, *Writing .nl Files*, 2005). Pyomo's general NL writer
splits every expression into its linear and nonlinear parts, collects constants, and handles
every Pyomo modelling construct; at GTAP's 41 regions x 20 commodities that takes 8 s of the
build. This writer handles exactly what the model's equations are made of — sums, products,
quotients, powers, negations, the named ``Expression`` components and variables — in one walk:

* every equation is taken apart into a sum of terms (through numeric factors, quotients by
  numbers and negations): its linear terms go to its Jacobian column list (``J`` segment, with
  a zero coefficient for a variable that enters only nonlinearly), the others to its
  nonlinear part (``C`` segment), its right-hand side to the constraint's bounds (``r``
  segment, ``4 rhs``: an equality) — ASL then sees a sum of small nonlinear elements, which
  keeps its set-up of the second derivatives' structure, most of the time it takes to read
  the file, small;
* every named ``Expression`` is written in place where an equation uses it (its linear part
  joining the equation's linear terms). Writing them once as defined variables (``V``
  segments, NL's common subexpressions) made a smaller file that ASL evaluates twice as fast,
  but ASL's Jacobian evaluation (``derprop_ASL``) then read a wild pointer on some layouts —
  a crash or wrong derivatives depending on the process's memory layout, confirmed under
  valgrind on a file where a defined variable summed another that held the same terms with
  the opposite sign — so the writer uses none;
* the variables are numbered as the format asks: first those that enter a nonlinear part
  (in the order the equations first use them), then those that enter equations only
  linearly, then those no equation uses (fixed ones).

Anything else (an external function, a relational operator inside a body, an inequality) raises
:class:`Unsupported`, and :class:`cge.solve.ModelNLP` then falls back to Pyomo's writer, so a
new construct never changes results silently. The test ``tests/test_nlfile.py`` compares the
residuals and the Jacobian of both writers at random points. Measured (one run each):
20 regions x 30 sectors, write 1.6 s against Pyomo's 3.4 s, ASL read 0.7 s both; GTAP 41 x 20,
write 4.4 s against 8.7 s, read 3.3 s against 2.7 s; one evaluation of the equations and the
Jacobian takes 0.21 s against 0.09 s there (the shared trade flows are evaluated where used).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from pyomo.core.expr import numeric_expr as ne
from pyomo.environ import Constraint, Objective

#: NL opcodes (Gay 2005, table 6) of the operators the model uses.
OP_PLUS, OP_MULT, OP_DIV, OP_POW, OP_NEG, OP_SUMLIST = 0, 2, 3, 5, 16, 54
UNARY_OPS = {"log": 43, "exp": 44, "sqrt": 39, "log10": 42, "abs": 15}


#: An expression that is 0 in prefix notation.
ZERO = ["n0"]


class Unsupported(ValueError):
    """The model holds a construct this writer does not handle (use Pyomo's writer)."""


@dataclass
class NLInfo:
    """What the caller needs to map the NL file back to the model (as Pyomo's writer returns):
    the variables and constraints in the file's order."""

    variables: list
    constraints: list


class _Writer:
    """One pass over the equations; see the module docstring for the layout."""

    def __init__(self, n_total: int):
        self.n_total = n_total
        self.var_index: dict[int, int] = {}
        self.variables: list = []
        self.var_tokens: list[str] = []                     # "v<index>" of each variable
        self.numbers: dict[float, str] = {}                 # "n<value>" of each number seen
        self.n_nonlinear = 0                                # set once the equations are walked
        self.handlers: dict[type, Callable] = {}
        self.variable_handler = self._variable              # one bound method, compared by id
        self.named_handler = self._named
        self.sum_handler = self._sum

    # -- expressions -------------------------------------------------------------------
    def emit(self, node, out: list, used: set) -> None:
        """Append ``node`` in prefix notation to ``out``; add its variables' indices to
        ``used``."""
        self.emit_all((node,), out, used)

    def emit_all(self, nodes, out: list, used: set) -> None:
        """:meth:`emit` for each of ``nodes``. Numbers and variables, most of the nodes, are
        written here without a further call; an operator's handler writes its operands
        through this method again."""
        numbers, handlers, var_index = self.numbers, self.handlers, self.var_index
        variable = self.variable_handler
        for node in nodes:
            t = type(node)
            if t is float:
                token = numbers.get(node)
                if token is None:
                    token = numbers[node] = f"n{node!r}"
                out.append(token)
                continue
            handler = handlers.get(t)
            if handler is variable:
                idx = var_index.get(id(node))
                if idx is None:
                    idx = self._index(node)
                used.add(idx)
                out.append(self.var_tokens[idx])
                continue
            if handler is None:
                if t is int:
                    out.append(f"n{float(node)!r}")
                    continue
                handler = handlers[t] = self._handler_for(node)
            handler(node, out, used)

    def _handler_for(self, node) -> Callable:
        if isinstance(node, (int, float)):
            return self._number
        if getattr(node, "is_variable_type", None) and node.is_variable_type():
            return self.variable_handler
        if getattr(node, "is_named_expression_type", None) and node.is_named_expression_type():
            return self.named_handler
        for kind, handler in ((ne.SumExpression, self.sum_handler), (ne.ProductExpression,
                              self._binary(OP_MULT)), (ne.DivisionExpression,
                              self._binary(OP_DIV)), (ne.PowExpression, self._binary(OP_POW)),
                              (ne.NegationExpression, self._negation),
                              (ne.UnaryFunctionExpression, self._unary)):
            if isinstance(node, kind):
                return handler
        if getattr(node, "is_constant", None) and node.is_constant():
            return self._number
        raise Unsupported(f"expression node {type(node).__name__} ({node})")

    def _number(self, node, out: list, used: set) -> None:
        out.append(f"n{float(node)!r}")

    def _index(self, var) -> int:
        """The variable's column, numbered on first use."""
        idx = self.var_index.get(id(var))
        if idx is None:
            if len(self.variables) == self.n_total:
                raise Unsupported(f"variable {var.name} is not among the model's variables")
            idx = self.var_index[id(var)] = len(self.variables)
            self.variables.append(var)
            self.var_tokens.append(f"v{idx}")
        return idx

    def _variable(self, node, out: list, used: set) -> None:
        """The handler of variables (``emit_all`` and ``_collect`` recognise it and write
        variables inline; written out here so that it is a handler like the others)."""
        idx = self._index(node)
        used.add(idx)
        out.append(f"v{idx}")

    def _named(self, node, out: list, used: set) -> None:
        """A named ``Expression`` is written in place (see the module docstring)."""
        self.emit(node.expr, out, used)

    def split(self, node, used: set) -> tuple[dict, list[str]]:
        """The linear terms of ``node`` (id(variable) -> (variable, coefficient)) and the rest
        in prefix notation (``n0`` if none); ``used`` gets the rest's variables' columns.
        Linear terms get their columns later: a variable that no nonlinear part uses is
        numbered after those that one does (the NL format's order).

        Sums are taken apart through numeric factors, quotients by numbers, negations and
        named expressions (an equation ``(a - b) / v0`` becomes the terms ``a/v0`` and
        ``-b/v0``): ASL then sees each equation as a sum of small nonlinear elements, and
        its set-up of the second derivatives' structure, most of the time it takes to read
        the file, stays small (one element per equation made reading the file three times
        slower at 20 regions x 30 sectors)."""
        linear: dict = {}
        rest: list = []
        self._collect(node, 1.0, linear, rest)
        if not rest:
            return linear, ZERO
        lines: list[str] = []
        if len(rest) > 2:
            lines.extend((f"o{OP_SUMLIST}", str(len(rest))))
        elif len(rest) == 2:
            lines.append(f"o{OP_PLUS}")
        for scale, a in rest:
            if type(a) is float:
                lines.append(f"n{scale * a!r}")
                continue
            if scale != 1.0:
                lines.extend((f"o{OP_MULT}", f"n{scale!r}"))
            self.emit(a, lines, used)
        return linear, lines

    def _collect(self, node, scale: float, linear: dict, rest: list) -> None:
        """Add ``scale * node`` to ``linear`` (its variables outside any nonlinear term) and
        ``rest`` ((factor, node) pairs: numbers and nonlinear terms)."""
        t = type(node)
        if t is float or t is int:
            rest.append((scale, float(node)))
            return
        handler = self.handlers.get(t)
        if handler is None:
            handler = self.handlers[t] = self._handler_for(node)
        if handler is self.variable_handler:
            key = id(node)
            term = linear.get(key)
            linear[key] = (node, scale if term is None else term[1] + scale)
        elif handler is self.named_handler:
            self._collect(node.expr, scale, linear, rest)
        elif handler is self.sum_handler:
            for a in node.args:
                self._collect(a, scale, linear, rest)
        elif t is ne.NegationExpression:
            self._collect(node.args[0], -scale, linear, rest)
        elif isinstance(node, ne.ProductExpression) and type(node.args[0]) in (int, float):
            self._collect(node.args[1], scale * node.args[0], linear, rest)
        elif isinstance(node, ne.DivisionExpression) and type(node.args[1]) in (int, float) \
                and node.args[1] != 0:
            self._collect(node.args[0], scale / node.args[1], linear, rest)
        else:
            rest.append((scale, node))

    def _sum(self, node, out: list, used: set) -> None:
        args = node.args
        if not args:
            out.extend(ZERO)
            return
        if len(args) == 2:
            out.append(f"o{OP_PLUS}")
        elif len(args) > 2:
            out.append(f"o{OP_SUMLIST}")
            out.append(str(len(args)))
        self.emit_all(args, out, used)

    def _binary(self, op: int) -> Callable:
        code = f"o{op}"

        def handler(node, out: list, used: set) -> None:
            out.append(code)
            self.emit_all(node.args, out, used)
        return handler

    def _negation(self, node, out: list, used: set) -> None:
        out.append(f"o{OP_NEG}")
        self.emit_all(node.args, out, used)

    def _unary(self, node, out: list, used: set) -> None:
        op = UNARY_OPS.get(node.getname())
        if op is None:
            raise Unsupported(f"function {node.getname()}")
        out.append(f"o{op}")
        self.emit_all(node.args, out, used)


def _equality_constraints(model) -> list:
    out = []
    for c in model.component_data_objects(Constraint, active=True, descend_into=True):
        if not c.equality:
            raise Unsupported(f"constraint {c.name} is not an equality")
        out.append(c)
    return out


def _check_objective(model) -> None:
    objectives = list(model.component_data_objects(Objective, active=True))
    expr = objectives[0].expr if len(objectives) == 1 else None
    if expr is None or not (isinstance(expr, (int, float)) or expr.is_constant()):
        raise Unsupported("the model needs exactly one constant objective")


def _bound_line(v) -> str:
    lb, ub = v.lb, v.ub
    if lb is not None and ub is not None:
        if lb == ub:
            return f"4 {float(lb)!r}"
        return f"0 {float(lb)!r} {float(ub)!r}"
    if ub is not None:
        return f"1 {float(ub)!r}"
    if lb is not None:
        return f"2 {float(lb)!r}"
    return "3"


def write_nl(model, stream: TextIO, variables: list) -> NLInfo:
    """Write ``model`` (a Pyomo block of equality constraints and one constant objective) as
    an NL file to ``stream``; return the variables and constraints in the file's order.

    ``variables`` are all the variables the equations may use (e.g. ``CGEModel.all_vars``);
    those no equation uses come last, and must be fixed (equal bounds). Fixed variables must
    have been turned into variables with equal bounds by the caller (as
    :class:`cge.solve.ModelNLP` does): a variable is written with its bounds."""
    _check_objective(model)
    constraints = _equality_constraints(model)
    w = _Writer(len(variables))
    collecting = gc.isenabled()
    gc.disable()        # millions of small strings, no cycles: the collector only costs time
    try:
        equations = _write_equations(w, constraints, columns := [], rhs := [])
    finally:
        if collecting:
            gc.enable()
    _append_unused(w, variables)
    _write_header(stream, len(variables), len(constraints), sum(map(len, columns)),
                  w.n_nonlinear)
    stream.write("\n".join(equations) + "\n")
    stream.write("O0 0\nn0.0\n")
    stream.write(f"x{len(w.variables)}\n")
    stream.write("".join(f"{j} {float(0.0 if v.value is None else v.value)!r}\n"
                         for j, v in enumerate(w.variables)))
    stream.write("r\n" + "".join(f"4 {b!r}\n" for b in rhs))
    stream.write("b\n" + "".join(_bound_line(v) + "\n" for v in w.variables))
    _write_columns(stream, columns, len(w.variables))
    return NLInfo(variables=w.variables, constraints=constraints)


def _write_equations(w: _Writer, constraints: list, columns: list, rhs: list) -> list[str]:
    """The C segments, in the order of ``constraints``; fills each equation's Jacobian
    columns with their linear coefficients and its right-hand side (the constraint's bound:
    bodies keep their constants). Variables that enter equations only linearly are numbered
    after all the others."""
    lines: list[str] = []
    pending = []
    for i, c in enumerate(constraints):
        used: set = set()
        linear, body = w.split(c.body, used)
        lines.append(f"C{i}")
        lines.extend(body)
        pending.append((used, linear))
        rhs.append(float(c.lb))
    w.n_nonlinear = len(w.variables)
    for used, linear in pending:
        coefs = {w._index(var): coef for var, coef in linear.values()}
        columns.append([(j, coefs.get(j, 0.0)) for j in sorted(used.union(coefs))])
    return lines


def _append_unused(w: _Writer, variables: list) -> None:
    """The variables no equation uses, after the others; each must be fixed."""
    for v in variables:
        if id(v) not in w.var_index:
            if v.lb is None or v.lb != v.ub:
                raise Unsupported(f"variable {v.name} is free but in no equation")
            w.var_index[id(v)] = len(w.variables)
            w.variables.append(v)


def _write_header(stream: TextIO, n_vars: int, n_cons: int, nnz: int, n_nonlinear: int) -> None:
    """The ten header lines: every equation is nonlinear, the first ``n_nonlinear`` variables
    are nonlinear in constraints, no common expressions."""
    stream.write("\n".join([
        "g3 1 1 0\t# problem cge",
        f" {n_vars} {n_cons} 1 0 {n_cons} 0\t# vars, constraints, objectives, ranges, eqns",
        f" {n_cons} 0\t# nonlinear constraints, objectives",
        " 0 0\t# network constraints: nonlinear, linear",
        f" {n_nonlinear} 0 0\t# nonlinear vars in constraints, objectives, both",
        " 0 0 0 1\t# linear network variables; functions; arith, flags",
        " 0 0 0 0 0\t# discrete variables: binary, integer, nonlinear (b,c,o)",
        f" {nnz} 0\t# nonzeros in Jacobian, gradients",
        " 0 0\t# max name lengths: constraints, variables",
        " 0 0 0 0 0\t# common exprs: b,c,o,c1,o1",
    ]) + "\n")


def _write_columns(stream: TextIO, columns: list, n_vars: int) -> None:
    """The Jacobian's structure: cumulative column lengths (``k``) and, per equation, its
    columns with their linear coefficients (``J``; 0 where a variable enters nonlinearly
    only)."""
    counts = [0] * n_vars
    for cols in columns:
        for j, _ in cols:
            counts[j] += 1
    total, lines = 0, []
    for cnt in counts[:-1]:
        total += cnt
        lines.append(f"{total}\n")
    stream.write(f"k{n_vars - 1}\n" + "".join(lines))
    for i, cols in enumerate(columns):
        stream.write(f"J{i} {len(cols)}\n" + "".join(f"{j} {c!r}\n" for j, c in cols))
