#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "actors/limits.hpp"
#include "transport/api_throttle.hpp"
#include "transport/json_codec.hpp"
#include "transport/limit_report.hpp"

namespace omega {

class account_store;
struct connection_census;

/// One line of the access log: an HTTP request answered, or a WebSocket
/// upgrade accepted or failed.
struct access_record {
  std::string address;
  std::string method;
  std::string path;
  unsigned status = 0;
  /// From the request's arrival to its answer (an upgrade: its handshake).
  double seconds = 0;
  bool upgrade = false;
};

/// Settings of the gateway: the Beast side of the server.
struct gateway_config {
  std::string address = "127.0.0.1";
  /// 0 picks a free port (see `gateway::start`).
  uint16_t port = 8080;
  /// PEM certificate (its chain may follow it) and private key: with both,
  /// the port serves HTTPS and WSS. Empty: plain HTTP and WebSocket.
  std::string tls_cert;
  std::string tls_key;
  /// With TLS, also take plain HTTP and WebSocket on the same port, told
  /// apart by their first bytes: for a migration from ws:// to wss://.
  bool tls_allow_plain = false;
  /// Serves the demo page and the JavaScript client (web_assets.hpp).
  bool web_pages = true;
  /// The UGI the demo page plays (`--demo`), at /demo-game.json; empty:
  /// none, and the page asks for one.
  std::string demo_game;
  /// Threads of the gateway's own; 0 runs its I/O on the actor system's
  /// scheduler threads instead (see `use_shared_loop`).
  size_t io_threads = 1;
  /// Largest WebSocket frame accepted; larger ones close with 1009.
  size_t max_frame = 64 * 1024;
  /// Bytes of frames queued for one client before the gateway gives up on
  /// it (close 1008, and the sender of a relay that did not fit is told)
  /// instead of buffering without bound. An SDP answer is a few KB, so even
  /// a host answered by 100 peers at once stays well under the default, and
  /// the kernel's socket buffer takes its share before anything queues here.
  size_t max_queued_bytes = 1024 * 1024;
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
  /// Each CONNECTION's command rates (`connection_settings::rates`).
  connection_limits rates;
  /// What a resumable session keeps (`connection_settings::resume`).
  resume_limits resume;
  /// Largest HTTP request body. A cloud save of 10,000 characters, each
  /// escaped as `\uXXXX` by JSON.stringify, is about 60 KB.
  size_t max_http_body = 64 * 1024;
  /// Largest HTTP request header (request line and fields together); more
  /// gets 431. Browsers send well under 8 KiB, cookies included.
  size_t max_http_header = 16 * 1024;
  /// Reverse proxies (ADDR or ADDR/BITS) whose `X-Forwarded-For` names the
  /// client; see `client_address`. Empty: the TCP peer is the client.
  std::vector<std::string> trusted_proxies;
  /// Client addresses (ADDR or ADDR/BITS) the per-address limits (the
  /// connection cap, login and registration rates) leave alone; per-account
  /// limits and the total cap still hold. By default 127.0.0.1 and ::1:
  /// local tools, test suites and a reverse proxy on the same host (whose
  /// clients count under their own addresses once it is a trusted proxy)
  /// all connect from there.
  std::vector<std::string> unlimited_addresses = {"127.0.0.1", "::1"};
  /// Open WebSockets of one client address (an IPv6 client: its /64); more
  /// get 503. High enough for a school or a carrier-grade NAT full of
  /// players behind one address, low enough that one host cannot take all.
  size_t max_connections_per_address = 1024;
  /// Open WebSockets in total; more get 503. 0: derived at `start` from the
  /// file descriptor limit (see `gateway::max_connections`).
  size_t max_connections = 0;
  /// Login and registration rate limits (429).
  throttle_limits throttles;
  /// HTTP requests (API calls, preflights, 404s) and WebSocket upgrades a
  /// minute (and in a burst) per client address; 0: no limit. Past one the
  /// request gets 429 (an upgrade 503), `Retry-After`, and the address the
  /// cut-off penalty: a flood of cheap requests or of reconnects costs the
  /// server an accept each, not a parse, an answer or a handshake. A game
  /// makes a handful of each per player and session; a school of 30 behind
  /// one address loading at once uses a tenth.
  size_t requests_per_address = 1200;
  size_t upgrades_per_address = 600;
  /// API requests waiting for or running on an API thread, per thread; more
  /// get 503 instead of queueing behind a flood of argon2id hashes. A login
  /// waits at most this many hashes (50-200 ms each at the interactive cost),
  /// i.e. a few seconds, however large the flood. 0: no bound.
  size_t api_queue = 16;
  /// How long an address cut off for abuse (its rates, its write budget)
  /// may not connect again: new connections are closed at accept (or get
  /// 503 behind a trusted proxy). Without it a flood that is cut off
  /// reconnects at once with a fresh burst of every rate. Zero: none.
  std::chrono::milliseconds cutoff_penalty = std::chrono::seconds{10};
  /// Connections from an address in the penalty box held open unanswered
  /// until its penalty ends (the oldest closed when more arrive), instead of
  /// closed at accept: a flood that retries as soon as it is refused waits
  /// instead, and costs the server one accept per penalty, not thousands a
  /// second. Each held connection is a descriptor; at most an eighth of the
  /// descriptor limit is used. 0: close at accept.
  size_t penalty_hold = 512;
  /// How long a drain (`gateway::drain`) lets lobbies go on before every
  /// client is told to reconnect elsewhere.
  std::chrono::milliseconds drain_timeout = std::chrono::seconds{30};
  /// Bearer token of `POST /admin/drain`; empty: that call is off.
  std::string admin_token;
  /// Whether the node has joined its cluster (for `/readyz`), and how many
  /// peers it reaches (for `/metrics`); none outside a cluster. Called on
  /// Beast threads: they must only read an atomic.
  std::function<bool()> cluster_ready;
  std::function<int64_t()> cluster_peers;
  /// Client addresses (ADDR or ADDR/BITS) that may read `/metrics`; by
  /// default this host only. Behind a trusted proxy the client it names
  /// counts, not the proxy.
  std::vector<std::string> metrics_allow = {"127.0.0.1", "::1"};
  /// A bearer token that admits any address to `/metrics`; empty: none.
  std::string metrics_token;
  /// The build, for `omega_build_info`.
  std::string version = "unknown";
  /// The access log; none when empty. Called on Beast threads.
  std::function<void(const access_record&)> access;
  /// Warnings: a limit cut a client off, accepting paused. None when empty.
  std::function<void(const std::string&)> warn;
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

  /// Loads the TLS certificate and key again (on SIGHUP): new connections
  /// get the new ones, open connections keep theirs. False, with `error`
  /// set, if they do not load; the old ones stay in use.
  bool reload_tls(std::string& error);

  /// When the served certificate expires; none without TLS.
  std::optional<std::chrono::system_clock::time_point>
  certificate_expiry() const;

  /// Starts a drain, for a restart that cuts no game off (SIGTERM, `POST
  /// /admin/drain`): `/readyz` answers 503, new WebSockets get 503 and no
  /// lobby starts here any more (the DIRECTORY is told); existing lobbies go
  /// on until none of this server's clients is in one, or for at most
  /// `drain_timeout`; then every client gets close code 1012 (service
  /// restart) and `drained` turns true. Idempotent; thread-safe.
  void drain();

  bool draining() const;

  /// True once a drain has closed every client (or given them 2 s).
  bool drained() const;

  /// The states of the CONNECTIONs (thread-safe).
  const connection_census& census() const;

  /// Number of open WebSocket sessions.
  size_t sessions() const;

  /// The cap on open WebSockets in effect (after `start`, which derives it
  /// when `gateway_config::max_connections` is 0).
  size_t max_connections() const;

  /// How often each limit cut a client off (thread-safe).
  const limit_counters& rejections() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace omega
