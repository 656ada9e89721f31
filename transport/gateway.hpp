#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "actors/limits.hpp"
#include "transport/json_codec.hpp"

namespace omega {

class account_store;

/// Settings of the gateway: the Beast side of the server.
struct gateway_config {
  std::string address = "127.0.0.1";
  /// 0 picks a free port (see `gateway::start`).
  uint16_t port = 8080;
  /// Threads of the gateway's own; 0 runs its I/O on the actor system's
  /// scheduler threads instead (see `use_shared_loop`).
  size_t io_threads = 1;
  /// Largest WebSocket frame accepted; larger ones close with 1009.
  size_t max_frame = 64 * 1024;
  /// Frames queued for a client that reads too slowly before the gateway
  /// gives up on it (close 1008) instead of buffering without bound.
  size_t max_queued_frames = 1024;
  /// Origins allowed to use the HTTP API; empty allows any.
  std::vector<std::string> allowed_origins;
  std::chrono::seconds token_lifetime = std::chrono::hours{24};
  /// Limits the codec enforces (max_peers limit, nesting).
  codec_limits limits;
  /// Threads for blocking account work (argon2id, SQLite).
  size_t api_threads = 2;
  /// A WebSocket from which nothing (no frame, ping or pong) has arrived for
  /// half of this gets a ping; after this long it is closed, so connections
  /// of vanished clients do not pile up. Both may come up to a quarter later
  /// (the gateway checks every quarter). Zero keeps connections forever.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds{300};
  /// A WebSocket that has not completed INIT this long after the upgrade
  /// gets VIOLATION and is closed (1008). Zero: no deadline.
  std::chrono::milliseconds init_timeout = std::chrono::seconds{10};
  /// Each CONNECTION's command rates (`connection_config::rates`).
  connection_limits rates;
  /// Largest HTTP request body. A cloud save of 10,000 characters, each
  /// escaped as `\uXXXX` by JSON.stringify, is about 60 KB.
  size_t max_http_body = 64 * 1024;
};

/// Opens a store connection for an API worker thread.
using store_factory = std::function<std::unique_ptr<account_store>()>;

/// The gateway: one TCP port serving the HTTP API and the signaling
/// WebSocket. Each WebSocket gets a CONNECTION actor and a SINK; Beast
/// threads never touch actor state and actors never touch sockets.
class gateway {
public:
  gateway(caf::actor_system& sys, gateway_config cfg, auth_actor auth,
          directory_actor dir, store_factory stores);

  ~gateway();

  /// Binds, listens and starts the I/O threads. Returns the bound port, or
  /// 0 with `error` set.
  uint16_t start(std::string& error);

  /// Stops accepting, closes every WebSocket with 1001 (going away), waits
  /// up to `grace` for them to close, then stops the I/O threads.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds{2});

  /// Number of open WebSocket sessions.
  size_t sessions() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace omega
