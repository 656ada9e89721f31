#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/actors.hpp"
#include "actors/census.hpp"
#include "actors/limits.hpp"
#include "actors/token_bucket.hpp"

namespace omega {

/// What all CONNECTIONs of a server share: one copy, not one per idle
/// connection.
struct connection_settings {
  /// Commands held back while INIT, CONFIG_HOST, CONFIG_PEER or a GAME
  /// lookup is in flight: at `pause_at` commands or `pause_bytes` of
  /// payloads the SINK stops reading the client's frames (`read_gate`), and
  /// reads again once half of that is left.
  size_t pause_at = 64;
  size_t pause_bytes = 256 * 1024;
  /// Held back beyond the pause, which only a SINK that keeps reading (or
  /// frames already on their way when it paused) can bring about: VIOLATION.
  size_t max_pending = 16384;
  size_t max_pending_bytes = 4 * 1024 * 1024;
  /// A connection not authenticated this long after it opened gets
  /// VIOLATION (close 1008), so sockets that never log in do not pile up.
  /// Zero: no deadline. (The server's default is `--init-timeout`.)
  caf::timespan init_timeout{0};
  /// Commands per second, per class of command (docs/protocol.md,
  /// "Limits"): over its rate a command is dropped with WARNING; a client
  /// that keeps at it is cut off.
  connection_limits rates;
  /// What a resumable session keeps while its socket is lost.
  resume_limits resume;
  /// Where connections count their state; none in actor tests.
  std::shared_ptr<connection_census> census;
};

/// The defaults above, one copy for the process.
std::shared_ptr<const connection_settings> default_connection_settings();

/// What a CONNECTION knows about its socket when it starts.
struct connection_config {
  /// The game the socket opened (`ugi=`).
  std::string ugi;
  /// The upgrade request's `Origin` header; empty when absent.
  std::string origin;
  /// The client's address, for the log line of a cut-off; may be empty.
  std::string address;
  /// Never null.
  std::shared_ptr<const connection_settings> settings
    = default_connection_settings();
};

struct connection_state {
  enum class role : uint8_t { none, host, peer };

  connection_actor::pointer self = nullptr;
  sink_actor sink;
  auth_actor auth;
  directory_actor directory;
  /// The GAME of `config.ugi`, found through the DIRECTORY at start.
  game_actor game;
  connection_config config;

  // -- identity (set by INIT) ----------------------------------------------

  bool authenticated = false;
  std::string id;
  std::string user;
  /// The game's profile as INIT found it.
  client_profile profile = client_profile::standard;

  // -- mirror of the lobby role ---------------------------------------------

  // The LOBBY decides; these follow its notifications, in order, and only
  // serve early answers (ALREADY_HOST, NOT_HOST, ...) and broadcast
  // filtering.
  role current = role::none;
  lobby_actor lobby;
  uint64_t instance = 0;
  std::string lobby_id;
  /// The profile of `lobby`, which may predate a change of the game's.
  client_profile lobby_profile = client_profile::standard;

  /// This connection in `config.census`.
  census_entry counted;

  /// Counts the connection under its state now (after `authenticated` or
  /// `current` changed).
  void recount() {
    using census = connection_census;
    counted.set(!authenticated          ? census::unauthenticated
                : current == role::host ? census::host
                : current == role::peer ? census::peer
                                        : census::lobby_less);
  }

  /// Whose rules a relay from the client follows: its lobby's, or while
  /// lobby-less the game's.
  client_profile relay_profile() const {
    return current == role::none ? profile : lobby_profile;
  }

  // -- ordering -------------------------------------------------------------

  /// A CONFIG_HOST or CONFIG_PEER whose answer from the GAME is awaited.
  enum class lobby_request : uint8_t { none, create, join };
  lobby_request pending_lobby = lobby_request::none;
  /// INIT's request to AUTH is unanswered.
  bool auth_pending = false;
  /// The INIT deadline passed while INIT's request was unanswered: a
  /// refusal then ends the connection.
  bool init_overdue = false;
  /// True while the GAME lookup, INIT, CONFIG_HOST or CONFIG_PEER awaits its
  /// answer; later commands wait in `stash`, so replies keep their order.
  bool busy() const {
    return auth_pending || !game || pending_lobby != lobby_request::none;
  }
  /// (A vector: libstdc++'s deque allocates ~600 bytes up front, per
  /// connection, for a queue that is nearly always empty.)
  std::vector<command> stash;
  /// Index of the oldest command in `stash` still held.
  size_t stash_head = 0;
  /// Set when the SINK reports the ACK_PEER of the CONFIG_PEER under way
  /// before the LOBBY's reply arrived (see `on_down`).
  bool join_acked = false;
  /// Commands held back now.
  size_t held() const {
    return stash.size() - stash_head;
  }
  /// What the held commands occupy (see `held_bytes`).
  size_t stash_bytes = 0;
  /// The SINK was told to stop reading (`read_gate`).
  bool reads_paused = false;
  /// GAME broadcasts that arrived while busy. Whether they reach the client
  /// depends on the role, which a pending CONFIG_HOST or CONFIG_PEER is
  /// about to change (the LOBBY may already have acknowledged it on the
  /// SINK), so they wait for the answer too.
  std::vector<std::variant<evt::new_host, lobby_closed>> deferred;
  /// Set once the connection sent VIOLATION: nothing else goes out.
  bool ended = false;

  // -- rate limits ------------------------------------------------------------

  /// The classes of commands, each with a bucket of its own
  /// (`connection_limits`).
  enum class rate_class : uint8_t { init, lobby, query, relay, keepalive };
  static constexpr size_t rate_classes = 5;
  /// The class that an opcode counts against.
  static rate_class rate_class_of(opcode op);
  /// One bucket per `rate_class`, and one for dropped commands.
  std::array<token_bucket, rate_classes> buckets;
  token_bucket drops;
  /// Payload bytes of relays (`connection_limits::relay_bytes`).
  token_bucket relay_bytes;
  /// Commands dropped for a rate so far (for the cut-off's log line).
  uint64_t dropped = 0;

  /// Charges `x` to its bucket. Over the rate, `x` becomes the WARNING
  /// that tells the client so (a `bad_frame`, which keeps its place among
  /// held commands), or the connection is cut off (`ended`).
  void throttle(command& x);

  // -- session resume ---------------------------------------------------------

  /// A session the client made resumable (RESUMABLE); allocated only then,
  /// since few clients ask.
  struct session_hold {
    /// What a RESUME must present; rotated by every resume.
    std::string secret;
    /// The socket is lost: the window runs and frames are kept.
    bool detached = false;
    /// Bumped by every detach and resume, so a stale window end is ignored.
    uint64_t epoch = 0;
    /// Frames for the client while detached, oldest first.
    std::deque<std::string> kept;
    size_t kept_bytes = 0;
    /// Frames that did not fit (`resume_limits`) since the last resume.
    uint64_t dropped = 0;
    /// Counts the session in `held_sessions` while detached.
    std::optional<running> held;
    /// The CONNECTION of the socket that took the session over (none while
    /// the first socket carries it), monitored: if it goes without a
    /// `socket_closed` (its node died), the socket is lost.
    caf::actor_addr carrier;
  };
  std::unique_ptr<session_hold> hold;
  /// Set on the CONNECTION of a socket whose RESUME took another session
  /// over: that session's CONNECTION, which gets every command from now on.
  connection_actor proxy;

  void handle(cmd::resumable& x);
  void handle(cmd::resume& x);
  void handle(cmd::turn_credentials& x);
  /// The socket closed: ends the connection, or holds a resumable session.
  void on_socket_closed(socket_closed& x);
  /// The socket is lost: the window runs and frames are kept.
  void detach();
  /// A frame for the client from a SINK whose socket is lost.
  void on_kept(kept_frame& x);
  /// A RESUME elsewhere asks for this session.
  caf::result<resume_grant> on_take_over(take_over& x);
  /// Keeps a frame for a detached client, within `resume_limits`.
  void keep(std::string frame);
  /// INIT's (or a fresh RESUME's) success: the connection is authenticated.
  void on_authenticated(session_info& s, const std::string& listener);
  /// INIT's (or RESUME's) refusal: the client hears why.
  void on_auth_failed(const caf::error& err, const std::string& listener);
  /// This socket's RESUME took `session` over: it carries that session now.
  void carry(connection_actor session);

  // -- services ---------------------------------------------------------------

  // Requests to AUTH, DIRECTORY and GAME have no timeout: a late answer
  // after a timeout would leave this CONNECTION and the LOBBY disagreeing.
  // Instead the CONNECTION monitors them; losing one answers what waited.

  /// Commands whose GAME request is unanswered, by ticket. If the GAME's
  /// down message comes first (in a cluster: its node died, and requests in
  /// flight there are never answered), they are sent again to the GAME that
  /// takes over instead of failing. (A local GAME that ends answers them
  /// with an error first.)
  std::map<uint64_t, command> game_waiters;
  uint64_t next_ticket = 0;
  /// GAMEs lost in a row, each within a second of being found. In a failover a
  /// few in a row are normal: until the DIRECTORY (and, in a cluster, the new
  /// owner's) has handled the lost GAME's down message, a lookup can hand
  /// out the same dead handle, whose down comes back at once. The first
  /// lookup goes out at once, later ones after pauses that double from 5 ms
  /// to at most 500 ms (`game_retry_delay`), so a failover that takes the
  /// cluster view a while to settle still finds the GAME that takes over;
  /// after `max_game_retries` (about 17 s of pauses in all) the waiting
  /// commands get a WARNING instead.
  size_t game_retries = 0;
  static constexpr size_t max_game_retries = 40;
  /// When the current GAME was found: losing it a second or more later
  /// starts a new count (it worked in between).
  caf::actor_clock::time_point game_found;

  /// The pause before lookup number `n` (counted from 1) of a lost GAME.
  static caf::timespan game_retry_delay(size_t n);

  /// Registers a GAME request for (a copy of) `x`; returns its ticket.
  uint64_t await_game(command x);
  /// Ends the GAME request `ticket`; false if it was already given up (its
  /// GAME went and the command was queued again), so the answer is stale.
  bool settle(uint64_t ticket);
  /// Finds the GAME of `config.ugi` through the DIRECTORY (busy meanwhile).
  void lookup_game();
  /// Handles the end of the LOBBY, GAME, AUTH or DIRECTORY.
  void on_down(const caf::down_msg& msg);
  /// The GAME is gone: end the lobby role, send what waited on it to the
  /// GAME that takes over, and look that one up.
  void on_game_down();
  /// Ends the lobby role and tells the client LOBBY_CLOSE.
  void end_lobby();

  /// Entry point for every client command.
  void on_command(command&& x);
  /// Handles one command now.
  void dispatch(command&& x);
  /// Ends a `busy` period and replays what waited.
  void resume();
  /// Lets the SINK read again once little is held.
  void reopen_reads();

  /// The state checks PROTOCOL.md puts before anything else a command does
  /// (CONFIG_REQUIRED, SESSION_EXISTS, ALREADY_*, NOT_HOST, NOT_PEER): one
  /// row per opcode, for commands and for malformed frames alike.
  std::optional<ec> refusal(opcode op) const;

  void handle(cmd::keepalive& x);
  void handle(cmd::init& x);
  void handle(cmd::config_host& x);
  void handle(cmd::config_peer& x);
  void handle(cmd::lobby_list& x);
  void handle(cmd::lobby_info& x);
  void handle(cmd::bad_frame& x);
  /// Sends a MAKE_OFFER, MAKE_ANSWER or ICE to the LOBBY, or answers the
  /// error the role mirror predicts.
  template <class Relay>
  void forward_relay(opcode op, Relay& x);

  /// Sends an error reply to the client.
  void fail(ec code, std::string listener, std::string reason = {});
  /// Maps a failed request to the reply the client sees.
  void fail(const caf::error& err, std::string listener, ec fallback);
  /// Ends a CONFIG_PEER whose ACK_PEER the client got but whose reply from
  /// the LOBBY was lost (the LOBBY's node died): the lobby is gone, so the
  /// client hears LOBBY_CLOSE. Returns false if no ACK_PEER went out.
  bool end_acked_join(const std::string& lobby_id);
  /// Handles the INIT deadline: ends a connection that is not authenticated.
  void on_init_deadline();
  /// Sends VIOLATION and ends the connection.
  void violate(std::string reason, uint16_t close, std::string listener,
               bool abuse = false);
  /// Leaves the lobby role after LOBBY_CLOSE or a kick.
  void leave_lobby();
  /// Handles a GAME broadcast (or a kick) now.
  void on_broadcast(evt::new_host& x);
  void on_broadcast(lobby_closed& x);

  static inline const char* name = "omega.connection";
};

/// Spawns the CONNECTION of one client socket. The transport sends it one
/// typed command per frame and ends it (any exit reason) when the socket
/// closes; the LOBBY, GAME and AUTH monitor it, so that ending is the one
/// way a client departs.
/// @param sink receives every event for the client, in order.
/// @param auth the AUTH service.
/// @param directory finds the GAME of `config.ugi`; an unknown UGI ends the
///        connection with VIOLATION (close code 1008) right away.
connection_actor::behavior_type
connection(connection_actor::stateful_pointer<connection_state> self,
           sink_actor sink, auth_actor auth, directory_actor directory,
           connection_config config);

} // namespace omega
