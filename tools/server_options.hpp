#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/limits.hpp"
#include "actors/node.hpp"
#include "actors/turn.hpp"

namespace omega {

/// Reads a rate as RATE/BURST (tokens per second, most saved up) or RATE
/// (the burst is then RATE, at least 1); `0` disables it. False if `x` is
/// not of that form or the burst is below 1.
bool parse_rate(const std::string& x, rate_limit& out);

/// Writes a rate as `parse_rate` reads it (`1/5`, `0.2/10`, `0`): how the
/// flags get their defaults from the limits' own.
std::string rate_flag(const rate_limit& x);

/// `x` in seconds, as the flags take durations.
inline double seconds_of(std::chrono::milliseconds x) {
  return static_cast<double>(x.count()) / 1000;
}

/// The command line (and config file) of omega-server; defaults as in its
/// `--help`.
struct server_options {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  std::string tls_cert;
  std::string tls_key;
  bool tls_allow_plain = false;
  double drain_timeout = 30;
  std::string admin_token_file;
  std::vector<std::string> metrics_allow;
  std::string metrics_token_file;
  /// The first line of `metrics_token_file`.
  std::string metrics_token;
  /// The first line of `admin_token_file`; read by `parse_server_options`.
  std::string admin_token;
  std::string config_file;
  std::string log_level = "info";
  std::string log_format = "text";
  bool access_log = false;
  std::string password_hash = "interactive";
  std::vector<std::string> allowed_origins;
  std::vector<std::string> caf_settings;
  long token_lifetime = 24 * 3600;
  size_t max_frame = 64 * 1024;
  uint32_t max_peers = 100;
  double claim_timeout = 30;
  double idle_timeout = 300;
  double init_timeout = 10;
  size_t max_http_body = 64 * 1024;
  size_t max_queued_bytes = 1024 * 1024;
  double cutoff_penalty = 10;
  size_t penalty_hold = 512;
  size_t max_http_header = 16 * 1024;
  std::vector<std::string> trusted_proxies;
  std::vector<std::string> unlimited_addresses;
  size_t max_connections_per_address = 1024;
  size_t max_connections = 0;
  size_t requests_per_address = 1200;
  size_t upgrades_per_address = 600;
  size_t login_per_address = 30;
  size_t login_per_account = 6;
  size_t register_per_address = 60;
  size_t register_per_account = 5;
  size_t api_queue = 16;
  size_t api_threads = 2;
  size_t io_threads = 0;
  size_t caf_threads = 1;
  bool demo = false;
  /// The demo page and the JavaScript client (transport/web_assets.hpp).
  bool web_pages = true;
  bool check_config = false;
  std::string node_name;
  std::string cluster_listen;
  std::vector<std::string> cluster_peers;
  double heartbeat = 1;
  double node_timeout = 5;
  std::string cluster_cert;
  std::string cluster_key;
  std::string cluster_ca;
  std::string cluster_key_passphrase_file;
  bool cluster_insecure = false;

  // Limits (docs/operations.md, "Limits"): rates as RATE/BURST, parsed into
  // `rates`, `game` and `passwords` by `parse_server_options`.
  std::string rate_init = rate_flag(connection_limits{}.init);
  std::string rate_lobby = rate_flag(connection_limits{}.lobby);
  std::string rate_query = rate_flag(connection_limits{}.query);
  std::string rate_relay = rate_flag(connection_limits{}.relay);
  std::string rate_relay_bytes = rate_flag(connection_limits{}.relay_bytes);
  std::string rate_keepalive = rate_flag(connection_limits{}.keepalive);
  std::string rate_drops = rate_flag(connection_limits{}.drops);
  std::string lobby_create_rate = rate_flag(game_limits{}.lobby_creation);
  std::string broadcast_rate = rate_flag(game_limits{}.broadcasts);
  double broadcast_flush = seconds_of(game_limits{}.broadcast_flush);
  size_t max_lobby_list = game_limits{}.max_lobby_list;
  double password_delay = seconds_of(password_limits{}.delay);
  double password_max_delay = seconds_of(password_limits{}.max_delay);
  uint32_t password_failures = password_limits{}.max_failures;
  double password_lockout = seconds_of(password_limits{}.lockout);
  std::string password_lobby_rate = rate_flag(password_limits{}.lobby_failures);

  double resume_window = seconds_of(resume_limits{}.window);
  size_t resume_frames = resume_limits{}.max_frames;
  size_t resume_bytes = resume_limits{}.max_bytes;
  double max_ban = 86400;
  std::vector<std::string> turn_secrets;
  std::vector<std::string> turn_urls;
  double turn_ttl = 3600;
  std::string turn_rate = rate_flag(turn_settings{}.rate);

  connection_limits rates;
  game_limits game;
  password_limits passwords;
  resume_limits resume;
  turn_settings turn;

  /// `listen`, split; filled in by `parse_server_options`.
  std::string host;
  uint16_t port = 0;

  /// `cluster_listen` and `cluster_peers`, split; filled in by
  /// `parse_server_options`.
  std::string cluster_host;
  uint16_t cluster_port = 0;
  std::vector<node_address> seeds;

  /// Whether this server is a cluster node (`--cluster-listen`).
  bool clustered() const {
    return !cluster_listen.empty();
  }

  /// Whether node-to-node traffic goes through TLS: a cluster node without
  /// `--cluster-insecure` (which then has its certificate, key and CA).
  bool cluster_tls() const {
    return clustered() && !cluster_insecure;
  }
};

/// Whether `host` is a loopback address (127.0.0.0/8, ::1 or "localhost"):
/// the only place where `--cluster-insecure` may send plain remoting.
bool is_loopback(const std::string& host);

/// Splits ADDR:PORT (ADDR may be a bracketed IPv6 address); false if `x` is
/// not of that form.
bool split_listen(const std::string& x, std::string& host, uint16_t& port);

/// Reads the command line and the config file it names into `out` and checks
/// the values. Returns the exit code if the process ends here: 0 after
/// printing `--help`, 2 after printing what is wrong.
std::optional<int> parse_server_options(int argc, char** argv,
                                        server_options& out);

} // namespace omega
