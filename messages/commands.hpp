#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <caf/meta/type_name.hpp>

#include "messages/error.hpp"

/// Client -> server commands: one struct per opcode of PROTOCOL.md section 2.
///
/// Conventions shared by every struct here:
/// - `listener` is the client's correlation string; empty means absent (the
///   protocol never echoes empty strings).
/// - `payload` members hold opaque JSON *text* exactly as received (already
///   validated by the codec); empty means absent (a JSON `null` is absent).
/// - Optional strings (`password`, `pubkey`, `recipient`) are empty when
///   absent.

namespace omega {

/// Every client opcode the server knows. `unknown` stands for an opcode
/// string outside this list; `none` for a frame whose opcode is unreadable.
enum class opcode : uint8_t {
  none,
  unknown,
  keepalive,
  init,
  config_host,
  config_peer,
  make_offer,
  make_answer,
  ice,
  claim_host,
  transfer_host,
  lock,
  unlock,
  size,
  kick,
  lobby_list,
  lobby_info,
};

/// Returns the wire name of a client opcode (e.g. `CONFIG_HOST`).
const char* opcode_name(opcode x);

/// Maps a wire name to its opcode; `opcode::unknown` if there is none.
opcode opcode_from_name(std::string_view x);

/// Returns the wire name; lets CAF print messages holding an opcode.
std::string to_string(opcode x);

/// Commands live in their own namespace because several share a name with an
/// event of the same opcode (LOCK, SIZE, LOBBY_INFO, ...).
namespace cmd {

/// KEEPALIVE: echoed back with the same payload.
struct keepalive {
  std::string payload;
  std::string listener;
};

/// INIT: authenticates the connection with a session token.
struct init {
  std::string token;
  std::string listener;
};

/// CONFIG_HOST: creates a lobby with the sender as its host.
struct config_host {
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
  std::string lobby_id;
  std::string password;
  std::string pubkey;
  std::string listener;
};

/// MAKE_OFFER: relays an SDP offer from a host to one of its peers.
struct make_offer {
  std::string recipient;
  std::string payload;
  std::string listener;
};

/// MAKE_ANSWER: relays an SDP answer from a peer to its host.
struct make_answer {
  std::string recipient;
  std::string payload;
  std::string listener;
};

/// ICE: relays an ICE candidate along a host<->peer link.
struct ice {
  std::string recipient;
  std::string payload;
  std::string listener;
};

/// CLAIM_HOST: a peer of a hostless lobby asks to become its host.
struct claim_host {
  std::string listener;
};

/// TRANSFER_HOST: the host hands the lobby to one of its peers.
struct transfer_host {
  std::string target;
  std::string listener;
};

/// LOCK: the host closes the lobby to new peers.
struct lock {
  std::string listener;
};

/// UNLOCK: the host opens the lobby to new peers again.
struct unlock {
  std::string listener;
};

/// SIZE: the host changes `max_peers` (0 = unlimited).
struct size {
  uint32_t max_peers = 0;
  std::string listener;
};

/// KICK: the host removes one of its peers.
struct kick {
  std::string target;
  std::string listener;
};

/// LOBBY_LIST: asks for the game's lobbies that have no password.
struct lobby_list {
  std::string listener;
};

/// LOBBY_INFO: asks for one lobby's public details.
struct lobby_info {
  std::string lobby_id;
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

/// One decoded client frame: a command, or the error reply it deserves.
using command
  = std::variant<keepalive, init, config_host, config_peer, make_offer,
                 make_answer, ice, claim_host, transfer_host, lock, unlock,
                 size, kick, lobby_list, lobby_info, bad_frame>;

// -- equality, for tests and round trips ------------------------------------

bool operator==(const keepalive& x, const keepalive& y);
bool operator==(const init& x, const init& y);
bool operator==(const config_host& x, const config_host& y);
bool operator==(const config_peer& x, const config_peer& y);
bool operator==(const make_offer& x, const make_offer& y);
bool operator==(const make_answer& x, const make_answer& y);
bool operator==(const ice& x, const ice& y);
bool operator==(const claim_host& x, const claim_host& y);
bool operator==(const transfer_host& x, const transfer_host& y);
bool operator==(const lock& x, const lock& y);
bool operator==(const unlock& x, const unlock& y);
bool operator==(const size& x, const size& y);
bool operator==(const kick& x, const kick& y);
bool operator==(const lobby_list& x, const lobby_list& y);
bool operator==(const lobby_info& x, const lobby_info& y);
bool operator==(const bad_frame& x, const bad_frame& y);

// -- inspect ----------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, keepalive& x) {
  return f(caf::meta::type_name("keepalive"), x.payload, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, init& x) {
  return f(caf::meta::type_name("init"), x.token, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, config_host& x) {
  return f(caf::meta::type_name("config_host"), x.lobby_id,
           x.allow_host_reclaim, x.allow_peers_to_claim_host, x.max_peers,
           x.password, x.pubkey, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, config_peer& x) {
  return f(caf::meta::type_name("config_peer"), x.lobby_id, x.password,
           x.pubkey, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, make_offer& x) {
  return f(caf::meta::type_name("make_offer"), x.recipient, x.payload,
           x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, make_answer& x) {
  return f(caf::meta::type_name("make_answer"), x.recipient, x.payload,
           x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ice& x) {
  return f(caf::meta::type_name("ice"), x.recipient, x.payload, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_host& x) {
  return f(caf::meta::type_name("claim_host"), x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transfer_host& x) {
  return f(caf::meta::type_name("transfer_host"), x.target, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock& x) {
  return f(caf::meta::type_name("lock"), x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unlock& x) {
  return f(caf::meta::type_name("unlock"), x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, size& x) {
  return f(caf::meta::type_name("size"), x.max_peers, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kick& x) {
  return f(caf::meta::type_name("kick"), x.target, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lobby_list& x) {
  return f(caf::meta::type_name("lobby_list"), x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lobby_info& x) {
  return f(caf::meta::type_name("lobby_info"), x.lobby_id, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bad_frame& x) {
  return f(caf::meta::type_name("bad_frame"), x.op, x.code, x.reason, x.close,
           x.listener);
}

} // namespace cmd

/// One decoded client frame (see cmd::).
using command = cmd::command;

} // namespace omega
