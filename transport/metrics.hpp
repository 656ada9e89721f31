#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/commands.hpp"
#include "messages/events.hpp"

/// What `/metrics` shows (docs/operations.md, "Metrics"): counters the
/// gateway bumps as traffic passes, and gauges read at each scrape. Built on
/// prometheus-cpp's registry and text serializer; the gateway serves the
/// text itself, on its own port. No label names a user, a lobby or a client
/// address, so the number of series stays fixed whatever the traffic.

namespace prometheus {
class Counter;
class Histogram;
class Registry;
} // namespace prometheus

namespace omega {

/// The values a scrape reads from the rest of the server.
struct metrics_snapshot {
  /// Open connections by `connection_census::state`.
  std::array<int64_t, 4> connections{};
  int64_t lobbies = 0;
  int64_t games = 0;
  /// Resumable sessions held while their socket is lost.
  int64_t sessions_held = 0;
  /// Reachable cluster peers; none outside a cluster.
  std::optional<int64_t> cluster_peers;
  /// The served certificate's expiry, unix seconds; none without TLS.
  std::optional<int64_t> certificate_expiry;
  /// Rejections so far, by limit name (gateway and actor limits).
  std::vector<std::pair<std::string, uint64_t>> rejections;
  bool draining = false;
};

/// The server's metrics. Every member function is thread-safe.
class server_metrics {
public:
  /// `version` goes into `omega_build_info`.
  explicit server_metrics(const std::string& version);
  ~server_metrics();

  server_metrics(const server_metrics&) = delete;
  server_metrics& operator=(const server_metrics&) = delete;

  /// A WebSocket message from a client: `x` as decoded, `bytes` its size.
  void received(const command& x, size_t bytes);

  /// A frame queued for a client: `x` before encoding, `bytes` encoded.
  /// Counts error replies by code and INIT's refusals as auth failures.
  void sent(const event& x, size_t bytes);

  /// A relayed frame (MAKE_OFFER, MAKE_ANSWER or ICE) of `bytes` queued.
  void sent_relay(opcode op, size_t bytes);

  /// A relayed frame queued for its recipient, `seconds` after its sender's
  /// frame was read.
  void relay_delay(double seconds);

  /// A WebSocket ended: with the close frame of `code` sent by the client
  /// (`by_client`) or the server.
  void closed(uint16_t code, bool by_client);

  /// A WebSocket ended without a close frame either way (1006).
  void ended_without_close();

  /// An HTTP answer on `route` (one of a fixed set, see `http_route`).
  void http(std::string_view route, unsigned status);

  /// A login refused by the HTTP API (wrong email or password).
  void login_failed();

  /// A TLS handshake that failed (or timed out).
  void tls_handshake_failed();

  /// The text format 0.0.4 of everything, with the gauges of `now`.
  std::string scrape(const metrics_snapshot& now);

private:
  struct families;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<families> f_;
};

/// The label of an HTTP request's path: one of a fixed set, so that a
/// client cannot create series by asking for random paths.
std::string_view http_route(std::string_view path, bool upgrade);

} // namespace omega
