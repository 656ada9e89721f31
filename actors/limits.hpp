#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

/// The operator's limits against abusive clients (issue 15): what the
/// CONNECTION, GAME and LOBBY enforce, with the server's defaults. Every
/// field is a flag and config key of omega-server (docs/operations.md,
/// "Limits"); what a client sees is in docs/protocol.md, "Limits".

namespace omega {

/// A token bucket's parameters: `rate` tokens per second, at most `burst`
/// saved up. A rate of zero (or less) disables the limit.
struct rate_limit {
  double rate = 0;
  double burst = 0;

  bool enabled() const {
    return rate > 0;
  }
};

/// Returns the rate as the WARNING names it, e.g. `10/s` or `0.2/s`.
std::string rate_text(const rate_limit& x);

/// Per connection: one bucket per class of command. The defaults leave a
/// legitimate client far below every limit: a host whose 100 peers join at
/// once sends 100 offers and about 2000 ICE candidates in one go (a `cl5`
/// joiner as many, offering to everyone inside), and a CL5 client sends a
/// KEEPALIVE every few seconds and may poll LOBBY_LIST about once a second.
struct connection_limits {
  /// INIT: each one is a store look-up.
  rate_limit init{1, 5};
  /// CONFIG_HOST, CONFIG_PEER, CLAIM_HOST, TRANSFER_HOST, KICK, LOCK,
  /// UNLOCK and SIZE: each may reach every member or the whole game.
  rate_limit lobby{10, 20};
  /// LOBBY_LIST and LOBBY_INFO: each asks the GAME (and a list may hold
  /// hundreds of ids).
  rate_limit query{10, 50};
  /// MAKE_OFFER, MAKE_ANSWER and ICE: the bulk of a legitimate session.
  rate_limit relay{5000, 10000};
  /// Payload bytes of those relays: 60 KB offers at the relay rate would be
  /// 300 MB/s of work for the server, while a lobby of 100 peers forming at
  /// once relays about 1 MB.
  rate_limit relay_bytes{4 << 20, 16 << 20};
  /// KEEPALIVE and unknown opcodes (each answered with a frame).
  rate_limit keepalive{100, 200};
  /// Commands dropped for a rate: a client that keeps going over its
  /// limits (more than `burst` drops beyond `rate` per second) is cut off
  /// with VIOLATION (close 1008).
  rate_limit drops{10, 100};

  /// No limit at all (tests of other mechanisms).
  static connection_limits none() {
    return {{}, {}, {}, {}, {}, {}, {}};
  }
};

/// Per game: the broadcasts to its lobby-less connections, and lobby
/// creation by one account.
struct game_limits {
  /// NEW_HOST and LOBBY_CLOSE broadcasts per second (each goes to every
  /// lobby-less connection). Beyond it they are coalesced per lobby id and
  /// sent every `broadcast_flush`. Each broadcast to 200 lobby-less
  /// clients keeps a core busy for about a millisecond, during which the
  /// game's relays wait; 5 a second keeps that under 1% of the time, and a
  /// lobby past it is still announced within a second.
  rate_limit broadcasts{5, 20};
  std::chrono::milliseconds broadcast_flush{1000};
  /// Most lobby ids in one LOBBY_LIST reply (the first ones by id); zero:
  /// no limit.
  size_t max_lobby_list = 500;
  /// CONFIG_HOSTs per account per game, across its connections.
  rate_limit lobby_creation{2, 10};

  /// No limit at all (tests of other mechanisms).
  static game_limits none() {
    return {{}, std::chrono::milliseconds{1000}, 0, {}};
  }
};

/// Per lobby with a password: wrong passwords (PASSWORD_FAIL).
struct password_limits {
  /// The failure reply is held back `delay`, doubled for each recent
  /// failure of that account in that lobby, at most `max_delay`; the
  /// CONNECTION waits for it before it handles the client's next command.
  std::chrono::milliseconds delay{500};
  std::chrono::milliseconds max_delay{8000};
  /// After this many failures in a row, the account gets LOBBY_LOCKED from
  /// that lobby, without a password check, for `lockout` after its last
  /// failure; a failure older than `lockout` is forgotten. Zero: never.
  uint32_t max_failures = 5;
  std::chrono::milliseconds lockout{300000};
  /// Failures per lobby, from all accounts together: with the budget spent,
  /// every password attempt gets LOBBY_LOCKED, unchecked, until it refills.
  rate_limit lobby_failures{0.2, 10};

  /// No limit at all (tests of other mechanisms).
  static password_limits none() {
    using std::chrono::milliseconds;
    return {milliseconds{0}, milliseconds{0}, 0, milliseconds{0}, {}};
  }
};

/// Session resume (RESUMABLE, docs/protocol.md "Session resume"): what the
/// server holds for a session whose socket was lost.
struct resume_limits {
  /// How long the session waits for a RESUME; zero turns resume off
  /// (RESUMABLE gets WARNING).
  std::chrono::milliseconds window{30000};
  /// Frames kept for the client meanwhile, and their bytes; past either,
  /// the oldest go (RESUMED counts them as `dropped`).
  size_t max_frames = 1024;
  size_t max_bytes = 1 << 20;
};

} // namespace omega
