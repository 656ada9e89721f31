#include "actors/directory.hpp"

#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace omega {

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          std::shared_ptr<auth_store> store, lobby_settings settings) {
  self->state.store = std::move(store);
  self->state.settings = settings;
  self->set_exit_handler([=](caf::exit_msg& msg) {
    // A GAME that ended is forgotten (the next lookup spawns a fresh one).
    // Only a shutdown ends the DIRECTORY and, through the links, every GAME
    // and LOBBY.
    auto& games = self->state.games;
    for (auto i = games.begin(); i != games.end(); ++i) {
      if (i->second.address() == msg.source) {
        games.erase(i);
        return;
      }
    }
    if (msg.reason == caf::exit_reason::user_shutdown
        || msg.reason == caf::exit_reason::kill)
      self->quit(std::move(msg.reason));
  });
  return {
    [=](caf::get_atom, const std::string& ugi) -> caf::result<game_actor> {
      auto& st = self->state;
      if (auto i = st.games.find(ugi); i != st.games.end())
        return i->second;
      if (ugi.empty())
        return caf::make_error(ec::violation, "missing ugi");
      if (!st.store->find_game(ugi))
        return caf::make_error(ec::violation, "unknown game: " + ugi);
      // Linked: a GAME ends with its DIRECTORY (server shutdown).
      auto g = self->spawn<caf::linked>(game, ugi, st.settings);
      st.games.emplace(ugi, g);
      return g;
    },
  };
}

} // namespace omega
