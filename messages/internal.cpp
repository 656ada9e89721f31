#include "messages/internal.hpp"

namespace omega {

bool operator==(const member_info& x, const member_info& y) {
  return x.id == y.id && x.user == y.user && x.pubkey == y.pubkey;
}

bool operator==(const relay& x, const relay& y) {
  return x.op == y.op && x.sender == y.sender && x.recipient == y.recipient
         && x.payload == y.payload && x.listener == y.listener;
}

bool operator==(const lobby_closed& x, const lobby_closed& y) {
  return x.lobby_id == y.lobby_id && x.instance == y.instance;
}

} // namespace omega
