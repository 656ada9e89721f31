// Randomized simulation of many clients in two games, with fixed seeds.
//
// Each step, one random client sends one random command (valid or not), or a
// client's socket closes, or a new client logs in, or the clock jumps past
// the claim timeout. Between steps the scheduler runs not at all, a few
// random jobs (any actor's next message, in random order), or to quiescence
// (FIFO or random order). After every run to quiescence `check_invariants`
// compares three views: the LOBBY and GAME states, each CONNECTION's mirror
// (`state_of`), and a model that each client's own event log implies when
// replayed (ACK_HOST -> host; ACK_PEER -> peer; HOST_RECLAIM with its own id
// -> host, with another id while host -> peer; LOBBY_CLOSE of its lobby while
// peer -> lobby-less; ACK_PEER, HOST_RECLAIM and HOST_GONE track its host).
// A failure names the seed and the step.
//
// Invariants:
//  1. One host. Every lobby has at most one host; a hostless lobby exists
//     only with allow_host_reclaim && allow_peers_to_claim_host and at least
//     one peer (PROTOCOL.md section 3, policies 1-3), and no claim window
//     outlives a jump of the clock past the claim timeout.
//  2. One membership. No client is in two lobbies (across all lobbies of
//     both games); each running CONNECTION's mirrored role, lobby id and
//     instance equal the LOBBY states; the model replayed from the client's
//     own log equals both; every peer's last known host equals its lobby's
//     host (everyone saw the same HOST_GONE / HOST_RECLAIM sequence); a
//     departed client is in no lobby.
//  3. Counts. Each lobby's peers equal the set of running clients whose log
//     says they are its peers, and a LOBBY_INFO asked at quiescence reports
//     exactly the lobby's state (host, max_peers, current_peers, locked,
//     password_required); LOBBY_LIST lists exactly the password-less lobbies
//     and LOBBY_INFO of a missing id is LOBBY_NOTFOUND.
//  4. Notifications match state changes. NEW_HOST only while lobby-less;
//     NEW_PEER, PEER_GONE only while host; HOST_GONE only while peer and
//     naming its host; every NEW_PEER a host received has a matching
//     ACK_PEER (same lobby, naming that host) in the peer's log and vice
//     versa; each HOST_RECLAIM changes the host, and its new host got the
//     same HOST_RECLAIM; a host never gets LOBBY_CLOSE and a peer gets it
//     only for its own lobby and only if it was kicked or the lobby was
//     destroyed (the lobby-less observer saw LOBBY_CLOSE); the observer's
//     NEW_HOST / LOBBY_CLOSE history equals the set of password-less lobbies
//     and their current hosts; LOCK / SIZE replies come only to the host of
//     that lobby; a listener on HOST_RECLAIM / PEER_GONE belongs to the
//     receiver's own CLAIM_HOST / TRANSFER_HOST / KICK.
//  5. Nothing reaches a departed member. After a client left a lobby
//     (kicked, lobby closed, host change made it a peer) it gets no NEW_PEER,
//     PEER_GONE, HOST_GONE, HOST_RECLAIM or relayed frame of that lobby: a
//     relayed frame reaches only a member, from its own host if it is a peer,
//     and is exactly one frame the origin sent to it (op, payload, origin);
//     each relay acknowledged with RELAY_OK is delivered exactly once and an
//     unacknowledged one never. A disconnected client's log never grows.
//  6. Games are isolated. Every client id an event mentions belongs to the
//     receiver's game; every lobby id it mentions is in the receiver's game's
//     id pool (the pools overlap in L2, L3 only, so L0/L1 in game 1 or
//     L4/L5 in game 0 is a leak); no lobby of game A has a member of game B.
//  7. Replies (separate test). Every command gets exactly one direct reply
//     carrying its listener (PASSWORD_ACK + ACK_PEER count as one), and no
//     reply carries a listener its client never sent.
//  8. Profiles (runs whose second game is `cl5`). ANTICIPATE and DISCOVER
//     come only in the cl5 game: ANTICIPATE to a joiner right before its
//     acknowledgements and naming its host, or to a peer naming a newcomer;
//     DISCOVER only to a peer. A cl5 peer may get PEER_GONE and relayed
//     frames from any member, whose origin names the sender's user (never
//     in the standard game). While its lobby kept its host since the peer
//     joined, the peers it learned of (DISCOVER, ANTICIPATE, minus PEER_GONE)
//     are exactly the lobby's other peers.

#include "tests/actor_fixture.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

using namespace omega;
using namespace omega::test;

namespace {

using role = connection_state::role;

constexpr size_t npos = static_cast<size_t>(-1);

/// Regular clients per game, at most (plus one observer).
constexpr size_t max_clients = 6;

/// Regular clients per game, at least.
constexpr size_t min_clients = 3;

/// Lobby ids per game.
const std::vector<std::vector<std::string>> pools{
  {"L0", "L1", "L2", "L3"},
  {"L2", "L3", "L4", "L5"},
};

const char* name(role x) {
  switch (x) {
    case role::none:
      return "none";
    case role::host:
      return "host";
    default:
      return "peer";
  }
}

/// LOCK, UNLOCK and SIZE answers: for the host only.
template <class T>
constexpr bool lock_or_size
  = std::is_same_v<T, evt::lock_state> || std::is_same_v<T, evt::size_state>;

/// What a client's own event log says about it.
struct model {
  role r = role::none;
  std::string lobby;
  /// The host as this client last learned it; empty while hostless.
  std::string host;
  /// While host: NEW_PEER minus PEER_GONE since it became host.
  std::set<std::string> peers;
  /// While host: true if it created the lobby, so `peers` saw every join.
  bool complete = false;
  /// While a peer in the cl5 game: the other peers it learned of, and
  /// whether that view is whole (no host change since it joined).
  std::set<std::string> mesh{};
  bool mesh_complete = false;
};

struct sim_client {
  client* c = nullptr;
  size_t game = 0;
  bool observer = false;
  bool alive = true;
  /// Set on disconnect; the log size is frozen at the next quiescence.
  bool freeze_pending = false;
  size_t frozen = npos;
  /// Events replayed into `m` so far.
  size_t cursor = 0;
  model m;
  /// Listener -> opcode of each command sent.
  std::map<std::string, opcode> sent;
  /// Listener -> final replies received.
  std::map<std::string, size_t> replies;
  /// Listeners sent but not answered yet.
  std::set<std::string> unanswered;
  /// Listeners answered with RELAY_OK.
  std::set<std::string> relay_oks;
  /// Observer only: announced password-less lobbies and their hosts.
  std::map<std::string, std::string> announced;
};

struct relay_record {
  size_t from = 0;
  std::string recipient;
  opcode op = opcode::ice;
  std::string listener;
  size_t delivered = 0;
};

using key3 = std::tuple<std::string, std::string, std::string>;

class simulation_fixture : public actor_fixture {
protected:
  simulation_fixture() {
    // The simulation drives many commands per client at one instant of
    // simulated time, far beyond any client's rate, and checks the
    // protocol's invariants; the limits have tests of their own
    // (limits_test.cpp).
    rates = connection_limits::none();
    auto s = settings;
    s.game = game_limits::none();
    s.passwords = password_limits::none();
    use_settings(s);
  }

  // -- reporting ------------------------------------------------------------

  std::string where() const {
    std::ostringstream out;
    out << "seed " << seed << ", step " << step_no << ": ";
    return out.str();
  }

  std::string tail(const sim_client& s, size_t n = 12) const {
    std::string result;
    auto& log = *s.c->log;
    auto first = log.size() > n ? log.size() - n : 0;
    for (auto i = first; i < log.size(); ++i)
      result += "\n    #" + std::to_string(i) + " " + describe(log[i]);
    return result;
  }

  /// Reports a broken invariant about event `idx` of `s`.
  void violation(const sim_client& s, size_t idx, int inv,
                 const std::string& what) {
    ADD_FAILURE() << where() << "invariant " << inv << ": " << s.c->user
                  << " (game " << s.game << ") event #" << idx << " "
                  << describe((*s.c->log)[idx]) << ": " << what
                  << "\n  model: " << name(s.m.r) << " of '" << s.m.lobby
                  << "', host '" << s.m.host << "'\n  log tail:" << tail(s);
  }

  // -- population -----------------------------------------------------------

  sim_client& add_client(size_t game, bool observer) {
    auto user = (observer ? "obs" : "g") + std::to_string(game) + "u"
                + std::to_string(next_user++);
    auto& c = login(user, game);
    sim_client s;
    s.c = &c;
    s.game = game;
    s.observer = observer;
    pop.push_back(s);
    id_index[c.id] = pop.size() - 1;
    return pop.back();
  }

  /// Returns the running regular (non-observer) clients of `game`.
  std::vector<size_t> regulars(size_t game) {
    std::vector<size_t> result;
    for (size_t i = 0; i < pop.size(); ++i)
      if (!pop[i].observer && pop[i].game == game && pop[i].alive)
        result.push_back(i);
    return result;
  }

  // -- randomness -----------------------------------------------------------

  size_t pick(size_t n) {
    return static_cast<size_t>(rng() % n);
  }

  bool chance(unsigned percent) {
    return rng() % 100 < percent;
  }

  template <class T>
  const T& pick_of(const std::vector<T>& xs) {
    return xs[pick(xs.size())];
  }

  std::string next_listener() {
    return "s" + std::to_string(++seq);
  }

  /// Whether `s` plays the game whose profile is cl5.
  bool in_mesh(const sim_client& s) const {
    return profiles.at(s.game) == client_profile::cl5;
  }

  /// Any client id of either game, or one nobody has.
  std::string random_id() {
    if (chance(10))
      return "01NOBODY0000000000000000000";
    return pop[pick(pop.size())].c->id;
  }

  // -- commands -------------------------------------------------------------

  template <class T>
  void send(sim_client& s, T x, opcode op) {
    s.sent.emplace(x.listener, op);
    s.unanswered.insert(x.listener);
    s.c->send(std::move(x));
  }

  template <class T>
  void send_relay(sim_client& s, std::string recipient, opcode op) {
    auto lis = next_listener();
    auto payload = "\"r" + std::to_string(seq) + "\"";
    relays.emplace(payload,
                   relay_record{id_index.at(s.c->id), recipient, op, lis, 0});
    send(s, T{std::move(recipient), std::move(payload), lis}, op);
  }

  /// One command for `s`, biased by the role its CONNECTION believes in.
  void random_command(sim_client& s) {
    auto& cs = state_of(*s.c);
    auto& pool = pools[s.game];
    auto lobby_id = pick_of(pool);
    // Valid targets, read from the LOBBY the CONNECTION believes it is in.
    std::vector<std::string> lobby_peers;
    std::string lobby_host;
    if (cs.current != role::none)
      if (auto st = peek(cs.lobby_id, s.game)) {
        for (auto& p : st->peers)
          lobby_peers.push_back(p.info.id);
        if (st->host)
          lobby_host = st->host->info.id;
      }
    auto a_peer = [&] {
      return !lobby_peers.empty() && chance(85) ? pick_of(lobby_peers)
                                                : random_id();
    };
    auto the_host = [&] {
      return !lobby_host.empty() && chance(85) ? lobby_host : random_id();
    };
    // A lobby of the game, most of the time one that exists.
    auto lobby_password = std::string{};
    if (game_handle(s.game) && chance(75)) {
      auto& lobbies = game_state_of(s.game).lobbies;
      if (!lobbies.empty()) {
        auto i = lobbies.begin();
        std::advance(i, static_cast<ptrdiff_t>(pick(lobbies.size())));
        lobby_id = i->first;
        lobby_password = i->second.has_password ? "pw" : "";
      }
    }
    auto k = pick(100);
    if (cs.current == role::none) {
      if (k < 25) {
        auto pw = chance(30) ? std::string{"pw"} : std::string{};
        send(s,
             cmd::config_host{lobby_id, chance(60), chance(60),
                              static_cast<uint32_t>(pick(4)), pw,
                              chance(20) ? "KEY" : "", next_listener()},
             opcode::config_host);
        return;
      }
      if (k < 75) {
        // The right password mostly; else a wrong, missing or needless one.
        static const std::vector<std::string> passwords{"", "pw", "bad"};
        auto pw = chance(75) ? lobby_password : pick_of(passwords);
        send(s,
             cmd::config_peer{lobby_id, pw, chance(20) ? "PEERKEY" : "",
                              next_listener()},
             opcode::config_peer);
        return;
      }
      if (k < 80)
        return send(s, cmd::lobby_list{next_listener()}, opcode::lobby_list);
      if (k < 85)
        return send(s, cmd::lobby_info{lobby_id, next_listener()},
                    opcode::lobby_info);
    } else if (cs.current == role::host) {
      if (k < 20)
        return send_relay<cmd::make_offer>(s, a_peer(), opcode::make_offer);
      if (k < 30)
        return send_relay<cmd::ice>(s, a_peer(), opcode::ice);
      if (k < 42)
        return send(s, cmd::transfer_host{a_peer(), next_listener()},
                    opcode::transfer_host);
      if (k < 52) {
        auto target = a_peer();
        ++kicks_sent[target];
        return send(s, cmd::kick{target, next_listener()}, opcode::kick);
      }
      if (k < 58)
        return send(s, cmd::lock{next_listener()}, opcode::lock);
      if (k < 66)
        return send(s, cmd::unlock{next_listener()}, opcode::unlock);
      if (k < 70)
        return send(s,
                    cmd::size{static_cast<uint32_t>(pick(4)), next_listener()},
                    opcode::size);
      if (k < 73)
        return send(s, cmd::lobby_info{cs.lobby_id, next_listener()},
                    opcode::lobby_info);
    } else {
      // In the cl5 game: peer to peer, any relay.
      if (in_mesh(s) && chance(25)) {
        auto to = a_peer();
        switch (pick(3)) {
          case 0:
            return send_relay<cmd::make_offer>(s, to, opcode::make_offer);
          case 1:
            return send_relay<cmd::make_answer>(s, to, opcode::make_answer);
          default:
            return send_relay<cmd::ice>(s, to, opcode::ice);
        }
      }
      // A hostless lobby: mostly race for it.
      if (lobby_host.empty() && chance(60))
        return send(s, cmd::claim_host{next_listener()}, opcode::claim_host);
      if (k < 25)
        return send_relay<cmd::make_answer>(s, the_host(), opcode::make_answer);
      if (k < 40)
        return send_relay<cmd::ice>(s, the_host(), opcode::ice);
      if (k < 60)
        return send(s, cmd::claim_host{next_listener()}, opcode::claim_host);
      if (k < 65)
        return send(s, cmd::lobby_info{cs.lobby_id, next_listener()},
                    opcode::lobby_info);
    }
    // Anything else, whatever the role: mostly wrong for it.
    switch (pick(12)) {
      case 0:
        return send(s,
                    cmd::config_host{lobby_id, false, false, 0, "", "",
                                     next_listener()},
                    opcode::config_host);
      case 1:
        return send(s, cmd::config_peer{lobby_id, "", "", next_listener()},
                    opcode::config_peer);
      case 2:
        return send_relay<cmd::make_offer>(s, random_id(), opcode::make_offer);
      case 3:
        return send_relay<cmd::make_answer>(s, random_id(),
                                            opcode::make_answer);
      case 4:
        return send_relay<cmd::ice>(s, random_id(), opcode::ice);
      case 5:
        return send(s, cmd::claim_host{next_listener()}, opcode::claim_host);
      case 6:
        return send(s, cmd::transfer_host{random_id(), next_listener()},
                    opcode::transfer_host);
      case 7: {
        auto target = random_id();
        ++kicks_sent[target];
        return send(s, cmd::kick{target, next_listener()}, opcode::kick);
      }
      case 8:
        return send(s, cmd::lock{next_listener()}, opcode::lock);
      case 9:
        return send(s, cmd::size{2, next_listener()}, opcode::size);
      case 10:
        return send(s, cmd::lobby_list{next_listener()}, opcode::lobby_list);
      default:
        return send(s, cmd::keepalive{"[1]", next_listener()},
                    opcode::keepalive);
    }
  }

  // -- scheduling -----------------------------------------------------------

  /// Runs the next message of a random actor that has one.
  void random_once() {
    auto& jobs = sched.jobs;
    if (jobs.empty())
      return;
    auto i = jobs.begin() + static_cast<ptrdiff_t>(pick(jobs.size()));
    std::rotate(jobs.begin(), i, i + 1);
    sched.run_once();
  }

  /// Runs to quiescence, in FIFO or in random order.
  void drain() {
    if (chance(50))
      run();
    else
      while (!sched.jobs.empty())
        random_once();
  }

  // -- one step -------------------------------------------------------------

  void act() {
    auto k = pick(100);
    auto game = pick(2);
    auto alive = regulars(game);
    if (k < 5) {
      // A socket closes (CONNECTION ends like a closed socket, not run).
      if (alive.size() <= min_clients)
        return;
      auto& s = pop[pick_of(alive)];
      auto& cs = state_of(*s.c);
      auto st = cs.current == role::host ? peek(cs.lobby_id, s.game) : nullptr;
      if (st == nullptr)
        ++stats["disconnect"];
      else
        ++stats["disconnect_host_policy_"
                + std::to_string(!st->allow_host_reclaim          ? 1
                                 : !st->allow_peers_to_claim_host ? 2
                                                                  : 3)];
      caf::anon_send_exit(s.c->conn, caf::exit_reason::user_shutdown);
      s.alive = false;
      s.freeze_pending = true;
      return;
    }
    if (k < 10) {
      // A new client logs in (login runs to quiescence).
      if (alive.size() >= max_clients)
        return;
      ++stats["login"];
      add_client(game, false);
      check_invariants();
      return;
    }
    if (k < 13) {
      // The clock passes the claim timeout, whatever is in flight: claims,
      // joins and commands race the timeouts it fires (and a request that
      // would time out meanwhile must not split CONNECTION and LOBBY, see
      // race_test.join_answered_after_the_request_timeout_stays_consistent).
      ++stats["clock_jump"];
      // Claim windows open now end with this jump (checked at quiescence).
      for (size_t g = 0; g < 2; ++g) {
        if (!game_handle(g))
          continue;
        for (auto& [lobby_id, entry] : game_state_of(g).lobbies)
          if (auto st = peek(lobby_id, g); st != nullptr && !st->host)
            open_windows.push_back(
              window{g, lobby_id, entry.instance, st->claim_epoch});
      }
      sched.advance_time(settings.claim_timeout + std::chrono::seconds{1});
      return;
    }
    random_command(pop[pick_of(alive)]);
  }

  void simulate(uint32_t seed_value, size_t steps, bool replies,
                client_profile second = client_profile::standard) {
    seed = seed_value;
    check_replies = replies;
    rng.seed(seed);
    add_game("Second Game", second);
    profiles = {client_profile::standard, second};
    for (size_t game = 0; game < 2; ++game) {
      add_client(game, true);
      for (size_t i = 0; i < max_clients; ++i)
        add_client(game, false);
    }
    check_invariants();
    size_t since_drain = 0;
    for (step_no = 1; step_no <= steps; ++step_no) {
      act();
      auto k = pick(10);
      if (k < 4 && since_drain < 8) {
        ++since_drain; // let messages pile up
      } else if (k < 7 && since_drain < 8) {
        ++since_drain;
        for (auto n = 1 + pick(6); n > 0; --n)
          random_once();
      } else {
        since_drain = 0;
        drain();
        check_invariants();
      }
      if (HasFailure())
        return;
    }
    drain();
    check_invariants();
    record_stats();
  }

  // -- invariants -----------------------------------------------------------

  bool same_game(const std::string& id, size_t game) {
    auto i = id_index.find(id);
    return i != id_index.end() && pop[i->second].game == game;
  }

  bool in_pool(const std::string& lobby_id, size_t game) {
    auto& pool = pools[game];
    return std::find(pool.begin(), pool.end(), lobby_id) != pool.end();
  }

  /// Counts a final reply; invariant 7 checks the totals.
  void reply(sim_client& s, size_t idx, const std::string& listener) {
    if (listener.empty()) {
      if (check_replies)
        violation(s, idx, 7, "reply without the command's listener");
      return;
    }
    if (s.sent.count(listener) == 0) {
      if (check_replies)
        violation(s, idx, 7, "reply to a command this client never sent");
      return;
    }
    if (++s.replies[listener] > 1 && check_replies)
      violation(s, idx, 7, "second reply to one command");
    s.unanswered.erase(listener);
  }

  void mention_id(sim_client& s, size_t idx, const std::string& id) {
    if (!same_game(id, s.game))
      violation(s, idx, 6, "mentions client " + id + " of another game");
  }

  void mention_lobby(sim_client& s, size_t idx, const std::string& lobby_id) {
    if (!in_pool(lobby_id, s.game))
      violation(s, idx, 6, "mentions lobby " + lobby_id + " of another game");
  }

  void count_event(const sim_client& s, const event& x) {
    if (auto e = std::get_if<evt::error_reply>(&x))
      ++stats[std::string{"error_"} + to_string(e->code)];
    else if (auto hr = std::get_if<evt::host_reclaim>(&x))
      ++stats[!hr->listener.empty()
                ? (s.sent.count(hr->listener) > 0
                       && s.sent.at(hr->listener) == opcode::claim_host
                     ? "host_reclaim_claimed"
                     : "host_reclaim_transferred")
              : hr->id == s.c->id ? "host_reclaim_picked_or_given"
                                  : "host_reclaim_seen"];
    else if (auto pg = std::get_if<evt::peer_gone>(&x))
      ++stats[pg->listener.empty() ? "peer_gone" : "peer_gone_kick"];
    else if (std::holds_alternative<evt::lobby_close>(x))
      ++stats[s.m.r == role::peer ? "lobby_close_to_peer"
                                  : "lobby_close_to_lobby_less"];
    else {
      auto text = describe(x);
      ++stats[text.substr(0, text.find('('))];
    }
  }

  /// Applies event `idx` of `s` to its model and checks it (4, 5, 6, 7).
  void replay(sim_client& s, size_t idx) {
    auto& log = *s.c->log;
    auto& x = log[idx];
    auto& m = s.m;
    auto& me = s.c->id;
    count_event(s, x);
    std::visit(
      [&](auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, evt::init_ok>) {
          // login's INIT
        } else if constexpr (std::is_same_v<T, evt::keepalive>) {
          reply(s, idx, ev.listener);
        } else if constexpr (std::is_same_v<T, evt::ack_host>) {
          reply(s, idx, ev.listener);
          mention_lobby(s, idx, ev.lobby_id);
          if (m.r != role::none)
            violation(s, idx, 2, "ACK_HOST while in a lobby");
          m = model{role::host, ev.lobby_id, me, {}, true};
        } else if constexpr (std::is_same_v<T, evt::password_ack>) {
          auto ok = idx + 1 < log.size()
                    && std::holds_alternative<evt::ack_peer>(log[idx + 1])
                    && std::get<evt::ack_peer>(log[idx + 1]).listener
                         == ev.listener;
          if (!ok)
            violation(s, idx, 7, "PASSWORD_ACK not followed by its ACK_PEER");
        } else if constexpr (std::is_same_v<T, evt::ack_peer>) {
          reply(s, idx, ev.listener);
          mention_lobby(s, idx, ev.lobby_id);
          mention_id(s, idx, ev.id);
          if (m.r != role::none)
            violation(s, idx, 2, "ACK_PEER while in a lobby");
          if (ev.id == me)
            violation(s, idx, 2, "ACK_PEER names the joiner as host");
          m = model{role::peer, ev.lobby_id, ev.id, {}, false, {}, true};
          ++acks[key3{ev.id, ev.lobby_id, me}];
        } else if constexpr (std::is_same_v<T, evt::new_host>) {
          mention_lobby(s, idx, ev.lobby_id);
          mention_id(s, idx, ev.id);
          if (m.r != role::none)
            violation(s, idx, 4, "NEW_HOST to a lobby member");
          if (s.observer)
            s.announced[ev.lobby_id] = ev.id;
        } else if constexpr (std::is_same_v<T, evt::new_peer>) {
          mention_id(s, idx, ev.id);
          if (m.r != role::host) {
            violation(s, idx, 5, "NEW_PEER to a non-host");
          } else {
            ++new_peers[key3{me, m.lobby, ev.id}];
            if (!m.peers.insert(ev.id).second)
              violation(s, idx, 4, "NEW_PEER of a present peer");
          }
        } else if constexpr (std::is_same_v<T, evt::anticipate>) {
          mention_id(s, idx, ev.id);
          if (!in_mesh(s))
            violation(s, idx, 8, "ANTICIPATE in a standard game");
          if (m.r == role::peer) {
            if (!m.mesh.insert(ev.id).second && m.mesh_complete)
              violation(s, idx, 8, "ANTICIPATE of a peer it knew");
            return;
          }
          // A joiner's: its acknowledgements follow at once.
          auto next = idx + 1;
          if (next < log.size()
              && std::holds_alternative<evt::password_ack>(log[next]))
            ++next;
          auto ack = next < log.size() ? std::get_if<evt::ack_peer>(&log[next])
                                       : nullptr;
          if (m.r != role::none || ack == nullptr || ack->id != ev.id)
            violation(s, idx, 8, "ANTICIPATE not right before its ACK_PEER");
        } else if constexpr (std::is_same_v<T, evt::discover>) {
          mention_id(s, idx, ev.id);
          if (!in_mesh(s) || m.r != role::peer)
            violation(s, idx, 8, "DISCOVER to a non-peer or a standard game");
          else if (!m.mesh.insert(ev.id).second && m.mesh_complete)
            violation(s, idx, 8, "DISCOVER of a peer it knew");
        } else if constexpr (std::is_same_v<T, evt::peer_gone>) {
          mention_id(s, idx, ev.id);
          if (m.r == role::peer && in_mesh(s) && ev.listener.empty()) {
            if (m.mesh.erase(ev.id) == 0 && m.mesh_complete)
              violation(s, idx, 8, "PEER_GONE of a peer it never knew");
            return;
          }
          if (m.r != role::host)
            violation(s, idx, 5, "PEER_GONE to a non-host");
          else if (m.peers.erase(ev.id) == 0 && m.complete)
            violation(s, idx, 4, "PEER_GONE of a peer it never had");
          if (!ev.listener.empty()) {
            auto i = s.sent.find(ev.listener);
            if (i == s.sent.end() || i->second != opcode::kick)
              violation(s, idx, 4, "PEER_GONE with a foreign listener");
            reply(s, idx, ev.listener);
          }
        } else if constexpr (std::is_same_v<T, evt::host_gone>) {
          mention_id(s, idx, ev.id);
          if (m.r != role::peer)
            violation(s, idx, 5, "HOST_GONE to a non-peer");
          else if (ev.id != m.host)
            violation(s, idx, 5, "HOST_GONE names another lobby's host");
          m.host.clear();
        } else if constexpr (std::is_same_v<T, evt::host_reclaim>) {
          mention_lobby(s, idx, ev.lobby_id);
          mention_id(s, idx, ev.id);
          if (m.r == role::none || ev.lobby_id != m.lobby) {
            violation(s, idx, 5, "HOST_RECLAIM of a lobby it is not in");
          } else {
            if (ev.id == me) {
              if (m.r != role::peer)
                violation(s, idx, 4, "HOST_RECLAIM makes the host host");
              m.r = role::host;
            } else {
              if (ev.id == m.host)
                violation(s, idx, 4, "HOST_RECLAIM without a host change");
              if (m.r == role::host)
                m.r = role::peer;
            }
            // A new host learns nothing about the peers already there, nor
            // a peer about a host turned peer.
            m.peers.clear();
            m.complete = false;
            m.mesh_complete = false;
            m.host = ev.id;
            ++reclaims[key3{me, ev.lobby_id, ev.id}];
          }
          if (!ev.listener.empty()) {
            auto i = s.sent.find(ev.listener);
            if (i == s.sent.end()
                || (i->second != opcode::claim_host
                    && i->second != opcode::transfer_host))
              violation(s, idx, 4, "HOST_RECLAIM with a foreign listener");
            reply(s, idx, ev.listener);
          }
        } else if constexpr (std::is_same_v<T, evt::lobby_close>) {
          mention_lobby(s, idx, ev.lobby_id);
          if (m.r == role::host) {
            violation(s, idx, 4, "LOBBY_CLOSE to a host");
          } else if (m.r == role::peer) {
            if (ev.lobby_id != m.lobby)
              violation(s, idx, 5, "LOBBY_CLOSE of another lobby to a peer");
            ++peer_closes[std::make_pair(me, ev.lobby_id)];
            m = model{};
          }
          if (s.observer) {
            s.announced.erase(ev.lobby_id);
            ++destroyed[std::make_pair(s.game, ev.lobby_id)];
          }
        } else if constexpr (std::is_same_v<T, evt::relayed>) {
          mention_id(s, idx, ev.origin);
          if (m.r == role::none)
            violation(s, idx, 5, "relayed frame to a lobby-less client");
          else if (m.r == role::peer && ev.origin != m.host && !in_mesh(s))
            violation(s, idx, 5, "relayed frame to a peer not from its host");
          auto i = relays.find(ev.payload);
          if (i == relays.end()) {
            violation(s, idx, 5, "relayed a payload nobody sent");
            return;
          }
          auto& rec = i->second;
          auto user = in_mesh(s) ? pop[rec.from].c->user : std::string{};
          if (ev.origin_user != user)
            violation(s, idx, 8, "relayed frame with the wrong origin user");
          if (pop[rec.from].c->id != ev.origin || rec.recipient != me
              || rec.op != ev.op)
            violation(s, idx, 5, "relayed frame differs from what was sent");
          if (++rec.delivered > 1)
            violation(s, idx, 5, "relayed frame delivered twice");
        } else if constexpr (std::is_same_v<T, evt::relay_ok>) {
          reply(s, idx, ev.listener);
          s.relay_oks.insert(ev.listener);
        } else if constexpr (lock_or_size<T>) {
          reply(s, idx, ev.listener);
          mention_lobby(s, idx, ev.lobby_id);
          if (m.r != role::host || ev.lobby_id != m.lobby)
            violation(s, idx, 4, "LOCK/SIZE reply to a non-host");
        } else if constexpr (std::is_same_v<T, evt::lobby_list>) {
          reply(s, idx, ev.listener);
          for (auto& id : ev.lobby_ids)
            mention_lobby(s, idx, id);
          if (queries.count(ev.listener) > 0)
            query_results[ev.listener] = x;
        } else if constexpr (std::is_same_v<T, evt::lobby_info>) {
          reply(s, idx, ev.listener);
          mention_lobby(s, idx, ev.lobby_id);
          if (!ev.host_id.empty())
            mention_id(s, idx, ev.host_id);
          if (queries.count(ev.listener) > 0)
            query_results[ev.listener] = x;
        } else if constexpr (std::is_same_v<T, evt::error_reply>) {
          reply(s, idx, ev.listener);
          if (queries.count(ev.listener) > 0)
            query_results[ev.listener] = x;
        } else if constexpr (std::is_same_v<T, evt::violation>) {
          violation(s, idx, 7, "VIOLATION for a well-formed command");
        } else {
          // The simulation speaks PROTOCOL.md only: no extension opts in.
          violation(s, idx, 7, "an extension's event for a standard client");
        }
      },
      x);
  }

  /// Checks invariants 1-7 at quiescence.
  void check_invariants() {
    // 5: a closed connection's log never grows.
    for (auto& s : pop) {
      if (s.freeze_pending) {
        s.freeze_pending = false;
        s.frozen = s.c->log->size();
      } else if (s.frozen != npos && s.c->log->size() != s.frozen) {
        violation(s, s.frozen, 5, "event after the socket closed");
      }
    }
    // 3: each observer asks LOBBY_INFO for every id of its pool, and
    // LOBBY_LIST. Nothing else is in flight, so the answers describe the
    // states read below.
    queries.clear();
    query_results.clear();
    for (auto& s : pop) {
      if (!s.observer)
        continue;
      for (auto& id : pools[s.game]) {
        auto lis = next_listener();
        queries[lis] = std::make_pair(s.game, id);
        send(s, cmd::lobby_info{id, lis}, opcode::lobby_info);
      }
      auto lis = next_listener();
      queries[lis] = std::make_pair(s.game, std::string{});
      send(s, cmd::lobby_list{lis}, opcode::lobby_list);
    }
    run();
    // Replay everything new.
    for (auto& s : pop) {
      auto size = s.c->log->size();
      for (; s.cursor < size; ++s.cursor)
        replay(s, s.cursor);
    }
    check_states();
    check_queries();
    check_cross();
    check_mesh();
  }

  /// 8: each cl5 peer with a whole view knows exactly the other peers.
  void check_mesh() {
    for (auto& s : pop) {
      if (!s.alive || !in_mesh(s) || s.m.r != role::peer || !s.m.mesh_complete)
        continue;
      auto st = peek(s.m.lobby, s.game);
      if (st == nullptr)
        continue; // invariant 2 reports it
      std::set<std::string> others;
      for (auto& p : st->peers)
        if (p.info.id != s.c->id)
          others.insert(p.info.id);
      if (others != s.m.mesh)
        ADD_FAILURE() << where() << "invariant 8: " << s.c->user << " knows "
                      << s.m.mesh.size() << " peers of " << s.m.lobby
                      << ", which has " << others.size()
                      << " others\n  log tail:" << tail(s, 16);
    }
  }

  /// 1, 2, 3, 6: LOBBY states against CONNECTION mirrors and models.
  void check_states() {
    struct seat {
      size_t game;
      std::string lobby;
      role r;
    };
    std::map<std::string, seat> members;
    auto at = where();
    for (size_t game = 0; game < 2; ++game) {
      auto& gst = game_state_of(game);
      for (auto& [lobby_id, entry] : gst.lobbies) {
        auto st = peek(lobby_id, game);
        if (st == nullptr) {
          ADD_FAILURE() << at << "lobby " << lobby_id << " has no state";
          continue;
        }
        auto lobby_name = "game " + std::to_string(game) + " lobby " + lobby_id;
        if (!in_pool(lobby_id, game))
          ADD_FAILURE() << at << "invariant 6: " << lobby_name
                        << " is not of this game's pool";
        ++stats[st->host ? "check_lobby_hosted" : "check_lobby_hostless"];
        // 1
        if (!st->host
            && !(st->allow_host_reclaim && st->allow_peers_to_claim_host
                 && !st->peers.empty()))
          ADD_FAILURE() << at << "invariant 1: " << lobby_name
                        << " is hostless (reclaim " << st->allow_host_reclaim
                        << ", claim " << st->allow_peers_to_claim_host
                        << ", peers " << st->peers.size() << ")";
        std::vector<std::pair<std::string, role>> seated;
        if (st->host)
          seated.emplace_back(st->host->info.id, role::host);
        for (auto& p : st->peers)
          seated.emplace_back(p.info.id, role::peer);
        for (auto& [id, r] : seated) {
          if (!same_game(id, game))
            ADD_FAILURE() << at << "invariant 6: " << lobby_name
                          << " has member " << id << " of another game";
          auto [i, added] = members.emplace(id, seat{game, lobby_id, r});
          if (!added)
            ADD_FAILURE() << at << "invariant 2: " << id << " is " << name(r)
                          << " of " << lobby_name << " and "
                          << name(i->second.r) << " of game " << i->second.game
                          << " lobby " << i->second.lobby;
        }
        // 3: the peers are exactly the running clients whose log says so.
        std::set<std::string> by_logs;
        for (auto& s : pop)
          if (s.alive && s.game == game && s.m.r == role::peer
              && s.m.lobby == lobby_id)
            by_logs.insert(s.c->id);
        std::set<std::string> by_lobby;
        for (auto& p : st->peers)
          by_lobby.insert(p.info.id);
        if (by_logs != by_lobby || by_lobby.size() != st->peers.size())
          ADD_FAILURE() << at << "invariant 3: " << lobby_name << " has "
                        << st->peers.size() << " peers, the logs say "
                        << by_logs.size();
      }
    }
    // 1: a claim window open when the clock passed the claim timeout was
    // closed (by a claim, the server's pick or the lobby's end).
    for (auto& w : open_windows) {
      auto& lobbies = game_state_of(w.game).lobbies;
      auto i = lobbies.find(w.lobby_id);
      if (i == lobbies.end() || i->second.instance != w.instance)
        continue;
      auto st = peek(w.lobby_id, w.game);
      if (!st->host && st->claim_epoch == w.epoch)
        ADD_FAILURE() << at << "invariant 1: game " << w.game << " lobby "
                      << w.lobby_id << " stayed hostless past the claim "
                      << "timeout";
    }
    open_windows.clear();
    // 2: every client against its seat.
    for (auto& s : pop) {
      auto i = members.find(s.c->id);
      if (!s.alive) {
        if (i != members.end())
          ADD_FAILURE() << at << "invariant 2: " << s.c->user << " left but is "
                        << name(i->second.r) << " of " << i->second.lobby;
        continue;
      }
      auto& cs = state_of(*s.c);
      seat expected{s.game, {}, role::none};
      if (i != members.end())
        expected = i->second;
      auto describe_all = [&] {
        std::ostringstream out;
        out << s.c->user << ": lobby state says " << name(expected.r) << " of '"
            << expected.lobby << "' (game " << expected.game
            << "), CONNECTION says " << name(cs.current) << " of '"
            << cs.lobby_id << "', log says " << name(s.m.r) << " of '"
            << s.m.lobby << "'\n  log tail:" << tail(s);
        return out.str();
      };
      if (expected.game != s.game || expected.r != cs.current
          || expected.lobby != cs.lobby_id || expected.r != s.m.r
          || expected.lobby != s.m.lobby) {
        ADD_FAILURE() << at << "invariant 2: " << describe_all();
        continue;
      }
      if (expected.r == role::none)
        continue;
      auto& entry = game_state_of(s.game).lobbies.at(expected.lobby);
      if (cs.instance != entry.instance)
        ADD_FAILURE() << at << "invariant 2: " << s.c->user
                      << " mirrors another instance of " << expected.lobby;
      auto st = peek(expected.lobby, s.game);
      if (expected.r == role::host) {
        // 3: what the host was told about its peers.
        std::set<std::string> actual;
        for (auto& p : st->peers)
          actual.insert(p.info.id);
        auto subset = std::includes(actual.begin(), actual.end(),
                                    s.m.peers.begin(), s.m.peers.end());
        if (!subset || (s.m.complete && s.m.peers != actual))
          ADD_FAILURE() << at << "invariant 3: host " << s.c->user
                        << " was told of " << s.m.peers.size()
                        << " peers (complete: " << s.m.complete
                        << "), the lobby has " << actual.size()
                        << "\n  log tail:" << tail(s);
      }
      auto host = st->host ? st->host->info.id : std::string{};
      if (s.m.host != host)
        ADD_FAILURE() << at << "invariant 2: " << s.c->user
                      << " believes the host is '" << s.m.host << "', it is '"
                      << host << "'\n  log tail:" << tail(s);
    }
  }

  /// 3, 4: the observers' answers and broadcast history.
  void check_queries() {
    auto at = where();
    for (auto& [lis, what] : queries) {
      auto& [game, lobby_id] = what;
      auto i = query_results.find(lis);
      if (i == query_results.end()) {
        ADD_FAILURE() << at << "invariant 3: no answer to query " << lis;
        continue;
      }
      auto& gst = game_state_of(game);
      if (lobby_id.empty()) {
        evt::lobby_list expected;
        expected.listener = lis;
        for (auto& [id, entry] : gst.lobbies)
          if (!entry.has_password)
            expected.lobby_ids.push_back(id);
        if (!(i->second == event{expected}))
          ADD_FAILURE() << at << "invariant 3: game " << game
                        << " LOBBY_LIST is " << describe(i->second)
                        << ", expected " << describe(expected);
        continue;
      }
      auto st = peek(lobby_id, game);
      event expected;
      if (st == nullptr) {
        expected = evt::error_reply{ec::lobby_notfound, "", lis};
      } else {
        evt::lobby_info info;
        info.lobby_id = lobby_id;
        if (st->host) {
          info.host_id = st->host->info.id;
          info.host_user = st->host->info.user;
        }
        info.max_peers = st->max_peers;
        info.current_peers = static_cast<uint32_t>(st->peers.size());
        info.locked = st->locked;
        info.password_required = st->has_password;
        info.listener = lis;
        expected = info;
      }
      // Compare all but the reason text of an error.
      auto got = i->second;
      if (auto err = std::get_if<evt::error_reply>(&got))
        err->reason.clear();
      if (!(got == expected))
        ADD_FAILURE() << at << "invariant 3: game " << game << " LOBBY_INFO "
                      << lobby_id << " is " << describe(i->second)
                      << ", expected " << describe(expected);
    }
    // 4: NEW_HOST / LOBBY_CLOSE as the observer saw them.
    for (auto& s : pop) {
      if (!s.observer)
        continue;
      std::map<std::string, std::string> expected;
      for (auto& [id, entry] : game_state_of(s.game).lobbies) {
        if (entry.has_password)
          continue;
        auto st = peek(id, s.game);
        // While hostless, the last announced host stays.
        auto i = s.announced.find(id);
        if (st->host)
          expected[id] = st->host->info.id;
        else if (i != s.announced.end())
          expected[id] = i->second;
        else
          expected[id] = "(announced)";
      }
      if (expected != s.announced) {
        std::ostringstream out;
        for (auto& [id, host] : s.announced)
          out << " " << id << "=" << host;
        out << " | lobbies:";
        for (auto& [id, host] : expected)
          out << " " << id << "=" << host;
        ADD_FAILURE() << at << "invariant 4: observer of game " << s.game
                      << " saw NEW_HOST / LOBBY_CLOSE for" << out.str();
      }
    }
  }

  /// 4, 5, 7: one client's log against another's.
  void check_cross() {
    auto at = where();
    auto alive = [&](const std::string& id) {
      auto i = id_index.find(id);
      return i != id_index.end() && pop[i->second].alive;
    };
    // NEW_PEER at the host <-> ACK_PEER at the peer.
    std::set<key3> keys;
    for (auto& kvp : new_peers)
      keys.insert(kvp.first);
    for (auto& kvp : acks)
      keys.insert(kvp.first);
    for (auto& k : keys) {
      auto& [host, lobby_id, peer] = k;
      if (!alive(host) || !alive(peer))
        continue;
      auto np = new_peers.count(k) > 0 ? new_peers[k] : 0;
      auto ap = acks.count(k) > 0 ? acks[k] : 0;
      if (np != ap)
        ADD_FAILURE() << at << "invariant 4: " << np << " NEW_PEER of " << peer
                      << " in " << lobby_id << " at host " << host << ", but "
                      << ap << " ACK_PEER naming that host";
    }
    // Each HOST_RECLAIM also reached its new host.
    for (auto& [k, n] : reclaims) {
      auto& [receiver, lobby_id, new_host] = k;
      if (receiver == new_host || !alive(receiver) || !alive(new_host))
        continue;
      auto j = reclaims.find(key3{new_host, lobby_id, new_host});
      auto own = j == reclaims.end() ? size_t{0} : j->second;
      if (own < n)
        ADD_FAILURE() << at << "invariant 4: " << receiver << " saw " << n
                      << " HOST_RECLAIM of " << new_host << " in " << lobby_id
                      << ", the new host itself " << own;
    }
    // A peer's LOBBY_CLOSE: kicked, or the lobby was destroyed.
    for (auto& [k, n] : peer_closes) {
      auto& [peer, lobby_id] = k;
      auto game = pop[id_index.at(peer)].game;
      auto kicks = kicks_sent.count(peer) > 0 ? kicks_sent[peer] : 0;
      auto ends = destroyed.count(std::make_pair(game, lobby_id)) > 0
                    ? destroyed[std::make_pair(game, lobby_id)]
                    : 0;
      if (n > kicks + ends)
        ADD_FAILURE() << at << "invariant 4: " << peer << " got " << n
                      << " LOBBY_CLOSE " << lobby_id << " as a peer; kicks "
                      << kicks << ", lobby ends " << ends;
    }
    // 5: RELAY_OK <-> delivery.
    for (auto& [payload, rec] : relays) {
      auto& from = pop[rec.from];
      if (!from.alive || !alive(rec.recipient))
        continue;
      if (from.unanswered.count(rec.listener) > 0)
        continue; // not answered; invariant 7 covers it
      bool ok = from.relay_oks.count(rec.listener) > 0;
      if (rec.delivered != (ok ? 1u : 0u))
        ADD_FAILURE() << at << "invariant 5: relay " << payload << " from "
                      << from.c->user << " to " << rec.recipient
                      << (ok ? " acknowledged" : " refused")
                      << " but delivered " << rec.delivered << " times";
    }
    // 7: exactly one reply per command.
    if (!check_replies)
      return;
    for (auto& s : pop) {
      if (!s.alive || s.unanswered.empty())
        continue;
      auto& lis = *s.unanswered.begin();
      ADD_FAILURE() << at << "invariant 7: " << s.c->user << "'s "
                    << opcode_name(s.sent.at(lis)) << " (listener " << lis
                    << ") got no reply\n  log tail:" << tail(s, 16);
      return;
    }
  }

  // -- coverage -------------------------------------------------------------

  /// How often the simulation reached each situation; recorded as test
  /// properties (see --gtest_output=xml) to show what a seed covers.
  std::map<std::string, size_t> stats;

  void record_stats() {
    for (auto& [key, n] : stats)
      RecordProperty(key, std::to_string(n));
  }

  // -- state ----------------------------------------------------------------

  uint32_t seed = 0;
  size_t step_no = 0;
  bool check_replies = false;
  std::mt19937 rng;
  uint64_t seq = 0;
  size_t next_user = 0;
  std::vector<sim_client> pop;
  /// The profile of each game.
  std::vector<client_profile> profiles;
  std::map<std::string, size_t> id_index;
  std::map<std::string, relay_record> relays;
  std::map<std::string, size_t> kicks_sent;
  std::map<key3, size_t> new_peers;
  std::map<key3, size_t> acks;
  std::map<key3, size_t> reclaims;
  std::map<std::pair<std::string, std::string>, size_t> peer_closes;
  std::map<std::pair<size_t, std::string>, size_t> destroyed;
  /// Claim windows open when the clock passed the claim timeout.
  struct window {
    size_t game;
    std::string lobby_id;
    uint64_t instance;
    uint64_t epoch;
  };
  std::vector<window> open_windows;
  /// Observer queries of the current check: listener -> (game, lobby id);
  /// an empty lobby id stands for LOBBY_LIST.
  std::map<std::string, std::pair<size_t, std::string>> queries;
  std::map<std::string, event> query_results;
};

using simulation_test = simulation_fixture;

constexpr size_t steps = 2000;

TEST_F(simulation_test, seed_1_keeps_invariants) {
  simulate(1, steps, false);
}

TEST_F(simulation_test, seed_2_keeps_invariants) {
  simulate(20240601, steps, false);
}

TEST_F(simulation_test, seed_3_keeps_invariants) {
  simulate(777767777, steps, false);
}

// Invariant 7 on its own, so that a lost reply does not hide the others.
TEST_F(simulation_test, every_command_gets_exactly_one_reply) {
  simulate(1, steps, true);
}

// The second game's lobbies follow the cl5 profile (invariant 8); the first
// stays standard on the same actors.
TEST_F(simulation_test, seed_4_keeps_invariants_with_a_cl5_game) {
  simulate(4, steps, false, client_profile::cl5);
}

TEST_F(simulation_test, seed_5_keeps_invariants_with_a_cl5_game) {
  simulate(31337, steps, false, client_profile::cl5);
}

TEST_F(simulation_test, every_command_gets_one_reply_with_a_cl5_game) {
  simulate(4, steps, true, client_profile::cl5);
}

} // namespace
