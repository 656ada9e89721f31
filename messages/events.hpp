#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "messages/commands.hpp"
#include "messages/error.hpp"
#include "messages/fields.hpp"

/// Server -> client events: one struct per opcode of PROTOCOL.md sections 2
/// (replies) and 3 (notifications). The codec turns each into one frame.
///
/// `wire_name` is the frame's opcode; the three events without one take it
/// from a field (`relayed::op`, `lock_state::locked`, `error_reply::code`).
///
/// Same conventions as commands.hpp: an empty `listener` or optional string
/// is absent; `payload` members are JSON text, empty when absent. Only
/// replies, and the two notifications a sender also receives for its own
/// command (HOST_RECLAIM, PEER_GONE), have a `listener`.

namespace omega::evt {

/// KEEPALIVE reply, echoing the command's payload.
struct keepalive {
  static constexpr std::string_view wire_name = "KEEPALIVE";
  std::string payload;
  std::string listener;
};

/// INIT_OK: the connection is authenticated.
struct init_ok {
  static constexpr std::string_view wire_name = "INIT_OK";
  std::string user;
  std::string id;
  std::string game;
  std::string developer;
  std::string listener;
};

/// ACK_HOST: the sender now hosts `lobby_id`.
struct ack_host {
  static constexpr std::string_view wire_name = "ACK_HOST";
  std::string lobby_id;
  std::string listener;
};

/// PASSWORD_ACK: the password was right (sent just before ACK_PEER).
struct password_ack {
  static constexpr std::string_view wire_name = "PASSWORD_ACK";
  std::string listener;
};

/// ACK_PEER: the sender joined `lobby_id`; `id`/`user`/`pubkey` name the host.
struct ack_peer {
  static constexpr std::string_view wire_name = "ACK_PEER";
  std::string lobby_id;
  std::string id;
  std::string user;
  std::string pubkey;
  std::string listener;
};

/// NEW_HOST: a password-less lobby was created or got a new host.
struct new_host {
  static constexpr std::string_view wire_name = "NEW_HOST";
  std::string id;
  std::string user;
  std::string lobby_id;
  std::string pubkey;
};

/// NEW_PEER: a peer joined the host's lobby.
struct new_peer {
  static constexpr std::string_view wire_name = "NEW_PEER";
  std::string id;
  std::string user;
  std::string pubkey;
};

/// ANTICIPATE (`cl5` profile): the receiver is about to get an offer from
/// this member; its public key decrypts it.
struct anticipate {
  static constexpr std::string_view wire_name = "ANTICIPATE";
  std::string id;
  std::string user;
  std::string pubkey;
};

/// DISCOVER (`cl5` profile): the receiver just joined and offers to this
/// peer, which was inside already.
struct discover {
  static constexpr std::string_view wire_name = "DISCOVER";
  std::string id;
  std::string user;
  std::string pubkey;
};

/// PEER_GONE: a peer left or was kicked.
struct peer_gone {
  static constexpr std::string_view wire_name = "PEER_GONE";
  std::string id;
  std::string listener;
};

/// HOST_GONE: the host disconnected.
struct host_gone {
  static constexpr std::string_view wire_name = "HOST_GONE";
  std::string id;
};

/// HOST_RECLAIM: the lobby has a new host.
struct host_reclaim {
  static constexpr std::string_view wire_name = "HOST_RECLAIM";
  std::string id;
  std::string user;
  std::string lobby_id;
  std::string listener;
};

/// LOBBY_CLOSE: the lobby is gone for the receiver (destroyed, or kicked).
struct lobby_close {
  static constexpr std::string_view wire_name = "LOBBY_CLOSE";
  std::string lobby_id;
};

/// A relayed MAKE_OFFER, MAKE_ANSWER or ICE; carries exactly opcode, payload
/// and origin on the wire.
struct relayed {
  opcode op = opcode::ice;
  std::string payload;
  /// The sender's id.
  std::string origin;
  /// The sender's name, set in `cl5` lobbies only: `origin` then goes on the
  /// wire as `{"id": origin, "user": origin_user}`.
  std::string origin_user{};
};

/// RELAY_OK: the relay was accepted for delivery.
struct relay_ok {
  static constexpr std::string_view wire_name = "RELAY_OK";
  std::string listener;
};

/// LOCK or UNLOCK reply (the opcode follows `locked`).
struct lock_state {
  std::string lobby_id;
  bool locked = false;
  std::string listener;
};

/// SIZE reply.
struct size_state {
  static constexpr std::string_view wire_name = "SIZE";
  std::string lobby_id;
  uint32_t max_peers = 0;
  std::string listener;
};

/// LOBBY_LIST reply.
struct lobby_list {
  static constexpr std::string_view wire_name = "LOBBY_LIST";
  std::vector<std::string> lobby_ids;
  std::string listener;
};

/// LOBBY_INFO reply; the host fields are empty (left out) while the lobby is
/// hostless.
struct lobby_info {
  static constexpr std::string_view wire_name = "LOBBY_INFO";
  std::string lobby_id;
  std::string host_id;
  std::string host_user;
  uint32_t max_peers = 0;
  uint32_t current_peers = 0;
  bool locked = false;
  bool password_required = false;
  std::string listener;
};

/// Any error reply that leaves the connection open: WARNING or one of the
/// protocol's error codes. `reason` is the payload (left out when empty).
struct error_reply {
  ec code = ec::warning;
  std::string reason;
  std::string listener;
};

/// VIOLATION: the transport sends it, then closes with `close`.
struct violation {
  static constexpr std::string_view wire_name = "VIOLATION";
  std::string reason;
  uint16_t close = 0;
  std::string listener;
  /// The client was cut off for abuse (its rates): its address waits
  /// `--cutoff-penalty` before it may connect again. Not on the wire.
  bool abuse = false;
};

/// RESUMABLE (extension): the session survives a lost socket for `window`
/// seconds; a RESUME with `secret` takes it over.
struct resumable {
  static constexpr std::string_view wire_name = "RESUMABLE";
  std::string secret;
  uint32_t window = 0;
  std::string listener;
};

/// RESUMED (extension): after INIT_OK, the new socket carries the session
/// on. `secret` replaces the old one; `role` is `host`, `peer` or empty
/// (lobby-less); `dropped` frames did not fit what the server keeps. The
/// frames kept meanwhile follow.
struct resumed {
  static constexpr std::string_view wire_name = "RESUMED";
  std::string secret;
  std::string lobby_id;
  std::string role;
  uint64_t dropped = 0;
  std::string listener;
};

/// One entry of TURN_CREDENTIALS: an RTCIceServer.
struct ice_server {
  std::vector<std::string> urls;
  std::string username;
  std::string credential;
};

/// TURN_CREDENTIALS (extension): the server's TURN servers with credentials
/// of coturn's REST scheme; empty when the server has none.
struct turn_credentials {
  static constexpr std::string_view wire_name = "TURN_CREDENTIALS";
  std::vector<ice_server> servers;
  std::string listener;
};

/// A frame the transport encoded already (the SINK of a lost socket keeps
/// frames this way for its session).
struct encoded {
  /// Not an opcode: what the metrics count these frames as.
  static constexpr std::string_view wire_name = "KEPT";
  std::string frame;
};

/// One server event, as the transport receives it from a CONNECTION.
using event
  = std::variant<keepalive, init_ok, ack_host, password_ack, ack_peer, new_host,
                 new_peer, peer_gone, host_gone, host_reclaim, lobby_close,
                 relayed, relay_ok, lock_state, size_state, lobby_list,
                 lobby_info, error_reply, violation, anticipate, discover,
                 resumable, resumed, turn_credentials, encoded>;

/// True for the alternatives of `event`: the messages of this namespace.
template <class T>
constexpr bool is_event_v = is_alternative_v<T, event>;

OMEGA_FIELDS_OPERATIONS(is_event_v)

inline bool operator==(const ice_server& x, const ice_server& y) {
  return fields_equal(x, y);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ice_server& x) {
  return f(caf::meta::type_name("ice_server"), x.urls, x.username,
           x.credential);
}

} // namespace omega::evt

namespace omega {

/// One server event (see evt::).
using event = evt::event;

} // namespace omega
