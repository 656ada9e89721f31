#pragma once

#include <string_view>

#include "tools/bench/frames.hpp"
#include "tools/bench/options.hpp"

namespace omega::bench {

/// Classifies a received frame according to the wire format of `target`.
/// `in.src` may view `frame`, which must outlive its use.
void classify(target_kind target, std::string_view frame, incoming& in);

} // namespace omega::bench
