#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/io/middleman_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/actors.hpp"

namespace omega {

/// A peer's remoting address as configured (host, port).
using node_address = std::pair<std::string, uint16_t>;

struct node_state {
  /// This node's card, as sent to peers.
  node_card card;
  /// The configured peer addresses; each is retried until it answers.
  std::vector<node_address> seeds;
  /// Seeds with a connection attempt under way.
  std::set<node_address> connecting;
  /// Which node answered at a seed address, once known.
  std::map<node_address, std::string> seed_names;
  /// The reachable peers, by name.
  std::map<std::string, node_card> peers;
  caf::io::middleman_actor mm;
  caf::timespan retry;
  std::function<void(const std::string&)> log;
  /// The number of reachable peers, for `/readyz` and `/metrics`.
  std::shared_ptr<std::atomic<int64_t>> reachable;

  static inline const char* name = "omega.node";
};

/// Spawns the NODE of a cluster member. It tells `card.directory` and
/// `card.auth` the reachable peers (`cluster_view`) on every change.
///
/// Peers are found two ways: this node connects to every address in `seeds`
/// every `retry` until it answers, and a peer that connects first introduces
/// itself (`atom::hello`). Either way both sides monitor each other's NODE:
/// the monitor fires when the peer's process ends, when its connection
/// breaks, or when CAF's heartbeat sees no traffic for the configured
/// `middleman.connection-timeout`; the peer then leaves the view and is
/// retried like any seed, so a restarted node rejoins by itself.
/// @param card this node's name, DIRECTORY and AUTH (`card.node` is set
///        here).
/// @param seeds the other nodes' remoting addresses.
/// @param mm the middleman, which makes the connections.
/// @param retry how often unreachable seeds are tried again.
/// @param log receives one line per peer that joins or leaves.
/// @param reachable (if not null) holds the number of reachable peers, for
///        other threads to read.
node_actor::behavior_type node(node_actor::stateful_pointer<node_state> self,
                               node_card card, std::vector<node_address> seeds,
                               caf::io::middleman_actor mm, caf::timespan retry,
                               std::function<void(const std::string&)> log,
                               std::shared_ptr<std::atomic<int64_t>> reachable);

} // namespace omega
