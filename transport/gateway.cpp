#include "transport/gateway.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <sys/resource.h>

#include <caf/actor_system.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <openssl/crypto.h>

#include "actors/rejections.hpp"
#include "storage/account_store.hpp"
#include "transport/api_throttle.hpp"
#include "transport/client_address.hpp"
#include "transport/connection_limiter.hpp"
#include "transport/event_loop.hpp"
#include "transport/http_api.hpp"
#include "transport/limit_report.hpp"
#include "transport/metrics.hpp"
#include "transport/rate_limiter.hpp"
#include "transport/tls_context.hpp"
#include "transport/web_assets.hpp"
#include "transport/websocket_session.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace omega {

/// The gateway's state. Handlers refer to it by plain pointer: `stop` joins
/// every thread that runs them, and destroying `ioc` (the last member to go)
/// destroys the handlers still queued, and with them the sessions.
struct gateway::impl {
  impl(caf::actor_system& sys, gateway_config cfg, auth_actor auth,
       directory_actor dir, store_factory stores)
    : ioc(static_cast<int>(cfg.io_threads > 0 ? cfg.io_threads
                                              : sys.scheduler().num_workers())),
      acceptor(net::make_strand(ioc)),
      api_pool(cfg.api_threads),
      stores(std::move(stores)),
      throttle(cfg.throttles),
      requests(cfg.requests_per_address),
      upgrades(cfg.upgrades_per_address) {
    api_queue_max = cfg.api_queue * std::max<size_t>(1, cfg.api_threads);
    auto metrics = std::make_shared<server_metrics>(cfg.version);
    ctx = std::make_shared<session_context>(sys, std::move(auth),
                                            std::move(dir), std::move(cfg));
    ctx->metrics = std::move(metrics);
  }

  const gateway_config& cfg() const {
    return ctx->cfg;
  }

  void do_accept();
  void on_accept(beast::error_code ec, connection_socket socket);

  /// Holds `socket` (from an address barred for `wait` more) unanswered; see
  /// `gateway_config::penalty_hold`. On the acceptor's strand.
  void hold(connection_socket socket, std::chrono::milliseconds wait);

  /// Closes the held connections whose time is up; rearms the timer.
  void release_held();

  /// Out of file descriptors, `accept` fails at once for as long as the
  /// connection waits in the backlog: retrying at once spins a core. Waits
  /// 100 ms, doubling up to 2 s while it keeps failing.
  void pause_accept(const beast::error_code& ec);

  /// Claims a place in the API queue; false when it is full.
  bool try_enqueue();

  /// Ticks every session's idle count each quarter of the idle timeout.
  void sweep_idle();

  /// Starts the drain (see `gateway::drain`); any thread.
  void begin_drain();

  /// Waits, on the acceptor's strand, for the drain's next step: the last
  /// member to leave its lobby (or the timeout), then the last client to go.
  void check_drain();

  /// Why the server is not ready for new clients, or empty if it is;
  /// the store is asked separately (`store_answers`).
  std::string not_ready() const;

  /// Asks the store on an API thread, then calls `done(answered)` there.
  template <class Done>
  void store_answers(Done done);

  /// Runs `work(store)` on an API worker with a store connection of its own,
  /// then `done` with the `api_response` it returned, once the store and
  /// the queue place are given back: a client that has its answer may send
  /// the next request at once and find the place free.
  template <class Work, class Done>
  void with_store(Work work, Done done);

  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer accept_timer{acceptor.get_executor()};
  /// Held connections, oldest first, and when each is closed.
  std::deque<
    std::pair<connection_socket, std::chrono::steady_clock::time_point>>
    held;
  size_t max_held = 0;
  net::steady_timer hold_timer{acceptor.get_executor()};
  std::chrono::milliseconds accept_backoff{0};
  /// Set while accepting pauses (out of descriptors), for `/readyz`.
  std::atomic<bool> accept_paused{false};
  net::steady_timer idle_timer{ioc};
  std::shared_ptr<session_context> ctx;
  std::vector<std::thread> threads;

  /// Blocking account work (argon2id, SQLite) runs here, off the I/O threads.
  net::thread_pool api_pool;
  store_factory stores;
  std::mutex store_mtx;
  std::vector<std::unique_ptr<account_store>> idle_stores;
  /// API requests queued or running, and the bound (0: none).
  std::atomic<size_t> api_pending{0};
  size_t api_queue_max = 0;

  /// What a scrape of `/metrics` reads from the rest of the server.
  metrics_snapshot snapshot() const;

  /// Parsed `trusted_proxies`, `metrics_allow`, and the limits (see
  /// gateway_config).
  std::vector<address_range> trusted;
  std::vector<address_range> metrics_allowed;
  std::vector<address_range> unlimited;

  /// The key a client counts under for the per-address limits; empty for an
  /// unlimited address.
  std::string address_key(const net::ip::address& client) const {
    return in_ranges(client, unlimited) ? std::string{} : limit_key(client);
  }
  std::shared_ptr<connection_limiter> conns;
  /// The certificate new connections get; null: plain HTTP and WebSocket.
  std::unique_ptr<tls_contexts> tls;
  api_throttle throttle;
  rate_limiter requests;
  rate_limiter upgrades;
  std::atomic<bool> stopped{false};

  std::atomic<bool> draining{false};
  std::atomic<bool> drained{false};
  /// Set once the clients were told 1012; then the drain waits for them.
  bool drain_closing = false;
  std::chrono::steady_clock::time_point drain_deadline;
  net::steady_timer drain_timer{acceptor.get_executor()};
  /// The store `/readyz` asks, used on API threads one at a time.
  std::mutex health_mtx;
  std::unique_ptr<account_store> health_store;
};

namespace {

/// An HTTP answer the session writes.
struct reply {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  /// Seconds for `Retry-After`; 0 sends none.
  long retry_after = 0;
  /// Closes the connection after the answer (after a limit: the client may
  /// still be sending what cannot be read).
  bool close = false;
  /// More header fields (`Allow`, `WWW-Authenticate`).
  std::vector<std::pair<std::string, std::string>> fields = {};
  /// An answer to HEAD: the header says the length of the body a GET would
  /// get, and no body follows.
  bool head = false;
};

reply text_reply(unsigned status, std::string body, long retry_after = 0,
                 bool close = false) {
  return {status, "text/plain", std::move(body), retry_after, close};
}

/// Reads HTTP requests on one TCP connection: answers the account API,
/// CORS preflights and 404s, and hands WebSocket upgrades to a
/// `websocket_session`.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(connection_socket&& socket, gateway::impl* gw)
    : stream_(std::move(socket)), timer_(stream_.get_executor()), gw_(gw) {
    beast::error_code ec;
    auto ep = stream_.next_layer().remote_endpoint(ec);
    if (!ec)
      peer_ = ep.address();
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::start,
                                            shared_from_this()));
  }

private:
  using request = http::request<http::string_body>;

  /// Time a client has for its TLS handshake (and, on a port that takes
  /// both, for the first bytes that tell TLS from plain HTTP).
  static constexpr std::chrono::seconds handshake_time{10};

  void start() {
    auto tls = gw_->tls ? gw_->tls->current() : nullptr;
    if (!tls)
      return do_read();
    arm(handshake_time);
    if (!gw_->cfg().tls_allow_plain)
      return handshake(std::move(tls));
    // Beast's advanced_server_flex: the first bytes tell a TLS ClientHello
    // from plain HTTP; they stay in the buffer for whichever reads next.
    beast::async_detect_ssl(stream_.next_layer(), buffer_,
                            beast::bind_front_handler(&http_session::on_detect,
                                                      shared_from_this()));
  }

  void on_detect(beast::error_code ec, bool is_tls) {
    if (ec)
      return close_now();
    if (!is_tls)
      return do_read();
    handshake(gw_->tls->current());
  }

  void handshake(std::shared_ptr<net::ssl::context> tls) {
    stream_.start_tls(std::move(tls));
    stream_.tls().async_handshake(
      net::ssl::stream_base::server, buffer_.data(),
      beast::bind_front_handler(&http_session::on_handshake,
                                shared_from_this()));
  }

  void on_handshake(beast::error_code ec, std::size_t used) {
    if (ec) {
      gw_->ctx->metrics->tls_handshake_failed();
      return close_now();
    }
    buffer_.consume(used);
    do_read();
  }

  /// Closes the connection if the step it waits for takes longer than `d`
  /// (Beast's timed stream does this for plain TCP only).
  void arm(std::chrono::seconds d) {
    timer_.expires_after(d);
    timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (ec)
        return;
      if (auto self = weak.lock())
        self->close_now();
    });
  }

  void close_now() {
    beast::error_code ignored;
    stream_.next_layer().close(ignored);
  }

  void do_read() {
    parser_.emplace();
    parser_->body_limit(gw_->cfg().max_http_body);
    parser_->header_limit(
      static_cast<std::uint32_t>(gw_->cfg().max_http_header));
    arm(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read,
                                               shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      // Before a complete header only the peer is known, not the client a
      // proxy names.
      auto body = ec == http::error::body_limit;
      auto max = body ? gw_->cfg().max_http_body : gw_->cfg().max_http_header;
      gw_->ctx->report.reject(body ? limit::http_body : limit::http_header,
                              unmapped(peer_).to_string(),
                              std::string{body ? "request body"
                                               : "request header"}
                                + " over " + std::to_string(max) + " bytes");
      return respond(11, false,
                     body ? text_reply(413, "payload too large\n", 0, true)
                          : text_reply(431, "request header fields too large\n",
                                       0, true),
                     {});
    }
    if (ec)
      return close();
    auto req = parser_->release();
    auto target = std::string_view{req.target().data(), req.target().size()};
    auto path = target.substr(0, target.find('?'));
    std::string origin;
    if (auto i = req.find(http::field::origin); i != req.end())
      origin.assign(i->value().data(), i->value().size());
    auto client = client_of(req);
    route_ = http_route(path, beast::websocket::is_upgrade(req));
    started_ = std::chrono::steady_clock::now();
    if (gw_->cfg().access) {
      method_ = std::string{req.method_string()};
      path_ = std::string{path};
      client_ = client.to_string();
    }
    if (refused(req, client, origin))
      return;
    if (beast::websocket::is_upgrade(req)) {
      if (!is_signaling_path(path))
        return respond(req, 404, "text/plain", "not found\n", origin);
      if (gw_->draining)
        return respond(req.version(), false,
                       text_reply(503, "the server is restarting\n", 5, true),
                       origin);
      return upgrade(std::move(req), client, origin);
    }
    if (path == "/healthz" || path == "/readyz" || path == "/admin/drain"
        || path == "/metrics")
      return operate(std::move(req), path, client);
    if (!is_api_path(path)) {
      if (req.method() != http::verb::get && req.method() != http::verb::head)
        return respond(req, 404, "text/plain", "not found\n", origin);
      return page(req, path, origin);
    }
    if (req.method() == http::verb::options)
      return respond(req, 204, {}, {}, origin);
    auto api_path = std::string{path}; // `path` points into `req`
    api(std::move(req), api_path, client, origin);
  }

  /// Answers a GET or HEAD outside the API: the demo page and the
  /// JavaScript client (unless `--web-pages false`), the demo game's UGI
  /// for that page (with `--demo`), else 404.
  void page(const request& req, std::string_view path,
            const std::string& origin) {
    auto head = req.method() == http::verb::head;
    if (path == "/demo-game.json" && !gw_->cfg().demo_game.empty()) {
      auto r = reply{200, "application/json",
                     R"({"ugi":")" + gw_->cfg().demo_game
                       + R"(","name":"Demo Game"})"};
      r.fields.emplace_back("Cache-Control", "no-store");
      r.head = head;
      return respond(req.version(), req.keep_alive(), std::move(r), origin);
    }
    auto asset = gw_->cfg().web_pages ? find_web_asset(path) : nullptr;
    if (asset == nullptr) {
      if (path == "/")
        return respond(req, 200, "text/plain",
                       "omega signaling server: connect a WebSocket to "
                       "/api/v0/signaling?ugi=<UGI>\n",
                       origin);
      return respond(req, 404, "text/plain", "not found\n", origin);
    }
    // The URLs carry no version, so browsers revalidate every time; an
    // unchanged file costs a 304 without a body.
    auto unchanged = false;
    if (auto i = req.find(http::field::if_none_match); i != req.end())
      unchanged = i->value().find(
                    beast::string_view{asset->etag.data(), asset->etag.size()})
                  != beast::string_view::npos;
    auto r = unchanged ? reply{304, {}, {}}
                       : reply{200, std::string{asset->content_type},
                               std::string{asset->body}};
    r.head = head && !unchanged;
    r.fields.emplace_back("ETag", std::string{asset->etag});
    r.fields.emplace_back("Cache-Control", "no-cache");
    r.fields.emplace_back("X-Content-Type-Options", "nosniff");
    // Public files: a game on another origin may import the client.
    r.fields.emplace_back("Access-Control-Allow-Origin", "*");
    if (asset->content_type.substr(0, 9) == "text/html") {
      r.fields.emplace_back("Content-Security-Policy",
                            "default-src 'self'; connect-src 'self' ws: wss: "
                            "http: https:; style-src 'self'; img-src 'self' "
                            "data:; frame-ancestors 'none'");
      r.fields.emplace_back("Referrer-Policy", "no-referrer");
    }
    respond(req.version(), req.keep_alive(), std::move(r), {});
  }

  /// The client of `req`: the peer, or whom a trusted proxy names.
  net::ip::address client_of(const request& req) const {
    if (gw_->trusted.empty())
      return unmapped(peer_);
    std::string forwarded;
    for (auto [i, end] = req.equal_range("X-Forwarded-For"); i != end; ++i) {
      if (!forwarded.empty())
        forwarded += ',';
      forwarded.append(i->value().data(), i->value().size());
    }
    return client_address(peer_, forwarded, gw_->trusted);
  }

  /// Answers `req` with a refusal and returns true if its client is in the
  /// penalty box or over its rate of requests (of upgrades, for an upgrade);
  /// going over a rate puts it in the box.
  bool refused(const request& req, const net::ip::address& client,
               const std::string& origin) {
    auto key = gw_->address_key(client);
    if (key.empty())
      return false;
    auto is_upgrade = beast::websocket::is_upgrade(req);
    auto& penalties = gw_->ctx->penalties;
    auto wait = penalties.remaining(key);
    if (wait.count() > 0) {
      // Behind a trusted proxy the accept cannot tell; the request can.
      gw_->ctx->report.reject(limit::cutoff_penalty, client.to_string(),
                              "cut off for abuse a moment ago");
    } else {
      auto& rate = is_upgrade ? gw_->upgrades : gw_->requests;
      if (rate.take(key, std::chrono::steady_clock::now()).count() == 0)
        return false;
      auto which = is_upgrade ? limit::upgrades_per_address
                              : limit::requests_per_address;
      auto per_minute = is_upgrade ? gw_->cfg().upgrades_per_address
                                   : gw_->cfg().requests_per_address;
      gw_->ctx->report.reject(
        which, client.to_string(),
        std::string{is_upgrade ? "WebSocket upgrades" : "HTTP requests"}
          + " over " + std::to_string(per_minute) + " a minute");
      penalties.add(key, gw_->cfg().cutoff_penalty);
      wait = std::max(penalties.remaining(key), std::chrono::milliseconds{1});
    }
    auto retry_after = static_cast<long>(wait.count() / 1000 + 1);
    respond(req.version(), false,
            is_upgrade ? text_reply(503, "try again later\n", retry_after, true)
                       : reply{429, "application/json",
                               R"({"error":"too many requests, retry later"})",
                               retry_after, true},
            origin);
    return true;
  }

  /// The operator's routes: liveness, readiness and the drain.
  void operate(request req, std::string_view path,
               const net::ip::address& client) {
    auto wanted = path == "/admin/drain" ? http::verb::post : http::verb::get;
    if (req.method() != wanted) {
      auto allow = std::string{http::to_string(wanted)};
      auto r = text_reply(405, "method not allowed\n");
      r.fields.emplace_back("Allow", allow);
      return respond(req.version(), req.keep_alive(), std::move(r), {});
    }
    if (path == "/healthz")
      return respond(req, 200, "text/plain", "ok\n", {});
    if (path == "/readyz")
      return ready(std::move(req));
    if (path == "/metrics")
      return metrics(req, client);
    auto& token = gw_->cfg().admin_token;
    if (token.empty())
      return respond(req, 404, "text/plain", "not found\n", {});
    if (!bearer_is(req, token)) {
      auto r = reply{401, "application/json",
                     R"({"error":"a valid admin token is required"})"};
      r.fields.emplace_back("WWW-Authenticate", "Bearer");
      return respond(req.version(), req.keep_alive(), std::move(r), {});
    }
    gw_->begin_drain();
    respond(req, 202, "application/json", R"({"draining":true})", {});
  }

  /// Answers `/metrics` to an allowed address or the bearer of the token.
  void metrics(const request& req, const net::ip::address& client) {
    auto& token = gw_->cfg().metrics_token;
    if (!in_ranges(client, gw_->metrics_allowed)
        && (token.empty() || !bearer_is(req, token)))
      return respond(req, 403, "text/plain", "forbidden\n", {});
    respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
            gw_->ctx->metrics->scrape(gw_->snapshot()), {});
  }

  /// Answers `/readyz`: 200 once the listener, the cluster and the store
  /// are all fine and no drain runs, else 503 saying what is not.
  void ready(request req) {
    auto why = gw_->not_ready();
    if (!why.empty())
      return respond(req, 503, "text/plain", why + "\n", {});
    gw_->store_answers([self = shared_from_this(),
                        req = std::move(req)](bool answered) mutable {
      net::post(self->stream_.get_executor(), [self, req = std::move(req),
                                               answered] {
        self->respond(req, answered ? 200 : 503, "text/plain",
                      answered ? "ready\n" : "the store does not answer\n", {});
      });
    });
  }

  /// Whether `req` carries `Authorization: Bearer <token>`, compared in
  /// constant time.
  static bool bearer_is(const request& req, const std::string& token) {
    auto i = req.find(http::field::authorization);
    if (i == req.end())
      return false;
    auto value = std::string_view{i->value().data(), i->value().size()};
    constexpr std::string_view scheme = "Bearer ";
    if (value.substr(0, scheme.size()) != scheme)
      return false;
    value.remove_prefix(scheme.size());
    return value.size() == token.size()
           && CRYPTO_memcmp(value.data(), token.data(), token.size()) == 0;
  }

  /// Hands the socket to a WebSocket session if the connection caps allow.
  void upgrade(request req, const net::ip::address& client,
               const std::string& origin) {
    auto key = gw_->address_key(client);
    connection_slot slot;
    auto verdict = gw_->conns->acquire(key, slot);
    if (verdict != connection_limiter::verdict::ok) {
      auto per_address = verdict == connection_limiter::verdict::per_address;
      auto cap = per_address ? gw_->conns->per_address() : gw_->conns->total();
      gw_->ctx->report.reject(per_address ? limit::connections_per_address
                                          : limit::connections_total,
                              client.to_string(),
                              std::to_string(cap) + " WebSockets open"
                                + (per_address ? " from it" : " in total"));
      return respond(req.version(), false,
                     text_reply(503, "too many connections\n", 5, true),
                     origin);
    }
    timer_.cancel();
    auto ws = std::make_shared<websocket_session>(std::move(stream_), gw_->ctx);
    ws->hold(std::move(slot), client.to_string(), std::move(key));
    ws->run(std::move(req));
  }

  /// Runs an API request on an API thread, after the rate limits and the
  /// queue bound (both decided here, so a refused request costs no hash).
  void api(request req, const std::string& path, const net::ip::address& client,
           const std::string& origin) {
    auto route = std::string{api_route(path)};
    auto address = gw_->address_key(client);
    std::string email;
    if (route == "login" || route == "register")
      email = email_key(request_email(req.body()));
    auto verdict = gw_->throttle.admit(route, address, email,
                                       std::chrono::steady_clock::now());
    if (!verdict.allowed) {
      gw_->ctx->report.reject(verdict.which, client.to_string(),
                              "too many " + route + " attempts; retry after "
                                + std::to_string(verdict.retry_after.count())
                                + " s");
      return respond(req.version(), req.keep_alive(),
                     {429, "application/json",
                      R"({"error":"too many attempts, retry later"})",
                      static_cast<long>(verdict.retry_after.count()), false},
                     origin);
    }
    if (!gw_->try_enqueue()) {
      gw_->throttle.give_back(route, address, email);
      gw_->ctx->report.reject(limit::api_queue, client.to_string(),
                              std::to_string(gw_->api_queue_max)
                                + " API requests pending");
      return respond(req.version(), req.keep_alive(),
                     {503, "application/json",
                      R"({"error":"server busy, retry later"})", 2, false},
                     origin);
    }
    std::string accept;
    if (auto i = req.find(http::field::accept); i != req.end())
      accept.assign(i->value().data(), i->value().size());
    api_request api{std::string{req.method_string()}, std::string{path},
                    std::move(req.body()), origin, std::move(accept)};
    auto self = shared_from_this();
    auto work = [self, api = std::move(api), route = std::move(route),
                 address = std::move(address),
                 email = std::move(email)](account_store& store) {
      api_options opts;
      opts.token_lifetime = self->gw_->cfg().token_lifetime;
      auto ctx = self->gw_->ctx;
      opts.pull = [ctx](const replica_query& query) {
        // This is an API worker thread, never a Beast or CAF one: it may
        // block on the AUTH, which asks the other nodes (at most 3 s each).
        caf::scoped_actor blocking{ctx->sys};
        blocking
          ->request(ctx->auth, std::chrono::seconds{5}, atom::pull_v, query)
          .receive([](uint64_t) {}, [](caf::error&) {});
      };
      auto res = handle_api(api, store, opts);
      // Only failed logins count against the login limits.
      if (route == "login" && res.status == 200)
        self->gw_->throttle.give_back(route, address, email);
      if (route == "login" && res.status == 401)
        self->gw_->ctx->metrics->login_failed();
      return res;
    };
    auto done = [self, req = std::move(req), origin](api_response res) mutable {
      net::post(self->stream_.get_executor(),
                [self, req = std::move(req), res = std::move(res),
                 origin = std::move(origin)]() mutable {
                  self->respond(req, res.status, res.content_type,
                                std::move(res.body), origin);
                });
    };
    gw_->with_store(std::move(work), std::move(done));
  }

  void respond(const request& req, unsigned status, std::string content_type,
               std::string body, const std::string& origin) {
    respond(req.version(), req.keep_alive(),
            {status, std::move(content_type), std::move(body), 0, false},
            origin);
  }

  void respond(unsigned version, bool keep_alive, reply r,
               const std::string& origin) {
    gw_->ctx->metrics->http(route_, r.status);
    if (auto& access = gw_->cfg().access) {
      std::chrono::duration<double> took = std::chrono::steady_clock::now()
                                           - started_;
      access({client_.empty() ? unmapped(peer_).to_string() : client_,
              method_.empty() ? "-" : method_, path_.empty() ? "-" : path_,
              r.status, took.count(), false});
    }
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), version);
    res->set(http::field::server, "omega");
    if (!r.content_type.empty())
      res->set(http::field::content_type, r.content_type);
    if (r.retry_after > 0)
      res->set(http::field::retry_after, std::to_string(r.retry_after));
    for (auto& [name, value] : r.fields)
      res->set(name, value);
    if (!origin.empty() && origin_allowed(origin, gw_->cfg().allowed_origins)) {
      res->set(http::field::access_control_allow_origin, origin);
      res->set(http::field::vary, "Origin");
      res->set(http::field::access_control_allow_methods, "POST, OPTIONS");
      res->set(http::field::access_control_allow_headers, "Content-Type");
      res->set(http::field::access_control_max_age, "600");
    }
    res->keep_alive(keep_alive && !r.close);
    if (r.head) {
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
    }
    auto linger = r.close;
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res,
                       linger](beast::error_code ec, std::size_t) {
                        if (linger && !ec)
                          return self->linger();
                        if (ec || !res->keep_alive())
                          return self->close();
                        self->do_read();
                      });
  }

  void close() {
    if (stream_.is_tls()) {
      // TLS says goodbye with close_notify; the client has 2 s to answer.
      arm(std::chrono::seconds{2});
      stream_.tls().async_shutdown(
        [self = shared_from_this()](beast::error_code) { self->close_now(); });
      return;
    }
    beast::error_code ec;
    stream_.next_layer().shutdown(tcp::socket::shutdown_send, ec);
  }

  /// Closes after a refusal without resetting the connection: closing a
  /// socket with unread input (the rest of a body too large) sends an RST,
  /// which may destroy the answer before the client read it. So the session
  /// reads and drops what still comes, for up to 2 s.
  void linger() {
    close();
    if (stream_.is_tls())
      return; // the shutdown reads what still comes
    arm(std::chrono::seconds{2});
    drain();
  }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this()](beast::error_code ec,
                                                        std::size_t) {
                              if (!ec)
                                self->drain();
                            });
  }

  flex_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  gateway::impl* gw_;
  net::ip::address peer_;
  /// The current request's route label (`http_route`), and for the access
  /// log its arrival, method, path and client.
  std::string_view route_ = "other";
  std::chrono::steady_clock::time_point started_;
  std::string method_;
  std::string path_;
  std::string client_;
};

} // namespace

bool gateway::impl::try_enqueue() {
  if (api_queue_max == 0) {
    ++api_pending;
    return true;
  }
  if (api_pending.fetch_add(1) >= api_queue_max) {
    --api_pending;
    return false;
  }
  return true;
}

template <class Work, class Done>
void gateway::impl::with_store(Work work, Done done) {
  net::post(api_pool, [self = this, work = std::move(work),
                       done = std::move(done)]() mutable {
    std::unique_ptr<account_store> store;
    {
      std::lock_guard<std::mutex> guard{self->store_mtx};
      if (!self->idle_stores.empty()) {
        store = std::move(self->idle_stores.back());
        self->idle_stores.pop_back();
      }
    }
    if (!store)
      store = self->stores();
    api_response res{500, "application/json",
                     R"({"error":"the store cannot be opened"})"};
    if (store) {
      res = work(*store);
      std::lock_guard<std::mutex> guard{self->store_mtx};
      self->idle_stores.emplace_back(std::move(store));
    }
    --self->api_pending;
    done(std::move(res));
  });
}

void gateway::impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc),
                        beast::bind_front_handler(&impl::on_accept, this));
}

namespace {

/// Accept errors that last as long as the server is out of descriptors or
/// kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
bool out_of_descriptors(const beast::error_code& ec) {
  if (ec.category() != boost::system::system_category())
    return false;
  auto x = ec.value();
  return x == EMFILE || x == ENFILE || x == ENOBUFS || x == ENOMEM;
}

} // namespace

void gateway::impl::pause_accept(const beast::error_code& ec) {
  using std::chrono::milliseconds;
  accept_backoff = accept_backoff.count() == 0
                     ? milliseconds{100}
                     : std::min(accept_backoff * 2, milliseconds{2000});
  ctx->report.reject(limit::accept_descriptors, "accept",
                     ec.message() + "; accepting paused for "
                       + std::to_string(accept_backoff.count()) + " ms");
  accept_paused = true;
  accept_timer.expires_after(accept_backoff);
  accept_timer.async_wait([this](beast::error_code ec) {
    if (ec || stopped)
      return;
    accept_paused = false;
    do_accept();
  });
}

void gateway::impl::on_accept(beast::error_code ec, connection_socket socket) {
  if (stopped)
    return;
  if (ec && out_of_descriptors(ec))
    return pause_accept(ec);
  accept_backoff = std::chrono::milliseconds{0};
  if (!ec) {
    beast::error_code ignored;
    auto peer = socket.remote_endpoint(ignored).address();
    if (!ignored && !in_ranges(peer, trusted)) {
      // Cut off for abuse a moment ago: held unanswered before a byte is
      // read, so the client waits instead of retrying at once.
      if (auto wait = ctx->penalties.remaining(address_key(peer));
          wait.count() > 0) {
        hold(std::move(socket), wait);
        return do_accept();
      }
    }
    socket.set_option(tcp::no_delay{true}, ignored);
    std::make_shared<http_session>(std::move(socket), this)->run();
  }
  do_accept();
}

void gateway::impl::hold(connection_socket socket,
                         std::chrono::milliseconds wait) {
  if (max_held == 0) {
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  if (held.size() >= max_held)
    held.pop_front(); // destroying the socket closes it
  auto idle = held.empty();
  held.emplace_back(std::move(socket), std::chrono::steady_clock::now() + wait);
  if (idle)
    release_held();
}

void gateway::impl::release_held() {
  auto now = std::chrono::steady_clock::now();
  while (!held.empty() && held.front().second <= now)
    held.pop_front();
  if (held.empty())
    return;
  // Held in the order they came, each for the rest of a penalty: the front
  // is not always due first, but none is held much past its time, since
  // penalties last the same everywhere.
  hold_timer.expires_at(held.front().second);
  hold_timer.async_wait([this](beast::error_code ec) {
    if (!ec && !stopped)
      release_held();
  });
}

void gateway::impl::begin_drain() {
  if (draining.exchange(true))
    return;
  ctx->census->draining = true;
  caf::anon_send(ctx->dir, atom::drain_v);
  net::post(acceptor.get_executor(), [this] {
    drain_deadline = std::chrono::steady_clock::now() + cfg().drain_timeout;
    check_drain();
  });
}

void gateway::impl::check_drain() {
  if (stopped)
    return;
  using std::chrono::milliseconds;
  auto now = std::chrono::steady_clock::now();
  auto again = [this](milliseconds wait) {
    drain_timer.expires_after(wait);
    drain_timer.async_wait([this](beast::error_code ec) {
      if (!ec)
        check_drain();
    });
  };
  if (!drain_closing) {
    auto& census = *ctx->census;
    auto members = census[connection_census::host]
                   + census[connection_census::peer];
    if (members > 0 && now < drain_deadline)
      return again(milliseconds{100});
    drain_closing = true;
    drain_deadline = now + std::chrono::seconds{2};
    for (auto& s : ctx->open_sessions())
      s->shutdown(close_code::service_restart);
  }
  bool empty;
  {
    std::lock_guard<std::mutex> guard{ctx->mtx};
    empty = ctx->sessions.empty();
  }
  if (empty || now >= drain_deadline) {
    drained = true;
    return;
  }
  again(milliseconds{20});
}

metrics_snapshot gateway::impl::snapshot() const {
  metrics_snapshot x;
  for (size_t i = 0; i < connection_census::states; ++i)
    x.connections[i] = (*ctx->census)[static_cast<connection_census::state>(i)];
  x.lobbies = running_lobbies.load(std::memory_order_relaxed);
  x.games = running_games.load(std::memory_order_relaxed);
  x.sessions_held = held_sessions.load(std::memory_order_relaxed);
  if (cfg().cluster_peers)
    x.cluster_peers = cfg().cluster_peers();
  if (tls)
    x.certificate_expiry
      = std::chrono::system_clock::to_time_t(tls->not_after());
  for (size_t i = 0; i < limit_count; ++i) {
    auto which = static_cast<limit>(i);
    x.rejections.emplace_back(std::string{limit_name(which)},
                              ctx->report.counters().get(which));
  }
  for (size_t i = 0; i < limit_kind_count; ++i) {
    auto which = static_cast<limit_kind>(i);
    x.rejections.emplace_back(limit_name(which), omega::rejections(which));
  }
  x.draining = draining;
  return x;
}

std::string gateway::impl::not_ready() const {
  if (draining)
    return "draining";
  if (stopped || accept_paused)
    return "not accepting connections";
  if (cfg().cluster_ready && !cfg().cluster_ready())
    return "not joined to the cluster";
  return {};
}

template <class Done>
void gateway::impl::store_answers(Done done) {
  net::post(api_pool, [this, done = std::move(done)]() mutable {
    bool answered = false;
    {
      std::lock_guard<std::mutex> guard{health_mtx};
      if (!health_store)
        health_store = stores();
      answered = health_store && health_store->healthy();
      if (!answered)
        health_store.reset(); // opened afresh next time
    }
    done(answered);
  });
}

void gateway::impl::sweep_idle() {
  idle_timer.expires_after(
    std::max(cfg().idle_timeout / 4, std::chrono::milliseconds{1}));
  idle_timer.async_wait([this](beast::error_code ec) {
    if (ec || stopped)
      return;
    for (auto& s : ctx->open_sessions())
      s->idle_tick();
    sweep_idle();
  });
}

namespace {

/// Parses each of `xs` (ADDR or ADDR/BITS) into `out`; false with `error`
/// naming `what` for one that is neither.
bool parse_ranges(const std::vector<std::string>& xs, const char* what,
                  std::vector<address_range>& out, std::string& error) {
  for (auto& x : xs) {
    auto range = parse_address_range(x);
    if (!range) {
      error = std::string{"invalid "} + what + " " + x + " (ADDR or ADDR/BITS)";
      return false;
    }
    out.push_back(*range);
  }
  return true;
}

} // namespace

// -- gateway ------------------------------------------------------------------

gateway::gateway(caf::actor_system& sys, gateway_config cfg, auth_actor auth,
                 directory_actor dir, store_factory stores)
  : impl_(std::make_unique<impl>(sys, std::move(cfg), std::move(auth),
                                 std::move(dir), std::move(stores))) {
  // nop
}

gateway::~gateway() {
  stop(std::chrono::milliseconds{0});
}

uint16_t gateway::start(std::string& error) {
  auto& d = *impl_;
  beast::error_code ec;
  auto addr = net::ip::make_address(d.cfg().address, ec);
  if (ec) {
    error = "invalid address " + d.cfg().address + ": " + ec.message();
    return 0;
  }
  tcp::endpoint ep{addr, d.cfg().port};
  d.acceptor.open(ep.protocol(), ec);
  if (!ec)
    d.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    d.acceptor.bind(ep, ec);
  if (!ec)
    d.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + d.cfg().address + ":"
            + std::to_string(d.cfg().port) + ": " + ec.message();
    return 0;
  }
  if (!d.cfg().tls_cert.empty() || !d.cfg().tls_key.empty()) {
    d.tls = std::make_unique<tls_contexts>(d.cfg().tls_cert, d.cfg().tls_key);
    if (!d.tls->reload(error))
      return 0;
  }
  if (!parse_ranges(d.cfg().trusted_proxies, "trusted proxy", d.trusted, error)
      || !parse_ranges(d.cfg().unlimited_addresses, "unlimited address",
                       d.unlimited, error)
      || !parse_ranges(d.cfg().metrics_allow, "metrics address",
                       d.metrics_allowed, error))
    return 0;
  auto total = d.cfg().max_connections;
  d.max_held = d.cfg().penalty_hold;
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    auto n = static_cast<size_t>(lim.rlim_cur);
    d.max_held = std::min(d.max_held, n / 8);
    // Each WebSocket is a descriptor; a quarter of the limit (at most 256)
    // stays for HTTP requests, the store and the cluster, and an eighth at
    // most for held connections.
    if (total == 0)
      total = std::min<size_t>(50000,
                               n - std::min<size_t>(256, n / 4) - d.max_held);
  } else if (total == 0) {
    total = 50000;
  }
  d.conns = std::make_shared<connection_limiter>(
    d.cfg().max_connections_per_address, total);
  auto port = d.acceptor.local_endpoint().port();
  if (d.cfg().io_threads == 0 && !attach_io(d.ctx->sys, d.ioc)) {
    error = "the actor system does not run a shared loop (use_shared_loop)";
    return 0;
  }
  d.do_accept();
  if (d.cfg().idle_timeout.count() > 0)
    d.sweep_idle();
  for (size_t i = 0; i < d.cfg().io_threads; ++i)
    d.threads.emplace_back([&d] { d.ioc.run(); });
  return port;
}

void gateway::stop(std::chrono::milliseconds grace) {
  auto& d = *impl_;
  if (d.stopped.exchange(true))
    return;
  net::post(d.acceptor.get_executor(), [&d] {
    beast::error_code ec;
    d.acceptor.close(ec);
    d.accept_timer.cancel();
    d.hold_timer.cancel();
    d.held.clear();
  });
  for (auto& s : d.ctx->open_sessions())
    s->shutdown();
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (sessions() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  if (d.cfg().io_threads == 0)
    detach_io(d.ctx->sys);
  d.ioc.stop();
  for (auto& t : d.threads)
    if (t.joinable())
      t.join();
  d.threads.clear();
  d.api_pool.join();
}

bool gateway::reload_tls(std::string& error) {
  if (!impl_->tls) {
    error = "TLS is off (no --tls-cert)";
    return false;
  }
  return impl_->tls->reload(error);
}

std::optional<std::chrono::system_clock::time_point>
gateway::certificate_expiry() const {
  if (!impl_->tls)
    return std::nullopt;
  return impl_->tls->not_after();
}

void gateway::drain() {
  impl_->begin_drain();
}

bool gateway::draining() const {
  return impl_->draining;
}

bool gateway::drained() const {
  return impl_->drained;
}

const connection_census& gateway::census() const {
  return *impl_->ctx->census;
}

size_t gateway::sessions() const {
  std::lock_guard<std::mutex> guard{impl_->ctx->mtx};
  return impl_->ctx->sessions.size();
}

size_t gateway::max_connections() const {
  return impl_->conns ? impl_->conns->total() : impl_->cfg().max_connections;
}

const limit_counters& gateway::rejections() const {
  return impl_->ctx->report.counters();
}

} // namespace omega
