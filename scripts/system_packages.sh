#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the project needs, if any is missing:
#   libamplsolver-dev cmake pkg-config g++  -> to build PyNumero's ASL library (once per venv)
#   libamplsolver0                          -> what that library links to at run time
#   poppler-utils                           -> pdftoppm/pdfinfo, used by the report tests
# As root: apt-get. Otherwise `sudo -n apt-get` when sudo works without a password. Otherwise stop
# with one line giving the exact command to run. Nothing is done when all are present.
set -euo pipefail
need=()
[ -f /usr/include/ampl-netlib-solvers/asl.h ] || need+=(libamplsolver-dev)
ls /usr/lib/*-linux-gnu/libamplsolver.so.0 >/dev/null 2>&1 || need+=(libamplsolver0)
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v g++ >/dev/null || need+=(g++)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "error: missing system packages (${need[*]}) and no apt-get here: install their" \
       "equivalents with your package manager, then re-run make" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "error: missing system packages; run: sudo apt-get install -y ${need[*]}   (then re-run make)" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${need[@]}" >/dev/null
