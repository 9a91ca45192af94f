"""Model options: the structural choices an economist makes before building a model.

Every option is configuration, never a second copy of the model. Options that change the shape of
the equation system (which variables exist) are fixed at build time; policy instruments, defense
rules and shock sizes are changed on a built model through fixed variables (see ``cge.model``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace

FACTOR_MARKETS = ("mobile", "sector_specific_capital", "unemployment")
#: What a factor does across the sectors of a region (GTAP's ENDM / ENDS / ENDF).
FACTOR_ROLES = ("mobile", "sluggish", "fixed")
EXTERNAL_CLOSURES = ("fixed_current_account", "global_bank")
INSTITUTIONS = ("regional_household", "separate")
TRANSFORMATIONS = ("none", "cet")
#: Final-demand agents that ``esub_final`` may name (as in ``cge.data.benchmark.FINAL_AGENTS``).
FINAL_DEMAND_AGENTS = ("household", "government", "defense", "investment")
#: Default σ of each final-demand bundle: Cobb–Douglas household, fixed-coefficient others.
DEFAULT_ESUB_FINAL: dict[str, float] = {"household": 1.0, "government": 0.0, "defense": 0.0,
                                        "investment": 0.0}


class OptionsError(ValueError):
    """An invalid model option; the message names the option and its allowed values."""


@dataclass(frozen=True)
class ModelOptions:
    """Structural options of a model build.

    Attributes
    ----------
    institutions
        ``"regional_household"`` (GTAP: one regional household receives all income and splits it
        Cobb–Douglas between private consumption, government and saving) or ``"separate"``
        (Hosoe, Gasawa & Hashimoto 2010: household and government accounts, direct tax, fixed
        average saving rates).
    transformation
        ``"none"``: output is one good sold at one price at home and abroad (GTAP default);
        ``"cet"``: output is split between domestic sales and exports by a CET with elasticity
        ``esub_cet`` (GTAPinGAMS / textbook option).
    esub_cet
        Elasticity of transformation σ_T (> 0, finite) used when ``transformation == "cet"``.
    factor_market
        ``"mobile"``: fixed endowments, full employment, mobile across sectors;
        ``"sector_specific_capital"``: capital fixed in each sector (short run);
        ``"unemployment"``: real wage (labour price over the CPI) fixed, employment adjusts.
    external
        ``"fixed_current_account"``: each region's foreign saving fixed in units of the numeraire;
        ``"global_bank"``: world saving pooled, each region's investment a fixed share of it.
    numeraire
        ``"world_factor_price"`` (benchmark-value-weighted index of all factor prices),
        ``"factor_price:<factor>:<region>"`` or ``"cpi:<region>"``.
    esub_top
        σ between value added and the intermediate bundle (0 = Leontief, GTAP default).
    esub_final
        σ among commodities in each final-demand bundle (1 = Cobb–Douglas, 0 = Leontief); an
        agent left out keeps its default (:data:`DEFAULT_ESUB_FINAL`: household 1, the others
        0), so ``{"government": 0.5}`` changes the government bundle only.
    labour, capital
        Names of the labour and capital factors in the data (used by the closures).
    factor_roles
        Each factor's mobility across the sectors of a region (``cge.closures.factor_roles``):
        ``"mobile"`` (one price; the default for a factor not named), ``"sluggish"`` (GTAP's
        sluggish endowments, e.g. land: supplied to the sectors by a CET with elasticity
        ``etrae``, a price per sector) or ``"fixed"`` (sector-specific, e.g. natural
        resources). ``factor_market = "sector_specific_capital"`` makes ``capital`` fixed on
        top of these roles. A data set may give them (:func:`cge.api.data_options`).
    etrae
        Elasticity of transformation (> 0, finite; GTAP's ETRAE with the sign turned) of each
        sluggish factor among sectors; every sluggish factor needs one.
    """

    institutions: str = "regional_household"
    transformation: str = "none"
    esub_cet: float = 2.0
    factor_market: str = "mobile"
    external: str = "fixed_current_account"
    numeraire: str = "world_factor_price"
    esub_top: float = 0.0
    esub_final: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ESUB_FINAL))
    labour: str = "labour"
    capital: str = "capital"
    factor_roles: dict[str, str] = field(default_factory=dict)
    etrae: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_choice("institutions", self.institutions, INSTITUTIONS)
        _check_choice("transformation", self.transformation, TRANSFORMATIONS)
        _check_choice("factor_market", self.factor_market, FACTOR_MARKETS)
        _check_choice("external", self.external, EXTERNAL_CLOSURES)
        _check_number("esub_cet", self.esub_cet)
        if self.transformation == "cet" and not (0 < self.esub_cet < float("inf")):
            raise OptionsError(f"esub_cet must be > 0 and finite with a CET, got {self.esub_cet}")
        _check_number("esub_top", self.esub_top)
        if not 0 <= self.esub_top < float("inf"):
            raise OptionsError(f"esub_top must be finite and >= 0 (0 = Leontief), got "
                               f"{self.esub_top}")
        if not isinstance(self.esub_final, dict):
            raise OptionsError(f"esub_final must be a dict agent -> sigma with agents in "
                               f"{list(FINAL_DEMAND_AGENTS)}, got {self.esub_final!r}")
        for agent, sigma in self.esub_final.items():
            if agent not in FINAL_DEMAND_AGENTS:
                raise OptionsError(f"esub_final: unknown agent {agent!r}; allowed: "
                                   f"{list(FINAL_DEMAND_AGENTS)}")
            _check_number(f"esub_final[{agent!r}]", sigma)
            if not 0 <= sigma < float("inf"):
                raise OptionsError(f"esub_final[{agent!r}] must be finite and >= 0 "
                                   f"(0 = Leontief, 1 = Cobb-Douglas), got {sigma}")
        self._check_factor_roles()
        if self.institutions == "separate" and self.external == "global_bank":
            raise OptionsError("external = 'global_bank' is available with institutions = "
                               "'regional_household' only; use 'fixed_current_account'")

    def _check_factor_roles(self) -> None:
        if not isinstance(self.factor_roles, dict) or not isinstance(self.etrae, dict):
            raise OptionsError("factor_roles must be a dict factor -> role and etrae a dict "
                               "factor -> elasticity")
        for factor, role in self.factor_roles.items():
            if role not in FACTOR_ROLES:
                raise OptionsError(f"factor_roles[{factor!r}] = {role!r}; allowed: "
                                   f"{list(FACTOR_ROLES)}")
        for factor, eta in self.etrae.items():
            _check_number(f"etrae[{factor!r}]", eta)
            if not 0 < eta < float("inf"):
                raise OptionsError(f"etrae[{factor!r}] must be > 0 and finite (GTAP's ETRAE "
                                   f"with the sign turned), got {eta}")
            if self.factor_roles.get(factor) != "sluggish":
                raise OptionsError(f"etrae[{factor!r}] given, but {factor!r} is not a "
                                   "sluggish factor (factor_roles)")
        lacking = [f for f, role in self.factor_roles.items()
                   if role == "sluggish" and f not in self.etrae]
        if lacking:
            raise OptionsError(f"sluggish factors {lacking} need a transformation elasticity "
                               "(etrae)")
        if (self.factor_market == "unemployment"
                and self.factor_roles.get(self.labour, "mobile") != "mobile"):
            raise OptionsError(f"factor_market 'unemployment' needs {self.labour!r} mobile, "
                               f"but factor_roles makes it {self.factor_roles[self.labour]!r}")

    def final_sigmas(self) -> dict[str, float]:
        """σ of every final-demand bundle: ``esub_final`` over the defaults."""
        return {a: float(self.esub_final.get(a, DEFAULT_ESUB_FINAL[a]))
                for a in FINAL_DEMAND_AGENTS}

    def with_closure(self, closure: dict[str, str]) -> ModelOptions:
        """A copy with the closure keys of a scenario applied (keys named as in scenario files)."""
        changes: dict[str, object] = {}
        for key, value in closure.items():
            if key not in {"factor_market", "external", "institutions", "transformation",
                           "numeraire"}:
                raise OptionsError(f"unknown closure key {key!r}")
            changes[key] = value
        return replace(self, **changes) if changes else self

    def textbook(self) -> ModelOptions:
        """Hosoe–Gasawa–Hashimoto textbook configuration: separate institutions, Cobb–Douglas
        final demands and a CET between domestic sales and exports."""
        return replace(self, institutions="separate", transformation="cet",
                       esub_final=dict.fromkeys(FINAL_DEMAND_AGENTS, 1.0))


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionsError(f"option {name} must be a number, got {type(value).__name__} "
                           f"{value!r}")


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise OptionsError(f"option {name} = {value!r} is not known; allowed: {list(allowed)}")
