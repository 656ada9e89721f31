#include "messages/events.hpp"

namespace omega::evt {

bool operator==(const keepalive& x, const keepalive& y) {
  return x.payload == y.payload && x.listener == y.listener;
}

bool operator==(const init_ok& x, const init_ok& y) {
  return x.user == y.user && x.id == y.id && x.game == y.game
         && x.developer == y.developer && x.listener == y.listener;
}

bool operator==(const ack_host& x, const ack_host& y) {
  return x.lobby_id == y.lobby_id && x.listener == y.listener;
}

bool operator==(const password_ack& x, const password_ack& y) {
  return x.listener == y.listener;
}

bool operator==(const ack_peer& x, const ack_peer& y) {
  return x.lobby_id == y.lobby_id && x.id == y.id && x.user == y.user
         && x.pubkey == y.pubkey && x.listener == y.listener;
}

bool operator==(const new_host& x, const new_host& y) {
  return x.id == y.id && x.user == y.user && x.lobby_id == y.lobby_id
         && x.pubkey == y.pubkey;
}

bool operator==(const new_peer& x, const new_peer& y) {
  return x.id == y.id && x.user == y.user && x.pubkey == y.pubkey;
}

bool operator==(const anticipate& x, const anticipate& y) {
  return x.id == y.id && x.user == y.user && x.pubkey == y.pubkey;
}

bool operator==(const discover& x, const discover& y) {
  return x.id == y.id && x.user == y.user && x.pubkey == y.pubkey;
}

bool operator==(const peer_gone& x, const peer_gone& y) {
  return x.id == y.id && x.listener == y.listener;
}

bool operator==(const host_gone& x, const host_gone& y) {
  return x.id == y.id;
}

bool operator==(const host_reclaim& x, const host_reclaim& y) {
  return x.id == y.id && x.user == y.user && x.lobby_id == y.lobby_id
         && x.listener == y.listener;
}

bool operator==(const lobby_close& x, const lobby_close& y) {
  return x.lobby_id == y.lobby_id;
}

bool operator==(const relayed& x, const relayed& y) {
  return x.op == y.op && x.payload == y.payload && x.origin == y.origin
         && x.origin_user == y.origin_user;
}

bool operator==(const relay_ok& x, const relay_ok& y) {
  return x.listener == y.listener;
}

bool operator==(const lock_state& x, const lock_state& y) {
  return x.lobby_id == y.lobby_id && x.locked == y.locked
         && x.listener == y.listener;
}

bool operator==(const size_state& x, const size_state& y) {
  return x.lobby_id == y.lobby_id && x.max_peers == y.max_peers
         && x.listener == y.listener;
}

bool operator==(const lobby_list& x, const lobby_list& y) {
  return x.lobby_ids == y.lobby_ids && x.listener == y.listener;
}

bool operator==(const lobby_info& x, const lobby_info& y) {
  return x.lobby_id == y.lobby_id && x.host_id == y.host_id
         && x.host_user == y.host_user && x.max_peers == y.max_peers
         && x.current_peers == y.current_peers && x.locked == y.locked
         && x.password_required == y.password_required
         && x.listener == y.listener;
}

bool operator==(const error_reply& x, const error_reply& y) {
  return x.code == y.code && x.reason == y.reason && x.listener == y.listener;
}

bool operator==(const violation& x, const violation& y) {
  return x.reason == y.reason && x.close == y.close && x.listener == y.listener;
}

} // namespace omega::evt
