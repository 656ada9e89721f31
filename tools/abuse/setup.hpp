#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "tools/bench/client.hpp"
#include "tools/bench/io.hpp"

namespace omega::abuse {

namespace net = bench::net;
using bench::tcp;

/// An account made by `omega-admin user add-many`: its email is the name
/// at example.test and its password the tool's default.
struct account {
  std::string id;
  std::string user;
  std::string token;
};

/// What the victim and the attacks share: where the server is and whose
/// accounts they may use (the victim's and the attacker's are disjoint).
struct setup {
  tcp::endpoint server;
  std::string host_header;
  std::string ugi;
  std::vector<account> accounts;
  /// Seconds the measurement (and the attack) lasts.
  double duration = 10;
  /// The local address the attacker connects from: not one of the server's
  /// unlimited addresses (127.0.0.1 and ::1 by default), so it meets the
  /// per-address limits as a remote attacker would.
  net::ip::address attacker_source;
  /// A word unique to this run, for lobby ids.
  std::string nonce;

  /// The signaling path of the game.
  std::string signaling_path() const {
    return "/api/v0/signaling?ugi=" + ugi;
  }
};

/// Reads `ID<TAB>USER<TAB>TOKEN` lines; empty when the file is unreadable.
std::vector<account> read_accounts(const std::string& path);

/// A client frame of the standard protocol; parts left empty are left out.
std::string frame(std::string_view op, std::string_view payload_json = {},
                  std::string_view recipient = {},
                  std::string_view listener = {});

/// A JSON string literal of `x`.
std::string quoted(std::string_view x);

/// A server frame parsed, or nullopt if it is no JSON object.
std::optional<boost::json::object> parse(std::string_view frame);

/// The frame's `opcode`, or empty.
std::string opcode_of(const boost::json::object& x);

/// Seconds since an arbitrary start (steady clock).
double now_s();

} // namespace omega::abuse
