#pragma once

#include <memory>

#include "tools/bench/options.hpp"

namespace omega::bench {

class scenario;

/// Relay throughput and latency over `--lobbies` lobbies of one host and
/// `--peers` peers each.
std::unique_ptr<scenario> make_relay_scenario(const options& opts);

} // namespace omega::bench
