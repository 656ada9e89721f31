// End-to-end tests of the gateway's limits (issue 15): the real omega-server
// on 127.0.0.1 with small limits, so that each cut-off is reached within a
// test and seen on the wire (status, Retry-After) and in the log; and one
// test with the defaults that a well-behaved client never meets any of them.

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_fixture.hpp"
#include "tests/e2e/server_process.hpp"
#include "tests/e2e/ws_client.hpp"

namespace json = boost::json;
using boost::beast::http::verb;
using namespace omega::e2e;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

/// A plain TCP connection with blocking, timed reads: the tests need
/// requests the HTTP helpers cannot send (upgrades with `X-Forwarded-For`)
/// and connections that send nothing at all.
class raw_socket {
public:
  explicit raw_socket(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0)
      return;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      close();
  }

  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  ~raw_socket() {
    close();
  }

  bool ok() const {
    return fd_ >= 0;
  }

  int fd() const {
    return fd_;
  }

  bool send(const std::string& data) {
    return ok()
           && ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL)
                == static_cast<ssize_t>(data.size());
  }

  /// Reads up to the end of a response header; empty on timeout or close.
  std::string read_header() {
    std::string result;
    char c;
    while (ok() && ::recv(fd_, &c, 1, 0) == 1) {
      result += c;
      if (result.size() >= 4
          && result.compare(result.size() - 4, 4, "\r\n\r\n") == 0)
        return result;
    }
    return {};
  }

  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

/// The status of a response header (`HTTP/1.1 503 ...`); 0 if none.
unsigned status_of(const std::string& header) {
  if (header.size() < 12 || header.compare(0, 5, "HTTP/") != 0)
    return 0;
  return static_cast<unsigned>(std::stoul(header.substr(9, 3)));
}

/// The value of field `name` (case as the server writes it) in a header.
std::string field_of(const std::string& header, const std::string& name) {
  auto i = header.find("\r\n" + name + ": ");
  if (i == std::string::npos)
    return {};
  i += name.size() + 4;
  return header.substr(i, header.find("\r\n", i) - i);
}

/// Opens a WebSocket by hand (optionally claiming `forwarded_for`); returns
/// the socket, which stays upgraded while it lives, and the response header.
std::unique_ptr<raw_socket> upgrade(uint16_t port, const std::string& ugi,
                                    std::string& header,
                                    const std::string& forwarded_for = {}) {
  auto s = std::make_unique<raw_socket>(port);
  std::string req = "GET /api/v0/signaling?ugi=" + ugi
                    + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n";
  if (!forwarded_for.empty())
    req += "X-Forwarded-For: " + forwarded_for + "\r\n";
  req += "\r\n";
  header = s->send(req) ? s->read_header() : std::string{};
  return s;
}

std::string login_body(const std::string& email, const std::string& pw) {
  return json::serialize(json::object{{"email", email}, {"password", pw}});
}

std::string register_body(const std::string& user, const std::string& pw) {
  return json::serialize(json::object{{"username", user},
                                      {"email", user + "@limits.example.com"},
                                      {"password", pw}});
}

/// The server's user plus system CPU time (from /proc/PID/stat).
milliseconds cpu_time(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  std::getline(in, line);
  // Fields after the parenthesized command name; utime and stime are the
  // 14th and 15th fields of the line.
  std::istringstream rest{line.substr(line.rfind(')') + 2)};
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14)
      ticks += std::stol(field);
  return milliseconds{ticks * 1000 / sysconf(_SC_CLK_TCK)};
}

size_t open_fds(pid_t pid) {
  size_t n = 0;
  auto dir = "/proc/" + std::to_string(pid) + "/fd";
  for (auto fd = 0; fd < 4096; ++fd)
    if (access((dir + "/" + std::to_string(fd)).c_str(), F_OK) == 0)
      ++n;
  return n;
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (auto i = haystack.find(needle); i != std::string::npos;
       i = haystack.find(needle, i + 1))
    ++n;
  return n;
}

class limits_test : public e2e_fixture {};

} // namespace

// -- WebSocket caps -----------------------------------------------------------

TEST_F(limits_test,
       websockets_per_address_are_capped_with_503_and_retry_after) {
  auto* s = start_own(
    {"--max-connections-per-address", "3", "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  std::vector<std::unique_ptr<raw_socket>> open;
  std::string header;
  for (int i = 0; i < 3; ++i) {
    open.push_back(upgrade(port(), ugi_, header));
    ASSERT_EQ(status_of(header), 101u) << i << ": " << header;
  }
  auto refused = upgrade(port(), ugi_, header);
  EXPECT_EQ(status_of(header), 503u) << header;
  EXPECT_EQ(field_of(header, "Retry-After"), "5") << header;
  EXPECT_TRUE(
    s->wait_log("warning: limit max-connections-per-address: 127.0.0.1", 2s))
    << s->log();
  // The ws_client sees the same refusal.
  ws_client c{"fourth"};
  EXPECT_FALSE(c.connect(port(), signaling_path(ugi_)));
  EXPECT_EQ(c.handshake_status(), 503u);
  // A closed connection gives its place back.
  open.pop_back();
  auto deadline = steady_clock::now() + session_release_timeout;
  unsigned status = 0;
  while (status != 101 && steady_clock::now() < deadline) {
    auto again = upgrade(port(), ugi_, header);
    status = status_of(header);
    if (status == 101)
      open.push_back(std::move(again));
    else
      std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 101u);
}

/// 127.0.0.1 and ::1 are unlimited addresses by default (local tools, test
/// suites, a same-host proxy): the per-address cap leaves them alone.
TEST_F(limits_test, loopback_is_not_capped_per_address_by_default) {
  ASSERT_NE(start_own({"--max-connections-per-address", "2"}), nullptr);
  std::vector<std::unique_ptr<raw_socket>> open;
  std::string header;
  for (int i = 0; i < 5; ++i) {
    open.push_back(upgrade(port(), ugi_, header));
    EXPECT_EQ(status_of(header), 101u) << i << ": " << header;
  }
}

TEST_F(limits_test, websockets_in_total_are_capped) {
  auto* s = start_own({"--max-connections", "2"});
  ASSERT_NE(s, nullptr);
  std::string header;
  auto a = upgrade(port(), ugi_, header);
  ASSERT_EQ(status_of(header), 101u) << header;
  auto b = upgrade(port(), ugi_, header);
  ASSERT_EQ(status_of(header), 101u) << header;
  auto c = upgrade(port(), ugi_, header);
  EXPECT_EQ(status_of(header), 503u) << header;
  EXPECT_FALSE(field_of(header, "Retry-After").empty()) << header;
  EXPECT_TRUE(s->wait_log("warning: limit max-connections: 127.0.0.1", 2s))
    << s->log();
  // Plain HTTP is not a WebSocket: it still works.
  EXPECT_EQ(http_request(port(), verb::get, "/", {}).status, 200u);
}

TEST_F(limits_test, a_trusted_proxy_names_the_client_in_x_forwarded_for) {
  auto* s = start_own({"--trusted-proxy", "127.0.0.0/8",
                       "--max-connections-per-address", "2",
                       "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  std::vector<std::unique_ptr<raw_socket>> open;
  std::string header;
  for (int i = 0; i < 2; ++i) {
    open.push_back(upgrade(port(), ugi_, header, "198.51.100.1"));
    ASSERT_EQ(status_of(header), 101u) << header;
  }
  open.push_back(upgrade(port(), ugi_, header, "198.51.100.1"));
  EXPECT_EQ(status_of(header), 503u) << header;
  EXPECT_TRUE(
    s->wait_log("warning: limit max-connections-per-address: 198.51.100.1", 2s))
    << s->log();
  // Other clients of the same proxy have places of their own.
  open.push_back(upgrade(port(), ugi_, header, "198.51.100.2"));
  EXPECT_EQ(status_of(header), 101u) << header;
  // What the client itself wrote left of the proxy's entry does not count:
  // this is 198.51.100.1 again.
  open.push_back(upgrade(port(), ugi_, header, "203.0.113.50, 198.51.100.1"));
  EXPECT_EQ(status_of(header), 503u) << header;
  // A chain of trusted proxies (127.0.0.2 is one): the client is left of it.
  open.push_back(upgrade(port(), ugi_, header, "198.51.100.3, 127.0.0.2"));
  EXPECT_EQ(status_of(header), 101u) << header;
  open.push_back(upgrade(port(), ugi_, header, "198.51.100.3, 127.0.0.2"));
  EXPECT_EQ(status_of(header), 101u) << header;
  open.push_back(upgrade(port(), ugi_, header, "198.51.100.3"));
  EXPECT_EQ(status_of(header), 503u) << header;
}

TEST_F(limits_test, forwarded_for_from_an_untrusted_peer_is_ignored) {
  auto* s = start_own(
    {"--max-connections-per-address", "2", "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  std::vector<std::unique_ptr<raw_socket>> open;
  std::string header;
  for (auto xff : {"198.51.100.1", "198.51.100.2", "198.51.100.3"})
    open.push_back(upgrade(port(), ugi_, header, xff));
  EXPECT_EQ(status_of(header), 503u) << "all three are 127.0.0.1: " << header;
  EXPECT_TRUE(
    s->wait_log("warning: limit max-connections-per-address: 127.0.0.1", 2s))
    << s->log();
}

// -- login and registration limits -------------------------------------------

TEST_F(limits_test, a_login_flood_gets_429_with_retry_after) {
  auto* s = start_own({"--login-per-account", "3", "--login-per-address", "5",
                       "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  auto victim = new_account("victim");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(http_post(port(), "/api/v0/login",
                        login_body(victim.email, "guess-1234"))
                .status,
              401u)
      << i;
  auto res = http_post(port(), "/api/v0/login",
                       login_body(victim.email, "guess-5678"));
  EXPECT_EQ(res.status, 429u) << res.body;
  auto retry = res.header("retry-after");
  ASSERT_FALSE(retry.empty());
  EXPECT_GE(std::stoi(retry), 1);
  EXPECT_LE(std::stoi(retry), 60);
  // Spelled otherwise, the email is the same account.
  auto upper = victim.email;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(
    http_post(port(), "/api/v0/login", login_body(upper, "guess-9")).status,
    429u);
  EXPECT_TRUE(s->wait_log("warning: limit login-per-account: 127.0.0.1", 2s))
    << s->log();
  // Spraying other accounts from the same address: 2 more failures fit.
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(http_post(port(), "/api/v0/login",
                        login_body(unique("spray") + "@x.org", "guess-1234"))
                .status,
              401u)
      << i;
  EXPECT_EQ(http_post(port(), "/api/v0/login",
                      login_body(unique("spray") + "@x.org", "guess-1234"))
              .status,
            429u);
  EXPECT_TRUE(s->wait_log("warning: limit login-per-address: 127.0.0.1", 2s))
    << s->log();
}

/// Past its rate of HTTP requests an address gets 429 and the cut-off
/// penalty: its next connections are closed at accept until it is over.
TEST_F(limits_test, an_http_request_flood_gets_429_then_the_penalty) {
  auto* s = start_own({"--requests-per-address", "5", "--cutoff-penalty", "1.5",
                       "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(http_request(port(), verb::get, "/", {}).status, 200u) << i;
  auto res = http_request(port(), verb::get, "/", {});
  EXPECT_EQ(res.status, 429u) << res.body;
  ASSERT_FALSE(res.header("retry-after").empty());
  EXPECT_GE(std::stoi(res.header("retry-after")), 1);
  EXPECT_TRUE(s->wait_log("warning: limit requests-per-address: 127.0.0.1", 2s))
    << s->log();
  // In the penalty a connection is held unanswered (--penalty-hold), so the
  // client waits instead of retrying at once.
  auto start = steady_clock::now();
  EXPECT_EQ(http_request(port(), verb::get, "/", {}, {}, 300ms).status, 0u);
  EXPECT_GE(steady_clock::now() - start, 250ms);
  // WebSocket upgrades count apart, but the penalty bars them too: held,
  // then closed unanswered when it ends.
  std::string header;
  auto ws = upgrade(port(), ugi_, header);
  EXPECT_EQ(status_of(header), 0u) << header;
  EXPECT_LT(steady_clock::now() - start, 3s);
  std::this_thread::sleep_for(200ms);
  // The bucket is still empty (5 a minute): the next request is over the
  // rate again, which is how a flood that waits out the penalty fares.
  EXPECT_EQ(http_request(port(), verb::get, "/", {}).status, 429u);
}

/// Held connections are bounded: past --penalty-hold the oldest is closed.
TEST_F(limits_test, held_connections_are_bounded) {
  auto* s
    = start_own({"--requests-per-address", "1", "--penalty-hold", "1",
                 "--cutoff-penalty", "30", "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(http_request(port(), verb::get, "/", {}).status, 200u);
  EXPECT_EQ(http_request(port(), verb::get, "/", {}).status, 429u);
  raw_socket first{port()};
  ASSERT_TRUE(first.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(200ms);
  auto start = steady_clock::now();
  raw_socket second{port()};
  ASSERT_TRUE(second.ok());
  // The first is closed unanswered as soon as the second takes its place,
  // long before its 30 s penalty ends.
  EXPECT_EQ(first.read_header(), "");
  EXPECT_LT(steady_clock::now() - start, 2s);
}

/// Past its rate of WebSocket upgrades an address gets 503 and the penalty;
/// the WebSockets it has stay open.
TEST_F(limits_test, a_reconnect_flood_gets_503_then_the_penalty) {
  auto* s = start_own({"--upgrades-per-address", "3", "--cutoff-penalty", "1.5",
                       "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  std::vector<std::unique_ptr<raw_socket>> open;
  std::string header;
  for (int i = 0; i < 3; ++i) {
    open.push_back(upgrade(port(), ugi_, header));
    EXPECT_EQ(status_of(header), 101u) << i << header;
  }
  auto refused = upgrade(port(), ugi_, header);
  EXPECT_EQ(status_of(header), 503u) << header;
  EXPECT_FALSE(field_of(header, "Retry-After").empty()) << header;
  EXPECT_TRUE(s->wait_log("warning: limit upgrades-per-address: 127.0.0.1", 2s))
    << s->log();
  // HTTP requests have a rate of their own, but the penalty holds.
  EXPECT_EQ(http_request(port(), verb::get, "/", {}, {}, 300ms).status, 0u);
  // The open WebSockets were not touched: they still answer pings.
  for (auto& ws : open) {
    const char ping[] = {'\x89', '\x80', 0, 0, 0, 0};
    ASSERT_TRUE(ws->send(std::string{ping, sizeof(ping)}));
    char pong[2] = {};
    EXPECT_EQ(::recv(ws->fd(), pong, 2, 0), 2);
    EXPECT_EQ(static_cast<unsigned char>(pong[0]), 0x8Au);
  }
}

TEST_F(limits_test, a_registration_flood_gets_429) {
  auto* s
    = start_own({"--register-per-address", "3", "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto res = http_post(port(), "/api/v0/register",
                         register_body(unique("reg"), "password123"));
    EXPECT_EQ(res.status, 201u) << i << res.body;
  }
  auto res = http_post(port(), "/api/v0/register",
                       register_body(unique("reg"), "password123"));
  EXPECT_EQ(res.status, 429u) << res.body;
  EXPECT_FALSE(res.header("retry-after").empty());
  EXPECT_TRUE(s->wait_log("warning: limit register-per-address: 127.0.0.1", 2s))
    << s->log();
}

// -- the argon2id queue
// ---------------------------------------------------------

TEST_F(limits_test, a_full_api_queue_answers_503) {
  // Real argon2id cost, one thread, room for two requests: a burst of wrong
  // logins overflows it.
  auto* s = start_own({"--password-hash", "interactive", "--api-threads", "1",
                       "--api-queue", "2", "--login-per-address", "0",
                       "--login-per-account", "0"});
  ASSERT_NE(s, nullptr);
  auto a = new_account("queued");
  constexpr int n = 20;
  std::vector<http_result> results(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      results[i] = http_post(port(), "/api/v0/login",
                             login_body(a.email, "wrong-password"), {}, {});
    });
  for (auto& t : threads)
    t.join();
  int busy = 0;
  for (auto& r : results) {
    EXPECT_TRUE(r.status == 401 || r.status == 503) << r.status << r.error;
    if (r.status == 503) {
      ++busy;
      EXPECT_EQ(r.header("retry-after"), "2");
    }
  }
  EXPECT_GT(busy, 0);
  EXPECT_LE(busy, n - 2) << "the queue holds two";
  EXPECT_TRUE(s->wait_log("warning: limit api-queue: 127.0.0.1", 2s))
    << s->log();
  // Once the burst has drained, logins work again.
  EXPECT_EQ(
    http_post(port(), "/api/v0/login", login_body(a.email, a.password)).status,
    200u);
}

// -- oversized requests
// ---------------------------------------------------------

TEST_F(limits_test, an_oversized_body_gets_413) {
  auto* s = start_own({"--max-http-body", "2048"});
  ASSERT_NE(s, nullptr);
  auto res = http_post(port(), "/api/v0/login", std::string(4096, 'x'));
  EXPECT_EQ(res.status, 413u) << res.error;
  EXPECT_EQ(res.header("connection"), "close");
  // Just under the limit is read (and refused as JSON).
  EXPECT_EQ(http_post(port(), "/api/v0/login", std::string(2000, 'x')).status,
            400u);
  EXPECT_TRUE(
    s->wait_log("warning: limit max-http-body: 127.0.0.1 (request body over "
                "2048 bytes)",
                2s))
    << s->log();
}

TEST_F(limits_test, oversized_headers_get_431) {
  auto* s = start_own({"--max-http-header", "4096"});
  ASSERT_NE(s, nullptr);
  auto res = http_request(port(), verb::get, "/", {},
                          {{"X-Padding", std::string(5000, 'p')}});
  EXPECT_EQ(res.status, 431u) << res.error;
  EXPECT_EQ(res.header("connection"), "close");
  EXPECT_EQ(http_request(port(), verb::get, "/", {},
                         {{"X-Padding", std::string(3000, 'p')}})
              .status,
            200u);
  EXPECT_TRUE(s->wait_log("warning: limit max-http-header: 127.0.0.1", 2s))
    << s->log();
  // The default is 16 KiB (the shared server).
  use_server(*shared_);
  EXPECT_EQ(http_request(port(), verb::get, "/", {},
                         {{"X-Padding", std::string(15000, 'p')}})
              .status,
            200u);
  EXPECT_EQ(http_request(port(), verb::get, "/", {},
                         {{"X-Padding", std::string(17000, 'p')}})
              .status,
            431u);
}

/// `--help` names each limit's default, taken from the limits themselves.
TEST_F(limits_test, help_names_the_defaults_of_the_limits) {
  auto res = run_program(OMEGA_SERVER_PATH, {"--help"});
  EXPECT_EQ(res.status, 0);
  // The help wraps its lines: compare with every run of blanks as one space.
  std::string text;
  for (auto c : res.out)
    if (!std::isspace(static_cast<unsigned char>(c)))
      text += c;
    else if (!text.empty() && text.back() != ' ')
      text += ' ';
  for (auto x :
       {"(default 1/5; 0: no limit)", "(default 5000/10000)",
        "(default 4194304/16777216)", "(default 5/20)", "(default 0.2/10)",
        "(default 500; 0: no limit)", "(default 0.5)", "(default 300)"})
    EXPECT_NE(text.find(x), std::string::npos) << x << "\n" << res.out;
}

TEST_F(limits_test, limits_are_config_keys_too) {
  char tmpl[] = "/tmp/omega-limits-config-XXXXXX";
  auto fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::string path = tmpl;
  {
    std::ofstream out{path};
    out << "max-http-header = 4096\n"
           "login-per-account = 1\n"
           "trusted-proxy = 127.0.0.1\n"
           "max-connections-per-address = 1\n"
           "unlimited-address = none\n";
  }
  auto* s = start_own({"--config", path});
  std::remove(path.c_str());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(http_request(port(), verb::get, "/", {},
                         {{"X-Padding", std::string(5000, 'p')}})
              .status,
            431u);
  auto a = new_account("config");
  EXPECT_EQ(http_post(port(), "/api/v0/login",
                      login_body(a.email, "wrong-pass"))
              .status,
            401u);
  EXPECT_EQ(http_post(port(), "/api/v0/login",
                      login_body(a.email, "wrong-pass"))
              .status,
            429u);
  std::string header;
  auto first = upgrade(port(), ugi_, header, "198.51.100.9");
  EXPECT_EQ(status_of(header), 101u) << header;
  auto second = upgrade(port(), ugi_, header, "198.51.100.9");
  EXPECT_EQ(status_of(header), 503u) << header;
  auto other = upgrade(port(), ugi_, header, "198.51.100.10");
  EXPECT_EQ(status_of(header), 101u)
    << "trusted-proxy from the file: " << header;
}

// -- out of file descriptors
// ----------------------------------------------------

TEST_F(limits_test,
       out_of_descriptors_the_server_backs_off_instead_of_spinning) {
  raise_fd_limit();
  auto* s = start_own();
  ASSERT_NE(s, nullptr);
  // Leave the server a few descriptors beyond what it holds now.
  auto pid = s->pid();
  auto in_use = open_fds(pid);
  rlimit lim{in_use + 8, in_use + 8};
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &lim, nullptr), 0)
    << std::strerror(errno);
  // Connections that send nothing: each accepted one holds a descriptor for
  // the 30 s the server waits for a request; the rest wait in the backlog.
  std::vector<std::unique_ptr<raw_socket>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<raw_socket>(port()));
    ASSERT_TRUE(idle.back()->ok()) << i;
  }
  ASSERT_TRUE(s->wait_log("warning: limit file-descriptors: accept", 3s))
    << s->log();
  auto cpu0 = cpu_time(pid);
  std::this_thread::sleep_for(2s);
  auto cpu = cpu_time(pid) - cpu0;
  EXPECT_LT(cpu, 500ms) << "the accept loop spins";
  auto log = s->log();
  EXPECT_NE(log.find("accepting paused for"), std::string::npos) << log;
  EXPECT_LE(count(log, "limit file-descriptors"), 3u)
    << "the warning is rate limited: " << log;
  // Once the clients go, the server accepts again (within the 2 s back-off).
  idle.clear();
  auto deadline = steady_clock::now() + 5s;
  unsigned status = 0;
  while (status != 200 && steady_clock::now() < deadline) {
    status = http_request(port(), verb::get, "/", {}, {}, 1s).status;
    if (status != 200)
      std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 200u);
  std::string header;
  auto ws = upgrade(port(), ugi_, header);
  EXPECT_EQ(status_of(header), 101u) << header;
}

// -- a well-behaved client
// ------------------------------------------------------

TEST_F(limits_test, a_well_behaved_client_never_meets_a_limit) {
  // Every default, the registration limit included.
  auto* s = start_own(
    {"--register-per-address", "60", "--unlimited-address", "none"});
  ASSERT_NE(s, nullptr);
  std::vector<account> accounts;
  for (int i = 0; i < 10; ++i)
    accounts.push_back(new_account("good"));
  for (auto& a : accounts) {
    // Two typos, then the right password; logging in again from other tabs.
    for (int i = 0; i < 2; ++i)
      EXPECT_EQ(http_post(port(), "/api/v0/login",
                          login_body(a.email, "typo-pass"))
                  .status,
                401u);
    for (int i = 0; i < 5; ++i)
      EXPECT_FALSE(login(a).empty());
  }
  // A classroom behind one address: 50 WebSockets open at once, each INITs.
  auto made = s->admin({"user", "add-many", unique("class"), "50"});
  ASSERT_EQ(made.status, 0);
  auto pupils = parse_accounts(made.out);
  ASSERT_EQ(pupils.size(), 50u);
  std::vector<std::unique_ptr<ws_client>> clients;
  for (auto& p : pupils) {
    clients.push_back(std::make_unique<ws_client>(p.user));
    ASSERT_TRUE(clients.back()->connect(port(), signaling_path(ugi_)))
      << clients.back()->error();
    ASSERT_TRUE(clients.back()->send_command("INIT", json::value(p.token)));
  }
  for (auto& c : clients)
    c->expect("INIT_OK");
  EXPECT_TRUE(http_save(port(), accounts[0].token, ugi_, 1, "progress").status
              == 200u);
  EXPECT_EQ(http_load(port(), accounts[0].token, ugi_, 1).body, "progress");
  EXPECT_EQ(s->log().find("limit "), std::string::npos) << s->log();
}
