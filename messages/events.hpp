#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/commands.hpp"
#include "messages/error.hpp"

/// Server -> client events: one struct per opcode of PROTOCOL.md sections 2
/// (replies) and 3 (notifications). The codec turns each into one frame.
///
/// Same conventions as commands.hpp: an empty `listener` or optional string
/// is absent; `payload` members are JSON text, empty when absent. Only
/// replies, and the two notifications a sender also receives for its own
/// command (HOST_RECLAIM, PEER_GONE), have a `listener`.

namespace omega::evt {

/// KEEPALIVE reply, echoing the command's payload.
struct keepalive {
  std::string payload;
  std::string listener;
};

/// INIT_OK: the connection is authenticated.
struct init_ok {
  std::string user;
  std::string id;
  std::string game;
  std::string developer;
  std::string listener;
};

/// ACK_HOST: the sender now hosts `lobby_id`.
struct ack_host {
  std::string lobby_id;
  std::string listener;
};

/// PASSWORD_ACK: the password was right (sent just before ACK_PEER).
struct password_ack {
  std::string listener;
};

/// ACK_PEER: the sender joined `lobby_id`; `id`/`user`/`pubkey` name the host.
struct ack_peer {
  std::string lobby_id;
  std::string id;
  std::string user;
  std::string pubkey;
  std::string listener;
};

/// NEW_HOST: a password-less lobby was created or got a new host.
struct new_host {
  std::string id;
  std::string user;
  std::string lobby_id;
  std::string pubkey;
};

/// NEW_PEER: a peer joined the host's lobby.
struct new_peer {
  std::string id;
  std::string user;
  std::string pubkey;
};

/// ANTICIPATE (`cl5` profile): the receiver is about to get an offer from
/// this member; its public key decrypts it.
struct anticipate {
  std::string id;
  std::string user;
  std::string pubkey;
};

/// DISCOVER (`cl5` profile): the receiver just joined and offers to this
/// peer, which was inside already.
struct discover {
  std::string id;
  std::string user;
  std::string pubkey;
};

/// PEER_GONE: a peer left or was kicked.
struct peer_gone {
  std::string id;
  std::string listener;
};

/// HOST_GONE: the host disconnected.
struct host_gone {
  std::string id;
};

/// HOST_RECLAIM: the lobby has a new host.
struct host_reclaim {
  std::string id;
  std::string user;
  std::string lobby_id;
  std::string listener;
};

/// LOBBY_CLOSE: the lobby is gone for the receiver (destroyed, or kicked).
struct lobby_close {
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
  std::string lobby_id;
  uint32_t max_peers = 0;
  std::string listener;
};

/// LOBBY_LIST reply.
struct lobby_list {
  std::vector<std::string> lobby_ids;
  std::string listener;
};

/// LOBBY_INFO reply; the host fields are empty (left out) while the lobby is
/// hostless.
struct lobby_info {
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
  std::string reason;
  uint16_t close = 0;
  std::string listener;
};

/// One server event, as the transport receives it from a CONNECTION.
using event
  = std::variant<keepalive, init_ok, ack_host, password_ack, ack_peer, new_host,
                 new_peer, peer_gone, host_gone, host_reclaim, lobby_close,
                 relayed, relay_ok, lock_state, size_state, lobby_list,
                 lobby_info, error_reply, violation, anticipate, discover>;

// -- equality, for tests and invariant checks -------------------------------

bool operator==(const keepalive& x, const keepalive& y);
bool operator==(const init_ok& x, const init_ok& y);
bool operator==(const ack_host& x, const ack_host& y);
bool operator==(const password_ack& x, const password_ack& y);
bool operator==(const ack_peer& x, const ack_peer& y);
bool operator==(const new_host& x, const new_host& y);
bool operator==(const new_peer& x, const new_peer& y);
bool operator==(const anticipate& x, const anticipate& y);
bool operator==(const discover& x, const discover& y);
bool operator==(const peer_gone& x, const peer_gone& y);
bool operator==(const host_gone& x, const host_gone& y);
bool operator==(const host_reclaim& x, const host_reclaim& y);
bool operator==(const lobby_close& x, const lobby_close& y);
bool operator==(const relayed& x, const relayed& y);
bool operator==(const relay_ok& x, const relay_ok& y);
bool operator==(const lock_state& x, const lock_state& y);
bool operator==(const size_state& x, const size_state& y);
bool operator==(const lobby_list& x, const lobby_list& y);
bool operator==(const lobby_info& x, const lobby_info& y);
bool operator==(const error_reply& x, const error_reply& y);
bool operator==(const violation& x, const violation& y);

// -- inspect ----------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, keepalive& x) {
  return f(caf::meta::type_name("evt::keepalive"), x.payload, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, init_ok& x) {
  return f(caf::meta::type_name("init_ok"), x.user, x.id, x.game, x.developer,
           x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack_host& x) {
  return f(caf::meta::type_name("ack_host"), x.lobby_id, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, password_ack& x) {
  return f(caf::meta::type_name("password_ack"), x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack_peer& x) {
  return f(caf::meta::type_name("ack_peer"), x.lobby_id, x.id, x.user, x.pubkey,
           x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_host& x) {
  return f(caf::meta::type_name("new_host"), x.id, x.user, x.lobby_id,
           x.pubkey);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_peer& x) {
  return f(caf::meta::type_name("new_peer"), x.id, x.user, x.pubkey);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, anticipate& x) {
  return f(caf::meta::type_name("anticipate"), x.id, x.user, x.pubkey);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, discover& x) {
  return f(caf::meta::type_name("discover"), x.id, x.user, x.pubkey);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_gone& x) {
  return f(caf::meta::type_name("peer_gone"), x.id, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_gone& x) {
  return f(caf::meta::type_name("host_gone"), x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_reclaim& x) {
  return f(caf::meta::type_name("host_reclaim"), x.id, x.user, x.lobby_id,
           x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lobby_close& x) {
  return f(caf::meta::type_name("lobby_close"), x.lobby_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relayed& x) {
  return f(caf::meta::type_name("relayed"), x.op, x.payload, x.origin,
           x.origin_user);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relay_ok& x) {
  return f(caf::meta::type_name("relay_ok"), x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_state& x) {
  return f(caf::meta::type_name("lock_state"), x.lobby_id, x.locked,
           x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, size_state& x) {
  return f(caf::meta::type_name("size_state"), x.lobby_id, x.max_peers,
           x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lobby_list& x) {
  return f(caf::meta::type_name("evt::lobby_list"), x.lobby_ids, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lobby_info& x) {
  return f(caf::meta::type_name("evt::lobby_info"), x.lobby_id, x.host_id,
           x.host_user, x.max_peers, x.current_peers, x.locked,
           x.password_required, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error_reply& x) {
  return f(caf::meta::type_name("error_reply"), x.code, x.reason, x.listener);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, violation& x) {
  return f(caf::meta::type_name("violation"), x.reason, x.close, x.listener);
}

} // namespace omega::evt

namespace omega {

/// One server event (see evt::).
using event = evt::event;

} // namespace omega
