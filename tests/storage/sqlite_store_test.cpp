#include "storage/sqlite_store.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

/// Tests of the SQLite store against a real database file in a fresh
/// temporary folder per test. Raw SQLite queries check what actually lands on
/// disk (schema version, digests instead of tokens, argon2id hashes), since
/// that is what an attacker with a copy of the file would see.

using namespace omega;
using namespace std::chrono_literals;

namespace {

// -- helpers -----------------------------------------------------------------

/// A folder under /tmp, removed with everything in it at scope exit.
class temp_dir {
public:
  temp_dir() {
    char tmpl[] = "/tmp/omega-sqlite-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const {
    return path_;
  }

  std::string db() const {
    return path_ + "/omega.db";
  }

private:
  std::string path_;
};

std::unique_ptr<sqlite_store> open_store(const std::string& dir) {
  std::string error;
  auto result = sqlite_store::open(dir, error, hash_cost::minimal());
  EXPECT_NE(result, nullptr) << error;
  return result;
}

/// Runs `sql` on its own connection and returns every column of every row as
/// text (NULL as ""), row by row.
std::vector<std::vector<std::string>> query(const std::string& db_file,
                                            const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READWRITE,
                            nullptr),
            SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
    << sqlite3_errmsg(db);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      auto str = sqlite3_column_text(stmt, i);
      row.emplace_back(str != nullptr ? reinterpret_cast<const char*>(str)
                                      : "");
    }
    rows.push_back(std::move(row));
  }
  EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

/// The first column of the first row of `sql`.
std::string query_one(const std::string& db_file, const std::string& sql) {
  auto rows = query(db_file, sql);
  if (rows.empty() || rows.front().empty()) {
    ADD_FAILURE() << "no result for: " << sql;
    return {};
  }
  return rows.front().front();
}

std::string rep(char c, size_t n) {
  return std::string(n, c);
}

std::string rep(const std::string& x, size_t n) {
  std::string result;
  for (size_t i = 0; i < n; ++i)
    result += x;
  return result;
}

const std::string good_password = "correct horse";

} // namespace

// -- schema ------------------------------------------------------------------

TEST(sqlite_store, creates_folder_and_schema) {
  temp_dir tmp;
  auto dir = tmp.path() + "/nested/data";
  auto store = open_store(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(dir + "/omega.db"));
  auto db = dir + "/omega.db";
  EXPECT_EQ(query_one(db, "PRAGMA user_version"), "2");
  EXPECT_EQ(query_one(db, "PRAGMA journal_mode"), "wal");
  auto tables = query(db, "SELECT name FROM sqlite_master WHERE type = 'table'"
                          " ORDER BY name");
  std::vector<std::vector<std::string>> expected{
    {"accounts"}, {"developers"}, {"games"}, {"saves"}, {"tokens"}};
  EXPECT_EQ(tables, expected);
  EXPECT_EQ(query_one(db, "SELECT COUNT(*) FROM sqlite_master"
                          " WHERE type = 'index' AND tbl_name = 'tokens'"
                          " AND sql LIKE '%expires%'"),
            "1");
  EXPECT_EQ(store->game_count(), 0u);
  EXPECT_TRUE(store->list_games().empty());
}

TEST(sqlite_store, data_persists_across_reopen) {
  temp_dir tmp;
  std::string ugi;
  std::string id;
  std::string token;
  std::string schema;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    ugi = store->add_game("Pong", "Atari");
    ASSERT_FALSE(ugi.empty());
    ASSERT_EQ(store->register_account("alice", "alice@example.com",
                                      good_password, &id),
              register_status::ok);
    auto tok = store->login("alice@example.com", good_password, "", 1h);
    ASSERT_TRUE(tok);
    token = *tok;
    schema = query_one(tmp.db(), "SELECT group_concat(sql, ';')"
                                 " FROM sqlite_master");
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  // Reopening a current database leaves the schema alone.
  EXPECT_EQ(query_one(tmp.db(), "PRAGMA user_version"), "2");
  EXPECT_EQ(query_one(tmp.db(), "SELECT group_concat(sql, ';')"
                                " FROM sqlite_master"),
            schema);
  auto game = store->find_game(ugi);
  ASSERT_TRUE(game);
  EXPECT_EQ(game->name, "Pong");
  EXPECT_EQ(game->developer, "Atari");
  EXPECT_EQ(store->game_count(), 1u);
  auto rec = store->find_token(token);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->account_id, id);
  EXPECT_TRUE(store->login("alice@example.com", good_password, "", 1h));
}

TEST(sqlite_store, refuses_newer_schema) {
  temp_dir tmp;
  ASSERT_NE(open_store(tmp.path()), nullptr);
  query(tmp.db(), "PRAGMA user_version = 3");
  std::string error;
  auto store = sqlite_store::open(tmp.path(), error, hash_cost::minimal());
  EXPECT_EQ(store, nullptr);
  EXPECT_EQ(error, "database schema is newer than this omega");
  EXPECT_EQ(query_one(tmp.db(), "PRAGMA user_version"), "3");
}

TEST(sqlite_store, reports_unusable_folder) {
  temp_dir tmp;
  // A data folder below a regular file cannot be created.
  auto file = tmp.path() + "/file";
  std::ofstream{file} << "not a folder";
  std::string error;
  auto store = sqlite_store::open(file + "/data", error);
  EXPECT_EQ(store, nullptr);
  EXPECT_FALSE(error.empty());
}

// -- accounts ----------------------------------------------------------------

TEST(sqlite_store, registers_valid_accounts) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  std::string id;
  EXPECT_EQ(store->register_account("alice", "alice@example.com", good_password,
                                    &id),
            register_status::ok);
  EXPECT_EQ(id.size(), 26u);
  EXPECT_EQ(query_one(tmp.db(), "SELECT username || ' ' || email"
                                " FROM accounts WHERE id = '"
                                  + id + "'"),
            "alice alice@example.com");
  // Boundaries and every allowed character; no id requested.
  EXPECT_EQ(store->register_account("abc", "a@b.c", rep('p', 8)),
            register_status::ok);
  EXPECT_EQ(store->register_account(rep('z', 20), "x.y+z@sub.example.org",
                                    rep('p', 128)),
            register_status::ok);
  EXPECT_EQ(store->register_account("A-z_0.9", "q@example.com", good_password),
            register_status::ok);
  EXPECT_EQ(query_one(tmp.db(), "SELECT COUNT(*) FROM accounts"), "4");
}

TEST(sqlite_store, rejects_invalid_usernames) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  for (auto& name :
       std::vector<std::string>{"", "ab", rep('a', 21), "with space", "émile",
                                "semi;colon", "at@sign", "slash/", "tab\tx"}) {
    std::string id = "unchanged";
    EXPECT_EQ(store->register_account(name, "ok@example.com", good_password,
                                      &id),
              register_status::invalid)
      << name;
    EXPECT_EQ(id, "unchanged");
  }
  EXPECT_EQ(query_one(tmp.db(), "SELECT COUNT(*) FROM accounts"), "0");
}

TEST(sqlite_store, rejects_invalid_emails) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto long_local = rep('a', 255 - 12) + "@example.com"; // 255 characters
  for (auto& email : std::vector<std::string>{
         "", "plain", "@example.com", "a@@example.com", "a@b@example.com",
         "a@localhost", "a@.example", "a@example.", "a b@example.com",
         "a@exa mple.com", "a@example.com ", "a@", long_local}) {
    EXPECT_EQ(store->register_account("alice", email, good_password),
              register_status::invalid)
      << email;
  }
  // 254 characters is still fine.
  EXPECT_EQ(store->register_account("alice", long_local.substr(1),
                                    good_password),
            register_status::ok);
}

TEST(sqlite_store, rejects_invalid_passwords) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  // Lengths count characters: 4 CJK characters are 12 bytes but too short.
  const std::string cjk = "\xE6\xBC\xA2";
  const std::string e_acute = "\xC3\xA9";
  for (auto password : {std::string{}, rep('p', 7), rep('p', 129), rep(cjk, 4),
                        rep(e_acute, 129)})
    EXPECT_EQ(store->register_account("alice", "alice@example.com", password),
              register_status::invalid)
      << password.size();
  // 128 two-byte characters are 256 bytes and still fine.
  EXPECT_EQ(store->register_account("alice", "alice@example.com",
                                    rep(e_acute, 128)),
            register_status::ok);
}

TEST(sqlite_store, rejects_taken_username_and_email_ignoring_case) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->register_account("Alice", "Alice@Example.com",
                                    good_password),
            register_status::ok);
  std::string id = "unchanged";
  EXPECT_EQ(store->register_account("alice", "other@example.com", good_password,
                                    &id),
            register_status::taken);
  EXPECT_EQ(store->register_account("ALICE", "other@example.com", good_password,
                                    &id),
            register_status::taken);
  EXPECT_EQ(store->register_account("bob", "alice@example.COM", good_password,
                                    &id),
            register_status::taken);
  EXPECT_EQ(id, "unchanged");
  EXPECT_EQ(store->register_account("bob", "bob@example.com", good_password),
            register_status::ok);
}

TEST(sqlite_store, stores_argon2id_hashes) {
  temp_dir tmp;
  std::string error;
  auto store = sqlite_store::open(tmp.path(), error, hash_cost::interactive());
  ASSERT_NE(store, nullptr) << error;
  ASSERT_EQ(store->register_account("alice", "alice@example.com",
                                    good_password),
            register_status::ok);
  auto hash = query_one(tmp.db(), "SELECT password_hash FROM accounts");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_EQ(hash.find(good_password), std::string::npos);
  EXPECT_TRUE(store->login("alice@example.com", good_password, "", 1h));
}

TEST(sqlite_store, login_checks_email_and_password) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->register_account("alice", "alice@example.com",
                                    good_password),
            register_status::ok);
  EXPECT_TRUE(store->login("alice@example.com", good_password, "", 1h));
  EXPECT_TRUE(store->login("ALICE@example.com", good_password, "", 1h));
  EXPECT_FALSE(store->login("alice@example.com", "wrong password", "", 1h));
  EXPECT_FALSE(store->login("alice@example.com", "", "", 1h));
  EXPECT_FALSE(store->login("bob@example.com", good_password, "", 1h));
  EXPECT_FALSE(store->login("", "", "", 1h));
  // Only the two successful logins issued tokens.
  EXPECT_EQ(query_one(tmp.db(), "SELECT COUNT(*) FROM tokens"), "2");
}

// -- tokens ------------------------------------------------------------------

TEST(sqlite_store, find_token_returns_the_record) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  std::string id;
  ASSERT_EQ(store->register_account("alice", "alice@example.com", good_password,
                                    &id),
            register_status::ok);
  auto before = wall_clock::now();
  auto token = store->login("alice@example.com", good_password,
                            "https://game.example", 2h);
  auto after = wall_clock::now();
  ASSERT_TRUE(token);
  auto rec = store->find_token(*token);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->account_id, id);
  EXPECT_EQ(rec->user, "alice");
  EXPECT_EQ(rec->origin, "https://game.example");
  // Stored with millisecond precision.
  EXPECT_GE(rec->issued, before - 1ms);
  EXPECT_LE(rec->issued, after);
  EXPECT_EQ(rec->expires - rec->issued, 2h);
  EXPECT_FALSE(store->find_token("no such token"));
  EXPECT_FALSE(store->find_token(""));
  auto other = store->login("alice@example.com", good_password, "", 1h);
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *token);
  auto other_rec = store->find_token(*other);
  ASSERT_TRUE(other_rec);
  EXPECT_EQ(other_rec->origin, "");
}

TEST(sqlite_store, stores_token_digests_only) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->register_account("alice", "alice@example.com",
                                    good_password),
            register_status::ok);
  auto token = store->login("alice@example.com", good_password,
                            "https://game.example", 1h);
  ASSERT_TRUE(token);
  auto rows = query(tmp.db(), "SELECT digest, account_id, issued, expires,"
                              " origin FROM tokens");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], token_digest(*token));
  EXPECT_EQ(rows[0][4], "https://game.example");
  for (auto& column : rows[0])
    EXPECT_EQ(column.find(*token), std::string::npos) << column;
  // Nor anywhere else in the database, once everything is in the main file.
  store.reset();
  query(tmp.db(), "PRAGMA wal_checkpoint(TRUNCATE)");
  for (auto& table : {"developers", "games", "accounts", "tokens", "saves"}) {
    auto all = query(tmp.db(), std::string{"SELECT * FROM "} + table);
    for (auto& row : all)
      for (auto& column : row)
        EXPECT_EQ(column.find(*token), std::string::npos) << table;
  }
}

TEST(sqlite_store, reports_expired_tokens) {
  // Expiry is AUTH's call: the store only reports when a token expires.
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->register_account("alice", "alice@example.com",
                                    good_password),
            register_status::ok);
  auto token = store->issue_token("alice", "", -1h);
  ASSERT_TRUE(token);
  auto rec = store->find_token(*token);
  ASSERT_TRUE(rec);
  EXPECT_LT(rec->expires, wall_clock::now());
  EXPECT_EQ(rec->issued - rec->expires, 1h);
}

TEST(sqlite_store, purges_long_expired_tokens_on_open) {
  temp_dir tmp;
  std::string recent;
  std::string ancient;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->register_account("alice", "alice@example.com",
                                      good_password),
              register_status::ok);
    recent = store->issue_token("alice", "", -1h).value_or("");
    ancient = store->issue_token("alice", "", -48h).value_or("");
    ASSERT_FALSE(recent.empty());
    ASSERT_FALSE(ancient.empty());
    EXPECT_TRUE(store->find_token(ancient));
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->find_token(recent));
  EXPECT_FALSE(store->find_token(ancient));
}

TEST(sqlite_store, issue_token_by_username_or_id) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  std::string id;
  ASSERT_EQ(store->register_account("Alice", "alice@example.com", good_password,
                                    &id),
            register_status::ok);
  auto by_name = store->issue_token("alice", "https://a.example", 1h);
  ASSERT_TRUE(by_name);
  auto rec = store->find_token(*by_name);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->account_id, id);
  EXPECT_EQ(rec->user, "Alice");
  EXPECT_EQ(rec->origin, "https://a.example");
  EXPECT_EQ(rec->expires - rec->issued, 1h);
  auto by_id = store->issue_token(id, "", 24h);
  ASSERT_TRUE(by_id);
  rec = store->find_token(*by_id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->account_id, id);
  EXPECT_EQ(rec->origin, "");
  EXPECT_FALSE(store->issue_token("bob", "", 1h));
  EXPECT_FALSE(store->issue_token("", "", 1h));
  EXPECT_EQ(query_one(tmp.db(), "SELECT COUNT(*) FROM tokens"), "2");
}

// -- games -------------------------------------------------------------------

TEST(sqlite_store, adds_finds_and_lists_games) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  // Games created within the same millisecond list in UGI order, so space
  // them out to make "oldest first" observable.
  auto pong = store->add_game("Pong", "Atari");
  std::this_thread::sleep_for(2ms);
  auto tetris = store->add_game("Tetris", "Pajitnov");
  std::this_thread::sleep_for(2ms);
  auto breakout = store->add_game("Breakout", "Atari");
  ASSERT_EQ(pong.size(), 26u);
  ASSERT_EQ(tetris.size(), 26u);
  ASSERT_EQ(breakout.size(), 26u);
  EXPECT_NE(pong, breakout);
  EXPECT_EQ(store->game_count(), 3u);
  auto game = store->find_game(tetris);
  ASSERT_TRUE(game);
  EXPECT_EQ(game->ugi, tetris);
  EXPECT_EQ(game->name, "Tetris");
  EXPECT_EQ(game->developer, "Pajitnov");
  EXPECT_FALSE(store->find_game("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  EXPECT_FALSE(store->find_game(""));
  auto games = store->list_games();
  ASSERT_EQ(games.size(), 3u);
  EXPECT_EQ(games[0].ugi, pong);
  EXPECT_EQ(games[0].name, "Pong");
  EXPECT_EQ(games[0].developer, "Atari");
  EXPECT_EQ(games[1].ugi, tetris);
  EXPECT_EQ(games[2].ugi, breakout);
  EXPECT_EQ(games[2].developer, "Atari");
  // Atari was created once and reused.
  EXPECT_EQ(query_one(tmp.db(), "SELECT COUNT(*) FROM developers"), "2");
}

TEST(sqlite_store, rejects_duplicate_game_names_per_developer) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  ASSERT_FALSE(store->add_game("Pong", "Atari").empty());
  EXPECT_EQ(store->add_game("Pong", "Atari"), "");
  // The same name from another developer is a different game.
  EXPECT_FALSE(store->add_game("Pong", "Clones Inc").empty());
  EXPECT_EQ(store->game_count(), 2u);
  EXPECT_EQ(store->add_game("", "Atari"), "");
  EXPECT_EQ(store->add_game("Pong 2", ""), "");
  EXPECT_EQ(store->game_count(), 2u);
  EXPECT_EQ(query_one(tmp.db(), "SELECT COUNT(*) FROM developers"), "2");
}

TEST(sqlite_store, instances_share_the_file) {
  temp_dir tmp;
  auto server = open_store(tmp.path());
  auto admin = open_store(tmp.path());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(admin, nullptr);
  auto ugi = admin->add_game("Pong", "Atari");
  ASSERT_FALSE(ugi.empty());
  EXPECT_TRUE(server->find_game(ugi));
  ASSERT_EQ(admin->register_account("alice", "alice@example.com",
                                    good_password),
            register_status::ok);
  auto token = admin->issue_token("alice", "", 1h);
  ASSERT_TRUE(token);
  EXPECT_TRUE(server->find_token(*token));
}

// -- client profiles ----------------------------------------------------------

TEST(sqlite_store, games_have_a_profile_that_can_change) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto pong = store->add_game("Pong", "Atari");
  auto tank = store->add_game("Tank", "Atari", client_profile::cl5);
  EXPECT_EQ(store->find_game(pong)->profile, client_profile::standard);
  EXPECT_EQ(store->find_game(tank)->profile, client_profile::cl5);
  EXPECT_TRUE(store->set_profile(pong, client_profile::cl5));
  EXPECT_EQ(store->find_game(pong)->profile, client_profile::cl5);
  EXPECT_FALSE(store->set_profile("01NOSUCHGAME0000000000000", {}));
  auto games = store->list_games();
  ASSERT_EQ(games.size(), 2u);
  EXPECT_EQ(games[0].profile, client_profile::cl5);
  EXPECT_EQ(games[1].profile, client_profile::cl5);
}

TEST(sqlite_store, games_version_moves_when_another_process_sets_a_profile) {
  temp_dir tmp;
  auto server = open_store(tmp.path());
  auto admin = open_store(tmp.path());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(admin, nullptr);
  auto ugi = admin->add_game("Pong", "Atari");
  auto before = server->games_version();
  EXPECT_EQ(server->games_version(), before); // nothing happened meanwhile
  ASSERT_TRUE(admin->set_profile(ugi, client_profile::cl5));
  EXPECT_NE(server->games_version(), before);
  // And when this connection imports a change.
  auto second = server->games_version();
  replica_cursor all;
  auto rows = admin->export_rows(all, 100);
  rows.games.at(0).profile_changed += 1000;
  rows.games.at(0).profile = client_profile::standard;
  server->import_rows(rows);
  EXPECT_NE(server->games_version(), second);
  EXPECT_EQ(server->find_game(ugi)->profile, client_profile::standard);
}

TEST(sqlite_store, a_version_1_database_is_upgraded_with_standard_games) {
  temp_dir tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
  }
  // Back to the first schema, holding one game, as an older omega left it.
  query(tmp.db(), "DROP TABLE saves");
  query(tmp.db(), "DROP INDEX games_seq");
  query(tmp.db(), "ALTER TABLE games DROP COLUMN seq");
  query(tmp.db(), "ALTER TABLE games DROP COLUMN profile_changed");
  query(tmp.db(), "ALTER TABLE games DROP COLUMN profile");
  query(tmp.db(), "INSERT INTO developers VALUES ('D1', 'Atari', 0)");
  query(tmp.db(), "INSERT INTO games VALUES ('G1', 'Pong', 'D1', 0)");
  query(tmp.db(), "PRAGMA user_version = 1");
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(query_one(tmp.db(), "PRAGMA user_version"), "2");
  auto game = store->find_game("G1");
  ASSERT_TRUE(game);
  EXPECT_EQ(game->profile, client_profile::standard);
  replica_cursor all;
  auto rows = store->export_rows(all, 100);
  ASSERT_EQ(rows.games.size(), 1u);
  EXPECT_EQ(rows.games[0].ugi, "G1");
}

TEST(sqlite_store, the_latest_profile_change_wins_between_nodes) {
  temp_dir a_dir;
  temp_dir b_dir;
  auto a = open_store(a_dir.path());
  auto b = open_store(b_dir.path());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto ugi = a->add_game("Pong", "Atari");
  replica_cursor a_pushed;
  replica_cursor b_pushed;
  b->import_rows(a->export_rows(a_pushed, 100));
  EXPECT_EQ(b->find_game(ugi)->profile, client_profile::standard);
  // A change on A reaches B through the next push: the cursor follows
  // changes, not only new rows.
  ASSERT_TRUE(a->set_profile(ugi, client_profile::cl5));
  auto rows = a->export_rows(a_pushed, 100);
  ASSERT_EQ(rows.games.size(), 1u);
  b->import_rows(rows);
  EXPECT_EQ(b->find_game(ugi)->profile, client_profile::cl5);
  // B re-exports what it imported; A takes nothing older back.
  b->export_rows(b_pushed, 100);
  ASSERT_TRUE(b->set_profile(ugi, client_profile::standard));
  auto stale = rows; // A's cl5 change, older than B's
  a->import_rows(b->export_rows(b_pushed, 100));
  EXPECT_EQ(a->find_game(ugi)->profile, client_profile::standard);
  b->import_rows(stale);
  EXPECT_EQ(b->find_game(ugi)->profile, client_profile::standard);
  // A's import was a change, which A passes on to its other peers.
  EXPECT_EQ(a->export_rows(a_pushed, 100).games.size(), 1u);
}

TEST(sqlite_store, importing_a_push_twice_changes_nothing_the_second_time) {
  temp_dir dir;
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  store->add_game("Pong", "Atari");
  replica_cursor cursor;
  auto here = store->export_rows(cursor, 100);
  ASSERT_EQ(here.games.size(), 1u);
  // The first game names a developer whose id is Atari's here; only the
  // second row creates "Valve", under its own id. The first game still
  // lands, under the id "Valve" has here, on the first import.
  replica push;
  push.games.push_back(game_row{"u-portal", "Portal",
                                here.games[0].developer_id, "Valve", 1,
                                client_profile::cl5, 5});
  push.games.push_back(game_row{"u-hl", "Half-Life", "d-valve", "Valve", 1,
                                client_profile::standard, 0});
  store->import_rows(push);
  ASSERT_TRUE(store->find_game("u-portal"));
  EXPECT_EQ(store->find_game("u-portal")->profile, client_profile::cl5);
  EXPECT_TRUE(store->find_game("u-hl"));
  EXPECT_EQ(store->export_rows(cursor, 100).games.size(), 2u);
  store->import_rows(push);
  EXPECT_TRUE(store->export_rows(cursor, 100).empty());
}

// -- cloud saves --------------------------------------------------------------

TEST(sqlite_store, saves_are_per_account_game_and_slot) {
  temp_dir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  std::string alice;
  std::string bob;
  ASSERT_EQ(store->register_account("alice", "a@example.com", good_password,
                                    &alice),
            register_status::ok);
  ASSERT_EQ(store->register_account("bob", "b@example.com", good_password,
                                    &bob),
            register_status::ok);
  auto pong = store->add_game("Pong", "Atari");
  auto tank = store->add_game("Tank", "Atari");
  EXPECT_EQ(store->read_save({alice, pong, 1}), "");
  ASSERT_TRUE(store->write_save({alice, pong, 1}, "level 3"));
  ASSERT_TRUE(store->write_save({alice, pong, 2}, "level 9"));
  EXPECT_EQ(store->read_save({alice, pong, 1}), "level 3");
  EXPECT_EQ(store->read_save({alice, pong, 2}), "level 9");
  EXPECT_EQ(store->read_save({alice, tank, 1}), "");
  EXPECT_EQ(store->read_save({bob, pong, 1}), "");
  ASSERT_TRUE(store->write_save({alice, pong, 1}, "level 4"));
  EXPECT_EQ(store->read_save({alice, pong, 1}), "level 4");
  EXPECT_FALSE(store->write_save({"01NOBODY00000000000000000", pong, 1}, "x"));
}

TEST(sqlite_store, the_latest_save_wins_between_nodes) {
  temp_dir a_dir;
  temp_dir b_dir;
  auto a = open_store(a_dir.path());
  auto b = open_store(b_dir.path());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::string id;
  ASSERT_EQ(a->register_account("alice", "a@example.com", good_password, &id),
            register_status::ok);
  auto ugi = a->add_game("Pong", "Atari");
  replica_cursor a_pushed;
  replica_cursor b_pushed;
  ASSERT_TRUE(a->write_save({id, ugi, 1}, "from a"));
  b->import_rows(a->export_rows(a_pushed, 100));
  EXPECT_EQ(b->read_save({id, ugi, 1}), "from a");
  b->export_rows(b_pushed, 100);
  // B writes later: its version wins on both nodes, even against A's old
  // row arriving again.
  ASSERT_TRUE(b->write_save({id, ugi, 1}, "from b"));
  auto b_rows = b->export_rows(b_pushed, 100);
  ASSERT_EQ(b_rows.saves.size(), 1u);
  a->import_rows(b_rows);
  EXPECT_EQ(a->read_save({id, ugi, 1}), "from b");
  auto old = a->lookup(replica_query{{}, {}, {}, {id, ugi, 1}});
  ASSERT_EQ(old.saves.size(), 1u);
  EXPECT_EQ(old.saves[0].data, "from b");
  // A write here always wins here, even over a row stamped ahead (another
  // node's clock running fast).
  auto ahead = old;
  ahead.saves[0].data = "from the future";
  ahead.saves[0].changed += 60 * 60 * 1000;
  a->import_rows(ahead);
  EXPECT_EQ(a->read_save({id, ugi, 1}), "from the future");
  ASSERT_TRUE(a->write_save({id, ugi, 1}, "now"));
  EXPECT_EQ(a->read_save({id, ugi, 1}), "now");
  auto row = a->lookup(replica_query{{}, {}, {}, {id, ugi, 1}});
  ASSERT_EQ(row.saves.size(), 1u);
  EXPECT_GT(row.saves[0].changed, ahead.saves[0].changed);
}
