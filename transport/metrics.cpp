#include "transport/metrics.hpp"

#include <mutex>
#include <sstream>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "transport/web_assets.hpp"

namespace omega {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

/// The wire opcode of a client command; bad frames count under the opcode
/// they named, or INVALID.
opcode opcode_of_command(const command& x) {
  if (auto bad = std::get_if<cmd::bad_frame>(&x))
    return bad->op;
  return static_cast<opcode>(static_cast<size_t>(opcode::make_offer)
                             + x.index());
}

std::string received_label(opcode x) {
  if (x == opcode::none)
    return "INVALID";
  if (x == opcode::unknown)
    return "UNKNOWN";
  return opcode_name(x);
}

/// The opcode a frame of `x` carries on the wire.
std::string_view wire_opcode(const event& x) {
  return std::visit(
    [](const auto& ev) -> std::string_view {
      using type = std::decay_t<decltype(ev)>;
      if constexpr (std::is_same_v<type, evt::relayed>)
        return opcode_name(ev.op);
      else if constexpr (std::is_same_v<type, evt::lock_state>)
        return ev.locked ? "LOCK" : "UNLOCK";
      else if constexpr (std::is_same_v<type, evt::error_reply>)
        return opcode_name(ev.code);
      else
        return type::wire_name;
    },
    x);
}

/// Every opcode `wire_opcode` can return.
std::vector<std::string_view> every_wire_opcode() {
  std::vector<std::string_view> out{
    evt::keepalive::wire_name,        evt::init_ok::wire_name,
    evt::ack_host::wire_name,         evt::password_ack::wire_name,
    evt::ack_peer::wire_name,         evt::new_host::wire_name,
    evt::new_peer::wire_name,         evt::peer_gone::wire_name,
    evt::host_gone::wire_name,        evt::host_reclaim::wire_name,
    evt::lobby_close::wire_name,      evt::relay_ok::wire_name,
    evt::size_state::wire_name,       evt::lobby_list::wire_name,
    evt::lobby_info::wire_name,       evt::violation::wire_name,
    evt::anticipate::wire_name,       evt::discover::wire_name,
    evt::resumable::wire_name,        evt::resumed::wire_name,
    evt::turn_credentials::wire_name, evt::encoded::wire_name};
  for (auto op : {opcode::make_offer, opcode::make_answer, opcode::ice})
    out.emplace_back(opcode_name(op));
  out.emplace_back("LOCK");
  out.emplace_back("UNLOCK");
  for (auto code = static_cast<int>(ec::violation);
       code <= static_cast<int>(ec::resume_failed); ++code)
    out.emplace_back(opcode_name(static_cast<ec>(code)));
  return out;
}

/// The error codes that refuse an INIT's token or session.
const char* auth_reason(ec code) {
  switch (code) {
    case ec::token_invalid:
      return "token_invalid";
    case ec::token_expired:
      return "token_expired";
    case ec::token_origin_mismatch:
      return "token_origin_mismatch";
    case ec::session_exists:
      return "session_exists";
    default:
      return nullptr;
  }
}

/// A close code as a label: the codes RFC 6455 and IANA define, and
/// `other` for the rest (a client may send any of 3000-4999).
std::string close_label(uint16_t code) {
  if (code >= 1000 && code <= 1015)
    return std::to_string(code);
  return "other";
}

constexpr size_t opcode_count = static_cast<size_t>(opcode::turn_credentials)
                                + 1;
constexpr size_t ec_count = static_cast<size_t>(ec::resume_failed) + 1;

} // namespace

struct server_metrics::families {
  explicit families(prometheus::Registry& r)
    : build(prometheus::BuildGauge()
              .Name("omega_build_info")
              .Help("The running build: always 1, its version as a label")
              .Register(r)),
      connections(prometheus::BuildGauge()
                    .Name("omega_connections")
                    .Help("Open WebSocket connections by state")
                    .Register(r)),
      lobbies(prometheus::BuildGauge()
                .Name("omega_lobbies")
                .Help("Lobbies whose GAME runs on this server")
                .Register(r)
                .Add({})),
      games(prometheus::BuildGauge()
              .Name("omega_games")
              .Help("Games with a GAME actor running on this server")
              .Register(r)
              .Add({})),
      sessions_held(prometheus::BuildGauge()
                      .Name("omega_sessions_held")
                      .Help("Resumable sessions held while their socket is "
                            "lost")
                      .Register(r)
                      .Add({})),
      draining(prometheus::BuildGauge()
                 .Name("omega_draining")
                 .Help("1 while the server drains for a restart")
                 .Register(r)
                 .Add({})),
      peers(prometheus::BuildGauge()
              .Name("omega_cluster_peers")
              .Help("Cluster nodes this node reaches now (cluster mode only)")
              .Register(r)),
      expiry(prometheus::BuildGauge()
               .Name("omega_tls_certificate_expiry_timestamp_seconds")
               .Help("When the served TLS certificate expires (unix time)")
               .Register(r)),
      received(prometheus::BuildCounter()
                 .Name("omega_frames_received_total")
                 .Help("WebSocket messages received from clients by opcode")
                 .Register(r)),
      sent(prometheus::BuildCounter()
             .Name("omega_frames_sent_total")
             .Help("Frames queued for clients by opcode")
             .Register(r)),
      bytes_in(prometheus::BuildCounter()
                 .Name("omega_received_bytes_total")
                 .Help("Bytes of WebSocket messages received from clients")
                 .Register(r)
                 .Add({})),
      bytes_out(prometheus::BuildCounter()
                  .Name("omega_sent_bytes_total")
                  .Help("Bytes of frames queued for clients")
                  .Register(r)
                  .Add({})),
      delay(
        prometheus::BuildHistogram()
          .Name("omega_relay_delay_seconds")
          .Help("Time from reading a relayed frame (MAKE_OFFER, "
                "MAKE_ANSWER, ICE) to queueing it for its recipient")
          .Register(r)
          .Add({}, Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005,
                                               0.001, 0.0025, 0.005, 0.01,
                                               0.025, 0.05, 0.1, 0.25, 1})),
      errors(prometheus::BuildCounter()
               .Name("omega_error_replies_total")
               .Help("Error replies sent to clients by code")
               .Register(r)),
      closes(prometheus::BuildCounter()
               .Name("omega_websocket_closes_total")
               .Help("WebSockets ended, by the first close code sent and by "
                     "whom (client, server; none and 1006: no close frame)")
               .Register(r)),
      auth(prometheus::BuildCounter()
             .Name("omega_auth_failures_total")
             .Help("Refused INITs and logins by reason")
             .Register(r)),
      http(prometheus::BuildCounter()
             .Name("omega_http_requests_total")
             .Help("HTTP requests answered, by route and status")
             .Register(r)),
      rejections(prometheus::BuildCounter()
                   .Name("omega_rejections_total")
                   .Help("Requests, commands and connections refused by a "
                         "limit, by limit")
                   .Register(r)),
      handshakes(prometheus::BuildCounter()
                   .Name("omega_tls_handshake_failures_total")
                   .Help("TLS handshakes that failed or timed out")
                   .Register(r)
                   .Add({})) {
    for (size_t i = 0; i < opcode_count; ++i)
      by_opcode[i]
        = &received.Add({{"opcode", received_label(static_cast<opcode>(i))}});
    for (auto name : every_wire_opcode())
      by_wire.emplace(name, &sent.Add({{"opcode", std::string{name}}}));
    for (size_t i = 1; i < ec_count; ++i)
      by_code[i] = &errors.Add({{"code", opcode_name(static_cast<ec>(i))}});
    violations = &errors.Add({{"code", "VIOLATION"}});
    for (auto code : {ec::token_invalid, ec::token_expired,
                      ec::token_origin_mismatch, ec::session_exists})
      auth_by_code[static_cast<size_t>(code)]
        = &auth.Add({{"reason", auth_reason(code)}});
    login = &auth.Add({{"reason", "login_failed"}});
    for (auto state : {"unauthenticated", "lobby_less", "host", "peer"})
      by_state.push_back(&connections.Add({{"state", state}}));
  }

  Family<Gauge>& build;
  Family<Gauge>& connections;
  Gauge& lobbies;
  Gauge& games;
  Gauge& sessions_held;
  Gauge& draining;
  Family<Gauge>& peers;
  Family<Gauge>& expiry;
  Family<Counter>& received;
  Family<Counter>& sent;
  Counter& bytes_in;
  Counter& bytes_out;
  Histogram& delay;
  Family<Counter>& errors;
  Family<Counter>& closes;
  Family<Counter>& auth;
  Family<Counter>& http;
  Family<Counter>& rejections;
  Counter& handshakes;

  /// Filled once, read without a lock.
  std::array<Counter*, opcode_count> by_opcode{};
  std::unordered_map<std::string_view, Counter*> by_wire;
  std::array<Counter*, ec_count> by_code{};
  Counter* violations = nullptr;
  std::array<Counter*, ec_count> auth_by_code{};
  Counter* login = nullptr;
  std::vector<Gauge*> by_state;

  /// The rejection counts of the last scrape (counters only go up by the
  /// difference), under `scrape_mtx`.
  std::mutex scrape_mtx;
  std::unordered_map<std::string, uint64_t> rejected;
};

server_metrics::server_metrics(const std::string& version)
  : registry_(std::make_unique<prometheus::Registry>()),
    f_(std::make_unique<families>(*registry_)) {
  f_->build.Add({{"version", version}}).Set(1);
}

server_metrics::~server_metrics() = default;

void server_metrics::received(const command& x, size_t bytes) {
  f_->by_opcode[static_cast<size_t>(opcode_of_command(x))]->Increment();
  f_->bytes_in.Increment(static_cast<double>(bytes));
}

void server_metrics::sent(const event& x, size_t bytes) {
  if (auto i = f_->by_wire.find(wire_opcode(x)); i != f_->by_wire.end())
    i->second->Increment();
  f_->bytes_out.Increment(static_cast<double>(bytes));
  if (auto err = std::get_if<evt::error_reply>(&x)) {
    auto code = static_cast<size_t>(err->code);
    if (code < ec_count && f_->by_code[code])
      f_->by_code[code]->Increment();
    if (code < ec_count && f_->auth_by_code[code])
      f_->auth_by_code[code]->Increment();
  } else if (std::holds_alternative<evt::violation>(x)) {
    f_->violations->Increment();
  }
}

void server_metrics::sent_relay(opcode op, size_t bytes) {
  f_->by_wire.find(opcode_name(op))->second->Increment();
  f_->bytes_out.Increment(static_cast<double>(bytes));
}

void server_metrics::relay_delay(double seconds) {
  f_->delay.Observe(seconds);
}

void server_metrics::closed(uint16_t code, bool by_client) {
  f_->closes
    .Add({{"code", close_label(code)}, {"by", by_client ? "client" : "server"}})
    .Increment();
}

void server_metrics::ended_without_close() {
  f_->closes.Add({{"code", "1006"}, {"by", "none"}}).Increment();
}

void server_metrics::http(std::string_view route, unsigned status) {
  f_->http
    .Add({{"route", std::string{route}}, {"status", std::to_string(status)}})
    .Increment();
}

void server_metrics::login_failed() {
  f_->login->Increment();
}

void server_metrics::tls_handshake_failed() {
  f_->handshakes.Increment();
}

std::string server_metrics::scrape(const metrics_snapshot& now) {
  {
    std::lock_guard<std::mutex> guard{f_->scrape_mtx};
    for (size_t i = 0; i < now.connections.size(); ++i)
      f_->by_state[i]->Set(static_cast<double>(now.connections[i]));
    f_->lobbies.Set(static_cast<double>(now.lobbies));
    f_->games.Set(static_cast<double>(now.games));
    f_->sessions_held.Set(static_cast<double>(now.sessions_held));
    f_->draining.Set(now.draining ? 1 : 0);
    if (now.cluster_peers)
      f_->peers.Add({}).Set(static_cast<double>(*now.cluster_peers));
    if (now.certificate_expiry)
      f_->expiry.Add({}).Set(static_cast<double>(*now.certificate_expiry));
    for (auto& [name, count] : now.rejections) {
      auto& last = f_->rejected[name];
      auto& counter = f_->rejections.Add({{"limit", name}});
      if (count > last)
        counter.Increment(static_cast<double>(count - last));
      last = count;
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, registry_->Collect());
  return out.str();
}

std::string_view http_route(std::string_view path, bool upgrade) {
  constexpr std::string_view fixed[] = {"/",
                                        "/healthz",
                                        "/readyz",
                                        "/metrics",
                                        "/admin/drain",
                                        "/api/v0/register",
                                        "/api/v0/login",
                                        "/api/v0/save",
                                        "/api/v0/load",
                                        "/api/register",
                                        "/api/login",
                                        "/api/save",
                                        "/api/load"};
  if (upgrade)
    return "signaling";
  for (auto x : fixed)
    if (path == x)
      return x;
  if (path == "/api/v0/signaling" || path == "/api/signaling")
    return "signaling";
  if (path == "/demo-game.json" || find_web_asset(path) != nullptr)
    return "web";
  return "other";
}

} // namespace omega
