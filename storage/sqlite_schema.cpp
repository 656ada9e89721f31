/// The schema of the SQLite store and its migrations.

#include "storage/sqlite_detail.hpp"

#include <iterator>
#include <optional>
#include <string>

namespace omega::sqlite_detail {

namespace {

/// The migrations, in order: `PRAGMA user_version` counts how many of them a
/// database has seen. Never edit an entry once released; append a new one.
/// Times are unix milliseconds, ids ULIDs.
constexpr const char* migrations[] = {
  // 1: the initial schema.
  "CREATE TABLE developers ("
  "  id TEXT PRIMARY KEY,"
  "  name TEXT UNIQUE NOT NULL,"
  "  created INTEGER"
  ");"
  "CREATE TABLE games ("
  "  ugi TEXT PRIMARY KEY,"
  "  name TEXT NOT NULL,"
  "  developer_id TEXT NOT NULL REFERENCES developers(id),"
  "  created INTEGER,"
  "  UNIQUE(developer_id, name)"
  ");"
  "CREATE TABLE accounts ("
  "  id TEXT PRIMARY KEY,"
  "  username TEXT NOT NULL UNIQUE COLLATE NOCASE,"
  "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
  "  password_hash TEXT NOT NULL,"
  "  created INTEGER"
  ");"
  "CREATE TABLE tokens ("
  "  digest TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  issued INTEGER NOT NULL,"
  "  expires INTEGER NOT NULL,"
  "  origin TEXT NOT NULL DEFAULT ''"
  ");"
  "CREATE INDEX tokens_expires ON tokens(expires);",
  // 2: game profiles and cloud saves. Both change in place, so each row
  // carries a change number (`seq`, one more than the table's largest on
  // every write) that replication follows instead of the rowid.
  "ALTER TABLE games ADD COLUMN profile TEXT NOT NULL DEFAULT 'standard';"
  "ALTER TABLE games ADD COLUMN profile_changed INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE games ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
  "UPDATE games SET seq = rowid;"
  "CREATE INDEX games_seq ON games(seq);"
  "CREATE TABLE saves ("
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  ugi TEXT NOT NULL,"
  "  slot INTEGER NOT NULL,"
  "  data TEXT NOT NULL,"
  "  changed INTEGER NOT NULL,"
  "  seq INTEGER NOT NULL,"
  "  PRIMARY KEY (account_id, ugi, slot)"
  ");"
  "CREATE INDEX saves_seq ON saves(seq);",
};

constexpr int schema_version = static_cast<int>(std::size(migrations));

std::optional<int> user_version(sqlite3* db) {
  statement stmt{db, "PRAGMA user_version"};
  if (stmt.step() != SQLITE_ROW)
    return std::nullopt;
  return static_cast<int>(stmt.int64(0));
}

} // namespace

/// Brings the schema up to `schema_version`, one migration per transaction.
/// The version is re-read inside each transaction so that two processes
/// opening a fresh database at once do not both apply the same migration.
/// An up-to-date database is only read here.
bool migrate(sqlite3* db, std::string& error) {
  auto check = [&](std::optional<int> version) {
    if (!version)
      error = std::string{"cannot read schema version: "} + sqlite3_errmsg(db);
    else if (*version > schema_version)
      error = "database schema is newer than this omega";
    else
      return true;
    return false;
  };
  auto version = user_version(db);
  if (!check(version))
    return false;
  while (*version < schema_version) {
    transaction tx{db};
    if (!tx.ok()) {
      error = std::string{"cannot start migration: "} + sqlite3_errmsg(db);
      return false;
    }
    version = user_version(db);
    if (!check(version))
      return false;
    if (*version == schema_version)
      break; // Another process migrated while we waited for the lock.
    auto next = std::to_string(*version + 1);
    // PRAGMA takes no parameters; the value is our own integer.
    auto set_version = "PRAGMA user_version = " + next;
    std::string msg;
    if (!exec(db, migrations[*version], &msg)
        || !exec(db, set_version.c_str(), &msg)) {
      error = "migration " + next + " failed: " + msg;
      return false;
    }
    if (!tx.commit()) {
      error = "migration " + next + " failed: " + sqlite3_errmsg(db);
      return false;
    }
    ++*version;
  }
  return true;
}

} // namespace omega::sqlite_detail
