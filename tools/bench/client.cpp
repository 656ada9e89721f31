#include "tools/bench/client.hpp"

#include <chrono>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream_base.hpp>

#include "tools/bench/clock.hpp"

namespace omega::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

client::client(strand_type strand, driver& drv)
  : strand_(strand), ws_(strand), drv_(drv) {
  // nop
}

void client::open(const tcp::endpoint& ep, const std::string& host,
                  std::string target) {
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
  sock.async_connect(ep, beast::bind_front_handler(&client::on_connect,
                                                   shared_from_this()));
}

void client::send(std::string frame) {
  if (!open_ || closing_)
    return;
  queue_.push_back(std::move(frame));
  if (queue_.size() == 1)
    do_write();
}

void client::close() {
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

void client::on_connect(error_code ec) {
  if (ec || closing_)
    return fail_open(ec ? "connect: " + ec.message() : std::string{});
  auto& sock = beast::get_lowest_layer(ws_);
  sock.socket().set_option(tcp::no_delay{true}, ec);
  sock.expires_never();
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
                      beast::bind_front_handler(&client::on_handshake,
                                                shared_from_this()));
}

void client::on_handshake(error_code ec) {
  if (ec || closing_) {
    beast::get_lowest_layer(ws_).close();
    return fail_open(ec ? "handshake: " + ec.message() : std::string{});
  }
  open_ = true;
  ws_.text(true);
  do_read();
  drv_.on_opened(*this, true, {});
}

void client::fail_open(const std::string& what) {
  drv_.on_opened(*this, false, what);
  drv_.on_end(*this);
  keep.reset(); // as at the end of the read loop
}

void client::do_read() {
  ws_.async_read(buf_, beast::bind_front_handler(&client::on_read,
                                                 shared_from_this()));
}

void client::on_read(error_code ec, size_t) {
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
    drv_.on_frame(*this, std::string_view{static_cast<const char*>(data.data()),
                                          data.size()});
  buf_.consume(buf_.size());
  if (reading_)
    do_read();
}

void client::do_write() {
  ws_.async_write(net::buffer(queue_.front()),
                  beast::bind_front_handler(&client::on_write,
                                            shared_from_this()));
}

void client::on_write(error_code ec, size_t) {
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

void client::do_close() {
  ws_.async_close(websocket::close_code::normal,
                  [self = shared_from_this()](error_code) {
                    // The pending read ends the client.
                  });
}

} // namespace omega::bench
