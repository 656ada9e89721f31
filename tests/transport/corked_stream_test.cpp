#include "transport/corked_stream.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <gtest/gtest.h>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = beast::error_code;
using namespace std::chrono_literals;

namespace {

/// A TCP socket that counts the writes made on it: the number of `sendmsg`
/// calls the corked layer causes.
struct counting_socket {
  using executor_type = tcp::socket::executor_type;

  counting_socket(tcp::socket s, std::size_t& writes)
    : sock(std::move(s)), writes(&writes) {
    // nop
  }

  executor_type get_executor() {
    return sock.get_executor();
  }

  tcp::socket& next_layer() {
    return sock;
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& b, Token&& t) {
    return sock.async_read_some(b, std::forward<Token>(t));
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& b, Token&& t) {
    ++*writes;
    return sock.async_write_some(b, std::forward<Token>(t));
  }

  tcp::socket sock;
  std::size_t* writes;
};

template <class Handler>
void async_teardown(beast::role_type role, counting_socket& s,
                    Handler&& handler) {
  websocket::async_teardown(role, s.sock, std::forward<Handler>(handler));
}

using server_stream = websocket::stream<omega::corked_stream<counting_socket>>;

/// A WebSocket server end with the corked layer and a plain client end,
/// connected over loopback and handshaken, on one single-threaded
/// io_context (so the order of events is fixed).
struct corked_pair : ::testing::Test {
  void SetUp() override {
    tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), 0}};
    tcp::socket accepted{ioc};
    acceptor.async_accept(accepted, [](error_code ec) { ASSERT_FALSE(ec); });
    client.next_layer().connect(acceptor.local_endpoint());
    ioc.run_for(2s);
    ioc.restart();
    server = std::make_shared<server_stream>(std::move(accepted), writes);
    server->next_layer().hold(server);
    bool accepted_ws = false;
    bool handshaken = false;
    server->async_accept([&](error_code ec) { accepted_ws = !ec; });
    client.async_handshake("127.0.0.1", "/",
                           [&](error_code ec) { handshaken = !ec; });
    run_until([&] { return accepted_ws && handshaken; });
    ASSERT_TRUE(accepted_ws && handshaken);
    writes = 0;
  }

  void TearDown() override {
    // `hold` names the stream as its own owner; break that cycle.
    server->next_layer().hold({});
  }

  void run_for(std::chrono::milliseconds d) {
    ioc.restart();
    ioc.run_for(d);
  }

  /// Runs the io_context until `done` or 5 s pass (bounded).
  template <class Predicate>
  void run_until(Predicate done) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ioc.restart();
      ioc.run_for(10ms);
    }
  }

  /// Writes `frames` on the server one after the other, each started from
  /// the completion of the one before (as a session drains its queue).
  /// `then` runs from the completion of the last one.
  void write_chain(std::vector<std::string> frames,
                   std::function<void()> then = {}) {
    auto queue = std::make_shared<std::vector<std::string>>(std::move(frames));
    auto next = std::make_shared<std::function<void(size_t)>>();
    *next = [this, queue, next, then](size_t i) {
      if (i == queue->size()) {
        auto done = then; // this lambda dies with the next line
        *next = nullptr;  // break the self-reference
        if (done)
          done();
        return;
      }
      server->async_write(net::buffer((*queue)[i]),
                          [this, next, i](error_code ec, size_t) {
                            if (ec) {
                              ++write_errors;
                              *next = nullptr;
                              return;
                            }
                            ++written;
                            (*next)(i + 1);
                          });
    };
    (*next)(0);
  }

  /// Reads `n` messages on the client into `received`.
  void read_messages(size_t n) {
    auto buf = std::make_shared<beast::flat_buffer>();
    auto next = std::make_shared<std::function<void()>>();
    *next = [this, n, buf, next] {
      if (received.size() == n) {
        *next = nullptr;
        return;
      }
      client.async_read(*buf, [this, buf, next](error_code ec, size_t) {
        if (ec) {
          read_error = ec;
          *next = nullptr;
          return;
        }
        received.push_back(beast::buffers_to_string(buf->data()));
        buf->consume(buf->size());
        (*next)();
      });
    };
    (*next)();
  }

  static std::vector<std::string> numbered(size_t n, size_t bytes = 0) {
    std::vector<std::string> result;
    for (size_t i = 0; i < n; ++i) {
      auto s = "frame " + std::to_string(i) + " ";
      s.resize(std::max(s.size(), bytes), 'x');
      result.push_back(std::move(s));
    }
    return result;
  }

  net::io_context ioc{1};
  websocket::stream<tcp::socket> client{ioc};
  std::size_t writes = 0;
  std::shared_ptr<server_stream> server;
  size_t written = 0;
  size_t write_errors = 0;
  std::vector<std::string> received;
  error_code read_error;
};

} // namespace

TEST_F(corked_pair, chained_frames_share_one_socket_write_and_keep_order) {
  auto frames = numbered(100);
  write_chain(frames);
  read_messages(frames.size());
  run_until([&] { return received.size() == frames.size(); });
  EXPECT_EQ(written, frames.size());
  EXPECT_EQ(received, frames);
  // All 100 frames (1.2 KB) went out in one socket write, where a WebSocket
  // stream on the bare socket makes one per frame.
  EXPECT_EQ(writes, 1u);
}

TEST_F(corked_pair, long_chains_are_cut_into_bounded_socket_writes) {
  auto frames = numbered(64, 1024);
  write_chain(frames);
  read_messages(frames.size());
  run_until([&] { return received.size() == frames.size(); });
  EXPECT_EQ(received, frames);
  // 64 KiB in writes of at most 16 KiB (`max_batch`) plus one frame.
  EXPECT_GE(writes, 4u);
  EXPECT_LE(writes, 8u);
}

TEST_F(corked_pair, a_close_answered_by_the_server_reaches_the_client) {
  // The server's close frame is accepted by the corked layer and Beast tears
  // the socket down at once: the teardown has to wait until that frame has
  // gone out, or the client sees the connection end without it.
  error_code server_read;
  beast::flat_buffer buf;
  server->async_read(buf, [&](error_code ec, size_t) { server_read = ec; });
  bool closed = false;
  error_code close_error;
  client.async_close(websocket::close_code::normal, [&](error_code ec) {
    closed = true;
    close_error = ec;
  });
  run_until([&] { return closed && server_read; });
  ASSERT_TRUE(closed);
  EXPECT_FALSE(close_error) << close_error.message();
  EXPECT_EQ(server_read, websocket::error::closed);
}

TEST_F(corked_pair, frames_queued_before_a_server_close_are_delivered_first) {
  // The close is written from the last frame's completion, before the
  // corked layer has sent any of the five.
  auto frames = numbered(5);
  bool closed = false;
  write_chain(frames, [&] {
    server->async_close(websocket::close_code::going_away,
                        [&](error_code) { closed = true; });
  });
  read_messages(frames.size() + 1); // the read after the fifth sees the close
  run_until([&] { return read_error && closed; });
  EXPECT_EQ(received, frames);
  EXPECT_EQ(writes, 1u); // the frames and the close frame
  EXPECT_EQ(read_error, websocket::error::closed);
  EXPECT_EQ(client.reason().code, websocket::close_code::going_away);
}

TEST_F(corked_pair, after_a_socket_error_every_write_fails) {
  write_chain(numbered(1));
  run_until([&] { return written == 1; });
  // The kernel now refuses the server's sends (EPIPE).
  server->next_layer().next_layer().sock.shutdown(tcp::socket::shutdown_send);
  write_chain(numbered(1)); // accepted, but its socket write fails
  run_until([&] { return written == 2; });
  write_chain(numbered(1));
  run_until([&] { return write_errors == 1; });
  EXPECT_EQ(written, 2u);
  EXPECT_EQ(write_errors, 1u);
}

TEST_F(corked_pair, a_client_that_does_not_read_stops_the_writes) {
  // 2,000 frames of 4 KiB: more than the loopback socket buffers hold.
  auto frames = numbered(2000, 4096);
  write_chain(frames);
  run_for(500ms); // no client read
  EXPECT_GT(written, 0u);
  EXPECT_LT(written, frames.size());
  read_messages(frames.size());
  run_until([&] { return received.size() == frames.size(); });
  EXPECT_EQ(written, frames.size());
  EXPECT_EQ(received, frames);
}
