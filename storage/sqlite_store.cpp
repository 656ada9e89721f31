#include "storage/sqlite_store.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <utility>

#include <sodium.h>
#include <sqlite3.h>

namespace omega {

namespace {

// -- schema ------------------------------------------------------------------

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

/// The change number of a row written now (see migration 2).
#define OMEGA_NEXT_SEQ(table)                                                  \
  "(SELECT COALESCE(MAX(seq), 0) + 1 FROM " table ")"

constexpr int schema_version = static_cast<int>(std::size(migrations));

/// Tokens expired for longer than this are dropped on open. The grace period
/// keeps recently expired tokens around so AUTH can still tell "expired"
/// from "unknown".
constexpr int64_t purge_grace_ms = 24 * 60 * 60 * 1000;

// -- time --------------------------------------------------------------------

int64_t now_ms() {
  return to_unix_ms(wall_clock::now());
}

/// Reads a stored profile name; a name this omega does not know (written by
/// a newer one) reads as the default.
client_profile read_profile(const std::string& name) {
  auto result = client_profile::standard;
  profile_from_name(name, result);
  return result;
}

// -- SQLite helpers ----------------------------------------------------------

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
bool exec(sqlite3* db, const char* sql, std::string* error = nullptr) {
  char* msg = nullptr;
  auto rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK && error != nullptr)
    *error = msg != nullptr ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return rc == SQLITE_OK;
}

/// Whether the last failure on `db` was a UNIQUE or PRIMARY KEY violation,
/// i.e. a duplicate rather than a broken database.
bool is_duplicate(sqlite3* db) {
  auto rc = sqlite3_extended_errcode(db);
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
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

std::optional<int> user_version(sqlite3* db) {
  statement stmt{db, "PRAGMA user_version"};
  if (stmt.step() != SQLITE_ROW)
    return std::nullopt;
  return static_cast<int>(stmt.int64(0));
}

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

// -- validation --------------------------------------------------------------

bool valid_username(std::string_view x) {
  if (x.size() < 3 || x.size() > 20)
    return false;
  for (auto c : x) {
    auto ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

/// Only catches obvious typos: whether the address exists is the mail
/// server's business, and stricter rules reject real addresses.
bool valid_email(std::string_view x) {
  if (x.size() > 254)
    return false;
  for (auto c : x)
    if (static_cast<unsigned char>(c) <= ' ' || c == '\x7f')
      return false;
  auto at = x.find('@');
  if (at == std::string_view::npos || at == 0
      || x.find('@', at + 1) != std::string_view::npos)
    return false;
  auto domain = x.substr(at + 1);
  return domain.find('.') != std::string_view::npos && domain.front() != '.'
         && domain.back() != '.';
}

/// Counts characters (code points), as the lobby passwords' limit does: a
/// byte of the form 0b10xxxxxx continues a UTF-8 character.
bool valid_password(std::string_view x) {
  auto chars = std::count_if(x.begin(), x.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
  return chars >= 8 && chars <= 128;
}

// -- passwords ---------------------------------------------------------------

bool init_sodium() {
  return sodium_init() >= 0;
}

/// libsodium wants a valid pointer even for an empty password.
const char* data_of(std::string_view x) {
  return x.data() != nullptr ? x.data() : "";
}

std::optional<std::string> hash_password(std::string_view password,
                                         hash_cost cost) {
  char out[crypto_pwhash_STRBYTES];
  if (!init_sodium()
      || crypto_pwhash_str_alg(out, data_of(password), password.size(),
                               cost.opslimit, cost.memlimit,
                               crypto_pwhash_ALG_ARGON2ID13)
           != 0)
    return std::nullopt;
  return std::string{out};
}

bool verify_password(const std::string& hash, std::string_view password) {
  return init_sodium()
         && crypto_pwhash_str_verify(hash.c_str(), data_of(password),
                                     password.size())
              == 0;
}

/// A hash to verify against when the email is unknown, so that a failed
/// login takes as long either way and does not reveal which emails have
/// accounts. One per cost, shared by all stores (hence the lock).
std::string dummy_hash(hash_cost cost) {
  static std::mutex mtx;
  static std::map<std::pair<unsigned long long, size_t>, std::string> cache;
  std::lock_guard<std::mutex> guard{mtx};
  auto& result = cache[{cost.opslimit, cost.memlimit}];
  if (result.empty())
    result = hash_password(make_token(), cost).value_or("");
  return result;
}

// -- tokens ------------------------------------------------------------------

std::optional<std::string>
insert_token(sqlite3* db, const std::string& account_id,
             std::string_view origin, std::chrono::seconds lifetime) {
  auto token = make_token();
  auto issued = now_ms();
  auto expires = issued + static_cast<int64_t>(lifetime.count()) * 1000;
  statement stmt{db, "INSERT INTO tokens(digest, account_id, issued, expires,"
                     " origin) VALUES (?1, ?2, ?3, ?4, ?5)"};
  stmt.bind(1, token_digest(token))
    .bind(2, account_id)
    .bind(3, issued)
    .bind(4, expires)
    .bind(5, origin);
  if (stmt.step() != SQLITE_DONE)
    return std::nullopt;
  return token;
}

} // namespace

// -- hash_cost ---------------------------------------------------------------

hash_cost hash_cost::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

hash_cost hash_cost::minimal() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

// -- sqlite_store ------------------------------------------------------------

sqlite_store::sqlite_store(sqlite3* db, hash_cost cost) : db_(db), cost_(cost) {
  // nop
}

sqlite_store::~sqlite_store() {
  // Every other statement is finalized by its owner, so close cannot be busy.
  sqlite3_finalize(find_token_stmt_);
  sqlite3_finalize(find_game_stmt_);
  sqlite3_finalize(data_version_stmt_);
  sqlite3_close(db_);
}

sqlite3_stmt* sqlite_store::cached(sqlite3_stmt*& slot, const char* sql) {
  if (slot == nullptr) {
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot,
                           nullptr)
        != SQLITE_OK) {
      sqlite3_finalize(slot);
      slot = nullptr;
    }
    return slot;
  }
  sqlite3_reset(slot);
  sqlite3_clear_bindings(slot);
  return slot;
}

std::unique_ptr<sqlite_store> sqlite_store::open(const std::string& data_dir,
                                                 std::string& error,
                                                 hash_cost cost) {
  try {
    if (!init_sodium()) {
      error = "libsodium failed to initialize";
      return nullptr;
    }
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) {
      error = "cannot create " + data_dir + ": " + ec.message();
      return nullptr;
    }
    auto path = (std::filesystem::path{data_dir} / "omega.db").string();
    sqlite3* db = nullptr;
    auto rc = sqlite3_open_v2(path.c_str(), &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                | SQLITE_OPEN_NOMUTEX,
                              nullptr);
    // Owning the handle right away closes it on every error path below.
    std::unique_ptr<sqlite_store> result{new sqlite_store(db, cost)};
    if (rc != SQLITE_OK) {
      error = "cannot open " + path + ": "
              + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
      return nullptr;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    // WAL lets the server read while omega-admin writes; NORMAL sync is
    // durable across crashes of the process and fsyncs only at checkpoints.
    std::string msg;
    if (!exec(db, "PRAGMA journal_mode=WAL", &msg)
        || !exec(db, "PRAGMA synchronous=NORMAL", &msg)
        || !exec(db, "PRAGMA foreign_keys=ON", &msg)) {
      error = "cannot configure " + path + ": " + msg;
      return nullptr;
    }
    if (!migrate(db, error))
      return nullptr;
    // Housekeeping only: a failure here does not make the store unusable.
    statement purge{db, "DELETE FROM tokens WHERE expires < ?1"};
    purge.bind(1, now_ms() - purge_grace_ms).step();
    return result;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown error";
  }
  return nullptr;
}

std::optional<token_record> sqlite_store::find_token(std::string_view token) {
  try {
    statement stmt{cached(find_token_stmt_,
                          "SELECT t.account_id, a.username, t.issued,"
                          " t.expires, t.origin FROM tokens t"
                          " JOIN accounts a ON a.id = t.account_id"
                          " WHERE t.digest = ?1")};
    stmt.bind(1, token_digest(token));
    if (stmt.step() != SQLITE_ROW)
      return std::nullopt;
    return token_record{stmt.text(0), stmt.text(1), from_unix_ms(stmt.int64(2)),
                        from_unix_ms(stmt.int64(3)), stmt.text(4)};
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<game_record> sqlite_store::find_game(std::string_view ugi) {
  try {
    statement stmt{cached(find_game_stmt_,
                          "SELECT g.ugi, g.name, d.name, g.profile FROM games g"
                          " JOIN developers d ON d.id = g.developer_id"
                          " WHERE g.ugi = ?1")};
    stmt.bind(1, ugi);
    if (stmt.step() != SQLITE_ROW)
      return std::nullopt;
    return game_record{stmt.text(0), stmt.text(1), stmt.text(2),
                       read_profile(stmt.text(3))};
  } catch (...) {
    return std::nullopt;
  }
}

uint64_t sqlite_store::games_version() {
  // `data_version` changes when another connection (omega-admin, an API
  // worker) commits; this connection's own writes are counted apart.
  statement stmt{cached(data_version_stmt_, "PRAGMA data_version")};
  auto version = stmt.step() == SQLITE_ROW ? stmt.int64(0) : 0;
  return (static_cast<uint64_t>(version) << 32) ^ local_changes_;
}

// -- replication
// ---------------------------------------------------------------

namespace {

account_row read_account(const statement& stmt, int first) {
  return account_row{stmt.text(first), stmt.text(first + 1),
                     stmt.text(first + 2), stmt.text(first + 3),
                     stmt.int64(first + 4)};
}

token_row read_token(const statement& stmt, int first) {
  return token_row{stmt.text(first), stmt.text(first + 1),
                   stmt.int64(first + 2), stmt.int64(first + 3),
                   stmt.text(first + 4)};
}

/// The columns `read_game` reads, from `games g JOIN developers d`.
#define OMEGA_GAME_COLUMNS                                                     \
  "g.ugi, g.name, g.developer_id, d.name, g.created, g.profile,"               \
  " g.profile_changed"

game_row read_game(const statement& stmt, int first) {
  return game_row{stmt.text(first),      stmt.text(first + 1),
                  stmt.text(first + 2),  stmt.text(first + 3),
                  stmt.int64(first + 4), read_profile(stmt.text(first + 5)),
                  stmt.int64(first + 6)};
}

/// The columns `read_save` reads.
#define OMEGA_SAVE_COLUMNS "account_id, ugi, slot, data, changed"

save_row read_save_row(const statement& stmt, int first) {
  return save_row{{stmt.text(first), stmt.text(first + 1),
                   static_cast<int32_t>(stmt.int64(first + 2))},
                  stmt.text(first + 3),
                  stmt.int64(first + 4)};
}

/// Whether `(changed, text)` is a later write than `(old_changed,
/// old_text)`: the latest time wins, a tie goes to the larger text so that
/// every node settles on the same row.
bool newer(int64_t changed, const std::string& text, int64_t old_changed,
           const std::string& old_text) {
  return changed > old_changed || (changed == old_changed && text > old_text);
}

} // namespace

replica sqlite_store::export_rows(replica_cursor& from, size_t limit) {
  replica result;
  auto max = static_cast<int64_t>(limit);
  try {
    {
      statement stmt{db_, "SELECT rowid, id, username, email, password_hash,"
                          " created FROM accounts WHERE rowid > ?1"
                          " ORDER BY rowid LIMIT ?2"};
      stmt.bind(1, from.accounts).bind(2, max);
      while (stmt.step() == SQLITE_ROW) {
        from.accounts = stmt.int64(0);
        result.accounts.push_back(read_account(stmt, 1));
      }
    }
    {
      statement stmt{db_, "SELECT g.seq, " OMEGA_GAME_COLUMNS " FROM games g"
                          " JOIN developers d ON d.id = g.developer_id"
                          " WHERE g.seq > ?1 ORDER BY g.seq LIMIT ?2"};
      stmt.bind(1, from.games).bind(2, max);
      while (stmt.step() == SQLITE_ROW) {
        from.games = stmt.int64(0);
        result.games.push_back(read_game(stmt, 1));
      }
    }
    {
      // The cursor moves over expired tokens too; they are just not sent.
      statement stmt{db_, "SELECT rowid, digest, account_id, issued, expires,"
                          " origin FROM tokens WHERE rowid > ?1"
                          " ORDER BY rowid LIMIT ?2"};
      stmt.bind(1, from.tokens).bind(2, max);
      auto now = now_ms();
      while (stmt.step() == SQLITE_ROW) {
        from.tokens = stmt.int64(0);
        auto row = read_token(stmt, 1);
        if (row.expires > now)
          result.tokens.push_back(std::move(row));
      }
    }
    {
      statement stmt{db_, "SELECT seq, " OMEGA_SAVE_COLUMNS " FROM saves"
                          " WHERE seq > ?1 ORDER BY seq LIMIT ?2"};
      stmt.bind(1, from.saves).bind(2, max);
      while (stmt.step() == SQLITE_ROW) {
        from.saves = stmt.int64(0);
        result.saves.push_back(read_save_row(stmt, 1));
      }
    }
  } catch (...) {
    // Whatever was read so far is consistent; the rest follows next time.
  }
  return result;
}

void sqlite_store::import_rows(const replica& rows) {
  if (rows.empty())
    return;
  try {
    transaction tx{db_};
    if (!tx.ok())
      return;
    // Each row on its own: a clash (a username or game name another row
    // holds here) or a missing account skips that row only.
    for (auto& a : rows.accounts) {
      statement stmt{db_, "INSERT OR IGNORE INTO accounts(id, username, email,"
                          " password_hash, created)"
                          " VALUES (?1, ?2, ?3, ?4, ?5)"};
      stmt.bind(1, a.id).bind(2, a.username).bind(3, a.email);
      stmt.bind(4, a.password_hash).bind(5, a.created).step();
    }
    for (auto& g : rows.games) {
      {
        statement stmt{db_, "INSERT OR IGNORE INTO developers(id, name,"
                            " created) VALUES (?1, ?2, ?3)"};
        stmt.bind(1, g.developer_id).bind(2, g.developer).bind(3, g.created);
        stmt.step();
      }
      // A developer of that name may exist here under another id.
      std::string developer_id;
      {
        statement stmt{db_, "SELECT id FROM developers WHERE name = ?1"};
        stmt.bind(1, g.developer);
        if (stmt.step() != SQLITE_ROW)
          continue;
        developer_id = stmt.text(0);
      }
      {
        statement stmt{
          db_,
          "INSERT OR IGNORE INTO games(ugi, name,"
          " developer_id, created, profile, profile_changed,"
          " seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, " OMEGA_NEXT_SEQ("games") ")"};
        stmt.bind(1, g.ugi).bind(2, g.name).bind(3, developer_id);
        stmt.bind(4, g.created).bind(5, profile_name(g.profile));
        stmt.bind(6, g.profile_changed).step();
      }
      // A game known here already takes the later profile.
      std::string profile;
      int64_t changed = 0;
      {
        statement stmt{db_, "SELECT profile, profile_changed FROM games"
                            " WHERE ugi = ?1"};
        stmt.bind(1, g.ugi);
        if (stmt.step() != SQLITE_ROW)
          continue;
        profile = stmt.text(0);
        changed = stmt.int64(1);
      }
      if (!newer(g.profile_changed, profile_name(g.profile), changed, profile))
        continue;
      statement stmt{db_, "UPDATE games SET profile = ?2, profile_changed = ?3,"
                          " seq = " OMEGA_NEXT_SEQ("games") " WHERE ugi = ?1"};
      stmt.bind(1, g.ugi).bind(2, profile_name(g.profile));
      stmt.bind(3, g.profile_changed).step();
    }
    for (auto& t : rows.tokens) {
      // A token of an unknown account fails its foreign key: skipped.
      statement stmt{db_, "INSERT OR IGNORE INTO tokens(digest, account_id,"
                          " issued, expires, origin)"
                          " VALUES (?1, ?2, ?3, ?4, ?5)"};
      stmt.bind(1, t.digest).bind(2, t.account_id).bind(3, t.issued);
      stmt.bind(4, t.expires).bind(5, t.origin).step();
    }
    for (auto& sv : rows.saves) {
      auto& k = sv.key;
      {
        statement stmt{db_, "SELECT data, changed FROM saves WHERE"
                            " account_id = ?1 AND ugi = ?2 AND slot = ?3"};
        stmt.bind(1, k.account_id).bind(2, k.ugi).bind(3, int64_t{k.slot});
        if (stmt.step() == SQLITE_ROW
            && !newer(sv.changed, sv.data, stmt.int64(1), stmt.text(0)))
          continue;
      }
      // An unknown account fails the foreign key: skipped.
      statement stmt{
        db_, "INSERT OR REPLACE INTO saves(" OMEGA_SAVE_COLUMNS
             ", seq) VALUES (?1, ?2, ?3, ?4, ?5, " OMEGA_NEXT_SEQ("saves") ")"};
      stmt.bind(1, k.account_id).bind(2, k.ugi).bind(3, int64_t{k.slot});
      stmt.bind(4, sv.data).bind(5, sv.changed).step();
    }
    if (tx.commit())
      ++local_changes_;
  } catch (...) {
    // The transaction rolls back; the rows come again with the next push.
  }
}

replica sqlite_store::lookup(const replica_query& query) {
  replica result;
  try {
    if (!query.token_digest.empty()) {
      statement stmt{db_, "SELECT t.digest, t.account_id, t.issued, t.expires,"
                          " t.origin, a.id, a.username, a.email,"
                          " a.password_hash, a.created FROM tokens t"
                          " JOIN accounts a ON a.id = t.account_id"
                          " WHERE t.digest = ?1"};
      stmt.bind(1, query.token_digest);
      if (stmt.step() == SQLITE_ROW) {
        result.tokens.push_back(read_token(stmt, 0));
        result.accounts.push_back(read_account(stmt, 5));
      }
    }
    if (!query.email.empty()) {
      statement stmt{db_, "SELECT id, username, email, password_hash, created"
                          " FROM accounts WHERE email = ?1"};
      stmt.bind(1, query.email);
      if (stmt.step() == SQLITE_ROW)
        result.accounts.push_back(read_account(stmt, 0));
    }
    if (!query.ugi.empty()) {
      statement stmt{db_, "SELECT " OMEGA_GAME_COLUMNS " FROM games g"
                          " JOIN developers d ON d.id = g.developer_id"
                          " WHERE g.ugi = ?1"};
      stmt.bind(1, query.ugi);
      if (stmt.step() == SQLITE_ROW)
        result.games.push_back(read_game(stmt, 0));
    }
    if (!query.save.account_id.empty()) {
      auto& k = query.save;
      statement stmt{db_, "SELECT " OMEGA_SAVE_COLUMNS " FROM saves WHERE"
                          " account_id = ?1 AND ugi = ?2 AND slot = ?3"};
      stmt.bind(1, k.account_id).bind(2, k.ugi).bind(3, int64_t{k.slot});
      if (stmt.step() == SQLITE_ROW)
        result.saves.push_back(read_save_row(stmt, 0));
    }
  } catch (...) {
    // An answer with fewer rows: the asking node reports the token unknown.
  }
  return result;
}

register_status sqlite_store::register_account(std::string_view username,
                                               std::string_view email,
                                               std::string_view password,
                                               std::string* id) {
  // The status enum has no "internal error"; such failures report `invalid`,
  // which at least never claims a name is taken when it is not.
  try {
    if (!valid_username(username) || !valid_email(email)
        || !valid_password(password))
      return register_status::invalid;
    auto hash = hash_password(password, cost_);
    if (!hash)
      return register_status::invalid;
    auto new_id = make_ulid();
    statement stmt{db_, "INSERT INTO accounts(id, username, email,"
                        " password_hash, created)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)"};
    stmt.bind(1, new_id)
      .bind(2, username)
      .bind(3, email)
      .bind(4, *hash)
      .bind(5, now_ms());
    if (stmt.step() != SQLITE_DONE)
      return is_duplicate(db_) ? register_status::taken
                               : register_status::invalid;
    if (id != nullptr)
      *id = std::move(new_id);
    return register_status::ok;
  } catch (...) {
    return register_status::invalid;
  }
}

std::optional<std::string>
sqlite_store::login(std::string_view email, std::string_view password,
                    std::string_view origin, std::chrono::seconds lifetime) {
  try {
    std::string account_id;
    std::string hash;
    {
      statement stmt{db_, "SELECT id, password_hash FROM accounts"
                          " WHERE email = ?1"};
      stmt.bind(1, email);
      switch (stmt.step()) {
        case SQLITE_ROW:
          account_id = stmt.text(0);
          hash = stmt.text(1);
          break;
        case SQLITE_DONE:
          break;
        default:
          return std::nullopt;
      }
    }
    if (account_id.empty()) {
      verify_password(dummy_hash(cost_), password);
      return std::nullopt;
    }
    if (!verify_password(hash, password))
      return std::nullopt;
    return insert_token(db_, account_id, origin, lifetime);
  } catch (...) {
    return std::nullopt;
  }
}

bool sqlite_store::write_save(const save_key& key, std::string_view data) {
  try {
    statement stmt{
      db_, "INSERT INTO saves(" OMEGA_SAVE_COLUMNS ", seq)"
           " VALUES (?1, ?2, ?3, ?4, ?5, " OMEGA_NEXT_SEQ(
             "saves") ") ON CONFLICT(account_id, ugi, slot) DO UPDATE SET"
                      " data = excluded.data,"
                      " changed = MAX(excluded.changed, changed + 1),"
                      " seq = excluded.seq"};
    stmt.bind(1, key.account_id).bind(2, key.ugi).bind(3, int64_t{key.slot});
    stmt.bind(4, data).bind(5, now_ms());
    if (stmt.step() != SQLITE_DONE)
      return false;
    ++local_changes_;
    return true;
  } catch (...) {
    return false;
  }
}

std::string sqlite_store::read_save(const save_key& key) {
  try {
    statement stmt{db_, "SELECT data FROM saves WHERE account_id = ?1"
                        " AND ugi = ?2 AND slot = ?3"};
    stmt.bind(1, key.account_id).bind(2, key.ugi).bind(3, int64_t{key.slot});
    if (stmt.step() == SQLITE_ROW)
      return stmt.text(0);
  } catch (...) {
    // As if never saved; the caller cannot do better.
  }
  return {};
}

std::string sqlite_store::add_game(std::string_view name,
                                   std::string_view developer,
                                   client_profile profile) {
  try {
    if (name.empty() || developer.empty())
      return {};
    transaction tx{db_};
    if (!tx.ok())
      return {};
    auto now = now_ms();
    {
      statement stmt{db_, "INSERT OR IGNORE INTO developers(id, name, created)"
                          " VALUES (?1, ?2, ?3)"};
      stmt.bind(1, make_ulid()).bind(2, developer).bind(3, now);
      if (stmt.step() != SQLITE_DONE)
        return {};
    }
    std::string developer_id;
    {
      statement stmt{db_, "SELECT id FROM developers WHERE name = ?1"};
      stmt.bind(1, developer);
      if (stmt.step() != SQLITE_ROW)
        return {};
      developer_id = stmt.text(0);
    }
    auto ugi = make_ulid();
    {
      statement stmt{
        db_, "INSERT INTO games(ugi, name, developer_id, created,"
             " profile, seq) VALUES (?1, ?2, ?3, ?4, ?5, " OMEGA_NEXT_SEQ(
               "games") ")"};
      stmt.bind(1, ugi).bind(2, name).bind(3, developer_id).bind(4, now);
      stmt.bind(5, profile_name(profile));
      if (stmt.step() != SQLITE_DONE)
        return {};
    }
    if (!tx.commit())
      return {};
    return ugi;
  } catch (...) {
    return {};
  }
}

bool sqlite_store::set_profile(std::string_view ugi, client_profile profile) {
  try {
    // Just after the last change if that looks later, as `write_save` does.
    statement stmt{db_, "UPDATE games SET profile = ?2,"
                        " profile_changed = MAX(?3, profile_changed + 1),"
                        " seq = " OMEGA_NEXT_SEQ("games") " WHERE ugi = ?1"};
    stmt.bind(1, ugi).bind(2, profile_name(profile)).bind(3, now_ms());
    if (stmt.step() != SQLITE_DONE || sqlite3_changes(db_) != 1)
      return false;
    ++local_changes_;
    return true;
  } catch (...) {
    return false;
  }
}

std::vector<game_record> sqlite_store::list_games() {
  std::vector<game_record> result;
  try {
    statement stmt{db_, "SELECT g.ugi, g.name, d.name, g.profile FROM games g"
                        " JOIN developers d ON d.id = g.developer_id"
                        " ORDER BY g.created, g.ugi"};
    int rc;
    while ((rc = stmt.step()) == SQLITE_ROW)
      result.push_back(game_record{stmt.text(0), stmt.text(1), stmt.text(2),
                                   read_profile(stmt.text(3))});
    if (rc != SQLITE_DONE)
      result.clear();
  } catch (...) {
    result.clear();
  }
  return result;
}

std::optional<std::string>
sqlite_store::issue_token(std::string_view user, std::string_view origin,
                          std::chrono::seconds lifetime) {
  try {
    std::string account_id;
    {
      // Usernames have at most 20 characters and ids 26, so a value cannot
      // match one account by name and another by id.
      statement stmt{db_, "SELECT id FROM accounts"
                          " WHERE username = ?1 OR id = ?1"};
      stmt.bind(1, user);
      if (stmt.step() != SQLITE_ROW)
        return std::nullopt;
      account_id = stmt.text(0);
    }
    return insert_token(db_, account_id, origin, lifetime);
  } catch (...) {
    return std::nullopt;
  }
}

size_t sqlite_store::game_count() {
  try {
    statement stmt{db_, "SELECT COUNT(*) FROM games"};
    if (stmt.step() != SQLITE_ROW)
      return 0;
    return static_cast<size_t>(stmt.int64(0));
  } catch (...) {
    return 0;
  }
}

} // namespace omega
