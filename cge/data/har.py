"""GTAP data bases in header-array (HAR) files: read, map to the benchmark format, write.

Bring-your-own data: a GTAP-format ``basedata.har`` (GTAP 10A / 11 header names, the layout of
the GTAP v7 model) is read with :func:`read_har` (PyPI ``harpy3``, imported as ``harpy``) and
mapped into the project's benchmark (:mod:`cge.data.benchmark`) by :func:`gtap_to_benchmark`.
:func:`benchmark_to_gtap` and :func:`write_gtap_har` go the other way (export; used by the tests).
Aggregate the result with :func:`cge.data.aggregate.aggregate`.

API
---
* ``read_har(path) -> dict[str, xr.DataArray]``: every header, unchanged (values as stored,
  float32 for real arrays), dimensions named after the header's sets, set elements (stripped of
  their padding) as coordinates, ``attrs["sets"]`` the set names as stored and
  ``attrs["long_name"]``. A set used twice by one header (``VXSB(COMM, REG, REG)``) gives
  dimensions ``REG`` and ``REG_2``. Character headers come back as 1-D string arrays.
* ``gtap_to_benchmark(arrays, *, name, year, defense_share=None, government_saving=None,
  tolerance=1e-4, intra_region="routes") -> xr.Dataset``: the balanced benchmark.
* ``benchmark_to_gtap(ds) -> dict[str, xr.DataArray]``: GTAP-style arrays of a benchmark.
* ``write_gtap_har(arrays, path)``: write such a dict as a HAR file (float32).

Mapping (sets ``COMM`` = commodities, ``ACTS`` = activities, ``REG`` = regions, ``ENDW`` =
factors, ``MARG`` = margin commodities; ``B`` = basic prices, ``P`` = purchasers' prices)
---------------------------------------------------------------------------------------------

=========================  =====================================  ============================
benchmark array            GTAP headers                           note
=========================  =====================================  ============================
``vdfm[i, j, r]``          ``VDFB(c, a, r)``                      firms' domestic, basic
``vifm[i, j, r]``          ``VMFB(c, a, r)``                      firms' imports at basic
                                                                  (= landed, tariff-incl.)
``vfm[f, j, r]``           ``EVFB(e, a, r)``                      factor income, basic
``vto[j, r]``              ``sum_c (MAKB - MAKS)(c, a, r)``       output taxes
                           ``+ sum_c (VDFP - VDFB + VMFP - VMFB)`` + firms' purchase taxes
                           ``+ sum_e (EVFP - EVFB)``              + factor-use taxes
``vdfd[i, a, r]``          ``VDPB / VDGB / VDIB``                 household / government /
                                                                  investment, domestic, basic
``vifd[i, a, r]``          ``VMPB / VMGB / VMIB``                 same, imports at basic
``vtfd[a, r]``             ``sum_c (VDxP - VDxB + VMxP - VMxB)``  x = P, G, I
``vxmd[i, s, r]``          ``VXSB(c, s, r)``                      exports at basic prices
``vtx[i, s, r]``           ``VFOB - VXSB``                        export taxes
``vtm[i, s, r]``           ``VMSB - VCIF``                        tariffs
``vtwr[m, i, s, r]``       ``VTWR(m, c, s, r)``                   margins by route (cif - fob)
``vst[m, r]``              ``VST(m, r)``                          margin services supplied
``vom[j, r]``              derived (row sums); equals             activity = commodity
                           ``sum_c MAKB(c, a, r)``
``vdtax``, ``vsav``        derived by ``complete()``              GTAP has no government
                                                                  budget
``vtrf``                   0                                      GTAP has no transfers
=========================  =====================================  ============================

Treatments (the choices this format forces):

1. **Purchase and factor taxes of firms → ``vto``.** The benchmark has no per-input taxes: the
   taxes an activity pays on its intermediate purchases (``VDFP - VDFB``, ``VMFP - VMFB``) and on
   its factor use (``EVFP - EVFB``) are added to its output tax ``vto``; they stay part of its
   cost (zero profit holds with inputs valued at basic prices) and of government revenue.
   Final agents' purchase taxes are summed per agent into ``vtfd``.
2. **Transport margins.** ``margins="transport"`` (default) keeps GTAP's accounts: ``vtwr``
   (``VTWR``, cif - fob by route and margin service) and ``vst`` (``VST``, the services each
   region sells to the global transport pool, scaled to the ``VTWR`` total: float32 rounding),
   trade fob in ``vxmd + vtx``, tariffs on cif; the model buys the margins from the pool
   (:mod:`cge.blocks.trade`). ``margins="services"`` values trade fob = cif instead
   (:func:`cge.data.margins.margins_as_services`): the margin on imports of ``c`` into ``r`` is
   taken out of the users' imports of ``c`` (in proportion to each user's imports of ``c``) and
   becomes their purchase of the margin commodity ``m`` (same amount, so costs are unchanged),
   bought from region ``t`` in the shares ``VST(m, t) / sum VST(m, .)``, the part from
   ``t = r`` as domestic purchases of ``m``, the rest as imports (added to ``vxmd[m, t, r]``,
   untaxed). Either way every region's output, current account and revenue are unchanged; a
   route that becomes domestic (treatment 4) sheds its margins the second way. Without
   ``VTWR`` and ``VST``, ``VCIF`` must equal ``VFOB``.
3. **Make matrix.** One activity makes one commodity: ``ACTS`` must have the labels of ``COMM``
   and ``MAKB`` must be diagonal (else :class:`DataError`; aggregate multi-product data first).
4. **Trade of a region with itself** (GTAP composite regions have diagonal ``VXSB``: intra-EU,
   intra-ROW trade). ``intra_region="routes"`` (default) keeps it as GTAP does, as an import
   route of its own (own tariff, export tax and Armington share among the sources of imports),
   so a shock can reach it (a scenario's ``own_region = true``). ``intra_region="domestic"``
   makes it domestic trade, its export taxes and tariffs kept as output / final-demand taxes of
   the users (:func:`cge.data.aggregate.internalize_trade`): the region is then one economy.
   Own trade below :data:`OWN_ROUTE_MIN_SHARE` of a region's imports of the commodity (GTAP's
   float32 filler for single countries) is made domestic in either case.
5. **Defense.** GTAP has one government. ``defense_share`` (a number, a ``{region: share}`` dict
   or a DataArray over ``REG``/``region``) moves that share of every government purchase and its
   taxes to the ``defense`` agent; default: if the (non-standard) headers ``VDDB, VMDB, VDDP,
   VMDP`` (defense purchases, written by :func:`benchmark_to_gtap`) are present they give the
   defense part of the government headers, else the share is 0 (all government is civil).
6. **Closure.** :func:`cge.data.benchmark.complete` derives output from the rows, direct taxes
   ``vdtax`` as the government-budget residual (government saving ``government_saving``, default
   0) and household saving; GTAP's ``EVOS`` (income taxes), ``SAVE`` and ``VDEP`` are not used.
7. **Rounding adjustments.** HAR files hold float32 values, so GTAP's identities hold only to
   about 1e-7. Two adjustments make the benchmark balance to 1e-9, and are reported in
   ``attrs["adjustments"]`` (largest absolute and relative change per account): users' imports of
   each commodity are scaled to the landed supply ``sum_s VMSB`` (import market), and the
   zero-profit residual of each activity is added to ``vto`` (activity). An adjustment larger
   than ``tolerance`` (relative) raises :class:`DataError`: the data base does not balance.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import numpy as np
import xarray as xr

from cge.data.aggregate import internalize_trade
from cge.data.benchmark import (
    FINAL_AGENTS,
    OPTIONAL_SCHEMA,
    DataError,
    check_balance,
    complete,
    empty_benchmark,
    route_margins,
)
from cge.data.margins import margins_as_services

#: The GTAP 10A/11 headers used, with what they hold.
GTAP_HEADERS: dict[str, str] = {
    "VDFB": "firms' domestic purchases at basic prices (COMM, ACTS, REG)",
    "VDFP": "firms' domestic purchases at purchasers' prices (COMM, ACTS, REG)",
    "VMFB": "firms' imports at basic prices (COMM, ACTS, REG)",
    "VMFP": "firms' imports at purchasers' prices (COMM, ACTS, REG)",
    "VDPB": "private households' domestic purchases at basic prices (COMM, REG)",
    "VDPP": "private households' domestic purchases at purchasers' prices (COMM, REG)",
    "VMPB": "private households' imports at basic prices (COMM, REG)",
    "VMPP": "private households' imports at purchasers' prices (COMM, REG)",
    "VDGB": "government domestic purchases at basic prices (COMM, REG)",
    "VDGP": "government domestic purchases at purchasers' prices (COMM, REG)",
    "VMGB": "government imports at basic prices (COMM, REG)",
    "VMGP": "government imports at purchasers' prices (COMM, REG)",
    "VDIB": "investment domestic purchases at basic prices (COMM, REG)",
    "VDIP": "investment domestic purchases at purchasers' prices (COMM, REG)",
    "VMIB": "investment imports at basic prices (COMM, REG)",
    "VMIP": "investment imports at purchasers' prices (COMM, REG)",
    "EVFB": "primary factor purchases at basic prices (ENDW, ACTS, REG)",
    "EVFP": "primary factor purchases at purchasers' prices (ENDW, ACTS, REG)",
    "MAKB": "make matrix at basic prices (COMM, ACTS, REG)",
    "MAKS": "make matrix at supply prices (COMM, ACTS, REG)",
    "VXSB": "exports at basic prices (COMM, REG, REG)",
    "VFOB": "exports at fob prices (COMM, REG, REG)",
    "VCIF": "imports at cif prices (COMM, REG, REG)",
    "VMSB": "imports at basic prices (COMM, REG, REG)",
}
#: Optional GTAP headers: transport margins (both or none).
MARGIN_HEADERS: dict[str, str] = {
    "VST": "margin exports (MARG, REG)",
    "VTWR": "margins by route (MARG, COMM, REG, REG)",
}
#: Non-standard headers written by :func:`benchmark_to_gtap`: the defense part of government.
DEFENSE_HEADERS: dict[str, str] = {
    "VDDB": "defense domestic purchases at basic prices, part of VDGB (COMM, REG)",
    "VMDB": "defense imports at basic prices, part of VMGB (COMM, REG)",
    "VDDP": "defense domestic purchases at purchasers' prices, part of VDGP (COMM, REG)",
    "VMDP": "defense imports at purchasers' prices, part of VMGP (COMM, REG)",
}
#: How international transport margins are held (treatment 2 of the module docstring).
MARGINS: dict[str, str] = {
    "transport": "Transport margins (VTWR) bought from a global transport pool that buys the "
                 "margin services from the regions in proportion to their supply (VST); trade "
                 "valued fob (VFOB) and cif (VCIF), tariffs on the cif value",
    "services": "Transport margins bought by the importers as services from the regions "
                "supplying them (in proportion to VST); trade valued fob = cif",
    "none": "No transport margins in the data base (VCIF = VFOB)",
}
#: How a region's trade with itself is held (treatment 4 of the module docstring).
INTRA_REGION: dict[str, str] = {
    "routes": "Trade of a region with itself kept as an import route of its own (own tariff, "
              "export tax and Armington share), as in GTAP",
    "domestic": "Trade of a region with itself made domestic; its trade taxes kept as output / "
                "final-demand taxes",
}
#: GTAP final-demand headers by benchmark agent (domestic/imports, basic/purchasers').
_FINAL = {"household": "P", "government": "G", "investment": "I"}


# --------------------------------------------------------------------------------------------
# Reading and writing HAR files
# --------------------------------------------------------------------------------------------
def _har_index(path: Path):
    """harpy's index of a HAR file (header names and positions; no array read)."""
    from harpy.har_file_io import HarFileIO

    try:
        return HarFileIO.readHarFileInfo(str(path))
    except Exception as exc:  # harpy raises assorted errors on non-HAR input
        raise DataError(f"{path}: not a readable header-array file ({exc})") from exc


def har_headers(path: str | Path) -> list[str]:
    """The header names of a HAR file, from its index alone (no array is read)."""
    return [name.strip() for name in _har_index(Path(path)).getHeaderArrayNames()]


def read_har(path: str | Path) -> dict[str, xr.DataArray]:
    """Every header of a HAR file as a labelled DataArray (values unchanged; see module doc)."""
    from harpy.har_file_io import HarFileIO

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"HAR file {path} not found")
    info = _har_index(path)
    out: dict[str, xr.DataArray] = {}
    for raw_name in info.getHeaderArrayNames():
        try:
            with warnings.catch_warnings():   # harpy 0.3.1 uses the deprecated np.chararray
                warnings.simplefilter("ignore", DeprecationWarning)
                hao = HarFileIO.readHeader(hfi=info, header_name=raw_name)
        except Exception as exc:
            raise DataError(f"{path}: header '{raw_name.strip()}' cannot be read ({exc})") from exc
        name = raw_name.strip()
        out[name] = _header_to_dataarray(name, hao)
    return out


def _header_to_dataarray(name: str, hao) -> xr.DataArray:
    array = np.asarray(hao["array"])
    long_name = str(hao.get("long_name", "")).strip()
    if array.dtype.kind in "US":
        labels = np.array([str(s).strip() for s in array.ravel()])
        return xr.DataArray(labels, dims=(name,), attrs={"long_name": long_name})
    sets = hao.get("sets") or []
    if not sets:
        dims = tuple(f"dim_{k}" for k in range(array.ndim))
        return xr.DataArray(array, dims=dims, attrs={"long_name": long_name, "sets": dims})
    set_names = [str(s["name"]).strip() for s in sets]
    array = array.reshape([*array.shape, *([1] * (len(sets) - array.ndim))][: len(sets)])
    dims: list[str] = []
    coords: dict[str, list[str]] = {}
    for k, (set_name, s) in enumerate(zip(set_names, sets, strict=True)):
        dim = set_name or f"dim_{k}"
        count = 2
        while dim in dims:
            dim = f"{set_name}_{count}"
            count += 1
        dims.append(dim)
        desc = s.get("dim_desc")
        if isinstance(desc, list | tuple):
            coords[dim] = [str(e).strip() for e in desc]
        elif isinstance(desc, str):
            coords[dim] = [desc.strip()]
    return xr.DataArray(array, dims=tuple(dims), coords=coords,
                        attrs={"long_name": long_name, "sets": tuple(set_names)})


def _set_name(dim: str, dims: tuple) -> str:
    """Set name of a dimension: ``REG_2`` is set ``REG`` when ``REG`` is also a dimension."""
    base, _, suffix = str(dim).rpartition("_")
    return base if suffix.isdigit() and base in dims else str(dim)


def write_gtap_har(arrays: Mapping[str, xr.DataArray], path: str | Path) -> None:
    """Write labelled arrays as a HAR file (header name = dict key, at most 4 characters).

    Real arrays are cast to float32 and written with their sets (type RE): set names from
    ``attrs["sets"]`` or else the dimension names (``REG_2`` → ``REG`` as :func:`read_har` names
    them), elements from the coordinates (at most 12
    characters each; every dimension needs them). 1-D string arrays are written as character
    (1C) headers. ``attrs["long_name"]`` (or ``description``) is the header's long name.
    """
    from harpy import HarFileObj, HeaderArrayObj

    haos = []
    for name, da in arrays.items():
        if not 1 <= len(name) <= 4:
            raise DataError(f"HAR header name '{name}' must have 1 to 4 characters")
        long_name = str(da.attrs.get("long_name", da.attrs.get("description", name)))[:70]
        if da.dtype.kind in "USO":
            if da.ndim != 1:
                raise DataError(f"header '{name}': only 1-D character arrays can be written")
            labels = [str(v) for v in da.values]
            width = max([12, *map(len, labels)])
            hao = HeaderArrayObj.HeaderArrayFromData(
                name=name, array=np.array(labels, dtype=f"<U{width}"), long_name=long_name)
            hao.pop("sets", None)
            haos.append(hao)
            continue
        if not 1 <= da.ndim <= 7:
            raise DataError(f"header '{name}': real arrays need 1 to 7 dimensions, "
                            f"not {da.ndim}")
        set_names = list(da.attrs.get("sets", [_set_name(d, da.dims) for d in da.dims]))
        if len(set_names) != da.ndim:
            raise DataError(f"header '{name}': attrs['sets'] {set_names} does not fit the "
                            f"dimensions {da.dims}")
        sets = []
        for dim, set_name in zip(da.dims, set_names, strict=True):
            if dim not in da.coords:
                raise DataError(f"header '{name}': dimension '{dim}' has no element labels")
            labels = [str(v) for v in da[dim].values]
            long = [lab for lab in labels if len(lab) > 12]
            if long or len(str(set_name)) > 12:
                raise DataError(f"header '{name}': set and element names must have at most 12 "
                                f"characters ({set_name}: {long})")
            sets.append({"name": str(set_name), "status": "k", "dim_type": "Set",
                         "dim_desc": labels})
        values = np.ascontiguousarray(da.values, dtype=np.float32)
        if not np.all(np.isfinite(values)):
            raise DataError(f"header '{name}': NaN or infinite values")
        hao = HeaderArrayObj.HeaderArrayFromData(
            name=name, array=values, coeff_name=name, long_name=long_name, sets=sets)
        haos.append(hao)
    har = HarFileObj()
    har.addHeaderArrayObjs(haos)
    har.writeToDisk(str(path))


# --------------------------------------------------------------------------------------------
# GTAP arrays -> benchmark
# --------------------------------------------------------------------------------------------
def _take(arrays: Mapping[str, xr.DataArray], name: str, labels: list[list[str]]) -> np.ndarray:
    """Header ``name`` as float64, its dimensions ordered by position and elements by label."""
    da = arrays[name]
    if da.ndim != len(labels):
        raise DataError(f"GTAP header {name} has {da.ndim} dimensions {da.dims}, expected "
                        f"{len(labels)}")
    index = {}
    for dim, want in zip(da.dims, labels, strict=True):
        have = [str(v) for v in da[dim].values] if dim in da.coords else None
        if have is None or sorted(have) != sorted(want):
            raise DataError(f"GTAP header {name}: elements of {dim} are {have}, expected {want}")
        index[dim] = [have.index(w) for w in want]
    return np.asarray(da.isel(index).values, dtype=np.float64)


def _defense_shares(defense_share, regions: list[str]) -> np.ndarray:
    if isinstance(defense_share, xr.DataArray):
        dim = next((d for d in ("region", "REG") if d in defense_share.dims), None)
        if defense_share.ndim == 0:
            share = np.full(len(regions), float(defense_share))
        elif dim is None or defense_share.ndim != 1:
            raise DataError("defense_share DataArray must have one dimension 'region' or 'REG'")
        else:
            labels = [str(v) for v in defense_share[dim].values]
            missing = sorted(set(regions) - set(labels))
            if missing:
                raise DataError(f"defense_share has no value for regions {missing}")
            share = np.array([float(defense_share.values[labels.index(r)]) for r in regions])
    elif isinstance(defense_share, Mapping):
        missing = sorted(set(regions) - set(map(str, defense_share)))
        unknown = sorted(set(map(str, defense_share)) - set(regions))
        if missing or unknown:
            raise DataError(f"defense_share: regions missing {missing}, unknown {unknown}")
        share = np.array([float(defense_share[r]) for r in regions])
    else:
        share = np.full(len(regions), float(defense_share))
    if np.any((share < 0) | (share > 1)) or not np.all(np.isfinite(share)):
        raise DataError(f"defense_share must be between 0 and 1, got {share.tolist()}")
    return share


def gtap_to_benchmark(arrays: Mapping[str, xr.DataArray], *, name: str = "gtap",
                      year: int | None = None, defense_share=None,
                      government_saving: xr.DataArray | None = None,
                      tolerance: float = 1e-4, unit: str = "US$ million",
                      intra_region: str = "routes", margins: str = "transport") -> xr.Dataset:
    """Map GTAP 10A/11 arrays (from :func:`read_har`) into a balanced benchmark.

    See the module docstring for the mapping and every treatment; ``intra_region`` is
    ``"routes"`` (a region's trade with itself an import route, as in GTAP) or ``"domestic"``
    (treatment 4); ``margins`` is ``"transport"`` (GTAP's global transport pool, tariffs on cif)
    or ``"services"`` (margins bought by the importers as services, fob = cif; treatment 2).
    The result passes :func:`~cge.data.benchmark.check_balance`; ``attrs["adjustments"]``
    reports the rounding adjustments per account, ``attrs["notes"]`` the treatments.
    """
    if intra_region not in INTRA_REGION:
        raise DataError(f"intra_region must be one of {list(INTRA_REGION)}, not {intra_region!r}")
    if margins not in ("transport", "services"):
        raise DataError(f"margins must be 'transport' or 'services', not {margins!r}")
    C, R, E = _gtap_sets(arrays)
    get = partial(_take, arrays)
    users, defense_note = _gtap_users(arrays, get, C, R, defense_share, tolerance)
    production = _gtap_production(get, C, R, E, tolerance)
    trade = _gtap_trade(arrays, get, C, R, tolerance)
    ds = _gtap_assemble(users, production, trade, C, R, E, name=name, unit=unit, year=year,
                        tolerance=tolerance)
    ds, adjustments, converted = _gtap_balance(
        ds, production["output"], intra_region=intra_region, margins=margins,
        government_saving=government_saving, tolerance=tolerance)
    ds.attrs["adjustments"] = adjustments
    ds.attrs["internalized_trade_taxes"] = {
        str(r): float(v) for r, v in zip(ds.region.values, converted.values, strict=True)}
    ds.attrs["notes"] = "\n".join([
        "Mapped from a GTAP 10A/11 data base (cge.data.har.gtap_to_benchmark).",
        "Firms' purchase taxes and factor-use taxes added to the output tax vto.",
        MARGINS[margins if trade["vtwr"] is not None else "none"] + ".",
        INTRA_REGION[intra_region] + ".",
        defense_note + ".",
        "vdtax and vsav derived by complete() (government saving "
        f"{'0' if government_saving is None else 'given'}); no international transfers.",
        f"Rounding adjustments (float32 storage): {adjustments}.",
    ])
    return ds


def _gtap_sets(arrays: Mapping[str, xr.DataArray]) -> tuple[list[str], list[str], list[str]]:
    """The commodities, regions and endowments of the data base, checked: every header of
    :data:`GTAP_HEADERS` present, one activity per commodity, no clash with agent names."""
    missing = [h for h in GTAP_HEADERS if h not in arrays]
    if missing:
        raise DataError(f"GTAP data base lacks headers {missing} (GTAP 10A/11 names expected: "
                        + "; ".join(f"{h}: {GTAP_HEADERS[h]}" for h in missing) + ")")
    vdfb = arrays["VDFB"]
    if vdfb.ndim != 3:
        raise DataError(f"GTAP header VDFB has dimensions {vdfb.dims}, expected (COMM, ACTS, REG)")
    comm, acts, regs = ([str(v) for v in vdfb[d].values] if d in vdfb.coords else []
                        for d in vdfb.dims)
    if sorted(acts) != sorted(comm):
        raise DataError(f"activities {acts} must have the labels of the commodities {comm} "
                        "(one activity makes one commodity)")
    clash = sorted(set(comm) & set(FINAL_AGENTS))
    if clash:
        raise DataError(f"commodity names {clash} clash with final-demand agent names")
    evfb = arrays["EVFB"]
    return comm, regs, [str(v) for v in evfb[evfb.dims[0]].values]


def _gtap_users(arrays: Mapping[str, xr.DataArray], get, C: list[str], R: list[str],
                defense_share, tolerance: float) -> tuple[dict[str, np.ndarray], str]:
    """Purchases of the users -- activities, then the four final agents -- at basic prices
    (``dom``, ``imp``: commodity x user x region) and their purchase taxes (``tax``: user x
    region); the defense split of government (treatment 5) and its note."""
    n, nr = len(C), len(R)
    agents = list(FINAL_AGENTS)
    nu = n + len(agents)
    dom_b, dom_p, imp_b, imp_p = (np.zeros((n, nu, nr)) for _ in range(4))
    dom_b[:, :n] = get("VDFB", [C, C, R])
    dom_p[:, :n] = get("VDFP", [C, C, R])
    imp_b[:, :n] = get("VMFB", [C, C, R])
    imp_p[:, :n] = get("VMFP", [C, C, R])
    for agent, x in _FINAL.items():
        u = n + agents.index(agent)
        dom_b[:, u] = get(f"VD{x}B", [C, R])
        dom_p[:, u] = get(f"VD{x}P", [C, R])
        imp_b[:, u] = get(f"VM{x}B", [C, R])
        imp_p[:, u] = get(f"VM{x}P", [C, R])
    g, d = n + agents.index("government"), n + agents.index("defense")
    if defense_share is not None:
        share = _defense_shares(defense_share, R)
        for arr in (dom_b, dom_p, imp_b, imp_p):
            arr[:, d] = arr[:, g] * share
            arr[:, g] = arr[:, g] - arr[:, d]
        note = f"defense = share {share.tolist()} of every government purchase"
    elif all(h in arrays for h in DEFENSE_HEADERS):
        for arr, h in ((dom_b, "VDDB"), (imp_b, "VMDB"), (dom_p, "VDDP"), (imp_p, "VMDP")):
            arr[:, d] = get(h, [C, R])
            arr[:, g] = arr[:, g] - arr[:, d]
        note = "defense purchases from headers VDDB/VMDB/VDDP/VMDP (part of government)"
    else:
        note = "no defense split (defense_share 0): all government consumption is civil"
    # float32 differences of near-equal numbers: clip tiny negatives of purchases
    for label, arr in (("domestic purchases", dom_b), ("imports", imp_b)):
        scale = max(float(np.abs(arr).max()), 1.0)
        if arr.min() < -tolerance * scale:
            c, u, r = np.unravel_index(np.argmin(arr), arr.shape)
            who = (C + agents)[u]
            raise DataError(f"negative {label} of {C[c]} by {who} in {R[r]}: {arr[c, u, r]:.6g}")
        np.clip(arr, 0.0, None, out=arr)
    tax = (dom_p - dom_b + imp_p - imp_b).sum(axis=0)          # (u, r)
    return {"dom": dom_b, "imp": imp_b, "tax": tax}, note


def _gtap_production(get, C: list[str], R: list[str], E: list[str], tolerance: float
                     ) -> dict[str, np.ndarray]:
    """Factor payments ``vfm`` (EVFB), factor taxes ``ftax`` and output taxes ``outtax`` by
    activity, GTAP's output ``output`` (MAKB summed); MAKB must be diagonal (treatment 3)."""
    n = len(C)
    vfm = get("EVFB", [E, C, R])
    ftax = (get("EVFP", [E, C, R]) - vfm).sum(axis=0)        # (a, r)
    makb = get("MAKB", [C, C, R])
    maks = get("MAKS", [C, C, R])
    off = ~np.eye(n, dtype=bool)[:, :, None]
    off_b = np.abs(np.where(off, makb, 0.0))
    if off_b.max(initial=0.0) > tolerance * max(float(makb.max()), 1.0):
        c, a, r = np.unravel_index(np.argmax(off_b), off_b.shape)
        raise DataError(f"MAKB is not diagonal: activity {C[a]} makes {C[c]} in {R[r]} "
                        f"({makb[c, a, r]:.6g}); multi-product activities are not supported")
    return {"vfm": vfm, "ftax": ftax, "outtax": (makb - maks).sum(axis=0),
            "output": makb.sum(axis=0)}


def _gtap_trade(arrays: Mapping[str, xr.DataArray], get, C: list[str], R: list[str],
                tolerance: float) -> dict:
    """Trade at basic prices ``vxsb`` (VXSB), export taxes ``vtx`` (VFOB - VXSB), tariffs
    ``vtm`` (VMSB - VCIF) and the margins ``vtwr`` / ``vst`` by commodity (None without
    margins; then VCIF must equal VFOB), checked against each other (treatment 2)."""
    n, nr = len(C), len(R)
    vxsb, vfob = get("VXSB", [C, R, R]), get("VFOB", [C, R, R])
    vcif, vmsb = get("VCIF", [C, R, R]), get("VMSB", [C, R, R])
    out = {"vxsb": vxsb, "vtx": vfob - vxsb, "vtm": vmsb - vcif, "vtwr": None, "vst": None}
    margin_total = vcif - vfob                                # (c, s, r)
    scale = max(float(np.abs(vcif).max()), 1.0)
    if not any(h in arrays for h in MARGIN_HEADERS):
        if np.abs(margin_total).max() > tolerance * scale:
            raise DataError("VCIF differs from VFOB but the data base has no VTWR/VST margins")
        out["vtm"] = vmsb - vfob
        return out
    if not all(h in arrays for h in MARGIN_HEADERS):
        raise DataError("GTAP margins need both VST and VTWR")
    vtwr_da = arrays["VTWR"]
    marg = [str(v) for v in vtwr_da[vtwr_da.dims[0]].values]
    not_comm = sorted(set(marg) - set(C))
    if not_comm:
        raise DataError(f"margin commodities {not_comm} are not commodities")
    vtwr, vst = np.zeros((n, n, nr, nr)), np.zeros((n, nr))
    for k, m in enumerate(marg):
        vtwr[C.index(m)] = get("VTWR", [marg, C, R, R])[k]
        vst[C.index(m)] = get("VST", [marg, R])[k]
    gap = np.abs(vtwr.sum(axis=0) - margin_total).max()
    if gap > tolerance * scale:
        raise DataError(f"VCIF - VFOB differs from the sum of VTWR by up to {gap:.6g}")
    pool_gap = np.abs(vst.sum(axis=1) - vtwr.sum(axis=(1, 2, 3))).max(initial=0.0)
    if pool_gap > tolerance * max(float(vst.sum(axis=1).max(initial=0.0)), 1.0):
        raise DataError(f"margin supply VST and use VTWR differ by up to {pool_gap:.6g}")
    vtwr = np.clip(vtwr, 0.0, None)
    vst = np.clip(vst, 0.0, None)
    # float32 storage: the pool's supply scaled to its use
    use, have = vtwr.sum(axis=(1, 2, 3)), vst.sum(axis=1)
    out["vtwr"] = vtwr
    out["vst"] = vst * np.divide(use, have, out=np.ones_like(use), where=have > 0)[:, None]
    return out


def _gtap_assemble(users: dict, production: dict, trade: dict, C: list[str], R: list[str],
                   E: list[str], *, name: str, unit: str, year: int | None,
                   tolerance: float) -> xr.Dataset:
    """The benchmark arrays from the mapped headers (before the rounding adjustments); tiny
    float32 negatives clipped, larger ones a :class:`DataError`."""
    n = len(C)
    dom, imp, tax = users["dom"], users["imp"], users["tax"]
    ds = empty_benchmark(R, C, E, name=name, unit=unit, year=year)
    ds["vdfm"] = ds.vdfm.copy(data=dom[:, :n])
    ds["vifm"] = ds.vifm.copy(data=imp[:, :n])
    ds["vdfd"] = ds.vdfd.copy(data=dom[:, n:])
    ds["vifd"] = ds.vifd.copy(data=imp[:, n:])
    ds["vtfd"] = ds.vtfd.copy(data=tax[n:])
    ds["vfm"] = ds.vfm.copy(data=production["vfm"])
    ds["vto"] = ds.vto.copy(data=production["outtax"] + tax[:n] + production["ftax"])
    ds["vxmd"] = ds.vxmd.copy(data=trade["vxsb"])
    ds["vtx"] = ds.vtx.copy(data=trade["vtx"])
    ds["vtm"] = ds.vtm.copy(data=trade["vtm"])
    if trade["vtwr"] is not None:
        ds = ds.assign_coords(margin=list(C))
        for key in ("vtwr", "vst"):
            spec = OPTIONAL_SCHEMA[key]
            ds[key] = xr.DataArray(trade[key], dims=spec.dims,
                                   attrs={"description": spec.description})
    for key in ("vdfm", "vifm", "vdfd", "vifd", "vfm", "vxmd"):
        if float(ds[key].min()) < -tolerance * max(float(np.abs(ds[key]).max()), 1.0):
            raise DataError(f"GTAP data give negative {key} ({float(ds[key].min()):.6g})")
        ds[key] = ds[key].clip(min=0.0)
    return ds


def _gtap_balance(ds: xr.Dataset, output_gtap: np.ndarray, *, intra_region: str,
                  margins: str, government_saving: xr.DataArray | None, tolerance: float
                  ) -> tuple[xr.Dataset, dict[str, dict[str, float]], xr.DataArray]:
    """The treatments that make the mapped arrays a balanced benchmark (treatments 2, 4, 6,
    7): (a) users' imports scaled to the landed supply, (b) margins kept or bought as
    services, (c) a region's trade with itself kept or made domestic, (d) the zero-profit
    residual into ``vto``. Returns the benchmark, the adjustments per account and the trade
    taxes converted by (c); adjustments above ``tolerance`` are a :class:`DataError`."""
    n, nr = ds.commodity.size, ds.region.size
    adjustments: dict[str, dict[str, float]] = {}
    # (a) import market: users' imports scaled to the landed supply
    landed = (ds.vxmd + ds.vtx + route_margins(ds) + ds.vtm).sum("exporter").rename(
        importer="region")
    users = ds.vifm.sum("activity") + ds.vifd.sum("agent")
    factor = xr.where(users > 0, landed / users.where(users > 0, 1.0), 1.0)
    ds["vifm"] = ds.vifm * factor
    ds["vifd"] = ds.vifd * factor
    adjustments["import market"] = _adj(landed - users, landed)
    # (b) margins: the global transport pool, or bought as services (fob = cif)
    own = (np.ones((n, nr), bool) if intra_region == "domestic" else negligible_own_trade(ds))
    if margins == "services":
        ds = margins_as_services(ds)
    elif "vtwr" in ds.data_vars:   # a route made domestic sheds its margins first
        diag_routes = np.zeros((n, nr, nr), bool)
        diag_routes[:, np.arange(nr), np.arange(nr)] = own
        ds = margins_as_services(ds, diag_routes)
    # (c) trade of a region with itself: a route of its own, or domestic
    ds, converted = internalize_trade(ds, own)
    # (d) zero profit: residual into vto
    ds = complete(ds, government_saving=government_saving)
    gap = ds.vom - (ds.vdfm + ds.vifm).sum("commodity") - ds.vfm.sum("factor") - ds.vto
    ds["vto"] = ds.vto + gap
    adjustments["activity (zero profit)"] = _adj(gap, ds.vom)
    vom_gtap = xr.DataArray(output_gtap, dims=("activity", "region"), coords=ds.vom.coords)
    adjustments["output vs MAKB (not adjusted)"] = _adj(ds.vom - vom_gtap, vom_gtap)
    ds = complete(ds, government_saving=government_saving)
    worst = {k: v for k, v in adjustments.items() if v["max_rel"] > tolerance}
    if worst:
        raise DataError("the GTAP data base does not balance: relative adjustments above "
                        f"{tolerance}: " + "; ".join(f"{k}: {v}" for k, v in worst.items()))
    check_balance(ds)
    return ds, adjustments, converted


#: An own-region route below this share of the region's landed imports of the commodity is
#: storage noise (GTAP aggregates hold 6.5e-5 for every single country's trade with itself) and
#: is made domestic even with ``intra_region="routes"``.
OWN_ROUTE_MIN_SHARE = 1e-6


def negligible_own_trade(ds: xr.Dataset) -> np.ndarray:
    """The (commodity, region) cells whose trade of a region with itself is below
    :data:`OWN_ROUTE_MIN_SHARE` of its landed imports of that commodity (boolean array)."""
    landed = (ds.vxmd + ds.vtx + ds.vtm).transpose("commodity", "exporter", "importer").values
    diag = np.arange(landed.shape[1])
    return landed[:, diag, diag] <= OWN_ROUTE_MIN_SHARE * landed.sum(axis=1)


def _adj(change: xr.DataArray, scale: xr.DataArray) -> dict[str, float]:
    change = np.abs(np.asarray(change.values, dtype=float))
    scale = np.abs(np.asarray(scale.values, dtype=float))
    rel = np.divide(change, scale, out=np.where(change > 0, np.inf, 0.0), where=scale > 0)
    return {"max_abs": float(change.max(initial=0.0)), "max_rel": float(rel.max(initial=0.0))}


# --------------------------------------------------------------------------------------------
# Benchmark -> GTAP arrays
# --------------------------------------------------------------------------------------------
def benchmark_to_gtap(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """GTAP 10A/11-style arrays of a benchmark (the inverse of :func:`gtap_to_benchmark`).

    Activity ``j`` makes only commodity ``j`` (diagonal ``MAKB``/``MAKS``, output tax ``vto`` =
    ``MAKB - MAKS``); firms pay no purchase or factor taxes (``P = B``); each final agent's
    ``vtfd`` is spread over its purchases at one rate; civil and defense government are summed
    into the ``G`` headers, the defense part also written as ``VDDB/VMDB/VDDP/VMDP``; no
    transport margins (``VCIF = VFOB``); ``EVOS`` carries the direct tax ``vdtax`` as an income
    tax spread over factor income; ``SAVE`` is total saving. Set headers ``REG``, ``COMM``,
    ``ACTS``, ``ENDW`` hold the labels. International transfers and direct government purchases
    abroad have no GTAP counterpart: a benchmark with ``vtrf != 0`` or ``vdpur != 0`` raises
    :class:`DataError`.
    """
    if float(np.abs(ds.vtrf).max()) > 0:
        raise DataError("GTAP data bases have no international transfers: vtrf must be 0")
    if "vdpur" in ds.data_vars and float(np.abs(ds.vdpur).max()) > 0:
        raise DataError("GTAP data bases have no direct government purchases abroad: vdpur "
                        "(the stationing account) must be 0")
    R = [str(v) for v in ds.region.values]
    C = [str(v) for v in ds.commodity.values]
    E = [str(v) for v in ds.factor.values]
    out: dict[str, xr.DataArray] = {
        "REG": xr.DataArray(np.array(R), dims=("REG",), attrs={"long_name": "regions"}),
        "COMM": xr.DataArray(np.array(C), dims=("COMM",), attrs={"long_name": "commodities"}),
        "ACTS": xr.DataArray(np.array(C), dims=("ACTS",), attrs={"long_name": "activities"}),
        "ENDW": xr.DataArray(np.array(E), dims=("ENDW",), attrs={"long_name": "endowments"}),
    }
    coords = {"COMM": C, "ACTS": C, "REG": R, "REG_2": R, "ENDW": E}

    def put(h: str, values, dims: tuple[str, ...], long_name: str) -> None:
        sets = tuple(d.removesuffix("_2") for d in dims)
        out[h] = xr.DataArray(np.asarray(values, dtype=float), dims=dims,
                              coords={d: coords[d] for d in dims},
                              attrs={"long_name": long_name, "sets": sets})

    firms = ("COMM", "ACTS", "REG")
    vdfm = ds.vdfm.transpose("commodity", "activity", "region").values
    vifm = ds.vifm.transpose("commodity", "activity", "region").values
    for h, v in (("VDFB", vdfm), ("VDFP", vdfm), ("VMFB", vifm), ("VMFP", vifm)):
        put(h, v, firms, GTAP_HEADERS[h].split(" (")[0])
    vdfd = ds.vdfd.transpose("commodity", "agent", "region")
    vifd = ds.vifd.transpose("commodity", "agent", "region")
    purchases = (vdfd + vifd).sum("commodity")
    rate = xr.where(purchases > 0, ds.vtfd / purchases.where(purchases > 0, 1.0), 0.0)
    if bool(((np.abs(ds.vtfd) > 0) & (purchases <= 0)).any()):
        raise DataError("a final agent pays commodity taxes vtfd but buys nothing")

    def agent_values(agents: list[str]):
        db = vdfd.sel(agent=agents).sum("agent").values
        mb = vifd.sel(agent=agents).sum("agent").values
        dp = (vdfd * (1 + rate)).sel(agent=agents).sum("agent").values
        mp = (vifd * (1 + rate)).sel(agent=agents).sum("agent").values
        return db, mb, dp, mp

    for agent, x in _FINAL.items():
        members = ["government", "defense"] if agent == "government" else [agent]
        db, mb, dp, mp = agent_values(members)
        for h, v in ((f"VD{x}B", db), (f"VM{x}B", mb), (f"VD{x}P", dp), (f"VM{x}P", mp)):
            put(h, v, ("COMM", "REG"), GTAP_HEADERS[h].split(" (")[0])
    db, mb, dp, mp = agent_values(["defense"])
    if max(np.abs(db).max(), np.abs(mb).max()) > 0:
        for h, v in (("VDDB", db), ("VMDB", mb), ("VDDP", dp), ("VMDP", mp)):
            put(h, v, ("COMM", "REG"), DEFENSE_HEADERS[h].split(" (")[0])
    vfm = ds.vfm.transpose("factor", "activity", "region").values
    put("EVFB", vfm, ("ENDW", "ACTS", "REG"), GTAP_HEADERS["EVFB"].split(" (")[0])
    put("EVFP", vfm, ("ENDW", "ACTS", "REG"), GTAP_HEADERS["EVFP"].split(" (")[0])
    income = vfm.sum(axis=(0, 1))
    dtax = np.divide(ds.vdtax.values, income, out=np.zeros_like(income), where=income > 0)
    put("EVOS", vfm * (1 - dtax), ("ENDW", "ACTS", "REG"),
        "endowment income net of income tax")
    vom = ds.vom.transpose("activity", "region").values
    cost = vom - ds.vto.transpose("activity", "region").values
    eye = np.eye(len(C))[:, :, None]
    put("MAKB", eye * vom[None], firms, GTAP_HEADERS["MAKB"].split(" (")[0])
    put("MAKS", eye * cost[None], firms, GTAP_HEADERS["MAKS"].split(" (")[0])
    trade = ("COMM", "REG", "REG_2")
    vxmd = ds.vxmd.transpose("commodity", "exporter", "importer").values
    vfob = vxmd + ds.vtx.transpose("commodity", "exporter", "importer").values
    vmsb = vfob + ds.vtm.transpose("commodity", "exporter", "importer").values
    for h, v in (("VXSB", vxmd), ("VFOB", vfob), ("VCIF", vfob), ("VMSB", vmsb)):
        put(h, v, trade, GTAP_HEADERS[h].split(" (")[0])
    put("SAVE", ds.vsav.sum("institution").values, ("REG",), "net saving by region")
    return out
