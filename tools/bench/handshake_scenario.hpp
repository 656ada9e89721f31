#pragma once

#include <memory>

#include "tools/bench/options.hpp"

namespace omega::bench {

class scenario;

/// Connection set-up cost: complete signaling handshakes with fresh
/// connections, `--concurrency` at a time.
std::unique_ptr<scenario> make_handshake_scenario(const options& opts);

} // namespace omega::bench
