#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "tools/bench/io.hpp"

namespace omega::bench {

class client;

/// Receives everything that happens to clients. Called on the client's
/// strand; every client of one lobby (or handshake) shares a strand, so a
/// scenario touches a lobby's state from one thread at a time.
class driver {
public:
  virtual ~driver() = default;

  /// Exactly once per `client::open`: the WebSocket is up (`ok`) or it
  /// failed (`what` says why; empty when the scenario closed it first).
  virtual void on_opened(client& c, bool ok, const std::string& what) = 0;

  virtual void on_frame(client& c, std::string_view frame) = 0;

  /// The connection failed after opening, without the scenario closing it.
  virtual void on_lost(client& c, const std::string& what) = 0;

  /// Exactly once per `client::open`: the client has no operation left.
  virtual void on_end(client& c) = 0;
};

/// One WebSocket connection of the load generator: connect, handshake, a
/// read loop and a single-writer queue, all on one strand.
class client : public std::enable_shared_from_this<client> {
public:
  client(strand_type strand, driver& drv);

  /// The bench's own name for the connection; the id for plain and PeerJS.
  std::string name;
  /// The id other clients address this one with (omega: from INIT_OK).
  std::string id;
  /// omega session token.
  std::string token;
  /// The lobby or handshake this client belongs to (scenario-defined).
  void* group = nullptr;
  /// Keeps the group alive while the client lives (handshakes).
  std::shared_ptr<void> keep;
  /// Peer index within the lobby; -1 for hosts.
  int index = -1;
  /// Connects to --peer-port instead of --port.
  bool peer_side = false;
  /// The local address to connect from; unspecified: the kernel's choice.
  /// (Loopback has all of 127.0.0.0/8, so a client can stand for another
  /// host to the server's per-address limits.)
  boost::asio::ip::address source;
  int64_t open_started_ns = 0;
  /// True if the open took a slot of the connect throttle.
  bool throttled = false;
  bool ready = false;
  bool configured = false;

  strand_type strand() const {
    return strand_;
  }

  /// Starts connecting. Must run on the client's strand.
  void open(const tcp::endpoint& ep, const std::string& host,
            std::string target);

  /// Queues a text frame. Must run on the client's strand.
  void send(std::string frame);

  /// Closes with a WebSocket close handshake once queued frames are out.
  /// Must run on the client's strand.
  void close();

  /// Reads nothing more after the read in progress, like a client that
  /// stopped reading its socket. Must run on the client's strand.
  void stop_reading() {
    reading_ = false;
  }

  bool is_open() const {
    return open_ && !closing_;
  }

private:
  void on_connect(error_code ec);

  void on_handshake(error_code ec);

  void fail_open(const std::string& what);

  void do_read();

  void on_read(error_code ec, size_t);

  void do_write();

  void on_write(error_code ec, size_t);

  void do_close();

  strand_type strand_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  driver& drv_;
  boost::beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  std::string host_;
  std::string target_;
  bool open_ = false;
  bool closing_ = false;
  bool reading_ = true;
};

} // namespace omega::bench
