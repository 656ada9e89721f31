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

} // namespace omega
