#pragma once

#include <algorithm>
#include <chrono>

#include <caf/actor_clock.hpp>

#include "actors/limits.hpp"

namespace omega {

/// A token bucket on an actor's clock (`self->clock().now()`), so the test
/// coordinator's simulated time drives it in deterministic tests. It starts
/// full; a disabled limit always gives.
class token_bucket {
public:
  using time_point = caf::actor_clock::time_point;

  token_bucket() = default;

  explicit token_bucket(rate_limit limit)
    : limit_(limit), tokens_(std::max(limit.burst, 1.0)) {
    // nop
  }

  /// Takes `n` tokens at `now`; false (taking nothing) if there are fewer.
  /// A cost above the burst is charged as the whole burst, so that it can
  /// pass once the bucket is full.
  bool take(time_point now, double n = 1) {
    if (!limit_.enabled())
      return true;
    refill(now);
    n = std::min(n, std::max(limit_.burst, 1.0));
    if (tokens_ < n)
      return false;
    tokens_ -= n;
    return true;
  }

  /// Takes one token at `now` even if there is none (the bucket then owes
  /// it), for work that must happen anyway but counts against the budget.
  void spend(time_point now) {
    if (!limit_.enabled())
      return;
    refill(now);
    tokens_ = std::max(tokens_ - 1, -std::max(limit_.burst, 1.0));
  }

  /// Whether a token is there at `now`, without taking it.
  bool available(time_point now) {
    if (!limit_.enabled())
      return true;
    refill(now);
    return tokens_ >= 1;
  }

  /// Whether the bucket is full at `now`: it is then as good as new and
  /// may be forgotten.
  bool full(time_point now) {
    if (!limit_.enabled())
      return true;
    refill(now);
    return tokens_ >= std::max(limit_.burst, 1.0);
  }

  const rate_limit& limit() const {
    return limit_;
  }

private:
  void refill(time_point now) {
    if (started_ && now > last_) {
      std::chrono::duration<double> dt = now - last_;
      tokens_ = std::min(std::max(limit_.burst, 1.0),
                         tokens_ + dt.count() * limit_.rate);
    }
    if (!started_ || now > last_)
      last_ = now;
    started_ = true;
  }

  rate_limit limit_;
  double tokens_ = 0;
  time_point last_{};
  bool started_ = false;
};

} // namespace omega
