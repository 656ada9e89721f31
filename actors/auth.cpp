#include "actors/auth.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace omega {

auth_actor::behavior_type auth(auth_actor::stateful_pointer<auth_state> self,
                               std::shared_ptr<auth_store> store,
                               clock_function now) {
  self->state.store = std::move(store);
  self->state.now = now ? std::move(now) : [] { return wall_clock::now(); };
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    if (auto i = st.accounts.find(msg.source); i != st.accounts.end()) {
      st.sessions.erase(i->second);
      st.accounts.erase(i);
    }
  });
  return {
    [=](authenticate& req) -> caf::result<session_info> {
      auto& st = self->state;
      auto tok = st.store->find_token(req.token);
      if (!tok)
        return ec::token_invalid;
      if (st.now() >= tok->expires)
        return ec::token_expired;
      if (!tok->origin.empty() && tok->origin != req.origin)
        return ec::token_origin_mismatch;
      auto game = st.store->find_game(req.ugi);
      if (!game)
        return caf::make_error(ec::violation, "unknown game");
      auto conn = self->current_sender();
      if (!conn)
        return caf::make_error(ec::violation, "anonymous INIT");
      if (st.sessions.count(tok->account_id) > 0)
        return ec::session_exists;
      auto addr = caf::actor_cast<caf::actor_addr>(conn);
      st.sessions.emplace(tok->account_id, addr);
      st.accounts.emplace(addr, tok->account_id);
      self->monitor(conn);
      return session_info{tok->account_id, tok->user, game->name,
                          game->developer};
    },
  };
}

} // namespace omega
