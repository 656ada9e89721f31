#include "tests/actor_fixture.hpp"

#include <map>
#include <type_traits>

using namespace omega;
using namespace omega::test;

namespace {

using connection_test = actor_fixture;

cmd::bad_frame bad(opcode op, std::string listener = {}) {
  return cmd::bad_frame{op, ec::violation, "bad payload",
                        close_code::policy_violation, std::move(listener)};
}

TEST_F(connection_test, keepalive_echoes_payload_before_init) {
  auto& c = connect("alice");
  c.send(cmd::keepalive{R"({"a":[1,null]})", "k1"});
  c.send(cmd::keepalive{});
  run();
  EXPECT_EQ(next<evt::keepalive>(c),
            (evt::keepalive{R"({"a":[1,null]})", "k1"}));
  EXPECT_EQ(next<evt::keepalive>(c), evt::keepalive{});
  expect_quiet(c);
}

TEST_F(connection_test, keepalive_works_in_every_state) {
  auto& h = login("host");
  host_lobby(h, {"L", false, false, 0, "", "", ""});
  auto& p = login("peer");
  join_lobby(p, "L");
  next<evt::new_peer>(h);
  h.send(cmd::keepalive{"1", "a"});
  p.send(cmd::keepalive{"[2]", ""});
  run();
  EXPECT_EQ(next<evt::keepalive>(h), (evt::keepalive{"1", "a"}));
  EXPECT_EQ(next<evt::keepalive>(p), (evt::keepalive{"[2]", ""}));
}

TEST_F(connection_test, unknown_game_is_violation_right_away) {
  ugis.push_back("01UNKNOWNGAME0000000000000");
  auto& c = connect("alice", {}, {}, ugis.size() - 1);
  auto v = next<evt::violation>(c);
  EXPECT_EQ(v.close, close_code::policy_violation);
  EXPECT_NE(v.reason.find("unknown game"), std::string::npos);
  ugis.back().clear();
  auto& d = connect("bob", {}, {}, ugis.size() - 1);
  EXPECT_EQ(next<evt::violation>(d).reason, "missing ugi");
}

TEST_F(connection_test, no_init_within_the_deadline_is_violation) {
  init_timeout = std::chrono::seconds{10};
  auto& idle = connect("idle");
  auto& late = connect("late");
  auto& good = connect("good");
  good.send(cmd::init{good.token, {}});
  run();
  next<evt::init_ok>(good);
  // A failed INIT does not stop the clock.
  late.send(cmd::init{"not-a-token", "t"});
  run();
  EXPECT_EQ(next<evt::error_reply>(late).code, ec::token_invalid);
  advance(std::chrono::milliseconds{9999});
  expect_quiet(idle);
  advance(std::chrono::milliseconds{1});
  for (auto* c : {&idle, &late}) {
    auto v = next<evt::violation>(*c);
    EXPECT_EQ(v.close, close_code::policy_violation);
    EXPECT_NE(v.reason.find("INIT"), std::string::npos);
  }
  expect_quiet(good);
}

TEST_F(connection_test, an_init_in_flight_at_the_deadline_decides) {
  init_timeout = std::chrono::seconds{10};
  auto& ok = connect("ok");
  auto& bad = connect("bad");
  ok.send(cmd::init{ok.token, {}});
  bad.send(cmd::init{"not-a-token", {}});
  // The deadline passes before AUTH answers either INIT.
  advance(std::chrono::seconds{10});
  run();
  next<evt::init_ok>(ok);
  expect_quiet(ok);
  EXPECT_EQ(next<evt::error_reply>(bad).code, ec::token_invalid);
  EXPECT_EQ(next<evt::violation>(bad).close, close_code::policy_violation);
}

TEST_F(connection_test, init_ok_reports_account_and_game) {
  auto& c = connect("alice");
  c.send(cmd::init{c.token, "L"});
  run();
  EXPECT_EQ(next<evt::init_ok>(c),
            (evt::init_ok{"alice", c.id, "Demo Game", "Demo Developer", "L"}));
}

TEST_F(connection_test, second_init_on_one_connection_is_session_exists) {
  auto& c = login("alice");
  c.send(cmd::init{c.token, "again"});
  run();
  expect_error(c, ec::session_exists, "again");
  // SESSION_EXISTS comes before the payload check.
  c.send(bad(opcode::init, "bad"));
  run();
  expect_error(c, ec::session_exists, "bad");
  expect_quiet(c);
}

TEST_F(connection_test, init_with_non_string_payload_is_violation) {
  auto& c = connect("alice");
  c.send(bad(opcode::init, "v"));
  run();
  auto v = next<evt::violation>(c);
  EXPECT_EQ(v.close, close_code::policy_violation);
  EXPECT_EQ(v.listener, "v");
  // The connection is over: later frames get nothing.
  c.send(cmd::keepalive{});
  run();
  expect_quiet(c);
}

TEST_F(connection_test, every_command_before_init_is_config_required) {
  auto& c = connect("alice");
  std::vector<command> cmds{
    cmd::config_host{"L", false, false, 0, "", "", "1"},
    cmd::config_peer{"L", "", "", "2"},
    cmd::make_offer{"x", "{}", "3"},
    cmd::make_answer{"x", "{}", "4"},
    cmd::ice{"x", "{}", "5"},
    cmd::claim_host{"6"},
    cmd::transfer_host{"x", "7"},
    cmd::lock{"8"},
    cmd::unlock{"9"},
    cmd::size{3, "10"},
    cmd::kick{"x", "11"},
    cmd::lobby_list{"12"},
    cmd::lobby_info{"L", "13"},
    // Whatever the payload: a malformed CONFIG_HOST still gets this.
    bad(opcode::config_host, "14"),
    bad(opcode::size, "15"),
    bad(opcode::lobby_info, "16"),
  };
  for (auto& x : cmds)
    std::visit([&](auto& y) { c.send(y); }, x);
  run();
  for (size_t i = 1; i <= cmds.size(); ++i)
    expect_error(c, ec::config_required, std::to_string(i));
  expect_quiet(c);
}

TEST_F(connection_test, unknown_opcode_is_a_warning_and_keeps_the_connection) {
  auto& c = connect("alice");
  c.send(cmd::bad_frame{opcode::unknown, ec::warning, "unknown opcode: FOO", 0,
                        "w"});
  c.send(cmd::keepalive{"1", ""});
  run();
  auto w = next<evt::error_reply>(c);
  EXPECT_EQ(w, (evt::error_reply{ec::warning, "unknown opcode: FOO", "w"}));
  next<evt::keepalive>(c);
  // And after INIT as well.
  c.send(cmd::init{c.token, ""});
  c.send(
    cmd::bad_frame{opcode::unknown, ec::warning, "unknown opcode: X", 0, ""});
  run();
  next<evt::init_ok>(c);
  expect_error(c, ec::warning);
}

TEST_F(connection_test, unreadable_frame_is_violation_with_its_close_code) {
  auto& c = login("alice");
  c.send(
    cmd::bad_frame{opcode::none, ec::violation, "binary frames", 1003, ""});
  run();
  auto v = next<evt::violation>(c);
  EXPECT_EQ(v.close, 1003);
  EXPECT_EQ(v.reason, "binary frames");
}

TEST_F(connection_test, violation_ends_the_connection_and_its_membership) {
  auto& h = login("host");
  host_lobby(h, {"L", false, false, 0, "", "", ""});
  auto& p = login("peer");
  join_lobby(p, "L");
  next<evt::new_peer>(h);
  p.send(cmd::bad_frame{opcode::none, ec::violation, "not JSON", 1008, ""});
  run();
  next<evt::violation>(p);
  EXPECT_EQ(next<evt::peer_gone>(h).id, p.id);
  EXPECT_TRUE(lobby_of("L")->peers.empty());
}

TEST_F(connection_test, malformed_payload_after_state_checks) {
  auto& h = login("host");
  host_lobby(h, {"L", false, false, 0, "", "", ""});
  auto& p = login("peer");
  join_lobby(p, "L");
  next<evt::new_peer>(h);
  // ALREADY_HOST / ALREADY_PEER / NOT_HOST come before VIOLATION.
  h.send(bad(opcode::config_host, "a"));
  h.send(bad(opcode::config_peer, "b"));
  p.send(bad(opcode::config_host, "c"));
  p.send(bad(opcode::config_peer, "d"));
  p.send(bad(opcode::size, "e"));
  p.send(bad(opcode::kick, "f"));
  p.send(bad(opcode::transfer_host, "g"));
  run();
  expect_error(h, ec::already_host, "a");
  expect_error(h, ec::already_host, "b");
  expect_error(p, ec::already_peer, "c");
  expect_error(p, ec::already_peer, "d");
  expect_error(p, ec::not_host, "e");
  expect_error(p, ec::not_host, "f");
  expect_error(p, ec::not_host, "g");
  // From the host, a bad SIZE is a violation.
  h.send(bad(opcode::size, "h"));
  run();
  EXPECT_EQ(next<evt::violation>(h).listener, "h");
}

TEST_F(connection_test, commands_wait_while_init_is_in_flight) {
  auto& c = connect("alice");
  // Pipelined: INIT, then commands that depend on it, then KEEPALIVE.
  c.send(cmd::init{c.token, "1"});
  c.send(cmd::config_host{"L", false, false, 0, "", "", "2"});
  c.send(cmd::keepalive{"", "3"});
  c.send(cmd::lock{"4"});
  run();
  EXPECT_EQ(next<evt::init_ok>(c).listener, "1");
  EXPECT_EQ(next<evt::ack_host>(c).listener, "2");
  EXPECT_EQ(next<evt::keepalive>(c).listener, "3");
  EXPECT_EQ(next<evt::lock_state>(c), (evt::lock_state{"L", true, "4"}));
  expect_quiet(c);
}

TEST_F(connection_test, a_pipelined_burst_pauses_reads_and_is_answered) {
  rates = connection_limits::none(); // the stash, not the rates
  auto& c = connect("alice");
  c.send(cmd::init{c.token, "init"});
  for (int i = 0; i < 300; ++i)
    c.send(cmd::keepalive{"", std::to_string(i)});
  run();
  // The SINK stopped reading at 64 held commands and read again once INIT
  // was answered and the stash was replayed; every command got its answer,
  // in order.
  EXPECT_EQ(next<evt::init_ok>(c).listener, "init");
  for (int i = 0; i < 300; ++i)
    ASSERT_EQ(next<evt::keepalive>(c).listener, std::to_string(i));
  expect_quiet(c);
  EXPECT_EQ(*c.gates, (gate_log{false, true}));
}

TEST_F(connection_test, held_commands_that_each_wait_are_answered_in_order) {
  rates = connection_limits::none(); // the stash, not the rates
  // Every CONFIG_PEER waits for the GAME, so each one replayed from the
  // stash holds back the rest again; the gate opens once few are left.
  auto& c = connect("alice");
  c.send(cmd::init{c.token, "init"});
  for (int i = 0; i < 200; ++i)
    c.send(cmd::config_peer{"none", "", "", std::to_string(i)});
  c.send(cmd::keepalive{"", "last"});
  run();
  EXPECT_EQ(next<evt::init_ok>(c).listener, "init");
  for (int i = 0; i < 200; ++i) {
    auto x = next<evt::error_reply>(c);
    ASSERT_EQ(x.listener, std::to_string(i));
  }
  EXPECT_EQ(next<evt::keepalive>(c).listener, "last");
  expect_quiet(c);
  EXPECT_EQ(*c.gates, (gate_log{false, true}));
}

TEST_F(connection_test, large_held_payloads_pause_reads_early) {
  auto& c = connect("alice");
  c.send(cmd::init{c.token, ""});
  c.send(cmd::keepalive{std::string(300 * 1024, 'x'), "big"});
  run();
  EXPECT_EQ(*c.gates, (gate_log{false, true}));
  next<evt::init_ok>(c);
  EXPECT_EQ(next<evt::keepalive>(c).listener, "big");
}

TEST_F(connection_test, commands_beyond_the_pause_are_a_violation) {
  rates = connection_limits::none(); // the stash, not the rates
  // Only a SINK that keeps reading after the pause (this one does) gets
  // here: 16384 held commands, or 4 MiB of them, end the connection.
  auto& c = connect("alice");
  c.send(cmd::init{c.token, ""});
  for (int i = 0; i < 16400; ++i)
    c.send(cmd::keepalive{});
  run();
  next<evt::violation>(c);
  expect_quiet(c);
  EXPECT_EQ(*c.gates, (gate_log{false}));
  auto& d = connect("bob");
  d.send(cmd::init{d.token, ""});
  for (int i = 0; i < 5; ++i)
    d.send(cmd::keepalive{std::string(1024 * 1024, 'x'), std::to_string(i)});
  run();
  EXPECT_EQ(next<evt::violation>(d).listener, "3");
  expect_quiet(d);
}

namespace {

template <class T, class = void>
struct has_listener : std::false_type {};

template <class T>
struct has_listener<T, std::void_t<decltype(std::declval<T&>().listener)>>
  : std::true_type {};

} // namespace

TEST_F(connection_test, a_lost_game_is_replaced_and_every_command_answered) {
  // Commands in flight and stashed behind them when the GAME goes: each
  // gets exactly one answer (the stash used to be dropped), and the
  // connection goes on with the GAME that takes over.
  auto& h = login("alice");
  auto lost = state_of(h).game;
  h.send(cmd::config_host{"room", false, false, 4, "", "", "h1"});
  h.send(cmd::lobby_info{"room", "i1"});
  h.send(cmd::keepalive{"", "k1"});
  caf::anon_send_exit(lost, caf::exit_reason::user_shutdown);
  run();
  std::map<std::string, size_t> answers;
  for (auto& x : h.unread())
    std::visit(
      [&](auto& e) {
        if constexpr (has_listener<std::decay_t<decltype(e)>>::value)
          ++answers[e.listener];
      },
      x);
  skip(h);
  EXPECT_EQ(answers["h1"], 1u);
  EXPECT_EQ(answers["i1"], 1u);
  EXPECT_EQ(answers["k1"], 1u);
  EXPECT_NE(state_of(h).game, lost);
  // The new GAME serves the connection.
  h.send(cmd::lobby_list{"l2"});
  run();
  EXPECT_EQ(next<evt::lobby_list>(h).listener, "l2");
}

TEST_F(connection_test,
       a_join_acknowledged_before_its_game_died_ends_in_lobby_close) {
  // The SINK reports ACK_PEER, but the LOBBY's reply is lost with the GAME
  // (its node died): the client hears LOBBY_CLOSE for the lobby it joined,
  // not LOBBY_NOTFOUND from a retry with the GAME that takes over.
  auto& h = login("host");
  host_lobby(h, {"L", false, false, 0, "", "", ""});
  auto& p = login("peer");
  auto lost = state_of(p).game;
  // The GAME ends before it reads the join request, which bounces; the
  // SINK's report of an ACK_PEER comes first (as over the network, where
  // the LOBBY's reply was lost).
  caf::anon_send_exit(lost, caf::exit_reason::user_shutdown);
  p.send(cmd::config_peer{"L", "", "", "j"});
  sched.prioritize(p.conn);
  sched.run_once();
  caf::anon_send(p.conn, evt::ack_peer{"L", h.id, "host", "", "j"});
  sched.prioritize(p.conn);
  sched.run_once();
  EXPECT_TRUE(state_of(p).join_acked);
  run();
  EXPECT_EQ(next<evt::lobby_close>(p).lobby_id, "L");
  expect_quiet(p);
  // The connection goes on with the GAME that takes over.
  p.send(cmd::lobby_list{"l"});
  run();
  EXPECT_EQ(next<evt::lobby_list>(p).listener, "l");
}

TEST_F(connection_test, games_lost_in_a_row_are_looked_up_after_pauses) {
  // A failover can hand out a GAME that is already gone; the lookups after
  // the first wait (5 ms, 10 ms, ... up to 500 ms) instead of spinning, and
  // the commands that arrive meanwhile wait for the GAME that takes over.
  EXPECT_EQ(connection_state::game_retry_delay(1), caf::timespan{0});
  EXPECT_EQ(connection_state::game_retry_delay(2),
            std::chrono::milliseconds{5});
  EXPECT_EQ(connection_state::game_retry_delay(3),
            std::chrono::milliseconds{10});
  EXPECT_EQ(connection_state::game_retry_delay(9),
            std::chrono::milliseconds{500});
  EXPECT_EQ(connection_state::game_retry_delay(40),
            std::chrono::milliseconds{500});
  auto& h = login("alice");
  auto first = state_of(h).game;
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  run();
  auto second = state_of(h).game;
  ASSERT_TRUE(second);
  EXPECT_NE(second, first);
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
  run();
  EXPECT_FALSE(state_of(h).game); // the second loss in a row waits
  EXPECT_EQ(state_of(h).game_retries, 2u);
  h.send(cmd::lobby_list{"l1"});
  run();
  expect_quiet(h);
  advance(std::chrono::milliseconds{5});
  EXPECT_TRUE(state_of(h).game);
  EXPECT_EQ(next<evt::lobby_list>(h).listener, "l1");
  // A loss a second after the last one starts counting afresh.
  advance(std::chrono::milliseconds{1000});
  caf::anon_send_exit(state_of(h).game, caf::exit_reason::user_shutdown);
  run();
  EXPECT_TRUE(state_of(h).game);
  EXPECT_EQ(state_of(h).game_retries, 1u);
}

TEST_F(connection_test, a_game_lost_while_init_waits_holds_later_commands) {
  // INIT waits on AUTH when the GAME goes, and AUTH answers before the next
  // GAME is found: the CONFIG_HOST behind INIT waits for that GAME (it used
  // to go to no GAME at all and come back as a WARNING).
  auto& c = connect("alice");
  run();
  auto lost = state_of(c).game;
  ASSERT_TRUE(lost);
  c.send(cmd::init{c.token, "i"});
  c.send(cmd::config_host{"room", false, false, 4, "", "", "h"});
  auto step = [this](const auto& who) {
    ASSERT_TRUE(sched.prioritize(who));
    sched.run_once();
  };
  step(c.conn); // INIT: asks AUTH
  step(c.conn); // CONFIG_HOST: waits behind it
  caf::anon_send_exit(lost, caf::exit_reason::user_shutdown);
  step(lost);   // the GAME ends
  step(c.conn); // its down: look the game up again
  while (sched.prioritize(auth))
    sched.run_once();
  step(c.conn); // AUTH's answer, before the DIRECTORY's
  EXPECT_FALSE(state_of(c).game);
  run();
  EXPECT_EQ(next<evt::init_ok>(c).listener, "i");
  EXPECT_EQ(next<evt::ack_host>(c).listener, "h");
  expect_quiet(c);
}

// -- AUTH -------------------------------------------------------------------

using auth_test = actor_fixture;

TEST_F(auth_test, unknown_token_is_token_invalid) {
  auto& c = connect("alice");
  c.send(cmd::init{"not-a-token", "x"});
  c.send(cmd::init{"", "y"});
  run();
  expect_error(c, ec::token_invalid, "x");
  expect_error(c, ec::token_invalid, "y");
  // The connection stays usable.
  c.send(cmd::init{c.token, ""});
  run();
  next<evt::init_ok>(c);
}

TEST_F(auth_test, a_game_added_while_running_is_found) {
  // AUTH keeps game rows it has read; one it did not find must not stick.
  auto& c = connect("alice");
  const std::string later = "01LATERGAME000000000000000";
  auto ask = [&](const std::string& ugi) {
    auto reply = round_trip<session_info>(auth, authenticate{c.token, "", ugi});
    return reply ? "ok " + reply->game : sys.render(reply.error());
  };
  EXPECT_NE(ask(later).find("unknown game"), std::string::npos);
  replica rows;
  rows.games.push_back(game_row{later, "Later Game", "dev-2", "Dev Two", 0});
  store->import_rows(rows);
  EXPECT_EQ(ask(later), "ok Later Game");
}

TEST_F(auth_test, expired_token_is_token_expired) {
  auto& c = connect("alice");
  now += std::chrono::hours{24};
  c.send(cmd::init{c.token, "e"});
  run();
  expect_error(c, ec::token_expired, "e");
}

TEST_F(auth_test, token_bound_to_origin_needs_that_origin) {
  auto& a = connect("alice", "https://evil.example", "https://game.example");
  a.send(cmd::init{a.token, "o"});
  run();
  expect_error(a, ec::token_origin_mismatch, "o");
  auto& b = connect("bob", "", "https://game.example");
  b.send(cmd::init{b.token, ""});
  run();
  expect_error(b, ec::token_origin_mismatch);
  auto& c = connect("carol", "https://game.example", "https://game.example");
  c.send(cmd::init{c.token, ""});
  run();
  next<evt::init_ok>(c);
}

TEST_F(auth_test, token_without_origin_works_from_any_origin) {
  auto& a = connect("alice", "https://anywhere.example", "");
  a.send(cmd::init{a.token, ""});
  run();
  next<evt::init_ok>(a);
}

TEST_F(auth_test, one_live_session_per_account) {
  auto& a = login("alice");
  // A second connection with a token of the same account.
  auto& b = connect("alice2");
  auto token = store->issue_token(a.id, "", now, std::chrono::hours{1});
  b.send(cmd::init{token, "s"});
  run();
  expect_error(b, ec::session_exists, "s");
  // Once the first connection is gone, the account may log in again.
  disconnect(a);
  b.send(cmd::init{token, ""});
  run();
  EXPECT_EQ(next<evt::init_ok>(b).id, a.id);
}

TEST_F(auth_test, check_order_is_invalid_expired_origin_session) {
  auto& a = login("alice");
  auto& b = connect("other", "https://b.example");
  // Expired and bound elsewhere and the account is live: EXPIRED wins.
  auto t1 = store->issue_token(a.id, "https://a.example", now,
                               std::chrono::seconds{1});
  now += std::chrono::seconds{2};
  b.send(cmd::init{t1, "1"});
  // Bound elsewhere and the account is live: ORIGIN wins.
  auto t2 = store->issue_token(a.id, "https://a.example", now,
                               std::chrono::hours{1});
  b.send(cmd::init{t2, "2"});
  run();
  expect_error(b, ec::token_expired, "1");
  expect_error(b, ec::token_origin_mismatch, "2");
}

} // namespace
