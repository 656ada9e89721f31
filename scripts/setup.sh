#!/usr/bin/env bash
# Installs the Debian 12 packages omega builds and tests with. Idempotent:
# when everything is present it returns in well under a second.
#
# usage: scripts/setup.sh [--sanitizers] [--tests]
# --sanitizers adds clang with its sanitizer and libFuzzer runtimes and
# llvm-symbolizer (readable stack traces in reports), which the sanitizer
# suite and the fuzzers need (scripts/sanitize.sh, scripts/fuzz.sh).
# --tests adds what the JavaScript and browser tests need (scripts/test.sh):
# Debian's chromium, iproute2 for their network namespace, coturn (the
# TURN server of the TURN test), Node.js and npm
# (kept if a node is already installed), and the npm packages of
# tests/package.json (ws, playwright-core), installed with `npm ci`, which
# never downloads a browser.
set -euo pipefail
cd "$(dirname "$0")/.."

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
tests=false
for arg in "$@"; do
  case "$arg" in
    --sanitizers) packages+=(clang libclang-rt-14-dev llvm) ;;
    --tests)
      tests=true
      packages+=(chromium iproute2 coturn)
      if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        packages+=(nodejs npm)
      fi
      ;;
    *)
      echo "usage: scripts/setup.sh [--sanitizers] [--tests]" >&2
      exit 2
      ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm packages, again only when the lock file changed since the last
# install (a copy of it is kept in node_modules as the stamp).
stamp=tests/node_modules/.omega-installed-lock.json
if [ "$tests" = true ] && ! cmp -s tests/package-lock.json "$stamp" 2>/dev/null; then
  echo "setup: npm ci in tests/ (ws, playwright-core)" >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests --no-audit --no-fund >/dev/null
  cp tests/package-lock.json "$stamp"
fi
