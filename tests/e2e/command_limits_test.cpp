// End-to-end tests of the limits against abusive clients (docs/protocol.md,
// "Limits"): the real omega-server with its flags and config keys. Rates
// are set to next to nothing per second, so a burst on a loaded machine
// meets exactly the configured burst however slowly it arrives.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_fixture.hpp"

namespace json = boost::json;
using namespace omega::e2e;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {

class limits_e2e_test : public e2e_fixture {
protected:
  /// Expects the rate-limit WARNING `reason` with `listener`.
  void expect_warning(ws_client& c, const std::string& reason,
                      std::string_view listener) {
    EXPECT_JSON(c.expect("WARNING"),
                msg("WARNING", json::value(reason), listener));
  }

  /// A lobby with a password, hosted by `h`.
  void host_with_password(player& h, const std::string& lobby,
                          const std::string& password) {
    h->send_command("CONFIG_HOST",
                    json::object{{"lobby_id", lobby}, {"password", password}},
                    {}, "host");
    EXPECT_JSON(h->expect("ACK_HOST"),
                msg("ACK_HOST", json::object{{"lobby_id", lobby}}, "host"));
  }
};

/// Rates per connection, set in a config file: a KEEPALIVE flood gets its
/// burst, then WARNINGs naming the limit, then VIOLATION and close 1008,
/// with one log line; INITs with random tokens stop reaching the store.
TEST_F(limits_e2e_test, a_flood_is_warned_then_closed_and_logged) {
  auto conf = testing::TempDir() + "omega-limits-" + unique("conf") + ".conf";
  {
    std::ofstream out{conf};
    out << "rate-keepalive = 0.01/5\nrate-drops = 0.01/3\n"
        << "rate-init = 0.01/2\n";
  }
  auto* srv = start_own({"--config", conf});
  ASSERT_NE(srv, nullptr);
  auto bystander = join("bystander");
  auto c = join("flooder");
  ASSERT_FALSE(HasFailure());
  std::vector<std::string> burst;
  for (int i = 0; i < 20; ++i)
    burst.push_back(json::serialize(json::object{
      {"opcode", "KEEPALIVE"}, {"listener", "k" + std::to_string(i)}}));
  ASSERT_TRUE(c->send_burst(burst));
  for (int i = 0; i < 5; ++i)
    EXPECT_JSON(c->expect("KEEPALIVE"),
                msg("KEEPALIVE", std::nullopt, "k" + std::to_string(i)));
  for (int i = 5; i < 8; ++i)
    expect_warning(*c.ws, "rate limit: KEEPALIVE, 0.01/s",
                   "k" + std::to_string(i));
  expect_violation_close(*c.ws, 1008, "k8");
  EXPECT_TRUE(srv->wait_log("cut off 127.0.0.1:", 3s)) << srv->log();
  // INIT: two reach the store, the third is dropped.
  auto g = open("guesser");
  for (int i = 0; i < 3; ++i)
    g->send_command("INIT", json::value("random-token-" + std::to_string(i)),
                    {}, "i" + std::to_string(i));
  expect_error(*g, "TOKEN_INVALID", "i0");
  expect_error(*g, "TOKEN_INVALID", "i1");
  expect_warning(*g, "rate limit: INIT, 0.01/s", "i2");
  // Others are not affected.
  bystander->send_command("KEEPALIVE", json::value("fine"));
  EXPECT_JSON(bystander->expect("KEEPALIVE"),
              msg("KEEPALIVE", json::value("fine")));
  std::remove(conf.c_str());
}

/// A client cut off for its rates costs its address a pause
/// (--cutoff-penalty): its next connections are held unanswered, so a
/// flood cannot come straight back with a fresh burst. Unlimited addresses
/// (127.0.0.1 by default) are left alone; here none is unlimited.
TEST_F(limits_e2e_test,
       an_address_cut_off_for_abuse_waits_before_it_reconnects) {
  auto* srv
    = start_own({"--rate-keepalive", "0.01/2", "--rate-drops", "0.01/1",
                 "--cutoff-penalty", "1.5", "--unlimited-address", "none"});
  ASSERT_NE(srv, nullptr);
  auto c = open("flooder");
  std::vector<std::string> burst(
    4, json::serialize(json::object{{"opcode", "KEEPALIVE"}}));
  ASSERT_TRUE(c->send_burst(burst));
  auto end = c->read_close(3s);
  EXPECT_EQ(end.kind, close_result::closed) << end.error;
  EXPECT_EQ(end.code, 1008);
  // Within the penalty, a new connection from the address is refused.
  ws_client again{"again"};
  EXPECT_FALSE(again.connect(port(), signaling_path(ugi_), {}, 2s));
  // After it, the address may connect again.
  std::this_thread::sleep_for(1600ms);
  ws_client later{"later"};
  EXPECT_TRUE(later.connect(port(), signaling_path(ugi_))) << later.error();
}

/// Reads `n` frames and counts them by opcode (and a WARNING by its
/// payload): replies from the CONNECTION may overtake those from the LOBBY
/// or GAME (docs/protocol.md, "Ordering").
std::map<std::string, int> tally(ws_client& c, int n) {
  std::map<std::string, int> result;
  for (int i = 0; i < n; ++i) {
    auto f = c.read();
    if (!f) {
      ADD_FAILURE() << c.name() << ": frame " << i << " missing";
      break;
    }
    auto v = json::parse(f->data).as_object();
    auto op = member(v, "opcode");
    if (op == "WARNING")
      op += " " + std::string{v["payload"].as_string()};
    ++result[op];
  }
  return result;
}

/// Lobby commands, queries and relays each have a bucket of their own.
TEST_F(limits_e2e_test, each_class_of_command_has_its_rate) {
  ASSERT_NE(start_own({"--rate-lobby", "0.01/2", "--rate-query", "0.01/2",
                       "--rate-relay", "0.01/3"}),
            nullptr);
  auto h = join("host");
  auto p = join("peer");
  pair_up(h, p, "rates"); // CONFIG_HOST and CONFIG_PEER: one each
  ASSERT_FALSE(HasFailure());
  h->send_command("LOCK");
  h->send_command("UNLOCK");
  EXPECT_EQ(tally(*h.ws, 2),
            (std::map<std::string, int>{
              {"LOCK", 1}, {"WARNING rate limit: lobby commands, 0.01/s", 1}}));
  for (int i = 0; i < 3; ++i)
    h->send_command("LOBBY_LIST");
  EXPECT_EQ(tally(*h.ws, 3),
            (std::map<std::string, int>{
              {"LOBBY_LIST", 2},
              {"WARNING rate limit: LOBBY_LIST and LOBBY_INFO, 0.01/s", 1}}));
  for (int i = 0; i < 4; ++i)
    h->send_command("ICE", ice_candidate(i), p.acc.id);
  EXPECT_EQ(tally(*h.ws, 4),
            (std::map<std::string, int>{
              {"RELAY_OK", 3}, {"WARNING rate limit: relays, 0.01/s", 1}}));
  for (int i = 0; i < 3; ++i)
    EXPECT_JSON(p->expect("ICE"), relayed("ICE", ice_candidate(i), h.acc.id));
  expect_quiet(p);
  expect_quiet(h);
}

/// A lobby's budget of wrong passwords holds across accounts: beyond it
/// every password join gets LOBBY_LOCKED, the right password included.
TEST_F(limits_e2e_test, the_password_budget_of_a_lobby_spans_accounts) {
  ASSERT_NE(
    start_own({"--password-lobby-rate", "0.01/2", "--password-delay", "0"}),
    nullptr);
  auto h = join("host");
  host_with_password(h, "pin", "1234");
  std::vector<std::pair<std::string, std::string>> tries{
    {"0000", "PASSWORD_FAIL"},
    {"0001", "PASSWORD_FAIL"},
    {"0002", "LOBBY_LOCKED"},
    {"1234", "LOBBY_LOCKED"}};
  for (auto& [guess, reply] : tries) {
    auto g = join("guesser");
    ASSERT_FALSE(HasFailure());
    g->send_command("CONFIG_PEER",
                    json::object{{"lobby_id", "pin"}, {"password", guess}}, {},
                    guess);
    expect_error(*g.ws, reply, guess);
  }
  expect_quiet(h);
}

/// One account churning lobbies across reconnects meets its creation rate.
TEST_F(limits_e2e_test, lobby_creation_is_limited_per_account) {
  ASSERT_NE(start_own({"--lobby-create-rate", "0.01/2"}), nullptr);
  auto a = new_account("churner");
  for (int i = 0; i < 3; ++i) {
    auto c = open("churner");
    ASSERT_GT(init_until_ok(*c, a), 0);
    auto lobby = "churn-" + std::to_string(i);
    c->send_command("CONFIG_HOST", json::object{{"lobby_id", lobby}}, {}, "h");
    if (i < 2)
      EXPECT_JSON(c->expect("ACK_HOST"),
                  msg("ACK_HOST", json::object{{"lobby_id", lobby}}, "h"));
    else
      expect_warning(*c, "rate limit: lobby creation, 0.01/s per account", "h");
    c->close();
  }
}

/// Over the game's broadcast budget, NEW_HOST and LOBBY_CLOSE are coalesced
/// per lobby: a lobby nobody heard of vanishes without a trace, one named
/// by LOBBY_LIST (capped at --max-lobby-list) is closed for the client.
TEST_F(limits_e2e_test, broadcasts_coalesce_over_budget_and_lists_are_capped) {
  ASSERT_NE(start_own({"--broadcast-rate", "0.01/1", "--broadcast-flush", "3",
                       "--max-lobby-list", "2"}),
            nullptr);
  auto watcher = join("watcher");
  auto a = join("host-a");
  host(a, "a");
  EXPECT_JSON(watcher->expect("NEW_HOST"), new_host(a, "a"));
  auto b = join("host-b");
  host(b, "b");
  auto c = join("host-c");
  host(c, "c");
  auto d = join("host-d");
  host(d, "d");
  ASSERT_FALSE(HasFailure());
  // b, c and d are held; the list names the first two by id.
  watcher->send_command("LOBBY_LIST", std::nullopt, {}, "l");
  EXPECT_JSON(watcher->expect("LOBBY_LIST"),
              msg("LOBBY_LIST", json::array{"a", "b"}, "l"));
  // d closes unseen; b closes after the list named it.
  d->close();
  b->close();
  // The flush: b's LOBBY_CLOSE and c's NEW_HOST, nothing about d.
  auto first = watcher->read(6s);
  ASSERT_TRUE(first);
  EXPECT_JSON(json::parse(first->data), msg("LOBBY_CLOSE", json::value("b")));
  EXPECT_JSON(watcher->expect("NEW_HOST"), new_host(c, "c"));
  expect_quiet(watcher);
}

/// Wrong passwords: each PASSWORD_FAIL comes later than the one before,
/// and after --password-failures the account is locked out of the lobby
/// (LOBBY_LOCKED, the right password included); others get in.
TEST_F(limits_e2e_test, wrong_passwords_are_slowed_then_locked_out) {
  ASSERT_NE(start_own({"--password-delay", "0.3", "--password-failures", "2",
                       "--password-lockout", "60"}),
            nullptr);
  auto h = join("host");
  host_with_password(h, "pin", "1234");
  auto p = join("guesser");
  ASSERT_FALSE(HasFailure());
  auto delay = 300ms;
  for (auto guess : {"0000", "0001"}) {
    auto start = steady_clock::now();
    p->send_command("CONFIG_PEER",
                    json::object{{"lobby_id", "pin"}, {"password", guess}}, {},
                    guess);
    expect_error(*p.ws, "PASSWORD_FAIL", guess);
    EXPECT_GE(steady_clock::now() - start, delay) << guess;
    delay *= 2;
  }
  p->send_command("CONFIG_PEER",
                  json::object{{"lobby_id", "pin"}, {"password", "1234"}}, {},
                  "right");
  expect_error(*p.ws, "LOBBY_LOCKED", "right");
  auto q = join("friend");
  q->send_command("CONFIG_PEER",
                  json::object{{"lobby_id", "pin"}, {"password", "1234"}}, {},
                  "q");
  q->expect("PASSWORD_ACK");
  q->expect("ACK_PEER");
  h->expect("NEW_PEER");
  expect_quiet(h);
}

/// The defaults: a host and 20 peers that join at once and trickle ICE
/// both ways, polling LOBBY_LIST, meet no limit.
TEST_F(limits_e2e_test, a_normal_session_meets_no_limit) {
  auto h = join("host");
  h->send_command("CONFIG_HOST", json::object{{"lobby_id", "busy"}}, {}, "h");
  h->expect("ACK_HOST");
  std::vector<player> peers;
  for (int i = 0; i < 20; ++i)
    peers.push_back(join("peer"));
  ASSERT_FALSE(HasFailure());
  for (auto& p : peers)
    p->send_command("CONFIG_PEER", json::object{{"lobby_id", "busy"}}, {}, "j");
  for (auto& p : peers)
    p->expect("ACK_PEER");
  for (size_t i = 0; i < peers.size(); ++i)
    h->expect("NEW_PEER");
  ASSERT_FALSE(HasFailure());
  for (auto& p : peers) {
    h->send_command("MAKE_OFFER", sdp_offer(), p.acc.id);
    for (int k = 0; k < 20; ++k)
      h->send_command("ICE", ice_candidate(k), p.acc.id);
  }
  for (auto& p : peers) {
    p->expect("MAKE_OFFER");
    for (int k = 0; k < 20; ++k)
      p->expect("ICE");
    p->send_command("MAKE_ANSWER", sdp_answer(), h.acc.id);
    for (int k = 0; k < 20; ++k)
      p->send_command("ICE", ice_candidate(k), h.acc.id);
    p->send_command("LOBBY_LIST", std::nullopt, {}, "l");
    p->send_command("KEEPALIVE");
  }
  // The host: 21 RELAY_OKs per peer and 21 relayed frames from each, and
  // not one WARNING.
  size_t oks = 0;
  size_t relayed_frames = 0;
  for (size_t i = 0; i < peers.size() * 42; ++i) {
    auto f = h->read();
    ASSERT_TRUE(f) << "frame " << i;
    auto v = json::parse(f->data).as_object();
    auto op = member(v, "opcode");
    ASSERT_TRUE(op == "RELAY_OK" || op == "MAKE_ANSWER" || op == "ICE")
      << f->data;
    (op == "RELAY_OK" ? oks : relayed_frames) += 1;
  }
  EXPECT_EQ(oks, 21 * peers.size());
  EXPECT_EQ(relayed_frames, 21 * peers.size());
  // Each peer: 21 RELAY_OKs, the LOBBY_LIST and the KEEPALIVE, which may
  // overtake RELAY_OKs (docs/protocol.md, "Ordering").
  for (auto& p : peers) {
    std::map<std::string, int> got;
    for (int k = 0; k < 23; ++k) {
      auto f = p->read();
      ASSERT_TRUE(f) << "frame " << k;
      ++got[member(json::parse(f->data).as_object(), "opcode")];
    }
    EXPECT_EQ(got, (std::map<std::string, int>{
                     {"KEEPALIVE", 1}, {"LOBBY_LIST", 1}, {"RELAY_OK", 21}}));
    expect_quiet(p);
  }
  expect_quiet(h);
}

} // namespace
