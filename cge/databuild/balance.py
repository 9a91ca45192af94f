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

A target with a ``tolerance`` (relative to its value) is **soft**: instead of an equality it
enters the objective as a quadratic penalty on its miss (below). Accounts and targets without a
tolerance are equalities.

Taxes (``vto, vtfd, vtx, vtm``) and transfers ``vtrf`` are held as they are (constants). The
solution has the multiplicative form ``x = x0 * exp(A' lambda)``: each cell is multiplied by the
product of one factor per account it enters (a row factor and a column factor, as in RAS, plus a
factor per target it belongs to). So zero cells stay zero, every cell keeps its sign, and cells
that enter the same accounts in the same way move together: e.g. the labour/capital split of each
activity and the defense/civil split of each government purchase are preserved exactly. The dual
``sum_k x0_k exp((A' lambda)_k) - b' lambda`` (smooth and convex in the multipliers ``lambda``,
one per constraint; cells normalised to sum 1 and each constraint divided by its size ``|A| x0``,
so residuals are relative) is minimised by Newton's method from ``lambda = 0`` with a
backtracking line search.

Soft targets (a figure known only to a few percent, or several figures from different sources
that cannot all hold at once: US imports by sector from Census and output by sector from
ADB MRIO, ...). With ``g_k = (a_k x - b_k) / s_k`` the miss of target ``k`` relative to its
size ``s_k = |a_k| x0`` and ``tau_k`` its tolerance expressed in the same unit (``tolerance_k
|b_k| / s_k``), the primal adds ``sum_k rho_k g_k^2 / 2`` with ``rho_k = S w_k / tau_k``,
``w_k`` the target's share of all prior flows and ``S`` = :data:`SOFT_STIFFNESS`. In the dual
this is ``+ sum_k lambda_k^2 / (2 rho_k)`` (the Hessian gains ``1 / rho_k`` on the diagonal)
and at the optimum ``g_k = -lambda_k / rho_k``. As the target's own multiplier scales its cells
by ``exp(mu_k)``, ``mu_k = lambda_k / w_k``, this reads ``g_k / tau_k = -mu_k / S``: a target is
missed by its whole tolerance only where holding it would take its own multiplier to move its
cells by a factor ``e**S``. With ``S = 100`` a target that no other figure contradicts is held
to a small fraction of its tolerance (it is, in effect, an equality that cannot make the
problem infeasible), while figures that contradict each other (the same total published twice,
or sector figures of one source against totals of another) share the difference **in
proportion to their tolerances** (one total given twice: ``g_1 / tau_1 = g_2 / tau_2``).
Whether every soft target ends within its tolerance is reported (``targets.within``) and
checked by the caller (:func:`check_tolerances`): a miss beyond it means the figures conflict
more than their stated precision allows.

Stopping rule. Newton stops at the **first** iterate at which every constraint's residual is at
most ``max(tol, floor_k)``: ``tol`` relative to its size (default 1e-12), but never less than
``floor_k``, a bound on the rounding error of evaluating that residual at the exactly rounded
solution (machine epsilon times its number of terms plus a few, times its gross size, times a
safety factor 4; see ``_residual``). Floating point can therefore always meet the rule (even
with ``tol = 0``), and a residual stuck above it means the problem, not rounding, is at fault:
a Newton step that decreases neither the dual nor the residual, or ``max_iter`` iterations
without meeting the rule, raises :class:`DataError`. Stopping at the first iterate meeting the
rule (rather than "polishing" at the noise floor, where the residual only jitters) makes the
number of iterations a property of the data and the arithmetic below, not of rounding luck.

Determinism: the same bytes on every machine. Every number comes from IEEE-754 basic operations
(``+ - * /`` and ``sqrt``, correctly rounded everywhere) in an order fixed by the data: sparse
products as sums over the matrix entries in row-major order (``np.bincount``), the Newton system
solved by Gaussian elimination written with elementwise numpy operations, ``exp`` by
:func:`ieee_exp`. Nothing goes through BLAS/LAPACK (whose kernels differ with the CPU, with the
number of threads and, in x87 code such as OpenBLAS's ``dnrm2``, with the x87 precision control
that loading the AMPL library changes) or numpy's ``np.exp`` (numpy's own SIMD code on AVX-512
machines, the C library's elsewhere, differing in the last bit). Before, the balanced data
differed in the last digits between machines and with the FPU state (and failed to converge with
53-bit x87 precision: the rule ``max |residual| <= 1e-12`` sat at a noise-dependent floor).

After :func:`balance`, :func:`cge.data.benchmark.complete` derives ``vom``, direct taxes and
saving, and :func:`cge.data.benchmark.check_balance` passes at 1e-9.

Reporting: :func:`balance` returns how far each cell moved (``changes``: ``x / x0 - 1`` per flow
array, NaN where the prior is zero) and a summary per array (max and mean absolute relative change,
value-weighted mean, totals before and after), plus each target's value before and after.
"""

from __future__ import annotations

import math
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
    #: Relative tolerance (of ``|value|``); 0: held exactly (an equality), > 0: soft target.
    tolerance: float = 0.0

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
    if any(not t.tolerance >= 0.0 for t in targets):
        bad = next(t for t in targets if not t.tolerance >= 0.0)
        raise DataError(f"target '{bad.name}': tolerance {bad.tolerance} is not >= 0")

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

    See the module docstring for the method and the stopping rule (every constraint within
    ``tol`` of its size, or within the rounding-error bound of its residual if that is larger).
    Raises :class:`DataError` if the problem is infeasible (a target or account that the
    prior's non-zero cells cannot reach), if Newton stops making progress, or if it has not
    converged after ``max_iter`` iterations.
    """
    check_structure(ds)
    x0 = _flatten(ds)
    A, b, names = _constraints(ds, targets)
    support = x0 > 0
    total0 = float(x0[support].sum())
    xr0 = x0[support] / total0
    tolerance = np.zeros(len(b))
    tolerance[len(b) - len(targets):] = [t.tolerance for t in targets]
    a, bn, kept_names, dropped, inv_rho = _normalised(A[:, support], b, total0, xr0, names,
                                                      tolerance)
    x, g, iterations = _newton(a, bn, xr0, kept_names, tol=tol, max_iter=max_iter,
                               inv_rho=inv_rho)
    xfull = np.zeros_like(x0)
    xfull[support] = x * total0
    return _result(ds, targets, x0, xfull, g, iterations, dropped)


# --------------------------------------------------------------------------------------------
# Deterministic arithmetic: IEEE-754 basic operations in a fixed order, no BLAS/LAPACK, no libm
# --------------------------------------------------------------------------------------------
#: Machine epsilon of float64.
EPS = float(np.finfo(float).eps)
#: Safety factor on the rounding-error bound of a residual (:func:`_residual`).
FLOOR_FACTOR = 4.0
#: A pivot below this fraction of its diagonal marks a linearly dependent constraint.
PIVOT_RTOL = 1e-12
#: Soft targets: the log-move of a target's cells by its own multiplier at which it is missed by
#: its whole tolerance (module docstring).
SOFT_STIFFNESS = 100.0

_LN2_HI = 6.93147180369123816490e-01   # fdlibm's split of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(14))


def ieee_exp(z: np.ndarray) -> np.ndarray:
    """``e**z`` elementwise from IEEE-754 basic operations only, so the same bits on every machine.

    (``np.exp`` is not: on AVX-512 machines numpy uses its own SIMD code, elsewhere the C
    library's, and the two differ in the last bit.) ``z = k ln 2 + r`` with integer ``k`` and
    ``|r| <= ln(2) / 2`` (Cody-Waite reduction with fdlibm's two-part ln 2); ``e**r`` is its
    Taylor polynomial of degree 13 (truncation error below 4e-18 relative) in Horner form;
    ``e**z = 2**k e**r`` (``ldexp``, exact). About 1 ulp; overflow gives ``inf``, underflow 0.
    """
    z = np.clip(np.asarray(z, dtype=float), -746.0, 710.0)
    k = np.rint(z * _INV_LN2)
    r = (z - k * _LN2_HI) - k * _LN2_LO
    p = np.full_like(r, _EXP_TAYLOR[-1])
    for c in _EXP_TAYLOR[-2::-1]:
        p = p * r + c
    with np.errstate(over="ignore"):
        return np.ldexp(p, np.nan_to_num(k).astype(np.int32))


@dataclass
class _Sparse:
    """A sparse matrix by its entries ``(rows, cols, vals)`` in row-major order. Products are
    sums of the entries' terms in that order (``np.bincount``): one multiplication and one
    addition per entry, the same bits on every machine, whatever BLAS and threads."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def from_dense(cls, dense: np.ndarray) -> _Sparse:
        """The non-zero entries of ``dense``, row by row."""
        rows, cols = np.nonzero(dense)
        return cls(rows, cols, dense[rows, cols], (int(dense.shape[0]), int(dense.shape[1])))

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``A @ x``."""
        return np.bincount(self.rows, weights=self.vals * x[self.cols], minlength=self.shape[0])

    def abs_matvec(self, x: np.ndarray) -> np.ndarray:
        """``|A| @ x``."""
        return np.bincount(self.rows, weights=np.abs(self.vals) * x[self.cols],
                           minlength=self.shape[0])

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        """``A.T @ y``."""
        return np.bincount(self.cols, weights=self.vals * y[self.rows], minlength=self.shape[1])

    def row_counts(self) -> np.ndarray:
        """Number of entries of each row."""
        return np.bincount(self.rows, minlength=self.shape[0])

    def keep_rows(self, keep: np.ndarray, scale: np.ndarray) -> _Sparse:
        """The rows where ``keep``, each divided by its ``scale``."""
        new_index = np.cumsum(keep) - 1
        sel = keep[self.rows]
        rows = self.rows[sel]
        return _Sparse(new_index[rows], self.cols[sel], self.vals[sel] / scale[rows],
                       (int(keep.sum()), self.shape[1]))

    def gram_pattern(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every ordered pair of entries ``(k, j), (l, j)`` in one column: the flat index
        ``k * m + l`` of ``A diag(x) A.T``, the column ``j`` and ``a_kj a_lj``."""
        order = np.argsort(self.cols, kind="stable")
        rows, cols, vals = self.rows[order], self.cols[order], self.vals[order]
        n, m = len(cols), self.shape[0]
        width = int(np.bincount(cols).max()) if n else 0
        flat, col, coef = [], [], []
        for shift in range(1 - width, width):
            p = np.arange(max(0, -shift), min(n, n - shift))
            p = p[cols[p] == cols[p + shift]]
            q = p + shift
            flat.append(rows[p] * m + rows[q])
            col.append(cols[p])
            coef.append(vals[p] * vals[q])
        if not flat:
            return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
        return np.concatenate(flat), np.concatenate(col), np.concatenate(coef)


def _gram(pattern: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray,
          m: int) -> np.ndarray:
    """The dual's Hessian ``A diag(x) A.T`` (m, m) from :meth:`_Sparse.gram_pattern`."""
    flat, col, coef = pattern
    return np.bincount(flat, weights=coef * x[col], minlength=m * m).reshape(m, m)


def _solve(h: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``h d = rhs`` for symmetric positive semi-definite ``h``: Gaussian elimination in
    the natural order (no pivoting, which is stable for such matrices) and back substitution,
    with elementwise numpy operations only. A pivot below :data:`PIVOT_RTOL` times its diagonal
    marks a constraint that depends linearly on earlier ones: its component of ``d`` is 0 (as in
    a pseudo-inverse solution when the system is consistent; when it is not, the residual of
    that constraint stays and the stopping rule reports it)."""
    a, b = h.copy(), rhs.copy()
    m = len(b)
    independent = np.zeros(m, dtype=bool)
    for k in range(m):
        if not a[k, k] > PIVOT_RTOL * h[k, k]:
            continue
        independent[k] = True
        factor = a[k + 1:, k] / a[k, k]
        a[k + 1:, k + 1:] -= factor[:, None] * a[k, k + 1:]
        b[k + 1:] -= factor * b[k]
    d = np.zeros(m)
    for k in range(m - 1, -1, -1):
        if independent[k]:
            d[k] = b[k] / a[k, k]
            b[:k] -= a[:k, k] * d[k]
    return d


# --------------------------------------------------------------------------------------------
# Newton's method on the dual
# --------------------------------------------------------------------------------------------
def _normalised(a_support: np.ndarray, b: np.ndarray, total0: float, xr0: np.ndarray,
                names: list[str], tolerance: np.ndarray
                ) -> tuple[_Sparse, np.ndarray, list[str], list[str], np.ndarray]:
    """The constraints on the prior's support, each divided by its size ``|A| x0`` (cells
    normalised to sum 1), so residuals are relative; constraints on no cell are dropped (an
    error if their right-hand side is not 0). Also ``1 / rho_k`` of each kept constraint (0 for
    equalities; soft targets: module docstring)."""
    a = _Sparse.from_dense(a_support)
    size = a.abs_matvec(xr0)
    keep = size > 0
    dropped = []
    for k in np.flatnonzero(~keep):
        if abs(b[k] / total0) > 1e-15:
            raise DataError(f"balance: constraint '{names[k]}' involves no non-zero cell of the "
                            f"prior but must equal {b[k]:.6g}: infeasible")
        dropped.append(names[k])
    kept = [nm for nm, k in zip(names, keep, strict=True) if k]
    bn = b[keep] / total0 / size[keep]
    w = size[keep]
    # tau = tolerance |b| / size in the normalised unit; rho = S w / tau.
    tau = tolerance[keep] * np.abs(bn)
    inv_rho = np.where(tau > 0, tau / (SOFT_STIFFNESS * np.where(w > 0, w, 1.0)), 0.0)
    return a.keep_rows(keep, size), bn, kept, dropped, inv_rho


def _dual(a: _Sparse, xr0: np.ndarray, bn: np.ndarray, lam: np.ndarray,
          inv_rho: np.ndarray) -> tuple[np.ndarray, float]:
    """The cells ``x = x0 exp(A' lambda)`` and the dual objective ``sum x - bn' lambda +
    sum lambda^2 / (2 rho)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        x = xr0 * ieee_exp(a.rmatvec(lam))
        return x, float(np.sum(x) - np.sum(bn * lam) + np.sum(0.5 * inv_rho * lam * lam))


def _residual(a: _Sparse, x: np.ndarray, bn: np.ndarray, tol: float, lam: np.ndarray,
              inv_rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradient ``A x - bn + lambda / rho`` of every constraint (for an equality its
    residual) and its ratio to the stopping limit.

    The limit of constraint ``k`` is ``max(tol, floor_k)``, where ``floor_k = FLOOR_FACTOR eps
    (n_k + 4) (|A_k| x + |bn_k|)`` bounds the rounding error of computing the residual of its
    ``n_k`` terms at the exactly rounded solution (``n_k`` ulps of the sequential sum, a few
    ulps of each term from ``exp`` and its argument), so that a limit is always attainable."""
    with np.errstate(invalid="ignore"):
        penalty = inv_rho * lam
        g = a.matvec(x) - bn + penalty
        floor = FLOOR_FACTOR * EPS * (a.row_counts() + 5) * (a.abs_matvec(x) + np.abs(bn)
                                                             + np.abs(penalty))
        return g, np.abs(g) / np.maximum(tol, floor)


def _failure(what: str, g: np.ndarray, excess: np.ndarray, names: list[str]) -> DataError:
    worst = int(np.argmax(np.where(np.isnan(excess), np.inf, excess)))
    return DataError(f"balance: {what}; largest residual {g[worst]:.3g} (relative to the "
                     f"constraint's size) in '{names[worst]}'")


def _newton(a: _Sparse, bn: np.ndarray, xr0: np.ndarray, names: list[str], *, tol: float,
            max_iter: int, inv_rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Minimise the dual from ``lambda = 0``; stop at the first iterate whose residuals are all
    within their limits (:func:`_residual`). Returns the cells, the residuals and the number of
    Newton iterations."""
    lam = np.zeros(a.shape[0])
    x, f = _dual(a, xr0, bn, lam, inv_rho)
    pattern = a.gram_pattern()
    diag = np.arange(a.shape[0])
    for it in range(max_iter + 1):
        g, excess = _residual(a, x, bn, tol, lam, inv_rho)
        if np.all(excess <= 1.0):
            return x, g, it
        if it == max_iter:
            raise _failure(f"no convergence after {max_iter} Newton iterations", g, excess, names)
        hessian = _gram(pattern, x, a.shape[0])
        hessian[diag, diag] += inv_rho
        d = _solve(hessian, -g)
        step = _line_search(a, xr0, bn, tol, lam, d, f, g, float(np.max(excess)), inv_rho)
        if step is None:
            raise _failure(f"no progress at Newton iteration {it + 1} (neither the dual "
                           "objective nor the residual decreases along the Newton direction: "
                           "inconsistent or infeasible targets?)", g, excess, names)
        lam, x, f = step
    raise AssertionError("unreachable")


def _line_search(a: _Sparse, xr0: np.ndarray, bn: np.ndarray, tol: float, lam: np.ndarray,
                 d: np.ndarray, f: float, g: np.ndarray, worst: float,
                 inv_rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Backtrack from the Newton step (shortened so that no cell changes by more than a factor
    ``e**5``) by halving. A step is accepted if it gives Armijo's sufficient decrease of the dual
    or, where the decrease that asks for is below the dual's rounding error (next to the
    solution, or along a direction that changes nothing), if it lowers the largest
    residual-to-limit ratio below ``worst``. None when the step falls below 1e-12."""
    slope = float(np.sum(g * d))
    move = float(np.max(np.abs(a.rmatvec(d)))) if d.size else 0.0
    t = min(1.0, 5.0 / move) if move > 0 else 1.0
    resolution = 8.0 * EPS * max(1.0, abs(f))
    while t >= 1e-12:
        lam_t = lam + t * d
        x_t, f_t = _dual(a, xr0, bn, lam_t, inv_rho)
        if -t * slope <= resolution:
            if np.max(_residual(a, x_t, bn, tol, lam_t, inv_rho)[1]) < worst:
                return lam_t, x_t, f_t
        elif f_t <= f + 1e-4 * t * slope:
            return lam_t, x_t, f_t
        t *= 0.5
    return None


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def _result(ds: xr.Dataset, targets: Sequence[Target], x0: np.ndarray, xfull: np.ndarray,
            g: np.ndarray, iterations: int, dropped: list[str]) -> BalanceResult:
    """The balanced data set with the relative change of every cell and the summaries."""
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
        gap = (achieved - target.value) / abs(target.value) if target.value else achieved
        tgt_rows.append({"target": target.name, "value": float(target.value),
                         "prior": target.total(ds), "achieved": achieved, "rel_gap": gap,
                         "tolerance": float(target.tolerance),
                         "within": bool(abs(gap) <= target.tolerance) if target.tolerance
                         else True})
    return BalanceResult(
        dataset=out,
        changes=xr.Dataset(changes),
        summary=pd.DataFrame(rows),
        targets=pd.DataFrame(tgt_rows, columns=["target", "value", "prior", "achieved",
                                                "rel_gap", "tolerance", "within"]),
        iterations=iterations,
        max_residual=float(np.max(np.abs(g))) if g.size else 0.0,
        dropped=dropped,
    )


def check_tolerances(result: BalanceResult) -> None:
    """Raise :class:`DataError` naming every soft target that :func:`balance` missed by more
    than its tolerance (largest first): the figures conflict more than their tolerances allow,
    and the data set must not be built until a figure or a tolerance is corrected."""
    t = result.targets
    bad = t[~t.within.astype(bool)]
    if len(bad):
        bad = bad.reindex(bad.rel_gap.abs().sort_values(ascending=False).index)
        lines = "; ".join(f"{r.target}: {r.achieved:.6g} vs {r.value:.6g} "
                          f"({100 * r.rel_gap:+.2f} %, tolerance {100 * r.tolerance:.1f} %)"
                          for r in bad.head(10).itertuples())
        raise DataError(f"balance: {len(bad)} target(s) missed by more than their tolerance: "
                        f"{lines}")
