#include "transport/penalty_box.hpp"

#include <algorithm>

namespace omega {

void penalty_box::add(const std::string& key,
                      std::chrono::milliseconds how_long,
                      clock::time_point now) {
  if (key.empty() || how_long.count() <= 0)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  auto& until = until_[key];
  until = std::max(until, now + how_long);
  if (until_.size() >= prune_at_)
    prune(now);
}

std::chrono::milliseconds penalty_box::remaining(const std::string& key,
                                                 clock::time_point now) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = until_.find(key);
  if (i == until_.end() || i->second <= now)
    return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(i->second - now);
}

void penalty_box::prune(clock::time_point now) {
  for (auto i = until_.begin(); i != until_.end();)
    i = i->second <= now ? until_.erase(i) : std::next(i);
  // Grows with the addresses really barred, so pruning stays amortized.
  prune_at_ = std::max<size_t>(1024, 2 * until_.size());
}

} // namespace omega
