#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/actors.hpp"
#include "actors/game.hpp"
#include "storage/auth_store.hpp"

namespace omega {

struct directory_state {
  std::shared_ptr<auth_store> store;
  lobby_settings settings;
  /// UGI -> its GAME, spawned on first use.
  std::unordered_map<std::string, game_actor> games;

  static inline const char* name = "omega.directory";
};

/// Spawns the DIRECTORY. Games are looked up in `store` on first use, so a
/// game the operator adds while the server runs is found without a restart.
/// @param store game registry; only this actor touches it.
/// @param settings passed on to every GAME.
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          std::shared_ptr<auth_store> store, lobby_settings settings);

} // namespace omega
