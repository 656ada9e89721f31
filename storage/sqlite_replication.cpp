/// Replication in the SQLite store: the rows a replication push sends
/// (`export_rows`, after a `replica_cursor`), the import of a peer's rows
/// (the latest change wins for profiles and saves) and the rows of a
/// read-through query (`lookup`).

#include "storage/sqlite_store.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include "storage/sqlite_detail.hpp"

namespace omega {

using sqlite_detail::now_ms;
using sqlite_detail::read_profile;
using sqlite_detail::statement;
using sqlite_detail::transaction;

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

/// Applies a push's games in three passes over all its rows, so that no
/// row depends on the rows after it: first every developer, then every
/// game (under the id its developer's name has here, which may differ from
/// the peer's), then the later profile of every game known here. A row
/// whose developer or game clashes with another here is skipped, the same
/// way each time: importing a push twice changes nothing the second time.
void import_games(sqlite3* db, const std::vector<game_row>& games) {
  for (auto& g : games) {
    statement stmt{db, "INSERT OR IGNORE INTO developers(id, name, created)"
                       " VALUES (?1, ?2, ?3)"};
    stmt.bind(1, g.developer_id).bind(2, g.developer).bind(3, g.created);
    stmt.step();
  }
  for (auto& g : games) {
    statement stmt{
      db, "INSERT OR IGNORE INTO games(ugi, name, developer_id, created,"
          " profile, profile_changed, seq) SELECT ?1, ?2, id, ?4, ?5, "
          "?6, " OMEGA_NEXT_SEQ("games") " FROM developers WHERE name = ?3"};
    stmt.bind(1, g.ugi).bind(2, g.name).bind(3, g.developer);
    stmt.bind(4, g.created).bind(5, profile_name(g.profile));
    stmt.bind(6, g.profile_changed).step();
  }
  for (auto& g : games) {
    {
      statement stmt{db, "SELECT profile, profile_changed FROM games"
                         " WHERE ugi = ?1"};
      stmt.bind(1, g.ugi);
      if (stmt.step() != SQLITE_ROW
          || !newer(g.profile_changed, profile_name(g.profile), stmt.int64(1),
                    stmt.text(0)))
        continue;
    }
    statement stmt{db, "UPDATE games SET profile = ?2, profile_changed = ?3,"
                       " seq = " OMEGA_NEXT_SEQ("games") " WHERE ugi = ?1"};
    stmt.bind(1, g.ugi).bind(2, profile_name(g.profile));
    stmt.bind(3, g.profile_changed).step();
  }
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
    import_games(db_, rows.games);
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

} // namespace omega
