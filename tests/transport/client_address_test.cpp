#include "transport/client_address.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

/// The client address behind trusted proxies: only a trusted peer's
/// `X-Forwarded-For` counts, read from the right, so a client cannot pick the
/// address its limits are counted under.

namespace omega {
namespace {

namespace ip = boost::asio::ip;

std::vector<address_range> ranges(std::vector<std::string> xs) {
  std::vector<address_range> result;
  for (auto& x : xs) {
    auto r = parse_address_range(x);
    EXPECT_TRUE(r.has_value()) << x;
    if (r)
      result.push_back(*r);
  }
  return result;
}

std::string client(const std::string& peer, const std::string& xff,
                   const std::vector<address_range>& trusted) {
  return client_address(ip::make_address(peer), xff, trusted).to_string();
}

TEST(client_address, parses_addresses_and_cidr_blocks) {
  auto r = parse_address_range("10.0.0.0/8");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->prefix, 8u);
  EXPECT_EQ(parse_address_range("127.0.0.1")->prefix, 32u);
  EXPECT_EQ(parse_address_range("::1")->prefix, 128u);
  EXPECT_EQ(parse_address_range("fd00::/8")->prefix, 8u);
  EXPECT_TRUE(parse_address_range("::ffff:10.1.2.3")->base.is_v4());
  for (auto bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x",
                   "example.org", "10.0.0.300", "1.2.3.4/-1"})
    EXPECT_FALSE(parse_address_range(bad)) << bad;
}

TEST(client_address, matches_prefixes) {
  auto r = ranges({"10.0.0.0/8", "192.168.1.0/25", "fd00::/8", "::1"});
  EXPECT_TRUE(in_ranges(ip::make_address("10.255.0.1"), r));
  EXPECT_FALSE(in_ranges(ip::make_address("11.0.0.1"), r));
  EXPECT_TRUE(in_ranges(ip::make_address("192.168.1.127"), r));
  EXPECT_FALSE(in_ranges(ip::make_address("192.168.1.128"), r));
  EXPECT_TRUE(in_ranges(ip::make_address("fdab::1"), r));
  EXPECT_FALSE(in_ranges(ip::make_address("fe80::1"), r));
  EXPECT_TRUE(in_ranges(ip::make_address("::1"), r));
  EXPECT_FALSE(in_ranges(ip::make_address("::2"), r));
  // A dual-stack socket's view of an IPv4 peer.
  EXPECT_TRUE(in_ranges(ip::make_address("::ffff:10.0.0.1"), r));
  EXPECT_TRUE(in_ranges(ip::make_address("1.2.3.4"), ranges({"0.0.0.0/0"})));
}

TEST(client_address, ignores_the_header_of_an_untrusted_peer) {
  auto trusted = ranges({"10.0.0.1"});
  EXPECT_EQ(client("203.0.113.9", "1.1.1.1", trusted), "203.0.113.9");
  EXPECT_EQ(client("203.0.113.9", "1.1.1.1", {}), "203.0.113.9");
  EXPECT_EQ(client("::ffff:203.0.113.9", "", {}), "203.0.113.9");
}

TEST(client_address, takes_the_right_most_untrusted_entry) {
  auto trusted = ranges({"10.0.0.0/8"});
  EXPECT_EQ(client("10.0.0.1", "198.51.100.7", trusted), "198.51.100.7");
  // The client claimed 1.1.1.1 itself; the proxy appended what it saw.
  EXPECT_EQ(client("10.0.0.1", "1.1.1.1, 198.51.100.7", trusted),
            "198.51.100.7");
  // Two proxies in a row: the inner one's entry is skipped.
  EXPECT_EQ(client("10.0.0.1", "1.1.1.1, 198.51.100.7,10.0.0.2", trusted),
            "198.51.100.7");
  // Ports and brackets as some proxies write them, IPv6, spaces, empty
  // entries.
  EXPECT_EQ(client("10.0.0.1", "198.51.100.7:4711", trusted), "198.51.100.7");
  EXPECT_EQ(client("10.0.0.1", "[2001:db8::5]:443", trusted), "2001:db8::5");
  EXPECT_EQ(client("10.0.0.1", " 2001:db8::5 ,, ", trusted), "2001:db8::5");
}

TEST(client_address, stops_at_what_it_cannot_read) {
  auto trusted = ranges({"10.0.0.0/8"});
  // No header: the proxy itself.
  EXPECT_EQ(client("10.0.0.1", "", trusted), "10.0.0.1");
  // Every entry a proxy: the left-most.
  EXPECT_EQ(client("10.0.0.1", "10.9.9.9, 10.0.0.2", trusted), "10.9.9.9");
  // Garbage after a trusted hop: that hop.
  EXPECT_EQ(client("10.0.0.1", "1.1.1.1, unknown, 10.0.0.2", trusted),
            "10.0.0.2");
  EXPECT_EQ(client("10.0.0.1", "unknown", trusted), "10.0.0.1");
}

TEST(client_address, limit_keys_group_ipv6_by_64) {
  EXPECT_EQ(limit_key(ip::make_address("198.51.100.7")), "198.51.100.7");
  EXPECT_EQ(limit_key(ip::make_address("::ffff:198.51.100.7")), "198.51.100.7");
  auto a = limit_key(ip::make_address("2001:db8:1:2:aaaa::1"));
  auto b = limit_key(ip::make_address("2001:db8:1:2:bbbb::2"));
  auto c = limit_key(ip::make_address("2001:db8:1:3::1"));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a, "2001:db8:1:2::/64");
}

} // namespace
} // namespace omega
