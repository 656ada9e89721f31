#pragma once

#include <memory>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace omega {

/// The executor of every connection: a strand of its own. A concrete type
/// rather than Beast's default, Asio's type-erased `any_io_executor`, whose
/// copies, moves and queries (type_info comparisons) cost every socket
/// operation several indirect calls.
using strand_executor
  = boost::asio::strand<boost::asio::io_context::executor_type>;

/// A TCP socket bound to its connection's strand (what the acceptor hands
/// over).
using connection_socket
  = boost::asio::basic_stream_socket<boost::asio::ip::tcp, strand_executor>;

/// The bytes of one client connection: plain TCP, or TLS over it once
/// `start_tls` is called. One type for both, decided per connection at run
/// time, so a port may take both (`gateway_config::tls_allow_plain`) and the
/// HTTP and WebSocket sessions are written, and compiled, once. The branch
/// per operation costs nothing next to a system call; a plain connection
/// carries one null pointer more.
class flex_stream {
public:
  using executor_type = strand_executor;
  using error_code = boost::beast::error_code;
  using tls_stream = boost::asio::ssl::stream<connection_socket>;

  explicit flex_stream(connection_socket&& socket) : plain_(std::move(socket)) {
    // nop
  }

  flex_stream(flex_stream&&) = default;
  flex_stream& operator=(flex_stream&&) = default;

  /// Wraps the socket in TLS with `ctx` (which the stream keeps: a reload
  /// may replace the gateway's context while this connection lives). The
  /// handshake is the caller's (`tls().async_handshake`).
  void start_tls(std::shared_ptr<boost::asio::ssl::context> ctx) {
    ctx_ = std::move(ctx);
    tls_ = std::make_unique<tls_stream>(std::move(plain_), *ctx_);
  }

  bool is_tls() const noexcept {
    return tls_ != nullptr;
  }

  tls_stream& tls() noexcept {
    return *tls_;
  }

  /// The TCP socket under either form (Beast's `get_lowest_layer` finds it
  /// here, to close it on a timeout).
  connection_socket& next_layer() noexcept {
    return tls_ ? tls_->next_layer() : plain_;
  }

  const connection_socket& next_layer() const noexcept {
    return tls_ ? tls_->next_layer() : plain_;
  }

  executor_type get_executor() noexcept {
    return next_layer().get_executor();
  }

  template <class MutableBuffers, class ReadToken>
  auto async_read_some(const MutableBuffers& buffers, ReadToken&& token) {
    return boost::asio::async_initiate<ReadToken,
                                       void(error_code, std::size_t)>(
      [this](auto handler, const MutableBuffers& bufs) {
        if (tls_)
          tls_->async_read_some(bufs, std::move(handler));
        else
          plain_.async_read_some(bufs, std::move(handler));
      },
      token, buffers);
  }

  template <class ConstBuffers, class WriteToken>
  auto async_write_some(const ConstBuffers& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken,
                                       void(error_code, std::size_t)>(
      [this](auto handler, const ConstBuffers& bufs) {
        if (tls_)
          tls_->async_write_some(bufs, std::move(handler));
        else
          plain_.async_write_some(bufs, std::move(handler));
      },
      token, buffers);
  }

  /// Ends the connection the way Beast does for its form: TLS sends its
  /// close_notify first.
  template <class Handler>
  void async_teardown(boost::beast::role_type role, Handler&& handler) {
    if (tls_)
      boost::beast::async_teardown(role, *tls_, std::forward<Handler>(handler));
    else
      boost::beast::websocket::async_teardown(role, plain_,
                                              std::forward<Handler>(handler));
  }

  void teardown(boost::beast::role_type role, error_code& ec) {
    if (tls_)
      boost::beast::teardown(role, *tls_, ec);
    else
      boost::beast::websocket::teardown(role, plain_, ec);
  }

private:
  /// The socket, until `start_tls` moves it into `tls_`.
  connection_socket plain_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::unique_ptr<tls_stream> tls_;
};

/// Beast's WebSocket stream finds these by argument-dependent lookup.
inline void teardown(boost::beast::role_type role, flex_stream& stream,
                     boost::beast::error_code& ec) {
  stream.teardown(role, ec);
}

template <class Handler>
void async_teardown(boost::beast::role_type role, flex_stream& stream,
                    Handler&& handler) {
  stream.async_teardown(role, std::forward<Handler>(handler));
}

} // namespace omega
