#include "messages/commands.hpp"

#include <cstring>

namespace omega {

namespace {

struct entry {
  opcode op;
  const char* name;
};

constexpr entry opcodes[] = {
  {opcode::keepalive, "KEEPALIVE"},
  {opcode::init, "INIT"},
  {opcode::config_host, "CONFIG_HOST"},
  {opcode::config_peer, "CONFIG_PEER"},
  {opcode::make_offer, "MAKE_OFFER"},
  {opcode::make_answer, "MAKE_ANSWER"},
  {opcode::ice, "ICE"},
  {opcode::claim_host, "CLAIM_HOST"},
  {opcode::transfer_host, "TRANSFER_HOST"},
  {opcode::lock, "LOCK"},
  {opcode::unlock, "UNLOCK"},
  {opcode::size, "SIZE"},
  {opcode::kick, "KICK"},
  {opcode::lobby_list, "LOBBY_LIST"},
  {opcode::lobby_info, "LOBBY_INFO"},
};

} // namespace

const char* opcode_name(opcode x) {
  for (auto& e : opcodes)
    if (e.op == x)
      return e.name;
  return x == opcode::none ? "" : "UNKNOWN";
}

std::string to_string(opcode x) {
  return x == opcode::none ? "NONE" : opcode_name(x);
}

opcode opcode_from_name(std::string_view x) {
  for (auto& e : opcodes)
    if (x == e.name)
      return e.op;
  return opcode::unknown;
}

namespace cmd {

bool operator==(const keepalive& x, const keepalive& y) {
  return x.payload == y.payload && x.listener == y.listener;
}

bool operator==(const init& x, const init& y) {
  return x.token == y.token && x.listener == y.listener;
}

bool operator==(const config_host& x, const config_host& y) {
  return x.lobby_id == y.lobby_id
         && x.allow_host_reclaim == y.allow_host_reclaim
         && x.allow_peers_to_claim_host == y.allow_peers_to_claim_host
         && x.max_peers == y.max_peers && x.password == y.password
         && x.pubkey == y.pubkey && x.listener == y.listener;
}

bool operator==(const config_peer& x, const config_peer& y) {
  return x.lobby_id == y.lobby_id && x.password == y.password
         && x.pubkey == y.pubkey && x.listener == y.listener;
}

bool operator==(const make_offer& x, const make_offer& y) {
  return x.recipient == y.recipient && x.payload == y.payload
         && x.listener == y.listener;
}

bool operator==(const make_answer& x, const make_answer& y) {
  return x.recipient == y.recipient && x.payload == y.payload
         && x.listener == y.listener;
}

bool operator==(const ice& x, const ice& y) {
  return x.recipient == y.recipient && x.payload == y.payload
         && x.listener == y.listener;
}

bool operator==(const claim_host& x, const claim_host& y) {
  return x.listener == y.listener;
}

bool operator==(const transfer_host& x, const transfer_host& y) {
  return x.target == y.target && x.listener == y.listener;
}

bool operator==(const lock& x, const lock& y) {
  return x.listener == y.listener;
}

bool operator==(const unlock& x, const unlock& y) {
  return x.listener == y.listener;
}

bool operator==(const size& x, const size& y) {
  return x.max_peers == y.max_peers && x.listener == y.listener;
}

bool operator==(const kick& x, const kick& y) {
  return x.target == y.target && x.listener == y.listener;
}

bool operator==(const lobby_list& x, const lobby_list& y) {
  return x.listener == y.listener;
}

bool operator==(const lobby_info& x, const lobby_info& y) {
  return x.lobby_id == y.lobby_id && x.listener == y.listener;
}

bool operator==(const bad_frame& x, const bad_frame& y) {
  return x.op == y.op && x.code == y.code && x.reason == y.reason
         && x.close == y.close && x.listener == y.listener;
}

} // namespace cmd

} // namespace omega
