#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace omega {

/// Addresses that were cut off for abuse and may not connect again for a
/// while. Without it a flood that is cut off reconnects at once, and every
/// new connection gets a fresh burst of every rate limit. Keys are the
/// per-address limit keys (`limit_key`); thread-safe.
class penalty_box {
public:
  using clock = std::chrono::steady_clock;

  /// Bars `key` until `now + how_long` (or longer, if it already is).
  void add(const std::string& key, std::chrono::milliseconds how_long,
           clock::time_point now = clock::now());

  /// How long `key` is still barred at `now`; zero if it is not.
  std::chrono::milliseconds
  remaining(const std::string& key, clock::time_point now = clock::now()) const;

private:
  /// Forgets every expired entry (on insertion, once the map has grown).
  void prune(clock::time_point now);

  mutable std::mutex mtx_;
  std::unordered_map<std::string, clock::time_point> until_;
  size_t prune_at_ = 1024;
};

} // namespace omega
