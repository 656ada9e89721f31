#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actors.hpp"
#include "actors/game.hpp"
#include "messages/placement.hpp"
#include "storage/auth_store.hpp"

namespace omega {

using game_promise = caf::typed_response_promise<game_actor>;

struct directory_state {
  std::shared_ptr<auth_store> store;
  lobby_settings settings;
  /// UGI -> its GAME, on this node or a peer: what local lookups use.
  std::unordered_map<std::string, game_actor> games;
  /// The UGIs whose GAME runs on this node (spawned here and linked).
  std::unordered_set<std::string> local;
  /// This node's name and the reachable peers (empty: a single server).
  std::string self_name;
  std::map<std::string, directory_actor> peers;
  /// The peers that drain: placement passes them over (`route`).
  std::unordered_set<std::string> draining_peers;
  /// This node drains (`atom::drain`): its GAMEs refuse new lobbies, and
  /// placement passes it over too.
  bool draining = false;
  /// This node's NODE, from the cluster view; none for a single server.
  node_actor node;
  /// This node's AUTH, which fetches games this node's store lacks.
  auth_actor auth;
  /// Lookups waiting for the owner node of their game, by UGI.
  std::unordered_map<std::string, std::vector<game_promise>> routing;
  /// Answers in a row, per UGI, that named a GAME on a lost node.
  std::unordered_map<std::string, size_t> stale_answers;
  /// Lookups waiting while this node, as the owner, checks whether a peer
  /// already runs the game, by UGI.
  std::unordered_map<std::string, std::vector<game_promise>> serving;

  static inline const char* name = "omega.directory";
};

/// Spawns the DIRECTORY. Games are looked up in `store` on first use, so a
/// game the operator adds while the server runs is found without a restart.
///
/// In a cluster the GAME of a UGI runs on its owner among the reachable
/// nodes (`owner_of`). A game stays where it was created while that node
/// lives: before spawning a GAME, the owner asks its peers whether one runs
/// already (it may have been placed while the owner was away), so one UGI
/// never has two GAMEs except while the cluster itself is split.
///
/// A draining node (`atom::drain`) keeps serving the GAMEs it runs, but a
/// game without a GAME is placed among the nodes that do not drain (among
/// all of them if every node drains).
/// @param store game registry; only this actor touches it.
/// @param settings passed on to every GAME.
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          std::shared_ptr<auth_store> store, lobby_settings settings);

} // namespace omega
