"""The package's modules talk through public names: no module imports another's private
(underscore) names, so what a module offers is what it declares."""

from __future__ import annotations

import ast
from pathlib import Path

import cge

PACKAGE = Path(cge.__file__).resolve().parent


def private_imports(root: Path = PACKAGE) -> list[str]:
    """``file:line: from module import _name`` for every private name a module of the package
    imports from another module of it."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cge"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{path.relative_to(root.parent)}:{node.lineno}: from "
                                     f"{node.module} import {alias.name}")
    return found


def test_no_private_names_imported_across_modules():
    assert private_imports() == []


def test_the_check_sees_a_private_import(tmp_path):
    pkg = tmp_path / "cge"
    pkg.mkdir()
    (pkg / "a.py").write_text("from cge.b import _helper, public\n", encoding="utf-8")
    assert private_imports(pkg) == ["cge/a.py:1: from cge.b import _helper"]


def test_every_institutions_closure_is_named_and_says_what_is_fixed():
    """The institutions closures are chosen by the names ``ModelOptions`` accepts, each offers
    the same rules and its docstring says what is fixed and what adjusts."""
    from cge.closures import INSTITUTIONS
    from cge.options import INSTITUTIONS as NAMES

    assert sorted(INSTITUTIONS) == sorted(NAMES)
    rules = {"budget", "budget0", "saving", "household_spending", "government_spending"}
    for name, closure in INSTITUTIONS.items():
        assert closure.name == name
        assert rules <= set(vars(closure)), f"{name} lacks {rules - set(vars(closure))}"
        assert "**Fixed**" in closure.__doc__ and "**Adjusts**" in closure.__doc__, name


def test_spending_rules_do_not_branch_on_the_institutions():
    """Demand, income and the context read the institutions' rules from ``cge.closures``; they
    do not test the option themselves."""
    for module in ("blocks/demand.py", "blocks/income.py", "blocks/context.py"):
        text = (PACKAGE / module).read_text(encoding="utf-8")
        assert "options.institutions" not in text, module
