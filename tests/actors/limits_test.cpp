#include "tests/actor_fixture.hpp"

#include <map>
#include <random>
#include <set>
#include <string>
#include <type_traits>

#include "actors/rejections.hpp"
#include "actors/token_bucket.hpp"

using namespace omega;
using namespace omega::test;
using namespace std::chrono_literals;

namespace {

template <class T, class = void>
struct has_wire_name : std::false_type {};

template <class T>
struct has_wire_name<T, std::void_t<decltype(T::wire_name)>> : std::true_type {
};

/// The limits of issue 15 on the test coordinator's clock: rates per
/// connection, the per-game broadcast budget and lobby creation, the
/// LOBBY_LIST cap and the throttling of wrong passwords. Defaults come from
/// actors/limits.hpp unless a test says otherwise.
class limits_test : public actor_fixture {
protected:
  /// The sum of every rejection counter: a test that must meet no limit
  /// checks that it did not grow.
  static uint64_t all_rejections() {
    uint64_t total = 0;
    for (size_t i = 0; i < limit_kind_count; ++i)
      total += rejections(static_cast<limit_kind>(i));
    return total;
  }

  /// Expects a rate-limit WARNING naming `what` with `listener`.
  void expect_rate_warning(client& c, const std::string& what,
                           const std::string& listener) {
    auto x = next<evt::error_reply>(c);
    EXPECT_EQ(x.code, ec::warning) << to_string(x.code);
    EXPECT_EQ(x.reason, "rate limit: " + what);
    EXPECT_EQ(x.listener, listener);
  }

  /// Counts the client's unread events by kind and skips them.
  std::map<std::string, size_t> tally(client& c) {
    std::map<std::string, size_t> result;
    for (auto& x : c.unread())
      std::visit(
        [&](auto& e) {
          using type = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<type, evt::error_reply>)
            ++result[opcode_name(e.code)];
          else if constexpr (std::is_same_v<type, evt::relayed>)
            ++result["relayed"];
          else if constexpr (has_wire_name<type>::value)
            ++result[std::string{type::wire_name}];
          else
            ++result["other"];
        },
        x);
    skip(c);
    return result;
  }
};

// -- the bucket ------------------------------------------------------------

TEST(token_bucket_test, refills_at_its_rate_up_to_its_burst) {
  auto t0 = caf::actor_clock::time_point{} + std::chrono::hours{1};
  token_bucket b{rate_limit{2, 3}};
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(b.take(t0)) << i;
  EXPECT_FALSE(b.take(t0));
  EXPECT_FALSE(b.take(t0 + 499ms)); // 0.998 tokens
  EXPECT_TRUE(b.take(t0 + 500ms));
  EXPECT_FALSE(b.available(t0 + 500ms));
  // Never more than the burst, however long it rested.
  EXPECT_TRUE(b.full(t0 + 1h));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(b.take(t0 + 1h)) << i;
  EXPECT_FALSE(b.take(t0 + 1h));
  // Spent work is owed: two tokens below zero take a second to repay.
  b.spend(t0 + 1h);
  b.spend(t0 + 1h);
  EXPECT_FALSE(b.take(t0 + 1h + 1s));
  EXPECT_TRUE(b.take(t0 + 1h + 1500ms));
  // A clock that goes back changes nothing.
  EXPECT_FALSE(b.take(t0));
  // Rate zero: no limit.
  token_bucket off{rate_limit{}};
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(off.take(t0));
}

// -- rates per connection --------------------------------------------------

TEST_F(limits_test, a_keepalive_flood_is_warned_and_then_cut_off) {
  auto& c = login("flooder");
  auto dropped = rejections(limit_kind::keepalive_rate);
  auto cutoffs = rejections(limit_kind::rate_cutoff);
  // The burst (200) passes; the next one is dropped with a WARNING that
  // names the limit and carries the command's listener.
  for (int i = 0; i < 201; ++i)
    c.send(cmd::keepalive{"", std::to_string(i)});
  run();
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(next<evt::keepalive>(c).listener, std::to_string(i));
  expect_rate_warning(c, "KEEPALIVE, 100/s", "200");
  expect_quiet(c);
  // The bucket refills at 100/s.
  advance(1000ms);
  for (int i = 0; i < 101; ++i)
    c.send(cmd::keepalive{"", "r" + std::to_string(i)});
  run();
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(next<evt::keepalive>(c).listener, "r" + std::to_string(i));
  expect_rate_warning(c, "KEEPALIVE, 100/s", "r100");
  // 330k KEEPALIVEs a second: after 100 more drops the connection ends.
  for (int i = 0; i < 1000; ++i)
    c.send(cmd::keepalive{"", "f" + std::to_string(i)});
  run();
  // (The drop bucket holds 100: two drops above, and the second after
  // a second that refilled the first.)
  for (int i = 0; i < 99; ++i)
    ASSERT_EQ(next<evt::error_reply>(c).listener, "f" + std::to_string(i));
  auto v = next<evt::violation>(c);
  EXPECT_EQ(v.close, close_code::policy_violation);
  EXPECT_EQ(v.listener, "f99");
  EXPECT_NE(v.reason.find("rate limit"), std::string::npos) << v.reason;
  expect_quiet(c);
  EXPECT_EQ(rejections(limit_kind::keepalive_rate) - dropped, 102u);
  EXPECT_EQ(rejections(limit_kind::rate_cutoff) - cutoffs, 1u);
}

TEST_F(limits_test, inits_with_random_tokens_reach_the_store_five_times) {
  auto& c = connect("guesser");
  // Pipelined behind each other: each waits for AUTH, the dropped ones
  // answer in their place, in order.
  for (int i = 0; i < 8; ++i)
    c.send(cmd::init{"random-" + std::to_string(i), std::to_string(i)});
  run();
  for (int i = 0; i < 5; ++i)
    expect_error(c, ec::token_invalid, std::to_string(i));
  for (int i = 5; i < 8; ++i)
    expect_rate_warning(c, "INIT, 1/s", std::to_string(i));
  expect_quiet(c);
  // A second later one more INIT gets through.
  advance(1000ms);
  c.send(cmd::init{c.token, "ok"});
  run();
  EXPECT_EQ(next<evt::init_ok>(c).listener, "ok");
}

TEST_F(limits_test, commands_before_init_count_against_their_rates) {
  auto& c = connect("early");
  for (int i = 0; i < 21; ++i)
    c.send(cmd::lock{std::to_string(i)});
  run();
  for (int i = 0; i < 20; ++i)
    expect_error(c, ec::config_required, std::to_string(i));
  expect_rate_warning(c, "lobby commands, 10/s", "20");
}

TEST_F(limits_test, transfer_ping_pong_is_held_to_the_lobby_rate) {
  auto& a = login("alice");
  host_lobby(a, {"L", false, false, 0, "", "", ""});
  auto& b = login("bob");
  join_lobby(b, "L");
  skip(a);
  // Two accounts hand the lobby back and forth as fast as they can: each
  // connection has 20 lobby commands at once and 10 a second after that.
  size_t transfers = 0;
  for (int round = 0; round < 15; ++round) {
    a.send(cmd::transfer_host{b.id, "a"});
    run();
    b.send(cmd::transfer_host{a.id, "b"});
    run();
  }
  for (auto* c : {&a, &b}) {
    auto counts = tally(*c);
    transfers += counts["HOST_RECLAIM"];
    EXPECT_EQ(counts["WARNING"], 0u) << c->user;
  }
  // Each HOST_RECLAIM reaches both members.
  EXPECT_EQ(transfers, 2u * 30u);
  for (int i = 0; i < 30; ++i) {
    a.send(cmd::transfer_host{b.id, "a"});
    b.send(cmd::transfer_host{a.id, "b"});
  }
  run();
  // Each connection had 4 of its burst left (CONFIG_HOST and CONFIG_PEER
  // took one each); the other 26 commands of each are dropped, so at most 8
  // transfers happen.
  auto a_counts = tally(a);
  auto b_counts = tally(b);
  EXPECT_EQ(a_counts["WARNING"] + b_counts["WARNING"], 52u);
  EXPECT_LE(a_counts["HOST_RECLAIM"], 8u);
}

/// 60 KB offers at the relay rate would be 300 MB/s of work: the payload
/// bytes have a budget of their own (16 MiB at once, then 4 MiB/s).
TEST_F(limits_test, relay_payload_bytes_have_a_budget) {
  auto& h = login("host");
  host_lobby(h, {"L", false, false, 0, "", "", ""});
  auto& p = login("peer");
  join_lobby(p, "L");
  skip(h);
  std::string offer(60 * 1024, 'o');
  for (int i = 0; i < 300; ++i)
    h.send(cmd::make_offer{p.id, offer, std::to_string(i)});
  run();
  auto counts = tally(h);
  EXPECT_EQ(counts["RELAY_OK"], 273u); // 16 MiB / 60 KiB
  EXPECT_EQ(counts["WARNING"], 27u);
  EXPECT_EQ(tally(p)["relayed"], 273u);
  advance(1000ms);
  for (int i = 0; i < 80; ++i)
    h.send(cmd::make_offer{p.id, offer, "r" + std::to_string(i)});
  run();
  counts = tally(h);
  EXPECT_EQ(counts["RELAY_OK"], 68u); // 4 MiB more
  EXPECT_EQ(counts["WARNING"], 12u);
}

TEST_F(limits_test, lobby_creation_is_limited_per_account_across_sockets) {
  // One account churning lobbies: connect, INIT, CONFIG_HOST, close, again.
  auto& first = login("churner");
  auto id = first.id;
  disconnect(first);
  auto created = 0;
  auto refused = 0;
  for (int i = 0; i < 12; ++i) {
    auto& c = connect("churner-" + std::to_string(i));
    c.send(
      cmd::init{store->issue_token(id, "", now, std::chrono::hours{1}), {}});
    c.send(
      cmd::config_host{"L" + std::to_string(i), false, false, 0, "", "", "h"});
    run();
    next<evt::init_ok>(c);
    auto x = c.unread().at(0);
    if (std::holds_alternative<evt::ack_host>(x)) {
      ++created;
    } else {
      auto err = std::get<evt::error_reply>(x);
      EXPECT_EQ(err.code, ec::warning);
      EXPECT_EQ(err.reason, "rate limit: lobby creation, 2/s per account");
      EXPECT_EQ(err.listener, "h");
      ++refused;
    }
    disconnect(c);
  }
  EXPECT_EQ(created, 10);
  EXPECT_EQ(refused, 2);
  // Half a second later the account may create one more.
  advance(500ms);
  auto& c = connect("churner-late");
  c.send(cmd::init{store->issue_token(id, "", now, std::chrono::hours{1}), {}});
  c.send(cmd::config_host{"late", false, false, 0, "", "", ""});
  run();
  next<evt::init_ok>(c);
  next<evt::ack_host>(c);
}

// -- broadcasts --------------------------------------------------------------

TEST_F(limits_test, broadcasts_over_budget_are_coalesced_and_stay_consistent) {
  auto s = settings;
  s.game.broadcasts = {0.001, 2}; // two now, then next to nothing
  s.game.broadcast_flush = 1000ms;
  use_settings(s);
  auto& watcher = login("watcher");
  auto& a = login("host-a");
  auto& b = login("host-b");
  auto& c = login("host-c");
  auto& d = login("host-d");
  auto& e = login("peer-e");
  auto deferred = rejections(limit_kind::broadcast_deferred);
  for (auto* h : {&a, &b, &c, &d}) {
    skip(*h); // the NEW_HOSTs of the lobbies before
    host_lobby(*h, {h->user, false, false, 0, "", "", ""});
  }
  // Within budget: at once.
  EXPECT_EQ(next<evt::new_host>(watcher).lobby_id, "host-a");
  EXPECT_EQ(next<evt::new_host>(watcher).lobby_id, "host-b");
  expect_quiet(watcher);
  // d's lobby closes before anyone heard of it: both vanish. b's closes
  // after its NEW_HOST went out: its LOBBY_CLOSE waits for the flush.
  disconnect(d);
  disconnect(b);
  // A member of a lobby hears of its end at once, whatever the budget.
  skip(e);
  join_lobby(e, "host-c");
  disconnect(c);
  EXPECT_EQ(next<evt::host_gone>(e).id, c.id);
  EXPECT_EQ(next<evt::lobby_close>(e).lobby_id, "host-c");
  expect_quiet(e);
  expect_quiet(watcher);
  EXPECT_GT(rejections(limit_kind::broadcast_deferred), deferred);
  advance(1000ms);
  // The flush, by lobby id: b's close; c's NEW_HOST and close cancelled
  // (nobody saw it: e only joined by id), d's as well.
  EXPECT_EQ(next<evt::lobby_close>(watcher).lobby_id, "host-b");
  expect_quiet(watcher);
  // e saw b's NEW_HOST too; it is not told twice about c.
  EXPECT_EQ(next<evt::lobby_close>(e).lobby_id, "host-b");
  expect_quiet(e);
  // a's lobby closes now, over budget: the next flush tells the watcher.
  disconnect(a);
  expect_quiet(watcher);
  advance(1000ms);
  EXPECT_EQ(next<evt::lobby_close>(watcher).lobby_id, "host-a");
  EXPECT_EQ(next<evt::lobby_close>(e).lobby_id, "host-a");
  expect_quiet(watcher);
}

TEST_F(limits_test, random_churn_over_budget_leaves_every_view_consistent) {
  // Lobbies open and close at random, with and without passwords, over a
  // tiny budget; watchers list now and then. Once the flushes are done,
  // every watcher believes in exactly the open password-less lobbies: it
  // was told each one that exists and the close of each one it knew.
  auto s = settings;
  s.game.broadcasts = {0.5, 3};
  s.game.broadcast_flush = 700ms;
  use_settings(s);
  std::vector<client*> watchers{&login("w0"), &login("w1")};
  std::vector<std::set<std::string>> believed(watchers.size());
  auto update = [&] {
    for (size_t w = 0; w < watchers.size(); ++w) {
      for (auto& x : watchers[w]->unread()) {
        if (auto nh = std::get_if<evt::new_host>(&x))
          believed[w].insert(nh->lobby_id);
        else if (auto lc = std::get_if<evt::lobby_close>(&x))
          believed[w].erase(lc->lobby_id);
        else if (auto ll = std::get_if<evt::lobby_list>(&x))
          believed[w].insert(ll->lobby_ids.begin(), ll->lobby_ids.end());
      }
      skip(*watchers[w]);
    }
  };
  std::mt19937 rng{15};
  std::map<std::string, client*> hosts; // lobby id -> its host
  for (int step = 0; step < 300; ++step) {
    auto id = "L" + std::to_string(rng() % 12);
    switch (rng() % 4) {
      case 0:
      case 1:
        if (hosts.count(id) == 0) {
          auto& h = login("h" + std::to_string(step));
          auto pw = rng() % 3 == 0 ? std::string{"pw"} : std::string{};
          h.send(cmd::config_host{id, false, false, 0, pw, "", ""});
          hosts.emplace(id, &h);
          run();
        } else {
          disconnect(*hosts[id]);
          hosts.erase(id);
        }
        break;
      case 2:
        watchers[rng() % watchers.size()]->send(cmd::lobby_list{""});
        run();
        break;
      default:
        advance(std::chrono::milliseconds{rng() % 500});
    }
    update();
  }
  advance(1000ms);
  advance(1000ms);
  update();
  std::set<std::string> open;
  for (auto& [id, entry] : game_state_of().lobbies)
    if (!entry.has_password)
      open.insert(id);
  EXPECT_FALSE(open.empty());
  for (size_t w = 0; w < watchers.size(); ++w)
    EXPECT_EQ(believed[w], open) << "watcher " << w;
  EXPECT_TRUE(game_state_of().held.empty());
}

TEST_F(limits_test, a_listed_lobby_is_always_closed_for_its_clients) {
  auto s = settings;
  s.game.broadcasts = {0.001, 1};
  use_settings(s);
  auto& watcher = login("watcher");
  auto& a = login("host-a");
  auto& b = login("host-b");
  host_lobby(a, {"a", false, false, 0, "", "", ""});
  skip(b);
  host_lobby(b, {"b", false, false, 0, "", "", ""});
  EXPECT_EQ(next<evt::new_host>(watcher).lobby_id, "a");
  expect_quiet(watcher); // b's NEW_HOST is held
  // ...but LOBBY_LIST names it, so its close must not vanish.
  watcher.send(cmd::lobby_list{"l"});
  run();
  EXPECT_EQ(next<evt::lobby_list>(watcher).lobby_ids,
            (std::vector<std::string>{"a", "b"}));
  disconnect(b);
  expect_quiet(watcher);
  advance(1000ms);
  EXPECT_EQ(next<evt::lobby_close>(watcher).lobby_id, "b");
  expect_quiet(watcher);
}

TEST_F(limits_test, normal_lobby_churn_is_broadcast_at_once) {
  // The default budget: 10 lobbies made and closed at once are 20
  // broadcasts, all sent immediately, in order.
  auto& watcher = login("watcher");
  std::vector<client*> hosts;
  for (int i = 0; i < 10; ++i)
    hosts.push_back(&login("h" + std::to_string(i)));
  auto before = all_rejections();
  for (auto* h : hosts) {
    skip(*h); // the NEW_HOSTs of the lobbies before
    host_lobby(*h, {h->user, false, false, 0, "", "", ""});
  }
  for (auto* h : hosts)
    disconnect(*h);
  for (auto* h : hosts)
    EXPECT_EQ(next<evt::new_host>(watcher).lobby_id, h->user);
  for (auto* h : hosts)
    EXPECT_EQ(next<evt::lobby_close>(watcher).lobby_id, h->user);
  expect_quiet(watcher);
  EXPECT_FALSE(sched.has_pending_timeout());
  EXPECT_EQ(all_rejections(), before);
}

TEST_F(limits_test, lobby_list_is_cut_at_its_maximum) {
  auto s = settings;
  s.game.max_lobby_list = 3;
  use_settings(s);
  auto& watcher = login("watcher");
  for (auto id : {"e", "b", "d", "a", "c"}) {
    auto& h = login(std::string{"host-"} + id);
    host_lobby(h, {id, false, false, 0, "", "", ""});
  }
  skip(watcher);
  auto truncated = rejections(limit_kind::lobby_list_truncated);
  watcher.send(cmd::lobby_list{"l"});
  run();
  EXPECT_EQ(next<evt::lobby_list>(watcher),
            (evt::lobby_list{{"a", "b", "c"}, "l"}));
  EXPECT_EQ(rejections(limit_kind::lobby_list_truncated) - truncated, 1u);
}

// -- passwords ---------------------------------------------------------------

TEST_F(limits_test, wrong_passwords_are_answered_later_and_then_locked_out) {
  auto& h = login("host");
  host_lobby(h, {"L", false, false, 0, "1234", "", ""});
  auto& p = login("guesser");
  // Delays of 0.5, 1, 2, 4 and 8 s, each after the answer before it (the
  // CONNECTION holds the next command until then).
  std::chrono::milliseconds delay = 500ms;
  for (int i = 0; i < 5; ++i) {
    p.send(
      cmd::config_peer{"L", "000" + std::to_string(i), "", std::to_string(i)});
    p.send(cmd::keepalive{"", "k"});
    run();
    expect_quiet(p); // the KEEPALIVE waits behind the CONFIG_PEER
    advance(delay - 1ms);
    expect_quiet(p);
    advance(1ms);
    expect_error(p, ec::password_fail, std::to_string(i));
    EXPECT_EQ(next<evt::keepalive>(p).listener, "k");
    delay *= 2;
  }
  // Locked out: even the right password gets LOBBY_LOCKED, at once.
  p.send(cmd::config_peer{"L", "1234", "", "right"});
  run();
  expect_error(p, ec::lobby_locked, "right");
  // Other accounts are not locked out.
  auto& q = login("friend");
  join_lobby(q, "L", "1234");
  // Five minutes after the last failure the lockout is over.
  advance(300s);
  join_lobby(p, "L", "1234");
  EXPECT_EQ(h.unread().size(), 2u); // NEW_PEER twice, nothing else
}

TEST_F(limits_test, the_password_budget_of_a_lobby_holds_across_accounts) {
  // A sweep of a 4-digit PIN by many accounts at once: the lobby checks 10
  // passwords, then one every 5 s; the rest get LOBBY_LOCKED unchecked.
  auto& h = login("host");
  host_lobby(h, {"L", false, false, 0, "9999", "", ""});
  std::vector<client*> sweepers;
  for (int i = 0; i < 40; ++i)
    sweepers.push_back(&login("s" + std::to_string(i)));
  auto& buddy = login("friend");
  auto locked = rejections(limit_kind::password_locked);
  auto checked = 0;
  auto unchecked = 0;
  auto count = [&] {
    for (auto* c : sweepers) {
      auto t = tally(*c);
      checked += static_cast<int>(t["PASSWORD_FAIL"]);
      unchecked += static_cast<int>(t["LOBBY_LOCKED"]);
    }
  };
  // 40 accounts, 5 guesses each, over 60 simulated seconds.
  int pin = 0;
  for (int second = 0; second < 60; ++second) {
    if (second % 12 == 0)
      for (auto* c : sweepers)
        c->send(cmd::config_peer{"L", std::to_string(pin++), "", ""});
    advance(1000ms);
    count();
  }
  advance(10s);
  count();
  EXPECT_EQ(checked + unchecked, 200);
  // 10 at once, then 0.2/s for 60 s (and one more while settling).
  EXPECT_LE(checked, 10 + 13);
  EXPECT_GE(unchecked, 200 - 23);
  EXPECT_EQ(rejections(limit_kind::password_locked) - locked,
            static_cast<uint64_t>(unchecked));
  // Once the budget refilled, the right password is admitted again.
  advance(60s);
  join_lobby(buddy, "L", "9999");
}

TEST_F(limits_test, a_lobby_closing_answers_its_held_password_failures) {
  auto& h = login("host");
  host_lobby(h, {"L", false, false, 0, "pw", "", ""});
  auto& p = login("guesser");
  p.send(cmd::config_peer{"L", "nope", "", "j"});
  run();
  expect_quiet(p);
  disconnect(h);
  expect_error(p, ec::password_fail, "j");
  EXPECT_EQ(next<evt::lobby_close>(p).lobby_id, "L");
  // The timer of the held reply finds nothing more to answer.
  advance(10s);
  expect_quiet(p);
}

TEST_F(limits_test, cl5_lobbies_throttle_wrong_passwords_too) {
  add_game("CL5 Game", client_profile::cl5);
  auto& h = login("host", 1);
  host_lobby(h, {"L", false, false, 0, "pin", "", ""});
  auto& p = login("peer", 1);
  // A blank password is PASSWORD_FAIL at once in cl5, and is not a guess.
  p.send(cmd::config_peer{"L", "", "", "blank"});
  run();
  expect_error(p, ec::password_fail, "blank");
  p.send(cmd::config_peer{"L", "wrong", "", "w"});
  run();
  expect_quiet(p);
  advance(500ms);
  expect_error(p, ec::password_fail, "w");
  p.send(cmd::config_peer{"L", "pin", "", "ok"});
  run();
  next<evt::anticipate>(p);
  next<evt::password_ack>(p);
  EXPECT_EQ(next<evt::ack_peer>(p).listener, "ok");
}

// -- a legitimate session --------------------------------------------------

TEST_F(limits_test, a_host_with_a_hundred_peers_trickling_ice_meets_no_limit) {
  auto before = all_rejections();
  auto& h = login("host");
  host_lobby(h, {"big", true, false, 100, "", "", ""});
  std::vector<client*> peers;
  for (int i = 0; i < 100; ++i)
    peers.push_back(&login("p" + std::to_string(i)));
  // Everyone joins at once; the host offers to each and sends 20 ICE
  // candidates to each, all in one burst; each peer answers with 20 of its
  // own. Meanwhile every client polls LOBBY_LIST once a second and sends a
  // KEEPALIVE every few seconds, for 30 seconds.
  for (auto* p : peers)
    p->send(cmd::config_peer{"big", "", "", "join"});
  run();
  for (auto* p : peers) {
    h.send(cmd::make_offer{p->id, R"({"sdp":"offer"})", ""});
    for (int i = 0; i < 20; ++i)
      h.send(cmd::ice{p->id, R"({"candidate":)" + std::to_string(i) + "}", ""});
  }
  run();
  for (auto* p : peers) {
    p->send(cmd::make_answer{h.id, R"({"sdp":"answer"})", ""});
    for (int i = 0; i < 20; ++i)
      p->send(cmd::ice{h.id, R"({"candidate":)" + std::to_string(i) + "}", ""});
  }
  run();
  for (int second = 0; second < 30; ++second) {
    for (auto* c : peers) {
      c->send(cmd::lobby_list{""});
      if (second % 5 == 0)
        c->send(cmd::keepalive{"", ""});
    }
    h.send(cmd::lobby_list{""});
    h.send(cmd::keepalive{"", ""});
    advance(1000ms);
  }
  auto host_counts = tally(h);
  EXPECT_EQ(host_counts["NEW_PEER"], 100u);
  EXPECT_EQ(host_counts["RELAY_OK"], 2100u);
  EXPECT_EQ(host_counts["relayed"], 2100u);
  EXPECT_EQ(host_counts["WARNING"], 0u);
  for (auto* p : peers) {
    auto counts = tally(*p);
    ASSERT_EQ(counts["ACK_PEER"], 1u) << p->user;
    ASSERT_EQ(counts["relayed"], 21u) << p->user;
    ASSERT_EQ(counts["WARNING"], 0u) << p->user;
    ASSERT_EQ(counts["VIOLATION"], 0u) << p->user;
  }
  EXPECT_EQ(all_rejections(), before);
}

TEST_F(limits_test, a_cl5_mesh_of_fifty_meets_no_limit) {
  add_game("CL5 Game", client_profile::cl5);
  auto before = all_rejections();
  auto& h = login("host", 1);
  host_lobby(h, {"mesh", false, false, 0, "", "", ""});
  std::vector<client*> members{&h};
  // Each joiner offers to every member inside, with 20 ICE candidates each,
  // and every member answers it with 20 of its own.
  for (int i = 0; i < 50; ++i) {
    auto& p = login("m" + std::to_string(i), 1);
    p.send(cmd::config_peer{"mesh", "", "", ""});
    run();
    for (auto* m : members) {
      p.send(cmd::make_offer{m->id, "{}", ""});
      for (int k = 0; k < 20; ++k)
        p.send(cmd::ice{m->id, "{}", ""});
      m->send(cmd::make_answer{p.id, "{}", ""});
      for (int k = 0; k < 20; ++k)
        m->send(cmd::ice{p.id, "{}", ""});
    }
    members.push_back(&p);
    run();
  }
  for (auto* m : members) {
    auto counts = tally(*m);
    ASSERT_EQ(counts["WARNING"], 0u) << m->user;
    ASSERT_EQ(counts["VIOLATION"], 0u) << m->user;
  }
  EXPECT_EQ(all_rejections(), before);
}

} // namespace
