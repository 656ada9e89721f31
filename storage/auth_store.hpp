#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

/// What the AUTH service needs from storage. The AUTH actor owns one store
/// and calls it from its own thread only, so implementations need no locks.

namespace omega {

using wall_clock = std::chrono::system_clock;

/// A session token as stored: only its digest is kept, never the token.
struct token_record {
  std::string account_id;
  std::string user;
  wall_clock::time_point issued;
  wall_clock::time_point expires;
  /// The `Origin` the token was issued to; empty = valid from any origin.
  std::string origin;
};

/// A registered game.
struct game_record {
  std::string ugi;
  std::string name;
  std::string developer;
};

class auth_store {
public:
  virtual ~auth_store();

  /// Looks up a token by its plain text.
  virtual std::optional<token_record> find_token(std::string_view token) = 0;

  /// Looks up a game by its UGI.
  virtual std::optional<game_record> find_game(std::string_view ugi) = 0;
};

/// Returns a fresh session token: 256 random bits, base64url-encoded.
std::string make_token();

/// Returns the digest under which a token is stored (BLAKE2b-256, hex).
std::string token_digest(std::string_view token);

/// Returns a fresh ULID (Crockford base32, 26 characters) for `now`.
std::string make_ulid(wall_clock::time_point now = wall_clock::now());

} // namespace omega
