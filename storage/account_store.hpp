#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "messages/internal.hpp"
#include "storage/auth_store.hpp"

namespace omega {

/// Outcome of `register_account`.
enum class register_status { ok, invalid, taken };

/// What the HTTP API needs from storage: the tokens and games of an
/// `auth_store`, plus accounts and cloud saves. An interface so that
/// transport/ depends on these calls only, not on the SQLite store that
/// implements them. The gateway gives each API worker an instance of its
/// own, so implementations need no locks.
class account_store : public auth_store {
public:
  /// Validates (username 3-20 of [A-Za-z0-9_.-], a plausible email, password
  /// 8-128 characters) and creates an account. Sets `id` on success.
  virtual register_status
  register_account(std::string_view username, std::string_view email,
                   std::string_view password, std::string* id = nullptr)
    = 0;

  /// Returns true if an account has `email`. Cheap (no hashing): the HTTP API
  /// asks before a login whether the account must be pulled from the other
  /// nodes first.
  virtual bool has_account(std::string_view email) = 0;

  /// Checks email and password; on success issues a token bound to `origin`
  /// (empty = any origin) valid for `lifetime`. Returns the token.
  virtual std::optional<std::string>
  login(std::string_view email, std::string_view password,
        std::string_view origin, std::chrono::seconds lifetime)
    = 0;

  /// Writes a slot. Its time is now, or just after the slot's last write if
  /// that looks later (a clock ahead on another node): a write made here is
  /// always the latest. False on a database error or an unknown account.
  virtual bool write_save(const save_key& key, std::string_view data) = 0;

  /// Returns a slot's data; empty if it was never written.
  virtual std::string read_save(const save_key& key) = 0;

  /// Whether the store answers a query now (`/readyz`). A store in memory
  /// always does.
  virtual bool healthy() {
    return true;
  }
};

} // namespace omega
