"""Aggregation of a benchmark with a mapping file (in the spirit of GTAPAgg).

A mapping assigns every label of the data set to exactly one new label; it is a dict or a TOML
file laid out like ``data/maps/wiod2011.toml``::

    name = "my_aggregate"          # optional: name of the new data set
    [regions]
    EU = ["DEU", "FRA", "ITA"]
    ROW = ["USA", "CHN"]
    [commodities]                  # "sectors" is accepted as an alias
    goods = ["agr", "mfg"]
    services = ["ser"]
    [factors]                      # optional; omitted (or a plain list of the old factors)
    labour = ["skilled", "unskilled"]   # means "keep the factors as they are"
    capital = ["capital"]

Missing sections keep that set unchanged. Other keys (as in the WIOD mapping: ``table``,
``year``, per-country parameters, …) are ignored. Every old label must be mapped exactly once:
labels that are not in the data set, labels mapped twice and labels left out all raise
:class:`~cge.data.benchmark.DataError` naming them. The order of the new labels is the order of
the mapping.

What aggregation does (the function works on the project's benchmark format, so it serves GTAP
data read by :mod:`cge.data.har`, the WIOD benchmark and any other benchmark alike):

1. **Summation.** Every array is summed over the members of each new region, commodity
   (= activity) and factor. Sums of balanced accounts are balanced, so output, factor income,
   indirect tax revenue, final demand, saving and foreign saving of the world are unchanged.
   Transport margins (``vtwr``, ``vst``, where the data have them) are summed too, the margin
   services by the commodity mapping.
2. **Transfers.** International transfers between members of one new region net out: the
   diagonal of the aggregated ``vtrf`` is dropped (the region's net transfers are unchanged).
3. **Intra-region trade becomes domestic** (:func:`internalize_trade`; with
   ``intra_region="routes"`` it stays on the new region's own import route instead). Trade between
   members of one new region (the diagonal ``vxmd/vtx/vtm[i, G, G]`` after summation) is removed
   from the trade accounts. The importers' purchases of imported ``i`` are reduced by the landed
   value of that trade ``L = X + TX + TM`` (exports at market prices plus export taxes plus
   tariffs), in proportion to each user's (activity's or final agent's) purchases of imported
   ``i``: user ``u`` loses ``vif[i, u] * L / V`` of imports (``V`` = all landed imports of ``i``),
   gains ``vif[i, u] * X / V`` of domestic purchases (the goods, now bought at the domestic market
   price) and the remaining ``vif[i, u] * (TX + TM) / V`` — the export tax and tariff it used to
   pay on them — becomes a tax on that user: added to the output tax ``vto`` of the using activity
   (a tax on its cost, since the format has no per-input taxes) or to the final-demand tax ``vtfd``
   of the final agent.

   A route that becomes domestic first sheds its transport margins: its importers buy them as
   services from the transport pool's suppliers (:func:`cge.data.margins.margins_as_services`).

   *Choice:* the trade taxes are **kept as revenue** (converted, not dropped). Every user's cost,
   every government's revenue and every region's current account are therefore unchanged, the
   aggregate balances without any other adjustment and total indirect tax revenue is preserved
   exactly; only its composition changes (export taxes and tariffs on intra-region trade,
   reported per region in ``attrs["internalized_trade_taxes"]``, become output/final-demand
   taxes). The alternative — dropping them — would change costs, prices and incomes and require
   re-balancing.

The result carries ``attrs["aggregation"]`` (a short text of what was done) and passes
:func:`~cge.data.benchmark.check_balance`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from cge.data.benchmark import (
    OPTIONAL_SCHEMA,
    SCHEMA,
    DataError,
    check_balance,
    check_structure,
    empty_benchmark,
    has_margins,
    route_margins,
)
from cge.data.margins import margins_as_services

#: Which set of the mapping each benchmark dimension belongs to.
DIM_SET = {
    "region": "regions", "exporter": "regions", "importer": "regions", "payer": "regions",
    "recipient": "regions", "commodity": "commodities", "activity": "commodities",
    "factor": "factors", "margin": "commodities",
}
_SET_COORD = {"regions": "region", "commodities": "commodity", "factors": "factor"}


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Read an aggregation mapping from a TOML file (see the module docstring)."""
    path = Path(path)
    try:
        mapping = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"mapping file {path}: {exc}") from exc
    mapping["path"] = str(path)
    return mapping


def assignment(groups: Mapping[str, Any] | list | None, members: list[str], what: str
               ) -> tuple[list[str], np.ndarray]:
    """New labels and the one-hot matrix (old, new) of one set; validates the mapping.

    ``groups`` maps each new label to a list of old labels (a single string is a one-member
    list). ``None`` or a plain list equal (as a set) to ``members`` keeps the set unchanged.
    """
    if groups is None:
        groups = {m: [m] for m in members}
    elif isinstance(groups, list | tuple):
        if sorted(map(str, groups)) != sorted(members):
            raise DataError(f"mapping: {what} list {list(groups)} must equal the data set's "
                            f"{what} {members} (use a table to aggregate them)")
        groups = {m: [m] for m in members}
    if not isinstance(groups, Mapping) or not groups:
        raise DataError(f"mapping: [{what}] must be a non-empty table new label -> old labels")
    new = [str(g) for g in groups]
    index = {m: k for k, m in enumerate(members)}
    mat = np.zeros((len(members), len(new)))
    unknown: list[str] = []
    for g, name in enumerate(groups):
        olds = groups[name]
        olds = [olds] if isinstance(olds, str) else list(olds)
        if not olds:
            raise DataError(f"mapping: new {what} '{name}' has no members")
        for old in map(str, olds):
            if old not in index:
                unknown.append(f"'{old}' (in '{name}')")
            else:
                mat[index[old], g] += 1.0
    if unknown:
        raise DataError(f"mapping: unknown {what} {', '.join(unknown)}; the data set has "
                        f"{members}")
    counts = mat.sum(axis=1)
    twice = [m for m, c in zip(members, counts, strict=True) if c > 1]
    missing = [m for m, c in zip(members, counts, strict=True) if c == 0]
    problems = []
    if twice:
        problems.append(f"mapped more than once: {twice}")
    if missing:
        problems.append(f"not mapped: {missing}")
    if problems:
        raise DataError(f"mapping: every {what} must be mapped exactly once; "
                        + "; ".join(problems))
    return new, mat


def aggregate(ds: xr.Dataset, mapping: Mapping[str, Any] | str | Path, *,
              name: str | None = None, intra_region: str = "domestic") -> xr.Dataset:
    """Aggregate a balanced benchmark with a mapping (dict or TOML path); see the module doc.

    ``intra_region``: ``"domestic"`` (step 3) or ``"routes"`` -- trade between members of one
    new region stays trade, on the new region's own import route (its tariffs and export taxes
    with it), as GTAPAgg keeps it. Returns a new balanced benchmark (checked with
    :func:`check_balance`).
    """
    if intra_region not in ("domestic", "routes"):
        raise DataError(f"intra_region must be 'domestic' or 'routes', not {intra_region!r}")
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    check_structure(ds)
    sections = {
        "regions": mapping.get("regions"),
        "commodities": mapping.get("commodities", mapping.get("sectors")),
        "factors": mapping.get("factors"),
    }
    if "commodities" in mapping and "sectors" in mapping:
        raise DataError("mapping: give either [commodities] or [sectors], not both")
    new_labels: dict[str, list[str]] = {}
    matrices: dict[str, np.ndarray] = {}
    for key, groups in sections.items():
        old = [str(v) for v in ds[_SET_COORD[key]].values]
        new_labels[key], matrices[key] = assignment(groups, old, key)

    out_name = name or mapping.get("name") or f"{ds.attrs.get('name', 'benchmark')}_aggregated"
    out = empty_benchmark(new_labels["regions"], new_labels["commodities"],
                          new_labels["factors"], name=str(out_name),
                          unit=ds.attrs.get("unit", "US$ million"), year=ds.attrs.get("year"))
    for key, spec in SCHEMA.items():
        out[key] = out[key].copy(data=_summed(ds[key], spec.dims, matrices))
    if has_margins(ds):          # transport margins and the pool's supplies are flows: summed
        out = out.assign_coords(margin=new_labels["commodities"])
        for key in ("vtwr", "vst"):
            dims = OPTIONAL_SCHEMA[key].dims
            out[key] = xr.DataArray(_summed(ds[key], dims, matrices), dims=dims,
                                    attrs={"description": OPTIONAL_SCHEMA[key].description})
    if "vdpur" in ds.data_vars:
        out = _direct_purchases_summed(out, ds, matrices)
    # Transfers among members of one new region net out.
    vtrf = out.vtrf.values.copy()
    np.fill_diagonal(vtrf, 0.0)
    out["vtrf"] = out.vtrf.copy(data=vtrf)
    sizes = {k: f"{matrices[k].shape[0]} -> {matrices[k].shape[1]}" for k in matrices}
    what = f"aggregated from '{ds.attrs.get('name', '?')}' ({sizes}) with mapping " \
           f"{mapping.get('path', '(dict)')}; "
    if intra_region == "domestic":
        if has_margins(out):     # intra-region routes shed their margins (bought as services)
            diag = np.zeros(out.vxmd.shape, bool)
            diag[:, np.arange(out.region.size), np.arange(out.region.size)] = True
            out = margins_as_services(out, diag)
        out, converted = internalize_trade(out)
        what += (f"intra-region trade made domestic, its export taxes and tariffs "
                 f"({float(converted.sum()):.6g} {out.attrs['unit']} in all) converted into "
                 "output taxes of the using activities / final-demand taxes of the final agents")
    else:
        converted = xr.zeros_like(out.vom.isel(activity=0, drop=True))
        what += "intra-region trade kept on each region's own import route"
    out.attrs["aggregation"] = what
    out.attrs["internalized_trade_taxes"] = {
        str(r): float(v) for r, v in zip(out.region.values, converted.values, strict=True)}
    for attr in ("year",):
        if attr in ds.attrs:
            out.attrs[attr] = ds.attrs[attr]
    check_balance(out)
    return out


def _direct_purchases_summed(out: xr.Dataset, ds: xr.Dataset,
                             matrices: dict[str, np.ndarray]) -> xr.Dataset:
    """``vdpur`` summed; what a government buys directly from another member of its own new
    region becomes that region's defense purchases of its own goods (``vdfd`` of ``defense``):
    the buyer's spending and the seller's sales stay, the border between them is gone."""
    dims = OPTIONAL_SCHEMA["vdpur"].dims
    values = _summed(ds["vdpur"], dims, matrices)
    regions = np.arange(out.region.size)
    own = values[:, regions, regions].copy()
    values[:, regions, regions] = 0.0
    out["vdpur"] = xr.DataArray(values, dims=dims,
                                attrs={"description": OPTIONAL_SCHEMA["vdpur"].description})
    if own.any():
        vdfd = out.vdfd.transpose("commodity", "agent", "region").values.copy()
        vdfd[:, list(out.agent.values).index("defense"), :] += own
        out["vdfd"] = out.vdfd.copy(data=vdfd)
    return out


def _summed(array: xr.DataArray, dims: tuple[str, ...], matrices: dict[str, np.ndarray]
            ) -> np.ndarray:
    """``array`` (laid out as ``dims``) summed over the members of each new label."""
    values = np.asarray(array.transpose(*dims).values, dtype=float)
    for axis, dim in enumerate(dims):
        if dim in DIM_SET:
            values = np.moveaxis(
                np.tensordot(values, matrices[DIM_SET[dim]], axes=([axis], [0])), -1, axis)
    return values


def internalize_trade(ds: xr.Dataset, cells: np.ndarray | None = None
                      ) -> tuple[xr.Dataset, xr.DataArray]:
    """Turn each region's trade with itself (diagonal ``vxmd/vtx/vtm``) into domestic flows.

    See step 3 of the module docstring. ``cells`` (boolean, commodity x region; default all)
    limits it to those (commodity, region) cells; the others stay on the region's own import
    route. Returns the new data set and the export taxes plus tariffs converted into
    output/final-demand taxes, by region. Balanced input gives balanced output (nothing is
    re-derived).
    """
    ds = ds.copy(deep=True)
    vxmd = ds.vxmd.transpose("commodity", "exporter", "importer").values
    vtx = ds.vtx.transpose("commodity", "exporter", "importer").values
    vtm = ds.vtm.transpose("commodity", "exporter", "importer").values
    diag = np.arange(vxmd.shape[1])
    mask = np.ones(vxmd.shape[::2], dtype=bool) if cells is None else np.asarray(cells, bool)
    x = np.where(mask, vxmd[:, diag, diag], 0.0)              # (i, r)
    t = np.where(mask, vtx[:, diag, diag] + vtm[:, diag, diag], 0.0)
    nr = len(diag)
    if not (np.any(x) or np.any(t)):
        return ds, xr.DataArray(np.zeros(nr), dims="region", coords={"region": ds.region})
    vifm = ds.vifm.transpose("commodity", "activity", "region").values
    vifd = ds.vifd.transpose("commodity", "agent", "region").values
    margins = route_margins(ds).values
    if np.any(np.where(mask, margins[:, diag, diag], 0.0) > 0):
        raise DataError("a route made domestic still carries transport margins: take them out "
                        "first (cge.data.margins.margins_as_services)")
    landed = vxmd + vtx + margins + vtm
    extra = landed.sum(axis=1) - np.where(mask, landed[:, diag, diag], 0.0)  # stay imports
    total = vifm.sum(axis=1) + vifd.sum(axis=1)               # users' landed imports (i, r)
    intra = x + t
    bad = (total <= 0) & (np.abs(intra) > 0)
    if bad.any():
        i, r = np.argwhere(bad)[0]
        raise DataError(f"region {ds.region.values[r]} trades {ds.commodity.values[i]} with "
                        "itself but no user buys imported goods of it")
    safe = np.where(total > 0, total, 1.0)
    keep = np.where(total > 0, np.clip(extra, 0.0, None) / safe, 0.0)[:, None, :]
    to_dom = np.where(total > 0, x / safe, 0.0)[:, None, :]
    to_tax = np.where(total > 0, t / safe, 0.0)[:, None, :]
    ds["vdfm"] = ds.vdfm.copy(data=ds.vdfm.transpose("commodity", "activity", "region").values
                              + vifm * to_dom)
    ds["vdfd"] = ds.vdfd.copy(data=ds.vdfd.transpose("commodity", "agent", "region").values
                              + vifd * to_dom)
    ds["vto"] = ds.vto.copy(data=ds.vto.transpose("activity", "region").values
                            + (vifm * to_tax).sum(axis=0))
    ds["vtfd"] = ds.vtfd.copy(data=ds.vtfd.transpose("agent", "region").values
                              + (vifd * to_tax).sum(axis=0))
    ds["vifm"] = ds.vifm.copy(data=vifm * keep)
    ds["vifd"] = ds.vifd.copy(data=vifd * keep)
    for key, arr in (("vxmd", vxmd), ("vtx", vtx), ("vtm", vtm)):
        arr = arr.copy()
        arr[:, diag, diag] = np.where(mask, 0.0, arr[:, diag, diag])
        ds[key] = ds[key].copy(data=arr)
    converted = xr.DataArray(t.sum(axis=0), dims="region", coords={"region": ds.region})
    return ds, converted


def aggregated_factor_roles(ds: xr.Dataset, groups: Mapping[str, Any] | list | None
                            ) -> tuple[dict[str, str], dict[str, float]]:
    """The roles (``attrs["factor_roles"]``) and transformation elasticities (``etrae``) of
    the factors of ``ds`` after the factor mapping ``groups``: a new factor has the role its
    members share (members of different roles are a :class:`DataError` naming them); the
    ETRAE of a sluggish one is its members' mean weighted by their benchmark payments."""
    import json

    old = [str(f) for f in ds.factor.values]
    new, mat = assignment(groups, old, "factors")
    roles = json.loads(ds.attrs.get("factor_roles") or "{}")
    etrae = json.loads(ds.attrs.get("etrae") or "{}")
    pay = ds.vfm.sum(["activity", "region"]).sel(factor=old).values
    out_roles: dict[str, str] = {}
    out_etrae: dict[str, float] = {}
    for g, name in enumerate(new):
        members = [old[k] for k in np.flatnonzero(mat[:, g])]
        kinds = {roles.get(f, "mobile") for f in members}
        if len(kinds) > 1:
            raise DataError(f"mapping: factor '{name}' merges factors of different roles ("
                            + ", ".join(f"{f} {roles.get(f, 'mobile')}" for f in members)
                            + "); map them to different factors")
        kind = kinds.pop()
        if kind != "mobile" or name in roles:
            out_roles[name] = kind
        if kind == "sluggish" and len(members) == 1:
            out_etrae[name] = float(etrae.get(members[0], 1.0))
        elif kind == "sluggish":
            w = np.array([pay[old.index(f)] for f in members])
            vals = np.array([float(etrae.get(f, 1.0)) for f in members])
            out_etrae[name] = float(vals @ w / w.sum()) if w.sum() > 0 else float(vals.mean())
    return out_roles, out_etrae


#: What each elasticity is weighted by when commodities are merged (benchmark values summed
#: over the regions): the flows the elasticity governs.
ELASTICITY_WEIGHTS = {
    "esubd": "absorption (domestic and imported purchases of all users)",
    "esubm": "imports (landed, all users)",
    "esubva": "value added (factor payments)",
}


def aggregate_elasticities(el: xr.Dataset, ds: xr.Dataset,
                           groups: Mapping[str, Any] | list | None) -> xr.Dataset:
    """Elasticities by commodity (``esubd``, ``esubm``, ``esubva`` over the commodities of
    ``ds``) for the commodities of the mapping ``groups``: each new commodity's σ is the mean
    of its members' weighted by the benchmark flows it governs (:data:`ELASTICITY_WEIGHTS`;
    equal weights where those are all 0). A one-member group keeps its σ exactly."""
    old = [str(c) for c in ds.commodity.values]
    new, mat = assignment(groups, old, "commodities")
    imports = ds.vifm.sum(["activity", "region"]) + ds.vifd.sum(["agent", "region"])
    weights = {
        "esubd": (ds.vdfm.sum(["activity", "region"]) + ds.vdfd.sum(["agent", "region"])
                  + imports).sel(commodity=old).values,
        "esubm": imports.sel(commodity=old).values,
        "esubva": ds.vfm.sum(["factor", "region"]).sel(activity=old).values,
    }
    out = {}
    for key, w in weights.items():
        sigma = np.asarray(el[key].sel(commodity=old).values, dtype=float)
        vals = []
        for g in range(len(new)):
            members = np.flatnonzero(mat[:, g])
            wg = w[members]
            if members.size == 1:
                vals.append(float(sigma[members[0]]))
            else:
                vals.append(float(sigma[members] @ wg / wg.sum()) if wg.sum() > 0
                            else float(sigma[members].mean()))
        out[key] = ("commodity", np.array(vals))
    agg = xr.Dataset(out, coords={"commodity": new})
    agg.attrs["elasticity_source"] = (
        f"{el.attrs.get('elasticity_source', 'elasticities')}, aggregated to the mapping's "
        "commodities (weighted means: " + "; ".join(f"{k} by {v}" for k, v in
                                                  ELASTICITY_WEIGHTS.items()) + ")")
    return agg


def aggregate_on_load(ds: xr.Dataset, mapping: Mapping[str, Any] | str | Path,
                      elasticities: xr.Dataset, *, intra_region: str) -> xr.Dataset:
    """A loaded data set aggregated with a mapping (``load_data(path, mapping=...)``,
    ``--aggregate MAP.toml``): :func:`aggregate`, with the data set's factor roles
    (:func:`aggregated_factor_roles`) and its ``elasticities`` (by the old commodities)
    aggregated along (:func:`aggregate_elasticities`), carried in ``attrs`` (``factor_roles``,
    ``etrae``, ``elasticities_table`` as JSON) so that the result is a data set of its own.
    A :class:`DataError` names the mapping file."""
    import json

    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    where = mapping.get("path", "mapping")
    try:
        out = aggregate(ds, mapping, intra_region=intra_region)
        roles, etrae = aggregated_factor_roles(ds, mapping.get("factors"))
        el = aggregate_elasticities(elasticities, ds, mapping.get("commodities",
                                                                  mapping.get("sectors")))
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    out.attrs["factor_roles"] = json.dumps(roles)
    out.attrs["etrae"] = json.dumps(etrae)
    out.attrs["elasticities_table"] = json.dumps(
        {k: dict(zip(map(str, el.commodity.values), map(float, el[k].values), strict=True))
         for k in ELASTICITY_WEIGHTS})
    out.attrs["elasticity_source"] = el.attrs["elasticity_source"]
    done = f"Aggregated on load: {out.attrs['aggregation']}."
    out.attrs["notes"] = "\n".join(filter(None, [str(ds.attrs.get("notes", "")), done]))
    for key in ("data_format", "unit"):
        if key in ds.attrs:
            out.attrs[key] = ds.attrs[key]
    return out


def carried_elasticities(ds: xr.Dataset) -> xr.Dataset | None:
    """The elasticities a data set aggregated on load carries (``attrs["elasticities_table"]``,
    :func:`aggregate_on_load`) as a Dataset by commodity, or None when it carries none."""
    import json

    if not ds.attrs.get("elasticities_table"):
        return None
    table = json.loads(ds.attrs["elasticities_table"])
    commodities = [str(c) for c in ds.commodity.values]
    el = xr.Dataset({k: ("commodity", [v[c] for c in commodities]) for k, v in table.items()},
                    coords={"commodity": commodities})
    el.attrs["elasticity_source"] = str(ds.attrs.get("elasticity_source", ""))
    return el
