"""Balancing a benchmark to trusted totals: generalized RAS (minimum cross-entropy).

The problem. A benchmark whose flows were scaled, split or edited no longer balances, and some
totals are known from published statistics (GDP by region, bilateral trade, ...). We want the
balanced data set that is *closest* to the unbalanced one (the "prior") and reproduces the trusted
totals exactly.

The method (Golan, Judge & Robinson 1994; Robinson, Cattaneo & El-Said 2001, "Updating and
estimating a social accounting matrix using cross entropy methods", *Economic Systems Research*
13: 47-64). The flow arrays ``vdfm, vifm, vfm, vdfd, vifd, vxmd`` (all >= 0) are the unknowns
``x``; minimise the Kullback-Leibler distance to the prior ``x0``

    min  sum_k x_k ln(x_k / x0_k) - x_k + x0_k     subject to  A x = b,

where the linear constraints ``A x = b`` are

* every **activity** (zero profit = domestic market): for each ``(j, r)`` sales of commodity
  ``j`` made in ``r`` (``vdfm + vdfd + vxmd`` row) minus the costs of activity ``j`` in ``r``
  (intermediates ``vdfm + vifm`` and factors ``vfm``) equals the output tax ``vto[j, r]``;
* every **import market**: for each ``(i, r)`` ``sum_s vxmd[i, s, r]`` minus the users' imports
  ``vifm + vifd`` equals minus the export taxes and tariffs ``vtx + vtm`` on them;
* every **target** (a :class:`Target`: a weighted sum of flow cells equal to a number).

Taxes (``vto, vtfd, vtx, vtm``) and transfers ``vtrf`` are held as they are (constants). The
solution has the multiplicative form ``x = x0 * exp(A' lambda)``: each cell is multiplied by the
product of one factor per account it enters (a row factor and a column factor, as in RAS, plus a
factor per target it belongs to). So zero cells stay zero, every cell keeps its sign, and cells
that enter the same accounts in the same way move together: e.g. the labour/capital split of each
activity and the defense/civil split of each government purchase are preserved exactly. The dual
(a smooth convex function of the multipliers ``lambda``, one per constraint) is minimised by
Newton's method with a backtracking line search until every constraint holds to ``tol`` relative
to its own size (default 1e-12). Everything is deterministic (no random starts; fixed order).

After :func:`balance`, :func:`cge.data.benchmark.complete` derives ``vom``, direct taxes and
saving, and :func:`cge.data.benchmark.check_balance` passes at 1e-9.

Reporting: :func:`balance` returns how far each cell moved (``changes``: ``x / x0 - 1`` per flow
array, NaN where the prior is zero) and a summary per array (max and mean absolute relative change,
value-weighted mean, totals before and after), plus each target's value before and after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from cge.data.benchmark import SCHEMA, DataError, check_structure

#: The arrays the balancing adjusts (all non-negative flows); everything else is held fixed.
FLOW_ARRAYS: tuple[str, ...] = ("vdfm", "vifm", "vfm", "vdfd", "vifd", "vxmd")


@dataclass(frozen=True)
class Target:
    """A trusted total: ``sum over arrays of (weights[a] * ds[a]).sum() == value``.

    ``weights`` maps a flow array name (one of :data:`FLOW_ARRAYS`) to a coefficient: a number
    (every cell of the array) or a DataArray over some of the array's dimensions (broadcast over
    the others), typically a 0/1 mask made with :func:`mask`.
    """

    name: str
    weights: Mapping[str, xr.DataArray | float]
    value: float

    def total(self, ds: xr.Dataset) -> float:
        """The value of the targeted sum in ``ds``."""
        return float(sum(float((ds[k] * w).sum()) for k, w in self.weights.items()))


def mask(ds: xr.Dataset, array: str, **select: str | Sequence[str]) -> xr.DataArray:
    """A 0/1 coefficient array over the dimensions of ``array``: 1 on the cells selected by
    ``select`` (dimension -> label or list of labels), 0 elsewhere."""
    spec = SCHEMA[array]
    out = xr.zeros_like(ds[array].transpose(*spec.dims), dtype=float)
    sel = {d: ([v] if isinstance(v, str) else list(v)) for d, v in select.items()}
    unknown = [d for d in sel if d not in spec.dims]
    if unknown:
        raise DataError(f"mask: {array} has no dimension {unknown} (has {spec.dims})")
    out.loc[sel] = 1.0
    return out


@dataclass
class BalanceResult:
    """What :func:`balance` returns."""

    dataset: xr.Dataset                  #: the balanced data set (vom etc. not yet re-derived)
    changes: xr.Dataset                  #: relative change x/x0 - 1 of every flow cell (NaN: 0)
    summary: pd.DataFrame                #: one row per flow array: how far cells moved
    targets: pd.DataFrame                #: each target: value, prior, achieved, relative gap
    iterations: int                      #: Newton iterations
    max_residual: float                  #: largest constraint residual, relative to its size
    dropped: list[str] = field(default_factory=list)  #: empty constraints that were dropped


def _layout(ds: xr.Dataset) -> tuple[dict[str, tuple[int, tuple[int, ...]]], int]:
    offsets: dict[str, tuple[int, tuple[int, ...]]] = {}
    n = 0
    for key in FLOW_ARRAYS:
        shape = tuple(ds.sizes[d] for d in SCHEMA[key].dims)
        offsets[key] = (n, shape)
        n += int(np.prod(shape))
    return offsets, n


def _flatten(ds: xr.Dataset) -> np.ndarray:
    return np.concatenate([np.asarray(ds[k].transpose(*SCHEMA[k].dims).values, dtype=float)
                           .ravel() for k in FLOW_ARRAYS])


def _constraints(ds: xr.Dataset, targets: Sequence[Target]
                 ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Dense constraint matrix A (m, n), right-hand side b and constraint names."""
    offsets, n = _layout(ds)
    regions = [str(v) for v in ds.region.values]
    goods = [str(v) for v in ds.commodity.values]
    nr, nc = len(regions), len(goods)
    m_bal = 2 * nc * nr
    A = np.zeros((m_bal + len(targets), n))

    def mk(c: np.ndarray, r: np.ndarray) -> np.ndarray:    # market (activity) row of (c, r)
        return c * nr + r

    def im(c: np.ndarray, r: np.ndarray) -> np.ndarray:    # import-market row of (c, r)
        return nc * nr + c * nr + r

    def cells(key: str) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        off, shape = offsets[key]
        idx = np.indices(shape).reshape(len(shape), -1)
        return off + np.arange(int(np.prod(shape))), tuple(idx)

    # vdfm[i, j, r]: sale of (i, r) (+), cost of activity (j, r) (-)
    col, (i, j, r) = cells("vdfm")
    np.add.at(A, (mk(i, r), col), 1.0)
    np.add.at(A, (mk(j, r), col), -1.0)
    # vifm[i, j, r]: cost of (j, r) (-), use of imported (i, r) (-)
    col, (i, j, r) = cells("vifm")
    np.add.at(A, (mk(j, r), col), -1.0)
    np.add.at(A, (im(i, r), col), -1.0)
    # vfm[f, j, r]: cost of (j, r) (-)
    col, (_f, j, r) = cells("vfm")
    np.add.at(A, (mk(j, r), col), -1.0)
    # vdfd[i, a, r]: sale of (i, r) (+)
    col, (i, _a, r) = cells("vdfd")
    np.add.at(A, (mk(i, r), col), 1.0)
    # vifd[i, a, r]: use of imported (i, r) (-)
    col, (i, _a, r) = cells("vifd")
    np.add.at(A, (im(i, r), col), -1.0)
    # vxmd[i, s, r]: sale of (i, s) (+), supply to the import market of (i, r) (+)
    col, (i, s, r) = cells("vxmd")
    np.add.at(A, (mk(i, s), col), 1.0)
    np.add.at(A, (im(i, r), col), 1.0)

    b = np.zeros(A.shape[0])
    b[:nc * nr] = ds.vto.transpose("activity", "region").values.ravel()
    trade_tax = (ds.vtx + ds.vtm).transpose("commodity", "exporter", "importer").values
    b[nc * nr:m_bal] = -trade_tax.sum(axis=1).ravel()
    names = ([f"activity {c} / {r}" for c in goods for r in regions]
             + [f"import market {c} / {r}" for c in goods for r in regions])

    for t, target in enumerate(targets):
        row = np.zeros(n)
        for key, w in target.weights.items():
            if key not in offsets:
                raise DataError(f"target '{target.name}': '{key}' is not a flow array "
                                f"({list(FLOW_ARRAYS)})")
            off, shape = offsets[key]
            dims = SCHEMA[key].dims
            if isinstance(w, xr.DataArray):
                coef = xr.broadcast(w, xr.zeros_like(ds[key], dtype=float))[0]
                coef = coef.transpose(*dims).values
            else:
                coef = np.full(shape, float(w))
            row[off:off + int(np.prod(shape))] += coef.ravel()
        A[m_bal + t] = row
        b[m_bal + t] = float(target.value)
        names.append(f"target {target.name}")
    return A, b, names


def balance(ds: xr.Dataset, targets: Sequence[Target] = (), *, tol: float = 1e-12,
            max_iter: int = 200) -> BalanceResult:
    """Balance ``ds`` (the prior) so that every account balances and every target holds.

    See the module docstring for the method. Raises :class:`DataError` if the problem is
    infeasible (a target or account that the prior's non-zero cells cannot reach) or Newton does
    not converge to ``tol``.
    """
    check_structure(ds)
    x0 = _flatten(ds)
    A, b, names = _constraints(ds, targets)
    support = x0 > 0
    As = A[:, support]
    total0 = float(x0[support].sum())
    xr0 = x0[support] / total0
    br = b / total0
    size = np.abs(As) @ xr0
    keep = size > 0
    dropped = []
    for k in np.flatnonzero(~keep):
        if abs(br[k]) > 1e-15:
            raise DataError(f"balance: constraint '{names[k]}' involves no non-zero cell of the "
                            f"prior but must equal {b[k]:.6g}: infeasible")
        dropped.append(names[k])
    As, br, size = As[keep], br[keep], size[keep]
    kept_names = [nm for nm, k in zip(names, keep, strict=True) if k]
    An = As / size[:, None]
    bn = br / size
    lam = np.zeros(An.shape[0])

    def state(lam: np.ndarray) -> tuple[np.ndarray, float]:
        x = xr0 * np.exp(An.T @ lam)
        return x, float(x.sum() - bn @ lam)

    x, f = state(lam)
    it = 0
    g = An @ x - bn
    while np.max(np.abs(g)) > tol:
        if it >= max_iter:
            worst = int(np.argmax(np.abs(g)))
            raise DataError(f"balance: no convergence after {max_iter} Newton iterations; "
                            f"largest residual {g[worst]:.3g} in '{kept_names[worst]}'")
        H = (An * x) @ An.T
        d = np.linalg.lstsq(H, -g, rcond=None)[0]
        slope = float(g @ d)
        move = float(np.max(np.abs(An.T @ d)))
        t = min(1.0, 5.0 / move) if move > 0 else 1.0
        while True:
            x_new, f_new = state(lam + t * d)
            if f_new <= f + 1e-4 * t * slope or t < 1e-12:
                break
            t *= 0.5
        lam = lam + t * d
        x, f = x_new, f_new
        g_new = An @ x - bn
        it += 1
        if t < 1e-12 and np.max(np.abs(g_new)) >= np.max(np.abs(g)):
            worst = int(np.argmax(np.abs(g_new)))
            raise DataError(f"balance: line search failed (infeasible targets?); largest "
                            f"residual {g_new[worst]:.3g} in '{kept_names[worst]}'")
        g = g_new

    xfull = np.zeros_like(x0)
    xfull[support] = x * total0
    out = ds.copy(deep=True)
    offsets, _ = _layout(ds)
    changes = {}
    rows = []
    for key in FLOW_ARRAYS:
        off, shape = offsets[key]
        dims = SCHEMA[key].dims
        new = xfull[off:off + int(np.prod(shape))].reshape(shape)
        old = x0[off:off + int(np.prod(shape))].reshape(shape)
        out[key] = ds[key].transpose(*dims).copy(data=new)
        rel = np.where(old > 0, new / np.where(old > 0, old, 1.0) - 1.0, np.nan)
        changes[key] = xr.DataArray(rel, dims=dims, coords={d: ds[d] for d in dims},
                                    attrs={"description": f"relative change of {key}: "
                                                          "balanced / prior - 1 (NaN: zero)"})
        nz = old > 0
        absrel = np.abs(rel[nz])
        rows.append({
            "array": key,
            "nonzero_cells": int(nz.sum()),
            "max_abs_rel_change": float(absrel.max()) if absrel.size else 0.0,
            "mean_abs_rel_change": float(absrel.mean()) if absrel.size else 0.0,
            "value_weighted_abs_rel_change": (float(np.abs(new - old).sum() / old.sum())
                                              if old.sum() > 0 else 0.0),
            "total_prior": float(old.sum()),
            "total_balanced": float(new.sum()),
        })
    tgt_rows = []
    for target in targets:
        achieved = target.total(out)
        tgt_rows.append({"target": target.name, "value": float(target.value),
                         "prior": target.total(ds), "achieved": achieved,
                         "rel_gap": (achieved - target.value) / target.value
                         if target.value else achieved})
    return BalanceResult(
        dataset=out,
        changes=xr.Dataset(changes),
        summary=pd.DataFrame(rows),
        targets=pd.DataFrame(tgt_rows, columns=["target", "value", "prior", "achieved",
                                                "rel_gap"]),
        iterations=it,
        max_residual=float(np.max(np.abs(g))) if g.size else 0.0,
        dropped=dropped,
    )
