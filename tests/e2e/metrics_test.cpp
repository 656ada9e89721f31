// End-to-end tests of `/metrics` (issue 16): the text passes `promtool
// check metrics` (Debian's prometheus package), the counters and gauges
// follow real traffic, and only allowed addresses or the token's bearer may
// read them.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/e2e/server_process.hpp"
#include "tests/e2e/ws_client.hpp"

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace omega::e2e;
using namespace std::chrono_literals;

namespace {

/// The value of the series `series` (name and labels exactly as the text
/// format writes them, e.g. `omega_lobbies` or
/// `omega_connections{state="host"}`); -1 if it is not there.
double value_of(const std::string& text, const std::string& series) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, series.size() + 1, series + " ") == 0)
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  return -1;
}

/// Runs `promtool check metrics` on `text`; its exit status and output.
run_result promtool(const std::string& text) {
  char tmpl[] = "/tmp/omega-metrics-XXXXXX";
  auto fd = mkstemp(tmpl);
  if (fd < 0)
    return {};
  close(fd);
  std::ofstream{tmpl} << text;
  auto r = run_program(
    "/bin/sh",
    {"-c", std::string{"promtool check metrics < "} + tmpl + " 2>&1"});
  std::remove(tmpl);
  return r;
}

http_result
scrape(uint16_t port,
       const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return http_request(port, http::verb::get, "/metrics", {}, headers);
}

struct metered_server {
  server_process proc;
  std::string ugi;
  std::vector<admin_account> accounts;

  bool start(const std::vector<std::string>& flags = {}) {
    if (!proc.start(flags))
      return false;
    ugi = proc.add_game("Metered", "Tester");
    accounts
      = parse_accounts(proc.admin({"user", "add-many", "metered", "2"}).out);
    return !ugi.empty() && accounts.size() == 2;
  }

  std::string path() const {
    return "/api/v0/signaling?ugi=" + ugi;
  }
};

} // namespace

TEST(metrics_test, the_text_passes_promtool_and_follows_the_traffic) {
  metered_server s;
  ASSERT_TRUE(s.start()) << s.proc.error();
  auto port = s.proc.port();
  ws_client host{"host"};
  ws_client peer{"peer"};
  ws_client stranger{"stranger"};
  ASSERT_TRUE(host.connect(port, s.path()));
  ASSERT_TRUE(peer.connect(port, s.path()));
  ASSERT_TRUE(stranger.connect(port, s.path()));
  host.send_command("INIT", json::value(s.accounts[0].token));
  host.expect("INIT_OK");
  peer.send_command("INIT", json::value(s.accounts[1].token));
  peer.expect("INIT_OK");
  stranger.send_command("INIT", json::value("not a token"));
  stranger.expect("TOKEN_INVALID");
  host.send_command("CONFIG_HOST", json::object{{"lobby_id", "metered"}});
  host.expect("ACK_HOST");
  peer.expect("NEW_HOST");
  peer.send_command("CONFIG_PEER", json::object{{"lobby_id", "nowhere"}});
  peer.expect("LOBBY_NOTFOUND");
  peer.send_command("CONFIG_PEER", json::object{{"lobby_id", "metered"}});
  peer.expect("ACK_PEER");
  host.expect("NEW_PEER");
  host.send_command("MAKE_OFFER", json::value("offer"), s.accounts[1].id);
  host.expect("RELAY_OK");
  peer.expect("MAKE_OFFER");
  EXPECT_EQ(http_request(port, http::verb::get, "/healthz", {}).status, 200u);

  auto res = scrape(port);
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("content-type"),
            "text/plain; version=0.0.4; charset=utf-8");
  auto& text = res.body;
  auto check = promtool(text);
  EXPECT_EQ(check.status, 0) << check.out;
  EXPECT_EQ(check.out, "") << "promtool's lint found something";

  EXPECT_EQ(value_of(text, R"(omega_build_info{version="0.1.0"})"), 1);
  EXPECT_EQ(value_of(text, R"(omega_connections{state="host"})"), 1);
  EXPECT_EQ(value_of(text, R"(omega_connections{state="peer"})"), 1);
  EXPECT_EQ(value_of(text, R"(omega_connections{state="unauthenticated"})"), 1);
  EXPECT_EQ(value_of(text, "omega_lobbies"), 1);
  EXPECT_EQ(value_of(text, "omega_games"), 1);
  EXPECT_EQ(value_of(text, "omega_draining"), 0);
  EXPECT_EQ(value_of(text, R"(omega_frames_received_total{opcode="INIT"})"), 3);
  EXPECT_EQ(
    value_of(text, R"(omega_frames_received_total{opcode="MAKE_OFFER"})"), 1);
  EXPECT_EQ(value_of(text, R"(omega_frames_sent_total{opcode="MAKE_OFFER"})"),
            1);
  EXPECT_EQ(value_of(text, R"(omega_frames_sent_total{opcode="RELAY_OK"})"), 1);
  EXPECT_GT(value_of(text, "omega_received_bytes_total"), 100);
  EXPECT_GT(value_of(text, "omega_sent_bytes_total"), 100);
  EXPECT_EQ(value_of(text, "omega_relay_delay_seconds_count"), 1);
  EXPECT_EQ(
    value_of(text, R"(omega_error_replies_total{code="LOBBY_NOTFOUND"})"), 1);
  EXPECT_EQ(
    value_of(text, R"(omega_error_replies_total{code="TOKEN_INVALID"})"), 1);
  EXPECT_EQ(
    value_of(text, R"(omega_auth_failures_total{reason="token_invalid"})"), 1);
  EXPECT_EQ(
    value_of(text,
             R"(omega_http_requests_total{route="/healthz",status="200"})"),
    1);
  EXPECT_EQ(
    value_of(text,
             R"(omega_http_requests_total{route="signaling",status="101"})"),
    3);
  EXPECT_EQ(value_of(text, R"(omega_rejections_total{limit="lobby_rate"})"), 0);
  // No TLS, no cluster: no such series.
  EXPECT_EQ(value_of(text, "omega_tls_certificate_expiry_timestamp_seconds"),
            -1);
  EXPECT_EQ(value_of(text, "omega_cluster_peers"), -1);

  // Departures and close codes show in the next scrape.
  peer.close(1000);
  host.expect("PEER_GONE");
  host.drop();
  std::this_thread::sleep_for(300ms);
  auto later = scrape(port).body;
  EXPECT_EQ(value_of(later, R"(omega_connections{state="host"})"), 0);
  EXPECT_EQ(value_of(later, R"(omega_connections{state="peer"})"), 0);
  EXPECT_EQ(value_of(later, "omega_lobbies"), 0);
  EXPECT_EQ(
    value_of(later, R"(omega_websocket_closes_total{by="client",code="1000"})"),
    1);
  EXPECT_EQ(value_of(later,
                     R"(omega_websocket_closes_total{by="none",code="1006"})"),
            1);
}

TEST(metrics_test, only_allowed_addresses_or_the_token_may_scrape) {
  char tmpl[] = "/tmp/omega-metrics-token-XXXXXX";
  auto fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string token = "metrics-token-0123456789";
  std::ofstream{tmpl} << token << "\n";
  metered_server s;
  ASSERT_TRUE(
    s.start({"--metrics-allow", "none", "--metrics-token-file", tmpl}))
    << s.proc.error();
  std::remove(tmpl);
  EXPECT_EQ(scrape(s.proc.port()).status, 403u);
  EXPECT_EQ(scrape(s.proc.port(), {{"Authorization", "Bearer wrong"}}).status,
            403u);
  auto ok = scrape(s.proc.port(), {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(ok.status, 200u);
  EXPECT_NE(ok.body.find("omega_build_info"), std::string::npos);
  // An address outside the list, without a token: 403 as well.
  metered_server t;
  ASSERT_TRUE(t.start({"--metrics-allow", "10.0.0.0/8"})) << t.proc.error();
  EXPECT_EQ(scrape(t.proc.port()).status, 403u);
}

TEST(metrics_test, a_draining_server_says_so) {
  metered_server s;
  ASSERT_TRUE(s.start({"--drain-timeout", "30"})) << s.proc.error();
  ws_client host{"host"};
  ASSERT_TRUE(host.connect(s.proc.port(), s.path()));
  host.send_command("INIT", json::value(s.accounts[0].token));
  host.expect("INIT_OK");
  host.send_command("CONFIG_HOST", json::object{{"lobby_id", "kept"}});
  host.expect("ACK_HOST");
  kill(s.proc.pid(), SIGTERM);
  ASSERT_TRUE(s.proc.wait_log("draining", 5s));
  auto text = scrape(s.proc.port()).body;
  EXPECT_EQ(value_of(text, "omega_draining"), 1);
  EXPECT_EQ(value_of(text, R"(omega_connections{state="host"})"), 1);
}
