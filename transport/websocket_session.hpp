#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <caf/actor.hpp>

#include "actors/actors.hpp"
#include "actors/census.hpp"
#include "transport/connection_limiter.hpp"
#include "transport/corked_stream.hpp"
#include "transport/flex_stream.hpp"
#include "transport/gateway.hpp"
#include "transport/metrics.hpp"
#include "transport/penalty_box.hpp"

namespace omega {

class websocket_session;

/// What every session of one gateway shares. Sessions register here so the
/// gateway can close them all on shutdown (as Beast's chat-multi does).
struct connection_settings;

/// The settings every CONNECTION of a gateway with `cfg` shares.
std::shared_ptr<const connection_settings>
connection_settings_of(const gateway_config& cfg,
                       std::shared_ptr<connection_census> census);

struct session_context {
  session_context(caf::actor_system& sys, auth_actor auth, directory_actor dir,
                  gateway_config cfg)
    : sys(sys),
      auth(std::move(auth)),
      dir(std::move(dir)),
      cfg(std::move(cfg)),
      report(this->cfg.warn),
      connections(connection_settings_of(this->cfg, census)) {
    // nop
  }

  caf::actor_system& sys;
  auth_actor auth;
  directory_actor dir;
  gateway_config cfg;

  /// Every cut-off by a limit: counted, and logged at a bounded rate.
  limit_report report;
  /// Addresses cut off for abuse a moment ago.
  penalty_box penalties;
  /// What `/metrics` shows.
  std::shared_ptr<server_metrics> metrics;
  /// The states of this gateway's CONNECTIONs.
  std::shared_ptr<connection_census> census
    = std::make_shared<connection_census>();

  /// What every CONNECTION of this gateway shares (from `cfg` and `census`).
  std::shared_ptr<const connection_settings> connections;

  mutable std::mutex mtx;
  std::unordered_map<websocket_session*, std::weak_ptr<websocket_session>>
    sessions;

  void join(websocket_session* s, std::weak_ptr<websocket_session> w);
  void leave(websocket_session* s);
  /// The sessions still alive, taken under the lock (for shutdown and the
  /// idle sweep, which then call them without it).
  std::vector<std::shared_ptr<websocket_session>> open_sessions() const;
};

/// One signaling WebSocket: reads frames, decodes them and hands the typed
/// commands to its CONNECTION; writes the frames its SINK produces. All
/// socket work runs on the session's strand; the SINK is a thread-less actor
/// that encodes on the sender's thread and posts to that strand.
class websocket_session
  : public std::enable_shared_from_this<websocket_session> {
public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  websocket_session(flex_stream&& stream, std::shared_ptr<session_context> ctx);

  ~websocket_session();

  /// Accepts the upgrade `req` (already read by the HTTP session).
  void run(request req);

  /// Keeps `slot` (this connection's count under the connection caps) until
  /// the session is destroyed, which releases it; `client` is the address
  /// it counts under, for the log.
  void hold(connection_slot slot, std::string client, std::string key) {
    slot_ = std::move(slot);
    client_ = std::move(client);
    key_ = std::move(key);
  }

  /// Bars this connection's address for `gateway_config::cutoff_penalty`
  /// (it was cut off for abuse); thread-safe.
  void penalize();

  /// Queues a frame; thread-safe. A non-zero `close` closes the connection
  /// with that code once the frame is written. Returns false, and closes the
  /// connection at once (1008), when the frame does not fit the write budget
  /// (`gateway_config::max_queued_bytes`): a client that does not read its
  /// frames is cut off, not buffered.
  bool deliver(std::string frame, uint16_t close);

  /// The gateway's metrics (for the SINK, which counts what it sends).
  server_metrics& metrics() {
    return *ctx_->metrics;
  }

  /// Closes with `code`: 1001 (server going away) by default, 1012 (service
  /// restart) at the end of a drain; thread-safe.
  void shutdown(uint16_t code = close_code::going_away);

  /// Counts one quarter of the idle timeout (see `gateway_config`) without
  /// anything received: the third in a row sends a ping, the fifth closes
  /// the connection. Thread-safe.
  void idle_tick();

  /// Stops (`open == false`) or resumes reading the client's frames;
  /// thread-safe. The CONNECTION stops the reads while it holds many
  /// commands back (`read_gate`).
  void gate_reads(bool open);

private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read_some(boost::beast::error_code ec, std::size_t n);
  void on_read(boost::beast::error_code ec, std::size_t n);
  void on_send(std::string frame, uint16_t close);
  void on_overflow();
  /// Takes frames that left the queue (written or dropped) off the budget.
  void unqueue(size_t bytes);
  void drop_queue();
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t n);
  void do_close(uint16_t code);
  void on_close(boost::beast::error_code ec);
  void on_idle_tick();
  void on_gate(bool open);
  /// Ends the actors of this connection (idempotent). `lost`: the socket
  /// went without a normal close, which a resumable session survives.
  void release(bool lost = false);

  /// First, so it goes last: the count drops once the socket is closed.
  connection_slot slot_;
  std::string client_;
  /// The address's key for the per-address limits; empty if unlimited.
  std::string key_;
  /// The WebSocket keeps its own timeouts, so it runs on the bare socket (or
  /// TLS over it): Beast's timed stream costs every read and write a work
  /// guard and a timer check.
  boost::beast::websocket::stream<corked_stream<flex_stream>> ws_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<session_context> ctx_;
  std::string ugi_;
  std::string origin_;
  /// The SINK (see `frame_sink`) and the CONNECTION.
  caf::actor sink_;
  connection_actor conn_;
  /// The frame being written; its buffer must not move until the write
  /// completes, so it is kept apart from `queue_`.
  std::string writing_;
  bool write_pending_ = false;
  /// Frames waiting behind `writing_`, oldest at `queue_head_`. (Not a
  /// deque: libstdc++'s deque allocates ~600 bytes per idle connection.)
  std::vector<std::string> queue_;
  size_t queue_head_ = 0;
  /// Bytes of the frames handed to `deliver` and not yet written or
  /// dropped: what a client that stops reading pins in server memory.
  std::atomic<size_t> queued_bytes_{0};
  /// Set once a frame did not fit; every later one is refused.
  std::atomic<bool> overflowed_{false};
  /// The first close code sent by the server and by the client, for the
  /// metrics; 0: none.
  uint16_t server_close_ = 0;
  uint16_t client_close_ = 0;
  bool accepted_ = false;
  /// When the upgrade's handshake began (for the access log).
  std::chrono::steady_clock::time_point started_;
  /// Close code to use after the queue drains; 0 = none requested.
  uint16_t close_after_ = 0;
  bool closing_ = false;
  bool released_ = false;
  /// Idle ticks since the last frame, ping or pong arrived. (One sweep over
  /// all sessions instead of Beast's idle timer, which re-arms a timer for
  /// every read.)
  uint8_t idle_ticks_ = 0;
  bool pinging_ = false;
  /// Set by `gate_reads(false)`: the next frame read starts no read after it.
  bool reads_gated_ = false;
  /// Set while no read is outstanding because of the gate. Nothing else
  /// owns the session then (the SINK and the sweep hold weak references,
  /// and a read or write operation only while it runs), so it owns itself
  /// until the gate opens or the session is released.
  std::shared_ptr<websocket_session> parked_;
};

} // namespace omega
