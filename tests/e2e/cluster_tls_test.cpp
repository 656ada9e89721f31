// End-to-end tests of the cluster port's TLS (issue 15): only a process
// with a certificate of the operator's CA gets a byte of CAF remoting; a
// missing, self-signed or foreign certificate and plain TCP get nothing, do
// not disturb the nodes, and never join; plain remoting is allowed on
// loopback only. Certificates come from omega-admin, as in production.

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/e2e/cert_dir.hpp"
#include "tests/e2e/server_process.hpp"
#include "tests/e2e/tls_probe.hpp"

using namespace omega::e2e;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> heartbeat_flags{"--heartbeat", "0.2",
                                               "--node-timeout", "1"};

/// Long enough for a refused client to see everything a node would send:
/// an admitted one gets the BASP handshake within milliseconds.
constexpr auto probe_wait = 1500ms;

/// The port from a node's "cluster node NAME listening on 127.0.0.1:PORT"
/// line (0 if there is none).
uint16_t cluster_port(const server_process& s) {
  auto log = s.log();
  auto at = log.find("cluster node ");
  const std::string mark = "listening on 127.0.0.1:";
  at = at == std::string::npos ? at : log.find(mark, at);
  if (at == std::string::npos)
    return 0;
  return static_cast<uint16_t>(
    std::strtoul(log.c_str() + at + mark.size(), nullptr, 10));
}

/// A TLS record of type alert (21): what a refused TLS handshake may send,
/// which carries no remoting.
bool only_a_tls_alert(const std::string& bytes) {
  return bytes.empty() || static_cast<unsigned char>(bytes[0]) == 0x15;
}

/// How an omega-server that refuses to start ended.
struct refusal {
  omega::test::exit_info exit;
  std::string log;
};

/// Runs omega-server with `flags` (and a listen address and data folder of
/// its own) and waits for it to exit by itself.
refusal start_and_expect_exit(const std::string& dir,
                              std::vector<std::string> flags) {
  std::vector<std::string> args{"--listen",    "127.0.0.1:0",     "--data-dir",
                                dir + "/data", "--password-hash", "minimal"};
  args.insert(args.end(), flags.begin(), flags.end());
  omega::test::child_process child;
  refusal result;
  if (!child.start(OMEGA_SERVER_PATH, args)) {
    result.log = child.error();
    return result;
  }
  // Returns early once the server closes its stderr, i.e. exits.
  child.wait_line("no such line", 10s);
  result.exit = child.stop(SIGKILL);
  result.log = child.log();
  return result;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

/// A TLS node n0 of the operator's CA (`certs_`), and a second CA
/// (`other_`) that no node trusts.
class cluster_tls_test : public testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << certs_.error();
    ASSERT_TRUE(other_.ok()) << other_.error();
    n0_ = start_node("n0", certs_.issue("n0"), {});
    ASSERT_TRUE(n0_);
    port_ = cluster_port(*n0_);
    ASSERT_NE(port_, 0) << n0_->log();
  }

  void TearDown() override {
    if (HasFailure())
      for (auto* s : {n0_.get(), n1_.get()})
        if (s)
          std::cerr << "--- node stderr:\n" << s->log() << std::endl;
  }

  /// Starts a node named `name` on a cluster port the kernel picks, with
  /// `security` (certificate flags or --cluster-insecure) and seeded with
  /// `peers`; null (after a test failure) if it does not start.
  std::unique_ptr<server_process> start_node(const std::string& name,
                                             std::vector<std::string> security,
                                             std::vector<uint16_t> peers) {
    EXPECT_FALSE(security.empty()) << certs_.error() << other_.error();
    std::vector<std::string> flags{"--node-name", name, "--cluster-listen",
                                   "127.0.0.1:0"};
    for (auto p : peers) {
      flags.push_back("--cluster-peer");
      flags.push_back("127.0.0.1:" + std::to_string(p));
    }
    flags.insert(flags.end(), heartbeat_flags.begin(), heartbeat_flags.end());
    flags.insert(flags.end(), security.begin(), security.end());
    auto s = std::make_unique<server_process>();
    if (!s->start(flags)) {
      ADD_FAILURE() << name << ": " << s->error();
      return nullptr;
    }
    return s;
  }

  cert_dir certs_;
  cert_dir other_;
  std::unique_ptr<server_process> n0_;
  std::unique_ptr<server_process> n1_;
  uint16_t port_ = 0;
};

// The control for the refusals below: a certificate of the CA is admitted
// and the node speaks BASP at once. Without it, "got nothing" would also
// pass against a port that never answers anyone.
TEST_F(cluster_tls_test, a_certificate_of_the_ca_gets_the_remoting_handshake) {
  ASSERT_FALSE(certs_.issue("probe").empty());
  auto got = tls_probe(port_, certs_.cert("probe"), certs_.key("probe"),
                       certs_.ca(), probe_wait);
  EXPECT_TRUE(got.handshake) << got.error;
  EXPECT_GE(got.received.size(), 16u) << got.error;
}

TEST_F(cluster_tls_test, a_client_without_a_certificate_gets_nothing) {
  auto got = tls_probe(port_, "", "", certs_.ca(), probe_wait);
  EXPECT_TRUE(got.connected) << got.error;
  EXPECT_EQ(got.received.size(), 0u);
  EXPECT_FALSE(got.error.empty());
}

TEST_F(cluster_tls_test, a_certificate_of_another_ca_gets_nothing) {
  ASSERT_FALSE(other_.issue("n1").empty());
  // It even trusts the right CA, so its own side of the handshake passes.
  auto got = tls_probe(port_, other_.cert("n1"), other_.key("n1"), certs_.ca(),
                       probe_wait);
  EXPECT_TRUE(got.connected) << got.error;
  EXPECT_EQ(got.received.size(), 0u);
  EXPECT_FALSE(got.error.empty());
}

TEST_F(cluster_tls_test, a_self_signed_certificate_gets_nothing) {
  auto got = tls_probe(port_, other_.ca(), other_.ca_key(), certs_.ca(),
                       probe_wait);
  EXPECT_TRUE(got.connected) << got.error;
  EXPECT_EQ(got.received.size(), 0u);
  EXPECT_FALSE(got.error.empty());
}

// A node does not accept a peer whose certificate the CA did not sign, and
// a client does not accept such a node either.
TEST_F(cluster_tls_test, a_client_refuses_a_node_of_another_ca) {
  ASSERT_FALSE(certs_.issue("probe").empty());
  auto got = tls_probe(port_, certs_.cert("probe"), certs_.key("probe"),
                       other_.ca(), probe_wait);
  EXPECT_FALSE(got.handshake);
  EXPECT_EQ(got.received.size(), 0u);
}

TEST_F(cluster_tls_test, plain_tcp_gets_no_remoting) {
  // The control: a plain (--cluster-insecure) node greets a plain client
  // with its BASP handshake at once.
  auto plain = start_node("plain", {"--cluster-insecure"}, {});
  ASSERT_TRUE(plain);
  auto greeted = plain_probe(cluster_port(*plain), "", probe_wait);
  EXPECT_GE(greeted.received.size(), 16u) << greeted.error;
  EXPECT_FALSE(only_a_tls_alert(greeted.received));
  // The TLS node sends nothing to a silent client, and at most an alert to
  // one that speaks BASP's client handshake (or anything else) in plain.
  auto silent = plain_probe(port_, "", probe_wait);
  EXPECT_EQ(silent.received.size(), 0u);
  auto talker = plain_probe(port_, greeted.received, probe_wait);
  EXPECT_TRUE(only_a_tls_alert(talker.received)) << talker.received.size();
}

// Refused handshakes are no denial of service: the nodes stay connected.
// (Before the OpenSSL error queue was cleared before each call, every one
// of these made n0 and n1 drop each other.)
TEST_F(cluster_tls_test, refused_clients_leave_the_nodes_connected) {
  n1_ = start_node("n1", certs_.issue("n1"), {port_});
  ASSERT_TRUE(n1_);
  ASSERT_TRUE(n0_->wait_log("node n1 joined", 10s));
  ASSERT_TRUE(n1_->wait_log("node n0 joined", 10s));
  ASSERT_FALSE(other_.issue("x").empty());
  for (int i = 0; i < 3; ++i) {
    tls_probe(port_, "", "", certs_.ca(), 300ms);
    tls_probe(port_, other_.cert("x"), other_.key("x"), certs_.ca(), 300ms);
    plain_probe(port_, "GET / HTTP/1.0\r\n\r\n", 300ms);
  }
  // Past --node-timeout (1 s) plus a heartbeat, so a broken link shows.
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(contains(n0_->log(), "left")) << n0_->log();
  EXPECT_FALSE(contains(n1_->log(), "left")) << n1_->log();
}

TEST_F(cluster_tls_test, nodes_without_a_certificate_of_the_ca_never_join) {
  // Each intruder seeds n0 and retries every second: one with a consistent
  // set of files from another CA, one without TLS.
  auto foreign = start_node("foreign", other_.issue("foreign"), {port_});
  ASSERT_TRUE(foreign);
  auto plain = start_node("plain", {"--cluster-insecure"}, {port_});
  ASSERT_TRUE(plain);
  // The control: an honest node joins meanwhile.
  n1_ = start_node("n1", certs_.issue("n1"), {port_});
  ASSERT_TRUE(n1_);
  ASSERT_TRUE(n0_->wait_log("node n1 joined", 10s));
  std::this_thread::sleep_for(3s);
  auto log = n0_->log();
  EXPECT_FALSE(contains(log, "node foreign joined")) << log;
  EXPECT_FALSE(contains(log, "node plain joined")) << log;
  EXPECT_FALSE(contains(foreign->log(), "joined")) << foreign->log();
  EXPECT_FALSE(contains(plain->log(), "joined")) << plain->log();
  EXPECT_FALSE(contains(log, "left")) << log;
}

TEST(cluster_tls_startup, insecure_remoting_off_loopback_is_refused) {
  cert_dir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  auto wildcard = start_and_expect_exit(
    dir.path(), {"--node-name", "n0", "--cluster-listen", "0.0.0.0:0",
                 "--cluster-insecure"});
  EXPECT_TRUE(wildcard.exit.exited);
  EXPECT_EQ(wildcard.exit.code, 2);
  EXPECT_TRUE(contains(wildcard.log, "--cluster-insecure is only allowed"))
    << wildcard.log;
  // A loopback port whose peer is elsewhere would send plain remoting
  // across the network too.
  auto remote_peer = start_and_expect_exit(
    dir.path(), {"--node-name", "n0", "--cluster-listen", "127.0.0.1:0",
                 "--cluster-peer", "192.0.2.1:7000", "--cluster-insecure"});
  EXPECT_EQ(remote_peer.exit.code, 2);
  EXPECT_TRUE(contains(remote_peer.log, "--cluster-insecure is only allowed"))
    << remote_peer.log;
}

TEST(cluster_tls_startup, a_cluster_without_certificates_is_refused) {
  cert_dir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  auto none = start_and_expect_exit(
    dir.path(), {"--node-name", "n0", "--cluster-listen", "127.0.0.1:0"});
  EXPECT_TRUE(none.exit.exited);
  EXPECT_EQ(none.exit.code, 2);
  EXPECT_TRUE(contains(none.log, "needs --cluster-cert, --cluster-key and "
                                 "--cluster-ca"))
    << none.log;
  // Half a set is no set.
  ASSERT_FALSE(dir.issue("n0").empty());
  auto no_ca = start_and_expect_exit(
    dir.path(),
    {"--node-name", "n0", "--cluster-listen", "127.0.0.1:0", "--cluster-cert",
     dir.cert("n0"), "--cluster-key", dir.key("n0")});
  EXPECT_EQ(no_ca.exit.code, 2) << no_ca.log;
}

TEST(cluster_tls_startup, certificates_that_do_not_fit_are_refused) {
  cert_dir ours;
  cert_dir theirs;
  ASSERT_TRUE(ours.ok() && theirs.ok()) << ours.error() << theirs.error();
  ASSERT_FALSE(ours.issue("n0").empty());
  ASSERT_FALSE(ours.issue("n1").empty());
  ASSERT_FALSE(theirs.issue("n0").empty());
  auto run = [&](const std::string& cert, const std::string& key,
                 const std::string& ca) {
    return start_and_expect_exit(ours.path(),
                                 {"--node-name", "n0", "--cluster-listen",
                                  "127.0.0.1:0", "--cluster-cert", cert,
                                  "--cluster-key", key, "--cluster-ca", ca});
  };
  auto foreign = run(theirs.cert("n0"), theirs.key("n0"), ours.ca());
  EXPECT_EQ(foreign.exit.code, 2);
  EXPECT_TRUE(contains(foreign.log, "does not verify against")) << foreign.log;
  auto wrong_key = run(ours.cert("n0"), ours.key("n1"), ours.ca());
  EXPECT_EQ(wrong_key.exit.code, 2);
  EXPECT_TRUE(contains(wrong_key.log, "is not the key of")) << wrong_key.log;
  auto missing = run(ours.cert("n0"), ours.key("n0"), ours.path() + "/nope");
  EXPECT_EQ(missing.exit.code, 2);
  EXPECT_TRUE(contains(missing.log, "cannot load the CA file")) << missing.log;
}

TEST(cluster_admin, certificates_are_private_and_never_overwritten) {
  cert_dir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  auto flags = dir.issue("n0");
  std::vector<std::string> expected{"--cluster-cert", dir.cert("n0"),
                                    "--cluster-key",  dir.key("n0"),
                                    "--cluster-ca",   dir.ca()};
  EXPECT_EQ(flags, expected);
  struct stat st {};
  ASSERT_EQ(stat(dir.key("n0").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir.ca_key().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = omega::test::run_program(
    OMEGA_ADMIN_PATH, {"cluster", "issue-cert", dir.path(), "n0"});
  EXPECT_EQ(again.status, 1);
  auto ca_again = omega::test::run_program(OMEGA_ADMIN_PATH,
                                           {"cluster", "init-ca", dir.path()});
  EXPECT_EQ(ca_again.status, 1);
  auto bad_name = omega::test::run_program(
    OMEGA_ADMIN_PATH, {"cluster", "issue-cert", dir.path(), "../evil"});
  EXPECT_EQ(bad_name.status, 2);
}
