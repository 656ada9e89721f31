#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

/// Token buckets, keyed (per address, per account): how the gateway limits
/// logins and registrations. Time is a parameter so tests need no clock.

namespace omega {

using steady_time = std::chrono::steady_clock::time_point;

/// Holds up to `burst` tokens and gains `per_minute` of them a minute.
class address_bucket {
public:
  address_bucket(double burst, double per_minute, steady_time now);

  /// Takes a token. Returns zero if there was one, else how long until there
  /// is one (at least 1 s: `Retry-After` counts whole seconds).
  std::chrono::seconds take(steady_time now);

  /// Returns a token taken for an attempt that turned out not to count.
  void give_back();

  /// True once the bucket has refilled, i.e. it is as good as a new one.
  bool full(steady_time now) const;

private:
  void refill(steady_time now);

  double burst_;
  double per_second_;
  double tokens_;
  steady_time last_;
};

/// One bucket per key, `per_minute` tokens a minute and as many in a burst;
/// thread-safe (the gateway's I/O threads share one). A key's bucket is
/// dropped once it is full again, so memory follows the keys seen in the last
/// minute or so, not every key ever seen.
class rate_limiter {
public:
  /// `per_minute == 0` turns the limit off.
  explicit rate_limiter(size_t per_minute);

  /// Takes a token of `key`: zero if allowed, else the `Retry-After`.
  std::chrono::seconds take(const std::string& key, steady_time now);

  /// Returns a token of `key` (see `address_bucket::give_back`).
  void give_back(const std::string& key);

  bool enabled() const {
    return per_minute_ > 0;
  }

  /// Buckets held (for tests).
  size_t size() const;

private:
  /// Drops full buckets; runs when the map has doubled since the last time.
  void prune(steady_time now);

  size_t per_minute_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, address_bucket> buckets_;
  size_t prune_at_ = 1024;
};

} // namespace omega
