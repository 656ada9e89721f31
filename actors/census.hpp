#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

namespace omega {

/// How many CONNECTIONs of a process are in each state, kept up to date by
/// the CONNECTIONs themselves: what `/metrics` shows, and what a draining
/// server waits on (the members of lobbies). Counting as states change
/// costs each change one atomic add; asking every actor at a scrape would
/// cost a message per connection.
struct connection_census {
  enum state : uint8_t { unauthenticated, lobby_less, host, peer };
  static constexpr size_t states = 4;

  std::array<std::atomic<int64_t>, states> counts{};

  /// Set when the server drains: its CONNECTIONs then host no new lobby,
  /// wherever the game runs (the drain waits for lobbies to empty, and
  /// would wait for this one too).
  std::atomic<bool> draining{false};

  int64_t operator[](state x) const {
    return counts[x].load(std::memory_order_relaxed);
  }
};

/// One CONNECTION's place in a census: counted under one state at a time,
/// and no longer once destroyed (with the actor's state). Does nothing
/// without a census (actor tests).
class census_entry {
public:
  census_entry() = default;

  census_entry(const census_entry&) = delete;
  census_entry& operator=(const census_entry&) = delete;

  ~census_entry() {
    if (census_)
      census_->counts[state_].fetch_sub(1, std::memory_order_relaxed);
  }

  /// Starts counting in `census`, as unauthenticated.
  void join(std::shared_ptr<connection_census> census) {
    census_ = std::move(census);
    if (census_)
      census_->counts[state_].fetch_add(1, std::memory_order_relaxed);
  }

  /// Stops counting (the socket carries another connection's session).
  void leave() {
    if (census_)
      census_->counts[state_].fetch_sub(1, std::memory_order_relaxed);
    census_.reset();
  }

  void set(connection_census::state x) {
    if (x == state_ || !census_)
      return;
    census_->counts[state_].fetch_sub(1, std::memory_order_relaxed);
    census_->counts[x].fetch_add(1, std::memory_order_relaxed);
    state_ = x;
  }

private:
  std::shared_ptr<connection_census> census_;
  connection_census::state state_ = connection_census::unauthenticated;
};

/// LOBBYs and GAMEs running in this process (for `/metrics`), counted by
/// their states' `running` members.
inline std::atomic<int64_t> running_lobbies{0};
inline std::atomic<int64_t> running_games{0};
/// Resumable sessions held while their socket is lost (docs/protocol.md,
/// "Session resume"), counted by `connection_state::session_hold`.
inline std::atomic<int64_t> held_sessions{0};

/// Counts its owner in `count` for as long as it lives.
class running {
public:
  explicit running(std::atomic<int64_t>& count) : count_(count) {
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  running(const running&) = delete;
  running& operator=(const running&) = delete;

  ~running() {
    count_.fetch_sub(1, std::memory_order_relaxed);
  }

private:
  std::atomic<int64_t>& count_;
};

} // namespace omega
