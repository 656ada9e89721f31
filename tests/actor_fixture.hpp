#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "actors/actors.hpp"
#include "actors/auth.hpp"
#include "actors/connection.hpp"
#include "actors/directory.hpp"
#include "actors/game.hpp"
#include "actors/lobby.hpp"
#include "storage/memory_store.hpp"

namespace omega::test {

/// Everything one simulated client's SINK received, in order.
using event_log = std::vector<event>;

/// What a SINK was told about reading, in order (`read_gate::open`).
using gate_log = std::vector<bool>;

/// What a recording SINK knows of session resume, as the gateway's SINK
/// does (`sink_control`): its socket may be lost only in the tests' say-so.
struct sink_record {
  caf::actor conn;
  bool resumable = false;
  /// The "socket" is lost (or superseded): frames go to `conn`.
  bool held = false;
  bool superseded = false;
};

/// A SINK that records events instead of writing frames. It answers each
/// relay handed to it as the gateway's SINK does: RELAY_OK, or PEER_INVALID
/// while `*full` says its write budget is spent. Kept frames (`encoded`)
/// are decoded back into the events they were. Once `record->held`, it
/// passes everything to its session's CONNECTION, as the gateway's SINK
/// does without a socket.
sink_actor::behavior_type
recording_sink(sink_actor::pointer self, std::shared_ptr<event_log> log,
               std::shared_ptr<gate_log> gates, std::shared_ptr<bool> full,
               std::shared_ptr<sink_record> record);

/// Returns the opcode-ish name of an event, for failure messages.
std::string describe(const event& x);

/// The state of the stateful typed actor behind `h`, like `deref<T>(h)` in
/// CAF's test DSL: tests read (and check) state directly, without a
/// request, which would run the scheduler and settle what the test pins.
/// Only for an actor that still runs: a finished actor has no state.
template <class State, class Handle>
State& deref(const Handle& h) {
  using impl = typename Handle::template stateful_base<State>;
  return dynamic_cast<impl&>(*caf::actor_cast<caf::abstract_actor*>(h)).state;
}

/// One simulated client: its CONNECTION and what its SINK recorded.
struct client {
  std::string user;
  std::string id;
  std::string token;
  connection_actor conn;
  sink_actor sink;
  std::shared_ptr<event_log> log = std::make_shared<event_log>();
  std::shared_ptr<gate_log> gates = std::make_shared<gate_log>();
  /// Makes the SINK refuse relays, like a socket whose client stopped
  /// reading (see `recording_sink`).
  std::shared_ptr<bool> full = std::make_shared<bool>(false);
  std::shared_ptr<sink_record> record = std::make_shared<sink_record>();
  /// Index of the next event `next()` returns.
  size_t cursor = 0;

  /// Sends a command (a `cmd::` struct) as the socket does.
  template <class T>
  void send(T x) {
    caf::anon_send(conn, command{std::move(x)});
  }

  /// Returns events not yet taken with `next`.
  std::vector<event> unread() const {
    return {log->begin() + static_cast<ptrdiff_t>(cursor), log->end()};
  }
};

/// Deterministic actor system on CAF's test coordinator, with one AUTH, an
/// in-memory store and a GAME per registered UGI.
class actor_fixture : public ::testing::Test {
protected:
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.policy", caf::atom("testing"));
      set("logger.verbosity", caf::atom("quiet"));
      omega::add_message_types(*this);
    }
  };

  actor_fixture();
  ~actor_fixture() override;

  /// Gives the GAMEs (and their LOBBYs) spawned from now on `s`, through a
  /// new DIRECTORY: call it before the first client connects.
  void use_settings(const lobby_settings& s);

  /// Registers a game; its GAME is spawned on first use.
  void add_game(const std::string& name,
                client_profile profile = client_profile::standard);

  /// Returns the GAME state of game `game_index` (spawning it if needed).
  game_state& game_of(size_t game_index = 0);

  // -- access without running ---------------------------------------------

  /// Returns the GAME of game `index`, or an invalid handle if it was not
  /// spawned yet, without running the scheduler (`game_of` runs it, which
  /// would settle a race under test).
  game_actor game_handle(size_t index = 0);

  /// Returns the state of the GAME of game `index`, which must exist,
  /// without running the scheduler.
  game_state& game_state_of(size_t index = 0) {
    return deref<game_state>(game_handle(index));
  }

  /// Like `lobby_of`, but never runs the scheduler.
  lobby_state* peek(const std::string& lobby_id, size_t index = 0);

  /// The INIT deadline of connections that `connect` makes (none).
  caf::timespan init_timeout{0};

  /// The rate limits of connections that `connect` makes: the server's
  /// defaults, which no test of a legitimate client may meet.
  connection_limits rates;

  /// Creates an account with a token, and a connected but not yet
  /// authenticated client of `game` (the first game by default).
  client& connect(const std::string& user, std::string origin = {},
                  std::string token_origin = {}, size_t game_index = 0);

  /// A second socket of `c`'s account (same id, user and token), not yet
  /// authenticated.
  client& reconnect(const client& c, size_t game_index = 0);

  /// Spawns the SINK and CONNECTION of `c`'s socket and keeps `c`.
  client& open_socket(std::unique_ptr<client> c, std::string origin,
                      size_t game_index);

  /// Loses a client's socket without a close, as a network blip does: a
  /// resumable session's SINK keeps working without it.
  void drop(client& c) {
    c.record->held = c.record->resumable;
    caf::anon_send(c.conn, socket_closed{c.sink, c.record->held});
    run();
  }

  /// Spawns AUTH again with these TURN servers: call it before the first
  /// client connects.
  void use_turn(turn_settings turn);

  /// What `connect` gives each CONNECTION for session resume.
  resume_limits resume;

  /// `connect` + INIT + run; expects INIT_OK.
  client& login(const std::string& user, size_t game_index = 0);

  /// Runs until no actor has anything left to do.
  size_t run() {
    return sched.run();
  }

  /// Sends `xs` to `dest` as a request, runs until every actor is idle and
  /// returns the reply. The test coordinator's clock stands still, so a
  /// request that nobody answers would never time out: it comes back as
  /// `sec::request_timeout` instead of hanging the test.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> round_trip(const Handle& dest, Ts&&... xs) {
    caf::scoped_actor self{sys};
    auto rh = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    if (!self->has_next_message())
      return caf::make_error(caf::sec::request_timeout);
    caf::expected<Result> result = caf::make_error(caf::sec::request_timeout);
    rh.receive([&](Result& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Advances the simulated clock (fires due timeouts) and runs.
  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    run();
  }

  /// Ends a client's CONNECTION as a closed socket would.
  void disconnect(client& c) {
    caf::anon_send_exit(c.conn, caf::exit_reason::user_shutdown);
    run();
  }

  /// Takes the client's next event and expects it to be a `T`.
  template <class T>
  T next(client& c) {
    if (c.cursor >= c.log->size()) {
      ADD_FAILURE() << c.user << ": expected an event, got none";
      return T{};
    }
    auto& x = (*c.log)[c.cursor++];
    if (auto ptr = std::get_if<T>(&x))
      return *ptr;
    ADD_FAILURE() << c.user << ": unexpected event " << describe(x);
    return T{};
  }

  /// Expects the client's next event to be the error reply `code`.
  void expect_error(client& c, ec code, const std::string& listener = {}) {
    auto x = next<evt::error_reply>(c);
    EXPECT_EQ(x.code, code) << c.user << " got " << to_string(x.code);
    EXPECT_EQ(x.listener, listener);
  }

  /// Skips whatever the client received so far.
  void skip(client& c) {
    c.cursor = c.log->size();
  }

  /// Expects nothing more for the client.
  void expect_quiet(client& c) {
    for (auto& x : c.unread())
      ADD_FAILURE() << c.user << ": unexpected event " << describe(x);
    c.cursor = c.log->size();
  }

  /// Creates a lobby hosted by `host` and consumes ACK_HOST.
  void host_lobby(client& host, cmd::config_host cfg);

  /// Joins `lobby_id` as a peer and consumes ACK_PEER (and PASSWORD_ACK).
  void join_lobby(client& peer, const std::string& lobby_id,
                  const std::string& password = {});

  /// Returns the LOBBY state of `lobby_id` in game `game_index`.
  lobby_state* lobby_of(const std::string& lobby_id, size_t game_index = 0);

  /// Returns the CONNECTION state of a client.
  connection_state& state_of(client& c) {
    return deref<connection_state>(c.conn);
  }

  config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  std::shared_ptr<memory_store> store = std::make_shared<memory_store>();
  wall_clock::time_point now = wall_clock::now();
  lobby_settings settings;
  auth_actor auth;
  directory_actor dir;
  std::vector<std::string> ugis;
  std::vector<std::unique_ptr<client>> clients;
};

} // namespace omega::test
