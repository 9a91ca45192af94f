"""Small benchmark data sets: one written by hand, and random balanced economies.

Both are built the way an economist would write a SAM: flows first, then the accounts that close
it are derived (:func:`cge.data.benchmark.complete`), then the balance is checked.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cge.data.benchmark import check_balance, complete, empty_benchmark


def two_by_two() -> xr.Dataset:
    """Two regions (HOME, FOREIGN), two goods (food, cloth), labour and capital; US$ million.

    HOME is relatively food-intensive, FOREIGN cloth-intensive; each buys both goods from both
    sources; a 5 % tariff on HOME's cloth imports; trade balanced; no government saving.
    """
    ds = empty_benchmark(["HOME", "FOREIGN"], ["food", "cloth"], ["labour", "capital"],
                         name="two_by_two", year=2024)

    def put(key, value, **where):
        ds[key].loc[where] = value

    # intermediate use (domestic), by commodity x activity
    for r, (ff, fc, cf, cc) in {"HOME": (10, 5, 4, 6), "FOREIGN": (6, 4, 5, 12)}.items():
        put("vdfm", ff, commodity="food", activity="food", region=r)
        put("vdfm", fc, commodity="food", activity="cloth", region=r)
        put("vdfm", cf, commodity="cloth", activity="food", region=r)
        put("vdfm", cc, commodity="cloth", activity="cloth", region=r)
    # final demand, domestic varieties
    fd = {"HOME": {"food": (50, 8, 2, 10), "cloth": (30, 4, 1, 15)},
          "FOREIGN": {"food": (35, 6, 1, 8), "cloth": (55, 7, 2, 20)}}
    for r, rows in fd.items():
        for i, vals in rows.items():
            for a, v in zip(("household", "government", "defense", "investment"), vals,
                            strict=True):
                put("vdfd", v, commodity=i, agent=a, region=r)
    # trade: HOME exports food, FOREIGN exports cloth
    put("vxmd", 20.0, commodity="food", exporter="HOME", importer="FOREIGN")
    put("vxmd", 4.0, commodity="cloth", exporter="HOME", importer="FOREIGN")
    put("vxmd", 6.0, commodity="food", exporter="FOREIGN", importer="HOME")
    put("vxmd", 18.0, commodity="cloth", exporter="FOREIGN", importer="HOME")
    put("vtm", 0.9, commodity="cloth", exporter="FOREIGN", importer="HOME")   # 5 % tariff
    # imported purchases at landed prices: HOME food 6, cloth 18.9; FOREIGN food 20, cloth 4
    for r, i, splits in (("HOME", "food", (1.0, 1.0, 3.0, 0.5, 0.0, 0.5)),
                         ("HOME", "cloth", (1.9, 3.0, 12.0, 1.0, 0.0, 1.0)),
                         ("FOREIGN", "food", (3.0, 2.0, 13.0, 1.0, 0.0, 1.0)),
                         ("FOREIGN", "cloth", (0.5, 1.0, 2.0, 0.0, 0.0, 0.5))):
        put("vifm", splits[0], commodity=i, activity="food", region=r)
        put("vifm", splits[1], commodity=i, activity="cloth", region=r)
        for a, v in zip(("household", "government", "defense", "investment"), splits[2:],
                        strict=True):
            put("vifd", v, commodity=i, agent=a, region=r)
    ds = complete(ds)
    # factor payments = output - intermediate inputs, split 60/40 (food) and 50/50 (cloth)
    va = ds.vom - (ds.vdfm + ds.vifm).sum("commodity")
    ds["vfm"].loc[{"factor": "labour"}] = va * xr.DataArray([0.6, 0.5], dims="activity",
                                                             coords={"activity": ds.activity})
    ds["vfm"].loc[{"factor": "capital"}] = va - ds.vfm.sel(factor="labour")
    ds = complete(ds)
    check_balance(ds)
    return ds


def _transfers_for_positive_saving(ds: xr.Dataset, floor: float = 0.2) -> xr.Dataset:
    """Add international transfers so that each region's household saving is at least
    ``floor`` × its investment: regions short of saving receive transfers from the others in
    proportion to their surplus (random trade imbalances can otherwise imply negative saving)."""
    inv = (ds.vdfd + ds.vifd).sum("commodity").sel(agent="investment", drop=True)
    sh = ds.vsav.sel(institution="household", drop=True)
    need = (floor * inv - sh).clip(min=0.0)
    surplus = (sh - floor * inv).clip(min=0.0)
    if float(need.sum()) == 0.0 or float(surplus.sum()) <= float(need.sum()):
        return ds
    share = surplus / surplus.sum()
    ds = ds.copy(deep=True)
    ds["vtrf"].values[:] += np.outer(share.values, need.values)
    np.fill_diagonal(ds["vtrf"].values, 0.0)
    return complete(ds)


def random_benchmark(n_regions: int, n_sectors: int, seed: int = 0, *, taxes: bool = True,
                     n_factors: int = 2, sparsity: float = 0.0,
                     transfers: bool = True) -> xr.Dataset:
    """A random balanced global SAM with bilateral trade, intermediates and (optionally) taxes.

    Built like a multi-region input–output table: final demand flows ``F`` and technical
    coefficients ``A`` (column sums ≤ 0.45) are drawn at random, output solves ``x = A x + F 1``,
    value added is the column residual; international transfers are added where random trade
    imbalances would leave a region with little or negative household saving (unless
    ``transfers=False``: then draws are repeated until saving is positive). Tariffs (0–20 %),
    export taxes (0–5 %), output taxes (−2–8 %) and final-demand taxes (0–10 %) are added when
    ``taxes``. ``sparsity`` is the share
    of bilateral (exporter, importer, commodity) links set to zero (never the domestic ones).
    """
    rng = np.random.default_rng(seed)
    R, n = n_regions, n_sectors
    regions = [f"R{k}" for k in range(R)]
    sectors = [f"s{k}" for k in range(n)]
    factors = ["labour", "capital", "land", "resources"][:n_factors]
    for _ in range(50):
        size = rng.lognormal(0.0, 0.7, R) * 100.0
        # link[s, i, r]: does s ship i to r? home bias in magnitudes
        link = rng.random((R, n, R)) >= sparsity
        for r in range(R):
            link[r, :, r] = True
        home = np.where(np.eye(R, dtype=bool)[:, None, :], 4.0, 1.0)
        weight = link * home * rng.uniform(0.2, 1.0, (R, n, R))
        # final demand F[s, i, r, a] and technical coefficients A[s, i, r, j]
        agent_share = np.array([0.6, 0.12, 0.03, 0.25])
        F = (weight[..., None] * size[None, None, :, None] * agent_share
             * rng.uniform(0.5, 1.5, (R, n, R, 4)) / n)
        A = weight[..., None] * rng.uniform(0.0, 1.0, (R, n, R, n))
        colsum = A.sum(axis=(0, 1))
        A *= rng.uniform(0.15, 0.45, (R, n)) / colsum
        Am = A.reshape(R * n, R * n)
        x = np.linalg.solve(np.eye(R * n) - Am, F.sum(axis=3).reshape(R * n, R).sum(axis=1))
        Z = (Am * x[None, :]).reshape(R, n, R, n)
        ds = empty_benchmark(regions, sectors, factors, name=f"random_{R}x{n}_seed{seed}")
        tm = rng.uniform(0.0, 0.2, (R, n, R)) if taxes else np.zeros((R, n, R))
        tx = rng.uniform(0.0, 0.05, (R, n, R)) if taxes else np.zeros((R, n, R))
        for r in range(R):
            tm[r, :, r] = 0.0
            tx[r, :, r] = 0.0
        wedge = (1 + tx) * (1 + tm)                        # (s, i, r)
        eye = np.eye(R, dtype=bool)
        dom = eye[:, None, :]
        # domestic flows
        ds["vdfm"].values[:] = np.einsum("rirj->ijr", Z)
        ds["vdfd"].values[:] = np.einsum("rira->iar", F)
        # bilateral trade at exporter prices (off-diagonal)
        flows = Z.sum(axis=3) + F.sum(axis=3)              # (s, i, r)
        vxmd = np.where(dom, 0.0, flows)
        ds["vxmd"].values[:] = np.transpose(vxmd, (1, 0, 2))
        ds["vtx"].values[:] = np.transpose(vxmd * tx, (1, 0, 2))
        ds["vtm"].values[:] = np.transpose(vxmd * (1 + tx) * tm, (1, 0, 2))
        landed_Z = np.where(dom[..., None], 0.0, Z * wedge[..., None])
        landed_F = np.where(dom[..., None], 0.0, F * wedge[..., None])
        ds["vifm"].values[:] = np.einsum("sirj->ijr", landed_Z)
        ds["vifd"].values[:] = np.einsum("sira->iar", landed_F)
        vom = x.reshape(R, n).T                            # (activity, region)
        inputs = (ds.vdfm + ds.vifm).sum("commodity").values
        to = rng.uniform(-0.02, 0.08, (n, R)) if taxes else np.zeros((n, R))
        vto = vom * to / (1 + to)
        ds["vto"].values[:] = vto
        va = vom - vto - inputs
        shares = rng.dirichlet(np.ones(len(factors)), (n, R))  # (activity, region, factor)
        ds["vfm"].values[:] = np.transpose(va[..., None] * shares, (2, 0, 1))
        if taxes:
            purchases = (ds.vdfd + ds.vifd).sum("commodity")
            ds["vtfd"].values[:] = purchases.values * rng.uniform(0.0, 0.1, (4, R))
        ds = complete(ds)
        if transfers:
            ds = _transfers_for_positive_saving(ds)
        if (va > 0).all() and float(ds.vsav.sel(institution="household").min()) > 0:
            check_balance(ds)
            return ds
    raise RuntimeError("could not draw a random benchmark with positive saving")
