#include "actors/directory.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace omega {

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          std::shared_ptr<auth_store> store, lobby_settings settings) {
  self->state.store = std::move(store);
  self->state.settings = settings;
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
