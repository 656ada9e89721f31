#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

/// Who a request comes from, as pure functions: the TCP peer, or, behind a
/// reverse proxy the operator trusts, the address that proxy saw. Every
/// per-address limit of the gateway keys on `limit_key(client_address(...))`.

namespace omega {

/// An address or a CIDR block (`10.0.0.0/8`, `::1`, `fd00::/8`).
struct address_range {
  boost::asio::ip::address base;
  /// Leading bits that must match: 32 or 128 for a single address.
  unsigned prefix = 0;
};

/// Parses ADDR or ADDR/BITS; nullopt if `x` is neither. An IPv4-mapped IPv6
/// address (`::ffff:1.2.3.4`) is read as the IPv4 address.
std::optional<address_range> parse_address_range(std::string_view x);

/// Returns the IPv4 address inside an IPv4-mapped IPv6 one, else `x`: a
/// dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`, and a trusted
/// proxy or a limit must not depend on which socket the peer came through.
boost::asio::ip::address unmapped(const boost::asio::ip::address& x);

/// Returns true if `x` lies in one of `ranges`.
bool in_ranges(const boost::asio::ip::address& x,
               const std::vector<address_range>& ranges);

/// The client of a request that arrived from `peer` with the (comma-joined)
/// `X-Forwarded-For` values `forwarded_for`. Without a trusted `peer` the
/// header is ignored: anyone can send one. Behind trusted proxies it is read
/// right to left, since each proxy appends the address it saw, and the first
/// (right-most) address that is not a trusted proxy is the client; the
/// entries left of it are whatever the client claimed. If every entry is a
/// trusted proxy, the left-most one is the client. An entry that is not an
/// address (a proxy passed garbage on) stops the walk at the last hop known.
boost::asio::ip::address
client_address(const boost::asio::ip::address& peer,
               std::string_view forwarded_for,
               const std::vector<address_range>& trusted);

/// The key per-address limits count under: an IPv4 address as it is, an
/// IPv6 address by its /64, because one subscriber usually gets a whole /64
/// and could otherwise pick a fresh address for every connection.
std::string limit_key(const boost::asio::ip::address& x);

} // namespace omega
