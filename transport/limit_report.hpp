#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

/// What the gateway reports when a limit cuts a client off: a counter per
/// limit (for the metrics endpoint to come) and a warning line, itself rate
/// limited so that a flood cannot fill the disk with log lines.

namespace omega {

/// The limits of the gateway, each counted apart.
enum class limit {
  connections_per_address,
  connections_total,
  login_per_address,
  login_per_account,
  register_per_address,
  register_per_account,
  api_queue,
  http_body,
  http_header,
  accept_descriptors,
  write_budget,
  cutoff_penalty,
  requests_per_address,
  upgrades_per_address,
};

constexpr size_t limit_count = 14;

/// The name of `x` in counters and log lines (the flag's name where there
/// is one).
std::string_view limit_name(limit x);

/// Rejections per limit; read with `get` from any thread.
class limit_counters {
public:
  void add(limit x) {
    counts_[static_cast<size_t>(x)].fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t get(limit x) const {
    return counts_[static_cast<size_t>(x)].load(std::memory_order_relaxed);
  }

private:
  std::array<std::atomic<uint64_t>, limit_count> counts_{};
};

/// Counts a cut-off and writes at most one warning per limit per `interval`;
/// the next line says how many it left out. Thread-safe.
class limit_report {
public:
  using sink = std::function<void(const std::string&)>;

  explicit limit_report(sink warn, std::chrono::milliseconds interval
                                   = std::chrono::seconds{10});

  /// Counts a cut-off by `x` of `who` (a client address); `detail` says why.
  void reject(limit x, std::string_view who, std::string_view detail,
              std::chrono::steady_clock::time_point now
              = std::chrono::steady_clock::now());

  const limit_counters& counters() const {
    return counters_;
  }

private:
  struct throttle {
    std::chrono::steady_clock::time_point next{};
    uint64_t skipped = 0;
  };

  sink warn_;
  std::chrono::milliseconds interval_;
  limit_counters counters_;
  std::mutex mtx_;
  std::array<throttle, limit_count> throttles_{};
};

} // namespace omega
