#include "transport/client_address.hpp"

#include <cstdlib>

namespace omega {

namespace net = boost::asio;

namespace {

std::string_view trim(std::string_view x) {
  while (!x.empty() && (x.front() == ' ' || x.front() == '\t'))
    x.remove_prefix(1);
  while (!x.empty() && (x.back() == ' ' || x.back() == '\t'))
    x.remove_suffix(1);
  return x;
}

std::optional<net::ip::address> parse_address(std::string_view x) {
  boost::system::error_code ec;
  auto result = net::ip::make_address(std::string{x}, ec);
  if (ec)
    return std::nullopt;
  return unmapped(result);
}

/// Reads one `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[::1]:80`) as some proxies write it.
std::optional<net::ip::address> parse_entry(std::string_view x) {
  x = trim(x);
  if (!x.empty() && x.front() == '[') {
    auto close = x.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    return parse_address(x.substr(1, close - 1));
  }
  if (auto colon = x.find(':');
      colon != std::string_view::npos && x.find(':', colon + 1) == x.npos)
    x = x.substr(0, colon);
  return parse_address(x);
}

template <size_t N>
bool prefix_matches(const std::array<unsigned char, N>& x,
                    const std::array<unsigned char, N>& base, unsigned prefix) {
  for (size_t i = 0; i < N && prefix > 0; ++i) {
    auto bits = prefix >= 8 ? 8u : prefix;
    auto mask = static_cast<unsigned char>(0xFFu << (8 - bits));
    if ((x[i] & mask) != (base[i] & mask))
      return false;
    prefix -= bits;
  }
  return true;
}

} // namespace

net::ip::address unmapped(const net::ip::address& x) {
  if (x.is_v6() && x.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, x.to_v6());
  return x;
}

std::optional<address_range> parse_address_range(std::string_view x) {
  x = trim(x);
  auto slash = x.find('/');
  auto base = parse_address(x.substr(0, slash));
  if (!base)
    return std::nullopt;
  unsigned max_bits = base->is_v4() ? 32 : 128;
  if (slash == std::string_view::npos)
    return address_range{*base, max_bits};
  auto bits = std::string{x.substr(slash + 1)};
  if (bits.empty() || bits.size() > 3
      || bits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto prefix = static_cast<unsigned>(std::strtoul(bits.c_str(), nullptr, 10));
  if (prefix > max_bits)
    return std::nullopt;
  return address_range{*base, prefix};
}

bool in_ranges(const net::ip::address& addr,
               const std::vector<address_range>& ranges) {
  auto x = unmapped(addr);
  for (auto& r : ranges) {
    if (x.is_v4() && r.base.is_v4()) {
      if (prefix_matches(x.to_v4().to_bytes(), r.base.to_v4().to_bytes(),
                         r.prefix))
        return true;
    } else if (x.is_v6() && r.base.is_v6()) {
      if (prefix_matches(x.to_v6().to_bytes(), r.base.to_v6().to_bytes(),
                         r.prefix))
        return true;
    }
  }
  return false;
}

net::ip::address client_address(const net::ip::address& peer,
                                std::string_view forwarded_for,
                                const std::vector<address_range>& trusted) {
  auto hop = unmapped(peer);
  if (trusted.empty() || !in_ranges(hop, trusted))
    return hop;
  while (!trim(forwarded_for).empty()) {
    auto comma = forwarded_for.rfind(',');
    auto entry = comma == std::string_view::npos
                   ? forwarded_for
                   : forwarded_for.substr(comma + 1);
    forwarded_for = comma == std::string_view::npos
                      ? std::string_view{}
                      : forwarded_for.substr(0, comma);
    if (trim(entry).empty())
      continue;
    auto addr = parse_entry(entry);
    if (!addr)
      return hop;
    hop = *addr;
    if (!in_ranges(hop, trusted))
      return hop;
  }
  return hop;
}

std::string limit_key(const net::ip::address& addr) {
  auto x = unmapped(addr);
  if (x.is_v4())
    return x.to_string();
  auto bytes = x.to_v6().to_bytes();
  for (size_t i = 8; i < bytes.size(); ++i)
    bytes[i] = 0;
  return net::ip::address_v6{bytes}.to_string() + "/64";
}

} // namespace omega
