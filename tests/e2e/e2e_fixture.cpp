#include "tests/e2e/e2e_fixture.hpp"

#include <atomic>
#include <iostream>
#include <thread>

#include <sys/resource.h>

namespace json = boost::json;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace omega::e2e {

// -- JSON helpers -------------------------------------------------------------

testing::AssertionResult same_json(const char* got_expr, const char*,
                                   const json::value& got,
                                   const json::value& want) {
  if (got == want)
    return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << got_expr << " is " << json::serialize(got) << "\n    expected "
         << json::serialize(want);
}

json::object msg(std::string_view op, std::optional<json::value> payload,
                 std::string_view listener) {
  json::object result;
  result["opcode"] = op;
  if (payload)
    result["payload"] = std::move(*payload);
  if (!listener.empty())
    result["listener"] = listener;
  return result;
}

json::object relayed(std::string_view op, json::value payload,
                     std::string_view origin) {
  return {{"opcode", op}, {"payload", std::move(payload)}, {"origin", origin}};
}

std::string member(const json::object& obj, std::string_view key) {
  auto i = obj.find(key);
  if (i == obj.end() || !i->value().is_string())
    return {};
  return std::string{i->value().get_string()};
}

std::string payload_member(const json::object& obj, std::string_view key) {
  auto i = obj.find("payload");
  if (i == obj.end() || !i->value().is_object())
    return {};
  return member(i->value().get_object(), key);
}

json::value sdp_offer() {
  return json::parse(
    R"({
    "type": "offer",
    "sdp": "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n)"
    R"(t=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP )"
    R"(webrtc-datachannel\r\n",
    "meta": {"tracks": [1, 2.5, null, true, "x"], "empty": {}, "list": []},
    "note": "h\u00e9llo \u2713 \"quoted\""
  })");
}

json::value sdp_answer() {
  return json::parse(R"({"type": "answer", "sdp": "v=0\r\na=setup:active\r\n",
                        "n": -7, "f": 1e-3})");
}

json::value ice_candidate(int n) {
  return json::object{{"candidate", "candidate:" + std::to_string(n)
                                      + " 1 udp 2122260223 127.0.0.1 5"
                                        "4321 typ host"},
                      {"sdpMid", "0"},
                      {"sdpMLineIndex", 0},
                      {"usernameFragment", nullptr}};
}

// -- accounts and clients -----------------------------------------------------

std::string unique(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string{prefix} + std::to_string(++counter);
}

void raise_fd_limit() {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// -- fixture ------------------------------------------------------------------

std::unique_ptr<server_process> e2e_fixture::shared_;
std::string e2e_fixture::shared_error_;

void e2e_fixture::SetUpTestSuite() {
  // thousand_connections opens 1,000 sockets on each side; the forked
  // server inherits this limit.
  raise_fd_limit();
  shared_ = std::make_unique<server_process>();
  if (!shared_->start())
    shared_error_ = shared_->error();
}

void e2e_fixture::TearDownTestSuite() {
  shared_.reset();
}

void e2e_fixture::SetUp() {
  ASSERT_TRUE(shared_ && shared_->running()) << shared_error_;
  use_server(*shared_);
}

void e2e_fixture::TearDown() {
  if (HasFailure() && srv_ != nullptr)
    std::cerr << "server stderr so far:\n" << srv_->log() << std::endl;
}

void e2e_fixture::use_server(server_process& s) {
  srv_ = &s;
  use_game(new_game(profile_));
}

game_info e2e_fixture::new_game(const std::string& profile) {
  game_info g{{}, unique("Game "), unique("Dev ")};
  g.ugi = profile.empty() ? srv_->add_game(g.name, g.developer)
                          : srv_->add_game(g.name, g.developer, profile);
  EXPECT_FALSE(g.ugi.empty()) << "omega-admin game add failed";
  return g;
}

void e2e_fixture::use_game(const game_info& g) {
  ugi_ = g.ugi;
  game_ = g.name;
  developer_ = g.developer;
}

server_process* e2e_fixture::start_own(const std::vector<std::string>& flags) {
  own_ = std::make_unique<server_process>();
  if (!own_->start(flags)) {
    ADD_FAILURE() << own_->error();
    return nullptr;
  }
  use_server(*own_);
  return HasFailure() ? nullptr : own_.get();
}

account e2e_fixture::new_account(std::string_view prefix,
                                 const std::string& origin) {
  account a;
  a.user = unique(prefix);
  a.email = a.user + "@e2e.example.com";
  a.password = "correct-horse-" + a.user;
  auto reg = http_post(port(), "/api/v0/register",
                       json::serialize(json::object{{"username", a.user},
                                                    {"email", a.email},
                                                    {"password", a.password}}),
                       {}, {accept_json});
  EXPECT_EQ(reg.status, 201u) << reg.error << reg.body;
  json::error_code ec;
  auto body = json::parse(reg.body, ec);
  if (!ec && body.is_object())
    a.id = member(body.get_object(), "id");
  EXPECT_FALSE(a.id.empty()) << "register body: " << reg.body;
  a.token = login(a, origin);
  return a;
}

std::string e2e_fixture::login(const account& a, const std::string& origin) {
  auto res = http_post(
    port(), "/api/v0/login",
    json::serialize(json::object{{"email", a.email}, {"password", a.password}}),
    origin);
  EXPECT_EQ(res.status, 200u) << res.error << res.body;
  EXPECT_EQ(res.header("content-type").rfind("text/plain", 0), 0u)
    << "content-type: " << res.header("content-type");
  return res.body;
}

std::unique_ptr<ws_client> e2e_fixture::open(const std::string& name,
                                             const std::string& origin,
                                             const std::string& path) {
  auto c = std::make_unique<ws_client>(name);
  auto target = path.empty() ? signaling_path(ugi_) : path;
  EXPECT_TRUE(c->connect(port(), target, origin))
    << name << ": " << c->error() << " (HTTP " << c->handshake_status() << ")";
  return c;
}

json::object e2e_fixture::init_ok(const account& a, std::string_view listener) {
  return msg("INIT_OK",
             json::object{{"user", a.user},
                          {"id", a.id},
                          {"game", game_},
                          {"developer", developer_}},
             listener);
}

player e2e_fixture::join(const std::string& name, const std::string& path) {
  player p{new_account(name), open(name, {}, path)};
  p->send_command("INIT", json::value(p.acc.token), {}, "init");
  EXPECT_JSON(p->expect("INIT_OK"), init_ok(p.acc, "init"));
  return p;
}

void e2e_fixture::host(player& h, const std::string& lobby, bool reclaim,
                       bool claim) {
  json::object cfg{{"lobby_id", lobby},
                   {"allow_host_reclaim", reclaim},
                   {"allow_peers_to_claim_host", claim},
                   {"max_peers", 8},
                   {"password", ""}};
  h->send_command("CONFIG_HOST", json::value(std::move(cfg)), {}, "host");
  EXPECT_JSON(h->expect("ACK_HOST"),
              msg("ACK_HOST", json::object{{"lobby_id", lobby}}, "host"));
}

void e2e_fixture::enter(player& p, player& h, const std::string& lobby) {
  p->send_command("CONFIG_PEER", json::object{{"lobby_id", lobby}}, {}, "peer");
  EXPECT_JSON(p->expect("ACK_PEER"), msg("ACK_PEER",
                                         json::object{{"lobby_id", lobby},
                                                      {"id", h.acc.id},
                                                      {"user", h.acc.user}},
                                         "peer"));
  EXPECT_JSON(h->expect("NEW_PEER"),
              msg("NEW_PEER",
                  json::object{{"id", p.acc.id}, {"user", p.acc.user}}));
}

void e2e_fixture::pair_up(player& h, player& p, const std::string& lobby) {
  host(h, lobby);
  EXPECT_JSON(p->expect("NEW_HOST"), new_host(h, lobby));
  enter(p, h, lobby);
}

json::object e2e_fixture::new_host(const player& h, const std::string& lobby) {
  return msg("NEW_HOST", json::object{{"id", h.acc.id},
                                      {"user", h.acc.user},
                                      {"lobby_id", lobby}});
}

json::object e2e_fixture::host_reclaim(const player& h,
                                       const std::string& lobby,
                                       std::string_view listener) {
  return msg(
    "HOST_RECLAIM",
    json::object{{"id", h.acc.id}, {"user", h.acc.user}, {"lobby_id", lobby}},
    listener);
}

void e2e_fixture::relay(player& from, player& to, std::string_view op,
                        json::value payload) {
  auto listener = unique("relay-");
  from->send_command(op, payload, to.acc.id, listener);
  EXPECT_JSON(from->expect("RELAY_OK"), msg("RELAY_OK", {}, listener));
  EXPECT_JSON(to->expect(op), relayed(op, payload, from.acc.id));
}

void e2e_fixture::expect_quiet(player& p) {
  auto nonce = unique("sync-");
  p->send_command("KEEPALIVE", json::value(nonce));
  EXPECT_JSON(p->expect("KEEPALIVE"), msg("KEEPALIVE", json::value(nonce)));
}

void e2e_fixture::expect_error(ws_client& c, std::string_view op,
                               std::string_view listener) {
  auto f = c.expect(op);
  EXPECT_EQ(member(f, "listener"), listener) << json::serialize(f);
  for (auto& kv : f)
    EXPECT_TRUE(kv.key() == "opcode" || kv.key() == "listener"
                || (kv.key() == "payload" && kv.value().is_string()))
      << c.name() << ": unexpected member in " << json::serialize(f);
}

void e2e_fixture::expect_violation_close(ws_client& c, uint16_t code,
                                         std::string_view listener) {
  auto f = c.expect("VIOLATION");
  auto i = f.find("payload");
  EXPECT_TRUE(i != f.end() && i->value().is_string()
              && !i->value().get_string().empty())
    << "VIOLATION needs a reason: " << json::serialize(f);
  EXPECT_EQ(member(f, "listener"), listener) << json::serialize(f);
  EXPECT_EQ(f.size(), 2u + (listener.empty() ? 0 : 1)) << json::serialize(f);
  expect_close(c, code);
}

void e2e_fixture::expect_close(ws_client& c, uint16_t code) {
  auto r = c.read_close();
  EXPECT_EQ(r.kind, close_result::closed)
    << c.name() << ": no close frame: " << r.error;
  EXPECT_EQ(r.code, code) << c.name();
  EXPECT_TRUE(r.clean) << c.name() << ": close handshake failed: " << r.error;
  EXPECT_EQ(r.skipped, 0u) << c.name() << ": unexpected " << r.first_skipped;
}

int e2e_fixture::init_until_ok(ws_client& c, const account& a) {
  auto deadline = steady_clock::now() + session_release_timeout;
  for (int attempt = 1; attempt <= 300; ++attempt) {
    c.send_command("INIT", json::value(a.token));
    auto f = c.read();
    if (!f)
      return 0;
    auto jv = json::parse(f->data);
    if (member(jv.as_object(), "opcode") == "INIT_OK") {
      EXPECT_JSON(jv, init_ok(a));
      return attempt;
    }
    if (member(jv.as_object(), "opcode") != "SESSION_EXISTS"
        || steady_clock::now() > deadline) {
      ADD_FAILURE() << c.name() << ": INIT answered " << f->data;
      return 0;
    }
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

} // namespace omega::e2e
