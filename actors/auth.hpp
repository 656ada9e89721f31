#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/actors.hpp"
#include "actors/token_bucket.hpp"
#include "actors/turn.hpp"
#include "storage/auth_store.hpp"

namespace omega {

/// Returns the current wall-clock time; injectable so tests can expire tokens
/// without waiting.
using clock_function = std::function<wall_clock::time_point()>;

/// Which CONNECTION holds each account's one live session, kept both ways:
/// by account for the INIT check, by CONNECTION to release a session when
/// its actor goes down. One class so that no edit updates only one side.
class session_table {
public:
  /// 1 if someone holds `account`'s session, else 0.
  size_t count(const std::string& account) const;

  /// The holder of `account`'s session; nullptr if there is none.
  const caf::actor_addr* holder(const std::string& account) const;

  /// Records `addr` as holding `account`'s session; a session already held
  /// stays with its holder.
  void add(const std::string& account, const caf::actor_addr& addr);

  /// Releases `account`'s session if `addr` holds it.
  void release(const std::string& account, const caf::actor_addr& addr);

  /// Releases the session `addr` holds, if any.
  void release(const caf::actor_addr& addr);

private:
  /// Account id -> its holder.
  std::unordered_map<std::string, caf::actor_addr> holders_;
  /// Holder -> its account id.
  std::unordered_map<caf::actor_addr, std::string> accounts_;
};

struct auth_state {
  /// Token and game storage; only this actor touches it.
  std::shared_ptr<auth_store> store;
  clock_function now;
  /// Each account's one live CONNECTION: an authenticated one on this node,
  /// or one a peer AUTH reserved for its node.
  session_table sessions;
  /// The peer AUTHs of a cluster, by node name.
  std::map<std::string, auth_actor> peers;
  /// Games already read from the store, by UGI: saves a SQLite query on
  /// most INITs. Emptied whenever the store's `games_version` moves (the
  /// operator set a profile, a peer's rows came in), so a new connection
  /// sees a profile change at once. An unknown UGI is looked up again every
  /// time, as a game may be added while the server runs.
  std::unordered_map<std::string, game_record> games;
  uint64_t games_version = 0;
  /// How far the replication push got through the local store.
  replica_cursor pushed;
  /// Whether the push timer runs (only while there are peers).
  bool ticking = false;
  /// TURN servers and the secret that signs their credentials.
  turn_settings turn;
  /// TURN_CREDENTIALS budget per account (`turn_settings::rate`).
  std::unordered_map<std::string, token_bucket> turn_budgets;

  static inline const char* name = "omega.auth";
};

/// Spawns the AUTH service. It checks INIT tokens in the order PROTOCOL.md
/// gives (unknown, expired, origin, live session) and monitors each
/// authenticated CONNECTION, so a session ends with its actor whatever the
/// cause (socket closed, crash, lost node).
///
/// In a cluster (after a `cluster_view` with peers) it also:
/// - asks the peers for a token or game it lacks (read-through), so a token
///   from any node's login works at once on every node;
/// - pushes new rows to the peers every `push_interval` and everything to a
///   peer that joins, so accounts survive the node that created them;
/// - reserves each new session at every peer first: an account live on any
///   node gets SESSION_EXISTS everywhere. Two INITs racing on two nodes may
///   both be refused; neither is admitted twice.
/// @param store where tokens and games live.
/// @param now the clock that decides expiry (wall clock in production).
/// A RESUME is checked like an INIT; then the account's session, wherever it
/// runs, is asked to move to the new socket (`take_over`). Without one to
/// take, the requester gets a fresh session, as INIT would.
///
/// TURN_CREDENTIALS are signed here, where accounts are, within a budget per
/// account.
/// @param push_interval how often new rows go to the peers.
/// @param turn the TURN servers; none by default.
auth_actor::behavior_type
auth(auth_actor::stateful_pointer<auth_state> self,
     std::shared_ptr<auth_store> store, clock_function now,
     caf::timespan push_interval = std::chrono::seconds{1},
     turn_settings turn = {});

} // namespace omega
