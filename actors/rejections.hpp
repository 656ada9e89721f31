#pragma once

#include <cstddef>
#include <cstdint>

/// Counters of what the limits (actors/limits.hpp) refused, by limit: one
/// process-wide set, so a metrics endpoint can read them from any thread
/// without asking an actor.

namespace omega {

/// One counter per limit.
enum class limit_kind : uint8_t {
  /// A command dropped by its connection's bucket (WARNING).
  init_rate,
  lobby_rate,
  query_rate,
  relay_rate,
  keepalive_rate,
  /// A connection cut off for staying over its rates (VIOLATION, 1008).
  rate_cutoff,
  /// A CONFIG_HOST refused by the account's lobby-creation budget.
  lobby_creation,
  /// A NEW_HOST or LOBBY_CLOSE broadcast held back (coalesced) because the
  /// game's broadcast budget was spent.
  broadcast_deferred,
  /// A LOBBY_LIST reply cut at `max_lobby_list` ids.
  lobby_list_truncated,
  /// A PASSWORD_FAIL whose reply was held back.
  password_delayed,
  /// A password attempt answered LOBBY_LOCKED, unchecked (lockout of the
  /// account, or the lobby's failure budget spent).
  password_locked,
  /// A relay dropped by its connection's payload byte budget (WARNING).
  relay_bytes_rate,
};

constexpr size_t limit_kind_count = 12;

/// The counter's name as metrics show it, e.g. `lobby_rate`.
const char* limit_name(limit_kind x);

/// Adds one to the counter of `x`.
void count_rejection(limit_kind x);

/// Returns the counter of `x` (since the process started).
uint64_t rejections(limit_kind x);

} // namespace omega
