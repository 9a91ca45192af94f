#!/usr/bin/env bash
# Build PyNumero's ASL interface (libpynumero_ASL.so) against Debian's libamplsolver.
# Pyomo's own `build-extensions` looks for `libasl`; Debian ships `libamplsolver` and
# /usr/include/ampl-netlib-solvers, so we point CMake at them explicitly.
set -euo pipefail
PY=${PY:-.venv/bin/python}
INC=/usr/include/ampl-netlib-solvers
LIB=$(ls /usr/lib/*-linux-gnu/libamplsolver.so 2>/dev/null | head -n1 || true)
missing=()
[ -f "$INC/asl.h" ] && [ -n "$LIB" ] || missing+=(libamplsolver-dev)
command -v cmake >/dev/null || missing+=(cmake)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: PyNumero's ASL library is missing and cannot be built here." >&2
  echo "       Install: apt-get install -y ${missing[*]}   (then re-run make)" >&2
  exit 1
fi
echo "building PyNumero ASL interface into $PYOMO_CONFIG_DIR/lib"
"$PY" -m pyomo.contrib.pynumero.build -DASL_INCLUDE_DIR="$INC" -DASL_LIBRARY="$LIB" >/dev/null
