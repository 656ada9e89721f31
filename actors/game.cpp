#include "actors/game.hpp"

#include <unordered_set>

#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/limit_log.hpp"
#include "actors/lobby.hpp"
#include "actors/rejections.hpp"

namespace omega {

template <class T>
void game_state::broadcast(const T& x) {
  for (auto& kvp : audience)
    self->send(kvp.second, x);
}

void game_state::broadcast_close(const lobby_closed& x,
                                 const std::vector<caf::actor_addr>& skip) {
  if (skip.empty())
    return broadcast(x);
  std::unordered_set<caf::actor_addr> told{skip.begin(), skip.end()};
  for (auto& kvp : audience)
    if (told.count(kvp.first) == 0)
      self->send(kvp.second, x);
}

void game_state::mark_announced(const std::string& lobby_id) {
  if (auto i = lobbies.find(lobby_id); i != lobbies.end())
    i->second.announced = true;
}

void game_state::announce(evt::new_host x) {
  // A lobby id with broadcasts held keeps them in order: this one joins
  // them even if the budget has room again.
  auto i = held.find(x.lobby_id);
  if (i == held.end() && budget.take(self->clock().now())) {
    mark_announced(x.lobby_id);
    return broadcast(x);
  }
  count_rejection(limit_kind::broadcast_deferred);
  held[x.lobby_id].new_host = std::move(x);
  arm_flush();
}

void game_state::arm_flush() {
  if (flush_due)
    return;
  flush_due = true;
  log_limit("game " + ugi + ": NEW_HOST and LOBBY_CLOSE broadcasts over "
            + rate_text(budget.limit()) + "; coalescing them per lobby");
  self->delayed_send(self, settings.game.broadcast_flush, atom::flush_v);
}

void game_state::announce_close(lobby_closed x,
                                std::vector<caf::actor_addr> told,
                                bool announced) {
  auto i = held.find(x.lobby_id);
  if (i == held.end() && budget.take(self->clock().now()))
    return broadcast_close(x, told);
  count_rejection(limit_kind::broadcast_deferred);
  auto& h = held[x.lobby_id];
  // A NEW_HOST still held was never seen: it and its close cancel out.
  h.new_host.reset();
  if (announced || h.close) {
    if (!h.close)
      h.close = std::move(x);
    h.told.insert(h.told.end(), told.begin(), told.end());
  }
  if (!h.close)
    held.erase(x.lobby_id);
  else
    arm_flush();
}

void game_state::flush() {
  flush_due = false;
  auto batch = std::move(held);
  held.clear();
  // Everything held goes out now, at most two broadcasts per lobby id per
  // flush, however many changes it coalesced; the budget owes them, so the
  // next changes are held again while the churn lasts.
  auto now = self->clock().now();
  for (auto& kvp : batch) {
    if (kvp.second.close) {
      budget.spend(now);
      broadcast_close(*kvp.second.close, kvp.second.told);
    }
    if (kvp.second.new_host) {
      budget.spend(now);
      mark_announced(kvp.first);
      broadcast(*kvp.second.new_host);
    }
  }
}

bool game_state::may_create(const std::string& id) {
  auto now = self->clock().now();
  if (creators.size() >= 1024) {
    // Accounts whose budget refilled are as good as new: forget them.
    for (auto i = creators.begin(); i != creators.end();)
      i = i->second.full(now) ? creators.erase(i) : std::next(i);
  }
  auto i = creators.try_emplace(id, settings.game.lobby_creation).first;
  if (i->second.take(now))
    return true;
  count_rejection(limit_kind::lobby_creation);
  log_limit("game " + ugi + ": account " + id + " creates lobbies faster than "
            + rate_text(settings.game.lobby_creation));
  return false;
}

game_actor::behavior_type game(game_actor::stateful_pointer<game_state> self,
                               std::string ugi, lobby_settings settings) {
  self->state.self = self;
  self->state.ugi = std::move(ugi);
  self->state.settings = settings;
  self->state.budget = token_bucket{settings.game.broadcasts};
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
        auto announced = i->second.announced;
        st.lobbies.erase(i);
        st.announce_close(std::move(notice), {}, announced);
        return;
      }
    }
  });
  return {
    [=](create_lobby& req) -> caf::result<hosting> {
      auto& st = self->state;
      // Before LOBBY_EXISTS: whatever the id, hosting here is over.
      if (st.draining)
        return caf::make_error(ec::warning, "the server is shutting down; "
                                            "host on another server");
      if (st.lobbies.count(req.config.lobby_id) > 0)
        return ec::lobby_exists;
      if (!st.may_create(req.host.id))
        return caf::make_error(ec::warning,
                               "rate limit: lobby creation, "
                                 + rate_text(st.settings.game.lobby_creation)
                                 + " per account");
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
        st.announce(std::move(new_host));
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
      auto& st = self->state;
      auto cap = st.settings.game.max_lobby_list;
      evt::lobby_list result;
      result.listener = std::move(req.listener);
      for (auto& kvp : st.lobbies) {
        if (kvp.second.has_password)
          continue;
        if (cap > 0 && result.lobby_ids.size() == cap) {
          count_rejection(limit_kind::lobby_list_truncated);
          break;
        }
        kvp.second.announced = true;
        result.lobby_ids.emplace_back(kvp.first);
      }
      return result;
    },
    [=](cmd::lobby_info& req) -> caf::result<evt::lobby_info> {
      auto& st = self->state;
      auto i = st.lobbies.find(req.lobby_id);
      if (i == st.lobbies.end())
        return ec::lobby_notfound;
      i->second.announced = true;
      return self->delegate(i->second.handle, atom::info_v);
    },
    [=](atom::subscribe, connection_actor& conn) {
      self->monitor(conn);
      self->state.audience.emplace(conn.address(), std::move(conn));
    },
    [=](evt::new_host& x) { self->state.announce(std::move(x)); },
    [=](lobby_gone& x) {
      auto& st = self->state;
      auto i = st.lobbies.find(x.notice.lobby_id);
      // A lobby the GAME no longer knows (it crashed first) was announced
      // as far as anyone can tell.
      auto announced = true;
      if (i != st.lobbies.end() && i->second.instance == x.notice.instance) {
        announced = i->second.announced;
        self->demonitor(i->second.handle.address());
        st.lobbies.erase(i);
      }
      std::vector<caf::actor_addr> told;
      told.reserve(x.told.size());
      for (auto& conn : x.told)
        told.emplace_back(conn.address());
      st.announce_close(std::move(x.notice), std::move(told), announced);
    },
    [=](atom::flush) { self->state.flush(); },
    [=](atom::drain) { self->state.draining = true; },
  };
}

} // namespace omega
