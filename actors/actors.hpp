#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/type_ids.hpp"

/// Every actor interface of omega, in one place (after VAST's actors.hpp).
/// Handles appear in messages only as typed handles or `caf::actor`, never as
/// pointers, so any actor may live on another node.

namespace omega {

/// An interface that takes each alternative of a variant as a message: the
/// variants of messages/ are the one list of commands and events.
template <class Variant>
struct reacts_to_each_t;

template <class... Ts>
struct reacts_to_each_t<std::variant<Ts...>> {
  using type = caf::typed_actor<caf::reacts_to<Ts>...>;
};

template <class Variant>
using reacts_to_each = typename reacts_to_each_t<Variant>::type;

// -- SINK -------------------------------------------------------------------

struct relay_handoff;
struct sink_control;

/// The SINK: the transport side of one client connection. It turns each event
/// into one frame; a VIOLATION also closes the socket. A frame that does not
/// fit the connection's write budget closes it too (1008). Tests stand in for
/// the socket with a recording SINK.
///
/// Session resume (docs/protocol.md, "Session resume"): the SINK of a
/// resumable session whose socket is lost keeps working without it. It then
/// encodes every event as before but passes the frame to its CONNECTION
/// (`kept_frame`), which keeps it for the client or hands it to the SINK of
/// the socket that took the session over; a relay handed to it is answered
/// RELAY_OK at once. So the LOBBY and GAME never learn that a socket changed.
using sink_actor = reacts_to_each<event>::extend<
  // From its CONNECTION: stop or resume reading the socket.
  caf::reacts_to<read_gate>,
  // From a LOBBY: a relayed frame whose sender awaits its answer.
  caf::reacts_to<relay_handoff>,
  // From the session's CONNECTION: where lost frames go, and whether a lost
  // socket is held (the client sent RESUMABLE).
  caf::reacts_to<sink_control>,
  // From the session's CONNECTION: another socket took the session over;
  // close this one and pass on what still arrives here.
  caf::reacts_to<atom::supersede>>;

/// A SINK whose socket is lost -> its session's CONNECTION: a frame for the
/// client, in the order the SINK got it.
struct kept_frame {
  sink_actor from;
  evt::encoded frame;
};

/// The transport -> the CONNECTION of a socket: it closed. `lost` when it
/// went without a normal close (no close frame, 1001, or unresponsive), which
/// a resumable session survives for its window.
struct socket_closed {
  sink_actor sink;
  bool lost = false;
};

struct take_over;
struct resume_grant;

// -- CONNECTION -------------------------------------------------------------

/// The CONNECTION: one per client. Owns the connection's protocol state
/// (unauthenticated, lobby-less, host, peer). It and its LOBBY are the only
/// senders to its SINK; the LOBBY sends lobby events (relays, RELAY_OK,
/// NEW_PEER, ...) straight to the SINK, which saves two actor hops per relay,
/// and tells the CONNECTION about a role change before the client can see it.
using connection_actor = caf::typed_actor<
  // Each client frame, decoded: one message type for all of them keeps the
  // behavior of every CONNECTION small.
  caf::reacts_to<command>,
  // From the GAME: a new lobby host, forwarded while lobby-less.
  caf::reacts_to<evt::new_host>,
  // From the LOBBY: updates the role mirror only (the LOBBY sends the
  // client's copy to the SINK itself, after this).
  caf::reacts_to<evt::host_reclaim>,
  // From the LOBBY: an error for a sender that is no longer a member.
  caf::reacts_to<evt::error_reply>,
  // From its SINK: this ACK_PEER went out to the client.
  caf::reacts_to<evt::ack_peer>,
  // The receiver's lobby was destroyed, or it was kicked.
  caf::reacts_to<lobby_closed>,
  // To itself: time to look up a lost GAME again (see `connection_state`).
  caf::reacts_to<atom::tick>,
  // To itself: the deadline for INIT (`connection_settings::init_timeout`).
  caf::reacts_to<atom::init_deadline>,
  // From the transport (or, for a resumed session, the CONNECTION of the
  // socket now carrying it): the socket closed.
  caf::reacts_to<socket_closed>,
  // From a SINK whose socket is lost: a frame for the client.
  caf::reacts_to<kept_frame>,
  // From AUTH, for a RESUME on another socket: take the session over.
  caf::replies_to<take_over>::with<resume_grant>,
  // To itself: the resume window with this epoch ran out.
  caf::reacts_to<atom::resume_end, uint64_t>>;

/// CONNECTION -> SINK: lost frames go to `conn`; a lost socket is held (and
/// the SINK keeps working for the session) only when `resumable`.
struct sink_control {
  caf::actor conn;
  bool resumable = false;
};

/// CONNECTION -> AUTH: a RESUME, which checks the token as INIT does and
/// then asks the account's session to move to `sink`.
struct resume_request {
  authenticate creds;
  std::string secret;
  sink_actor sink;
  std::string listener;
};

/// AUTH -> the CONNECTION holding the session: a new socket with a valid
/// token of the account asks for it. On success the CONNECTION sends INIT_OK
/// and RESUMED (with `listener`) and the kept frames to `sink`.
struct take_over {
  session_info info;
  std::string ugi;
  std::string secret;
  sink_actor sink;
  std::string listener;
  /// The new socket's CONNECTION, which carries the session from now on:
  /// losing it (its node died) is losing the socket.
  caf::actor carrier;
};

/// The session's CONNECTION -> the new socket's: commands go to `session`
/// from now on.
struct resume_grant {
  caf::actor session;
};

/// AUTH -> CONNECTION: the answer to `resume_request`. With `session`, the
/// session was taken over (see `resume_grant`); without, there was none to
/// take (`reason` says why) and the requester holds a fresh one, `fresh`.
struct resume_outcome {
  caf::actor session;
  session_info fresh;
  std::string reason;
};

// -- messages that carry handles --------------------------------------------

/// LOBBY -> the recipient's SINK: a relayed frame and the sender's SINK. Only
/// the recipient's side knows whether the frame fits its write budget, so it
/// answers the sender: RELAY_OK once the frame is queued, PEER_INVALID when
/// it is not (the recipient is then disconnected). A local SINK answers on
/// the LOBBY's thread, within the send, so the answer keeps its place among
/// the LOBBY's other messages to the sender.
struct relay_handoff {
  evt::relayed frame;
  sink_actor sender;
  std::string listener;
  /// When the sender's gateway read the frame (steady clock, ns; 0: not
  /// known): the recipient's SINK times the relay if the sender is local.
  int64_t read_at = 0;
};

/// CONNECTION -> GAME: create a lobby hosted by the sender.
struct create_lobby {
  cmd::config_host config;
  member_info host;
  connection_actor conn;
  sink_actor sink;
  /// The creator's game profile: the LOBBY keeps it for its whole life.
  client_profile profile = client_profile::standard;
};

/// CONNECTION -> GAME -> LOBBY: join a lobby as a peer.
struct join_lobby {
  std::string lobby_id;
  std::string password;
  member_info peer;
  connection_actor conn;
  sink_actor sink;
  /// Goes on PASSWORD_ACK and ACK_PEER, which the LOBBY sends to `sink`.
  std::string listener;
};

/// LOBBY -> CONNECTION: the reply to `join_lobby`, for the CONNECTION's
/// state (the client's PASSWORD_ACK and ACK_PEER go from the LOBBY to the
/// SINK, ahead of any lobby event). The lobby handle is a plain
/// `caf::actor` because the LOBBY interface refers to this type.
struct joined {
  caf::actor lobby;
  uint64_t instance = 0;
  std::string lobby_id;
  /// The lobby's profile, which decides who may relay to whom.
  client_profile profile = client_profile::standard;
};

/// LOBBY -> GAME: the lobby was destroyed. The LOBBY told its former peers
/// itself (`lobby_closed`, like a kick), at once; the GAME's LOBBY_CLOSE
/// broadcast, which the game's broadcast budget may hold back, skips them.
struct lobby_gone {
  lobby_closed notice;
  std::vector<connection_actor> told;
};

// -- LOBBY ------------------------------------------------------------------

/// The LOBBY: one per lobby. Owns host, peers in join order, password digest,
/// lock, size, reclaim policy and pending claim; every lobby rule is decided
/// here, in one mailbox, so races resolve to one order. A destroyed LOBBY
/// lingers without members until each former member acknowledged its
/// LOBBY_CLOSE (`atom::leave`), so a command racing the destruction still
/// gets its error reply instead of vanishing.
using lobby_actor = caf::typed_actor<
  // Admits a peer (or answers LOBBY_LOCKED, LOBBY_FULL, PASSWORD_*).
  caf::replies_to<join_lobby>::with<joined>,
  // Reports the lobby's public details.
  caf::replies_to<atom::info>::with<evt::lobby_info>,
  // Checks and forwards MAKE_OFFER, MAKE_ANSWER or ICE.
  caf::reacts_to<relay>,
  // Host control; the string is the sending member's id.
  caf::reacts_to<cmd::claim_host, std::string>,
  caf::reacts_to<cmd::transfer_host, std::string>,
  caf::reacts_to<cmd::lock, std::string>,
  caf::reacts_to<cmd::unlock, std::string>,
  caf::reacts_to<cmd::size, std::string>,
  caf::reacts_to<cmd::kick, std::string>,
  // A former member processed LOBBY_CLOSE: it sends this LOBBY nothing more.
  caf::reacts_to<atom::leave>,
  // INTERNAL: the claim window with this epoch ran out.
  caf::reacts_to<atom::claim_end, uint64_t>,
  // INTERNAL: the held-back PASSWORD_FAIL with this ticket is due.
  caf::reacts_to<atom::password_due, uint64_t>>;

/// GAME -> CONNECTION: the reply to `create_lobby`.
struct hosting {
  lobby_actor lobby;
  uint64_t instance = 0;
};

// -- GAME -------------------------------------------------------------------

/// The GAME: one per UGI. Maps lobby ids to LOBBYs and knows the game's
/// authenticated connections, the audience of NEW_HOST and LOBBY_CLOSE.
using game_actor = caf::typed_actor<
  // CONFIG_HOST: spawns the LOBBY (or answers LOBBY_EXISTS).
  caf::replies_to<create_lobby>::with<hosting>,
  // CONFIG_PEER: delegated to the LOBBY (or answers LOBBY_NOTFOUND).
  caf::replies_to<join_lobby>::with<joined>,
  caf::replies_to<cmd::lobby_list>::with<evt::lobby_list>,
  // Delegated to the LOBBY (or answers LOBBY_NOTFOUND).
  caf::replies_to<cmd::lobby_info>::with<evt::lobby_info>,
  // An authenticated CONNECTION joins the audience (monitored).
  caf::reacts_to<atom::subscribe, connection_actor>,
  // From a LOBBY: broadcast NEW_HOST.
  caf::reacts_to<evt::new_host>,
  // From a LOBBY that is being destroyed: forget it, broadcast LOBBY_CLOSE.
  caf::reacts_to<lobby_gone>,
  // INTERNAL: time to send the broadcasts held back over budget.
  caf::reacts_to<atom::flush>,
  // From its DIRECTORY: the node drains. From now on CONFIG_HOST gets
  // WARNING, so that hosts go to another server; the lobbies that exist
  // keep working until the restart.
  caf::reacts_to<atom::drain>>;

// -- cluster membership -----------------------------------------------------

/// One node of a cluster as its peers address it. Plain `caf::actor` handles,
/// because the interfaces below refer to this type.
struct node_card {
  /// The node's configured name: the input of game placement, so it must be
  /// the same on every restart of that node.
  std::string name;
  caf::actor node;
  caf::actor directory;
  caf::actor auth;
  /// The node is about to restart: it keeps the games it runs, but the
  /// placement of a new game passes it over.
  bool draining = false;
};

/// NODE -> DIRECTORY, AUTH: the peers this node can reach right now. Sent on
/// every change; an empty list means a single-node server.
struct cluster_view {
  node_card self;
  std::vector<node_card> peers;
};

// -- DIRECTORY --------------------------------------------------------------

/// The DIRECTORY: finds (spawning on first use) the GAME of a UGI, or
/// answers `ec::violation` for a UGI that is not a registered game.
/// In a cluster, each game has one owner node (rendezvous hashing over the
/// reachable nodes); DIRECTORYs ask each other so that every connection of a
/// game reaches the same GAME wherever its socket is.
using directory_actor = caf::typed_actor<
  // From a local CONNECTION: the GAME of a UGI, wherever it runs.
  caf::replies_to<caf::get_atom, std::string>::with<game_actor>,
  // From a peer DIRECTORY that picked this node as the owner.
  caf::replies_to<atom::place, std::string>::with<game_actor>,
  // From a peer DIRECTORY: the GAME of a UGI if it runs on this node.
  caf::replies_to<atom::find, std::string>::with<game_actor>,
  // To itself: route the lookups of a UGI again (see `directory`).
  caf::reacts_to<atom::tick, std::string>, caf::reacts_to<cluster_view>,
  // From the gateway, once, when the process starts draining: every GAME
  // on this node refuses new lobbies (those spawned later too), and the
  // NODE tells the peers, so that no new game is placed here.
  caf::reacts_to<atom::drain>>;

// -- AUTH -------------------------------------------------------------------

/// The AUTH service: checks INIT tokens and holds one live session per
/// account (it monitors the CONNECTION that sent the request).
/// In a cluster, AUTHs replicate accounts, games and tokens to each other
/// and hold one session per account across all nodes.
using auth_actor = caf::typed_actor<
  caf::replies_to<authenticate>::with<session_info>,
  // RESUME: takes a held session over, or starts a fresh one.
  caf::replies_to<resume_request>::with<resume_outcome>,
  // TURN_CREDENTIALS for an account (throttled per account).
  caf::replies_to<atom::turn, std::string>::with<evt::turn_credentials>,
  // From a peer AUTH: rows it lacks (read-through), and pushed rows.
  caf::replies_to<replica_query>::with<replica>, caf::reacts_to<replica>,
  // From this node's HTTP API: import what the peers have for the query;
  // answers with the number of rows imported, once every peer answered.
  caf::replies_to<atom::pull, replica_query>::with<uint64_t>,
  // From a peer AUTH: hold (true) or refuse (false) an account's session
  // for a CONNECTION on that node; release it after a refusal elsewhere.
  caf::replies_to<atom::reserve, std::string, connection_actor>::with<bool>,
  caf::reacts_to<atom::release, std::string, connection_actor>,
  caf::reacts_to<cluster_view>,
  // INTERNAL: time to push new rows to the peers.
  caf::reacts_to<atom::tick>>;

// -- NODE -------------------------------------------------------------------

/// The NODE: one per server process in a cluster, published on the remoting
/// port. It connects to the configured peers (retrying while they are down),
/// exchanges cards with them and tells the DIRECTORY and AUTH who is
/// reachable. A peer that dies or stops answering (CAF's middleman
/// heartbeat) is dropped from the view through a monitor.
using node_actor = caf::typed_actor<
  // From a peer NODE: its card, and again whenever it changes (a drain);
  // the answer is this node's card.
  caf::replies_to<atom::hello, node_card>::with<node_card>,
  // INTERNAL: time to retry unreachable peers.
  caf::reacts_to<atom::tick>,
  // From this node's DIRECTORY, when the process drains: the card says so
  // from now on, to the peers (a fresh hello) and to this node's DIRECTORY.
  caf::reacts_to<atom::drain>>;

/// Registers every omega message type with an actor system configuration.
void add_message_types(caf::actor_system_config& cfg);

} // namespace omega

CAF_BEGIN_TYPE_ID_BLOCK(omega_actors, caf::id_block::omega::end)

  CAF_ADD_TYPE_ID(omega_actors, (omega::sink_actor))
  CAF_ADD_TYPE_ID(omega_actors, (omega::connection_actor))
  CAF_ADD_TYPE_ID(omega_actors, (omega::lobby_actor))
  CAF_ADD_TYPE_ID(omega_actors, (omega::game_actor))
  CAF_ADD_TYPE_ID(omega_actors, (omega::auth_actor))
  CAF_ADD_TYPE_ID(omega_actors, (omega::directory_actor))
  CAF_ADD_TYPE_ID(omega_actors, (omega::create_lobby))
  CAF_ADD_TYPE_ID(omega_actors, (omega::join_lobby))
  CAF_ADD_TYPE_ID(omega_actors, (omega::relay_handoff))
  CAF_ADD_TYPE_ID(omega_actors, (omega::joined))
  CAF_ADD_TYPE_ID(omega_actors, (omega::hosting))
  CAF_ADD_TYPE_ID(omega_actors, (omega::node_actor))
  CAF_ADD_TYPE_ID(omega_actors, (omega::node_card))
  CAF_ADD_TYPE_ID(omega_actors, (omega::cluster_view))
  CAF_ADD_TYPE_ID(omega_actors, (omega::lobby_gone))
  CAF_ADD_TYPE_ID(omega_actors, (omega::kept_frame))
  CAF_ADD_TYPE_ID(omega_actors, (omega::socket_closed))
  CAF_ADD_TYPE_ID(omega_actors, (omega::sink_control))
  CAF_ADD_TYPE_ID(omega_actors, (omega::resume_request))
  CAF_ADD_TYPE_ID(omega_actors, (omega::take_over))
  CAF_ADD_TYPE_ID(omega_actors, (omega::resume_grant))
  CAF_ADD_TYPE_ID(omega_actors, (omega::resume_outcome))

CAF_END_TYPE_ID_BLOCK(omega_actors)
