#!/usr/bin/env bash
# Installs what omega needs, builds everything and runs the whole test suite
# (codec, deterministic actor tests, storage, end-to-end against the real
# omega-server binary on 127.0.0.1).
#
# usage: scripts/test.sh [--all]
# --all, the default when CI=true (.ci/run): afterwards the same suite under
# ASan+UBSan (scripts/sanitize.sh) and every fuzz target for
# OMEGA_FUZZ_SECONDS seconds (default 60, scripts/fuzz.sh). Without it this
# is the quick path; docs/testing.md has the times.
set -euo pipefail
cd "$(dirname "$0")/.."

all=false
if [ "${CI:-}" = "true" ]; then
  all=true
fi
case "${1:-}" in
  "") ;;
  --all) all=true ;;
  *)
    echo "usage: scripts/test.sh [--all]" >&2
    exit 2
    ;;
esac

bash scripts/setup.sh --tests
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --timeout 300 -j"$(nproc)"

if [ "$all" = true ]; then
  bash scripts/sanitize.sh
  bash scripts/fuzz.sh "${OMEGA_FUZZ_SECONDS:-60}"
fi
