#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/actors.hpp"
#include "storage/auth_store.hpp"

namespace omega {

/// Returns the current wall-clock time; injectable so tests can expire tokens
/// without waiting.
using clock_function = std::function<wall_clock::time_point()>;

struct auth_state {
  /// Token and game storage; only this actor touches it.
  std::shared_ptr<auth_store> store;
  clock_function now;
  /// Account id -> its one live authenticated CONNECTION.
  std::unordered_map<std::string, caf::actor_addr> sessions;
  /// The reverse, to release a session when its CONNECTION goes down.
  std::unordered_map<caf::actor_addr, std::string> accounts;

  static inline const char* name = "omega.auth";
};

/// Spawns the AUTH service. It checks INIT tokens in the order PROTOCOL.md
/// gives (unknown, expired, origin, live session) and monitors each
/// authenticated CONNECTION, so a session ends with its actor whatever the
/// cause (socket closed, crash, lost node).
/// @param store where tokens and games live.
/// @param now the clock that decides expiry (wall clock in production).
auth_actor::behavior_type auth(auth_actor::stateful_pointer<auth_state> self,
                               std::shared_ptr<auth_store> store,
                               clock_function now);

} // namespace omega
