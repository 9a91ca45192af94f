"""Number formatting for the report, as economists print tables.

* changes carry an explicit sign: ``+0.42``, ``-1.07``; a value that rounds to zero prints
  unsigned (``0.00``); a missing value prints as an en dash. The minus is the plain
  hyphen-minus, not the typographic U+2212: a number copied out of the PDF must arrive in a
  spreadsheet as a number;
* percentage changes have 2 decimals; money in US$ bn has 1 decimal (US$ million: 1 or 2);
* money is reported in one unit for the whole report (:class:`MoneyUnit`), chosen from the data
  unit and the size of the headline values, and named with the data year in every header.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

#: The sign of a negative number as printed (hyphen-minus: copied numbers stay numbers).
MINUS = "-"
MISSING = "\u2013"
PCT_DECIMALS = 2


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def signed(x: float | None, decimals: int = PCT_DECIMALS) -> str:
    """A change with its sign: ``+1.23`` / ``-1.23``; ``0.00`` when it rounds to zero."""
    if _is_missing(x):
        return MISSING
    x = float(x)
    text = f"{x:+.{decimals}f}"
    if float(text) == 0.0:
        return f"{0.0:.{decimals}f}"
    return text.replace("-", MINUS)


def level(x: float | None, decimals: int = 1) -> str:
    """A level with thousands separators: ``15,203.4``, ``-3.0``."""
    if _is_missing(x):
        return MISSING
    text = f"{float(x):,.{decimals}f}"
    if float(text.replace(",", "")) == 0.0:
        return f"{0.0:.{decimals}f}"
    return text.replace("-", MINUS)


def pct(x: float | None) -> str:
    """A percentage change (2 decimals, signed), without the % sign (it is in the header)."""
    return signed(x, PCT_DECIMALS)


def sci(x: float | None, digits: int = 1) -> str:
    """Scientific notation for diagnostics: ``9.6e-12``."""
    if _is_missing(x):
        return MISSING
    if float(x) == 0.0:
        return "0"
    return f"{float(x):.{digits}e}".replace("-", MINUS).replace("e+", "e")


@dataclass(frozen=True)
class MoneyUnit:
    """How money is printed: ``value_in_data_unit * scale`` with ``decimals`` in ``label``."""

    scale: float
    label: str
    decimals: int

    def change(self, x: float | None) -> str:
        """A signed money change, e.g. ``+12.3``."""
        return MISSING if _is_missing(x) else signed(float(x) * self.scale, self.decimals)

    def level(self, x: float | None) -> str:
        """A money level, e.g. ``15,203.4``."""
        return MISSING if _is_missing(x) else level(float(x) * self.scale, self.decimals)


def choose_money_unit(values: Iterable[float], unit: str = "US$ million",
                      year: int | str | None = None) -> MoneyUnit:
    """One money unit for the report.

    For a data unit of "<currency> million": US$ bn with 1 decimal when the largest headline
    value is at least 1 bn; otherwise the data unit itself, with 1 decimal (≥ 100) or 2 (small
    hand-made examples). Other data units are printed as they are, with 1 decimal.
    """
    finite = [abs(float(v)) for v in values if not _is_missing(v) and math.isfinite(float(v))]
    biggest = max(finite, default=0.0)
    unit = str(unit or "").strip() or "data units"
    suffix = f" of {year}" if year not in (None, "") else ""
    if unit.endswith(" million"):
        currency = unit[: -len(" million")]
        if biggest >= 1000.0:
            return MoneyUnit(1e-3, f"{currency} bn{suffix}", 1)
        return MoneyUnit(1.0, f"{unit}{suffix}", 1 if biggest >= 100.0 else 2)
    return MoneyUnit(1.0, f"{unit}{suffix}", 1)


#: Zero-width space: where a long identifier may break in the PDF (the exports remove it).
ZWSP = "\u200b"


def breakable(name: str) -> str:
    """A long identifier that may break after its underscores (a zero-width space after each;
    the exports remove it)."""
    return name.replace("_", "_" + ZWSP)
