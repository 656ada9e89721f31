#include "actors/rejections.hpp"

#include <array>
#include <atomic>

namespace omega {

namespace {

/// Relaxed atomics: counters only ever grow, and nothing is ordered by them.
std::array<std::atomic<uint64_t>, limit_kind_count> counters;

} // namespace

const char* limit_name(limit_kind x) {
  static constexpr const char* names[] = {
    "init_rate",        "lobby_rate",         "query_rate",
    "relay_rate",       "keepalive_rate",     "rate_cutoff",
    "lobby_creation",   "broadcast_deferred", "lobby_list_truncated",
    "password_delayed", "password_locked",    "relay_bytes_rate",
  };
  static_assert(std::size(names) == limit_kind_count);
  return names[static_cast<size_t>(x)];
}

void count_rejection(limit_kind x) {
  counters[static_cast<size_t>(x)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t rejections(limit_kind x) {
  return counters[static_cast<size_t>(x)].load(std::memory_order_relaxed);
}

} // namespace omega
