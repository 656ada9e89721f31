#include "transport/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace omega {

// -- address_bucket
// -------------------------------------------------------------

address_bucket::address_bucket(double burst, double per_minute, steady_time now)
  : burst_(burst), per_second_(per_minute / 60), tokens_(burst), last_(now) {
  // nop
}

void address_bucket::refill(steady_time now) {
  if (now <= last_)
    return;
  std::chrono::duration<double> elapsed = now - last_;
  tokens_ = std::min(burst_, tokens_ + elapsed.count() * per_second_);
  last_ = now;
}

std::chrono::seconds address_bucket::take(steady_time now) {
  refill(now);
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return std::chrono::seconds{0};
  }
  if (per_second_ <= 0)
    return std::chrono::seconds{60};
  auto wait = std::ceil((1 - tokens_) / per_second_);
  return std::chrono::seconds{std::max<long>(1, static_cast<long>(wait))};
}

void address_bucket::give_back() {
  tokens_ = std::min(burst_, tokens_ + 1);
}

bool address_bucket::full(steady_time now) const {
  std::chrono::duration<double> elapsed = now - last_;
  return tokens_ + std::max(0.0, elapsed.count()) * per_second_ >= burst_;
}

// -- rate_limiter -------------------------------------------------------------

rate_limiter::rate_limiter(size_t per_minute) : per_minute_(per_minute) {
  // nop
}

std::chrono::seconds rate_limiter::take(const std::string& key,
                                        steady_time now) {
  if (per_minute_ == 0)
    return std::chrono::seconds{0};
  std::lock_guard<std::mutex> guard{mtx_};
  if (buckets_.size() >= prune_at_)
    prune(now);
  auto limit = static_cast<double>(per_minute_);
  auto i = buckets_.try_emplace(key, limit, limit, now).first;
  return i->second.take(now);
}

void rate_limiter::give_back(const std::string& key) {
  if (per_minute_ == 0)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = buckets_.find(key); i != buckets_.end())
    i->second.give_back();
}

size_t rate_limiter::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return buckets_.size();
}

void rate_limiter::prune(steady_time now) {
  for (auto i = buckets_.begin(); i != buckets_.end();)
    if (i->second.full(now))
      i = buckets_.erase(i);
    else
      ++i;
  // Amortized: the next sweep waits until as many keys again have come.
  prune_at_ = std::max<size_t>(1024, buckets_.size() * 2);
}

} // namespace omega
