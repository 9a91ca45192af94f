"""Scenario files: a plain TOML file -> a validated, fully resolved set of shocks.

Economists write a scenario as a TOML file (copy an example from ``scenarios/`` and edit it).
:func:`load_scenario` / :func:`parse_scenario` check it against the sets of a benchmark data set
(:class:`Sets`) and return a frozen :class:`Scenario` in which every region, commodity and factor
reference is resolved to a tuple of set members and every percentage is converted to a fraction.

Any problem with the input -- malformed TOML, an unknown key, an unknown region, a wrong type, a
missing or contradictory field, a rate of -100 % or less, an unknown closure -- raises exactly one
exception type, :class:`ScenarioError` (a ``ValueError``). Its message names the file, the field
as a TOML path (``tariff[2].importer``) and the allowed values or names. Indices in field paths
are **1-based** and count the tables of one kind in file order: ``tariff[2]`` is the second
``[[tariff]]`` table; ``tariff[2].exporter[3]`` is the third element of its ``exporter`` list.

File format
-----------
::

    name = "us_jpn_reciprocal"        # required, [a-z0-9_]+, at most 100 characters
    description = "US 24% reciprocal tariff on Japan, 25% on autos"   # optional text

    [groups]                           # optional, scenario-local groups
    regions.partners = ["JPN", "EU", "KOR"]
    commodities.autos = ["motor_vehicles"]
    commodities.goods_ex_autos = ["agri_food", "energy", "chemicals", "metals",
                                  "electronics", "machinery", "other_mfg"]

    [closure]                          # optional; only the keys set here are recorded
    factor_market = "mobile"
    numeraire = "world_factor_price"

    [[tariff]]                         # import tariff (instrument "tm"), importer's revenue
    importer = "USA"
    exporter = "JPN"                   # a name, a group, or a list of names/groups
    commodities = "goods_ex_autos"
    add = 24.0                         # percentage points; or set = 15.0 (%); multiply = 2.0
                                       # (x rate); power = 1.1 (x (1 + rate), GTAP's tms)

    [[tariff]]
    importer = "USA"
    exporter = "JPN"
    commodities = "autos"
    add = 25.0

    [[export_tax]]    # instrument "tx": exporter, importer, commodities, add|set|multiply|power
    [[trade_cost]]    # iceberg ad-valorem equivalent: same keys as tariff, add/set in percent
    [[output_tax]]    # instrument "to": region, commodities, add | set | multiply | power

    [[transfer]]                       # an international transfer, payer -> recipient
    payer = "JPN"
    recipient = "USA"
    share_of_payer_gdp = 0.1           # percent of the payer's GDP; or amount = 4000.0 (data unit)
    between = "governments"            # default; or "households" (a private transfer)

    [[capital_flow]]                   # saving of the payer invested in the recipient
    payer = "JPN"
    recipient = "USA"
    amount = 157143.0                  # data unit per year; or share_of_payer_gdp (percent)

    [[foreign_saving]]                 # one region's foreign saving (capital inflow, the
    region = "JPN"                     #   current-account deficit), others take the other side
    change = -40000.0                  # data unit per year, added; or level = -150000.0
    offset = "USA"                     # whose foreign saving moves the opposite way (a region,
                                       #   group or list); "all" (default): every other region,
                                       #   in proportion to its benchmark income

    [[defense]]                        # real government defense purchases
    region = "JPN"
    scale = 1.5                        # x 1.5; or share_of_gdp = 2.0 (percent of GDP), or
                                       #   rule = "budget_share" (benchmark share of the budget)
    from_region = "USA"                # optional, with from_share: the percent of the
    from_share = 30.0                  #   increase bought directly from USA's producers (FMS)
    financing = "consumption_tax"      # or "lump_sum" (default), "output_tax", "direct_tax",
                                       #   "spending_cut" (civil government pays)

    [[stationing]]                     # purchases by the buyer's government in the host
    buyer = "USA"                      #   economy for its forces stationed there
    host = "JPN"
    scale = 0.5                        # x the purchases in the data (default 1; 0.5: half
                                       #   the forces), and/or
    amount = 1000.0                    # data unit per year (e.g. US$ million) added (< 0: a
                                       #   cut); the result must stay >= 0
    paid_by = "host"                   # "buyer" (default) or "host": the host pays the whole
                                       #   bill, a transfer between governments

    [[endowment]]                      # factor endowment x scale
    region = "JPN"
    factor = "labour"
    scale = 1.1

    [[productivity]]                   # factor-augmenting productivity x scale
    regions = "all"
    factors = ["labour", "capital"]
    scale = 1.02

Keys and values
~~~~~~~~~~~~~~~
* Synonyms: ``importer``/``importers``, ``exporter``/``exporters``, ``region``/``regions``,
  ``factor``/``factors``, ``commodity``/``commodities`` -- singular or plural, not both.
* A region/commodity/factor field takes a string (a name or a group) or a list of strings; it
  resolves to a tuple of unique names in the data set's order. Built-in groups: ``"all"`` (all
  members) and ``"all_but:X"`` (every member except ``X``, which must be a valid name) for
  regions, commodities and factors. Groups may also come from the data set
  (:meth:`Sets.from_benchmark`) or from the file's ``[groups]`` table (``regions.<name>``,
  ``commodities.<name>``, ``factors.<name>``), whose members may use names, built-in groups,
  data-set groups and scenario groups defined earlier in the file. A scenario group must not
  reuse a set member's or an existing group's name.
* Numbers must be finite TOML integers or floats (booleans, NaN and inf are rejected).
* Rates (tariff, export_tax, trade_cost, output_tax), exactly one of

  - ``add``: percentage points added to the benchmark rate (``add = 10`` -> +0.10); in
    (-100, 100 000];
  - ``set``: the new rate in percent (``set = 15`` -> 0.15); in (-100, 100 000], so that
    1 + rate > 0;
  - ``multiply``: a factor on the benchmark rate, in (0, 1000] (a zero benchmark rate stays
    zero -- use ``set = 0`` to remove a rate);
  - ``power``: a factor on the power of the rate, 1 + rate, in (0, 1000] -- GTAP's shock to
    ``tms`` / ``txs`` (``power = 1.10`` -> 1 + rate rises by 10 %: a 5 % tariff becomes
    15.5 %).

  Why 100 000 % (:data:`MAX_RATE_PERCENT`): a rate of 1000 multiplies the price by 1001. Any
  rate above a few hundred percent is already prohibitive in an Armington model (the flow all
  but vanishes; the highest tariffs in force are a few hundred percent, embargo-like trade
  costs are modelled with ``add = 10000``), so a larger number is a typing error, not a policy.
  Whether the *composed* rate (benchmark rate + every shock on the cell) stays in
  (-100 %, 100 000 %] needs the benchmark rates, so that final check is done by the model
  (:func:`cge.shocks.apply_scenario`), not here.
  Bilateral shocks cover every (commodity, exporter, importer) with exporter != importer
  (:meth:`RateShock.cells`). ``own_region = true`` (tariff, export_tax, trade_cost) adds each
  importer's trade with itself where the data set keeps it on a route of its own (a GTAP
  composite region such as EU_28 or ROW: intra-EU trade; ``load_data(..., intra_region=)``):
  ``exporter = "all"``, ``importer = "all"``, ``own_region = true`` is GTAP's shock to every
  ``tms``. Where a region's own trade is domestic (the shipped data sets), there is no such
  route and the cell is skipped, as any cell without trade is.
* Transfers: ``payer`` != ``recipient`` (single region names) and exactly one of ``amount``
  (>= 0, the data set's currency unit, e.g. US$ million) or ``share_of_payer_gdp`` (percent of
  the payer's benchmark GDP, strictly between 0 and 100; 0.1 -> 0.001). Together, the
  transfers a region pays (and the stationing costs it pays as host) must stay below its
  benchmark income, and every region must keep positive private consumption at benchmark
  prices: checked by the model (:func:`cge.shocks.apply_scenario`), which knows the incomes.
  ``between`` is ``"governments"`` (default: host-nation support, cost-sharing; paid from and to
  government budgets, and with separate institutions financed by the payer's financing rule)
  or ``"households"`` (a private transfer, into household income). Under the regional
  household both enter regional income.
* Foreign saving: ``region`` (a single region), exactly one of ``change`` (added to its
  foreign saving, data unit per year, any finite number) or ``level`` (its foreign saving
  itself; negative = a current-account surplus) and ``offset``: the regions whose foreign
  saving moves the opposite way, so that world foreign saving still sums to zero (the
  region's deficit is the others' surplus). ``offset`` takes a name, a group or a list; the
  literal ``"all"`` (the default) means every *other* region; any other value must not
  include ``region``. The change is split among the offset regions in proportion to their
  benchmark income ``inc0`` (checked by the model, which also requires investment to stay
  positive at benchmark prices in every region touched).
* Defense: ``region`` (or ``regions``: one shock per region) and exactly one of ``scale``
  (in (0, 1000], multiplies real defense purchases), ``share_of_gdp`` (percent of GDP, in
  (0, 100): a real level, that share of benchmark GDP at benchmark prices) or
  ``rule = "budget_share"`` (defense keeps its benchmark share of the ordinary budget, so it
  moves with income). Without a defense shock a
  region's real defense purchases stay at the benchmark level. A region may have at most one
  defense shock. ``financing`` says who pays the extra outlays (``cge.blocks.financing``).
  The model refuses a defense level that would leave no private consumption (or, with
  separate institutions, no civil government purchases) at benchmark prices.
* Endowment / productivity: ``region(s)``, ``factor(s)`` and ``scale`` in [0.001, 1000]
  (:data:`FACTOR_SCALE_RANGE`; several shocks on one cell multiply, and the product must stay
  in that range too). Why: a factor a thousand times scarcer or more abundant (or productive)
  than in the benchmark describes a different economy, about which the calibrated shares say
  nothing; measured on the default data, labour x 0.001 in one region no longer solves while
  x 1000 still does (189 Ipopt iterations), and x 1e200 overflows double precision inside the
  equations. A scale of 0 or below would remove or negate the factor: no equilibrium.

Several shocks on the same cell compose in file order: ``add`` accumulates, ``set`` overrides
what came before, ``multiply``/``scale`` multiply. Transfers between the same pair add up;
capital flows and foreign-saving ``change`` tables add up (applied after the capital flows);
a foreign-saving ``level`` sets the region's foreign saving as it stands at that point.

Closure (``[closure]``), keys and allowed values are in :data:`CLOSURE_OPTIONS`; ``numeraire``
also accepts ``"factor_price:<factor>:<region>"`` and ``"cpi:<region>"``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cge.inputs import InputFileError, fmt_list, show, suggest, type_name
from cge.options import OptionsError

__all__ = [
    "CLOSURE_OPTIONS",
    "ClosureError",
    "INSTRUMENTS",
    "DefenseShock",
    "FactorShock",
    "ForeignSaving",
    "InputFileError",
    "RateShock",
    "Scenario",
    "ScenarioError",
    "ScenarioParser",
    "Sets",
    "Stationing",
    "Transfer",
    "load_scenario",
    "parse_scenario",
]

#: Closure keys and their allowed values. ``numeraire`` additionally accepts the patterns in
#: :data:`NUMERAIRE_PATTERNS`.
CLOSURE_OPTIONS: dict[str, tuple[str, ...]] = {
    "factor_market": ("mobile", "sector_specific_capital", "unemployment"),
    "external": ("fixed_current_account", "global_bank"),
    "institutions": ("regional_household", "separate"),
    "transformation": ("none", "cet"),
    "numeraire": ("world_factor_price",),
}
#: Parametrised numeraire forms, validated against the sets.
NUMERAIRE_PATTERNS: tuple[str, ...] = ("factor_price:<factor>:<region>", "cpi:<region>")

#: TOML array-of-tables name -> model instrument for rate shocks.
INSTRUMENTS: dict[str, str] = {
    "tariff": "tm",
    "export_tax": "tx",
    "trade_cost": "trade_cost",
    "output_tax": "to",
}
FACTOR_KINDS: tuple[str, ...] = ("endowment", "productivity")
#: How a defense change is financed (``[[defense]] financing``).
FINANCING: tuple[str, ...] = ("lump_sum", "consumption_tax", "output_tax", "direct_tax",
                              "spending_cut")
#: Who pays and receives a ``[[transfer]]`` (``between``).
TRANSFER_PARTIES: tuple[str, ...] = ("governments", "households")
#: Defense rules other than a target (``[[defense]] rule``).
DEFENSE_RULES: tuple[str, ...] = ("budget_share",)
TABLE_ARRAYS: tuple[str, ...] = (*INSTRUMENTS, "transfer", "capital_flow", "foreign_saving",
                                 "defense", "stationing", *FACTOR_KINDS)
TOP_LEVEL_KEYS: tuple[str, ...] = ("name", "description", "groups", "closure", *TABLE_ARRAYS)
GROUP_KINDS: tuple[str, ...] = ("regions", "commodities", "factors")

#: Rates (add / set) in percent: at most this (see the module docstring); multiply: at most
#: :data:`MAX_RATE_FACTOR`.
MAX_RATE_PERCENT = 100_000.0
MAX_RATE_FACTOR = 1000.0
#: Allowed range of an endowment or productivity scale, alone and composed.
FACTOR_SCALE_RANGE: tuple[float, float] = (1e-3, 1e3)
#: Largest factor a ``[[stationing]]`` table may put on the purchases in the data.
MAX_STATIONING_SCALE = 100.0
#: Largest multiple of real defense purchases (the model also checks the budget).
MAX_DEFENSE_SCALE = 1000.0
#: Longest scenario name (it becomes a file name, ``reports/results/<name>.nc``) and longest
#: group name.
MAX_NAME_LENGTH = 100

_NAME_RE = re.compile(r"[a-z0-9_]+")
_GROUP_NAME_RE = re.compile(r"[A-Za-z0-9_\-]+")
_ALL = "all"
_ALL_BUT = "all_but:"


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
class ScenarioError(InputFileError):
    """Any problem with a scenario file (:class:`InputFileError`)."""


class ClosureError(ScenarioError, OptionsError):
    """A scenario's ``[closure]`` that cannot be combined with the model options (for example
    ``institutions = "separate"`` with ``external = "global_bank"``). Both a
    :class:`ScenarioError` (it names the file and the field) and an
    :class:`~cge.options.OptionsError`."""


# --------------------------------------------------------------------------------------------
# Sets
# --------------------------------------------------------------------------------------------
def _freeze_groups(groups: Mapping[str, Iterable[str]] | None) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({str(k): tuple(str(m) for m in v) for k, v in (groups or {}).items()})


@dataclass(frozen=True)
class Sets:
    """The names a scenario may refer to, in the data set's order, plus data-set defined groups.

    Group mappings are ``group name -> member names``; members must be set names. Invalid sets
    (duplicates, empty sets, groups that shadow a name or list unknown members) raise
    ``ValueError`` at construction -- a programming/data error, not a scenario error.
    """

    regions: tuple[str, ...]
    commodities: tuple[str, ...]
    factors: tuple[str, ...]
    region_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    commodity_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for attr, groups_attr in (("regions", "region_groups"),
                                  ("commodities", "commodity_groups"), ("factors", None)):
            names = tuple(str(n) for n in getattr(self, attr))
            object.__setattr__(self, attr, names)
            if not names:
                raise ValueError(f"Sets.{attr} is empty")
            if len(set(names)) != len(names):
                raise ValueError(f"Sets.{attr} has duplicate names: {names}")
            if groups_attr is None:
                continue
            groups = _freeze_groups(getattr(self, groups_attr))
            object.__setattr__(self, groups_attr, groups)
            for g, members in groups.items():
                if g in names or g == _ALL or g.startswith(_ALL_BUT):
                    raise ValueError(f"Sets.{groups_attr}: group {g!r} shadows a name/built-in")
                bad = [m for m in members if m not in names]
                if bad or not members:
                    raise ValueError(f"Sets.{groups_attr}[{g!r}]: unknown or no members {bad}")

    @classmethod
    def from_benchmark(cls, ds: Any) -> Sets:
        """Sets of an xarray benchmark Dataset (coords ``region``, ``commodity``, ``factor``).

        Groups come from ``ds.attrs["groups"]`` if present: a dict (or its JSON text, since
        netCDF attributes cannot hold dicts) ``{"regions": {name: [...]}, "commodities":
        {name: [...]}}``; otherwise there are no data-set groups.
        """
        groups = ds.attrs.get("groups") or {}
        if isinstance(groups, (str, bytes)):
            groups = json.loads(groups)
        if not isinstance(groups, Mapping):
            raise ValueError(f"benchmark attrs['groups'] must be a dict, got {type(groups)}")
        return cls(
            regions=tuple(str(x) for x in ds.coords["region"].values),
            commodities=tuple(str(x) for x in ds.coords["commodity"].values),
            factors=tuple(str(x) for x in ds.coords["factor"].values),
            region_groups=groups.get("regions", {}),
            commodity_groups=groups.get("commodities", {}),
        )

    def names(self, kind: str) -> tuple[str, ...]:
        """Members of ``kind`` (``"regions"``, ``"commodities"`` or ``"factors"``)."""
        return getattr(self, kind)

    def groups(self, kind: str) -> Mapping[str, tuple[str, ...]]:
        """Data-set groups of ``kind`` (factors have none)."""
        if kind == "regions":
            return self.region_groups
        if kind == "commodities":
            return self.commodity_groups
        return MappingProxyType({})


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateShock:
    """A shock to an ad-valorem rate.

    ``instrument``: ``"tm"`` import tariff, ``"tx"`` export tax, ``"trade_cost"`` ad-valorem
    equivalent of an iceberg trade cost, ``"to"`` output tax. For ``"to"``, ``exporters`` are the
    producing regions and ``importers`` is ``()``. ``mode``: ``"add"`` (``value`` = change in the
    rate as a fraction: 10 pp -> 0.10), ``"set"`` (``value`` = the new rate as a fraction) or
    ``"multiply"`` (``value`` = factor on the benchmark rate, > 0) or ``"power"`` (``value`` =
    factor on 1 + rate, > 0). ``own_region``: the cells include each importer's trade with
    itself (a composite region's own import route, where the data set has one).
    """

    instrument: str
    commodities: tuple[str, ...]
    exporters: tuple[str, ...]
    importers: tuple[str, ...]
    mode: str
    value: float
    where: str
    own_region: bool = False

    @property
    def bilateral(self) -> bool:
        """True for tm, tx and trade_cost (indexed commodity x exporter x importer)."""
        return self.instrument != "to"

    def cells(self) -> tuple[tuple[str, ...], ...]:
        """The cells shocked: ``(commodity, exporter, importer)`` with exporter != importer
        (or also exporter == importer with ``own_region``) for bilateral instruments,
        ``(commodity, region)`` for the output tax."""
        if not self.bilateral:
            return tuple((c, r) for c in self.commodities for r in self.exporters)
        return tuple((c, s, d) for c in self.commodities for s in self.exporters
                     for d in self.importers if s != d or self.own_region)


@dataclass(frozen=True)
class Transfer:
    """An international transfer from ``payer`` to ``recipient``: exactly one of ``amount`` (the
    data set's currency unit, e.g. US$ million, >= 0) or ``share_of_payer_gdp`` (a fraction of
    the payer's GDP: TOML 0.1 % -> 0.001) is set. ``between``: ``"governments"`` (default) or
    ``"households"``."""

    payer: str
    recipient: str
    amount: float | None
    share_of_payer_gdp: float | None
    where: str
    between: str = "governments"


@dataclass(frozen=True)
class CapitalFlow:
    """Saving of ``payer`` invested in ``recipient`` (an investment pledge, a capital flow):
    exactly one of ``amount`` (data unit per year, >= 0) or ``share_of_payer_gdp`` (a
    fraction) is set. The payer's foreign saving falls and the recipient's rises by the amount
    (numeraire units), so investment moves from the payer to the recipient and each current
    account moves by the amount; no income changes hands (unlike a transfer), and the static
    model counts no return on the investment."""

    payer: str
    recipient: str
    amount: float | None
    share_of_payer_gdp: float | None
    where: str


@dataclass(frozen=True)
class ForeignSaving:
    """Foreign saving of ``region`` (its capital inflow, the current-account deficit, data unit
    per year, numeraire-valued): exactly one of ``change`` (added) or ``level`` (the new
    value) is set. ``offset``: the regions whose foreign saving moves by the opposite amount,
    split in proportion to their benchmark income, so world foreign saving still sums to zero;
    never contains ``region``."""

    region: str
    change: float | None
    level: float | None
    offset: tuple[str, ...]
    where: str


@dataclass(frozen=True)
class DefenseShock:
    """Defense purchases of ``region``: ``mode="scale"`` multiplies real defense purchases by
    ``value``; ``mode="share_of_gdp"`` targets ``value`` (a fraction: TOML 2 % -> 0.02) of GDP: real
    purchases of that share of benchmark GDP at benchmark prices.

    ``from_region`` / ``from_share``: the share (a fraction: TOML 30 % -> 0.3) of the *increase*
    bought directly from ``from_region``'s producers (e.g. US Foreign Military Sales) instead of
    through the Armington defense bundle.

    ``mode="budget_share"``: defense keeps its benchmark share of the ordinary budget
    (``value`` unused).

    ``financing`` of the extra outlays: ``"lump_sum"`` (default: out of private consumption),
    a tax surcharge on a named base (``"consumption_tax"``, ``"output_tax"``, ``"direct_tax"``
    with separate institutions) or ``"spending_cut"`` (civil government pays)."""

    region: str
    mode: str
    value: float
    where: str
    from_region: str | None = None
    from_share: float = 0.0
    financing: str = "lump_sum"


@dataclass(frozen=True)
class Stationing:
    """Purchases by ``buyer``'s government in ``host``'s economy for its forces stationed there
    (goods and services, data unit per year): the purchases in the data (the benchmark's
    stationing account ``vdpur``, 0 where it has none) times ``scale``, plus ``amount``; the
    composition is the account's (else the ``dpshare`` table's, else the buyer's defense
    bundle). ``paid_by = "host"``: the host's government pays the buyer's the whole resulting
    bill, a transfer between governments (cost-sharing)."""

    buyer: str
    host: str
    amount: float
    paid_by: str
    where: str
    scale: float = 1.0


@dataclass(frozen=True)
class FactorShock:
    """``kind="endowment"``: endowment x ``value``; ``kind="productivity"``: factor-augmenting
    productivity x ``value`` (an efficiency-units multiplier). ``value`` > 0."""

    regions: tuple[str, ...]
    factors: tuple[str, ...]
    kind: str
    value: float
    where: str


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``closure`` holds only the keys the file sets; ``text`` is the raw
    TOML and ``sha256`` its hash (hex of the UTF-8 bytes), for provenance in reports."""

    name: str
    description: str
    rate_shocks: tuple[RateShock, ...]
    transfers: tuple[Transfer, ...]
    defense: tuple[DefenseShock, ...]
    factor_shocks: tuple[FactorShock, ...]
    closure: Mapping[str, str] = field(hash=False)
    source: str
    text: str = field(repr=False)
    sha256: str
    stationing: tuple[Stationing, ...] = ()
    capital_flows: tuple[CapitalFlow, ...] = ()
    foreign_saving: tuple[ForeignSaving, ...] = ()

    @property
    def is_benchmark(self) -> bool:
        """True when the scenario has no shocks at all (closure settings are not shocks)."""
        return not (self.rate_shocks or self.transfers or self.defense or self.factor_shocks
                    or self.stationing or self.capital_flows or self.foreign_saving)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------
_SYNONYMS: dict[str, tuple[str, str]] = {
    "importer": ("importer", "importers"),
    "exporter": ("exporter", "exporters"),
    "region": ("region", "regions"),
    "factor": ("factor", "factors"),
    "commodity": ("commodity", "commodities"),
}
_RATE_MODES = ("add", "set", "multiply", "power")


class FieldParser:
    """Typed fields of a TOML table (each failure a :class:`ScenarioError` naming the
    field) and name resolution against the data set's sets and groups (names, groups,
    ``"all"``, ``"all_but:X"``, lists). :class:`ScenarioParser` reads the scenario sections
    with them; :mod:`cge.sensitivity.spec` and :mod:`cge.strategy` use them too."""

    def __init__(self, sets: Sets, source: str) -> None:
        self.sets = sets
        self.source = source
        self.local_groups: dict[str, dict[str, tuple[str, ...]]] = {k: {} for k in GROUP_KINDS}

    def fail(self, path: str | None, problem: str) -> ScenarioError:
        return ScenarioError(self.source, path, problem)

    # -- generic checks ---------------------------------------------------------------------
    def check_keys(self, table: Mapping[str, Any], path: str, valid: Iterable[str]) -> None:
        valid = tuple(valid)
        for key in table:
            if key not in valid:
                shown = key if len(key) <= 60 else f"{key[:60]}..."
                raise self.fail(f"{path}.{shown}" if path else shown,
                                f"unknown key {show(key)}{suggest(key, valid)}; "
                                f"valid keys: {fmt_list(valid)}")

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"expected a string, got {type_name(value)} {show(value)}")
        return value

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"expected a number, got {type_name(value)} {show(value)}")
        try:
            out = float(value)
        except OverflowError:
            out = math.inf
        if not math.isfinite(out):
            raise self.fail(path, f"expected a finite number, got {show(value)}")
        return out

    def table(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a table, got {type_name(value)} {show(value)}")
        return value

    def synonym(self, table: Mapping[str, Any], base: str, path: str,
                required: bool = True) -> tuple[str, Any] | None:
        """(key used, value) for a field accepted in singular or plural form."""
        present = [k for k in _SYNONYMS[base] if k in table]
        if len(present) == 2:
            raise self.fail(f"{path}.{present[1]}",
                            f"both {present[0]!r} and {present[1]!r} given; use one of them")
        if not present:
            if required:
                raise self.fail(f"{path}.{_SYNONYMS[base][0]}",
                                f"missing required field ({' or '.join(_SYNONYMS[base])})")
            return None
        return present[0], table[present[0]]

    def one_of(self, table: Mapping[str, Any], keys: tuple[str, ...], path: str) -> str:
        present = [k for k in keys if k in table]
        if len(present) > 1:
            raise self.fail(f"{path}.{present[1]}",
                            f"contradictory fields {' and '.join(map(repr, present))}: "
                            f"give exactly one of {', '.join(keys)}")
        if not present:
            raise self.fail(path, f"missing required field: give exactly one of {', '.join(keys)}")
        return present[0]

    # -- name resolution --------------------------------------------------------------------
    def _group_members(self, kind: str, token: str) -> tuple[str, ...] | None:
        if token == _ALL:
            return self.sets.names(kind)
        if token in self.sets.groups(kind):
            return self.sets.groups(kind)[token]
        return self.local_groups[kind].get(token)

    def _valid_tokens(self, kind: str) -> str:
        groups = [_ALL, f"{_ALL_BUT}<name>", *self.sets.groups(kind), *self.local_groups[kind]]
        return f"valid names: {fmt_list(self.sets.names(kind))}; groups: {fmt_list(groups)}"

    def resolve_token(self, kind: str, token: Any, path: str) -> tuple[str, ...]:
        token = self.string(token, path)
        names = self.sets.names(kind)
        singular = {"regions": "region", "commodities": "commodity", "factors": "factor"}[kind]
        if token in names:
            return (token,)
        members = self._group_members(kind, token)
        if members is not None:
            return members
        if token.startswith(_ALL_BUT):
            excluded = token[len(_ALL_BUT):]
            if excluded not in names:
                raise self.fail(path, f"unknown {singular} {show(excluded)} in {show(token)}"
                                      f"{suggest(excluded, names)}; valid names: "
                                      f"{fmt_list(names)}")
            rest = tuple(n for n in names if n != excluded)
            if not rest:
                raise self.fail(path, f"{show(token)} leaves no {kind}")
            return rest
        candidates = [*names, _ALL, *self.sets.groups(kind), *self.local_groups[kind]]
        raise self.fail(path, f"unknown {singular} or group {show(token)}"
                              f"{suggest(token, candidates)}; {self._valid_tokens(kind)}")

    def resolve(self, kind: str, value: Any, path: str) -> tuple[str, ...]:
        """A name, group or list of names/groups -> unique names in the sets' order."""
        if isinstance(value, list):
            if not value:
                raise self.fail(path, f"empty list; name at least one; {self._valid_tokens(kind)}")
            chosen: set[str] = set()
            for i, item in enumerate(value, start=1):
                chosen.update(self.resolve_token(kind, item, f"{path}[{i}]"))
        elif isinstance(value, str):
            chosen = set(self.resolve_token(kind, value, path))
        else:
            raise self.fail(path, f"expected a name, group or list of them, got "
                                  f"{type_name(value)} {show(value)}; "
                                  f"{self._valid_tokens(kind)}")
        return tuple(n for n in self.sets.names(kind) if n in chosen)

    def single_region(self, value: Any, path: str) -> str:
        value = self.string(value, path)
        regions = self.sets.regions
        if value not in regions:
            raise self.fail(path, f"unknown region {show(value)}{suggest(value, regions)}; "
                                  f"expected a single region name; valid names: "
                                  f"{fmt_list(regions)}")
        return value

    def array(self, data: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any]]]:
        value = data[key]
        if isinstance(value, dict):
            raise self.fail(key, f"expected an array of tables: write [[{key}]] (double "
                                 f"brackets), not [{key}]")
        if not isinstance(value, list):
            raise self.fail(key, f"expected an array of tables ([[{key}]]), got "
                                 f"{type_name(value)} {show(value)}")
        return [(f"{key}[{i}]", self.table(t, f"{key}[{i}]")) for i, t in enumerate(value, 1)]

    def region_pair(self, table: Mapping[str, Any], path: str,
                    keys: tuple[str, str]) -> dict[str, str]:
        """Two required single-region fields (e.g. payer, recipient) that must differ."""
        ends = {}
        for key in keys:
            if key not in table:
                raise self.fail(f"{path}.{key}", f"missing required field {key!r} (a region "
                                                 f"name; valid names: "
                                                 f"{fmt_list(self.sets.regions)})")
            ends[key] = self.single_region(table[key], f"{path}.{key}")
        if ends[keys[0]] == ends[keys[1]]:
            raise self.fail(f"{path}.{keys[1]}", f"{keys[0]} and {keys[1]} are both "
                                                 f"{ends[keys[0]]!r}; they must differ")
        return ends

    def amount_or_share(self, path: str, table: Mapping[str, Any]) -> tuple[float | None,
                                                                            float | None]:
        """(amount, share of the payer's GDP as a fraction): exactly one is given; an amount
        is >= 0 (data unit per year), a share a percent in (0, 100)."""
        mode = self.one_of(table, ("amount", "share_of_payer_gdp"), path)
        vpath = f"{path}.{mode}"
        raw = self.number(table[mode], vpath)
        if mode == "amount":
            if raw < 0:
                raise self.fail(vpath, f"amount must be >= 0 (data unit), got {raw:g}; "
                                       f"swap payer and recipient for a reverse flow")
            return raw, None
        if not 0 < raw < 100:
            raise self.fail(vpath, f"share_of_payer_gdp is a percent in (0, 100), got {raw:g}")
        return None, raw / 100.0

    # -- whole file -------------------------------------------------------------------------
    def load_toml(self, text: str) -> dict[str, Any]:
        """The TOML text as tables; a syntax error (or nesting too deep) is this parser's
        error, with the line and a hint."""
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise self.fail(None, _decode_message(exc, text)) from None
        except RecursionError:
            raise self.fail(None, "invalid TOML: nesting too deep") from None


#: Which reader of :class:`ScenarioParser` reads each table array, and the
#: :class:`Scenario` field its tables go to (``"*"``: the factor shocks). A reader takes
#: (key, path, table) and returns one item or a list of them.
SECTION_READERS: dict[str, tuple[str, str]] = {
    **{key: ("rate_shocks", "rate_shock") for key in INSTRUMENTS},
    "transfer": ("transfers", "transfer"),
    "capital_flow": ("capital_flows", "capital_flow"),
    "foreign_saving": ("foreign_saving", "foreign_saving"),
    "defense": ("defense", "defense"),
    "stationing": ("stationing", "stationing"),
    "*": ("factor_shocks", "factor_shock"),
}


class ScenarioParser(FieldParser):
    """The scenario file parser: one reader per section (:data:`SECTION_READERS` says which
    reads which table array), the groups, the closure, and :meth:`parse` for the whole
    file."""

    # -- sections ---------------------------------------------------------------------------
    def groups(self, value: Any) -> None:
        table = self.table(value, "groups")
        self.check_keys(table, "groups", GROUP_KINDS)
        for kind in GROUP_KINDS:
            if kind not in table:
                continue
            kind_path = f"groups.{kind}"
            defs = self.table(table[kind], kind_path)
            for gname, members in defs.items():
                gpath = f"{kind_path}.{gname}"
                taken = (gname in self.sets.names(kind) or gname == _ALL
                         or gname in self.sets.groups(kind))
                if (taken or len(gname) > MAX_NAME_LENGTH
                        or not _GROUP_NAME_RE.fullmatch(gname)):
                    raise self.fail(f"{kind_path}.{gname[:60]}",
                                    f"invalid group name {show(gname)}: use letters, digits, "
                                    f"'_' or '-' (at most {MAX_NAME_LENGTH}), not 'all' and "
                                    f"not an existing name or group; {self._valid_tokens(kind)}")
                self.local_groups[kind][gname] = self.resolve(kind, members, gpath)

    def closure(self, value: Any) -> dict[str, str]:
        table = self.table(value, "closure")
        self.check_keys(table, "closure", CLOSURE_OPTIONS)
        out: dict[str, str] = {}
        for key, raw in table.items():
            path = f"closure.{key}"
            val = self.string(raw, path)
            if key == "numeraire":
                self.numeraire(val, path)
            elif val not in CLOSURE_OPTIONS[key]:
                options = CLOSURE_OPTIONS[key]
                raise self.fail(path, f"unknown closure {show(val)}{suggest(val, options)}; "
                                      f"valid values: {fmt_list(options)}")
            out[key] = val
        return out

    def numeraire(self, val: str, path: str) -> None:
        valid = (f"valid values: {fmt_list(CLOSURE_OPTIONS['numeraire'] + NUMERAIRE_PATTERNS)}"
                 f" with factor in {fmt_list(self.sets.factors)} and region in "
                 f"{fmt_list(self.sets.regions)}")
        if val in CLOSURE_OPTIONS["numeraire"]:
            return
        parts = val.split(":")
        if parts[0] == "factor_price" and len(parts) == 3:
            wanted = (("factor", parts[1], self.sets.factors),
                      ("region", parts[2], self.sets.regions))
        elif parts[0] == "cpi" and len(parts) == 2:
            wanted = (("region", parts[1], self.sets.regions),)
        else:
            raise self.fail(path, f"unknown numeraire {show(val)}; {valid}")
        for what, name, names in wanted:
            if name not in names:
                raise self.fail(path, f"unknown {what} {show(name)} in numeraire "
                                      f"{show(val)}; {valid}")

    def rate_value(self, table: Mapping[str, Any], path: str) -> tuple[str, float]:
        mode = self.one_of(table, _RATE_MODES, path)
        vpath = f"{path}.{mode}"
        raw = self.number(table[mode], vpath)
        if mode in ("multiply", "power"):
            what = ("a factor on the benchmark rate" if mode == "multiply"
                    else "a factor on the power 1 + rate")
            if not 0 < raw <= MAX_RATE_FACTOR:
                raise self.fail(vpath, f"{mode} must be > 0 and at most {MAX_RATE_FACTOR:g} "
                                       f"({what}), got {raw:g} (use set = 0 to remove a rate)")
            return mode, raw
        if raw <= -100:
            raise self.fail(vpath, f"{mode} = {raw:g} (percent) would make the rate <= -100 %, "
                                   f"i.e. 1 + rate <= 0; must be > -100")
        if raw > MAX_RATE_PERCENT:
            raise self.fail(vpath, f"{mode} = {raw:g} (percent) is beyond the allowed range "
                                   f"(-100, {MAX_RATE_PERCENT:g}]: any rate above a few hundred "
                                   f"percent is already prohibitive")
        return mode, raw / 100.0

    def rate_shock(self, kind: str, path: str, table: Mapping[str, Any]) -> RateShock:
        commodity_keys = _SYNONYMS["commodity"]
        mode_keys = _RATE_MODES
        if kind == "output_tax":
            self.check_keys(table, path, (*_SYNONYMS["region"], *commodity_keys, *mode_keys))
            rkey, rval = self.synonym(table, "region", path)
            exporters = self.resolve("regions", rval, f"{path}.{rkey}")
            importers: tuple[str, ...] = ()
        else:
            self.check_keys(table, path, (*_SYNONYMS["exporter"], *_SYNONYMS["importer"],
                                          *commodity_keys, *mode_keys, "own_region"))
            ekey, evalue = self.synonym(table, "exporter", path)
            ikey, ivalue = self.synonym(table, "importer", path)
            exporters = self.resolve("regions", evalue, f"{path}.{ekey}")
            importers = self.resolve("regions", ivalue, f"{path}.{ikey}")
        ckey, cval = self.synonym(table, "commodity", path)
        commodities = self.resolve("commodities", cval, f"{path}.{ckey}")
        mode, value = self.rate_value(table, path)
        own = table.get("own_region", False)
        if not isinstance(own, bool):
            raise self.fail(f"{path}.own_region", f"own_region must be true or false, got "
                                                  f"{show(own)}")
        shock = RateShock(INSTRUMENTS[kind], commodities, exporters, importers, mode, value, path,
                          own)
        if not shock.cells():
            raise self.fail(path, f"no (exporter, importer) pair with exporter != importer: "
                                  f"exporters {list(exporters)}, importers {list(importers)} "
                                  "(own_region = true shocks a region's trade with itself)")
        return shock

    def transfer(self, key: str, path: str, table: Mapping[str, Any]) -> Transfer:
        self.check_keys(table, path, ("payer", "recipient", "amount", "share_of_payer_gdp",
                                      "between"))
        ends = self.region_pair(table, path, ("payer", "recipient"))
        between = self.string(table.get("between", "governments"), f"{path}.between")
        if between not in TRANSFER_PARTIES:
            raise self.fail(f"{path}.between", f"between must be one of "
                                               f"{fmt_list(TRANSFER_PARTIES)}, got "
                                               f"{show(between)}")
        amount, share = self.amount_or_share(path, table)
        return Transfer(ends["payer"], ends["recipient"], amount, share, path, between)

    def capital_flow(self, key: str, path: str, table: Mapping[str, Any]) -> CapitalFlow:
        self.check_keys(table, path, ("payer", "recipient", "amount", "share_of_payer_gdp"))
        ends = self.region_pair(table, path, ("payer", "recipient"))
        amount, share = self.amount_or_share(path, table)
        return CapitalFlow(ends["payer"], ends["recipient"], amount, share, path)

    def foreign_saving(self, key: str, path: str, table: Mapping[str, Any]) -> ForeignSaving:
        self.check_keys(table, path, ("region", "change", "level", "offset"))
        if "region" not in table:
            raise self.fail(f"{path}.region", f"missing required field 'region' (the region "
                                              f"whose foreign saving is set; valid names: "
                                              f"{fmt_list(self.sets.regions)})")
        region = self.single_region(table["region"], f"{path}.region")
        mode = self.one_of(table, ("change", "level"), path)
        value = self.number(table[mode], f"{path}.{mode}")
        raw = table.get("offset", _ALL)
        if raw == _ALL:
            offset = tuple(r for r in self.sets.regions if r != region)
            if not offset:
                raise self.fail(f"{path}.offset", f"no other region to take the other side "
                                                  f"of {region!r}'s foreign saving")
        else:
            offset = self.resolve("regions", raw, f"{path}.offset")
            if region in offset:
                raise self.fail(f"{path}.offset", f"the offset includes {region!r}, the "
                                                  f"region whose foreign saving is set; it "
                                                  f"must name other regions only (\"all\", "
                                                  f"the default, means every other region)")
        return ForeignSaving(region, value if mode == "change" else None,
                             value if mode == "level" else None, offset, path)

    def defense(self, key: str, path: str, table: Mapping[str, Any]) -> list[DefenseShock]:
        self.check_keys(table, path, (*_SYNONYMS["region"], "scale", "share_of_gdp", "rule",
                                      "from_region", "from_share", "financing"))
        rkey, rval = self.synonym(table, "region", path)
        regions = self.resolve("regions", rval, f"{path}.{rkey}")
        mode = self.one_of(table, ("scale", "share_of_gdp", "rule"), path)
        vpath = f"{path}.{mode}"
        if mode == "rule":
            rule = self.string(table["rule"], vpath)
            if rule not in DEFENSE_RULES:
                raise self.fail(vpath, f"unknown defense rule {show(rule)}; allowed: "
                                       f"{fmt_list(DEFENSE_RULES)} (or give scale or "
                                       f"share_of_gdp)")
            mode, raw = rule, 1.0
        else:
            raw = self.number(table[mode], vpath)
        if mode == "budget_share":
            value = 1.0
        elif mode == "scale":
            if not 0 < raw <= MAX_DEFENSE_SCALE:
                raise self.fail(vpath, f"scale must be > 0 and at most {MAX_DEFENSE_SCALE:g}, "
                                       f"i.e. in (0, {MAX_DEFENSE_SCALE:g}] (a factor on real "
                                       f"defense purchases), got {raw:g}")
            value = raw
        else:
            if not 0 < raw < 100:
                raise self.fail(vpath, f"share_of_gdp is a percent in (0, 100), got {raw:g}")
            value = raw / 100.0
        from_region, from_share = None, 0.0
        if ("from_region" in table) != ("from_share" in table):
            raise self.fail(path, "from_region and from_share go together: the share (percent) "
                                  "of the increase bought from that region's producers")
        if "from_region" in table:
            from_region = self.single_region(table["from_region"], f"{path}.from_region")
            from_share = self.number(table["from_share"], f"{path}.from_share")
            if not 0 <= from_share <= 100:
                raise self.fail(f"{path}.from_share", f"from_share is a percent in [0, 100], "
                                                      f"got {from_share:g}")
            from_share /= 100.0
            if mode == "budget_share":
                raise self.fail(f"{path}.from_region", "from_region needs a defense target "
                                                       "(scale or share_of_gdp), not a rule")
            if from_region in regions:
                raise self.fail(f"{path}.from_region", f"from_region {from_region!r} is the "
                                                       "spending region itself")
        financing = self.string(table.get("financing", "lump_sum"), f"{path}.financing")
        if financing not in FINANCING:
            raise self.fail(f"{path}.financing", f"unknown financing {show(financing)}; allowed: "
                                                 f"{fmt_list(FINANCING)}")
        return [DefenseShock(r, mode, value, path, from_region, from_share, financing)
                for r in regions]

    def stationing(self, key: str, path: str, table: Mapping[str, Any]) -> Stationing:
        self.check_keys(table, path, ("buyer", "host", "scale", "amount", "paid_by"))
        ends = self.region_pair(table, path, ("buyer", "host"))
        if "amount" not in table and "scale" not in table:
            raise self.fail(f"{path}.scale", "give 'scale' (a factor on the purchases in the "
                                             "data, e.g. 0.5 for half the forces) and/or "
                                             "'amount' (data unit per year, added)")
        scale = self.number(table.get("scale", 1.0), f"{path}.scale")
        if not 0 <= scale <= MAX_STATIONING_SCALE:
            raise self.fail(f"{path}.scale", f"scale must be in [0, {MAX_STATIONING_SCALE:g}] "
                                             f"(a factor on the purchases), got {scale:g}")
        amount = self.number(table.get("amount", 0.0), f"{path}.amount")
        paid_by = self.string(table.get("paid_by", "buyer"), f"{path}.paid_by")
        if paid_by not in ("buyer", "host"):
            raise self.fail(f"{path}.paid_by", f"paid_by must be 'buyer' or 'host', got "
                                               f"{show(paid_by)}")
        return Stationing(ends["buyer"], ends["host"], amount, paid_by, path, scale)

    def factor_shock(self, kind: str, path: str, table: Mapping[str, Any]) -> FactorShock:
        self.check_keys(table, path, (*_SYNONYMS["region"], *_SYNONYMS["factor"], "scale"))
        rkey, rval = self.synonym(table, "region", path)
        regions = self.resolve("regions", rval, f"{path}.{rkey}")
        fkey, fval = self.synonym(table, "factor", path)
        factors = self.resolve("factors", fval, f"{path}.{fkey}")
        if "scale" not in table:
            raise self.fail(f"{path}.scale", "missing required field 'scale' (a factor > 0)")
        value = self.number(table["scale"], f"{path}.scale")
        lo, hi = FACTOR_SCALE_RANGE
        if not lo <= value <= hi:
            raise self.fail(f"{path}.scale", f"scale must be > 0 and in the allowed range "
                                             f"[{lo:g}, {hi:g}] (a factor on the benchmark "
                                             f"{kind}), got {value:g}")
        return FactorShock(regions, factors, kind, value, path)

    def parse(self, text: str) -> Scenario:
        data = self.load_toml(text)
        self.check_keys(data, "", TOP_LEVEL_KEYS)
        if "name" not in data:
            raise self.fail("name", "missing required field 'name' (lowercase letters, digits, "
                                    "'_')")
        name = self.string(data["name"], "name")
        if len(name) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(name):
            raise self.fail("name", f"invalid name {show(name)}: use only lowercase letters, "
                                    f"digits and '_' ([a-z0-9_]+), at most {MAX_NAME_LENGTH} "
                                    f"characters (it names the results file)")
        description = self.string(data.get("description", ""), "description")
        if "groups" in data:
            self.groups(data["groups"])
        closure = self.closure(data["closure"]) if "closure" in data else {}

        found: dict[str, list] = {field: [] for field, _ in SECTION_READERS.values()}
        for key in TABLE_ARRAYS:
            if key not in data:
                continue
            field, reader = SECTION_READERS.get(key, SECTION_READERS["*"])
            for path, table in self.array(data, key):
                read = getattr(self, reader)(key, path, table)
                found[field].extend(read if isinstance(read, list) else [read])
        defense = found["defense"]

        seen: dict[str, str] = {}
        for shock in defense:
            if shock.region in seen:
                raise self.fail(shock.where, f"contradictory: region {shock.region!r} already "
                                             f"has a defense shock in {seen[shock.region]}")
            seen[shock.region] = shock.where

        return Scenario(
            name=name,
            description=description,
            **{field: tuple(items) for field, items in found.items()},
            closure=MappingProxyType(closure),
            source=self.source,
            text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )


def _decode_message(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """tomllib's message (which carries 'at line N, column M') plus the offending line."""
    msg = str(exc)
    lines = text.splitlines()
    m = re.search(r"line (\d+)", msg)
    if m:
        n = int(m.group(1))
    elif "end of document" in msg:  # e.g. an unclosed array: point at the last non-blank line
        n = max((i for i, line in enumerate(lines, 1) if line.strip()), default=0)
    else:
        n = 0
    if 1 <= n <= len(lines):
        line = lines[n - 1] if len(lines[n - 1]) <= 200 else f"{lines[n - 1][:200]}..."
        return f"invalid TOML: {msg}\n    line {n}: {line}"
    return f"invalid TOML: {msg}"


def _decode(raw: bytes, source: str) -> str:
    """UTF-8 bytes -> text; anything else is a ScenarioError naming the line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError(source, None, f"not UTF-8 text (line {line}): {exc}; save the "
                                          f"file as UTF-8") from None


def parse_scenario(text: str, sets: Sets, *, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML ``text`` against ``sets``.

    ``source`` names the text in error messages and is stored in :attr:`Scenario.source`.
    ``text`` may be ``str`` or UTF-8 ``bytes``; a leading byte-order mark (as some Windows
    editors write) is dropped; text that cannot be written as UTF-8 (a lone surrogate) is an
    error. Raises :class:`ScenarioError` for any invalid input.
    """
    source = str(source)
    if isinstance(text, (bytes, bytearray)):
        text = _decode(bytes(text), source)
    if not isinstance(text, str):
        raise ScenarioError(source, None, f"expected TOML text, got {type_name(text)}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text[:exc.start].count("\n") + 1
        raise ScenarioError(source, None, f"not valid Unicode text (line {line}): "
                                          f"{exc}") from None
    return ScenarioParser(sets, source).parse(text.removeprefix("\ufeff"))


def load_scenario(path: str | Path, sets: Sets) -> Scenario:
    """Read the TOML scenario file at ``path`` (UTF-8) and validate it against ``sets``.

    An unreadable file raises :class:`ScenarioError` too.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(source, None, f"cannot read scenario file: {exc}") from exc
    return parse_scenario(_decode(raw, source), sets, source=source)
