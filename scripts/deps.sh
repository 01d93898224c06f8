#!/usr/bin/env bash
# Installs the Debian 12 packages robustagg's build, tests, demo and tools need,
# when any is missing. Needs root (or sudo) the first time; a no-op afterwards.
set -euo pipefail
packages=(cmake g++ make libeigen3-dev libxsimd-dev catch2 libbenchmark-dev
          python3 python3-numpy zlib1g-dev openmpi-bin libopenmpi-dev
          pybind11-dev python3-pybind11 python3-pytest "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
