// Two nodes in one deterministic actor system: node "a" is the fixture's
// AUTH, DIRECTORY and store; node "b" has its own. They learn about each
// other through `cluster_view`, exactly as the NODE actor tells them, so the
// placement, read-through, replication and session rules run here without a
// network and in a fixed order.

#include <map>
#include <set>

#include "tests/actor_fixture.hpp"

namespace omega::test {
namespace {

class two_node_test : public actor_fixture {
protected:
  two_node_test() {
    auth_b = sys.spawn(
      omega::auth, store_b, [this] { return now; },
      caf::timespan{std::chrono::seconds{1}});
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
  client& connect_b(const std::string& user, size_t game_index = 0) {
    auto c = std::make_unique<client>();
    c->user = user;
    c->id = store->add_account(user);
    c->token = store->issue_token(c->id, {}, now, std::chrono::hours{24});
    c->sink = sys.spawn(recording_sink, c->log, c->gates, c->full);
    connection_config conf;
    conf.ugi = ugis.at(game_index);
    c->conn = sys.spawn(omega::connection, c->sink, auth_b, dir_b, conf);
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

} // namespace
} // namespace omega::test
