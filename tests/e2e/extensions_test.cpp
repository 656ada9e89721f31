// End-to-end tests of the opt-in extensions (docs/protocol.md,
// "Extensions") against the real omega-server: session resume after a
// socket dies without a close frame, kick with a ban, TURN credentials.

#include <thread>

#include "actors/turn.hpp"
#include "tests/e2e/e2e_fixture.hpp"

namespace json = boost::json;
using namespace omega::e2e;
using namespace std::chrono_literals;

namespace {

class extensions_test : public e2e_fixture {
protected:
  /// RESUMABLE for `p`; returns the secret.
  std::string make_resumable(player& p) {
    p->send_command("RESUMABLE", std::nullopt, {}, "r");
    auto r = p->expect("RESUMABLE");
    EXPECT_EQ(member(r, "listener"), "r");
    auto secret = payload_member(r, "secret");
    EXPECT_GE(secret.size(), 22u);
    return secret;
  }

  /// A new socket of `p`'s account that sends RESUME with `secret`.
  std::unique_ptr<ws_client> resume(const player& p,
                                    const std::string& secret) {
    auto c = open(p.acc.user + "-again");
    c->send_command("RESUME",
                    json::object{{"token", p.acc.token}, {"secret", secret}},
                    {}, "again");
    return c;
  }

  /// The server notices a dropped socket when its read fails; frames relayed
  /// to it before that went into the dead socket. Waiting a moment makes
  /// the test about the held session only.
  static void let_the_server_notice() {
    std::this_thread::sleep_for(300ms);
  }

  /// `omega_sessions_held` of the server's /metrics; -1 if not there.
  int held_sessions() {
    auto res = http_request(port(), boost::beast::http::verb::get, "/metrics",
                            {});
    std::string key = "omega_sessions_held ";
    auto at = res.body.find("\n" + key);
    if (at == std::string::npos)
      return -1;
    return std::atoi(res.body.c_str() + at + 1 + key.size());
  }
};

} // namespace

TEST_F(extensions_test,
       a_dropped_socket_resumes_while_the_host_keeps_relaying) {
  auto h = join("host");
  host(h, "room");
  auto p = join("peer");
  enter(p, h, "room");
  auto secret = make_resumable(p);
  p->drop(); // no close frame: a network blip
  let_the_server_notice();
  EXPECT_EQ(held_sessions(), 1);
  for (int i = 0; i < 4; ++i) {
    auto listener = "o" + std::to_string(i);
    h->send_command("MAKE_OFFER", json::value(i), p.acc.id, listener);
    EXPECT_JSON(h->expect("RELAY_OK"), msg("RELAY_OK", {}, listener));
  }
  auto again = resume(p, secret);
  EXPECT_JSON(again->expect("INIT_OK"), init_ok(p.acc, "again"));
  auto resumed = again->expect("RESUMED");
  EXPECT_EQ(held_sessions(), 0);
  EXPECT_EQ(member(resumed, "listener"), "again");
  EXPECT_EQ(payload_member(resumed, "lobby_id"), "room");
  EXPECT_EQ(payload_member(resumed, "role"), "peer");
  EXPECT_EQ(resumed["payload"].as_object()["dropped"], json::value(0));
  EXPECT_NE(payload_member(resumed, "secret"), secret);
  for (int i = 0; i < 4; ++i)
    EXPECT_JSON(again->expect("MAKE_OFFER"),
                relayed("MAKE_OFFER", json::value(i), h.acc.id));
  // Live both ways, and the host never heard of the blip.
  player back{p.acc, std::move(again)};
  relay(h, back, "ICE", ice_candidate(1));
  relay(back, h, "MAKE_ANSWER", sdp_answer());
  expect_quiet(h);
  // A normal close ends the session as usual.
  back->close();
  EXPECT_JSON(h->expect("PEER_GONE"), msg("PEER_GONE", json::value(p.acc.id)));
}

TEST_F(extensions_test,
       after_the_window_the_peer_is_gone_and_resume_starts_afresh) {
  start_own({"--resume-window", "1"});
  auto h = join("host");
  host(h, "room");
  auto p = join("peer");
  enter(p, h, "room");
  auto secret = make_resumable(p);
  p->drop();
  EXPECT_JSON(h->expect("PEER_GONE", 5000ms),
              msg("PEER_GONE", json::value(p.acc.id)));
  auto again = resume(p, secret);
  auto failed = again->expect("RESUME_FAILED");
  EXPECT_EQ(member(failed, "listener"), "again");
  EXPECT_JSON(again->expect("INIT_OK"), init_ok(p.acc, "again"));
}

TEST_F(extensions_test, a_standard_client_sees_no_change) {
  // Without RESUMABLE a dropped socket leaves at once, as PROTOCOL.md says.
  auto h = join("host");
  host(h, "room");
  auto p = join("peer");
  enter(p, h, "room");
  p->drop();
  EXPECT_JSON(h->expect("PEER_GONE"), msg("PEER_GONE", json::value(p.acc.id)));
}

TEST_F(extensions_test, a_banned_account_stays_out_until_the_ban_ends) {
  auto h = join("host");
  host(h, "room");
  auto p = join("peer");
  enter(p, h, "room");
  h->send_command("KICK", json::object{{"id", p.acc.id}, {"ban", 2}}, {}, "k");
  EXPECT_JSON(h->expect("PEER_GONE"),
              msg("PEER_GONE", json::value(p.acc.id), "k"));
  EXPECT_JSON(p->expect("LOBBY_CLOSE"),
              msg("LOBBY_CLOSE", json::value("room")));
  p->send_command("CONFIG_PEER", json::object{{"lobby_id", "room"}}, {}, "j");
  auto refused = p->expect("WARNING");
  EXPECT_EQ(member(refused, "listener"), "j");
  EXPECT_EQ(refused["payload"],
            json::value("banned from this lobby for 2 more seconds"));
  auto q = join("other");
  enter(q, h, "room");
  std::this_thread::sleep_for(2100ms);
  enter(p, h, "room");
  // A malformed ban is a VIOLATION, as any malformed KICK.
  h->send_command("KICK", json::object{{"id", q.acc.id}, {"ban", "soon"}}, {},
                  "bad");
  expect_violation_close(*h.ws, 1008, "bad");
}

TEST_F(extensions_test, turn_credentials_follow_the_rest_scheme) {
  start_own({"--turn-secret", "north", "--turn-secret", "older", "--turn-url",
             "turn:127.0.0.1:3478", "--turn-url", "turns:turn.example:5349",
             "--turn-ttl", "600"});
  auto p = join("peer");
  auto before = std::chrono::system_clock::now();
  p->send_command("TURN_CREDENTIALS", std::nullopt, {}, "t");
  auto reply = p->expect("TURN_CREDENTIALS");
  EXPECT_EQ(member(reply, "listener"), "t");
  auto& servers = reply["payload"].as_array();
  ASSERT_EQ(servers.size(), 1u);
  auto& server = servers[0].as_object();
  EXPECT_EQ(server["urls"],
            (json::array{"turn:127.0.0.1:3478", "turns:turn.example:5349"}));
  auto username = std::string{server["username"].as_string()};
  auto colon = username.find(':');
  ASSERT_NE(colon, std::string::npos);
  EXPECT_EQ(username.substr(colon + 1), p.acc.id);
  auto expiry = std::stoll(username.substr(0, colon));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               before.time_since_epoch())
               .count();
  EXPECT_GE(expiry, now + 599);
  EXPECT_LE(expiry, now + 610);
  EXPECT_EQ(server["credential"],
            json::value(omega::turn_credential("north", username)));
}

TEST_F(extensions_test, without_turn_servers_the_list_is_empty) {
  auto p = join("peer");
  p->send_command("TURN_CREDENTIALS", std::nullopt, {}, "t");
  EXPECT_JSON(p->expect("TURN_CREDENTIALS"),
              msg("TURN_CREDENTIALS", json::array{}, "t"));
}
