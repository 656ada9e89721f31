#include "transport/connection_limiter.hpp"

#include <memory>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

/// The WebSocket caps: counts per address and in total, released when a
/// slot goes.

namespace omega {
namespace {

using verdict = connection_limiter::verdict;

TEST(connection_limiter, caps_per_address_and_in_total) {
  auto lim = std::make_shared<connection_limiter>(2, 3);
  std::vector<connection_slot> slots(5);
  EXPECT_EQ(lim->acquire("a", slots[0]), verdict::ok);
  EXPECT_EQ(lim->acquire("a", slots[1]), verdict::ok);
  EXPECT_EQ(lim->acquire("a", slots[2]), verdict::per_address);
  EXPECT_FALSE(slots[2]);
  EXPECT_EQ(lim->acquire("b", slots[3]), verdict::ok);
  EXPECT_EQ(lim->acquire("c", slots[4]), verdict::total);
  EXPECT_EQ(lim->open("a"), 2u);
  EXPECT_EQ(lim->open(), 3u);
  // Releasing one of a's lets a (or anyone) in again.
  slots[0] = connection_slot{};
  EXPECT_EQ(lim->open("a"), 1u);
  EXPECT_EQ(lim->acquire("c", slots[4]), verdict::ok);
  slots.clear();
  EXPECT_EQ(lim->open(), 0u);
  EXPECT_EQ(lim->open("a"), 0u);
}

TEST(connection_limiter, moved_slots_release_once) {
  auto lim = std::make_shared<connection_limiter>(0, 0);
  connection_slot a;
  ASSERT_EQ(lim->acquire("x", a), verdict::ok);
  connection_slot b{std::move(a)};
  EXPECT_EQ(lim->open("x"), 1u);
  connection_slot c;
  c = std::move(b);
  EXPECT_EQ(lim->open("x"), 1u);
  c = connection_slot{};
  EXPECT_EQ(lim->open("x"), 0u);
  EXPECT_EQ(lim->open(), 0u);
}

TEST(connection_limiter, zero_means_no_cap) {
  auto lim = std::make_shared<connection_limiter>(0, 0);
  std::vector<connection_slot> slots(2000);
  for (auto& s : slots)
    ASSERT_EQ(lim->acquire("a", s), verdict::ok);
  EXPECT_EQ(lim->open(), 2000u);
}

} // namespace
} // namespace omega
