#!/usr/bin/env bash
# Install invmap's build and test dependencies from Debian's archive, only those that are missing.
# Idempotent, and quick when everything is present (one dpkg-query, no apt). Needs root (or sudo) only
# to install. Usage: scripts/install-deps.sh [--with-slurm]
#   --with-slurm  also SLURM (slurmctld, slurmd, slurm-client) and munge, for the SLURM test
#                 (tests/slurm_jobs.sh starts its own one-node cluster; nothing is started here)
set -euo pipefail
pkgs=(build-essential cmake pkg-config petsc-dev libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
      libopenblas-dev libfftw3-dev librandom123-dev python3-matplotlib python3-h5py python3-numpy clang-format git
      valgrind procps util-linux) # procps, util-linux: pgrep/pkill, setsid and mount of the fault and SLURM tests
pkgs+=(clang libclang-rt-14-dev) # libFuzzer targets of tests/fuzz (scripts/test.sh replays their corpora)
pkgs+=(time) # /usr/bin/time: each rank's peak RSS in the streaming benchmarks (bench/stream_common.sh)
slurm=0
for a in "$@"; do
  case $a in
    --with-slurm) slurm=1 ;;
    *) echo "install-deps: unknown option $a (usage: scripts/install-deps.sh [--with-slurm])" >&2; exit 2 ;;
  esac
done
((slurm)) && pkgs+=(slurmctld slurmd slurm-client munge)
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null | awk '$NF == "installed" {print $1}' || true)
missing=()
for p in "${pkgs[@]}"; do
  grep -qxF "$p" <<<"$installed" || missing+=("$p")
done
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
if ((${#missing[@]})); then
  # apt's output goes to a log; only what changes is printed. Installed packages are upgraded only where a new
  # package depends on an exact newer version (e.g. a -dev package and its library: the archive keeps only the
  # newest); they are listed before anything is installed. Nothing else is upgraded.
  log=${INVMAP_INSTALL_LOG:-${TMPDIR:-/tmp}/invmap-install-deps.log}
  echo "install-deps: installing ${missing[*]} (apt's output: $log)"
  $SUDO apt-get update -q >"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
  plan=$(DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -s --no-install-recommends "${missing[@]}" 2>>"$log") ||
    { tail -n 20 "$log" >&2; echo "install-deps: apt cannot install ${missing[*]} (see $log)" >&2; exit 1; }
  upgrades=$(awk '/^Inst / && /\[/ {print $2}' <<<"$plan" | tr '\n' ' ')
  [[ -n "$upgrades" ]] && echo "install-deps: upgraded because the new packages require their newer versions: $upgrades"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends --no-upgrade "${missing[@]}" >>"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; echo "install-deps: apt-get install failed (see $log)" >&2; exit 1; }
else
  echo "install-deps: all dependencies present"
fi
# munge's package makes its key on install; make one if it is missing (e.g. an image that removed it)
if ((slurm)) && [[ ! -s /etc/munge/munge.key ]]; then
  echo "install-deps: creating /etc/munge/munge.key"
  $SUDO mungekey --create --keyfile=/etc/munge/munge.key
  $SUDO chown munge:munge /etc/munge/munge.key
  $SUDO chmod 0400 /etc/munge/munge.key
fi
