#pragma once

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/auth_store.hpp"

namespace omega {

/// An `auth_store` in memory: for deterministic tests and the protocol
/// simulation. Keeps token digests, like the SQLite store.
class memory_store : public auth_store {
public:
  /// Registers a game; returns its new UGI.
  std::string add_game(std::string name, std::string developer,
                       client_profile profile = client_profile::standard);

  /// Changes a game's profile (a later change than any before).
  void set_profile(const std::string& ugi, client_profile profile);

  /// Registers an account; returns its new id.
  std::string add_account(std::string user);

  /// Issues a token for an account; returns the token's plain text.
  std::string issue_token(const std::string& account_id, std::string origin,
                          wall_clock::time_point issued,
                          std::chrono::seconds lifetime);

  std::optional<token_record> find_token(std::string_view token) override;

  std::optional<game_record> find_game(std::string_view ugi) override;

  uint64_t games_version() override;

  replica export_rows(replica_cursor& from, size_t limit) override;

  void import_rows(const replica& rows) override;

  replica lookup(const replica_query& query) override;

private:
  game_row game_row_of(const game_record& g);

  std::unordered_map<std::string, std::string> users_;   // id -> user
  std::unordered_map<std::string, token_record> tokens_; // digest -> record
  std::unordered_map<std::string, game_record> games_;   // ugi -> game
  /// When each game's profile was last set (0 = never), for the replicas.
  std::unordered_map<std::string, int64_t> profile_changed_;
  /// Bumped by every game change.
  uint64_t games_version_ = 0;
  /// Insertion order, the row ids of `export_rows`; a changed game is
  /// appended again.
  std::vector<std::string> user_log_;
  std::vector<std::string> token_log_;
  std::vector<std::string> game_log_;
};

} // namespace omega
