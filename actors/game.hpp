#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/actors.hpp"
#include "actors/lobby.hpp"

namespace omega {

struct game_state {
  struct lobby_entry {
    lobby_actor handle;
    uint64_t instance;
    bool has_password;
  };

  game_actor::pointer self = nullptr;
  std::string ugi;
  lobby_settings settings;
  /// Lobby id -> LOBBY; ordered, so LOBBY_LIST is stable.
  std::map<std::string, lobby_entry> lobbies;
  /// The game's authenticated connections: the audience of NEW_HOST and
  /// LOBBY_CLOSE. Each CONNECTION drops what its role makes irrelevant.
  std::unordered_map<caf::actor_addr, connection_actor> audience;
  /// Numbers lobby instances, so a reused lobby id is a new lobby.
  uint64_t next_instance = 1;

  /// Sends `x` to every authenticated connection of the game.
  template <class T>
  void broadcast(const T& x);

  static inline const char* name = "omega.game";
};

/// Spawns the GAME of one UGI: its lobby directory and broadcast audience.
/// LOBBYs are spawned here, so a game's lobbies live on the game's node.
/// @param ugi the game's UGI (for diagnostics).
/// @param settings lobby limits and the claim timeout.
game_actor::behavior_type game(game_actor::stateful_pointer<game_state> self,
                               std::string ugi, lobby_settings settings);

} // namespace omega
