#include "transport/limit_report.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

/// Every cut-off is counted; its warnings are rate limited per limit.

namespace omega {
namespace {

TEST(limit_report, counts_every_cut_off_and_rate_limits_warnings) {
  std::vector<std::string> lines;
  limit_report r{[&](const std::string& x) { lines.push_back(x); },
                 std::chrono::seconds{10}};
  auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours{1};
  for (int i = 0; i < 5; ++i)
    r.reject(limit::login_per_address, "1.2.3.4", "too many", t0);
  r.reject(limit::http_body, "5.6.7.8", "big", t0);
  EXPECT_EQ(r.counters().get(limit::login_per_address), 5u);
  EXPECT_EQ(r.counters().get(limit::http_body), 1u);
  EXPECT_EQ(r.counters().get(limit::api_queue), 0u);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "limit login-per-address: 1.2.3.4 (too many)");
  EXPECT_EQ(lines[1], "limit max-http-body: 5.6.7.8 (big)");
  r.reject(limit::login_per_address, "1.2.3.4", "again",
           t0 + std::chrono::seconds{10});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "limit login-per-address: 1.2.3.4 (again); 4 more "
                      "since the last such line");
}

} // namespace
} // namespace omega
