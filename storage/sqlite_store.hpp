#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/account_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace omega {

/// Cost of the argon2id password hash (libsodium crypto_pwhash).
struct hash_cost {
  unsigned long long opslimit;
  size_t memlimit;

  /// libsodium's INTERACTIVE limits: the production default.
  static hash_cost interactive();
  /// libsodium's MIN limits: for tests that register many accounts.
  static hash_cost minimal();
};

/// The embedded store: one SQLite file in the data folder holding
/// developers, games, accounts (argon2id hashes) and session tokens (only
/// their digests). The schema is created on first open and upgraded by
/// numbered migrations recorded in `PRAGMA user_version`.
///
/// One instance is one SQLite connection: use each instance from one thread
/// at a time. Several instances (threads, processes such as omega-admin) may
/// share the file; it runs in WAL mode with a busy timeout.
class sqlite_store : public account_store {
public:
  ~sqlite_store() override;

  /// Opens (creating if needed) `<data_dir>/omega.db`, creating `data_dir`
  /// too. Returns nullptr and sets `error` on failure.
  static std::unique_ptr<sqlite_store>
  open(const std::string& data_dir, std::string& error,
       hash_cost cost = hash_cost::interactive());

  // -- auth_store -----------------------------------------------------------

  std::optional<token_record> find_token(std::string_view token) override;

  std::optional<game_record> find_game(std::string_view ugi) override;

  uint64_t games_version() override;

  replica export_rows(replica_cursor& from, size_t limit) override;

  void import_rows(const replica& rows) override;

  replica lookup(const replica_query& query) override;

  // -- account_store --------------------------------------------------------

  register_status register_account(std::string_view username,
                                   std::string_view email,
                                   std::string_view password,
                                   std::string* id = nullptr) override;

  bool has_account(std::string_view email) override;
  bool healthy() override;

  std::optional<std::string>
  login(std::string_view email, std::string_view password,
        std::string_view origin, std::chrono::seconds lifetime) override;

  bool write_save(const save_key& key, std::string_view data) override;

  std::string read_save(const save_key& key) override;

  // -- operator (omega-admin) -----------------------------------------------

  /// Adds a game, creating its developer if needed. Returns the new UGI, or
  /// an empty string if the developer already has a game of that name.
  std::string add_game(std::string_view name, std::string_view developer,
                       client_profile profile = client_profile::standard);

  /// Changes a game's profile; false if there is no such game.
  bool set_profile(std::string_view ugi, client_profile profile);

  /// Lists all games, oldest first.
  std::vector<game_record> list_games();

  /// Issues a token for the account with this username or id; nullopt if
  /// there is no such account.
  std::optional<std::string> issue_token(std::string_view user,
                                         std::string_view origin,
                                         std::chrono::seconds lifetime);

  /// Number of registered games (the server's --demo checks for zero).
  size_t game_count();

private:
  explicit sqlite_store(sqlite3* db, hash_cost cost);

  /// Returns the cached, reset statement for `sql` (prepared on first use).
  /// Only the queries of every INIT are cached: they run once per
  /// connection, so parsing them again each time shows in connect+INIT.
  sqlite3_stmt* cached(sqlite3_stmt*& slot, const char* sql);

  sqlite3* db_;
  hash_cost cost_;
  sqlite3_stmt* find_token_stmt_ = nullptr;
  sqlite3_stmt* find_game_stmt_ = nullptr;
  sqlite3_stmt* data_version_stmt_ = nullptr;
  /// Game and save changes made through this connection, which SQLite's
  /// `data_version` does not count.
  uint64_t local_changes_ = 0;
};

} // namespace omega
