// End-to-end tests of what an operator relies on (issue 16): `/healthz`,
// `/readyz`, and the graceful drain, step by step, started by SIGTERM, by
// `POST /admin/drain` and by `omega-admin drain`.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/e2e/server_process.hpp"
#include "tests/e2e/ws_client.hpp"

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace omega::e2e;
using namespace std::chrono_literals;

namespace {

constexpr const char* admin_token = "0123456789abcdef0123456789abcdef";

/// A server with a game, accounts, and an admin token file.
class ops_server {
public:
  ops_server() {
    char tmpl[] = "/tmp/omega-ops-XXXXXX";
    if (auto* dir = mkdtemp(tmpl)) {
      token_file_ = std::string{dir} + "/admin.token";
      std::ofstream{token_file_} << admin_token << "\n";
    }
  }

  ~ops_server() {
    if (!token_file_.empty())
      run_program("/bin/rm",
                  {"-rf", token_file_.substr(0, token_file_.rfind('/'))});
  }

  bool start(std::vector<std::string> flags = {}) {
    flags.insert(flags.end(), {"--admin-token-file", token_file_});
    if (!proc.start(flags))
      return false;
    ugi = proc.add_game("Drained", "Tester");
    accounts = parse_accounts(proc.admin({"user", "add-many", "ops", "6"}).out);
    return !ugi.empty() && accounts.size() == 6;
  }

  /// A connected, authenticated client of account `i`.
  std::unique_ptr<ws_client> player(size_t i) {
    auto c = std::make_unique<ws_client>("player " + std::to_string(i));
    if (!c->connect(proc.port(), path()))
      return nullptr;
    c->send_command("INIT", json::value(accounts[i].token));
    c->expect("INIT_OK");
    return c;
  }

  std::string path() const {
    return "/api/v0/signaling?ugi=" + ugi;
  }

  const std::string& token_file() const {
    return token_file_;
  }

  server_process proc;
  std::string ugi;
  std::vector<admin_account> accounts;

private:
  std::string token_file_;
};

http_result get(uint16_t port, const std::string& target) {
  return http_request(port, http::verb::get, target, {});
}

http_result post_drain(uint16_t port, const std::string& token) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty())
    headers.emplace_back("Authorization", "Bearer " + token);
  return http_request(port, http::verb::post, "/admin/drain", {}, headers);
}

/// `host` hosts `lobby` and `peer` joins it (a lobby-less `others` see the
/// NEW_HOST).
void pair_up(ws_client& host, ws_client& peer, const std::string& lobby,
             const std::vector<ws_client*>& others = {}) {
  host.send_command("CONFIG_HOST", json::object{{"lobby_id", lobby}});
  host.expect("ACK_HOST");
  peer.expect("NEW_HOST");
  for (auto* o : others)
    o->expect("NEW_HOST");
  peer.send_command("CONFIG_PEER", json::object{{"lobby_id", lobby}});
  peer.expect("ACK_PEER");
  host.expect("NEW_PEER");
}

} // namespace

TEST(operations_test, healthz_and_readyz_answer) {
  ops_server s;
  ASSERT_TRUE(s.start()) << s.proc.error();
  auto health = get(s.proc.port(), "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.body, "ok\n");
  auto ready = get(s.proc.port(), "/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.body, "ready\n");
  auto wrong = http_request(s.proc.port(), http::verb::post, "/healthz", {});
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.header("allow"), "GET");
  EXPECT_EQ(get(s.proc.port(), "/admin/drain").status, 405u);
}

/// Runs `sql` on the server's database from outside, as a broken migration
/// or an operator's mistake would.
bool tamper(const server_process& s, const char* sql) {
  sqlite3* db = nullptr;
  auto path = s.data_dir() + "/omega.db";
  auto ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK
            && sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

TEST(operations_test, readyz_fails_while_the_store_does_not_answer) {
  ops_server s;
  ASSERT_TRUE(s.start()) << s.proc.error();
  EXPECT_EQ(get(s.proc.port(), "/readyz").status, 200u);
  ASSERT_TRUE(tamper(s.proc, "ALTER TABLE accounts RENAME TO hidden"));
  auto ready = get(s.proc.port(), "/readyz");
  EXPECT_EQ(ready.status, 503u);
  EXPECT_EQ(ready.body, "the store does not answer\n");
  EXPECT_EQ(get(s.proc.port(), "/healthz").status, 200u);
  // Ready again once it answers.
  ASSERT_TRUE(tamper(s.proc, "ALTER TABLE hidden RENAME TO accounts"));
  EXPECT_EQ(get(s.proc.port(), "/readyz").status, 200u);
}

TEST(operations_test, the_drain_api_needs_the_admin_token) {
  ops_server s;
  ASSERT_TRUE(s.start()) << s.proc.error();
  auto none = post_drain(s.proc.port(), "");
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer");
  EXPECT_EQ(
    post_drain(s.proc.port(), "0123456789abcdef0123456789abcdeX").status, 401u);
  EXPECT_EQ(get(s.proc.port(), "/readyz").status, 200u);
  // Without --admin-token-file the route does not exist.
  server_process plain;
  ASSERT_TRUE(plain.start()) << plain.error();
  EXPECT_EQ(post_drain(plain.port(), admin_token).status, 404u);
}

/// Every step of a drain: not ready, no new WebSockets, no new lobbies, the
/// open lobby goes on until it empties, then the rest get 1012 and the
/// server exits 0.
TEST(operations_test, a_drain_waits_for_the_lobbies_to_empty) {
  ops_server s;
  ASSERT_TRUE(s.start({"--drain-timeout", "20"})) << s.proc.error();
  auto host = s.player(0);
  auto peer = s.player(1);
  auto idle = s.player(2);
  ASSERT_TRUE(host && peer && idle);
  pair_up(*host, *peer, "before", {idle.get()});
  ASSERT_FALSE(testing::Test::HasFailure());
  auto answer = post_drain(s.proc.port(), admin_token);
  EXPECT_EQ(answer.status, 202u);
  EXPECT_EQ(answer.body, R"({"draining":true})");
  ASSERT_TRUE(s.proc.wait_log("draining", 5s));
  // Not ready, but alive.
  auto ready = get(s.proc.port(), "/readyz");
  EXPECT_EQ(ready.status, 503u);
  EXPECT_EQ(ready.body, "draining\n");
  EXPECT_EQ(get(s.proc.port(), "/healthz").status, 200u);
  // No new WebSockets.
  ws_client late{"late"};
  EXPECT_FALSE(late.connect(s.proc.port(), s.path()));
  EXPECT_EQ(late.handshake_status(), 503u);
  // No new lobbies.
  idle->send_command("CONFIG_HOST", json::object{{"lobby_id", "after"}});
  auto refused = idle->expect("WARNING");
  EXPECT_NE(json::serialize(refused).find("shutting down"), std::string::npos)
    << json::serialize(refused);
  // The open lobby goes on.
  host->send_command("MAKE_OFFER", json::value("offer"), s.accounts[1].id);
  host->expect("RELAY_OK");
  peer->expect("MAKE_OFFER");
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(s.proc.running());
  EXPECT_FALSE(s.proc.wait_log("drained", 100ms));
  // It empties: the peer leaves, then the host.
  peer->close();
  host->expect("PEER_GONE");
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(s.proc.running());
  host->close();
  // Then everyone left is told to reconnect elsewhere, and the server ends.
  auto end = idle->read_close(5s);
  EXPECT_EQ(end.kind, close_result::closed) << end.error;
  EXPECT_EQ(end.code, 1012);
  auto ex = s.proc.stop(0, 5s); // signal 0: just wait for the exit
  EXPECT_TRUE(ex.exited);
  EXPECT_EQ(ex.code, 0);
}

TEST(operations_test, the_drain_timeout_closes_busy_lobbies_with_1012) {
  ops_server s;
  ASSERT_TRUE(s.start({"--drain-timeout", "1"})) << s.proc.error();
  auto host = s.player(0);
  auto peer = s.player(1);
  ASSERT_TRUE(host && peer);
  pair_up(*host, *peer, "busy");
  auto t0 = std::chrono::steady_clock::now();
  kill(s.proc.pid(), SIGTERM);
  auto end = peer->read_close(5s);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(end.code, 1012);
  EXPECT_EQ(host->read_close(5s).code, 1012);
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 4s);
  auto ex = s.proc.stop(0, 5s);
  EXPECT_TRUE(ex.exited);
  EXPECT_EQ(ex.code, 0);
}

TEST(operations_test, a_second_signal_exits_at_once) {
  ops_server s;
  ASSERT_TRUE(s.start({"--drain-timeout", "60"})) << s.proc.error();
  auto host = s.player(0);
  auto peer = s.player(1);
  ASSERT_TRUE(host && peer);
  pair_up(*host, *peer, "stuck");
  kill(s.proc.pid(), SIGTERM);
  ASSERT_TRUE(s.proc.wait_log("draining", 5s));
  auto ex = s.proc.stop(SIGTERM, 5s);
  EXPECT_TRUE(ex.exited);
  EXPECT_EQ(ex.code, 0);
  EXPECT_LT(ex.took, 2s);
  EXPECT_NE(s.proc.log().find("again, stopping now"), std::string::npos);
}

TEST(operations_test, omega_admin_drain_starts_a_drain) {
  ops_server s;
  ASSERT_TRUE(s.start()) << s.proc.error();
  auto url = "http://127.0.0.1:" + std::to_string(s.proc.port());
  auto bad = run_program(OMEGA_ADMIN_PATH,
                         {"drain", url, "--token-file", "/nonexistent"});
  EXPECT_NE(bad.status, 0);
  auto ok = run_program(OMEGA_ADMIN_PATH,
                        {"drain", url, "--token-file", s.token_file()});
  EXPECT_EQ(ok.status, 0);
  EXPECT_EQ(ok.out, "draining\n");
  // Nobody is in a lobby: the drain ends at once and the server exits.
  auto ex = s.proc.stop(0, 5s);
  EXPECT_TRUE(ex.exited);
  EXPECT_EQ(ex.code, 0);
}

TEST(operations_test, json_logs_and_the_access_log) {
  ops_server s;
  ASSERT_TRUE(s.start({"--log-format", "json", "--access-log"}))
    << s.proc.error();
  EXPECT_EQ(get(s.proc.port(), "/healthz").status, 200u);
  auto c = s.player(0);
  ASSERT_TRUE(c);
  ASSERT_TRUE(s.proc.wait_log("websocket_upgrade", 5s)) << s.proc.log();
  // Every line is one JSON object with time, level, event and message.
  std::istringstream lines{s.proc.log()};
  std::string line;
  bool saw_request = false;
  bool saw_upgrade = false;
  size_t n = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() != '{')
      continue; // the demo's stdout text never goes here; be lenient
    ++n;
    json::error_code ec;
    auto jv = json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    auto& x = jv.as_object();
    for (auto key : {"time", "level", "event", "message"})
      EXPECT_TRUE(x.contains(key)) << key << " missing in " << line;
    auto event = json::value_to<std::string>(x.at("event"));
    if (event == "http_request" && x.at("path") == "/healthz") {
      saw_request = true;
      EXPECT_EQ(x.at("status"), 200);
      EXPECT_EQ(x.at("method"), "GET");
      EXPECT_EQ(x.at("address"), "127.0.0.1");
      EXPECT_TRUE(x.at("duration_seconds").is_number());
    }
    if (event == "websocket_upgrade") {
      saw_upgrade = true;
      EXPECT_EQ(x.at("status"), 101);
    }
  }
  EXPECT_GE(n, 3u);
  EXPECT_TRUE(saw_request) << s.proc.log();
  EXPECT_TRUE(saw_upgrade) << s.proc.log();
  EXPECT_EQ(s.proc.log().find("omega: info:"), std::string::npos);
}
