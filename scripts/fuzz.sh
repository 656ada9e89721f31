#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan) into
# build-fuzz/ and runs each for a bounded time, starting from the seed corpus
# in tests/fuzz/corpus/<target>/. Fails on the first crash, sanitizer report,
# contract violation, timeout or out-of-memory; the input that caused it is
# left in build-fuzz/artifacts/ (docs/testing.md: reproducing a finding).
#
# usage: scripts/fuzz.sh [seconds-per-target]   (default 60)
# OMEGA_FUZZ_BUILD_DIR  build folder (default build-fuzz)
# OMEGA_JOBS            build jobs (default: nproc)
# OMEGA_BUILD_LOCK      a lock file to build under (flock), for shared hosts
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target]" >&2
  exit 2
fi
build="${OMEGA_FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${OMEGA_JOBS:-$(nproc)}"
targets=(frame_decoder http_api replica_import)

bash scripts/setup.sh --sanitizers
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DOMEGA_FUZZ=ON -DBUILD_TESTING=OFF \
  "${launcher[@]}" >/dev/null
build_cmd=(cmake --build "$build" -j"$jobs" --target)
for t in "${targets[@]}"; do
  build_cmd+=("${t//_/-}-fuzz")
done
if [ -n "${OMEGA_BUILD_LOCK:-}" ]; then
  build_cmd=(flock "$OMEGA_BUILD_LOCK" "${build_cmd[@]}")
fi
"${build_cmd[@]}"

mkdir -p "$build/artifacts"
failed=()
for t in "${targets[@]}"; do
  # New inputs go to the build folder; the seeds in the repository stay.
  work="$build/corpus/$t"
  mkdir -p "$work"
  log="$build/fuzz-$t.log"
  # A target's dictionary (tests/fuzz/<target>.dict), if it has one.
  dict=()
  if [ -f "tests/fuzz/$t.dict" ]; then
    dict=(-dict="tests/fuzz/$t.dict")
  fi
  echo "fuzz: $t for ${seconds}s (log: $log)"
  if "$build/${t//_/-}-fuzz" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$build/artifacts/$t-" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|new_units_added):' "$log" \
      | sed "s/^/fuzz: $t: /"
  else
    echo "fuzz: $t FAILED; the end of its log:" >&2
    tail -n 60 "$log" >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a finding"
