"""docs/strategy.md says what the strategy code does: every ```python block runs as written, in
a fresh process from a temporary folder laid out like the repository root (``.venv`` linked,
``scenarios/`` copied, without ``PYOMO_CONFIG_DIR``), so whatever it writes lands there; every
``cge strategy ...`` line of its ```sh blocks parses with the command line's parser, every
option spelled in full."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from test_docs import _options, example_folder, fenced_blocks, run_python_example

ROOT = Path(__file__).resolve().parents[1]
STRATEGY_MD = ROOT / "docs" / "strategy.md"


def _text() -> str:
    return STRATEGY_MD.read_text(encoding="utf-8")


def strategy_commands() -> list[str]:
    """The ``cge strategy ...`` lines of the ```sh blocks (``python -m cge`` too)."""
    out = []
    for block in fenced_blocks(_text(), "sh"):
        for line in block.splitlines():
            words = shlex.split(line.split(" #")[0])
            if words[:1] == ["cge"] and words[1:2] == ["strategy"]:
                out.append(line.strip())
            elif words[:3] == ["python", "-m", "cge"] and words[3:4] == ["strategy"]:
                out.append(line.strip())
    return out


def test_strategy_md_commands_parse():
    from cge.cli import parser

    lines = strategy_commands()
    games = {shlex.split(line)[line.split().index("strategy") + 1] for line in lines}
    assert games >= {"optimal", "nash", "equivalent", "frontier"}, \
        f"docs/strategy.md lacks a command line example for some game: {sorted(games)}"
    for line in lines:
        words = shlex.split(line)
        args = words[words.index("strategy"):]
        try:
            ns = parser().parse_args(args)
        except SystemExit as exc:
            raise AssertionError(f"docs/strategy.md command does not parse: {line}") from exc
        assert ns.command == "strategy", line
        # argparse accepts abbreviations (--for-regio): the doc must spell options in full
        spelled = {w.split("=")[0] for w in args if w.startswith("--")}
        unknown = sorted(spelled - _options(parser()))
        assert not unknown, f"docs/strategy.md command abbreviates or misspells {unknown}: {line}"


@pytest.mark.slow
def test_strategy_md_python_examples_run_as_written(tmp_path):
    env = example_folder(tmp_path)
    blocks = fenced_blocks(_text(), "python")
    assert len(blocks) >= 5, "docs/strategy.md examples not found: extraction broken?"
    for code in blocks:
        done = run_python_example(tmp_path, env, code)
        assert done.returncode == 0, (f"docs/strategy.md python example failed:\n{code}\n"
                                      f"{done.stderr[-3000:]}")
