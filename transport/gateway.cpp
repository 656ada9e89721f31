#include "transport/gateway.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <caf/actor_system.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include "storage/account_store.hpp"
#include "transport/event_loop.hpp"
#include "transport/http_api.hpp"
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
      stores(std::move(stores)) {
    ctx = std::make_shared<session_context>(sys, std::move(auth),
                                            std::move(dir), std::move(cfg));
  }

  const gateway_config& cfg() const {
    return ctx->cfg;
  }

  void do_accept();
  void on_accept(beast::error_code ec, connection_socket socket);

  /// Ticks every session's idle count each quarter of the idle timeout.
  void sweep_idle();

  /// Runs `f(store)` on an API worker with a store connection of its own.
  template <class F>
  void with_store(F f);

  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer idle_timer{ioc};
  std::shared_ptr<session_context> ctx;
  std::vector<std::thread> threads;

  /// Blocking account work (argon2id, SQLite) runs here, off the I/O threads.
  net::thread_pool api_pool;
  store_factory stores;
  std::mutex store_mtx;
  std::vector<std::unique_ptr<account_store>> idle_stores;
  std::atomic<bool> stopped{false};
};

namespace {

/// Reads HTTP requests on one TCP connection: answers the account API,
/// CORS preflights and 404s, and hands WebSocket upgrades to a
/// `websocket_session`.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(connection_socket&& socket, gateway::impl* gw)
    : stream_(std::move(socket)), gw_(gw) {
    // nop
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::do_read,
                                            shared_from_this()));
  }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(gw_->cfg().max_http_body);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read,
                                               shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return close();
    auto req = parser_->release();
    auto target = std::string_view{req.target().data(), req.target().size()};
    auto path = target.substr(0, target.find('?'));
    std::string origin;
    if (auto i = req.find(http::field::origin); i != req.end())
      origin.assign(i->value().data(), i->value().size());
    if (beast::websocket::is_upgrade(req)) {
      if (!is_signaling_path(path))
        return respond(req, 404, "text/plain", "not found\n", origin);
      stream_.expires_never();
      std::make_shared<websocket_session>(stream_.release_socket(), gw_->ctx)
        ->run(std::move(req));
      return;
    }
    if (!is_api_path(path)) {
      if (path == "/" && req.method() == http::verb::get)
        return respond(req, 200, "text/plain",
                       "omega signaling server: connect a WebSocket to "
                       "/api/v0/signaling?ugi=<UGI>\n",
                       origin);
      return respond(req, 404, "text/plain", "not found\n", origin);
    }
    if (req.method() == http::verb::options)
      return respond(req, 204, {}, {}, origin);
    std::string accept;
    if (auto i = req.find(http::field::accept); i != req.end())
      accept.assign(i->value().data(), i->value().size());
    api_request api{std::string{req.method_string()}, std::string{path},
                    std::move(req.body()), origin, std::move(accept)};
    auto self = shared_from_this();
    gw_->with_store([self, api = std::move(api),
                     req = std::move(req)](account_store& store) mutable {
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
      net::post(self->stream_.get_executor(),
                [self, req = std::move(req), res = std::move(res),
                 origin = api.origin]() mutable {
                  self->respond(req, res.status, res.content_type,
                                std::move(res.body), origin);
                });
    });
  }

  template <class Request>
  void respond(const Request& req, unsigned status, std::string content_type,
               std::string body, const std::string& origin) {
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(status), req.version());
    res->set(http::field::server, "omega");
    if (!content_type.empty())
      res->set(http::field::content_type, content_type);
    if (!origin.empty() && origin_allowed(origin, gw_->cfg().allowed_origins)) {
      res->set(http::field::access_control_allow_origin, origin);
      res->set(http::field::vary, "Origin");
      res->set(http::field::access_control_allow_methods, "POST, OPTIONS");
      res->set(http::field::access_control_allow_headers, "Content-Type");
      res->set(http::field::access_control_max_age, "600");
    }
    res->keep_alive(req.keep_alive());
    res->body() = std::move(body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec,
                                                       std::size_t) {
                        if (ec || !res->keep_alive())
                          return self->close();
                        self->do_read();
                      });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  connection_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  gateway::impl* gw_;
};

} // namespace

template <class F>
void gateway::impl::with_store(F f) {
  net::post(api_pool, [self = this, f = std::move(f)]() mutable {
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
    if (!store)
      return;
    f(*store);
    std::lock_guard<std::mutex> guard{self->store_mtx};
    self->idle_stores.emplace_back(std::move(store));
  });
}

void gateway::impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc),
                        beast::bind_front_handler(&impl::on_accept, this));
}

void gateway::impl::on_accept(beast::error_code ec, connection_socket socket) {
  if (stopped)
    return;
  if (!ec) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay{true}, ignored);
    std::make_shared<http_session>(std::move(socket), this)->run();
  }
  do_accept();
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

size_t gateway::sessions() const {
  std::lock_guard<std::mutex> guard{impl_->ctx->mtx};
  return impl_->ctx->sessions.size();
}

} // namespace omega
