#pragma once

#include <memory>

#include "tools/bench/options.hpp"

namespace omega::bench {

class scenario;

/// Server memory per idle connection, and connect+INIT throughput.
std::unique_ptr<scenario> make_idle_scenario(const options& opts);

} // namespace omega::bench
