#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "actors/limits.hpp"
#include "messages/events.hpp"
#include "storage/auth_store.hpp"

/// TURN credentials of coturn's REST scheme (`use-auth-secret`): a username
/// `<expiry unix time>:<account id>` and, as its password, the base64 of its
/// HMAC-SHA1 under a secret the TURN server shares. The TURN server checks
/// both without asking omega.

namespace omega {

/// The operator's TURN servers (`--turn-url`, `--turn-secret`, `--turn-ttl`).
struct turn_settings {
  /// Shared secrets: the first signs; the TURN server may accept older ones
  /// too while a new secret rolls out (docs/operations.md, "TURN").
  std::vector<std::string> secrets;
  /// `turn:` and `turns:` URLs handed out with the credentials.
  std::vector<std::string> urls;
  /// How long a credential works (at most 24 h).
  std::chrono::seconds ttl{3600};
  /// TURN_CREDENTIALS per account: every answer is a fresh credential.
  rate_limit rate{0.2, 10};

  bool enabled() const {
    return !secrets.empty() && !urls.empty();
  }
};

/// base64(HMAC-SHA1(secret, username)), coturn's REST credential.
std::string turn_credential(std::string_view secret, std::string_view username);

/// The TURN_CREDENTIALS reply for `account` at `now`: one entry with every
/// URL, or none when TURN is not configured.
evt::turn_credentials turn_grant(const turn_settings& cfg,
                                 const std::string& account,
                                 wall_clock::time_point now);

} // namespace omega
