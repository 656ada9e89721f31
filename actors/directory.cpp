#include "actors/directory.hpp"

#include <caf/sec.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/ask_all.hpp"

namespace omega {

namespace {

using directory_pointer = directory_actor::stateful_pointer<directory_state>;

/// Removes and returns the lookups waiting for `ugi`.
std::vector<game_promise>
take(std::unordered_map<std::string, std::vector<game_promise>>& waiting,
     const std::string& ugi) {
  auto i = waiting.find(ugi);
  if (i == waiting.end())
    return {};
  auto result = std::move(i->second);
  waiting.erase(i);
  return result;
}

void deliver_all(std::vector<game_promise> promises, const game_actor& g) {
  for (auto& rp : promises)
    rp.deliver(g);
}

void fail_all(std::vector<game_promise> promises, const caf::error& err) {
  for (auto& rp : promises)
    rp.deliver(err);
}

/// Remembers a GAME on another node; the monitor forgets it with its node.
void adopt(directory_pointer self, const std::string& ugi, game_actor g) {
  self->monitor(g);
  self->state.games[ugi] = std::move(g);
}

game_actor spawn_local(directory_pointer self, const std::string& ugi) {
  auto& st = self->state;
  // Linked: a GAME ends with its DIRECTORY (server shutdown).
  auto g = self->spawn<caf::linked>(game, ugi, st.settings);
  // Before anyone has the handle: a GAME started while draining refuses
  // new lobbies from its first message on.
  if (st.draining)
    self->send(g, atom::drain_v);
  st.games[ugi] = g;
  st.local.insert(ugi);
  return g;
}

/// Whether `g` runs on this node or on a peer in the current view. Right
/// after a node dies, a peer that has not yet seen it go may still name a
/// GAME there. Adopting that handle would be worse than useless: a proxy
/// made afresh for an actor on a lost node never reports it down, so
/// requests to it would never be answered.
bool reachable(directory_pointer self, const game_actor& g) {
  if (!g)
    return false;
  if (g.node() == self->node())
    return true;
  for (auto& kvp : self->state.peers)
    if (kvp.second.node() == g.node())
      return true;
  return false;
}

/// Stale answers per UGI before the waiting lookups fail (about 5 s).
constexpr size_t max_stale_answers = 100;

/// This node owns `ugi`: answers with the GAME running here or on a peer
/// that placed it earlier, spawning one only if nobody runs it.
void serve(directory_pointer self, const std::string& ugi, game_promise rp) {
  auto& st = self->state;
  if (auto i = st.games.find(ugi); i != st.games.end()) {
    rp.deliver(i->second);
    return;
  }
  auto& waiting = st.serving[ugi];
  waiting.push_back(std::move(rp));
  if (waiting.size() > 1)
    return; // a check for this game is under way
  auto found = std::make_shared<game_actor>();
  ask_all<game_actor>(
    self, st.peers,
    [=](const directory_actor&, game_actor& g) {
      if (!*found && reachable(self, g))
        *found = std::move(g);
    },
    [=] {
      auto waiting = take(self->state.serving, ugi);
      if (auto i = self->state.games.find(ugi); i != self->state.games.end())
        return deliver_all(std::move(waiting), i->second);
      if (*found)
        adopt(self, ugi, *found);
      deliver_all(std::move(waiting), *found ? *found : spawn_local(self, ugi));
    },
    atom::find_v, ugi);
}

/// Sends the waiting lookups of `ugi` to its owner, skipping nodes that
/// failed to answer (they are leaving the view).
void route(directory_pointer self, const std::string& ugi,
           std::vector<std::string> skip) {
  auto& st = self->state;
  // Draining nodes are about to restart: a game placed there would have to
  // move again. Unless every node drains, which must still place it.
  std::vector<std::string> nodes{st.self_name};
  std::vector<std::string> open;
  if (!st.draining)
    open.push_back(st.self_name);
  for (auto& kvp : st.peers) {
    if (std::find(skip.begin(), skip.end(), kvp.first) != skip.end())
      continue;
    nodes.push_back(kvp.first);
    if (st.draining_peers.count(kvp.first) == 0)
      open.push_back(kvp.first);
  }
  auto owner = owner_of(ugi, open.empty() ? nodes : open);
  if (owner == st.self_name) {
    for (auto& rp : take(st.routing, ugi))
      serve(self, ugi, std::move(rp));
    return;
  }
  // The owner may itself wait up to `peer_timeout` for its peers (`serve`
  // asks them all), for instance for one that died and that it has not
  // yet noticed. Giving up on the owner sooner would make this node serve
  // the game as well: two GAMEs for one UGI. So the wait here is longer.
  self->request(st.peers[owner], 2 * peer_timeout, atom::place_v, ugi)
    .then(
      [=](game_actor& g) {
        auto& st = self->state;
        if (!reachable(self, g)) {
          // Ask again shortly: by then the owner has seen the node go too.
          if (++st.stale_answers[ugi] > max_stale_answers) {
            st.stale_answers.erase(ugi);
            return fail_all(take(st.routing, ugi),
                            caf::make_error(caf::sec::request_receiver_down));
          }
          self->delayed_send(self, std::chrono::milliseconds{50}, atom::tick_v,
                             ugi);
          return;
        }
        st.stale_answers.erase(ugi);
        adopt(self, ugi, g);
        deliver_all(take(st.routing, ugi), g);
      },
      [=](caf::error& err) mutable {
        if (err.category() == caf::atom("omega"))
          return fail_all(take(self->state.routing, ugi), err);
        skip.push_back(owner);
        route(self, ugi, std::move(skip));
      });
}

/// Finds the GAME for a local CONNECTION.
void lookup(directory_pointer self, const std::string& ugi, game_promise rp) {
  auto& st = self->state;
  if (st.peers.empty()) {
    serve(self, ugi, std::move(rp));
    return;
  }
  auto& waiting = st.routing[ugi];
  waiting.push_back(std::move(rp));
  if (waiting.size() == 1)
    route(self, ugi, {});
}

} // namespace

directory_actor::behavior_type directory(directory_pointer self,
                                         std::shared_ptr<auth_store> store,
                                         lobby_settings settings) {
  self->state.store = std::move(store);
  self->state.settings = settings;
  self->set_exit_handler([=](caf::exit_msg& msg) {
    // A GAME that ended is forgotten (the next lookup spawns a fresh one).
    // Only a shutdown ends the DIRECTORY and, through the links, every GAME
    // and LOBBY.
    auto& st = self->state;
    for (auto i = st.games.begin(); i != st.games.end(); ++i) {
      if (i->second.address() == msg.source) {
        st.local.erase(i->first);
        st.games.erase(i);
        return;
      }
    }
    if (msg.reason == caf::exit_reason::user_shutdown
        || msg.reason == caf::exit_reason::kill)
      self->quit(std::move(msg.reason));
  });
  self->set_down_handler([=](caf::down_msg& msg) {
    // A GAME on a peer ended, or its node is gone.
    auto& st = self->state;
    for (auto i = st.games.begin(); i != st.games.end(); ++i) {
      if (i->second.address() == msg.source && st.local.count(i->first) == 0) {
        st.games.erase(i);
        return;
      }
    }
  });
  return {
    [=](caf::get_atom, const std::string& ugi) -> caf::result<game_actor> {
      auto& st = self->state;
      if (auto i = st.games.find(ugi); i != st.games.end())
        return i->second;
      if (ugi.empty())
        return caf::make_error(ec::violation, "missing ugi");
      // A promise takes over the reply, so make it only once one is needed.
      if (st.store->find_game(ugi)) {
        auto rp = self->make_response_promise<game_actor>();
        lookup(self, ugi, rp);
        return rp;
      }
      if (st.peers.empty())
        return caf::make_error(ec::violation, "unknown game: " + ugi);
      // Read-through: the game may have been added on another node moments
      // ago, before the push reached this one. This node's AUTH fetches it
      // into the store both use.
      auto rp = self->make_response_promise<game_actor>();
      auto recheck = [=]() mutable {
        if (self->state.store->find_game(ugi))
          lookup(self, ugi, rp);
        else
          rp.deliver(caf::make_error(ec::violation, "unknown game: " + ugi));
      };
      self
        ->request(st.auth, caf::infinite, atom::pull_v,
                  replica_query{{}, ugi, {}, {}})
        .then([=](uint64_t) mutable { recheck(); },
              [=](caf::error&) mutable { recheck(); });
      return rp;
    },
    [=](atom::place, const std::string& ugi) -> caf::result<game_actor> {
      auto& st = self->state;
      // The asking peer has not seen this node's new card yet. Declining
      // (not an omega error) makes it route to the next owner, which looks
      // for a running GAME before it spawns one, as any owner does.
      if (st.draining && st.games.count(ugi) == 0
          && st.draining_peers.size() < st.peers.size())
        return caf::make_error(caf::sec::remote_lookup_failed,
                               "this node drains");
      auto rp = self->make_response_promise<game_actor>();
      serve(self, ugi, rp);
      return rp;
    },
    [=](atom::find, const std::string& ugi) -> caf::result<game_actor> {
      auto& st = self->state;
      if (st.local.count(ugi) > 0)
        return st.games[ugi];
      return caf::make_error(caf::sec::remote_lookup_failed,
                             "not on this node");
    },
    [=](atom::tick, const std::string& ugi) {
      if (self->state.routing.count(ugi) > 0)
        route(self, ugi, {});
    },
    [=](const cluster_view& view) {
      auto& st = self->state;
      st.self_name = view.self.name;
      st.auth = caf::actor_cast<auth_actor>(view.self.auth);
      st.node = caf::actor_cast<node_actor>(view.self.node);
      st.peers.clear();
      st.draining_peers.clear();
      for (auto& card : view.peers) {
        if (auto dir = caf::actor_cast<directory_actor>(card.directory)) {
          st.peers.emplace(card.name, std::move(dir));
          if (card.draining)
            st.draining_peers.insert(card.name);
        }
      }
      // The drain came before the NODE was known (or while its card was on
      // the way): tell it now. A NODE that drains already ignores this.
      if (st.draining && !view.self.draining && st.node)
        self->send(st.node, atom::drain_v);
    },
    [=](atom::drain) {
      auto& st = self->state;
      if (st.draining)
        return;
      st.draining = true;
      for (auto& ugi : st.local)
        self->send(st.games[ugi], atom::drain_v);
      if (st.node)
        self->send(st.node, atom::drain_v);
    },
  };
}

} // namespace omega
