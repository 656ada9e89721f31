#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/actors.hpp"
#include "actors/lobby.hpp"
#include "actors/token_bucket.hpp"

namespace omega {

struct game_state {
  running counted{running_games};

  struct lobby_entry {
    lobby_actor handle;
    uint64_t instance;
    bool has_password;
    /// Some client may know that this lobby exists: a NEW_HOST for it went
    /// out, or a LOBBY_LIST or LOBBY_INFO named it. Its LOBBY_CLOSE then
    /// always goes out, however long the budget holds it back.
    bool announced = false;
  };

  /// One lobby id's broadcasts held back while the budget is spent,
  /// coalesced: a LOBBY_CLOSE (for a lobby of that id whose NEW_HOST went
  /// out), then the latest NEW_HOST. A NEW_HOST still held when its lobby
  /// closes was never seen, so both vanish.
  struct held_broadcast {
    std::optional<lobby_closed> close;
    /// Former members the LOBBY told itself: the LOBBY_CLOSE skips them.
    std::vector<caf::actor_addr> told;
    std::optional<evt::new_host> new_host;
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
  /// The node drains (`atom::drain`): CONFIG_HOST gets WARNING, so that
  /// no lobby starts on a server about to restart.
  bool draining = false;

  // -- limits (`game_limits`) -------------------------------------------------

  /// NEW_HOST and LOBBY_CLOSE broadcasts: within it they go out at once.
  token_bucket budget;
  /// Broadcasts held back by lobby id, sent at the next `atom::flush`.
  std::map<std::string, held_broadcast> held;
  bool flush_due = false;
  /// CONFIG_HOSTs by account id.
  std::unordered_map<std::string, token_bucket> creators;

  /// Sends `x` to every authenticated connection of the game.
  template <class T>
  void broadcast(const T& x);
  /// Sends `x` to every authenticated connection but the ones in `skip`.
  void broadcast_close(const lobby_closed& x,
                       const std::vector<caf::actor_addr>& skip);
  /// Broadcasts a NEW_HOST now, or holds it back over budget.
  void announce(evt::new_host x);
  /// Broadcasts a LOBBY_CLOSE now, or holds it back over budget (or drops
  /// it with the NEW_HOST it cancels). `announced`: the lobby's entry said
  /// so.
  void announce_close(lobby_closed x, std::vector<caf::actor_addr> told,
                      bool announced);
  /// Sends what was held back.
  void flush();
  /// Schedules the flush of what is held, unless one is due.
  void arm_flush();
  /// Marks `lobby_id`'s entry as known to clients.
  void mark_announced(const std::string& lobby_id);
  /// Charges a lobby creation to account `id`; false: over its rate.
  bool may_create(const std::string& id);

  static inline const char* name = "omega.game";
};

/// Spawns the GAME of one UGI: its lobby directory and broadcast audience.
/// LOBBYs are spawned here, so a game's lobbies live on the game's node.
/// @param ugi the game's UGI (for diagnostics).
/// @param settings lobby limits and the claim timeout.
game_actor::behavior_type game(game_actor::stateful_pointer<game_state> self,
                               std::string ugi, lobby_settings settings);

} // namespace omega
