r"""Summaries of a sensitivity sweep: the central value, mean, standard deviation and 5-95 % band
of every numeric result, and how often each region's EV keeps its central sign.

For results :math:`x_k` of the draws k with weights :math:`w_k` (:math:`\sum w_k = 1` over the
draws that solved; a failed draw is left out and counted):

* ``mean`` :math:`= \sum_k w_k x_k`;
* ``sd``: Monte Carlo — the sample standard deviation (``ddof = 1``); quadrature — the rule's
  :math:`\sqrt{\sum_k w_k (x_k - \bar x)^2}` (GTAP's SSA reports this: exact for results that
  are polynomials of degree <= 3 in the parameters, Arndt 1996);
* ``p05``/``p95``: Monte Carlo — the empirical 5 % and 95 % quantiles (linear interpolation);
  quadrature — :math:`\bar x \mp 1.645\,sd`, the normal approximation (a quadrature rule gives
  moments, not quantiles), said in the attrs;
* ``central``: the result at the central elasticities (the run without uncertainty).

``EV_sign_share`` (scenario, region): the share of draws (weighted) in which the EV has the
sign of the central EV (1 = robust in sign; 0.5 = a coin toss).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import xarray as xr

__all__ = ["STATS", "summarise"]

STATS = ("central", "mean", "sd", "p05", "p95")
#: z of the 5-95 % band under the normal approximation (quadrature).
Z90 = 1.6448536269514722


def _weights(results: xr.Dataset) -> xr.DataArray:
    if "draw_weight" in results:
        return results["draw_weight"]
    n = results.sizes["draw"]
    return xr.DataArray(np.full(n, 1.0 / n), dims="draw", coords={"draw": results.draw})


def _stats(x: xr.DataArray, w: xr.DataArray, central: xr.DataArray | None,
           method: str) -> xr.DataArray:
    with warnings.catch_warnings():      # a cell without any finite draw is NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return _stats_of(x, w, central, method)


def _stats_of(x: xr.DataArray, w: xr.DataArray, central: xr.DataArray | None,
              method: str) -> xr.DataArray:
    ok = np.isfinite(x)
    wk = w.where(ok, 0.0)
    wsum = wk.sum("draw")
    mean = (x.fillna(0.0) * wk).sum("draw") / wsum
    dev2 = ((x - mean) ** 2).fillna(0.0) * wk
    if method == "quadrature":
        sd = np.sqrt(dev2.sum("draw") / wsum)
        lo, hi = mean - Z90 * sd, mean + Z90 * sd
    else:
        n = ok.sum("draw")
        sd = np.sqrt(dev2.sum("draw") / wsum * n / np.maximum(n - 1, 1))
        lo = x.quantile(0.05, dim="draw", skipna=True).drop_vars("quantile")
        hi = x.quantile(0.95, dim="draw", skipna=True).drop_vars("quantile")
    cen = central if central is not None else xr.full_like(mean, np.nan)
    return xr.concat([cen, mean, sd, lo, hi], dim=xr.DataArray(list(STATS), dims="stat"),
                     coords="minimal", compat="override", join="outer")


def summarise(results: xr.Dataset, central: Mapping[str, xr.Dataset], method: str
              ) -> xr.Dataset:
    """The summary Dataset of stacked sweep results (:func:`cge.sensitivity.sweep.collect`):
    each numeric variable with dims (scenario, draw, ...) becomes (stat, scenario, ...), stat
    in :data:`STATS`; plus ``EV_sign_share`` and ``draws_solved`` (scenario)."""
    if not results.data_vars or "draw" not in results.dims:
        return xr.Dataset(attrs={"method": method, "empty": 1})
    w = _weights(results)
    names = [str(s) for s in results.scenario.values]
    out = {}
    for var in results.data_vars:
        if var == "draw_weight" or "draw" not in results[var].dims:
            continue
        x = results[var]
        cen = None
        if all(n in central and var in central[n] for n in names):
            cen = xr.concat([central[n][var] for n in names],
                            dim=xr.DataArray(names, dims="scenario"), join="outer")
        out[var] = _stats(x, w, cen, method)
    ds = xr.Dataset(out)
    if "EV" in results:
        ev = results["EV"]
        cen = ds["EV"].sel(stat="central")
        same = (np.sign(ev) == np.sign(cen)).where(np.isfinite(ev))
        wk = w.where(np.isfinite(ev), 0.0)
        ds["EV_sign_share"] = (same.fillna(0.0) * wk).sum("draw") / wk.sum("draw")
        ds["EV_sign_share"].attrs["description"] = ("weighted share of draws in which the EV "
                                                    "has the central EV's sign")
    probe = results["EV"] if "EV" in results else results[next(iter(results.data_vars))]
    extra = [d for d in probe.dims if d not in ("scenario", "draw")]
    solved = np.isfinite(probe).any(extra) if extra else np.isfinite(probe)
    ds["draws_solved"] = solved.sum("draw")
    ds.attrs.update({"method": method, "stats": ", ".join(STATS),
                     "band": ("normal approximation mean -+ 1.645 sd" if method == "quadrature"
                              else "empirical 5 % and 95 % quantiles of the draws")})
    for var in ds.data_vars:
        if var in results and "units" in results[var].attrs:
            ds[var].attrs["units"] = results[var].attrs["units"]
    return ds
