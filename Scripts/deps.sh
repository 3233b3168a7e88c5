#!/usr/bin/env bash
# Installs DAKit's system libraries (OpenBLAS, HDF5) when they are missing. Safe to run again.
set -euo pipefail
have() { command -v "$1" >/dev/null 2>&1; }

if [ "$(uname)" = "Darwin" ]; then
  have brew || { echo "deps: Homebrew is needed on macOS (https://brew.sh)" >&2; exit 2; }
  for pkg in openblas hdf5 pkg-config; do brew list "$pkg" >/dev/null 2>&1 || brew install "$pkg"; done
  # Homebrew's openblas is keg-only: let pkg-config find it.
  echo "deps: export PKG_CONFIG_PATH=\"$(brew --prefix openblas)/lib/pkgconfig:\${PKG_CONFIG_PATH:-}\" before building" >&2
  exit 0
fi

if have pkg-config && pkg-config --exists openblas hdf5; then
  exit 0
fi

if ! have apt-get; then
  echo "deps: OpenBLAS and HDF5 development files are missing; install libopenblas-dev, libhdf5-dev and pkg-config" >&2
  exit 2
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  have sudo || { echo "deps: run as root or install sudo to install libopenblas-dev libhdf5-dev" >&2; exit 2; }
  sudo="sudo"
fi
echo "deps: installing libopenblas-dev libhdf5-dev pkg-config" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libopenblas-dev libhdf5-dev pkg-config >/dev/null
pkg-config --exists openblas hdf5 || { echo "deps: installed, but pkg-config still cannot find openblas and hdf5" >&2; exit 2; }
