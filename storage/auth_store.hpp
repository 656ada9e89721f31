#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messages/internal.hpp"

/// What the AUTH service needs from storage. The AUTH actor owns one store
/// and calls it from its own thread only, so implementations need no locks.
/// In a cluster each node keeps its own store; AUTHs copy rows between them
/// (`export_rows`, `import_rows`, `lookup`).

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

/// Where a replication push left off, per table: the last row id sent for
/// the insert-only tables, the last change number for games and saves,
/// whose rows change.
struct replica_cursor {
  int64_t accounts = 0;
  int64_t games = 0;
  int64_t tokens = 0;
  int64_t saves = 0;
};

/// A registered game.
struct game_record {
  std::string ugi;
  std::string name;
  std::string developer;
  client_profile profile = client_profile::standard;
};

class auth_store {
public:
  virtual ~auth_store();

  /// Looks up a token by its plain text.
  virtual std::optional<token_record> find_token(std::string_view token) = 0;

  /// Looks up a game by its UGI.
  virtual std::optional<game_record> find_game(std::string_view ugi) = 0;

  /// A number that differs from its last value whenever a game may have
  /// changed since (a profile set here, by another process, or imported):
  /// what lets AUTH cache game rows.
  virtual uint64_t games_version() = 0;

  // -- replication ----------------------------------------------------------

  /// Returns up to `limit` rows per table added after `from` (this store's
  /// insertion order, including rows imported from peers) and advances
  /// `from` past them. Expired tokens are skipped.
  virtual replica export_rows(replica_cursor& from, size_t limit) = 0;

  /// Adds rows from a peer. Rows already present, and rows that clash with a
  /// different local row (a username taken on two nodes at once), are left
  /// as they are: the first version a node saw wins there.
  virtual void import_rows(const replica& rows) = 0;

  /// Returns the rows that answer a peer's read-through query: the token
  /// with its account, and the game.
  virtual replica lookup(const replica_query& query) = 0;
};

/// Unix milliseconds: how stores and replicated rows keep times.
int64_t to_unix_ms(wall_clock::time_point x);

wall_clock::time_point from_unix_ms(int64_t x);

/// Returns a fresh session token: 256 random bits, base64url-encoded.
std::string make_token();

/// Returns the digest under which a token is stored (BLAKE2b-256, hex).
std::string token_digest(std::string_view token);

/// Returns a fresh ULID (Crockford base32, 26 characters) for `now`.
std::string make_ulid(wall_clock::time_point now = wall_clock::now());

} // namespace omega
