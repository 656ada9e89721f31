#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "messages/fields.hpp"

/// Messages between actors that carry no actor handle. The ones that do live
/// next to the interfaces in actors/actors.hpp.

namespace omega {

/// Which clients a game is built for, stored with the game. It decides how
/// that game's lobbies admit peers and route relays (docs/protocol.md,
/// "Client profiles"); everything else is the same for both.
enum class client_profile : uint8_t {
  /// PROTOCOL.md exactly: the default.
  standard,
  /// What the published CL5 TurboWarp extension expects of the original
  /// server: a full mesh of relays with `origin` as `{id, user}`, the
  /// ANTICIPATE/DISCOVER join fan-out, PASSWORD_FAIL for a blank password
  /// and PEER_GONE to every member.
  cl5,
};

/// Returns the name the admin tool and the store use (`standard`, `cl5`).
const char* profile_name(client_profile x);

/// Maps a name to its profile; false if there is none.
bool profile_from_name(std::string_view x, client_profile& out);

/// Returns the name; lets CAF print messages holding a profile.
std::string to_string(client_profile x);

/// Who a lobby member is, as other clients see it.
struct member_info {
  /// Account ULID; what other clients use as `recipient`.
  std::string id;
  /// Username (gamertag).
  std::string user;
  /// Optional public key the client announced; empty when absent.
  std::string pubkey;
};

/// CONNECTION -> AUTH: check an INIT token for the connection's game.
struct authenticate {
  std::string token;
  /// `Origin` header of the WebSocket upgrade; empty when it had none.
  std::string origin;
  /// The game the connection opened (`ugi=`).
  std::string ugi;
};

/// AUTH -> CONNECTION: the account and game behind a valid token.
struct session_info {
  std::string id;
  std::string user;
  std::string game;
  std::string developer;
  /// The game's profile when the token was checked: a change by the
  /// operator reaches connections that authenticate afterwards.
  client_profile profile = client_profile::standard;
};

/// CONNECTION -> LOBBY: a MAKE_OFFER, MAKE_ANSWER or ICE to check and forward.
struct relay {
  opcode op = opcode::ice;
  /// The sending member's id, stamped by its CONNECTION (never the client).
  std::string sender;
  std::string recipient;
  std::string payload;
  std::string listener;
  /// When the gateway read the frame (see `cmd::make_offer::read_at`).
  int64_t read_at = 0;
};

/// CONNECTION -> SINK: stop (`open == false`) or go on reading the client's
/// frames. A CONNECTION that holds commands back, while INIT, CONFIG_HOST,
/// CONFIG_PEER or a GAME lookup is unanswered, closes the gate once it
/// holds many: a client that pipelines a burst then waits in TCP's flow
/// control instead of being cut off, and the server holds a bounded amount.
struct read_gate {
  bool open = true;
};

/// LOBBY -> GAME -> CONNECTION: a lobby is gone. `instance` tells apart
/// lobbies that reuse an id, so a late notice for a destroyed lobby never
/// evicts a member of its successor.
struct lobby_closed {
  std::string lobby_id;
  uint64_t instance = 0;
};

// -- replication of accounts, games and tokens between nodes -----------------

/// An account as replicated between nodes (times are unix milliseconds).
struct account_row {
  std::string id;
  std::string username;
  std::string email;
  /// The argon2id hash string: logins on any node verify locally.
  std::string password_hash;
  int64_t created = 0;
};

/// A game and its developer as replicated between nodes.
struct game_row {
  std::string ugi;
  std::string name;
  std::string developer_id;
  std::string developer;
  int64_t created = 0;
  client_profile profile = client_profile::standard;
  /// When the profile was last set (unix ms; 0 = never changed): the latest
  /// change wins when two nodes disagree.
  int64_t profile_changed = 0;
};

/// A session token as replicated between nodes: its digest, never the token.
struct token_row {
  std::string digest;
  std::string account_id;
  int64_t issued = 0;
  int64_t expires = 0;
  std::string origin;
};

/// One cloud-save slot of an account in a game (`POST /api/v0/save`).
struct save_key {
  std::string account_id;
  std::string ugi;
  int32_t slot = 0;
};

/// A cloud save as stored and replicated: the latest write wins.
struct save_row {
  save_key key;
  std::string data;
  /// When it was written (unix ms, the writing node's clock).
  int64_t changed = 0;
};

/// AUTH -> AUTH: rows one node has and another may lack. Sent as a periodic
/// push and as the answer to a `replica_query`; applying one is idempotent.
struct replica {
  std::vector<account_row> accounts;
  std::vector<game_row> games;
  std::vector<token_row> tokens;
  std::vector<save_row> saves{};

  bool empty() const {
    return accounts.empty() && games.empty() && tokens.empty() && saves.empty();
  }

  size_t size() const {
    return accounts.size() + games.size() + tokens.size() + saves.size();
  }
};

/// AUTH -> AUTH: a read-through lookup for rows this node lacks (a token
/// issued, a game added or an account registered on another node moments
/// ago). Any key may be empty.
struct replica_query {
  std::string token_digest;
  std::string ugi;
  std::string email;
  /// A cloud save to load: each node answers its version of the slot, so
  /// the asking node loads the latest write. Empty `account_id`: none.
  save_key save{};
};

/// True for the messages above and those in actors/actors.hpp.
template <class T>
constexpr bool is_internal_message_v = is_plain_message_v<T, command, event>;

OMEGA_FIELDS_OPERATIONS(is_internal_message_v)

} // namespace omega
