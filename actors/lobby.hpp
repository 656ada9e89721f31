#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actors.hpp"
#include "actors/census.hpp"
#include "actors/limits.hpp"
#include "actors/token_bucket.hpp"

namespace omega {

/// Lobby rules the operator configures.
struct lobby_settings {
  /// How long a hostless lobby waits for CLAIM_HOST before the server picks.
  std::chrono::milliseconds claim_timeout = std::chrono::seconds{30};
  /// The GAME's broadcast budget, LOBBY_LIST cap and creation rate.
  game_limits game;
  /// Throttling of wrong passwords.
  password_limits passwords;
  /// The longest ban a KICK may ask for (docs/protocol.md, "Kick with a
  /// ban"); a longer one is cut to this.
  std::chrono::seconds max_ban = std::chrono::hours{24};
  /// Bans one lobby remembers; past it, the one that ends first goes.
  size_t max_bans = 1024;
};

struct lobby_state {
  running counted{running_lobbies};

  /// One member: how clients see it and where its CONNECTION is.
  struct member {
    member_info info;
    connection_actor conn;
    /// Where the client's lobby events go, without a hop through `conn`.
    sink_actor sink;
  };

  lobby_actor::pointer self = nullptr;
  game_actor game;
  std::string lobby_id;
  uint64_t instance = 0;
  lobby_settings settings;
  /// Fixed at creation: a profile change by the operator applies to lobbies
  /// created afterwards, never halfway through a game.
  client_profile profile = client_profile::standard;

  /// Empty while hostless (host left, a claim is pending).
  std::optional<member> host;
  /// Peers in join order; the front is the earliest-joined.
  std::vector<member> peers;

  bool allow_host_reclaim = false;
  bool allow_peers_to_claim_host = false;
  bool locked = false;
  uint32_t max_peers = 0;

  /// Keyed BLAKE2b digest of the password, compared in constant time; the
  /// password itself is never stored.
  bool has_password = false;
  std::array<unsigned char, 32> password_key{};
  std::array<unsigned char, 32> password_digest{};

  /// Recent wrong passwords of one account (`password_limits`).
  struct failure_record {
    uint32_t count = 0;
    caf::actor_clock::time_point last{};
  };
  /// By account id: per account rather than per socket, so reconnecting
  /// starts no fresh count.
  std::unordered_map<std::string, failure_record> failures;
  /// Accounts barred by a KICK with a ban, until the time given.
  std::unordered_map<std::string, caf::actor_clock::time_point> bans;
  /// The lobby's budget of wrong passwords, from all accounts together.
  token_bucket failure_budget;
  /// PASSWORD_FAIL replies held back, by ticket (`atom::password_due`).
  std::map<uint64_t, caf::typed_response_promise<joined>> held_failures;
  uint64_t next_ticket = 0;

  /// Set once destroyed: no host, no peers, waiting for `draining` to ack.
  bool closed = false;
  /// Former members that have not yet acknowledged LOBBY_CLOSE.
  std::vector<caf::actor_addr> draining;

  /// Bumped whenever a claim window opens or closes, so a stale timeout
  /// message is recognised and ignored.
  uint64_t claim_epoch = 0;

  // -- queries --------------------------------------------------------------

  bool is_host(const std::string& id) const;
  /// Returns the position of peer `id` in join order, or `peers.size()`.
  size_t peer_index(const std::string& id) const;
  member* find_peer(const std::string& id);
  /// Returns the host or peer with this id, if any.
  member* find_member(const std::string& id);
  /// The WARNING for a banned account's CONFIG_PEER; none if not banned.
  std::optional<caf::error> ban_of(const std::string& account);
  /// Bars `account` for `seconds` (at most `settings.max_ban`).
  void ban(const std::string& account, uint32_t seconds);
  bool password_matches(const std::string& attempt) const;
  /// Checks a non-empty password under `password_limits`: nothing (a
  /// match), LOBBY_LOCKED (unchecked: locked out, or the lobby's budget is
  /// spent), or the PASSWORD_FAIL reply, held back.
  std::optional<caf::result<joined>> check_password(const join_lobby& req);
  /// Answers every held-back PASSWORD_FAIL now (the lobby goes away).
  void release_failures();
  evt::lobby_info info() const;

  // -- transitions ----------------------------------------------------------

  caf::result<joined> admit(join_lobby& req);
  /// The `cl5` join fan-out, after the checks: ANTICIPATE (the host) and the
  /// acknowledgements to the joiner, NEW_PEER to the host, then ANTICIPATE
  /// (the joiner) to each peer inside and DISCOVER (that peer) to the joiner.
  caf::result<joined> admit_to_mesh(join_lobby& req);
  void forward(relay& x);
  /// Finds the receiver of a relay from `from` (nullptr: the sender is no
  /// member), or nullptr after replying with the error: host<->peer links
  /// in `standard` lobbies, any other member in `cl5` ones.
  const member* relay_target(const relay& x, const member* from);
  void claim(const std::string& sender, const std::string& listener);
  void transfer(const std::string& sender, const std::string& target,
                const std::string& listener);
  void set_locked(const std::string& sender, bool value,
                  const std::string& listener);
  /// Removes a peer; a non-zero `ban_seconds` also bars its account.
  void kick(const std::string& sender, const std::string& target,
            const std::string& listener, uint32_t ban_seconds = 0);
  /// Handles a member whose CONNECTION is gone for any reason.
  void depart(const caf::actor_addr& who);
  /// Tells who needs to know that peer `id` left: the host (with `listener`,
  /// the KICK's) and, in `cl5` lobbies, every other peer, each of which
  /// holds a link to it.
  void announce_peer_gone(const std::string& id, const std::string& listener);
  /// Makes `peers[index]` the host and tells everybody. `listener` goes on
  /// the copy for the member with id `requester`.
  void promote(size_t index, const std::string& requester,
               const std::string& listener);
  /// Promotes the earliest-joined peer, or destroys an empty lobby.
  void server_pick();
  /// Tells the GAME (which tells every peer and lobby-less connection) and
  /// drains: terminates once every former member acknowledged.
  void destroy();
  /// A former member acknowledged LOBBY_CLOSE or ended.
  void drained(const caf::actor_addr& who);

  /// Sends an error reply to `sender`: to its SINK while it is a member,
  /// else through the CONNECTION that sent the current message.
  void reply_error(const std::string& sender, ec code, std::string listener,
                   std::string reason = {});

  static inline const char* name = "omega.lobby";
};

/// Spawns a LOBBY with its first host. Spawned by the GAME on CONFIG_HOST.
/// The LOBBY monitors its members: a member whose actor ends, however it
/// ends, departs exactly like a closed socket.
/// @param config the validated CONFIG_HOST payload.
/// @param host the creator, who becomes the host.
/// @param host_conn the creator's CONNECTION.
/// @param host_sink the creator's SINK.
/// @param game the GAME to report new hosts and destruction to.
/// @param instance unique number of this lobby within its game.
/// @param profile the creator's game profile, kept for the lobby's life.
lobby_actor::behavior_type
lobby(lobby_actor::stateful_pointer<lobby_state> self, cmd::config_host config,
      member_info host, connection_actor host_conn, sink_actor host_sink,
      game_actor game, uint64_t instance, lobby_settings settings,
      client_profile profile);

} // namespace omega
