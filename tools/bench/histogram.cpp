#include "tools/bench/histogram.hpp"

#include <cmath>

namespace omega::bench {

histogram::histogram() {
  reset();
}

void histogram::reset() {
  for (auto& x : counts_)
    x.store(0, std::memory_order_relaxed);
  total_.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

double histogram::percentile_us(double p) const {
  auto total = count();
  if (total == 0)
    return 0;
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * total));
  rank = std::clamp<uint64_t>(rank, 1, total);
  uint64_t seen = 0;
  for (size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      auto mid = (lower(i) + upper(i)) / 2;
      return static_cast<double>(std::min(mid, max_ns())) / 1e3;
    }
  }
  return static_cast<double>(max_ns()) / 1e3;
}

double histogram::max_us() const {
  return static_cast<double>(max_ns()) / 1e3;
}

uint64_t histogram::lower(size_t i) {
  if (i < 2 * sub_count)
    return i;
  auto shift = i / sub_count - 1;
  return (i % sub_count + sub_count) << shift;
}

uint64_t histogram::upper(size_t i) {
  if (i < 2 * sub_count)
    return i;
  auto shift = i / sub_count - 1;
  return lower(i) + (uint64_t{1} << shift) - 1;
}

} // namespace omega::bench
