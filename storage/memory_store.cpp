#include "storage/memory_store.hpp"

#include <algorithm>

namespace omega {

std::string memory_store::add_game(std::string name, std::string developer,
                                   client_profile profile) {
  auto ugi = make_ulid();
  games_.emplace(ugi, game_record{ugi, std::move(name), std::move(developer),
                                  profile});
  game_log_.push_back(ugi);
  ++games_version_;
  return ugi;
}

void memory_store::set_profile(const std::string& ugi, client_profile profile) {
  auto& changed = profile_changed_[ugi];
  changed = std::max(to_unix_ms(wall_clock::now()), changed + 1);
  games_.at(ugi).profile = profile;
  game_log_.push_back(ugi);
  ++games_version_;
}

uint64_t memory_store::games_version() {
  return games_version_;
}

std::string memory_store::add_account(std::string user) {
  auto id = make_ulid();
  users_.emplace(id, std::move(user));
  user_log_.push_back(id);
  return id;
}

std::string memory_store::issue_token(const std::string& account_id,
                                      std::string origin,
                                      wall_clock::time_point issued,
                                      std::chrono::seconds lifetime) {
  auto token = make_token();
  token_record rec{account_id, users_.at(account_id), issued, issued + lifetime,
                   std::move(origin)};
  auto digest = token_digest(token);
  tokens_.emplace(digest, std::move(rec));
  token_log_.push_back(std::move(digest));
  return token;
}

std::optional<token_record> memory_store::find_token(std::string_view token) {
  if (auto i = tokens_.find(token_digest(token)); i != tokens_.end())
    return i->second;
  return std::nullopt;
}

std::optional<game_record> memory_store::find_game(std::string_view ugi) {
  if (auto i = games_.find(std::string{ugi}); i != games_.end())
    return i->second;
  return std::nullopt;
}

namespace {

token_row row_of(const std::string& digest, const token_record& t) {
  return token_row{digest, t.account_id, to_unix_ms(t.issued),
                   to_unix_ms(t.expires), t.origin};
}

} // namespace

game_row memory_store::game_row_of(const game_record& g) {
  return game_row{
    g.ugi, g.name, {}, g.developer, 0, g.profile, profile_changed_[g.ugi]};
}

replica memory_store::export_rows(replica_cursor& from, size_t limit) {
  replica result;
  for (; static_cast<size_t>(from.accounts) < user_log_.size()
         && result.accounts.size() < limit;
       ++from.accounts) {
    auto& id = user_log_[static_cast<size_t>(from.accounts)];
    result.accounts.push_back(account_row{id, users_[id], {}, {}, 0});
  }
  for (; static_cast<size_t>(from.games) < game_log_.size()
         && result.games.size() < limit;
       ++from.games) {
    result.games.push_back(
      game_row_of(games_[game_log_[static_cast<size_t>(from.games)]]));
  }
  for (; static_cast<size_t>(from.tokens) < token_log_.size()
         && result.tokens.size() < limit;
       ++from.tokens) {
    auto& digest = token_log_[static_cast<size_t>(from.tokens)];
    result.tokens.push_back(row_of(digest, tokens_[digest]));
  }
  return result;
}

void memory_store::import_rows(const replica& rows) {
  for (auto& a : rows.accounts)
    if (users_.emplace(a.id, a.username).second)
      user_log_.push_back(a.id);
  for (auto& g : rows.games) {
    auto [i, added] = games_.emplace(
      g.ugi, game_record{g.ugi, g.name, g.developer, g.profile});
    auto& changed = profile_changed_[g.ugi];
    if (!added && g.profile_changed <= changed)
      continue;
    i->second.profile = g.profile;
    changed = g.profile_changed;
    game_log_.push_back(g.ugi);
    ++games_version_;
  }
  for (auto& t : rows.tokens) {
    auto user = users_.find(t.account_id);
    if (user == users_.end())
      continue; // like the SQLite store's foreign key
    token_record rec{t.account_id, user->second, from_unix_ms(t.issued),
                     from_unix_ms(t.expires), t.origin};
    if (tokens_.emplace(t.digest, std::move(rec)).second)
      token_log_.push_back(t.digest);
  }
}

replica memory_store::lookup(const replica_query& query) {
  replica result;
  if (auto i = tokens_.find(query.token_digest); i != tokens_.end()) {
    auto& t = i->second;
    result.accounts.push_back(
      account_row{t.account_id, users_[t.account_id], {}, {}, 0});
    result.tokens.push_back(row_of(i->first, t));
  }
  if (auto i = games_.find(query.ugi); i != games_.end())
    result.games.push_back(game_row_of(i->second));
  return result;
}

} // namespace omega
