#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "messages/error.hpp"
#include "messages/fields.hpp"

/// Client -> server commands: one struct per opcode of PROTOCOL.md section 2,
/// each with its `wire_name`.
///
/// Conventions shared by every struct here:
/// - `listener` is the client's correlation string; empty means absent (the
///   protocol never echoes empty strings).
/// - `payload` members hold opaque JSON *text* exactly as received (already
///   validated by the codec); empty means absent (a JSON `null` is absent).
/// - Optional strings (`password`, `pubkey`, `recipient`) are empty when
///   absent.

namespace omega {

/// Every client opcode the server knows, in the order of the `command`
/// variant (each command's `wire_name` is its name; commands.cpp checks the
/// count). `unknown` stands for an opcode string outside this list; `none`
/// for a frame whose opcode is unreadable.
enum class opcode : uint8_t {
  none,
  unknown,
  make_offer,
  make_answer,
  ice,
  keepalive,
  init,
  config_host,
  config_peer,
  claim_host,
  transfer_host,
  lock,
  unlock,
  size,
  kick,
  lobby_list,
  lobby_info,
  // Extensions (docs/protocol.md, "Extensions"): a client of PROTOCOL.md
  // never sends them.
  resumable,
  resume,
  turn_credentials,
};

/// Returns the wire name of a client opcode (e.g. `CONFIG_HOST`).
const char* opcode_name(opcode x);

/// Maps a wire name to its opcode; `opcode::unknown` if there is none.
opcode opcode_from_name(std::string_view x);

/// Returns the wire name; lets CAF print messages holding an opcode.
std::string to_string(opcode x);

/// True for the three opcodes a lobby relays (MAKE_OFFER, MAKE_ANSWER, ICE).
constexpr bool is_relay(opcode x) {
  return x == opcode::make_offer || x == opcode::make_answer
         || x == opcode::ice;
}

/// Commands live in their own namespace because several share a name with an
/// event of the same opcode (LOCK, SIZE, LOBBY_INFO, ...).
namespace cmd {

/// KEEPALIVE: echoed back with the same payload.
struct keepalive {
  static constexpr std::string_view wire_name = "KEEPALIVE";
  std::string payload;
  std::string listener;
};

/// INIT: authenticates the connection with a session token.
struct init {
  static constexpr std::string_view wire_name = "INIT";
  std::string token;
  std::string listener;
};

/// CONFIG_HOST: creates a lobby with the sender as its host.
struct config_host {
  static constexpr std::string_view wire_name = "CONFIG_HOST";
  std::string lobby_id;
  bool allow_host_reclaim = false;
  bool allow_peers_to_claim_host = false;
  uint32_t max_peers = 0;
  std::string password;
  std::string pubkey;
  std::string listener;
};

/// CONFIG_PEER: joins an existing lobby as a peer.
struct config_peer {
  static constexpr std::string_view wire_name = "CONFIG_PEER";
  std::string lobby_id;
  std::string password;
  std::string pubkey;
  std::string listener;
};

/// MAKE_OFFER: relays an SDP offer from a host to one of its peers.
struct make_offer {
  static constexpr std::string_view wire_name = "MAKE_OFFER";
  std::string recipient;
  std::string payload;
  std::string listener; /// When the gateway read the frame (steady clock, ns),
                        /// for the relay
  /// delay metric; 0 when unknown. Not on the wire.
  int64_t read_at = 0;
};

/// MAKE_ANSWER: relays an SDP answer from a peer to its host.
struct make_answer {
  static constexpr std::string_view wire_name = "MAKE_ANSWER";
  std::string recipient;
  std::string payload;
  std::string listener; /// When the gateway read the frame (steady clock, ns),
                        /// for the relay
  /// delay metric; 0 when unknown. Not on the wire.
  int64_t read_at = 0;
};

/// ICE: relays an ICE candidate along a host<->peer link.
struct ice {
  static constexpr std::string_view wire_name = "ICE";
  std::string recipient;
  std::string payload;
  std::string listener; /// When the gateway read the frame (steady clock, ns),
                        /// for the relay
  /// delay metric; 0 when unknown. Not on the wire.
  int64_t read_at = 0;
};

/// CLAIM_HOST: a peer of a hostless lobby asks to become its host.
struct claim_host {
  static constexpr std::string_view wire_name = "CLAIM_HOST";
  std::string listener;
};

/// TRANSFER_HOST: the host hands the lobby to one of its peers.
struct transfer_host {
  static constexpr std::string_view wire_name = "TRANSFER_HOST";
  std::string target;
  std::string listener;
};

/// LOCK: the host closes the lobby to new peers.
struct lock {
  static constexpr std::string_view wire_name = "LOCK";
  std::string listener;
};

/// UNLOCK: the host opens the lobby to new peers again.
struct unlock {
  static constexpr std::string_view wire_name = "UNLOCK";
  std::string listener;
};

/// SIZE: the host changes `max_peers` (0 = unlimited).
struct size {
  static constexpr std::string_view wire_name = "SIZE";
  uint32_t max_peers = 0;
  std::string listener;
};

/// KICK: the host removes one of its peers. Extension: with the payload
/// `{"id", "ban"}` the peer's account is also barred from the lobby for
/// `ban` seconds (bounded by the server's `--max-ban`); 0 bars nobody.
struct kick {
  static constexpr std::string_view wire_name = "KICK";
  std::string target;
  std::string listener;
  uint32_t ban = 0;
};

/// LOBBY_LIST: asks for the game's lobbies that have no password.
struct lobby_list {
  static constexpr std::string_view wire_name = "LOBBY_LIST";
  std::string listener;
};

/// LOBBY_INFO: asks for one lobby's public details.
struct lobby_info {
  static constexpr std::string_view wire_name = "LOBBY_INFO";
  std::string lobby_id;
  std::string listener;
};

/// RESUMABLE (extension): the authenticated client asks that a lost socket
/// not end its session at once; the reply carries the resume secret.
struct resumable {
  static constexpr std::string_view wire_name = "RESUMABLE";
  std::string listener;
};

/// RESUME (extension): INIT for a new socket that takes over a session held
/// after its socket was lost, proving it with the session's secret.
struct resume {
  static constexpr std::string_view wire_name = "RESUME";
  std::string token;
  std::string secret;
  std::string listener;
};

/// TURN_CREDENTIALS (extension): asks for short-lived TURN credentials.
struct turn_credentials {
  static constexpr std::string_view wire_name = "TURN_CREDENTIALS";
  std::string listener;
};

/// A frame the codec could not turn into a command. It still goes to the
/// CONNECTION, because the reply depends on the connection's state (before
/// INIT a malformed CONFIG_HOST gets CONFIG_REQUIRED, a malformed SIZE from a
/// peer gets NOT_HOST) and because it must be answered in order with the
/// replies to earlier frames.
struct bad_frame {
  /// The frame's opcode if it was readable, else `opcode::none`.
  opcode op = opcode::none;
  /// `ec::violation` (closes the connection) or `ec::warning`.
  ec code = ec::violation;
  /// Human-readable reason, sent as the reply's payload.
  std::string reason;
  /// WebSocket close code after a violation; 0 for a warning.
  uint16_t close = 0;
  std::string listener;
};

/// One decoded client frame: a command, or the error reply it deserves. The
/// relays come first: nearly all traffic, and CAF 0.17 tries a behavior's
/// handlers in this order.
using command
  = std::variant<make_offer, make_answer, ice, keepalive, init, config_host,
                 config_peer, claim_host, transfer_host, lock, unlock, size,
                 kick, lobby_list, lobby_info, resumable, resume,
                 turn_credentials, bad_frame>;

/// True for the alternatives of `command`: the messages of this namespace.
template <class T>
constexpr bool is_command_v = is_alternative_v<T, command>;

/// The position of `T` in `command`.
template <class T, class... Ts>
constexpr size_t index_in(const std::variant<Ts...>*) {
  constexpr bool same[] = {std::is_same_v<T, Ts>...};
  for (size_t i = 0; i < sizeof...(Ts); ++i)
    if (same[i])
      return i;
  return sizeof...(Ts);
}

} // namespace cmd

/// The opcode of command `T` (not `cmd::bad_frame`): `opcode` follows the
/// order of `command`.
template <class T>
constexpr opcode opcode_of = static_cast<opcode>(
  static_cast<size_t>(opcode::make_offer)
  + cmd::index_in<T>(static_cast<const cmd::command*>(nullptr)));

namespace cmd {

OMEGA_FIELDS_OPERATIONS(is_command_v)

/// A whole `command` is one message to a CONNECTION: one handler in its
/// behavior instead of one per opcode (each costs an idle connection about
/// 48 bytes in CAF 0.17).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command& x) {
  return inspect_variant(f, x);
}

} // namespace cmd

/// One decoded client frame (see cmd::).
using command = cmd::command;

} // namespace omega
