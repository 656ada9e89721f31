#include "tests/actor_fixture.hpp"

#include "actors/turn.hpp"

using namespace omega;
using namespace omega::test;

/// Session resume, kick with a ban and TURN credentials: the three opt-in
/// extensions of docs/protocol.md, "Extensions".

namespace {

cmd::config_host open_lobby(std::string id) {
  return {std::move(id), false, false, 0, "", "", ""};
}

cmd::make_offer offer(const client& to, std::string payload,
                      std::string listener = {}) {
  return {to.id, std::move(payload), std::move(listener)};
}

cmd::make_answer answer(const client& to, std::string payload,
                        std::string listener = {}) {
  return {to.id, std::move(payload), std::move(listener)};
}

class resume_test : public actor_fixture {
protected:
  resume_test() {
    resume.window = std::chrono::seconds{30};
    resume.max_frames = 8;
  }

  /// Asks for RESUMABLE and returns the secret.
  std::string make_resumable(client& c) {
    c.send(cmd::resumable{"r"});
    run();
    auto x = next<evt::resumable>(c);
    EXPECT_EQ(x.window, 30u);
    EXPECT_EQ(x.listener, "r");
    EXPECT_GE(x.secret.size(), 22u); // at least 128 bits in base64
    return x.secret;
  }

  /// A host and a resumable peer in lobby "L"; returns the peer's secret.
  std::string populate() {
    host = &login("host");
    host_lobby(*host, open_lobby("L"));
    peer = &login("peer");
    join_lobby(*peer, "L");
    EXPECT_EQ(next<evt::new_peer>(*host).id, peer->id);
    return make_resumable(*peer);
  }

  /// A new socket of `old`'s account that sends RESUME with `secret`.
  client& resume_as(const client& old, const std::string& secret) {
    auto& c = reconnect(old);
    c.send(cmd::resume{c.token, secret, "again"});
    run();
    return c;
  }

  /// Expects `c`'s INIT_OK and RESUMED; returns RESUMED.
  evt::resumed expect_resumed(client& c) {
    auto ok = next<evt::init_ok>(c);
    EXPECT_EQ(ok.id, c.id);
    EXPECT_EQ(ok.listener, "again");
    auto x = next<evt::resumed>(c);
    EXPECT_EQ(x.listener, "again");
    return x;
  }

  client* host = nullptr;
  client* peer = nullptr;
};

} // namespace

// -- session resume -----------------------------------------------------------

TEST_F(resume_test, a_peer_resumes_within_the_window_and_nobody_notices) {
  auto secret = populate();
  drop(*peer);
  // The host relays meanwhile: accepted, and no PEER_GONE.
  host->send(offer(*peer, R"({"sdp":"o1"})", "1"));
  host->send(offer(*peer, R"({"sdp":"o2"})", "2"));
  run();
  EXPECT_EQ(next<evt::relay_ok>(*host).listener, "1");
  EXPECT_EQ(next<evt::relay_ok>(*host).listener, "2");
  expect_quiet(*host);
  advance(std::chrono::seconds{10});
  expect_quiet(*host);
  auto& again = resume_as(*peer, secret);
  auto x = expect_resumed(again);
  EXPECT_NE(x.secret, secret);
  EXPECT_EQ(x.lobby_id, "L");
  EXPECT_EQ(x.role, "peer");
  EXPECT_EQ(x.dropped, 0u);
  // The kept frames, in order, then everything live.
  EXPECT_EQ(next<evt::relayed>(again).payload, R"({"sdp":"o1"})");
  EXPECT_EQ(next<evt::relayed>(again).payload, R"({"sdp":"o2"})");
  expect_quiet(again);
  host->send(offer(*peer, R"({"sdp":"o3"})", "3"));
  again.send(answer(*host, R"({"sdp":"a"})", "4"));
  run();
  EXPECT_EQ(next<evt::relay_ok>(*host).listener, "3");
  auto relayed = next<evt::relayed>(*host);
  EXPECT_EQ(relayed.payload, R"({"sdp":"a"})");
  EXPECT_EQ(relayed.origin, peer->id);
  EXPECT_EQ(next<evt::relayed>(again).payload, R"({"sdp":"o3"})");
  EXPECT_EQ(next<evt::relay_ok>(again).listener, "4");
  // The window of the lost socket ends unnoticed: the session lives on.
  advance(std::chrono::seconds{60});
  expect_quiet(*host);
  EXPECT_EQ(lobby_of("L")->peers.size(), 1u);
  EXPECT_EQ(peer->record->held, true);
}

TEST_F(resume_test, a_host_resumes_with_its_role) {
  host = &login("host");
  host_lobby(*host, open_lobby("L"));
  auto secret = make_resumable(*host);
  peer = &login("peer");
  join_lobby(*peer, "L");
  EXPECT_EQ(next<evt::new_peer>(*host).id, peer->id);
  drop(*host);
  peer->send(answer(*host, R"("late")", "1"));
  run();
  EXPECT_EQ(next<evt::relay_ok>(*peer).listener, "1");
  expect_quiet(*peer); // no HOST_GONE
  auto& again = resume_as(*host, secret);
  auto x = expect_resumed(again);
  EXPECT_EQ(x.role, "host");
  EXPECT_EQ(x.lobby_id, "L");
  EXPECT_EQ(next<evt::relayed>(again).payload, R"("late")");
  again.send(offer(*peer, R"("o")", "2"));
  run();
  EXPECT_EQ(next<evt::relay_ok>(again).listener, "2");
  again.send(cmd::lock{"3"});
  run();
  EXPECT_EQ(next<evt::lock_state>(again), (evt::lock_state{"L", true, "3"}));
  EXPECT_EQ(next<evt::relayed>(*peer).payload, R"("o")");
  EXPECT_TRUE(lobby_of("L")->is_host(host->id));
}

TEST_F(resume_test, the_departure_happens_when_the_window_ends) {
  populate();
  drop(*peer);
  advance(std::chrono::seconds{29});
  expect_quiet(*host);
  advance(std::chrono::seconds{1});
  EXPECT_EQ(next<evt::peer_gone>(*host).id, peer->id);
  // A RESUME now finds nothing and gets a fresh session.
  auto& late = reconnect(*peer);
  late.send(cmd::resume{late.token, "whatever", "again"});
  run();
  auto failed = next<evt::error_reply>(late);
  EXPECT_EQ(failed.code, ec::resume_failed);
  EXPECT_EQ(failed.reason, "no session to resume");
  EXPECT_EQ(next<evt::init_ok>(late).id, peer->id);
  EXPECT_EQ(state_of(late).current, connection_state::role::none);
}

TEST_F(resume_test, a_socket_closed_normally_leaves_at_once) {
  populate();
  caf::anon_send(peer->conn, socket_closed{peer->sink, false});
  run();
  EXPECT_EQ(next<evt::peer_gone>(*host).id, peer->id);
}

TEST_F(resume_test, without_resumable_a_lost_socket_leaves_at_once) {
  host = &login("host");
  host_lobby(*host, open_lobby("L"));
  peer = &login("peer");
  join_lobby(*peer, "L");
  skip(*host);
  drop(*peer);
  EXPECT_EQ(next<evt::peer_gone>(*host).id, peer->id);
}

TEST_F(resume_test,
       a_resume_racing_the_window_end_either_wins_or_starts_afresh) {
  auto secret = populate();
  drop(*peer);
  advance(std::chrono::seconds{29});
  // The window ends before the RESUME reaches the session.
  auto& again = reconnect(*peer);
  again.send(cmd::resume{again.token, secret, "again"});
  sched.advance_time(std::chrono::seconds{1});
  run();
  EXPECT_EQ(next<evt::peer_gone>(*host).id, peer->id);
  auto failed = next<evt::error_reply>(again);
  EXPECT_EQ(failed.code, ec::resume_failed);
  EXPECT_EQ(next<evt::init_ok>(again).id, peer->id);
  expect_quiet(again);
}

TEST_F(resume_test, a_resume_just_before_the_window_end_wins) {
  auto secret = populate();
  drop(*peer);
  advance(std::chrono::seconds{29});
  auto& again = resume_as(*peer, secret);
  expect_resumed(again);
  advance(std::chrono::seconds{1});
  expect_quiet(*host);
  EXPECT_EQ(lobby_of("L")->peers.size(), 1u);
}

TEST_F(resume_test, an_old_secret_gets_a_fresh_session) {
  auto secret = populate();
  drop(*peer);
  auto& second = resume_as(*peer, secret);
  auto fresh_secret = expect_resumed(second).secret;
  drop(second);
  // The first secret was rotated away.
  auto& third = resume_as(*peer, secret);
  auto failed = next<evt::error_reply>(third);
  EXPECT_EQ(failed.code, ec::resume_failed);
  EXPECT_EQ(failed.reason, "wrong resume secret");
  EXPECT_EQ(next<evt::init_ok>(third).id, peer->id);
  EXPECT_EQ(next<evt::peer_gone>(*host).id, peer->id);
  EXPECT_EQ(state_of(third).current, connection_state::role::none);
  EXPECT_NE(fresh_secret, secret);
}

TEST_F(resume_test, a_second_blip_is_survived_too) {
  auto secret = populate();
  drop(*peer);
  auto& second = resume_as(*peer, secret);
  auto next_secret = expect_resumed(second).secret;
  drop(second);
  host->send(offer(*peer, R"("x")", "1"));
  run();
  EXPECT_EQ(next<evt::relay_ok>(*host).listener, "1");
  auto& third = resume_as(*peer, next_secret);
  expect_resumed(third);
  EXPECT_EQ(next<evt::relayed>(third).payload, R"("x")");
  expect_quiet(*host);
  third.send(cmd::keepalive{"1", "k"});
  run();
  EXPECT_EQ(next<evt::keepalive>(third).listener, "k");
}

TEST_F(resume_test, kept_frames_are_bounded_and_the_drop_is_counted) {
  auto secret = populate();
  drop(*peer);
  for (int i = 0; i < 11; ++i)
    host->send(offer(*peer, std::to_string(i)));
  run();
  auto& again = resume_as(*peer, secret);
  EXPECT_EQ(expect_resumed(again).dropped, 3u);
  for (int i = 3; i < 11; ++i)
    EXPECT_EQ(next<evt::relayed>(again).payload, std::to_string(i));
  expect_quiet(again);
}

TEST_F(resume_test, a_wrong_secret_leaves_a_live_session_alone) {
  populate();
  auto& other = resume_as(*peer, "not-the-secret");
  expect_error(other, ec::session_exists, "again");
  expect_quiet(*host);
  host->send(offer(*peer, R"("still")"));
  run();
  EXPECT_EQ(next<evt::relayed>(*peer).payload, R"("still")");
}

TEST_F(resume_test, a_resume_takes_over_a_socket_whose_loss_went_unnoticed) {
  auto secret = populate();
  auto& again = resume_as(*peer, secret);
  expect_resumed(again);
  EXPECT_TRUE(peer->record->superseded);
  host->send(offer(*peer, R"("o")", "o"));
  run();
  EXPECT_EQ(next<evt::relay_ok>(*host).listener, "o");
  EXPECT_EQ(next<evt::relayed>(again).payload, R"("o")");
  // The old socket's close is not the session's end.
  caf::anon_send(peer->conn, socket_closed{peer->sink, false});
  run();
  expect_quiet(*host);
  EXPECT_EQ(lobby_of("L")->peers.size(), 1u);
}

TEST_F(resume_test, losing_the_new_socket_s_node_holds_the_session_again) {
  auto secret = populate();
  drop(*peer);
  auto& again = resume_as(*peer, secret);
  auto next_secret = expect_resumed(again).secret;
  // The new socket's CONNECTION ends without a socket_closed, as when the
  // node that carried it dies: the session is held, not left live.
  caf::anon_send_exit(again.conn, caf::exit_reason::kill);
  again.record->held = true; // its SINK went with its node
  run();
  EXPECT_TRUE(state_of(*peer).hold->detached);
  expect_quiet(*host);
  auto& third = resume_as(*peer, next_secret);
  expect_resumed(third);
  drop(third);
  advance(std::chrono::seconds{30});
  EXPECT_EQ(next<evt::peer_gone>(*host).id, peer->id);
}

TEST_F(resume_test, the_session_s_end_closes_the_socket_that_carried_it) {
  auto secret = populate();
  drop(*peer);
  auto& again = resume_as(*peer, secret);
  expect_resumed(again);
  // The session's node dies: the new socket is closed, so the client
  // reconnects instead of talking to nobody.
  caf::anon_send_exit(peer->conn, caf::exit_reason::kill);
  run();
  EXPECT_TRUE(again.record->superseded);
  EXPECT_EQ(next<evt::peer_gone>(*host).id, peer->id);
}

TEST_F(resume_test, resumable_needs_init_and_can_be_off) {
  auto& c = connect("c");
  c.send(cmd::resumable{"1"});
  run();
  expect_error(c, ec::config_required, "1");
  resume.window = std::chrono::milliseconds{0};
  auto& d = login("d");
  d.send(cmd::resumable{"2"});
  run();
  expect_error(d, ec::warning, "2");
}

// -- kick with a ban ----------------------------------------------------------

TEST_F(resume_test, a_banned_account_cannot_rejoin_until_the_ban_ends) {
  settings.max_ban = std::chrono::seconds{120};
  use_settings(settings);
  host = &login("host");
  host_lobby(*host, open_lobby("L"));
  peer = &login("peer");
  join_lobby(*peer, "L");
  skip(*host);
  host->send(cmd::kick{peer->id, "k", 60});
  run();
  EXPECT_EQ(next<evt::peer_gone>(*host), (evt::peer_gone{peer->id, "k"}));
  EXPECT_EQ(next<evt::lobby_close>(*peer).lobby_id, "L");
  peer->send(cmd::config_peer{"L", "", "", "j"});
  run();
  auto refused = next<evt::error_reply>(*peer);
  EXPECT_EQ(refused.code, ec::warning);
  EXPECT_EQ(refused.reason, "banned from this lobby for 60 more seconds");
  EXPECT_EQ(refused.listener, "j");
  // Others can join.
  auto& other = login("other");
  join_lobby(other, "L");
  // A plain KICK bars nobody.
  skip(*host);
  host->send(cmd::kick{other.id, "k2"});
  run();
  skip(other);
  join_lobby(other, "L");
  advance(std::chrono::seconds{59});
  peer->send(cmd::config_peer{"L", "", "", "j"});
  run();
  EXPECT_EQ(next<evt::error_reply>(*peer).reason,
            "banned from this lobby for 1 more seconds");
  advance(std::chrono::seconds{1});
  join_lobby(*peer, "L");
}

TEST_F(resume_test, a_ban_is_cut_to_the_maximum_and_ends_with_the_lobby) {
  settings.max_ban = std::chrono::seconds{10};
  use_settings(settings);
  host = &login("host");
  host_lobby(*host, open_lobby("L"));
  peer = &login("peer");
  join_lobby(*peer, "L");
  host->send(cmd::kick{peer->id, "k", 3600});
  run();
  skip(*peer);
  peer->send(cmd::config_peer{"L", "", "", "j"});
  run();
  EXPECT_EQ(next<evt::error_reply>(*peer).reason,
            "banned from this lobby for 10 more seconds");
  // A new lobby of the same id starts with no bans.
  disconnect(*host);
  skip(*peer);
  auto& host2 = login("host2");
  host_lobby(host2, open_lobby("L"));
  skip(*peer);
  join_lobby(*peer, "L");
}

// -- TURN ---------------------------------------------------------------------

TEST(turn_credential, hmac_sha1_in_base64) {
  // RFC 2202, test case 2.
  EXPECT_EQ(turn_credential("Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk=");
  // What `openssl dgst -sha1 -hmac north -binary | base64` gives.
  EXPECT_EQ(turn_credential("north", "1700000000:01HZXAMPLE"),
            "b/IR3bFXmvCBWsUChks9/GofQlk=");
}

TEST(turn_credential, grant_names_expiry_and_account) {
  turn_settings cfg;
  cfg.secrets = {"north", "old"};
  cfg.urls = {"turn:10.77.0.1:3478", "turns:turn.example:5349"};
  cfg.ttl = std::chrono::seconds{3600};
  auto now = wall_clock::time_point{std::chrono::seconds{1699996400}};
  auto x = turn_grant(cfg, "01HZXAMPLE", now);
  ASSERT_EQ(x.servers.size(), 1u);
  EXPECT_EQ(x.servers[0].urls, cfg.urls);
  EXPECT_EQ(x.servers[0].username, "1700000000:01HZXAMPLE");
  EXPECT_EQ(x.servers[0].credential, "b/IR3bFXmvCBWsUChks9/GofQlk=");
  EXPECT_TRUE(turn_grant(turn_settings{}, "a", now).servers.empty());
}

TEST_F(resume_test, turn_credentials_per_account_within_a_budget) {
  turn_settings cfg;
  cfg.secrets = {"north"};
  cfg.urls = {"turn:10.77.0.1:3478"};
  cfg.rate = rate_limit{0.5, 2};
  use_turn(cfg);
  auto& c = login("c");
  for (auto listener : {"1", "2", "3"})
    c.send(cmd::turn_credentials{listener});
  run();
  for (auto listener : {"1", "2"}) {
    auto x = next<evt::turn_credentials>(c);
    EXPECT_EQ(x.listener, listener);
    ASSERT_EQ(x.servers.size(), 1u);
    auto& user = x.servers[0].username;
    EXPECT_EQ(user.substr(user.find(':') + 1), c.id);
    EXPECT_EQ(x.servers[0].credential,
              turn_credential("north", x.servers[0].username));
  }
  auto refused = next<evt::error_reply>(c);
  EXPECT_EQ(refused.code, ec::warning);
  EXPECT_EQ(refused.listener, "3");
  // Before INIT: CONFIG_REQUIRED, as for every command.
  auto& d = connect("d");
  d.send(cmd::turn_credentials{"4"});
  run();
  expect_error(d, ec::config_required, "4");
}

TEST_F(resume_test, no_turn_servers_means_an_empty_list) {
  auto& c = login("c");
  c.send(cmd::turn_credentials{"1"});
  run();
  auto x = next<evt::turn_credentials>(c);
  EXPECT_TRUE(x.servers.empty());
  EXPECT_EQ(x.listener, "1");
}
