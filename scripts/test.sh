#!/usr/bin/env bash
# Installs what omega needs, builds everything and runs the whole test suite
# (codec, deterministic actor tests, storage, end-to-end against the real
# omega-server binary on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --timeout 300 -j"$(nproc)"
