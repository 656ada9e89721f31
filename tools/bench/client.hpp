#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tools/bench/io.hpp"

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

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

/// One WebSocket connection of the load generator: connect, (TLS,)
/// handshake, a read loop and a single-writer queue, all on one strand.
/// Scenarios see only this interface; `make_plain_client` and
/// `make_tls_client` pick the stream underneath, so a plain client runs no
/// TLS code at all.
class client {
public:
  virtual ~client() = default;

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
  virtual void
  open(const tcp::endpoint& ep, const std::string& host, std::string target)
    = 0;

  /// Queues a text frame. Must run on the client's strand.
  virtual void send(std::string frame) = 0;

  /// Closes with a WebSocket close handshake once queued frames are out.
  /// Must run on the client's strand.
  virtual void close() = 0;

  /// Reads nothing more after the read in progress, like a client that
  /// stopped reading its socket. Must run on the client's strand.
  void stop_reading() {
    reading_ = false;
  }

  bool is_open() const {
    return open_ && !closing_;
  }

protected:
  client(strand_type strand, driver& drv);

  strand_type strand_;
  driver& drv_;
  bool open_ = false;
  bool closing_ = false;
  bool reading_ = true;
};

/// A ws:// client.
std::shared_ptr<client> make_plain_client(strand_type strand, driver& drv);

/// A wss:// client; `tls` (from `make_tls_context`) must outlive it.
std::shared_ptr<client> make_tls_client(strand_type strand, driver& drv,
                                        boost::asio::ssl::context& tls);

/// The context that all TLS clients of a run share: TLS 1.2 or newer, the
/// server's choice of cipher. With `ca_file`, the server's certificate must
/// chain to it and name `host`; without, it is not checked (a benchmark on
/// loopback: checking changes the client's cost, not the server's). Null,
/// with `error` set, if `ca_file` does not load.
std::unique_ptr<boost::asio::ssl::context>
make_tls_context(const std::string& ca_file, const std::string& host,
                 std::string& error);

} // namespace omega::bench
