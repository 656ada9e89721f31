#!/usr/bin/env bash
# The multi-threaded configuration under ThreadSanitizer: builds
# omega-server and the e2e suite with clang and -DOMEGA_SANITIZE=thread into
# build-tsan/ and runs the e2e tests whose servers do most at once (many
# connections, racing claims, relays under load, the drain) with servers
# of two CAF workers and two dedicated Beast I/O threads. The first race
# ends the server (exit code 66) and fails its test (docs/testing.md).
#
# OMEGA_TSAN_BUILD_DIR  build folder (default build-tsan)
# OMEGA_JOBS            build jobs (default: nproc)
# OMEGA_BUILD_LOCK      a lock file to build under (flock), for shared hosts
# OMEGA_TSAN_FILTER     the gtest filter of the tests to run
set -euo pipefail
cd "$(dirname "$0")/.."

build="${OMEGA_TSAN_BUILD_DIR:-build-tsan}"
jobs="${OMEGA_JOBS:-$(nproc)}"
filter="${OMEGA_TSAN_FILTER:-e2e_test.*:cluster_test.*:operations_test.*}"

bash scripts/setup.sh --sanitizers
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DOMEGA_SANITIZE=thread \
  -DOMEGA_MIMALLOC=OFF -DOMEGA_BROWSER_TESTS=OFF \
  "${launcher[@]}" >/dev/null
build_cmd=(cmake --build "$build" -j"$jobs" --target omega-server
  omega-admin omega-e2e-tests)
if [ -n "${OMEGA_BUILD_LOCK:-}" ]; then
  build_cmd=(flock "$OMEGA_BUILD_LOCK" "${build_cmd[@]}")
fi
"${build_cmd[@]}"
OMEGA_E2E_SERVER_FLAGS="--caf-threads 2 --io-threads 2" \
  "$build/omega-e2e-tests" --gtest_filter="$filter" --gtest_brief=1
