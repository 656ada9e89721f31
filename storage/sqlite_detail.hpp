#pragma once

/// Internal to the SQLite store: the helpers its translation units share
/// (sqlite_store.cpp, sqlite_schema.cpp, sqlite_replication.cpp). Include it
/// from nowhere else; it pulls in <sqlite3.h>, which the public
/// storage/sqlite_store.hpp keeps out of its includers.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "storage/auth_store.hpp"

/// The change number of a row written now (see migration 2 in
/// sqlite_schema.cpp).
#define OMEGA_NEXT_SEQ(table)                                                  \
  "(SELECT COALESCE(MAX(seq), 0) + 1 FROM " table ")"

/// The columns of a save row, in the order `read_save_row` reads them.
#define OMEGA_SAVE_COLUMNS "account_id, ugi, slot, data, changed"

namespace omega::sqlite_detail {

inline int64_t now_ms() {
  return to_unix_ms(wall_clock::now());
}

/// Reads a stored profile name; a name this omega does not know (written by
/// a newer one) reads as the default.
inline client_profile read_profile(const std::string& name) {
  auto result = client_profile::standard;
  profile_from_name(name, result);
  return result;
}

/// A prepared statement that finalizes itself, or borrows one of the cached
/// statements of the INIT path (`sqlite_store::cached`) and resets it. Other
/// store functions prepare their statements afresh: they are not hot enough
/// for a cache to pay for its bookkeeping.
class statement {
public:
  statement(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK;
    owned_ = true;
  }

  /// Uses a cached statement (see `sqlite_store::cached`) without owning it.
  explicit statement(sqlite3_stmt* cached) : stmt_(cached) {
    ok_ = cached != nullptr;
  }

  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  ~statement() {
    if (owned_)
      sqlite3_finalize(stmt_);
    else if (stmt_ != nullptr)
      sqlite3_reset(stmt_); // release read locks now, not at the next use
  }

  statement& bind(int index, std::string_view x) {
    // A null data pointer would bind SQL NULL, not an empty string, and
    // trip the NOT NULL constraints.
    auto data = x.data() != nullptr ? x.data() : "";
    if (x.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
      ok_ = false;
    if (ok_)
      ok_ = sqlite3_bind_text(stmt_, index, data, static_cast<int>(x.size()),
                              SQLITE_TRANSIENT)
            == SQLITE_OK;
    return *this;
  }

  statement& bind(int index, int64_t x) {
    if (ok_)
      ok_ = sqlite3_bind_int64(stmt_, index, x) == SQLITE_OK;
    return *this;
  }

  /// Runs one step; returns SQLITE_ROW, SQLITE_DONE or an error code. A
  /// failed prepare or bind surfaces here, so callers check only once.
  int step() {
    return ok_ ? sqlite3_step(stmt_) : SQLITE_ERROR;
  }

  std::string text(int column) const {
    auto str = sqlite3_column_text(stmt_, column);
    if (str == nullptr)
      return {};
    return std::string(
      reinterpret_cast<const char*>(str),
      static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

  int64_t int64(int column) const {
    return sqlite3_column_int64(stmt_, column);
  }

private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
  bool owned_ = false;
};

/// Runs SQL without parameters (schema scripts, transaction control).
inline bool exec(sqlite3* db, const char* sql, std::string* error = nullptr) {
  char* msg = nullptr;
  auto rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK && error != nullptr)
    *error = msg != nullptr ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return rc == SQLITE_OK;
}

/// A write transaction that rolls back unless committed. IMMEDIATE takes the
/// write lock up front, so a concurrent writer makes us wait (busy timeout)
/// at BEGIN instead of failing halfway through.
class transaction {
public:
  explicit transaction(sqlite3* db) : db_(db) {
    active_ = exec(db_, "BEGIN IMMEDIATE");
  }

  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  ~transaction() {
    if (active_)
      exec(db_, "ROLLBACK");
  }

  bool ok() const {
    return active_;
  }

  bool commit() {
    if (!active_ || !exec(db_, "COMMIT"))
      return false;
    active_ = false;
    return true;
  }

private:
  sqlite3* db_;
  bool active_ = false;
};

/// Brings the schema up to date (sqlite_schema.cpp). False with `error` set
/// if it cannot, or if the database is newer than this omega.
bool migrate(sqlite3* db, std::string& error);

} // namespace omega::sqlite_detail
