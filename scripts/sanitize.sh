#!/usr/bin/env bash
# The whole test suite under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer: builds everything with clang and
# -DOMEGA_SANITIZE=address,undefined into build-asan/ (without mimalloc,
# which would bypass ASan's allocator) and runs ctest there. A sanitizer
# report fails the test it happened in, also one in an omega-server that
# an e2e test started (docs/testing.md).
#
# OMEGA_ASAN_BUILD_DIR  build folder (default build-asan)
# OMEGA_JOBS            build and test jobs (default: nproc)
# OMEGA_BUILD_LOCK      a lock file to build under (flock), for shared hosts
set -euo pipefail
cd "$(dirname "$0")/.."

build="${OMEGA_ASAN_BUILD_DIR:-build-asan}"
jobs="${OMEGA_JOBS:-$(nproc)}"

bash scripts/setup.sh --sanitizers --tests
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DOMEGA_SANITIZE=address,undefined \
  -DOMEGA_BROWSER_TESTS=OFF \
  "${launcher[@]}" >/dev/null
build_cmd=(cmake --build "$build" -j"$jobs")
if [ -n "${OMEGA_BUILD_LOCK:-}" ]; then
  build_cmd=(flock "$OMEGA_BUILD_LOCK" "${build_cmd[@]}")
fi
"${build_cmd[@]}"
# The sanitized binaries run two to five times slower: the timeout per test
# is raised, the tests' own deadlines are not.
ctest --test-dir "$build" --output-on-failure --timeout 900 -j"$jobs"
