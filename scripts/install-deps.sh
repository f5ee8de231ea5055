#!/usr/bin/env bash
# Install invmap's build and test dependencies from Debian's archive, only those that are missing.
# Idempotent; needs root (or sudo). Usage: scripts/install-deps.sh [--with-slurm]
set -euo pipefail
pkgs=(build-essential cmake pkg-config petsc-dev libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
      libopenblas-dev libfftw3-dev librandom123-dev python3-matplotlib python3-h5py python3-numpy clang-format git)
if [[ "${1:-}" == "--with-slurm" ]]; then pkgs+=(slurmctld slurmd slurm-client munge); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all dependencies present"
fi
