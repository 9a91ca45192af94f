"""International transport margins in the benchmark: the global transport pool, or margins
bought as services.

A benchmark with margins (:func:`cge.data.benchmark.has_margins`) holds GTAP's two accounts:
``vtwr[m, i, s, r]``, the margin service ``m`` that carrying ``i`` from ``s`` to ``r`` uses
(cif - fob, GTAP VTWR), and ``vst[m, t]``, the service ``m`` that region ``t`` sells to the
global transport pool (GTAP VST); the pool sells what the regions supply. Trade is valued fob in
``vxmd + vtx``, cif = fob + margins, and tariffs ``vtm`` are on the cif value. The model's
transport pool (``cge.blocks.trade``) buys the services from the regions and sells them to the
routes.

:func:`margins_as_services` takes the margins of some (or all) routes out of the pool: the
importers buy them as services instead, from the pool's suppliers in proportion to their
``vst`` (from themselves as domestic purchases, from the others as imports), so that the routes
are valued fob = cif. Every region's output, costs, current account and tax revenue are
unchanged; the benchmark stays balanced. It is how a data base with margins is used when the
model is to value trade fob = cif (``gtap_to_benchmark(..., margins="services")``), and how a
route that becomes domestic trade (:func:`cge.data.aggregate.internalize_trade`) sheds its
margins first.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cge.data.benchmark import DataError, has_margins

__all__ = ["margins_as_services"]


def margins_as_services(ds: xr.Dataset, routes: np.ndarray | None = None) -> xr.Dataset:
    """The margins of ``routes`` (boolean, commodity x exporter x importer; default all) bought
    by the importers as services instead of from the transport pool (module docstring). With
    every route converted the result has no margin arrays at all."""
    if not has_margins(ds):
        return ds
    ds = ds.copy(deep=True)
    regions = [str(r) for r in ds.region.values]
    comm = [str(c) for c in ds.commodity.values]
    vtwr = ds.vtwr.transpose("margin", "commodity", "exporter", "importer").values
    mask = np.ones(vtwr.shape[1:], bool) if routes is None else np.asarray(routes, bool)
    moved = vtwr * mask[None]
    mcr = moved.sum(axis=2)                                   # (m, c, r): margins on r's imports
    t_mr = mcr.sum(axis=1)                                    # (m, r): margin purchases of r
    vst = ds.vst.transpose("commodity", "region").values      # (m, t)
    pool = vst.sum(axis=1)
    if np.any((pool <= 0) & (t_mr.sum(axis=1) > 0)):
        m = comm[int(np.argmax((pool <= 0) & (t_mr.sum(axis=1) > 0)))]
        raise DataError(f"transport margins of service {m} with no supplier (vst = 0)")
    supply = np.divide(vst, pool[:, None], out=np.zeros_like(vst), where=pool[:, None] > 0)
    n = len(comm)
    dom = np.concatenate([ds.vdfm.transpose("commodity", "activity", "region").values,
                          ds.vdfd.transpose("commodity", "agent", "region").values], axis=1)
    imp = np.concatenate([ds.vifm.transpose("commodity", "activity", "region").values,
                          ds.vifd.transpose("commodity", "agent", "region").values], axis=1)
    vimp = imp.sum(axis=1)                                    # (c, r)
    if np.any((vimp <= 0) & (mcr.sum(axis=0) > 0)):
        c, r = np.argwhere((vimp <= 0) & (mcr.sum(axis=0) > 0))[0]
        raise DataError(f"transport margins on imports of {comm[c]} into {regions[r]}, which "
                        "no user buys")
    ushare = np.divide(imp, vimp[:, None, :], out=np.zeros_like(imp), where=vimp[:, None, :] > 0)
    bought = np.einsum("cur,mcr->mur", ushare, mcr)          # margin purchases by user
    imp = imp - ushare * mcr.sum(axis=0)[:, None, :]
    vxmd = ds.vxmd.transpose("commodity", "exporter", "importer").values.copy()
    for k in np.flatnonzero(t_mr.sum(axis=1) > 0):
        own = supply[k]                                       # (r,): r's share of the supply
        dom[k] += bought[k] * own[None, :]
        imp[k] += bought[k] * (1.0 - own)[None, :]
        flow = supply[k][:, None] * t_mr[k][None, :]          # (t, r)
        np.fill_diagonal(flow, 0.0)
        vxmd[k] += flow
    ds["vdfm"] = ds.vdfm.copy(data=dom[:, :n])
    ds["vdfd"] = ds.vdfd.copy(data=dom[:, n:])
    ds["vifm"] = ds.vifm.copy(data=imp[:, :n])
    ds["vifd"] = ds.vifd.copy(data=imp[:, n:])
    ds["vxmd"] = ds.vxmd.copy(data=vxmd)
    left = vtwr * ~mask[None]
    if not left.any():
        return ds.drop_vars(["vtwr", "vst"]).drop_vars("margin", errors="ignore")
    ds["vtwr"] = ds.vtwr.copy(data=left)
    ds["vst"] = ds.vst.copy(data=vst - supply * t_mr.sum(axis=1)[:, None])
    return ds
