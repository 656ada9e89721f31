#include "transport/rate_limiter.hpp"

#include <string>

#include <gtest/gtest.h>

#include "transport/api_throttle.hpp"

/// Token buckets on a made-up clock, and the login and registration limits
/// built from them.

namespace omega {
namespace {

using namespace std::chrono_literals;

const steady_time t0 = steady_time{} + 1000s;

TEST(address_bucket, allows_a_burst_then_one_per_interval) {
  address_bucket b{3, 6, t0}; // 3 at once, then one every 10 s
  EXPECT_EQ(b.take(t0), 0s);
  EXPECT_EQ(b.take(t0), 0s);
  EXPECT_EQ(b.take(t0), 0s);
  EXPECT_EQ(b.take(t0), 10s);
  EXPECT_EQ(b.take(t0 + 4s), 6s);
  EXPECT_EQ(b.take(t0 + 10s), 0s);
  EXPECT_EQ(b.take(t0 + 10s), 10s);
  // Never more than the burst, however long it rested.
  auto later = t0 + 3600s;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(b.take(later), 0s) << i;
  EXPECT_GT(b.take(later), 0s);
}

TEST(address_bucket, retry_after_is_at_least_a_second) {
  address_bucket b{1, 600, t0}; // one every 100 ms
  EXPECT_EQ(b.take(t0), 0s);
  EXPECT_EQ(b.take(t0), 1s);
}

TEST(address_bucket, gives_back_and_knows_when_full) {
  address_bucket b{2, 60, t0};
  EXPECT_TRUE(b.full(t0));
  b.take(t0);
  b.take(t0);
  EXPECT_FALSE(b.full(t0));
  b.give_back();
  EXPECT_EQ(b.take(t0), 0s);
  EXPECT_FALSE(b.full(t0 + 1s));
  EXPECT_TRUE(b.full(t0 + 2s));
  b.give_back();
  b.give_back();
  b.give_back();
  EXPECT_EQ(b.take(t0 + 2s), 0s);
  EXPECT_EQ(b.take(t0 + 2s), 0s);
  EXPECT_GT(b.take(t0 + 2s), 0s) << "give_back never exceeds the burst";
}

TEST(rate_limiter, keys_are_independent_and_zero_is_off) {
  rate_limiter r{2};
  EXPECT_EQ(r.take("a", t0), 0s);
  EXPECT_EQ(r.take("a", t0), 0s);
  EXPECT_EQ(r.take("a", t0), 30s);
  EXPECT_EQ(r.take("b", t0), 0s);
  rate_limiter off{0};
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(off.take("a", t0), 0s);
  EXPECT_EQ(off.size(), 0u);
}

TEST(rate_limiter, forgets_refilled_keys) {
  rate_limiter r{60};
  for (int i = 0; i < 5000; ++i)
    r.take("k" + std::to_string(i), t0);
  EXPECT_GE(r.size(), 4000u) << "no sweep while every bucket is in use";
  // A minute later every bucket is full again: the next sweep drops them.
  for (int i = 0; i < 5000; ++i)
    r.take("n" + std::to_string(i), t0 + 61s);
  EXPECT_LT(r.size(), 7000u);
  EXPECT_EQ(r.take("n1", t0 + 61s), 0s) << "live keys keep their state";
}

TEST(api_throttle, limits_logins_per_account_then_per_address) {
  throttle_limits limits;
  limits.login_per_address = 4;
  limits.login_per_account = 2;
  api_throttle t{limits};
  auto admit = [&](std::string addr, std::string email) {
    return t.admit("login", addr, email, t0);
  };
  EXPECT_TRUE(admit("1.1.1.1", "a@x").allowed);
  EXPECT_TRUE(admit("1.1.1.1", "a@x").allowed);
  auto d = admit("1.1.1.1", "a@x");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.which, limit::login_per_account);
  EXPECT_EQ(d.retry_after, 30s);
  // The refused attempt took no address token: two more accounts fit.
  EXPECT_TRUE(admit("1.1.1.1", "b@x").allowed);
  EXPECT_TRUE(admit("1.1.1.1", "c@x").allowed);
  d = admit("1.1.1.1", "d@x");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.which, limit::login_per_address);
  // Another address is not affected; the locked account is, from anywhere.
  EXPECT_TRUE(admit("2.2.2.2", "d@x").allowed);
  EXPECT_EQ(admit("2.2.2.2", "a@x").which, limit::login_per_account);
}

TEST(api_throttle, successful_logins_cost_nothing) {
  throttle_limits limits;
  limits.login_per_address = 2;
  limits.login_per_account = 2;
  api_throttle t{limits};
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(t.admit("login", "1.1.1.1", "a@x", t0).allowed) << i;
    t.give_back("login", "1.1.1.1", "a@x");
  }
}

TEST(api_throttle, registrations_have_limits_of_their_own) {
  throttle_limits limits;
  limits.login_per_address = 1;
  limits.register_per_address = 2;
  limits.register_per_account = 1;
  api_throttle t{limits};
  EXPECT_TRUE(t.admit("register", "1.1.1.1", "a@x", t0).allowed);
  auto d = t.admit("register", "1.1.1.1", "a@x", t0);
  EXPECT_EQ(d.which, limit::register_per_account);
  EXPECT_TRUE(t.admit("register", "1.1.1.1", "b@x", t0).allowed);
  d = t.admit("register", "1.1.1.1", "c@x", t0);
  EXPECT_EQ(d.which, limit::register_per_address);
  EXPECT_TRUE(t.admit("login", "1.1.1.1", "a@x", t0).allowed);
  // Cloud saves are not limited here.
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(t.admit("save", "1.1.1.1", "", t0).allowed);
}

TEST(api_throttle, email_keys_ignore_case_and_spaces) {
  EXPECT_EQ(email_key(" Alice@Example.ORG "), "alice@example.org");
  EXPECT_EQ(email_key(""), "");
}

} // namespace
} // namespace omega
