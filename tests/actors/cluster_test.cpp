// Two nodes in one deterministic actor system: node "a" is the fixture's
// AUTH, DIRECTORY and store; node "b" has its own. They learn about each
// other through `cluster_view`, exactly as the NODE actor tells them, so the
// placement, read-through, replication and session rules run here without a
// network and in a fixed order.

#include <map>
#include <set>

#include "actors/node.hpp"
#include "tests/actor_fixture.hpp"

namespace omega::test {
namespace {

class two_node_test : public actor_fixture {
protected:
  two_node_test() {
    auth_b = sys.spawn(
      omega::auth, store_b, [this] { return now; },
      caf::timespan{std::chrono::seconds{1}}, turn_settings{});
    dir_b = sys.spawn(omega::directory, store_b, settings);
    run();
  }

  ~two_node_test() override {
    auto& dst = deref<directory_state>(dir_b);
    for (auto& ugi : dst.local) {
      for (auto& lobby : deref<game_state>(dst.games[ugi]).lobbies)
        caf::anon_send_exit(lobby.second.handle,
                            caf::exit_reason::user_shutdown);
    }
    caf::anon_send_exit(dir_b, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(auth_b, caf::exit_reason::user_shutdown);
    run();
  }

  /// Tells both nodes about each other (the NODE actor's job).
  void link_nodes() {
    node_card card_a{"a", nullptr, caf::actor_cast<caf::actor>(dir),
                     caf::actor_cast<caf::actor>(auth)};
    node_card card_b{"b", nullptr, caf::actor_cast<caf::actor>(dir_b),
                     caf::actor_cast<caf::actor>(auth_b)};
    caf::anon_send(dir, cluster_view{card_a, {card_b}});
    caf::anon_send(auth, cluster_view{card_a, {card_b}});
    caf::anon_send(dir_b, cluster_view{card_b, {card_a}});
    caf::anon_send(auth_b, cluster_view{card_b, {card_a}});
    run();
  }

  /// A client of game `game_index` whose socket is on node b; its account
  /// and token exist only in node a's store.
  client& connect_b(const std::string& user, size_t game_index = 0,
                    const client* same_account = nullptr) {
    auto c = std::make_unique<client>();
    c->user = user;
    if (same_account != nullptr) {
      c->id = same_account->id;
      c->token = same_account->token;
    } else {
      c->id = store->add_account(user);
      c->token = store->issue_token(c->id, {}, now, std::chrono::hours{24});
    }
    c->sink = sys.spawn(recording_sink, c->log, c->gates, c->full, c->record);
    connection_config conf;
    conf.ugi = ugis.at(game_index);
    connection_settings settings;
    settings.resume = resume;
    conf.settings = std::make_shared<const connection_settings>(settings);
    c->conn = sys.spawn(omega::connection, c->sink, auth_b, dir_b, conf);
    c->record->conn = caf::actor_cast<caf::actor>(c->conn);
    clients.emplace_back(std::move(c));
    run();
    return *clients.back();
  }

  /// Adds games until one is owned by `node` among {a, b}; returns its index.
  size_t game_owned_by(const std::string& node) {
    for (int i = 0; i < 64; ++i) {
      add_game("Game " + std::to_string(i));
      if (owner_of(ugis.back(), {"a", "b"}) == node)
        return ugis.size() - 1;
    }
    ADD_FAILURE() << "no game owned by " << node;
    return 0;
  }

  std::shared_ptr<memory_store> store_b = std::make_shared<memory_store>();
  auth_actor auth_b;
  directory_actor dir_b;
};

/// Three nodes whose NODE actors tell the DIRECTORYs and AUTHs about each
/// other, as in a server; node "c" is spawned like "b". The test
/// introduces the NODEs (a connection to a seed would).
class three_node_test : public two_node_test {
protected:
  three_node_test() {
    auth_c = sys.spawn(
      omega::auth, store_c, [this] { return now; },
      caf::timespan{std::chrono::seconds{1}}, turn_settings{});
    dir_c = sys.spawn(omega::directory, store_c, settings);
    node_a = spawn_node("a", dir, auth);
    node_b = spawn_node("b", dir_b, auth_b);
    node_c = spawn_node("c", dir_c, auth_c);
    run();
  }

  ~three_node_test() override {
    for (auto& n : {node_a, node_b, node_c})
      caf::anon_send_exit(n, caf::exit_reason::user_shutdown);
    auto& dst = deref<directory_state>(dir_c);
    for (auto& ugi : dst.local) {
      for (auto& lobby : deref<game_state>(dst.games[ugi]).lobbies)
        caf::anon_send_exit(lobby.second.handle,
                            caf::exit_reason::user_shutdown);
    }
    caf::anon_send_exit(dir_c, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(auth_c, caf::exit_reason::user_shutdown);
    run();
  }

  node_actor spawn_node(const std::string& name, const directory_actor& d,
                        const auth_actor& a) {
    node_card card{name, nullptr, caf::actor_cast<caf::actor>(d),
                   caf::actor_cast<caf::actor>(a)};
    // No seeds: nothing to connect to, so no middleman either.
    return sys.spawn(omega::node, card, std::vector<node_address>{},
                     caf::io::middleman_actor{},
                     caf::timespan{std::chrono::seconds{1}},
                     std::function<void(const std::string&)>{},
                     std::shared_ptr<std::atomic<int64_t>>{});
  }

  /// `x` says hello to `y` and `y` to `x`, as after a connection.
  void introduce(const node_actor& x, const node_actor& y) {
    auto card = round_trip<node_card>(y, atom::hello_v,
                                      deref<node_state>(x).card);
    ASSERT_TRUE(card) << sys.render(card.error());
    ASSERT_TRUE(round_trip<node_card>(x, atom::hello_v, *card));
  }

  void link_all() {
    introduce(node_a, node_b);
    introduce(node_a, node_c);
    introduce(node_b, node_c);
    for (auto& d : {dir, dir_b, dir_c})
      ASSERT_EQ(deref<directory_state>(d).peers.size(), 2u);
  }

  /// A logged-in client of game `game_index` whose socket is on the node
  /// of `a` and `d`; its account and token exist only in node a's store.
  client& login_at(const auth_actor& a, const directory_actor& d,
                   const std::string& user, size_t game_index) {
    auto c = std::make_unique<client>();
    c->user = user;
    c->id = store->add_account(user);
    c->token = store->issue_token(c->id, {}, now, std::chrono::hours{24});
    c->sink = sys.spawn(recording_sink, c->log, c->gates, c->full, c->record);
    connection_config conf;
    conf.ugi = ugis.at(game_index);
    c->conn = sys.spawn(omega::connection, c->sink, a, d, conf);
    c->record->conn = caf::actor_cast<caf::actor>(c->conn);
    clients.emplace_back(std::move(c));
    auto& result = *clients.back();
    result.send(cmd::init{result.token, {}});
    run();
    EXPECT_EQ(next<evt::init_ok>(result).id, result.id);
    return result;
  }

  /// Adds a game owned by `node` among all three; returns its index.
  size_t game_owned_by_of_three(const std::string& node) {
    for (int i = 0; i < 64; ++i) {
      add_game("Game " + std::to_string(ugis.size()));
      if (owner_of(ugis.back(), {"a", "b", "c"}) == node)
        return ugis.size() - 1;
    }
    ADD_FAILURE() << "no game owned by " << node;
    return 0;
  }

  /// The DIRECTORY of node `name`.
  directory_state& dir_of(const std::string& name) {
    return deref<directory_state>(name == "a"   ? dir
                                  : name == "b" ? dir_b
                                                : dir_c);
  }

  std::shared_ptr<memory_store> store_c = std::make_shared<memory_store>();
  auth_actor auth_c;
  directory_actor dir_c;
  node_actor node_a;
  node_actor node_b;
  node_actor node_c;
};

/// What a CONFIG_HOST gets from a GAME on a draining node.
const std::string drain_reason
  = "the server is shutting down; host on another server";

TEST(owner_of, is_stable_spreads_games_and_moves_only_the_lost_nodes) {
  std::vector<std::string> three{"n0", "n1", "n2"};
  std::vector<std::string> reordered{"n2", "n0", "n1"};
  std::map<std::string, int> count;
  int moved = 0;
  for (int i = 0; i < 3000; ++i) {
    auto ugi = make_ulid() + std::to_string(i);
    auto owner = owner_of(ugi, three);
    EXPECT_EQ(owner, owner_of(ugi, reordered));
    ++count[owner];
    // Losing n2 moves exactly n2's games.
    auto after = owner_of(ugi, {"n0", "n1"});
    if (owner != "n2")
      EXPECT_EQ(after, owner);
    else
      ++moved;
  }
  for (auto& node : three)
    EXPECT_GT(count[node], 800) << node << " got too few games";
  EXPECT_EQ(moved, count["n2"]);
  EXPECT_EQ(owner_of("x", {}), "");
}

TEST_F(two_node_test, clients_on_two_nodes_reach_the_owners_game) {
  link_nodes();
  for (auto node : {"a", "b"}) {
    auto g = game_owned_by(node);
    auto& host = login("host-" + std::string{node}, g);
    host_lobby(host, cmd::config_host{"room", false, false, 4, {}, {}, {}});
    // The peer's node has neither the game nor the account: both come by
    // read-through from node a.
    auto& peer = connect_b("peer-" + std::string{node}, g);
    peer.send(cmd::init{peer.token, "i"});
    run();
    EXPECT_EQ(next<evt::init_ok>(peer).id, peer.id);
    join_lobby(peer, "room");
    EXPECT_EQ(next<evt::new_peer>(host).id, peer.id);
    peer.send(cmd::make_answer{host.id, "{}", "r"});
    run();
    next<evt::relay_ok>(peer);
    EXPECT_EQ(next<evt::relayed>(host).origin, peer.id);
    // One GAME, on its owner, known to both directories.
    auto owner_is_a = std::string{node} == "a";
    auto& owner_dir = deref<directory_state>(owner_is_a ? dir : dir_b);
    auto& other_dir = deref<directory_state>(owner_is_a ? dir_b : dir);
    auto& ugi = ugis[g];
    EXPECT_EQ(owner_dir.local.count(ugi), 1u);
    EXPECT_EQ(other_dir.local.count(ugi), 0u);
    EXPECT_EQ(owner_dir.games[ugi], other_dir.games[ugi]);
  }
}

TEST_F(two_node_test, the_owner_adopts_a_game_placed_while_it_was_away) {
  auto g = game_owned_by("a");
  // Node b, alone, has the game and the account (as after a push) and
  // places the game on itself.
  replica_cursor pushed;
  store_b->import_rows(store->export_rows(pushed, 1000));
  auto& early = connect_b("early", g);
  store_b->import_rows(store->export_rows(pushed, 1000));
  early.send(cmd::init{early.token, {}});
  run();
  next<evt::init_ok>(early);
  host_lobby(early, cmd::config_host{"kept", false, false, 4, {}, {}, {}});
  // When a arrives, a keeps using b's GAME instead of splitting the game.
  link_nodes();
  auto& late = login("late", g);
  late.send(cmd::lobby_list{"l"});
  run();
  auto list = next<evt::lobby_list>(late);
  EXPECT_EQ(list.lobby_ids, std::vector<std::string>{"kept"});
  EXPECT_EQ(deref<directory_state>(dir).local.count(ugis[g]), 0u);
  EXPECT_EQ(deref<directory_state>(dir).games[ugis[g]],
            deref<directory_state>(dir_b).games[ugis[g]]);
}

TEST_F(two_node_test, one_session_per_account_across_nodes) {
  link_nodes();
  auto& first = login("solo");
  // The same token on node b.
  auto& second = connect_b("other");
  second.send(cmd::init{first.token, "dup"});
  run();
  expect_error(second, ec::session_exists, "dup");
  // Node b now holds a reservation for first's CONNECTION, released when
  // that CONNECTION ends.
  EXPECT_EQ(deref<auth_state>(auth_b).sessions.count(first.id), 1u);
  disconnect(first);
  EXPECT_EQ(deref<auth_state>(auth_b).sessions.count(first.id), 0u);
  EXPECT_EQ(deref<auth_state>(auth).sessions.count(first.id), 0u);
  second.send(cmd::init{first.token, "again"});
  run();
  EXPECT_EQ(next<evt::init_ok>(second).id, first.id);
}

TEST_F(two_node_test, a_session_resumes_through_another_node) {
  link_nodes();
  resume.window = std::chrono::seconds{30};
  auto g = game_owned_by("a");
  auto& host = login("host", g);
  host_lobby(host, cmd::config_host{"room", false, false, 4, {}, {}, {}});
  auto& peer = login("peer", g);
  join_lobby(peer, "room");
  skip(host);
  peer.send(cmd::resumable{"r"});
  run();
  auto secret = next<evt::resumable>(peer).secret;
  drop(peer);
  host.send(cmd::make_offer{peer.id, R"("kept")", "1"});
  run();
  EXPECT_EQ(next<evt::relay_ok>(host).listener, "1");
  // The new socket reaches node b; the session stays on node a.
  auto& again = connect_b("peer", g, &peer);
  again.send(cmd::resume{peer.token, secret, "again"});
  run();
  EXPECT_EQ(next<evt::init_ok>(again).id, peer.id);
  auto resumed = next<evt::resumed>(again);
  EXPECT_EQ(resumed.role, "peer");
  EXPECT_EQ(resumed.lobby_id, "room");
  EXPECT_EQ(next<evt::relayed>(again).payload, R"("kept")");
  again.send(cmd::make_answer{host.id, R"("a")", "2"});
  run();
  EXPECT_EQ(next<evt::relay_ok>(again).listener, "2");
  host.send(cmd::make_offer{peer.id, R"("live")", "3"});
  run();
  EXPECT_EQ(next<evt::relayed>(again).payload, R"("live")");
  EXPECT_EQ(next<evt::relayed>(host).origin, peer.id);
  EXPECT_EQ(next<evt::relay_ok>(host).listener, "3");
  expect_quiet(host);
  // Its socket on b closes for good: the session leaves as usual.
  caf::anon_send(again.conn, socket_closed{again.sink, false});
  run();
  EXPECT_EQ(next<evt::peer_gone>(host).id, peer.id);
}

TEST_F(two_node_test, racing_inits_on_two_nodes_never_admit_both) {
  link_nodes();
  auto& on_a = connect("racer");
  auto& on_b = connect_b("unused");
  // Both INITs are in the mailboxes before either AUTH runs.
  on_a.send(cmd::init{on_a.token, "a"});
  on_b.send(cmd::init{on_a.token, "b"});
  run();
  int admitted = 0;
  for (auto* c : {&on_a, &on_b}) {
    auto events = c->unread();
    ASSERT_EQ(events.size(), 1u);
    auto& x = events.front();
    if (std::holds_alternative<evt::init_ok>(x))
      ++admitted;
    else
      EXPECT_EQ(std::get<evt::error_reply>(x).code, ec::session_exists);
    skip(*c);
  }
  EXPECT_LE(admitted, 1);
  // Whatever the outcome, no reservation is left behind for a refused one.
  auto held = deref<auth_state>(auth).sessions.count(on_a.id)
              + deref<auth_state>(auth_b).sessions.count(on_a.id);
  EXPECT_EQ(held, admitted == 1 ? 2u : 0u);
}

TEST_F(two_node_test, new_rows_are_pushed_to_peers) {
  link_nodes();
  auto id = store->add_account("pushed");
  auto token = store->issue_token(id, {}, now, std::chrono::hours{1});
  EXPECT_FALSE(store_b->find_token(token));
  advance(std::chrono::seconds{1});
  auto rec = store_b->find_token(token);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->user, "pushed");
  EXPECT_TRUE(store_b->find_game(ugis[0]));
  // Pushing again sends nothing new, and importing twice changes nothing.
  replica_cursor all;
  auto before = store_b->export_rows(all, 1000);
  advance(std::chrono::seconds{1});
  replica_cursor again;
  EXPECT_EQ(store_b->export_rows(again, 1000).tokens.size(),
            before.tokens.size());
}

TEST_F(two_node_test, a_lost_peer_releases_its_reservations) {
  link_nodes();
  auto& c = connect_b("remote");
  c.send(cmd::init{c.token, {}});
  run();
  next<evt::init_ok>(c);
  EXPECT_EQ(deref<auth_state>(auth).sessions.count(c.id), 1u);
  // Node b's CONNECTION ends as it would when its node is lost: a's AUTH
  // learns it through its monitor.
  disconnect(c);
  EXPECT_EQ(deref<auth_state>(auth).sessions.count(c.id), 0u);
  // An unknown token stays unknown on both nodes.
  auto& stranger = connect_b("stranger");
  stranger.send(cmd::init{"no-such-token", "x"});
  run();
  expect_error(stranger, ec::token_invalid, "x");
}

TEST_F(three_node_test, a_draining_node_keeps_its_games_and_gets_no_new_ones) {
  link_all();
  // A game on a, with a lobby, before the drain.
  auto kept = game_owned_by_of_three("a");
  auto& early = login("early", kept);
  host_lobby(early, cmd::config_host{"kept", false, false, 4, {}, {}, {}});
  ASSERT_EQ(dir_of("a").local.count(ugis[kept]), 1u);
  // A game that a would own too, not used yet.
  auto fresh = game_owned_by_of_three("a");
  EXPECT_EQ(dir_of("a").games.count(ugis[fresh]), 0u);
  // The gateway tells the DIRECTORY; through the NODEs every node learns.
  caf::anon_send(dir, atom::drain_v);
  run();
  EXPECT_TRUE(deref<node_state>(node_a).card.draining);
  EXPECT_TRUE(dir_of("a").draining);
  for (auto name : {"b", "c"}) {
    EXPECT_FALSE(dir_of(name).draining);
    EXPECT_EQ(dir_of(name).draining_peers,
              std::unordered_set<std::string>{"a"});
    EXPECT_TRUE(deref<node_state>(name == std::string{"b"} ? node_b : node_c)
                  .peers.at("a")
                  .draining);
  }
  // The fresh game goes to its owner among b and c, even when a client on
  // a uses it first, and hosts there.
  auto new_owner = owner_of(ugis[fresh], {"b", "c"});
  auto& on_a = login("on_a", fresh);
  on_a.send(cmd::lobby_list{"l"});
  run();
  EXPECT_TRUE(next<evt::lobby_list>(on_a).lobby_ids.empty());
  auto& on_b = login_at(auth_b, dir_b, "on_b", fresh);
  host_lobby(on_b, cmd::config_host{"new", false, false, 4, {}, {}, {}});
  EXPECT_EQ(next<evt::new_host>(on_a).lobby_id, "new");
  on_a.send(cmd::lobby_list{"l"});
  run();
  EXPECT_EQ(next<evt::lobby_list>(on_a).lobby_ids,
            std::vector<std::string>{"new"});
  EXPECT_EQ(dir_of(new_owner).local.count(ugis[fresh]), 1u);
  for (auto name : {"a", "b", "c"}) {
    if (name != new_owner) {
      EXPECT_EQ(dir_of(name).local.count(ugis[fresh]), 0u) << name;
    }
  }
  // The kept game stays on a, and clients on b and c still find it: they
  // join its lobby; a new lobby there is refused, since its GAME drains.
  auto& join_b = login_at(auth_b, dir_b, "join_b", kept);
  auto& join_c = login_at(auth_c, dir_c, "join_c", kept);
  join_lobby(join_b, "kept");
  join_lobby(join_c, "kept");
  EXPECT_EQ(next<evt::new_peer>(early).id, join_b.id);
  EXPECT_EQ(next<evt::new_peer>(early).id, join_c.id);
  join_c.send(cmd::make_answer{early.id, "{}", "r"});
  run();
  next<evt::relay_ok>(join_c);
  EXPECT_EQ(next<evt::relayed>(early).origin, join_c.id);
  EXPECT_EQ(dir_of("a").local.count(ugis[kept]), 1u);
  for (auto name : {"b", "c"}) {
    EXPECT_EQ(dir_of(name).local.count(ugis[kept]), 0u) << name;
    EXPECT_EQ(dir_of(name).games[ugis[kept]], dir_of("a").games[ugis[kept]]);
  }
  auto& host_c = login_at(auth_c, dir_c, "host_c", kept);
  host_c.send(cmd::config_host{"other", false, false, 4, {}, {}, "h"});
  run();
  auto refused = next<evt::error_reply>(host_c);
  EXPECT_EQ(refused.code, ec::warning);
  EXPECT_EQ(refused.reason, drain_reason);
}

TEST_F(three_node_test, when_every_node_drains_games_are_still_placed) {
  link_all();
  for (auto& d : {dir, dir_b, dir_c})
    caf::anon_send(d, atom::drain_v);
  run();
  for (auto name : {"a", "b", "c"})
    EXPECT_EQ(dir_of(name).draining_peers.size(), 2u) << name;
  // Placement falls back to all nodes: the usual owner, found from b.
  auto g = game_owned_by_of_three("c");
  auto& on_b = login_at(auth_b, dir_b, "on_b", g);
  on_b.send(cmd::lobby_list{"l"});
  run();
  EXPECT_TRUE(next<evt::lobby_list>(on_b).lobby_ids.empty());
  EXPECT_EQ(dir_of("c").local.count(ugis[g]), 1u);
  on_b.send(cmd::config_host{"L", false, false, 4, {}, {}, "h"});
  run();
  EXPECT_EQ(next<evt::error_reply>(on_b).reason, drain_reason);
}

TEST_F(two_node_test, a_peer_that_drains_is_passed_over) {
  link_nodes();
  // Node b learns that a drains (as its NODE would tell it); a itself has
  // not drained here, so only b's placement keeps the game off a.
  node_card card_a{"a", nullptr, caf::actor_cast<caf::actor>(dir),
                   caf::actor_cast<caf::actor>(auth), true};
  node_card card_b{"b", nullptr, caf::actor_cast<caf::actor>(dir_b),
                   caf::actor_cast<caf::actor>(auth_b)};
  caf::anon_send(dir_b, cluster_view{card_b, {card_a}});
  run();
  auto g = game_owned_by("a");
  auto& c = connect_b("late", g);
  c.send(cmd::init{c.token, {}});
  run();
  next<evt::init_ok>(c);
  host_lobby(c, cmd::config_host{"L", false, false, 4, {}, {}, {}});
  EXPECT_EQ(deref<directory_state>(dir_b).local.count(ugis[g]), 1u);
  EXPECT_EQ(deref<directory_state>(dir).local.count(ugis[g]), 0u);
}

TEST_F(two_node_test, a_draining_owner_declines_a_peer_that_has_not_heard) {
  link_nodes();
  // Node a drains, but b has not seen a's new card yet (no NODE here).
  caf::anon_send(dir, atom::drain_v);
  run();
  auto g = game_owned_by("a");
  auto& c = connect_b("late", g);
  c.send(cmd::init{c.token, {}});
  run();
  next<evt::init_ok>(c);
  // b asked a to place the game; a declined, so b, next in line, did.
  host_lobby(c, cmd::config_host{"L", false, false, 4, {}, {}, {}});
  EXPECT_EQ(deref<directory_state>(dir_b).local.count(ugis[g]), 1u);
  EXPECT_EQ(deref<directory_state>(dir).local.count(ugis[g]), 0u);
}

} // namespace
} // namespace omega::test
