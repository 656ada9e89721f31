#pragma once

#include <chrono>
#include <cstdint>

namespace omega::bench {

/// Send timestamps travel inside payloads as steady_clock nanoseconds; the
/// recipient runs in this process, so both ends read the same clock.
inline int64_t now_ns() {
  using std::chrono::nanoseconds;
  using std::chrono::steady_clock;
  return std::chrono::duration_cast<nanoseconds>(
           steady_clock::now().time_since_epoch())
    .count();
}

} // namespace omega::bench
