/// Smoke tests of the benchmark tools: omega-bench against the real
/// omega-server and against plain-relay, with tiny loads for a second or
/// two. They check that the tools run end to end and report something, so
/// that scripts/bench.sh does not rot between benchmark runs; they measure
/// nothing.

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "tests/support/process.hpp"

#ifndef OMEGA_SERVER_PATH
#  error "OMEGA_SERVER_PATH must name the omega-server binary"
#endif
#ifndef OMEGA_ADMIN_PATH
#  error "OMEGA_ADMIN_PATH must name the omega-admin binary"
#endif
#ifndef OMEGA_BENCH_PATH
#  error "OMEGA_BENCH_PATH must name the omega-bench binary"
#endif
#ifndef PLAIN_RELAY_PATH
#  error "PLAIN_RELAY_PATH must name the plain-relay binary"
#endif

namespace {

using omega::test::child_process;
using omega::test::run_program;
using omega::test::run_result;
using std::chrono::milliseconds;

/// Runs a program to completion (bounded by `timeout`), capturing stdout;
/// `args[0]` is the program, which keeps each call spelled as a command line.
run_result run(std::vector<std::string> args,
               milliseconds timeout = milliseconds{30000}) {
  auto path = std::move(args.front());
  args.erase(args.begin());
  return run_program(path, args, timeout);
}

std::string trimmed(std::string x) {
  while (!x.empty() && (x.back() == '\n' || x.back() == '\r'))
    x.pop_back();
  return x;
}

/// The value of `key` in the RESULT line of `out`, or "" if absent.
std::string result_field(const std::string& out, const std::string& key) {
  std::istringstream lines{out};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.compare(0, 7, "RESULT ") != 0)
      continue;
    auto pos = line.find(" " + key + "=");
    if (pos == std::string::npos)
      return {};
    pos += key.size() + 2;
    return line.substr(pos, line.find(' ', pos) - pos);
  }
  return {};
}

double number(const std::string& x) {
  return x.empty() ? -1 : std::strtod(x.c_str(), nullptr);
}

/// A server child (omega-server or plain-relay) that reports the port the
/// kernel picked on stderr.
class server_child {
public:
  /// Starts `args` and waits for `prefix` followed by a port in its stderr.
  bool start(const std::vector<std::string>& args, const std::string& prefix) {
    if (!child_.start(args.front(), {args.begin() + 1, args.end()}))
      return false;
    port_ = child_.wait_port(prefix, milliseconds{10000});
    return port_ != 0;
  }

  void stop() {
    child_.stop(SIGTERM, milliseconds{5000});
  }

  pid_t pid() const {
    return child_.pid();
  }

  uint16_t port() const {
    return port_;
  }

  std::string log() const {
    return child_.log();
  }

private:
  child_process child_;
  uint16_t port_ = 0;
};

/// A fresh data folder with one game and 20 accounts, and omega-server
/// running on it.
class bench_smoke : public testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/omega-bench-smoke-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    auto game = run({OMEGA_ADMIN_PATH, "--data-dir", dir_, "game", "add",
                     "Bench Game", "--developer", "Bench Dev"});
    ASSERT_EQ(game.status, 0);
    ugi_ = trimmed(game.out);
    ASSERT_FALSE(ugi_.empty());
    auto users = run({OMEGA_ADMIN_PATH, "--data-dir", dir_, "user", "add-many",
                      "bench", "20"});
    ASSERT_EQ(users.status, 0);
    tokens_ = dir_ + "/tokens.tsv";
    std::ofstream{tokens_} << users.out;
  }

  void TearDown() override {
    server_.stop();
    plain_.stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  /// Starts omega-server on the data folder; `extra` adds flags.
  void start_omega(const std::vector<std::string>& extra = {}) {
    // A benchmark drives each connection far beyond any client's rate: the
    // limits against abuse are off, as in scripts/bench.sh.
    std::vector<std::string> args{OMEGA_SERVER_PATH,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--data-dir",
                                  dir_,
                                  "--password-hash",
                                  "minimal",
                                  "--rate-relay",
                                  "0",
                                  "--rate-keepalive",
                                  "0",
                                  "--rate-init",
                                  "0",
                                  "--rate-lobby",
                                  "0",
                                  "--rate-query",
                                  "0",
                                  "--lobby-create-rate",
                                  "0",
                                  "--broadcast-rate",
                                  "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(server_.start(args, "omega: info: listening on 127.0.0.1:"))
      << server_.log();
  }

  /// Makes `NAME.pem` and `NAME.key` in the data folder, a self-signed
  /// certificate for 127.0.0.1 as scripts/bench.sh makes it; returns the
  /// certificate's path, or "" if openssl fails.
  std::string make_cert(const std::string& name) {
    auto cert = dir_ + "/" + name + ".pem";
    auto made = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec",
                     "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                     dir_ + "/" + name + ".key", "-out", cert, "-days", "2",
                     "-subj", "/CN=127.0.0.1", "-addext",
                     "subjectAltName=IP:127.0.0.1", "-batch"});
    return made.status == 0 ? cert : std::string{};
  }

  /// omega-server serving wss:// with the certificate `name`.
  void start_omega_tls(const std::string& name) {
    auto cert = make_cert(name);
    ASSERT_FALSE(cert.empty());
    start_omega({"--tls-cert", cert, "--tls-key", dir_ + "/" + name + ".key"});
  }

  std::vector<std::string> omega_bench(const std::string& scenario) {
    return {OMEGA_BENCH_PATH,
            "--target",
            "omega",
            "--port",
            std::to_string(server_.port()),
            "--ugi",
            ugi_,
            "--tokens",
            tokens_,
            "--server-pid",
            std::to_string(server_.pid()),
            "--scenario",
            scenario};
  }

  std::string dir_;
  std::string ugi_;
  std::string tokens_;
  server_child server_;
  server_child plain_;
};

TEST_F(bench_smoke, omega_relay_reports_messages) {
  start_omega();
  auto args = omega_bench("relay");
  args.insert(args.end(), {"--lobbies", "2", "--peers", "1", "--inflight", "2",
                           "--payload-bytes", "256", "--warmup", "0.5",
                           "--duration", "1.5"});
  auto res = run(args);
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_GT(number(result_field(res.out, "msgs")), 0) << res.out;
  EXPECT_GT(number(result_field(res.out, "p50_us")), 0) << res.out;
  EXPECT_EQ(result_field(res.out, "errors"), "0") << res.out;
  // With --server-pid the server's CPU time is known.
  EXPECT_GE(number(result_field(res.out, "server_cpu_s")), 0) << res.out;
}

TEST_F(bench_smoke, omega_relay_over_tls_reports_messages) {
  start_omega_tls("server");
  auto args = omega_bench("relay");
  args.insert(args.end(),
              {"--tls", "--tls-ca", dir_ + "/server.pem", "--lobbies", "2",
               "--peers", "1", "--inflight", "2", "--payload-bytes", "256",
               "--warmup", "0.3", "--duration", "1"});
  auto res = run(args);
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(result_field(res.out, "tls"), "1") << res.out;
  EXPECT_GT(number(result_field(res.out, "msgs")), 0) << res.out;
  EXPECT_EQ(result_field(res.out, "errors"), "0") << res.out;
}

TEST_F(bench_smoke, omega_tls_refuses_an_untrusted_certificate) {
  start_omega_tls("server");
  auto other = make_cert("other");
  ASSERT_FALSE(other.empty());
  auto args = omega_bench("relay");
  args.insert(args.end(), {"--tls", "--tls-ca", other, "--lobbies", "1",
                           "--duration", "1", "--setup-timeout", "5"});
  auto res = run(args);
  EXPECT_EQ(res.status, 1) << res.out;
  EXPECT_EQ(result_field(res.out, "msgs"), "0") << res.out;
  EXPECT_GT(number(result_field(res.out, "errors")), 0) << res.out;
}

TEST_F(bench_smoke, omega_idle_reports_memory) {
  start_omega();
  auto args = omega_bench("idle");
  args.insert(args.end(), {"--connections", "10", "--settle", "0.2"});
  auto res = run(args);
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(result_field(res.out, "connections"), "10") << res.out;
  EXPECT_GT(number(result_field(res.out, "rss_after_kb")), 0) << res.out;
}

// Disabled while omega has a known bug: a destroyed LOBBY that waits for its
// members to drain becomes unreachable once the GAME forgets it, CAF ends it
// with exit_reason::unreachable, and the GAME's exit handler, no longer
// finding it among its lobbies, takes that exit for its own shutdown and
// quits, so back-to-back handshakes get "service unavailable" (CONFIG_HOST),
// LOBBY_NOTFOUND or NOT_HOST. Run it with --gtest_also_run_disabled_tests.
TEST_F(bench_smoke, omega_handshake_stops_at_count) {
  start_omega();
  auto args = omega_bench("handshake");
  args.insert(args.end(), {"--count", "5", "--warmup", "0", "--duration", "5"});
  auto res = run(args);
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(result_field(res.out, "handshakes"), "5") << res.out;
  EXPECT_EQ(result_field(res.out, "inits"), "10") << res.out;
}

TEST_F(bench_smoke, plain_relay_reports_messages) {
  ASSERT_TRUE(plain_.start({PLAIN_RELAY_PATH, "--listen", "127.0.0.1:0"},
                           "plain-relay: listening on 127.0.0.1:"))
    << plain_.log();
  auto res = run({OMEGA_BENCH_PATH, "--target", "plain", "--port",
                  std::to_string(plain_.port()), "--server-pid",
                  std::to_string(plain_.pid()), "--scenario", "relay",
                  "--lobbies", "2", "--peers", "1", "--inflight", "2",
                  "--warmup", "0.3", "--duration", "1"});
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_GT(number(result_field(res.out, "msgs")), 0) << res.out;
  EXPECT_EQ(result_field(res.out, "errors"), "0") << res.out;
}

} // namespace
