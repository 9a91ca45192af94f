"""PyNumero's ASL library (``libpynumero_ASL.so``): find it without an environment variable,
open an NL file with it, and leave the process's floating-point environment as it was.

``make setup`` builds the library against Debian's ``libamplsolver`` and places a copy in the
package (``cge/_solver/``), so every Python that imports this package finds it: the project
virtualenv, the ``cge`` console script, a notebook kernel on that venv, or ``pip install .`` into
another environment (the copy is package data). Searched in this order:

1. ``$PYOMO_CONFIG_DIR/lib`` when that variable is set (Pyomo's own convention);
2. ``cge/_solver/`` next to this file;
3. ``<sys.prefix>/pyomo/lib`` (where the Makefile builds it inside the venv);
4. ``~/.pyomo/lib`` (Pyomo's default, e.g. after ``pyomo build-extensions``).

Side effect handled here: opening an NL file calls libamplsolver's ``fpinit_ASL``, which sets the
x87 FPU to 53-bit precision for the whole process, so every ``long double`` computation after the
first model build (numpy ``longdouble``, scipy routines that use it) would change. We save the
environment with libm's ``fegetenv`` before and restore it with ``fesetenv`` after.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LIBRARY = "libpynumero_ASL.so"
PACKAGE_DIR = Path(__file__).resolve().parent / "_solver"

#: What to do when the library cannot be found (``python -m cge check-solver`` says it too).
ADVICE = ("run `make setup` in the project folder: it installs the system packages "
          "(libamplsolver-dev cmake pkg-config g++) and builds the library into cge/_solver/; "
          "then `python -m cge check-solver`")


def candidates() -> list[Path]:
    """Where the library is looked for, in order (see the module docstring)."""
    out = []
    if os.environ.get("PYOMO_CONFIG_DIR"):
        out.append(Path(os.environ["PYOMO_CONFIG_DIR"]) / "lib" / LIBRARY)
    out += [PACKAGE_DIR / LIBRARY, Path(sys.prefix) / "pyomo" / "lib" / LIBRARY,
            Path.home() / ".pyomo" / "lib" / LIBRARY]
    return out


def find_library() -> Path | None:
    """The first existing candidate, else None."""
    return next((p for p in candidates() if p.is_file()), None)


def amplinterface_class():
    """PyNumero's ``AmplInterface`` pointed at the library found here.

    Raises :class:`cge.solve.SolverUnavailable` (no traceback from Pyomo's loader) when the
    library is not in any of :func:`candidates` or cannot be loaded (e.g. ``libamplsolver.so.0``
    missing)."""
    from pyomo.contrib.pynumero.asl import AmplInterface

    from cge.solve import SolverUnavailable

    if AmplInterface.ASLib is None:
        path = find_library()
        if path is None:
            tried = ", ".join(str(p) for p in candidates())
            raise SolverUnavailable(f"PyNumero's ASL library ({LIBRARY}) was not found "
                                    f"(looked in: {tried}): {ADVICE}")
        try:
            ctypes.CDLL(str(path))
        except OSError as exc:
            raise SolverUnavailable(f"PyNumero's ASL library {path} cannot be loaded ({exc}): "
                                    f"{ADVICE}") from None
        AmplInterface.libname = str(path)
    return AmplInterface


_LIBM = None


def _libm():
    global _LIBM
    if _LIBM is None:
        _LIBM = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    return _LIBM


@contextmanager
def preserved_fp_environment() -> Iterator[None]:
    """Restore the floating-point environment (rounding, x87 precision, exception masks) on
    exit, whatever the code inside changed. ``fenv_t`` is at most 32 bytes on glibc; 64 leave
    room for any platform."""
    libm = _libm()
    saved = ctypes.create_string_buffer(64)
    libm.fegetenv(saved)
    try:
        yield
    finally:
        libm.fesetenv(saved)


def fp_environment() -> bytes:
    """The current floating-point environment as bytes (for tests: compare before and after)."""
    buf = ctypes.create_string_buffer(64)
    _libm().fegetenv(buf)
    return buf.raw


def open_nl(path: str | Path):
    """An ``AmplInterface`` on the NL file ``path``, the floating-point environment unchanged."""
    cls = amplinterface_class()
    with preserved_fp_environment():
        return cls(str(path))
