/// The SQLite store: opening the file, the INIT path's lookups, accounts,
/// tokens, cloud saves and the operator's games. The schema lives in
/// sqlite_schema.cpp, replication in sqlite_replication.cpp.

#include "storage/sqlite_store.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include <sodium.h>

#include "storage/sqlite_detail.hpp"

namespace omega {

using sqlite_detail::exec;
using sqlite_detail::now_ms;
using sqlite_detail::read_profile;
using sqlite_detail::statement;
using sqlite_detail::transaction;

namespace {

/// Tokens expired for longer than this are dropped on open. The grace period
/// keeps recently expired tokens around so AUTH can still tell "expired"
/// from "unknown".
constexpr int64_t purge_grace_ms = 24 * 60 * 60 * 1000;

/// Whether the last failure on `db` was a UNIQUE or PRIMARY KEY violation,
/// i.e. a duplicate rather than a broken database.
bool is_duplicate(sqlite3* db) {
  auto rc = sqlite3_extended_errcode(db);
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
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
    if (!sqlite_detail::migrate(db, error))
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

bool sqlite_store::healthy() {
  // Reads a page of the accounts table: fails if the file is gone, locked
  // for longer than the busy timeout, or unreadable.
  return sqlite3_exec(db_, "SELECT 1 FROM accounts LIMIT 1", nullptr, nullptr,
                      nullptr)
         == SQLITE_OK;
}

bool sqlite_store::has_account(std::string_view email) {
  try {
    statement stmt{db_, "SELECT 1 FROM accounts WHERE email = ?1"};
    stmt.bind(1, email);
    return stmt.step() == SQLITE_ROW;
  } catch (...) {
    return false;
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
