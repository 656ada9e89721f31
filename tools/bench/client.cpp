#include "tools/bench/client.hpp"

#include <chrono>
#include <deque>
#include <type_traits>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/beast/websocket/stream_base.hpp>
#include <openssl/ssl.h>

#include "tools/bench/clock.hpp"

namespace omega::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;

client::client(strand_type strand, driver& drv)
  : strand_(std::move(strand)), drv_(drv) {
  // nop
}

namespace {

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// The client over one kind of stream. Plain and TLS clients are two
/// instantiations, so the plain one runs the same code as before TLS
/// existed (only `open`, `send` and `close` are virtual calls now), and the
/// TLS one differs only by its handshake between the connect and the
/// upgrade.
template <class Stream>
class stream_client final
  : public client,
    public std::enable_shared_from_this<stream_client<Stream>> {
public:
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  /// `layer` is what the stream under the WebSocket takes besides the
  /// strand: nothing for plain, the context for TLS.
  template <class... Layer>
  stream_client(strand_type strand, driver& drv, Layer&... layer)
    : client(strand, drv), ws_(strand, layer...) {
    // nop
  }

  void open(const tcp::endpoint& ep, const std::string& host,
            std::string target) override {
    open_started_ns = now_ns();
    host_ = host;
    target_ = std::move(target);
    auto& sock = beast::get_lowest_layer(ws_);
    if (!source.is_unspecified()) {
      error_code ec;
      sock.socket().open(ep.protocol(), ec);
      if (!ec)
        sock.socket().bind(tcp::endpoint{source, 0}, ec);
      if (ec)
        return fail_open("bind: " + ec.message());
    }
    sock.expires_after(std::chrono::seconds{10});
    sock.async_connect(ep, beast::bind_front_handler(&stream_client::on_connect,
                                                     self()));
  }

  void send(std::string frame) override {
    if (!open_ || closing_)
      return;
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1)
      do_write();
  }

  void close() override {
    if (closing_)
      return;
    closing_ = true;
    if (!open_) {
      // Still connecting: the connect or handshake completion sees
      // `closing_`; cancelling makes that happen now.
      beast::get_lowest_layer(ws_).cancel();
      return;
    }
    if (queue_.empty())
      do_close();
  }

private:
  std::shared_ptr<stream_client> self() {
    return this->shared_from_this();
  }

  void on_connect(error_code ec) {
    if (ec || closing_)
      return fail_open(ec ? "connect: " + ec.message() : std::string{});
    auto& sock = beast::get_lowest_layer(ws_);
    sock.socket().set_option(tcp::no_delay{true}, ec);
    if constexpr (is_tls) {
      // The connect's 10 s limit also bounds the TLS handshake.
      ws_.next_layer().async_handshake(
        ssl::stream_base::client,
        beast::bind_front_handler(&stream_client::on_tls_handshake, self()));
    } else {
      upgrade();
    }
  }

  void on_tls_handshake(error_code ec) {
    if (ec || closing_) {
      beast::get_lowest_layer(ws_).close();
      return fail_open(ec ? "tls handshake: " + ec.message() : std::string{});
    }
    upgrade();
  }

  /// The WebSocket handshake, with the stream's timeouts for the run.
  void upgrade() {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = std::chrono::seconds{10};
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.read_message_max(1 << 20);
    ws_.auto_fragment(false);
    // Masking keys need no cryptographic strength in a load generator.
    ws_.secure_prng(false);
    ws_.async_handshake(host_, target_,
                        beast::bind_front_handler(&stream_client::on_handshake,
                                                  self()));
  }

  void on_handshake(error_code ec) {
    if (ec || closing_) {
      beast::get_lowest_layer(ws_).close();
      return fail_open(ec ? "handshake: " + ec.message() : std::string{});
    }
    open_ = true;
    ws_.text(true);
    do_read();
    drv_.on_opened(*this, true, {});
  }

  void fail_open(const std::string& what) {
    drv_.on_opened(*this, false, what);
    drv_.on_end(*this);
    keep.reset(); // as at the end of the read loop
  }

  void do_read() {
    ws_.async_read(buf_,
                   beast::bind_front_handler(&stream_client::on_read, self()));
  }

  void on_read(error_code ec, size_t) {
    if (ec) {
      open_ = false;
      // A write may still be in flight on `queue_.front()`: leave the queue.
      if (!closing_)
        drv_.on_lost(*this, "read: " + ec.message());
      drv_.on_end(*this);
      // The client is over: drop its group, which refers back to it (a
      // handshake holds both its clients), so neither outlives the run.
      keep.reset();
      return;
    }
    auto data = buf_.cdata();
    if (!closing_)
      drv_.on_frame(*this,
                    std::string_view{static_cast<const char*>(data.data()),
                                     data.size()});
    buf_.consume(buf_.size());
    if (reading_)
      do_read();
  }

  void do_write() {
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&stream_client::on_write,
                                              self()));
  }

  void on_write(error_code ec, size_t) {
    if (ec) {
      // The read loop reports the failure.
      queue_.clear();
      return;
    }
    queue_.pop_front();
    if (!queue_.empty())
      do_write();
    else if (closing_ && open_)
      do_close();
  }

  void do_close() {
    ws_.async_close(websocket::close_code::normal, [self = self()](error_code) {
      // The pending read ends the client.
    });
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  std::string host_;
  std::string target_;
};

} // namespace

std::shared_ptr<client> make_plain_client(strand_type strand, driver& drv) {
  return std::make_shared<stream_client<plain_stream>>(std::move(strand), drv);
}

std::shared_ptr<client> make_tls_client(strand_type strand, driver& drv,
                                        ssl::context& tls) {
  return std::make_shared<stream_client<tls_stream>>(std::move(strand), drv,
                                                     tls);
}

std::unique_ptr<ssl::context> make_tls_context(const std::string& ca_file,
                                               const std::string& host,
                                               std::string& error) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // Every connect is a full handshake, as the first visit of a player (a
  // client context caches no sessions unless told to).
  if (ca_file.empty()) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  error_code ec;
  ctx->load_verify_file(ca_file, ec);
  if (ec) {
    error = "cannot load --tls-ca " + ca_file + ": " + ec.message();
    return nullptr;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  ctx->set_verify_callback(ssl::host_name_verification(host));
  return ctx;
}

} // namespace omega::bench
