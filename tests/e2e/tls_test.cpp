// End-to-end tests of the client port's TLS (issue 16): `--tls-cert` and
// `--tls-key` make it HTTPS and WSS; `--tls-allow-plain` takes both on one
// port; SIGHUP loads new files without dropping a connection, and keeps the
// old ones when the new ones do not load. The certificates are made at test
// time with the `openssl` command, as an operator would.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/server_process.hpp"
#include "tests/e2e/ws_client.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace json = boost::json;
using tcp = net::ip::tcp;
using namespace omega::e2e;
using namespace std::chrono_literals;

namespace {

/// A folder with self-signed certificates for 127.0.0.1 made by `openssl
/// req`; deleted with the object.
class tls_files {
public:
  tls_files() {
    char tmpl[] = "/tmp/omega-tls-XXXXXX";
    if (auto* dir = mkdtemp(tmpl))
      dir_ = dir;
  }

  ~tls_files() {
    if (!dir_.empty())
      run_program("/bin/rm", {"-rf", dir_});
  }

  /// Makes `NAME.pem` and `NAME.key` (CN NAME, for 127.0.0.1); false if
  /// openssl fails.
  bool make(const std::string& name) {
    auto r
      = run_program("/usr/bin/openssl",
                    {"req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-keyout", key(name),
                     "-out", cert(name), "-days", "2", "-subj", "/CN=" + name,
                     "-addext", "subjectAltName=IP:127.0.0.1", "-batch"});
    return r.status == 0;
  }

  std::string cert(const std::string& name) const {
    return dir_ + "/" + name + ".pem";
  }

  std::string key(const std::string& name) const {
    return dir_ + "/" + name + ".key";
  }

  /// Where the server reads its files: `copy` puts a pair there.
  std::string served_cert() const {
    return dir_ + "/served.pem";
  }

  std::string served_key() const {
    return dir_ + "/served.key";
  }

  bool copy(const std::string& name) {
    return run_program("/bin/cp", {cert(name), served_cert()}).status == 0
           && run_program("/bin/cp", {key(name), served_key()}).status == 0;
  }

private:
  std::string dir_;
};

/// A WebSocket over TLS to 127.0.0.1 that trusts only `ca_file`. Each step
/// runs the io_context for at most 5 s.
class wss_client {
public:
  explicit wss_client(const std::string& ca_file, bool max_tls11 = false)
    : ctx_(ssl::context::tls_client) {
    beast::error_code ec;
    ctx_.load_verify_file(ca_file, ec);
    if (max_tls11) {
      // Let this client offer TLS 1.1 at all (OpenSSL 3's default security
      // level forbids it), so a refusal can only come from the server.
      SSL_CTX_set_security_level(ctx_.native_handle(), 0);
      SSL_CTX_set_cipher_list(ctx_.native_handle(), "DEFAULT@SECLEVEL=0");
      SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_.native_handle(), TLS1_1_VERSION);
    }
    ws_ = std::make_unique<stream>(ioc_, ctx_);
    ws_->next_layer().set_verify_mode(ssl::verify_peer);
  }

  /// Connects, verifies the certificate, upgrades; false with `error`.
  bool connect(uint16_t port, const std::string& target) {
    beast::error_code ec = net::error::timed_out;
    tcp::endpoint ep{net::ip::make_address("127.0.0.1"), port};
    beast::get_lowest_layer(*ws_).async_connect(ep, [&](beast::error_code e) {
      if (e)
        return void(ec = e);
      ws_->next_layer().async_handshake(
        ssl::stream_base::client, [&](beast::error_code e) {
          if (e)
            return void(ec = e);
          ws_->async_handshake("127.0.0.1", target,
                               [&](beast::error_code e) { ec = e; });
        });
    });
    return finish(ec);
  }

  bool send(const json::value& frame) {
    beast::error_code ec = net::error::timed_out;
    text_ = json::serialize(frame);
    ws_->async_write(net::buffer(text_),
                     [&](beast::error_code e, std::size_t) { ec = e; });
    return finish(ec);
  }

  /// The next frame's opcode member and the frame; empty on failure.
  json::object read() {
    beast::error_code ec = net::error::timed_out;
    buf_.clear();
    ws_->async_read(buf_, [&](beast::error_code e, std::size_t) { ec = e; });
    if (!finish(ec))
      return {};
    json::error_code jec;
    auto jv = json::parse(beast::buffers_to_string(buf_.data()), jec);
    return !jec && jv.is_object() ? jv.as_object() : json::object{};
  }

  /// The protocol version the handshake agreed on (e.g. TLS1_3_VERSION).
  int version() {
    return SSL_version(ws_->next_layer().native_handle());
  }

  const std::string& error() const {
    return error_;
  }

private:
  using stream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

  bool finish(beast::error_code& ec) {
    ioc_.restart();
    ioc_.run_for(5s);
    if (ec)
      error_ = ec.message();
    return !ec;
  }

  net::io_context ioc_;
  ssl::context ctx_;
  std::unique_ptr<stream> ws_;
  beast::flat_buffer buf_;
  std::string text_;
  std::string error_;
};

/// One HTTPS request to 127.0.0.1 that trusts `ca_file`; the status, or 0.
unsigned https_request(uint16_t port, const std::string& ca_file,
                       http::verb method, const std::string& target,
                       const std::string& body, std::string* answer = nullptr) {
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  ctx.load_verify_file(ca_file);
  beast::ssl_stream<beast::tcp_stream> s{ioc, ctx};
  s.set_verify_mode(ssl::verify_peer);
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  http::response<http::string_body> res;
  beast::flat_buffer buf;
  beast::error_code ec = net::error::timed_out;
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), port};
  beast::get_lowest_layer(s).async_connect(ep, [&](beast::error_code e) {
    if (e)
      return void(ec = e);
    s.async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
      if (e)
        return void(ec = e);
      http::async_write(s, req, [&](beast::error_code e, std::size_t) {
        if (e)
          return void(ec = e);
        http::async_read(s, buf, res,
                         [&](beast::error_code e, std::size_t) { ec = e; });
      });
    });
  });
  ioc.run_for(5s);
  if (ec)
    return 0;
  if (answer)
    *answer = res.body();
  return res.result_int();
}

json::object command(const char* op, json::value payload = nullptr,
                     const std::string& recipient = {}) {
  json::object x{{"opcode", op}};
  if (!payload.is_null())
    x["payload"] = std::move(payload);
  if (!recipient.empty())
    x["recipient"] = recipient;
  return x;
}

std::string opcode_of(const json::object& x) {
  auto i = x.find("opcode");
  return i != x.end() && i->value().is_string()
           ? std::string{i->value().as_string()}
           : std::string{};
}

/// A server with a game and two accounts, started with `flags`.
struct tls_server {
  server_process proc;
  std::string ugi;
  std::vector<admin_account> accounts;

  bool start(const std::vector<std::string>& flags) {
    if (!proc.start(flags))
      return false;
    ugi = proc.add_game("Secure", "Tester");
    accounts = parse_accounts(proc.admin({"user", "add-many", "tls", "3"}).out);
    return !ugi.empty() && accounts.size() == 3;
  }

  std::string path() const {
    return "/api/v0/signaling?ugi=" + ugi;
  }
};

std::vector<std::string> tls_flags(const tls_files& f,
                                   std::vector<std::string> more = {}) {
  std::vector<std::string> flags{"--tls-cert", f.served_cert(), "--tls-key",
                                 f.served_key()};
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

} // namespace

TEST(tls_test, wss_and_https_carry_the_protocol) {
  tls_files files;
  ASSERT_TRUE(files.make("a") && files.copy("a"));
  tls_server s;
  ASSERT_TRUE(s.start(tls_flags(files))) << s.proc.error() << s.proc.log();
  EXPECT_NE(s.proc.log().find("(TLS)"), std::string::npos);
  std::string body;
  EXPECT_EQ(https_request(s.proc.port(), files.cert("a"), http::verb::get,
                          "/healthz", {}, &body),
            200u);
  EXPECT_EQ(body, "ok\n");
  std::string metrics;
  EXPECT_EQ(https_request(s.proc.port(), files.cert("a"), http::verb::get,
                          "/metrics", {}, &metrics),
            200u);
  // Two days from now, as the certificate says.
  auto expiry
    = metrics.find("\nomega_tls_certificate_expiry_timestamp_seconds ");
  ASSERT_NE(expiry, std::string::npos) << metrics;
  auto when = std::strtod(metrics.c_str() + expiry + 48, nullptr);
  auto in_two_days = static_cast<double>(std::time(nullptr)) + 2 * 86400;
  EXPECT_NEAR(when, in_two_days, 120);
  auto reg = R"({"username":"tlsuser","email":"tls@example.com",)"
             R"("password":"password123"})";
  EXPECT_EQ(https_request(s.proc.port(), files.cert("a"), http::verb::post,
                          "/api/v0/register", reg),
            201u);
  wss_client host{files.cert("a")};
  wss_client peer{files.cert("a")};
  ASSERT_TRUE(host.connect(s.proc.port(), s.path())) << host.error();
  ASSERT_TRUE(peer.connect(s.proc.port(), s.path())) << peer.error();
  EXPECT_GE(host.version(), TLS1_2_VERSION);
  host.send(command("INIT", json::value(s.accounts[0].token)));
  EXPECT_EQ(opcode_of(host.read()), "INIT_OK");
  peer.send(command("INIT", json::value(s.accounts[1].token)));
  EXPECT_EQ(opcode_of(peer.read()), "INIT_OK");
  host.send(
    command("CONFIG_HOST", json::object{{"lobby_id", "secure"},
                                        {"allow_host_reclaim", false},
                                        {"allow_peers_to_claim_host", false},
                                        {"max_peers", 0},
                                        {"password", ""}}));
  EXPECT_EQ(opcode_of(host.read()), "ACK_HOST");
  EXPECT_EQ(opcode_of(peer.read()), "NEW_HOST");
  peer.send(command("CONFIG_PEER", json::object{{"lobby_id", "secure"}}));
  EXPECT_EQ(opcode_of(peer.read()), "ACK_PEER");
  EXPECT_EQ(opcode_of(host.read()), "NEW_PEER");
  host.send(
    command("MAKE_OFFER", json::object{{"sdp", "v=0"}}, s.accounts[1].id));
  EXPECT_EQ(opcode_of(host.read()), "RELAY_OK");
  auto offer = peer.read();
  EXPECT_EQ(opcode_of(offer), "MAKE_OFFER");
  EXPECT_EQ(json::value(offer["payload"]), json::parse(R"({"sdp":"v=0"})"));
  // Plain WebSocket on a TLS-only port gets nowhere.
  ws_client plain{"plain"};
  EXPECT_FALSE(plain.connect(s.proc.port(), s.path(), {}, 2s));
}

TEST(tls_test, refuses_tls_below_1_2) {
  tls_files files;
  ASSERT_TRUE(files.make("a") && files.copy("a"));
  tls_server s;
  ASSERT_TRUE(s.start(tls_flags(files))) << s.proc.error();
  wss_client old{files.cert("a"), true};
  EXPECT_FALSE(old.connect(s.proc.port(), s.path()));
  EXPECT_FALSE(old.error().empty());
  wss_client current{files.cert("a")};
  EXPECT_TRUE(current.connect(s.proc.port(), s.path())) << current.error();
}

TEST(tls_test, allow_plain_serves_both_on_one_port) {
  tls_files files;
  ASSERT_TRUE(files.make("a") && files.copy("a"));
  tls_server s;
  ASSERT_TRUE(s.start(tls_flags(files, {"--tls-allow-plain"})))
    << s.proc.error();
  EXPECT_NE(s.proc.log().find("(TLS and plain)"), std::string::npos);
  ws_client host{"plain host"};
  ASSERT_TRUE(host.connect(s.proc.port(), s.path())) << host.error();
  wss_client peer{files.cert("a")};
  ASSERT_TRUE(peer.connect(s.proc.port(), s.path())) << peer.error();
  host.send_command("INIT", json::value(s.accounts[0].token));
  host.expect("INIT_OK");
  peer.send(command("INIT", json::value(s.accounts[1].token)));
  EXPECT_EQ(opcode_of(peer.read()), "INIT_OK");
  host.send_command("CONFIG_HOST", json::object{{"lobby_id", "mixed"}});
  host.expect("ACK_HOST");
  EXPECT_EQ(opcode_of(peer.read()), "NEW_HOST");
  peer.send(command("CONFIG_PEER", json::object{{"lobby_id", "mixed"}}));
  EXPECT_EQ(opcode_of(peer.read()), "ACK_PEER");
  host.expect("NEW_PEER");
  // Both ways across the two kinds of connection.
  host.send_command("MAKE_OFFER", json::value("offer"), s.accounts[1].id);
  host.expect("RELAY_OK");
  EXPECT_EQ(opcode_of(peer.read()), "MAKE_OFFER");
  peer.send(command("MAKE_ANSWER", json::value("answer"), s.accounts[0].id));
  EXPECT_EQ(opcode_of(peer.read()), "RELAY_OK");
  auto answer = host.expect("MAKE_ANSWER");
  EXPECT_EQ(json::value(answer["payload"]), json::value("answer"));
  // Plain HTTP too.
  auto res = http_request(s.proc.port(), http::verb::get, "/healthz", {});
  EXPECT_EQ(res.status, 200u);
}

TEST(tls_test, sighup_reloads_the_certificate_without_dropping_connections) {
  tls_files files;
  ASSERT_TRUE(files.make("a") && files.make("b") && files.copy("a"));
  tls_server s;
  ASSERT_TRUE(s.start(tls_flags(files))) << s.proc.error();
  wss_client before{files.cert("a")};
  ASSERT_TRUE(before.connect(s.proc.port(), s.path())) << before.error();
  before.send(command("INIT", json::value(s.accounts[0].token)));
  EXPECT_EQ(opcode_of(before.read()), "INIT_OK");
  ASSERT_TRUE(files.copy("b"));
  kill(s.proc.pid(), SIGHUP);
  ASSERT_TRUE(s.proc.wait_log("reloaded the TLS certificate", 5s))
    << s.proc.log();
  // The open connection goes on with the old certificate's session.
  before.send(command("KEEPALIVE", json::value("still here")));
  EXPECT_EQ(opcode_of(before.read()), "KEEPALIVE");
  // New connections get the new certificate.
  wss_client trusts_a{files.cert("a")};
  EXPECT_FALSE(trusts_a.connect(s.proc.port(), s.path()));
  wss_client trusts_b{files.cert("b")};
  EXPECT_TRUE(trusts_b.connect(s.proc.port(), s.path())) << trusts_b.error();
  // A file that does not load keeps the certificate in use.
  {
    std::ofstream broken{files.served_cert(), std::ios::trunc};
    broken << "-----BEGIN CERTIFICATE-----\nnot a certificate\n";
  }
  kill(s.proc.pid(), SIGHUP);
  ASSERT_TRUE(s.proc.wait_log("the previous certificate stays in use", 5s))
    << s.proc.log();
  wss_client after{files.cert("b")};
  EXPECT_TRUE(after.connect(s.proc.port(), s.path())) << after.error();
  after.send(command("INIT", json::value(s.accounts[1].token)));
  EXPECT_EQ(opcode_of(after.read()), "INIT_OK");
  EXPECT_TRUE(s.proc.running());
}

TEST(tls_test, a_certificate_that_does_not_load_stops_the_start) {
  tls_files files;
  ASSERT_TRUE(files.make("a") && files.make("b"));
  server_process s;
  // The key of another certificate.
  EXPECT_FALSE(
    s.start({"--tls-cert", files.cert("a"), "--tls-key", files.key("b")}));
  EXPECT_NE(s.log().find("cannot load the key " + files.key("b")),
            std::string::npos)
    << s.log();
  server_process t;
  EXPECT_FALSE(t.start({"--tls-cert", files.cert("a")}));
  EXPECT_NE(t.log().find("--tls-cert and --tls-key go together"),
            std::string::npos)
    << t.log();
}
