#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace omega {

/// The protocol's error replies. Each value is one opcode of PROTOCOL.md, so a
/// `caf::error` of this category can travel between actors (and nodes) and
/// still turn into the exact frame the client must see.
enum class ec : uint8_t {
  /// Malformed input; the connection closes after the reply.
  violation = 1,
  /// Unknown opcode or a refused CLAIM_HOST; the connection stays open.
  warning,
  /// A command other than KEEPALIVE or INIT arrived before INIT.
  config_required,
  already_host,
  already_peer,
  not_peer,
  not_host,
  session_exists,
  token_invalid,
  token_origin_mismatch,
  token_expired,
  peer_invalid,
  lobby_exists,
  lobby_notfound,
  lobby_full,
  lobby_locked,
  password_required,
  password_fail,
  /// Extension: a RESUME that found no session to take over.
  resume_failed,
};

/// Returns the enumerator's name, e.g. `lobby_full`.
std::string to_string(ec x);

/// Returns the wire opcode for `x`, e.g. `LOBBY_FULL`.
const char* opcode_name(ec x);

/// WebSocket close codes the server uses (RFC 6455, section 7.4.1).
namespace close_code {

constexpr uint16_t normal = 1000;
constexpr uint16_t going_away = 1001;
constexpr uint16_t protocol_error = 1002;
constexpr uint16_t unsupported_data = 1003;
constexpr uint16_t policy_violation = 1008;
constexpr uint16_t message_too_big = 1009;
constexpr uint16_t internal_error = 1011;
/// The server restarts (a drain ended): reconnect, to another server.
constexpr uint16_t service_restart = 1012;

} // namespace close_code

} // namespace omega

CAF_ERROR_CODE_ENUM(omega::ec, "omega")
