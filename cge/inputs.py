"""What every input-file parser shares (scenario files, sensitivity specifications): the error
that names the file and the field, and the pieces of a helpful message.

``str(InputFileError)`` is ``"<source>: <field>: <problem>"``; :func:`suggest` adds "did you
mean ...?" for a near miss, :func:`show` keeps a pasted megabyte out of a message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["InputFileError", "fmt_list", "show", "suggest", "type_name"]


class InputFileError(ValueError):
    """A problem at one place of an input file (scenario, sensitivity specification).
    ``str(err)`` is ``"<source>: <field>: <problem>"``.

    Attributes: ``source`` (file path or ``"<string>"``), ``field`` (TOML path such as
    ``tariff[2].importer``, or ``None`` for file-level problems), ``problem`` (the explanation).
    """

    def __init__(self, source: str, field: str | None, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


def fmt_list(items: Iterable[str], limit: int = 400) -> str:
    """The items joined by commas, the first ``limit`` of them and a count after that."""
    items = list(items)
    text = ", ".join(items)
    if len(items) > limit:
        text = ", ".join(items[:limit]) + f", ... ({len(items)} in all)"
    return text


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the candidate that differs from ``word`` in case only or
    is close to it (difflib ratio >= 0.75); ``""`` when none is."""
    cands = list(candidates)
    lower = {c.lower(): c for c in cands}
    if word.lower() in lower and lower[word.lower()] != word:
        return f" (did you mean {lower[word.lower()]!r}?)"
    close = difflib.get_close_matches(word, cands, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a pasted megabyte stays out of messages)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def type_name(value: Any) -> str:
    """The TOML name of a value's type: boolean, integer, float, string, array, table."""
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)
