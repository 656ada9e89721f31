#!/usr/bin/env bash
# Installs the Debian 12 packages omega builds and tests with. Idempotent:
# when everything is present it returns in well under a second.
#
# usage: scripts/setup.sh [--sanitizers]
# --sanitizers adds clang with its sanitizer and libFuzzer runtimes and
# llvm-symbolizer (readable stack traces in reports), which the sanitizer
# suite and the fuzzers need (scripts/sanitize.sh, scripts/fuzz.sh).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libgtest-dev
  libsqlite3-dev libsodium-dev
  libssl-dev openssl
  prometheus-cpp-dev prometheus
  libmimalloc-dev
)
if [ "${1:-}" = "--sanitizers" ]; then
  packages+=(clang libclang-rt-14-dev llvm)
elif [ $# -gt 0 ]; then
  echo "usage: scripts/setup.sh [--sanitizers]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
