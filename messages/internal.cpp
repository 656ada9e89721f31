#include "messages/internal.hpp"

namespace omega {

const char* profile_name(client_profile x) {
  switch (x) {
    case client_profile::standard:
      return "standard";
    case client_profile::cl5:
      return "cl5";
  }
  return "standard";
}

bool profile_from_name(std::string_view x, client_profile& out) {
  for (auto p : {client_profile::standard, client_profile::cl5}) {
    if (x == profile_name(p)) {
      out = p;
      return true;
    }
  }
  return false;
}

std::string to_string(client_profile x) {
  return profile_name(x);
}

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
