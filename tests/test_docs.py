"""The user documentation says what the code does: README.md, docs/scenarios.md, docs/results.md.

* README.md refers to nothing outside the repository; every path and link it names exists; it
  names every command and option of the command line (and no option that does not exist) and
  the standard scenario set; its examples (the ```python block and the ``python -m cge`` /
  ``cge`` lines of its ```sh blocks) run exactly as written, in a subprocess without
  ``PYOMO_CONFIG_DIR``, in a temporary folder laid out like the repository root (``.venv``
  linked, ``scenarios/`` copied), so whatever they write lands there.
* docs/scenarios.md: every ```toml block parses on the data set its first line names
  (``# data: <name>``: a folder of ``data/`` or ``two_by_two``); a block marked
  ``# file: scenarios/<name>.toml`` has exactly the shocks of that file; every key the parser
  accepts in each table, and every closure and financing value, is documented in that table's
  key table (first column).
* docs/results.md documents exactly the variables, their dimensions and units, the
  coordinates, the EV components and the attributes of the results written by a run (a
  ``Session`` on ``two_by_two``, with and without ``decompose=True``, and the stacked file).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCENARIOS_MD = ROOT / "docs" / "scenarios.md"
RESULTS_MD = ROOT / "docs" / "results.md"

#: Elasticities of the hand-made data set (as in conftest.py).
ELASTICITIES = {"esubd": 2.0, "esubm": 4.0, "esubva": 1.0}


# --------------------------------------------------------------------------------------------
# Markdown helpers
# --------------------------------------------------------------------------------------------
def fenced_blocks(text: str, lang: str) -> list[str]:
    """The contents of every ```lang fenced block, in order."""
    return re.findall(rf"^```{lang}[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)


def sections(text: str) -> list[tuple[str, str]]:
    """(heading line, body up to the next heading of any level) for every heading outside
    fenced blocks."""
    out: list[tuple[str, list[str]]] = []
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and re.match(r"#{1,6} ", line):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return [(head, "\n".join(body)) for head, body in out]


def section(text: str, starts: str) -> str:
    """The body of the one section whose heading text starts with ``starts``."""
    found = [body for head, body in sections(text)
             if head.lstrip("#").strip().startswith(starts)]
    assert len(found) == 1, f"expected one section headed {starts!r}, found {len(found)}"
    return found[0]


def table_rows(body: str) -> dict[str, list[str]]:
    """Rows of the markdown tables in ``body`` whose first cell is one `name`: name -> cells."""
    rows = {}
    for line in body.splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|(.*)\|\s*$", line)
        if m:
            name = m.group(1)
            assert name not in rows, f"{name!r} documented twice"
            rows[name] = [c.strip() for c in re.split(r"(?<!\\)\|", m.group(2))]
    return rows


def backticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", text))


def key_column(body: str) -> set[str]:
    """The names in the first column of the tables in ``body``: `a` / `b`, `c.<x>` -> a, b, c."""
    out = set()
    for line in body.splitlines():
        m = re.match(r"\|([^|]*)\|", line)
        if m:
            for token in backticked(m.group(1)):
                out |= {w.split(".")[0] for w in re.split(r"[\s/,]+", token) if w}
    return out


# --------------------------------------------------------------------------------------------
# README.md
# --------------------------------------------------------------------------------------------
def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_refers_to_nothing_outside_the_repository():
    text = readme()
    outside = [line for line in text.splitlines()
               if "../" in line or re.search(r"(?<![\w.~])/(work|home|tmp|root)/", line)]
    assert not outside, f"README.md refers to files outside the repository: {outside}"


#: Generated or not committed: named by the README, not expected in a fresh clone.
NOT_IN_CLONE = ("reports/", "data/raw/", "cge/_solver/", ".venv/", "build/")


def test_readme_paths_and_links_exist():
    text = readme()
    paths = {t for t in backticked(text)
             if re.fullmatch(r"(cge|data|calibration|scenarios|scripts|tests|docs)/[\w./+-]*", t)}
    paths |= {t for t in backticked(text) if t in ("Makefile", "pyproject.toml")}
    assert len(paths) > 20, "no repository paths found in README.md: extraction broken?"
    missing = sorted(p for p in paths if not p.startswith(NOT_IN_CLONE)
                     and not (ROOT / p).exists())
    assert not missing, f"README.md names paths that do not exist: {missing}"
    anchors = {re.sub(r"[^\w\- ]", "", head.lstrip("#").strip().lower()).replace(" ", "-")
               for head, _ in sections(text)}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith("#"):
            assert target[1:] in anchors, f"README.md links to a missing heading {target}"
        else:
            assert (ROOT / target).exists(), f"README.md links to a missing file {target}"


def test_readme_make_targets_exist():
    text = readme()
    used = {m for t in backticked(text) for m in re.findall(r"^make ([a-z][\w-]*)", t)}
    used |= {m for block in fenced_blocks(text, "sh")
             for m in re.findall(r"^make ([a-z][\w-]*)", block, re.M)}
    assert {"counterfactual", "test"} <= used
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    missing = sorted(used - targets)
    assert not missing, f"README.md names make targets the Makefile lacks: {missing}"


def _options(p) -> set[str]:
    """Every option of parser ``p`` and of its sub-commands, at any depth."""
    out = {s for a in p._actions for s in a.option_strings if s not in ("-h", "--help")}
    for a in p._actions:
        if a.__class__.__name__ == "_SubParsersAction":
            for child in a.choices.values():
                out |= _options(child)
    return out


def test_readme_documents_the_command_line():
    from cge.cli import parser

    text = readme()
    top = parser()
    sub = next(a for a in top._actions if a.__class__.__name__ == "_SubParsersAction")
    cli = section(text, "Command line")
    known = _options(top)
    for name, p in sub.choices.items():
        assert f"`{name}" in cli, f"command {name!r} is not documented in README.md"
        known |= _options(p)
    for opt in known:
        assert opt in cli, f"option {opt} is not documented in README.md's Command line section"
    used = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", cli))
    unknown = sorted(u for u in used if u not in known and u not in ("-m", "-y", "-n"))
    assert not unknown, f"README.md's Command line section names options that do not exist: " \
                        f"{unknown}"


def test_readme_names_the_standard_scenarios():
    from cge.runner import STANDARD_SCENARIOS

    names = backticked(section(readme(), "Scenarios"))
    missing = [n for n in STANDARD_SCENARIOS if n not in names]
    assert not missing, f"standard scenarios missing from README.md: {missing}"


CLI_LINE = re.compile(r"^(\.venv/bin/)?(python -m cge|cge)( |$)")


def readme_examples() -> tuple[list[str], list[str]]:
    """(python blocks, command lines of the sh blocks that call the command line)."""
    text = readme()
    lines = [line.strip() for block in fenced_blocks(text, "sh")
             for line in block.splitlines() if CLI_LINE.match(line.strip())]
    return fenced_blocks(text, "python"), lines


def test_readme_examples_write_where_the_test_can_clean_up():
    """A run without --out writes into the repository's reports/: the examples must not."""
    python, lines = readme_examples()
    assert python and len(lines) >= 3, "README.md examples not found: extraction broken?"
    for line in lines:
        words = line.split("#")[0].split()
        if {"run", "counterfactual", "build-data", "sensitivity"} & set(words):
            assert "--out" in words, f"README example without --out (would write into the " \
                                     f"repository's reports/ or data/): {line}"
            out = words[words.index("--out") + 1]
            assert not Path(out).is_absolute() and ".." not in out, line
    for code in python:
        for call in re.findall(r"run_scenarios\((.*?)\)\n", code, re.S):
            assert "out_dir=" in call, f"run_scenarios without out_dir in README.md: {call}"
        for call in re.findall(r"\bsa\.run\((.*?)\)\n", code, re.S):   # cge.sensitivity
            assert "out_dir=" in call, f"a sensitivity sweep without out_dir in README.md: {call}"


def example_folder(tmp_path) -> dict[str, str]:
    """Lay ``tmp_path`` out like the repository root (the project virtualenv linked, the
    scenario library copied) for examples run as a user would; skip without a virtualenv.
    Returns the environment to run them in (without PYOMO_CONFIG_DIR)."""
    venv = ROOT / ".venv"
    if not (venv / "bin" / "python").exists():
        pytest.skip("no project virtualenv (.venv): run `make setup`")
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    return {k: v for k, v in os.environ.items() if k != "PYOMO_CONFIG_DIR"}


def run_python_example(folder, env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh process of the folder's virtualenv, from that folder."""
    return subprocess.run([str(folder / ".venv" / "bin" / "python"), "-c", code], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=600)


def test_readme_examples_run_as_written(tmp_path):
    """Each example in a fresh process, without PYOMO_CONFIG_DIR, from a folder laid out like
    the repository root; nothing is written into the repository."""
    env = example_folder(tmp_path)
    python, lines = readme_examples()
    for code in python:
        done = run_python_example(tmp_path, env, code)
        assert done.returncode == 0, f"README python example failed:\n{done.stderr[-3000:]}"
    for line in lines:
        done = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"README example {line!r} failed " \
                                     f"(exit {done.returncode}):\n{done.stderr[-3000:]}"
        words = line.split("#")[0].split()
        if "--out" not in words:
            continue
        out = tmp_path / words[words.index("--out") + 1]
        expected = (["default2024/dataset.toml", "wiod_update2024/dataset.toml"]
                    if "build-data" in words else ["counterfactual.nc", "counterfactual.pdf"])
        for name in expected:
            assert (out / name).is_file(), f"{line}: no {name} in {out}"


# --------------------------------------------------------------------------------------------
# docs/scenarios.md
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def data_set(name: str):
    import cge
    from cge.data.examples import two_by_two

    return two_by_two() if name == "two_by_two" else cge.load_data(name)


def sets_of(name: str):
    from cge.scenario import Sets

    return Sets.from_benchmark(data_set(name))


def toml_blocks() -> list[str]:
    return fenced_blocks(SCENARIOS_MD.read_text(encoding="utf-8"), "toml")


def block_data(block: str) -> str:
    m = re.match(r"# data: (\S+)\n", block)
    assert m, f"a ```toml block of docs/scenarios.md does not start with '# data: <name>':\n" \
              f"{block[:200]}"
    return m.group(1)


def test_scenarios_md_every_example_parses():
    import cge

    blocks = toml_blocks()
    assert len(blocks) >= 10, "docs/scenarios.md examples not found: extraction broken?"
    names = set()
    for block in blocks:
        scen = cge.parse_scenario(block, sets_of(block_data(block)),
                                  source=f"docs/scenarios.md block {block[:60]!r}")
        names.add(scen.name)
    assert len(names) == len(blocks), "two examples of docs/scenarios.md share a name"


def _shocks(scen) -> dict:
    """Everything a scenario sets, without where it came from (source, text, hash)."""
    out = {f.name: getattr(scen, f.name) for f in dataclasses.fields(scen)
           if f.name not in ("source", "text", "sha256")}
    out["closure"] = dict(out["closure"])
    return out


def test_scenarios_md_copies_of_library_files_are_exact():
    import cge

    copies = 0
    for block in toml_blocks():
        m = re.search(r"^# file: (scenarios/\S+\.toml)$", block, re.M)
        if not m:
            continue
        copies += 1
        sets = sets_of(block_data(block))
        doc = cge.parse_scenario(block, sets)
        lib = cge.load_scenario(ROOT / m.group(1), sets)
        assert _shocks(doc) == _shocks(lib), f"docs/scenarios.md's copy of {m.group(1)} differs"
    assert copies >= 5


def _valid_keys(toml_text: str) -> list[str]:
    """The keys the parser accepts where ``zz_unknown`` stands (from its error message)."""
    import cge
    from cge.scenario import ScenarioError

    with pytest.raises(ScenarioError) as err:
        cge.parse_scenario(toml_text, sets_of("two_by_two"))
    m = re.search(r"valid keys: (.*)$", err.value.problem)
    assert m, err.value.problem
    return [k.strip() for k in m.group(1).split(",")]


def _table_section(text: str, marker: str) -> str:
    found = [body for head, body in sections(text) if f"`{marker}`" in head]
    assert len(found) == 1, f"docs/scenarios.md: expected one heading with `{marker}`, " \
                            f"found {len(found)}"
    return found[0]


def test_scenarios_md_documents_every_key_and_value():
    from cge.scenario import CLOSURE_OPTIONS, FINANCING, NUMERAIRE_PATTERNS, TABLE_ARRAYS

    text = SCENARIOS_MD.read_text(encoding="utf-8")
    top = _valid_keys('zz_unknown = 1\n')
    assert set(top) >= {"name", *TABLE_ARRAYS}
    documented = key_column(section(text, "Top-level keys"))
    missing = [k for k in top if k not in documented]
    assert not missing, f"docs/scenarios.md, Top-level keys: {missing} not in the key table"
    where = {kind: f"[[{kind}]]" for kind in TABLE_ARRAYS}
    where |= {"closure": "[closure]", "groups": "[groups]"}
    for kind, marker in where.items():
        probe = (f'name = "t"\n[{kind}]\nzz_unknown = 1\n' if kind in ("closure", "groups")
                 else f'name = "t"\n[[{kind}]]\nzz_unknown = 1\n')
        documented = key_column(_table_section(text, marker))
        missing = [k for k in _valid_keys(probe) if k not in documented]
        assert not missing, f"docs/scenarios.md, section {marker}: keys {missing} not in the " \
                            f"key table"
    closure = _table_section(text, "[closure]")
    for key, values in CLOSURE_OPTIONS.items():
        for value in values:
            assert f'`"{value}"`' in closure, f"closure {key} = {value!r} not documented"
    for pattern in NUMERAIRE_PATTERNS:
        assert f'`"{pattern}"`' in closure, f"numeraire {pattern!r} not documented"
    defense = _table_section(text, "[[defense]]")
    for value in FINANCING:
        assert f'`"{value}"`' in defense, f"financing {value!r} not documented"


def _number(x: float) -> str:
    return f"{x:,.0f}" if x >= 1 and float(x).is_integer() else f"{x:g}"


def row_for(body: str, key: str) -> str:
    """The rest of the table row (in ``body``) whose first column names `key`."""
    for line in body.splitlines():
        m = re.match(r"\|([^|]*)\|(.*)$", line)
        if m and key in {w for tok in backticked(m.group(1)) for w in re.split(r"[\s/,]+", tok)}:
            return m.group(2)
    raise AssertionError(f"no table row for `{key}`")


def test_scenarios_md_states_the_limits_of_the_parser():
    """The ranges in the key tables are the parser's (each constant, where the parser has it),
    and so are the composed limits of the checks before solving."""
    import cge.scenario as sc

    text = SCENARIOS_MD.read_text(encoding="utf-8")
    rates = section(text, "Rate shocks")
    checks = section(text, "Checks before solving")
    expect = []
    if hasattr(sc, "MAX_RATE_PERCENT"):
        top = _number(sc.MAX_RATE_PERCENT)
        expect += [(rates, "add", f"(−100, {top}]"), (rates, "set", f"(−100, {top}]"),
                   (checks, None, f"(−100 %, {top} %]")]
    if hasattr(sc, "MAX_RATE_FACTOR"):
        expect.append((rates, "multiply", f"(0, {_number(sc.MAX_RATE_FACTOR)}]"))
    if hasattr(sc, "MAX_DEFENSE_SCALE"):
        expect.append((_table_section(text, "[[defense]]"), "scale",
                       f"(0, {_number(sc.MAX_DEFENSE_SCALE)}]"))
    if hasattr(sc, "FACTOR_SCALE_RANGE"):
        lo, hi = (_number(x) for x in sc.FACTOR_SCALE_RANGE)
        expect += [(_table_section(text, "[[endowment]]"), "scale", f"[{lo}, {hi}]"),
                   (checks, None, f"[{lo}, {hi}]")]
    if hasattr(sc, "MAX_NAME_LENGTH"):
        expect.append((section(text, "Top-level keys"), "name",
                       f"at most {sc.MAX_NAME_LENGTH} characters"))
    for body, key, phrase in expect:
        where = row_for(body, key) if key else body
        assert phrase in where, f"docs/scenarios.md: {phrase!r} missing " \
                                f"({f'row `{key}`' if key else 'Checks before solving'})"


# --------------------------------------------------------------------------------------------
# docs/results.md
# --------------------------------------------------------------------------------------------
TARIFF = ('name = "doc_tariff"\n[[tariff]]\nimporter = "HOME"\nexporter = "FOREIGN"\n'
          'commodities = "all"\nadd = 20\n')


@pytest.fixture(scope="module")
def two_by_two_results():
    import cge

    session = cge.Session(data_set("two_by_two"), ELASTICITIES)
    plain = session.run(toml=TARIFF)
    decomposed = session.run(toml=TARIFF.replace("doc_tariff", "doc_tariff_d"), decompose=True)
    return plain, decomposed


def _units_ok(doc: str, units: str, data_unit: str) -> bool:
    if units == "%":
        return doc == "%"
    if units == data_unit:
        return doc.startswith("data unit")
    if units == "fraction":                     # rates: 0.1 is 10 %
        return doc == "fraction"
    return units == "" and doc in ("index", "elasticity")


def test_results_md_documents_exactly_the_results(two_by_two_results, tmp_path):
    import xarray as xr

    import cge

    plain, decomposed = two_by_two_results
    text = RESULTS_MD.read_text(encoding="utf-8")
    variables = table_rows(section(text, "Variables"))
    optional = {n for n, cells in variables.items() if "decompose=True" in cells[-1]}
    assert optional, "docs/results.md marks no variable as present with decompose=True only"
    data_unit = plain.attrs["unit"]
    stack = cge.compare([plain, decomposed])
    cge.write_netcdf(decomposed, tmp_path / "results" / "d.nc")
    cge.write_netcdf(stack, tmp_path / "counterfactual.nc")
    with xr.open_dataset(tmp_path / "results" / "d.nc") as on_disk:
        file_vars, file_attrs = set(on_disk.data_vars), set(on_disk.attrs)
    with xr.open_dataset(tmp_path / "counterfactual.nc") as on_disk:
        stack_vars, stack_attrs = set(on_disk.data_vars), set(on_disk.attrs)

    for res, expected in ((plain, set(variables) - optional), (decomposed, set(variables))):
        extra = sorted(set(res.data_vars) - expected)
        gone = sorted(expected - set(res.data_vars))
        assert not extra, f"results variables not documented in docs/results.md: {extra}"
        assert not gone, f"docs/results.md documents variables the results lack: {gone}"
    assert file_vars == stack_vars == set(variables)
    for name, cells in variables.items():
        dims = tuple(d.strip() for d in cells[0].replace("`", "").split(","))
        assert decomposed[name].dims == dims, f"{name}: dimensions {decomposed[name].dims}, " \
                                              f"documented {dims}"
        assert stack[name].dims == ("scenario", *dims), name
        assert stack[name].attrs == decomposed[name].attrs, f"{name}: attributes lost in stack"
        units = str(decomposed[name].attrs.get("units", ""))
        assert _units_ok(cells[1], units, data_unit), \
            f"{name}: units {units!r} in the results, documented {cells[1]!r}"

    coords = table_rows(section(text, "Coordinates"))
    record = set(table_rows(section(text, "Attributes of a scenario file"))) - {"scenario"}
    assert record <= set(stack.coords), "a scenario attribute is not a coordinate of the stack"
    assert all(stack[k].dims == ("scenario",) for k in record)
    assert set(decomposed.coords) | (set(stack.coords) - record) == set(coords), \
        f"coordinates {sorted(set(stack.coords) - record)}, documented {sorted(coords)}"
    components = table_rows(section(text, "The EV decomposition"))
    assert list(components) == [str(c) for c in decomposed.component.values]

    attrs = table_rows(section(text, "Attributes of a scenario file"))
    assert set(plain.attrs) == set(decomposed.attrs) == file_attrs == set(attrs), \
        f"attributes {sorted(plain.attrs)}, documented {sorted(attrs)}"
    stacked = table_rows(section(text, "The stacked file"))
    assert set(stack.attrs) == stack_attrs == set(stacked), \
        f"stacked attributes {sorted(stack.attrs)}, documented {sorted(stacked)}"
    assert stack.attrs["data_set"] == plain.attrs["data_set"] == "two_by_two"

