#!/usr/bin/env bash
# Installs what omega needs, builds it and starts omega-server on embedded
# defaults: SQLite in ./data and a demo game whose signaling URL it prints.
# Extra arguments go to omega-server (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target omega-server omega-admin
exec build/omega-server --demo --data-dir ./data "$@"
