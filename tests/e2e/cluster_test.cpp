// End-to-end tests of a cluster: three real omega-server processes on
// 127.0.0.1 joined through CAF remoting over TLS (certificates from
// omega-admin), real WebSocket clients on different nodes, and nodes killed
// (SIGKILL) or frozen (SIGSTOP) mid-session.

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "actors/directory.hpp"
#include "tests/e2e/cert_dir.hpp"
#include "tests/e2e/server_process.hpp"
#include "tests/e2e/ws_client.hpp"

namespace json = boost::json;
using namespace omega::e2e;
using namespace std::chrono_literals;

namespace {

/// Heartbeat settings of the test clusters: a silent node is dropped after
/// one second.
const std::vector<std::string> heartbeat_flags{"--heartbeat", "0.2",
                                               "--node-timeout", "1"};

/// Long enough for a loaded 2-core machine to notice a dead node (the
/// kernel resets the connections at once; a frozen node takes the 1 s
/// timeout plus a heartbeat).
constexpr auto detect_timeout = 8000ms;

/// How long a command may wait while the survivors move a lost node's game:
/// a lookup can wait out a few peer timeouts (3 s each) for the dead node
/// before every node has dropped it from its view.
constexpr auto failover_timeout = 15000ms;

/// A free TCP port on 127.0.0.1 for a node's remoting; a restarted node
/// must reuse its port, so the kernel cannot pick it at start-up. It comes
/// from below the kernel's ephemeral range: a port the kernel picks for a
/// `:0` listener or an outgoing connection (the nodes' HTTP ports, the test
/// clients) can then never take it between this check and the node's start.
uint16_t free_port() {
  int low = 32768;
  if (std::ifstream range{"/proc/sys/net/ipv4/ip_local_port_range"}; range)
    range >> low;
  if (low <= 10001)
    low = 32768;
  std::mt19937 gen{std::random_device{}()};
  std::uniform_int_distribution<int> pick{10000, low - 1};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<uint16_t>(pick(gen));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    auto ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (ok)
      return port;
  }
  return 0;
}

std::string member(const json::object& obj, std::string_view key) {
  auto i = obj.find(key);
  if (i == obj.end() || !i->value().is_string())
    return {};
  return std::string{i->value().get_string()};
}

using account = admin_account;

/// The next frame as a JSON object, whatever its opcode (empty if none).
json::object next_frame(ws_client& c,
                        std::chrono::milliseconds timeout = default_timeout) {
  auto f = c.read(timeout);
  if (!f)
    return {};
  json::error_code ec;
  auto jv = json::parse(f->data, ec);
  if (ec || !jv.is_object())
    return {};
  return jv.as_object();
}

/// The next frame whose opcode is `op`, skipping what a fresh client may
/// see meanwhile: broadcasts of other lobbies of the game (NEW_HOST,
/// LOBBY_CLOSE) and, in a cl5 game, ANTICIPATE. Empty if none came.
json::object next_of(ws_client& c, std::string_view op) {
  for (int i = 0; i < 20; ++i) {
    auto f = next_frame(c);
    auto got = member(f, "opcode");
    if (got == op)
      return f;
    if (got != "NEW_HOST" && got != "LOBBY_CLOSE" && got != "ANTICIPATE") {
      ADD_FAILURE() << c.name() << ": expected " << op << ", got "
                    << (f.empty() ? c.error() : json::serialize(f));
      return {};
    }
  }
  return {};
}

/// A connected client and its account.
struct player {
  account acc;
  std::unique_ptr<ws_client> ws;
  ws_client* operator->() {
    return ws.get();
  }
};

} // namespace

/// Three nodes n0, n1, n2; n1 knows n0, n2 knows n0 and n1, so the mesh
/// forms from one-sided seeds. Accounts and the game are created in n0's
/// data folder only: every other node gets them from n0 by CAF messages.
class cluster_test : public testing::Test {
protected:
  static constexpr size_t nodes = 3;

  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << certs_.error();
    for (size_t i = 0; i < nodes; ++i) {
      names_[i] = "n" + std::to_string(i);
      cluster_ports_[i] = free_port();
      ASSERT_NE(cluster_ports_[i], 0);
      cert_flags_[i] = certs_.issue(names_[i]);
      ASSERT_EQ(cert_flags_[i].size(), 6u) << certs_.error();
    }
    for (size_t i = 0; i < nodes; ++i) {
      ASSERT_TRUE(start_node(i));
      ASSERT_TRUE(node(i).wait_log("listening on 127.0.0.1:"
                                     + std::to_string(cluster_ports_[i])
                                     + " (TLS)",
                                   1s))
        << node(i).log();
    }
    for (size_t i = 0; i < nodes; ++i) {
      for (size_t j = 0; j < nodes; ++j) {
        if (i != j) {
          ASSERT_TRUE(node(i).wait_log("node " + names_[j] + " joined", 10s))
            << names_[i] << " never saw " << names_[j] << ":\n"
            << node(i).log();
        }
      }
    }
    ugi_ = node(0).add_game("Cluster Game", "Cluster Dev");
    ASSERT_FALSE(ugi_.empty());
    auto out = node(0).admin({"user", "add-many", "cl", "12"});
    accounts_ = parse_accounts(out.out);
    ASSERT_EQ(accounts_.size(), 12u) << out.out;
  }

  void TearDown() override {
    if (HasFailure())
      for (size_t i = 0; i < nodes; ++i)
        if (servers_[i])
          std::cerr << "--- " << names_[i] << " stderr:\n"
                    << servers_[i]->log() << std::endl;
  }

  /// Starts (or restarts) node `i` with its fixed name, remoting port and
  /// data folder, seeded with the nodes before it.
  bool start_node(size_t i) {
    std::string dir;
    if (servers_[i]) {
      servers_[i]->stop(SIGKILL);
      dir = servers_[i]->hand_over_data_dir();
    }
    std::vector<std::string> flags{"--node-name", names_[i], "--cluster-listen",
                                   "127.0.0.1:"
                                     + std::to_string(cluster_ports_[i])};
    for (size_t j = 0; j < i; ++j) {
      flags.push_back("--cluster-peer");
      flags.push_back("127.0.0.1:" + std::to_string(cluster_ports_[j]));
    }
    flags.insert(flags.end(), heartbeat_flags.begin(), heartbeat_flags.end());
    flags.insert(flags.end(), cert_flags_[i].begin(), cert_flags_[i].end());
    servers_[i] = std::make_unique<server_process>();
    if (!servers_[i]->start(flags, 10s, dir)) {
      ADD_FAILURE() << servers_[i]->error();
      return false;
    }
    return true;
  }

  server_process& node(size_t i) {
    return *servers_[i];
  }

  /// The node that owns the test game while all nodes are up.
  size_t owner() const {
    std::vector<std::string> all(names_.begin(), names_.end());
    auto name = omega::owner_of(ugi_, all);
    for (size_t i = 0; i < nodes; ++i)
      if (names_[i] == name)
        return i;
    return 0;
  }

  /// The game's owner O and the two other nodes X and Y.
  std::tuple<size_t, size_t, size_t> roles() const {
    auto o = owner();
    return {o, (o + 1) % nodes, (o + 2) % nodes};
  }

  /// Connects the next unused account to node `i` and authenticates it.
  player join(size_t i, const std::string& name) {
    player p{accounts_.at(next_++), std::make_unique<ws_client>(name)};
    EXPECT_TRUE(p->connect(node(i).port(), "/api/v0/signaling?ugi=" + ugi_))
      << name << ": " << p->error();
    p->send_command("INIT", json::value(p.acc.token), {}, "init");
    auto f = p->expect("INIT_OK");
    EXPECT_EQ(member(f, "listener"), "init");
    return p;
  }

  void host(player& h, const std::string& lobby, bool reclaim = false,
            std::chrono::milliseconds timeout = default_timeout) {
    json::object cfg{{"lobby_id", lobby},
                     {"allow_host_reclaim", reclaim},
                     {"allow_peers_to_claim_host", reclaim},
                     {"max_peers", 8}};
    h->send_command("CONFIG_HOST", json::value(std::move(cfg)), {}, "host");
    auto f = h->expect("ACK_HOST", timeout);
    EXPECT_EQ(member(f, "listener"), "host") << json::serialize(f);
  }

  void enter(player& p, player& h, const std::string& lobby) {
    p->send_command("CONFIG_PEER", json::object{{"lobby_id", lobby}}, {},
                    "peer");
    auto ack = p->expect("ACK_PEER");
    EXPECT_EQ(ack["payload"].as_object()["id"], json::value(h.acc.id))
      << json::serialize(ack);
    auto np = h->expect("NEW_PEER");
    EXPECT_EQ(np["payload"].as_object()["id"], json::value(p.acc.id))
      << json::serialize(np);
  }

  void relay(player& from, player& to, std::string_view op,
             json::value payload) {
    from->send_command(op, payload, to.acc.id, "r");
    EXPECT_EQ(member(from->expect("RELAY_OK"), "listener"), "r");
    auto got = to->expect(op);
    EXPECT_EQ(got["payload"], payload) << json::serialize(got);
    EXPECT_EQ(member(got, "origin"), from.acc.id) << json::serialize(got);
  }

  /// Relays a MAKE_OFFER in a new lobby `lobby` of `ugi` from a new host
  /// `ha` on node `hi` to a new peer `pa` on node `pi`, and returns the
  /// relayed frame's `origin` (null if the probe failed): an id string in a
  /// standard game, `{id, user}` in a cl5 one.
  json::value probe_origin(const std::string& ugi, size_t hi, size_t pi,
                           const account& ha, const account& pa,
                           const std::string& lobby) {
    ws_client h{"probe host@" + names_[hi]};
    ws_client p{"probe peer@" + names_[pi]};
    auto path = "/api/v0/signaling?ugi=" + ugi;
    if (!h.connect(node(hi).port(), path) || !p.connect(node(pi).port(), path))
      return nullptr;
    h.send_command("INIT", json::value(ha.token), {}, "init");
    p.send_command("INIT", json::value(pa.token), {}, "init");
    if (next_of(h, "INIT_OK").empty() || next_of(p, "INIT_OK").empty())
      return nullptr;
    h.send_command("CONFIG_HOST", json::object{{"lobby_id", lobby}}, {},
                   "host");
    if (next_of(h, "ACK_HOST").empty())
      return nullptr;
    p.send_command("CONFIG_PEER", json::object{{"lobby_id", lobby}}, {},
                   "peer");
    if (next_of(p, "ACK_PEER").empty() || next_of(h, "NEW_PEER").empty())
      return nullptr;
    h.send_command("MAKE_OFFER", json::object{{"sdp", "probe"}}, pa.id, "r");
    if (next_of(h, "RELAY_OK").empty())
      return nullptr;
    auto f = next_of(p, "MAKE_OFFER");
    auto i = f.find("origin");
    return i != f.end() ? i->value() : json::value(nullptr);
  }

  /// The cluster's CA and node certificates; declared first, so the folder
  /// outlives the nodes that read it.
  cert_dir certs_;
  std::array<std::vector<std::string>, nodes> cert_flags_;
  std::array<std::string, nodes> names_;
  std::array<uint16_t, nodes> cluster_ports_{};
  std::array<std::unique_ptr<server_process>, nodes> servers_;
  std::string ugi_;
  std::vector<account> accounts_;
  size_t next_ = 0;
};

TEST_F(cluster_test, clients_on_three_nodes_share_a_lobby) {
  // Host on n0, peers on n1 and n2: every relay crosses nodes.
  auto h = join(0, "host@n0");
  host(h, "room");
  auto p1 = join(1, "peer@n1");
  auto p2 = join(2, "peer@n2");
  // LOBBY_LIST and LOBBY_INFO answer the same on every node.
  p2->send_command("LOBBY_LIST", std::nullopt, {}, "list");
  auto list = p2->expect("LOBBY_LIST");
  EXPECT_EQ(list["payload"], json::array{"room"}) << json::serialize(list);
  enter(p1, h, "room");
  enter(p2, h, "room");
  relay(h, p1, "MAKE_OFFER", json::object{{"type", "offer"}, {"sdp", "v=0"}});
  relay(p1, h, "MAKE_ANSWER", json::object{{"type", "answer"}, {"sdp", "x"}});
  relay(h, p2, "ICE", json::object{{"candidate", "c"}, {"sdpMid", "0"}});
  relay(p2, h, "ICE", json::object{{"candidate", "d"}, {"sdpMid", "0"}});
  // A peer leaving on n2 reaches the host on n0 (PEER_GONE goes to the host
  // only), and the other peer hears nothing.
  p2->close();
  EXPECT_EQ(h->expect("PEER_GONE")["payload"], json::value(p2.acc.id));
  p1->send_command("KEEPALIVE", json::value("sync"));
  EXPECT_EQ(p1->expect("KEEPALIVE")["payload"], json::value("sync"));
}

TEST_F(cluster_test, a_session_resumes_through_another_node) {
  // The peer's socket on n1 dies without a close frame; its new socket
  // reaches n2 and takes the session over, while the host on n0 relays.
  auto h = join(0, "host@n0");
  host(h, "room");
  auto p = join(1, "peer@n1");
  enter(p, h, "room");
  p->send_command("RESUMABLE", std::nullopt, {}, "r");
  auto secret = std::string{
    p->expect("RESUMABLE")["payload"].as_object()["secret"].as_string()};
  p->drop();
  // Frames relayed before n1 notices went into the dead socket.
  std::this_thread::sleep_for(300ms);
  h->send_command("MAKE_OFFER", json::value("kept"), p.acc.id, "o");
  EXPECT_EQ(member(h->expect("RELAY_OK"), "listener"), "o");
  auto again = std::make_unique<ws_client>("peer@n2");
  ASSERT_TRUE(again->connect(node(2).port(), "/api/v0/signaling?ugi=" + ugi_));
  json::object creds;
  creds["token"] = p.acc.token;
  creds["secret"] = secret;
  again->send_command("RESUME", json::value(std::move(creds)), {}, "again");
  EXPECT_EQ(again->expect("INIT_OK")["payload"].as_object()["id"],
            json::value(p.acc.id));
  auto resumed = again->expect("RESUMED")["payload"].as_object();
  EXPECT_EQ(resumed["role"], json::value("peer"));
  EXPECT_EQ(resumed["lobby_id"], json::value("room"));
  EXPECT_EQ(again->expect("MAKE_OFFER")["payload"], json::value("kept"));
  player back{p.acc, std::move(again)};
  relay(h, back, "ICE", json::object{{"candidate", "c"}});
  relay(back, h, "MAKE_ANSWER", json::object{{"sdp", "a"}});
  h->send_command("KEEPALIVE", json::value("sync"));
  EXPECT_EQ(h->expect("KEEPALIVE")["payload"], json::value("sync"));
  back->close();
  EXPECT_EQ(h->expect("PEER_GONE")["payload"], json::value(p.acc.id));
}

TEST_F(cluster_test, a_pipelined_burst_behind_init_is_paused_not_refused) {
  // On a cluster node INIT waits for the other nodes (one session per
  // account), so most of a burst sent with it in one write is held; past 64
  // held commands the session stops reading until INIT is answered. (90:
  // past the pause, within the default KEEPALIVE burst of 100.)
  auto [o, x, y] = roles();
  static_cast<void>(o);
  static_cast<void>(y);
  auto& acc = accounts_.at(next_++);
  ws_client c{"burst"};
  ASSERT_TRUE(c.connect(node(x).port(), "/api/v0/signaling?ugi=" + ugi_))
    << c.error();
  std::vector<std::string> burst;
  burst.push_back(json::serialize(json::object{
    {"opcode", "INIT"}, {"payload", acc.token}, {"listener", "init"}}));
  constexpr int n = 90;
  for (int i = 0; i < n; ++i)
    burst.push_back(json::serialize(
      json::object{{"opcode", "KEEPALIVE"}, {"listener", std::to_string(i)}}));
  ASSERT_TRUE(c.send_burst(burst)) << c.error();
  EXPECT_EQ(member(c.expect("INIT_OK"), "listener"), "init");
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(member(c.expect("KEEPALIVE"), "listener"), std::to_string(i));
  // Still open and reading.
  c.send_command("KEEPALIVE", json::value("after"), {}, "after");
  EXPECT_EQ(member(c.expect("KEEPALIVE"), "listener"), "after");
}

TEST_F(cluster_test, new_host_reaches_lobby_less_clients_on_other_nodes) {
  auto watcher1 = join(1, "watcher@n1");
  auto watcher2 = join(2, "watcher@n2");
  auto h = join(0, "host@n0");
  host(h, "open");
  for (auto* w : {&watcher1, &watcher2}) {
    auto f = (*w)->expect("NEW_HOST");
    EXPECT_EQ(f["payload"].as_object()["lobby_id"], json::value("open"));
    EXPECT_EQ(f["payload"].as_object()["id"], json::value(h.acc.id));
  }
  // The lobby id is taken cluster-wide.
  watcher2->send_command("CONFIG_HOST",
                         json::object{{"lobby_id", "open"}, {"max_peers", 2}},
                         {}, "dup");
  EXPECT_EQ(member(watcher2->expect("LOBBY_EXISTS"), "listener"), "dup");
}

TEST_F(cluster_test, session_exists_holds_across_nodes) {
  auto a = join(0, "first@n0");
  ws_client second{"second@n2"};
  ASSERT_TRUE(second.connect(node(2).port(), "/api/v0/signaling?ugi=" + ugi_));
  second.send_command("INIT", json::value(a.acc.token), {}, "again");
  EXPECT_EQ(member(second.expect("SESSION_EXISTS"), "listener"), "again");
  // Once the first socket closes, the account may log in anywhere.
  a->close();
  bool ok = false;
  for (int attempt = 0; attempt < 100 && !ok; ++attempt) {
    second.send_command("INIT", json::value(a.acc.token));
    auto f = next_frame(second);
    auto op = member(f, "opcode");
    ok = op == "INIT_OK";
    if (!ok) {
      EXPECT_EQ(op, "SESSION_EXISTS");
      std::this_thread::sleep_for(30ms);
    }
  }
  EXPECT_TRUE(ok) << "the session was never released across nodes";
}

TEST_F(cluster_test, an_account_and_token_from_one_node_work_on_every_node) {
  // Register over HTTP on n1, log in on n2 at once (before any push could
  // carry the account), and use the token on n2 and n0.
  auto reg = http_post(node(1).port(), "/api/v0/register",
                       R"({"username":"roamer","email":"roamer@example.com",)"
                       R"("password":"password123"})");
  ASSERT_EQ(reg.status, 201u) << reg.body;
  auto wrong = http_post(node(2).port(), "/api/v0/login",
                         R"({"email":"roamer@example.com",)"
                         R"("password":"wrong-password"})");
  EXPECT_EQ(wrong.status, 401u) << wrong.body;
  auto login = http_post(node(2).port(), "/api/v0/login",
                         R"({"email":"roamer@example.com",)"
                         R"("password":"password123"})");
  ASSERT_EQ(login.status, 200u) << login.body;
  for (size_t i : {2u, 0u}) {
    ws_client c{"roamer@n" + std::to_string(i)};
    ASSERT_TRUE(c.connect(node(i).port(), "/api/v0/signaling?ugi=" + ugi_));
    c.send_command("INIT", json::value(login.body), {}, "init");
    auto f = c.expect("INIT_OK");
    EXPECT_EQ(f["payload"].as_object()["user"], json::value("roamer"));
    c.close();
    // The session is released before the next node's INIT.
    std::this_thread::sleep_for(200ms);
  }
  // Unknown tokens stay unknown everywhere.
  ws_client bad{"bad"};
  ASSERT_TRUE(bad.connect(node(2).port(), "/api/v0/signaling?ugi=" + ugi_));
  bad.send_command("INIT", json::value("not-a-token"), {}, "bad");
  EXPECT_EQ(member(bad.expect("TOKEN_INVALID"), "listener"), "bad");
}

TEST_F(cluster_test, kill_9_of_a_peers_node_and_its_restart) {
  // The lobby lives on the owner O; the host is on X; a peer on Y dies
  // with its node.
  auto [o, x, y] = roles();
  auto h = join(x, "host");
  host(h, "room");
  auto py = join(y, "peer@Y");
  auto po = join(o, "peer@O");
  enter(py, h, "room");
  enter(po, h, "room");
  node(y).stop(SIGKILL);
  EXPECT_EQ(h->expect("PEER_GONE", detect_timeout)["payload"],
            json::value(py.acc.id));
  relay(h, po, "MAKE_OFFER", json::object{{"sdp", "still here"}});
  // The restarted node rejoins; a client on it joins the same lobby.
  ASSERT_TRUE(start_node(y));
  ASSERT_TRUE(node(x).wait_log("node " + names_[y] + " joined", 10s));
  ASSERT_TRUE(node(y).wait_log("node " + names_[o] + " joined", 10s));
  auto again = join(y, "peer@Y again");
  enter(again, h, "room");
  relay(again, h, "ICE", json::object{{"candidate", "back"}});
}

TEST_F(cluster_test, kill_9_of_the_host_node_gives_host_gone_and_reclaim) {
  auto [o, x, y] = roles();
  auto h = join(x, "host@X");
  host(h, "room", true);
  auto p1 = join(y, "peer@Y");
  auto p2 = join(o, "peer@O");
  enter(p1, h, "room");
  enter(p2, h, "room");
  node(x).stop(SIGKILL);
  for (auto* p : {&p1, &p2})
    EXPECT_EQ((*p)->expect("HOST_GONE", detect_timeout)["payload"],
              json::value(h.acc.id));
  // Reclaim by claim: the first claimer on another node becomes host.
  p1->send_command("CLAIM_HOST", std::nullopt, {}, "claim");
  auto r1 = p1->expect("HOST_RECLAIM");
  EXPECT_EQ(r1["payload"].as_object()["id"], json::value(p1.acc.id));
  auto r2 = p2->expect("HOST_RECLAIM");
  EXPECT_EQ(r2["payload"].as_object()["id"], json::value(p1.acc.id));
  relay(p1, p2, "MAKE_OFFER", json::object{{"sdp", "new host"}});
}

TEST_F(cluster_test, kill_9_of_the_lobby_node_closes_its_lobbies_elsewhere) {
  auto [o, x, y] = roles();
  auto h = join(x, "host@X");
  host(h, "room");
  auto p = join(y, "peer@Y");
  enter(p, h, "room");
  node(o).stop(SIGKILL);
  EXPECT_EQ(h->expect("LOBBY_CLOSE", detect_timeout)["payload"],
            json::value("room"));
  EXPECT_EQ(p->expect("LOBBY_CLOSE", detect_timeout)["payload"],
            json::value("room"));
  // The survivors keep serving the game: it moves to one of them. A
  // command sent before the nodes agree on the new owner waits for it (up
  // to a few peer timeouts), so allow for the failover.
  host(h, "room2", false, failover_timeout);
  p->send_command("CONFIG_PEER", json::object{{"lobby_id", "room2"}}, {},
                  "peer");
  // A NEW_HOST for room2 may come first: p is lobby-less.
  auto f = next_frame(*p.ws, failover_timeout);
  if (member(f, "opcode") == "NEW_HOST")
    f = p->expect("ACK_PEER", failover_timeout);
  EXPECT_EQ(member(f, "opcode"), "ACK_PEER") << json::serialize(f);
  EXPECT_EQ(h->expect("NEW_PEER")["payload"].as_object()["id"],
            json::value(p.acc.id));
  relay(h, p, "MAKE_OFFER", json::object{{"sdp", "moved"}});
}

TEST_F(cluster_test, a_frozen_node_is_dropped_after_the_heartbeat_timeout) {
  auto [o, x, y] = roles();
  auto h = join(x, "host");
  host(h, "room");
  auto py = join(y, "peer@Y");
  enter(py, h, "room");
  // SIGSTOP keeps Y's sockets open: only the heartbeat can tell.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(node(y).pid(), SIGSTOP), 0);
  EXPECT_EQ(h->expect("PEER_GONE", detect_timeout)["payload"],
            json::value(py.acc.id));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 900ms) << "dropped before the node timeout";
  EXPECT_TRUE(node(x).wait_log("node " + names_[y] + " left", 5s));
  kill(node(y).pid(), SIGCONT);
}

TEST_F(cluster_test, a_cl5_profile_reaches_every_node) {
  auto made = node(0).admin({"user", "add-many", "pr", "120"});
  auto pool = parse_accounts(made.out);
  ASSERT_EQ(pool.size(), 120u) << made.out;
  size_t used = 0;
  int probes = 0;
  // Probes with fresh clients (the profile applies to new connections)
  // until a relay carries an `origin` object, for at most 10 s; returns the
  // last origin seen.
  auto until_cl5 = [&](const std::string& ugi, size_t hi, size_t pi) {
    json::value origin;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (used + 2 <= pool.size()) {
      auto& ha = pool[used++];
      auto& pa = pool[used++];
      origin = probe_origin(ugi, hi, pi, ha, pa,
                            "probe-" + std::to_string(++probes));
      if (origin.is_object()) {
        EXPECT_EQ(origin,
                  json::value(json::object{{"id", ha.id}, {"user", ha.user}}));
        break;
      }
      if (std::chrono::steady_clock::now() > deadline)
        break;
      std::this_thread::sleep_for(200ms);
    }
    return origin;
  };
  // A game added with --profile cl5 on n0 is cl5 for clients of n1 and n2.
  auto cl5_ugi = node(0).add_game("Cluster CL5 Game", "Cluster Dev", "cl5");
  ASSERT_FALSE(cl5_ugi.empty());
  auto origin = until_cl5(cl5_ugi, 1, 2);
  EXPECT_TRUE(origin.is_object()) << "last origin: " << origin;
  // The standard game is standard everywhere until set-profile on n0.
  auto& ha = pool[used++];
  auto& pa = pool[used++];
  EXPECT_EQ(probe_origin(ugi_, 2, 1, ha, pa, "standard"), json::value(ha.id));
  auto set = node(0).admin({"game", "set-profile", ugi_, "cl5"});
  ASSERT_EQ(set.status, 0);
  origin = until_cl5(ugi_, 2, 1);
  EXPECT_TRUE(origin.is_object()) << "last origin: " << origin;
  std::cout << "profiles: " << probes << " probes" << std::endl;
}

TEST_F(cluster_test, a_cloud_save_is_the_same_through_every_node) {
  auto& a = accounts_.at(next_++);
  auto res = http_save(node(1).port(), a.token, ugi_, 1, "from n1");
  ASSERT_EQ(res.status, 200u) << res.error << res.body;
  EXPECT_EQ(res.body, "OK");
  // At once, through the other nodes.
  for (size_t i : {2u, 0u}) {
    auto got = http_load(node(i).port(), a.token, ugi_, 1);
    EXPECT_EQ(got.status, 200u) << names_[i] << ": " << got.error;
    EXPECT_EQ(got.body, "from n1") << names_[i];
  }
  // A later save through n2 wins, loaded through n1 (and n0).
  res = http_save(node(2).port(), a.token, ugi_, 1, "from n2");
  ASSERT_EQ(res.status, 200u) << res.error << res.body;
  for (size_t i : {1u, 0u}) {
    auto got = http_load(node(i).port(), a.token, ugi_, 1);
    EXPECT_EQ(got.status, 200u) << names_[i] << ": " << got.error;
    EXPECT_EQ(got.body, "from n2") << names_[i];
  }
  // Another slot is empty everywhere.
  EXPECT_EQ(http_load(node(1).port(), a.token, ugi_, 2).body, "");
}
