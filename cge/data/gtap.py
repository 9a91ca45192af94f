"""A GTAP data base folder as a data set: ``basedata.har`` (+ ``default.prm``) -> benchmark and
elasticities, so ``--data <folder>``, ``cge.Session(<folder>)`` and ``load_data(<folder>)``
take a GTAP data base as they take a folder of ``data/``.

A folder is a GTAP data base when it has no ``dataset.toml`` and its ``basedata.har`` holds the
GTAP 10A/11 header ``VDFB`` (detected by content, :func:`is_gtap_folder`). The benchmark is
:func:`cge.data.har.gtap_to_benchmark` of ``basedata.har`` (every treatment documented there);
its name is the folder's name, its year the reference year of the data base release (header
``DREL`` of ``default.prm`` or ``basedata.har``, e.g. ``Y2017``), its unit US$ million.

Elasticities (:func:`read_parameters`) come from the data base's own ``default.prm``:

==========  =================================================  =====================
model       GTAP parameter                                      note
==========  =================================================  =====================
``esubd``   ``ESBD(COMM, REG)``, domestic vs imported           one σ per commodity:
``esubm``   ``ESBM(COMM, REG)``, across sources of imports      the regions' values
``esubva``  ``ESBV(ACTS, REG)``, between primary factors        (see below)
==========  =================================================  =====================

The model has one σ per commodity. GTAP's standard parameters are the same in every region
(GTAP v7 keeps region-specific values in separate headers, ``SBDR``/``SBMR``/``SBVR``, not
used); where a header varies by region anyway, the simple mean over regions is used and
``attrs["notes"]`` says so, with the range.

Factor roles (:func:`read_factor_roles`) come from the same file: ``EFLG(ENDW, ENDWT)`` flags
each endowment ``mobile``, ``sluggish`` or ``fixed`` (GTAP's ENDM / ENDS / ENDF: labour and
capital mobile, land sluggish, natural resources fixed in the standard aggregation) and
``ETRE(ENDW, REG)`` gives a sluggish factor's CET transformation elasticity (ETRAE, negative
in GTAP; the model's ``etrae`` is its magnitude, the mean over regions where it varies). The
loaded benchmark carries them in ``attrs["factor_roles"]`` and ``attrs["etrae"]`` (JSON), which
:func:`cge.api.data_options` turns into the session's :class:`~cge.options.ModelOptions`.
Without ``EFLG`` the sets ``ENDS``/``ENDF`` of ``sets.har`` say which factors are sluggish and
fixed; without ``ETRE`` a sluggish factor's elasticity is 1 (an assumption: GTAP's standard
ETRAE of land, -1) and the notes say so.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from cge.data.benchmark import DataError

__all__ = ["BASEDATA", "PARAMETERS", "convert_gtap", "is_gtap_folder", "load_gtap",
           "read_factor_roles", "read_parameters"]

#: The data base's flows (GTAP headers, :data:`cge.data.har.GTAP_HEADERS`).
BASEDATA = "basedata.har"
#: The data base's parameters (elasticities).
PARAMETERS = "default.prm"
#: The data base's sets (factor roles when default.prm has no EFLG).
SETS = "sets.har"
#: GTAP set of endowments of each role (sets.har).
ROLE_SETS = {"ENDS": "sluggish", "ENDF": "fixed"}
#: A sluggish factor's transformation elasticity when the data base gives none (assumption:
#: GTAP's standard ETRAE of land is -1).
DEFAULT_ETRAE = 1.0
#: GTAP parameter -> (model elasticity, GTAP set of its first dimension).
ELASTICITY_HEADERS = {"ESBD": ("esubd", "COMM"), "ESBM": ("esubm", "COMM"),
                      "ESBV": ("esubva", "ACTS")}


def is_gtap_folder(path: str | Path) -> bool:
    """``path`` is a folder without ``dataset.toml`` whose ``basedata.har`` holds the GTAP
    header ``VDFB`` (firms' domestic purchases)."""
    path = Path(path)
    har = path / BASEDATA
    if not path.is_dir() or (path / "dataset.toml").exists() or not har.is_file():
        return False
    from cge.data.har import har_headers

    try:
        return "VDFB" in har_headers(har)
    except DataError:
        return False


def _year(*arrays: dict[str, xr.DataArray]) -> int | None:
    """The reference year of the release (``DREL`` = version, ``Y2017``, build date)."""
    for found in arrays:
        if "DREL" in found:
            for label in found["DREL"].values:
                m = re.fullmatch(r"Y(\d{4})", str(label).strip())
                if m:
                    return int(m.group(1))
    return None


def load_gtap(path: str | Path, intra_region: str = "routes", margins: str = "transport"
              ) -> xr.Dataset:
    """The balanced benchmark of the GTAP data base in folder ``path`` (module docstring);
    ``attrs["path"]`` is the folder, ``attrs["data_format"]`` ``"gtap"``. ``intra_region``:
    a composite region's trade with itself kept on its own import route (``"routes"``, as in
    GTAP) or made domestic (``"domestic"``); ``margins``: the transport margins kept, bought
    from a global transport pool with tariffs on cif (``"transport"``, as in GTAP), or bought
    as services, fob = cif (``"services"``); see :func:`cge.data.har.gtap_to_benchmark`."""
    from cge.data.har import gtap_to_benchmark, read_har

    path = Path(path)
    arrays = read_har(path / BASEDATA)
    prm = read_har(path / PARAMETERS) if (path / PARAMETERS).is_file() else {}
    try:
        ds = gtap_to_benchmark(arrays, name=path.name, year=_year(prm, arrays),
                               intra_region=intra_region, margins=margins)
    except DataError as exc:
        raise DataError(f"{path / BASEDATA}: {exc}") from None
    roles, etrae, note = read_factor_roles(path, [str(f) for f in ds.factor.values])
    ds.attrs["factor_roles"] = json.dumps(roles)
    ds.attrs["etrae"] = json.dumps(etrae)
    ds.attrs["notes"] = f"{ds.attrs.get('notes', '')}\n{note}".strip()
    ds.attrs["path"] = str(path)
    ds.attrs["data_format"] = "gtap"
    return ds


def read_factor_roles(folder: str | Path, factors: list[str]
                      ) -> tuple[dict[str, str], dict[str, float], str]:
    """Each factor's role (``mobile``/``sluggish``/``fixed``) and each sluggish factor's
    transformation elasticity in the GTAP data base in ``folder`` (module docstring), with a
    sentence saying where they came from."""
    from cge.data.har import read_har

    folder = Path(folder)
    prm = read_har(folder / PARAMETERS) if (folder / PARAMETERS).is_file() else {}
    roles = dict.fromkeys(factors, "mobile")
    if "EFLG" in prm:
        flags = prm["EFLG"].astype(float)
        end, kind = flags.dims
        for f in factors:
            row = flags.sel({end: f}) if f in flags[end].values else None
            if row is None:
                raise DataError(f"{folder / PARAMETERS}: EFLG has no endowment {f!r}")
            on = [str(k) for k in row[kind].values if float(row.sel({kind: k})) > 0.5]
            if len(on) != 1 or on[0] not in ("mobile", "sluggish", "fixed"):
                raise DataError(f"{folder / PARAMETERS}: EFLG flags endowment {f!r} as {on}; "
                                "exactly one of mobile, sluggish, fixed expected")
            roles[f] = on[0]
        source = f"EFLG of {PARAMETERS}"
    elif (folder / SETS).is_file():
        sets = read_har(folder / SETS)
        for header, role in ROLE_SETS.items():
            for f in (str(v).strip() for v in sets.get(header, [])):
                if f in roles:
                    roles[f] = role
        source = f"sets ENDS / ENDF of {SETS}"
    else:
        source = "no EFLG or sets.har: every factor mobile"
    etrae, notes = {}, []
    for f in (f for f, role in roles.items() if role == "sluggish"):
        if "ETRE" in prm and f in prm["ETRE"][prm["ETRE"].dims[0]].values:
            values = -prm["ETRE"].astype(float).sel({prm["ETRE"].dims[0]: f})
            if float(values.min()) <= 0:
                raise DataError(f"{folder / PARAMETERS}: ETRE of sluggish {f!r} must be "
                                f"negative (a CET), got {(-values).values.tolist()}")
            etrae[f] = float(values.mean())
            if float(values.max() - values.min()) > 1e-6:
                notes.append(f"ETRE of {f} varies by region ({float(values.min()):.3g} to "
                             f"{float(values.max()):.3g}): the mean is used")
        else:
            etrae[f] = DEFAULT_ETRAE
            notes.append(f"no ETRE for sluggish {f}: etrae {DEFAULT_ETRAE:g} (assumption: "
                         "GTAP's standard ETRAE of land)")
    text = ("Factor roles (" + source + "): "
            + ", ".join(f"{f} {role}" + (f" (etrae {etrae[f]:.3g})" if f in etrae else "")
                        for f, role in roles.items()) + "." + "".join(f" {n}." for n in notes))
    return roles, etrae, text


def read_parameters(path: str | Path, commodities: list[str] | None = None) -> xr.Dataset:
    """The elasticities by commodity of a GTAP ``default.prm`` (module docstring), as a Dataset
    ``esubd``, ``esubm``, ``esubva`` over ``commodity`` for :func:`cge.calibrate.calibrate`;
    ``commodities`` (default: the file's) must all be in the file."""
    from cge.data.har import read_har

    path = Path(path)
    prm = read_har(path)
    missing = [h for h in ELASTICITY_HEADERS if h not in prm]
    if missing:
        raise DataError(f"{path}: no GTAP parameter(s) {missing} "
                        f"({', '.join(f'{h}: {m}' for h, (m, _) in ELASTICITY_HEADERS.items())})")
    esbd = prm["ESBD"]
    want = list(commodities or [str(v) for v in esbd[esbd.dims[0]].values])
    out, notes = {}, []
    for header, (name, _) in ELASTICITY_HEADERS.items():
        da = prm[header].astype(float)
        first, regions = da.dims[0], list(da.dims[1:])
        labels = [str(v) for v in da[first].values]
        lacking = [i for i in want if i not in labels]
        if lacking:
            raise DataError(f"{path}: {header} has no values for {lacking}; it has {labels}")
        values = da.sel({first: want})
        if regions:
            spread = values.max(regions) - values.min(regions)
            varies = [i for i in want if float(spread.sel({first: i})) > 1e-6]
            if varies:
                notes.append(f"{header} varies by region for {varies} (from "
                             f"{float(values.min()):.3g} to {float(values.max()):.3g}): the "
                             "mean over regions is used")
            values = values.mean(regions)
        out[name] = ("commodity", np.asarray(values.values, dtype=float))
    ds = xr.Dataset(out, coords={"commodity": want})
    ds.attrs["elasticity_source"] = f"{path} (GTAP ESBD, ESBM, ESBV)"
    if notes:
        ds.attrs["notes"] = "; ".join(notes)
    return ds


#: Where each benchmark array comes from (the GTAP headers; cge.data.har's mapping table).
ARRAY_HEADERS = {
    "vom": "sum over COMM of MAKB (one commodity per activity)",
    "vdfm": "VDFB", "vifm": "VMFB", "vfm": "EVFB",
    "vto": "MAKB - MAKS, firms' purchase taxes (VDFP - VDFB + VMFP - VMFB) and factor taxes "
           "(EVFP - EVFB)",
    "vdfd": "VDPB, VDGB, VDIB", "vifd": "VMPB, VMGB, VMIB",
    "vtfd": "VDxP - VDxB + VMxP - VMxB for x = P, G, I",
    "vxmd": "VXSB", "vtx": "VFOB - VXSB",
    "vtm": "VMSB - VCIF (tariffs on the cif value)",
    "vtwr": "VTWR (margins by route, VCIF - VFOB)",
    "vst": "VST (margin services supplied to the transport pool, scaled to the VTWR total)",
    "vdtax": "derived: the government budget residual",
    "vsav": "derived: household saving", "vtrf": "0 (GTAP has no transfers)",
}
#: The elasticity file a converted data set carries.
ELASTICITY_FILE = "elasticities.csv"


def convert_gtap(folder: str | Path, out: str | Path, intra_region: str = "routes", *,
                 mapping: str | Path | dict | None = None) -> Path:
    """The GTAP data base in ``folder`` saved as a data set in the project's format in ``out``
    (``dataset.toml`` + CSV files, :func:`cge.data.benchmark.save_benchmark`), with the
    elasticities of its ``default.prm`` in ``out/elasticities.csv``, named by its
    ``dataset.toml``: loading ``out`` gives the same benchmark and elasticities as loading
    ``folder``. Written into a staging folder and moved into place at the end: an error
    leaves ``out`` as it was. ``out`` may be a new folder or an earlier data set (replaced);
    another non-empty folder is refused. ``intra_region`` as in :func:`load_gtap`; with a
    ``mapping`` the data base is aggregated first (:func:`cge.data.aggregate.aggregate_on_load`,
    its elasticities with it)."""

    from cge.atomic import swap_folder
    from cge.data.benchmark import save_benchmark

    folder, out = Path(folder), Path(out)
    if not is_gtap_folder(folder):
        raise DataError(f"{folder}: not a GTAP data base folder (no {BASEDATA} with the "
                        "header VDFB, or it has a dataset.toml)")
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / "dataset.toml").is_file())):
        raise DataError(f"{out}: exists and is not a data set folder; give a new folder")
    ds = load_gtap(folder, intra_region)
    el = (read_parameters(folder / PARAMETERS, [str(c) for c in ds.commodity.values])
          if (folder / PARAMETERS).is_file() else None)
    if mapping is not None:
        from cge.data.aggregate import aggregate_on_load, carried_elasticities

        if el is None:
            raise DataError(f"{folder}: no {PARAMETERS} to aggregate the elasticities of")
        ds = aggregate_on_load(ds, mapping, el, intra_region=intra_region)
        el = carried_elasticities(ds)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        notes = "\n".join(filter(None, [
            f"Converted from the GTAP data base {folder} ({BASEDATA}"
            + (f", elasticities from {PARAMETERS}" if el is not None else "") + ").",
            str(ds.attrs.get("notes", "")), str(el.attrs.get("notes", "")) if el is not None
            else ""]))
        save_benchmark(ds, stage, sources={k: f"GTAP {BASEDATA}: {v}"
                                           for k, v in ARRAY_HEADERS.items() if k in ds},
                       notes=notes, elasticities=ELASTICITY_FILE if el is not None else None)
        if el is not None:
            frame = el.to_dataframe().reset_index()
            frame["source"] = (f"GTAP {PARAMETERS}: ESBD, ESBM, ESBV" if mapping is None
                               else f"GTAP {PARAMETERS}: ESBD, ESBM, ESBV, "
                               "aggregated (cge.data.aggregate.ELASTICITY_WEIGHTS)")
            frame.to_csv(stage / ELASTICITY_FILE, index=False, float_format="%.17g")
        swap_folder(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out
