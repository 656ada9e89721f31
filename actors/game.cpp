#include "actors/game.hpp"

#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lobby.hpp"

namespace omega {

template <class T>
void game_state::broadcast(const T& x) {
  for (auto& kvp : audience)
    self->send(kvp.second, x);
}

game_actor::behavior_type game(game_actor::stateful_pointer<game_state> self,
                               std::string ugi, lobby_settings settings) {
  self->state.self = self;
  self->state.ugi = std::move(ugi);
  self->state.settings = settings;
  self->set_exit_handler([=](caf::exit_msg& msg) {
    // Only a shutdown (from the DIRECTORY link or an operator) ends the
    // GAME. A LOBBY's end arrives here too, through the link, with any
    // reason: normal, a failure, or `unreachable` when CAF collects a
    // draining LOBBY nobody refers to any more; the down handler takes care
    // of those.
    if (msg.reason == caf::exit_reason::user_shutdown
        || msg.reason == caf::exit_reason::kill)
      self->quit(std::move(msg.reason));
  });
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.audience.erase(msg.source) > 0)
      return;
    // A LOBBY ended without saying goodbye (it crashed): forget it and tell
    // the game, as if it had closed.
    for (auto i = st.lobbies.begin(); i != st.lobbies.end(); ++i) {
      if (i->second.handle.address() == msg.source) {
        auto notice = lobby_closed{i->first, i->second.instance};
        st.lobbies.erase(i);
        st.broadcast(notice);
        return;
      }
    }
  });
  return {
    [=](create_lobby& req) -> caf::result<hosting> {
      auto& st = self->state;
      if (st.lobbies.count(req.config.lobby_id) > 0)
        return ec::lobby_exists;
      auto instance = st.next_instance++;
      auto new_host = evt::new_host{req.host.id, req.host.user,
                                    req.config.lobby_id, req.host.pubkey};
      bool has_password = !req.config.password.empty();
      // Linked, so a server shutdown that ends the GAME ends its lobbies.
      auto handle = self->spawn<caf::linked>(lobby, req.config, req.host,
                                             req.conn, req.sink,
                                             game_actor{self}, instance,
                                             st.settings, req.profile);
      self->monitor(handle);
      st.lobbies.emplace(req.config.lobby_id,
                         game_state::lobby_entry{handle, instance,
                                                 has_password});
      // The reply goes out before the broadcast, so the new host is a host
      // by the time the broadcast reaches it and drops its own NEW_HOST.
      auto rp = self->make_response_promise<hosting>();
      rp.deliver(hosting{handle, instance});
      if (!has_password)
        st.broadcast(new_host);
      return rp;
    },
    [=](join_lobby& req) -> caf::result<joined> {
      auto& st = self->state;
      auto i = st.lobbies.find(req.lobby_id);
      if (i == st.lobbies.end())
        return ec::lobby_notfound;
      return self->delegate(i->second.handle, std::move(req));
    },
    [=](cmd::lobby_list& req) -> evt::lobby_list {
      evt::lobby_list result;
      result.listener = std::move(req.listener);
      for (auto& kvp : self->state.lobbies)
        if (!kvp.second.has_password)
          result.lobby_ids.emplace_back(kvp.first);
      return result;
    },
    [=](cmd::lobby_info& req) -> caf::result<evt::lobby_info> {
      auto& st = self->state;
      auto i = st.lobbies.find(req.lobby_id);
      if (i == st.lobbies.end())
        return ec::lobby_notfound;
      return self->delegate(i->second.handle, atom::info_v);
    },
    [=](atom::subscribe, connection_actor& conn) {
      self->monitor(conn);
      self->state.audience.emplace(conn.address(), std::move(conn));
    },
    [=](evt::new_host& x) { self->state.broadcast(x); },
    [=](lobby_closed& x) {
      auto& st = self->state;
      auto i = st.lobbies.find(x.lobby_id);
      if (i != st.lobbies.end() && i->second.instance == x.instance) {
        self->demonitor(i->second.handle.address());
        st.lobbies.erase(i);
      }
      st.broadcast(x);
    },
  };
}

} // namespace omega
