#include "storage/memory_store.hpp"

namespace omega {

std::string memory_store::add_game(std::string name, std::string developer) {
  auto ugi = make_ulid();
  games_.emplace(ugi, game_record{ugi, std::move(name), std::move(developer)});
  return ugi;
}

std::string memory_store::add_account(std::string user) {
  auto id = make_ulid();
  users_.emplace(id, std::move(user));
  return id;
}

std::string memory_store::issue_token(const std::string& account_id,
                                      std::string origin,
                                      wall_clock::time_point issued,
                                      std::chrono::seconds lifetime) {
  auto token = make_token();
  token_record rec{account_id, users_.at(account_id), issued, issued + lifetime,
                   std::move(origin)};
  tokens_.emplace(token_digest(token), std::move(rec));
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

} // namespace omega
