#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace omega::bench {

/// A log-linear latency histogram in nanoseconds, HdrHistogram-style: 128
/// linear sub-buckets per power of two keep the relative error below 0.8%
/// with a fixed 58 KB of counters, however long a run lasts. The counters
/// are atomic because connections on different threads record into one.
class histogram {
public:
  static constexpr int sub_bits = 7;
  static constexpr uint64_t sub_count = uint64_t{1} << sub_bits;
  static constexpr size_t bucket_count = (64 - sub_bits + 1) * sub_count;

  histogram();

  void reset();

  /// Counts one latency. Inline: every delivery records one.
  void record(int64_t ns) {
    auto v = static_cast<uint64_t>(std::max<int64_t>(ns, 0));
    counts_[index(v)].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    auto m = max_.load(std::memory_order_relaxed);
    while (v > m
           && !max_.compare_exchange_weak(m, v, std::memory_order_relaxed))
      ; // retry
  }

  uint64_t count() const {
    return total_.load(std::memory_order_relaxed);
  }

  /// The `p`-th percentile (0..100) in microseconds; 0 when empty.
  double percentile_us(double p) const;

  double max_us() const;

private:
  uint64_t max_ns() const {
    return max_.load(std::memory_order_relaxed);
  }

  static size_t index(uint64_t v) {
    if (v < 2 * sub_count)
      return static_cast<size_t>(v);
    auto msb = 63 - __builtin_clzll(v);
    auto shift = msb - sub_bits;
    return static_cast<size_t>((shift + 1) * sub_count + (v >> shift)
                               - sub_count);
  }

  static uint64_t lower(size_t i);

  static uint64_t upper(size_t i);

  std::array<std::atomic<uint64_t>, bucket_count> counts_;
  std::atomic<uint64_t> total_;
  std::atomic<uint64_t> max_;
};

} // namespace omega::bench
