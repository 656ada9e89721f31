#include "actors/node.hpp"

#include <caf/actor_cast.hpp>
#include <caf/node_id.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace omega {

namespace {

using node_pointer = node_actor::stateful_pointer<node_state>;

/// How long a connection attempt or an introduction may take.
constexpr auto connect_timeout = std::chrono::seconds{5};

void publish_view(node_pointer self) {
  auto& st = self->state;
  cluster_view view;
  view.self = st.card;
  for (auto& kvp : st.peers)
    view.peers.push_back(kvp.second);
  if (st.reachable)
    st.reachable->store(static_cast<int64_t>(st.peers.size()));
  self->send(caf::actor_cast<directory_actor>(st.card.directory), view);
  self->send(caf::actor_cast<auth_actor>(st.card.auth), std::move(view));
}

/// Adds (or refreshes) a peer; returns false for a card this node refuses.
bool add_peer(node_pointer self, node_card card) {
  auto& st = self->state;
  if (!card.node || card.name.empty())
    return false;
  if (card.name == st.card.name) {
    st.log("refused a peer that uses this node's name: " + card.name);
    return false;
  }
  auto i = st.peers.find(card.name);
  if (i != st.peers.end() && i->second.node == card.node) {
    // Both sides introduced themselves at once, or the peer announces a
    // changed card: it drains, which its games' placement must know.
    if (i->second.draining == card.draining)
      return true;
    st.log("node " + card.name + " drains");
    i->second = std::move(card);
    publish_view(self);
    return true;
  }
  self->monitor(card.node);
  st.log("node " + card.name + " joined");
  st.peers[card.name] = std::move(card);
  publish_view(self);
  return true;
}

/// Sends this node's card to `peer` again, after it changed.
void announce(node_pointer self, const node_actor& peer) {
  self->request(peer, connect_timeout, atom::hello_v, self->state.card)
    .then([](const node_card&) {},
          // A peer that is gone leaves the view through its monitor.
          [](const caf::error&) {});
}

void connect(node_pointer self, node_address addr) {
  auto& st = self->state;
  if (!st.connecting.insert(addr).second)
    return;
  auto finish = [=] { self->state.connecting.erase(addr); };
  self
    ->request(st.mm, connect_timeout, caf::connect_atom_v, addr.first,
              addr.second)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>&) {
        auto peer = caf::actor_cast<node_actor>(std::move(ptr));
        if (!peer) {
          finish();
          return;
        }
        auto sent_draining = self->state.card.draining;
        self->request(peer, connect_timeout, atom::hello_v, self->state.card)
          .then(
            [=](node_card& card) {
              finish();
              self->state.seed_names[addr] = card.name;
              // The card changed while the hello was on its way: the peer
              // may have the old one, and nobody else would tell it.
              if (add_peer(self, std::move(card))
                  && self->state.card.draining != sent_draining)
                announce(self, peer);
            },
            [=](caf::error&) { finish(); });
      },
      // Not up (yet): the next tick tries again.
      [=](caf::error&) { finish(); });
}

} // namespace

node_actor::behavior_type
node(node_pointer self, node_card card, std::vector<node_address> seeds,
     caf::io::middleman_actor mm, caf::timespan retry,
     std::function<void(const std::string&)> log,
     std::shared_ptr<std::atomic<int64_t>> reachable) {
  auto& st = self->state;
  st.card = std::move(card);
  st.card.node = caf::actor_cast<caf::actor>(self);
  st.seeds = std::move(seeds);
  st.mm = std::move(mm);
  st.retry = retry;
  st.log = log ? std::move(log) : [](const std::string&) {};
  st.reachable = std::move(reachable);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    for (auto i = st.peers.begin(); i != st.peers.end(); ++i) {
      if (i->second.node.address() == msg.source) {
        st.log("node " + i->first + " left ("
               + self->system().render(msg.reason) + ")");
        st.peers.erase(i);
        publish_view(self);
        return;
      }
    }
  });
  self->send(self, atom::tick_v);
  return {
    [=](atom::hello, node_card& card) -> caf::result<node_card> {
      if (!add_peer(self, std::move(card)))
        return caf::make_error(caf::sec::invalid_argument, "node name in use");
      return self->state.card;
    },
    [=](atom::tick) {
      auto& st = self->state;
      for (auto& addr : st.seeds) {
        auto i = st.seed_names.find(addr);
        if (i == st.seed_names.end() || st.peers.count(i->second) == 0)
          connect(self, addr);
      }
      self->delayed_send(self, st.retry, atom::tick_v);
    },
    [=](atom::drain) {
      auto& st = self->state;
      if (st.card.draining)
        return;
      st.card.draining = true;
      st.log("draining: new games go to the other nodes");
      for (auto& kvp : st.peers)
        announce(self, caf::actor_cast<node_actor>(kvp.second.node));
      publish_view(self);
    },
  };
}

} // namespace omega
