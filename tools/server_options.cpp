#include "tools/server_options.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/program_options.hpp>

namespace po = boost::program_options;

namespace omega {

namespace {

/// The flags; a config file uses the same names (`--config`).
po::options_description describe(server_options& o) {
  po::options_description opts{"omega-server options"};
  auto add = opts.add_options();
  add("help,h", "print this help");
  add("listen", po::value(&o.listen),
      "ADDR:PORT to serve HTTP and WebSocket on (default 127.0.0.1:8080; "
      "port 0 picks a free one)");
  add("data-dir", po::value(&o.data_dir), "data folder (default ./data)");
  add("tls-cert", po::value(&o.tls_cert),
      "PEM certificate (its chain may follow): with --tls-key the port "
      "serves HTTPS and WSS only; SIGHUP reloads both files");
  add("tls-key", po::value(&o.tls_key), "PEM private key of --tls-cert");
  add("tls-allow-plain", po::bool_switch(&o.tls_allow_plain),
      "with TLS, also accept plain HTTP and WebSocket on the same port (for "
      "migrations)");
  add("demo", "create a demo game on an empty data folder and print its URL");
  add("web-pages", po::value(&o.web_pages),
      "serve the demo page at / and the JavaScript client at "
      "/omega-client.js (default true)");
  add("config", po::value(&o.config_file),
      "config file of key = value lines (same names as the flags)");
  add("check-config", po::bool_switch(&o.check_config),
      "check the flags and the config file (and load the TLS and cluster "
      "certificates they name), print the result and exit");
  add("drain-timeout", po::value(&o.drain_timeout),
      "seconds lobbies may go on after SIGTERM (or POST /admin/drain) before "
      "every client gets close code 1012 and the server exits (default 30)");
  add("admin-token-file", po::value(&o.admin_token_file),
      "a file whose first line is the bearer token of POST /admin/drain "
      "(omega-admin drain); default: none, the HTTP drain is off");
  add("metrics-allow", po::value(&o.metrics_allow)->composing(),
      "ADDR or ADDR/BITS of clients that may GET /metrics (repeatable; "
      "default 127.0.0.1 and ::1; 'none' for no address)");
  add("metrics-token-file", po::value(&o.metrics_token_file),
      "a file whose first line is a bearer token that admits any address to "
      "/metrics (default: none)");
  add("token-lifetime", po::value(&o.token_lifetime),
      "session token lifetime in seconds (default 86400)");
  add("max-frame-size", po::value(&o.max_frame),
      "largest WebSocket frame in bytes (default 65536)");
  add("max-peers", po::value(&o.max_peers),
      "server limit for max_peers and SIZE (default 100)");
  add("claim-timeout", po::value(&o.claim_timeout),
      "seconds a hostless lobby waits for CLAIM_HOST (default 30)");
  add("idle-timeout", po::value(&o.idle_timeout),
      "seconds after which a WebSocket that sends nothing, not even a pong, "
      "is closed (up to a quarter more); it is pinged after half of it "
      "(default 300, 0: never)");
  add("init-timeout", po::value(&o.init_timeout),
      "seconds a WebSocket may take to complete INIT before it gets "
      "VIOLATION and is closed (default 10, 0: never)");
  add("max-http-body", po::value(&o.max_http_body),
      "largest HTTP request body in bytes (default 65536)");
  add("max-queued-bytes", po::value(&o.max_queued_bytes),
      "bytes of frames queued for a client that does not read them before "
      "it is disconnected (1008) and senders of relays to it get "
      "PEER_INVALID (default 1048576)");
  add("cutoff-penalty", po::value(&o.cutoff_penalty),
      "seconds an address cut off for abuse (its rates, its write budget) "
      "may not connect again (default 10, 0: none)");
  add("penalty-hold", po::value(&o.penalty_hold),
      "connections of an address in the penalty box held open unanswered "
      "until the penalty ends, the oldest closed first, instead of closed at "
      "accept (default 512, at most an eighth of the descriptor limit; 0: "
      "close at accept)");
  add("max-http-header", po::value(&o.max_http_header),
      "largest HTTP request header in bytes; more gets 431 (default 16384)");
  add("trusted-proxy", po::value(&o.trusted_proxies)->composing(),
      "ADDR or ADDR/BITS of a reverse proxy whose X-Forwarded-For names the "
      "client (repeatable; default: none, the TCP peer is the client)");
  add("unlimited-address", po::value(&o.unlimited_addresses)->composing(),
      "ADDR or ADDR/BITS of clients the per-address limits leave alone "
      "(repeatable; default 127.0.0.1 and ::1; 'none' for no exception)");
  add("max-connections-per-address", po::value(&o.max_connections_per_address),
      "open WebSockets per client address (IPv6: per /64); more get 503 "
      "(default 1024, 0: no cap)");
  add("max-connections", po::value(&o.max_connections),
      "open WebSockets in total; more get 503 (default 0: the file "
      "descriptor limit less a quarter of it, at most 256, and at most "
      "50000)");
  add("requests-per-address", po::value(&o.requests_per_address),
      "HTTP requests a minute (and in a burst) per client address; more get "
      "429 and the cut-off penalty (default 1200, 0: no limit)");
  add("upgrades-per-address", po::value(&o.upgrades_per_address),
      "WebSocket upgrades a minute (and in a burst) per client address; more "
      "get 503 and the cut-off penalty (default 600, 0: no limit)");
  add("login-per-address", po::value(&o.login_per_address),
      "failed logins a minute (and in a burst) per client address; more get "
      "429 (default 30, 0: no limit)");
  add("login-per-account", po::value(&o.login_per_account),
      "failed logins a minute (and in a burst) per email; more get 429 "
      "(default 6, 0: no limit)");
  add("register-per-address", po::value(&o.register_per_address),
      "registrations a minute (and in a burst) per client address; more get "
      "429 (default 60, 0: no limit)");
  add("register-per-account", po::value(&o.register_per_account),
      "registration attempts a minute (and in a burst) per email; more get "
      "429 (default 5, 0: no limit)");
  add("api-threads", po::value(&o.api_threads),
      "threads hashing passwords (argon2id) and serving the HTTP API "
      "(default 2)");
  add("api-queue", po::value(&o.api_queue),
      "HTTP API requests pending per API thread; more get 503 (default 16, "
      "0: no bound)");
  add("io-threads", po::value(&o.io_threads),
      "dedicated Beast I/O threads (default 0: the CAF threads run the I/O "
      "too)");
  add("caf-threads", po::value(&o.caf_threads),
      "CAF scheduler threads (default 1)");
  add("allowed-origin", po::value(&o.allowed_origins)->composing(),
      "origin allowed to use the HTTP API (repeatable; default: any)");
  add("password-hash", po::value(&o.password_hash),
      "argon2id cost: interactive (default) or minimal (tests only)");
  add("log-level", po::value(&o.log_level),
      "error, warning, info (default) or debug");
  add("log-format", po::value(&o.log_format),
      "text (default): one readable line per event; json: one JSON object "
      "per line (time, level, event, message, fields)");
  add("access-log", po::bool_switch(&o.access_log),
      "log every HTTP request and WebSocket upgrade (address, method, path, "
      "status, duration) at level info");
  add("node-name", po::value(&o.node_name),
      "cluster: this node's name, the same on every restart (default: its "
      "cluster address)");
  add("cluster-listen", po::value(&o.cluster_listen),
      "cluster: ADDR:PORT for CAF remoting between nodes; enables clustering");
  add("cluster-peer", po::value(&o.cluster_peers)->composing(),
      "cluster: ADDR:PORT of another node's --cluster-listen (repeatable)");
  add("heartbeat", po::value(&o.heartbeat),
      "cluster: seconds between heartbeats to peers (default 1)");
  add("node-timeout", po::value(&o.node_timeout),
      "cluster: seconds of silence after which a peer counts as dead "
      "(default 5)");
  add("cluster-cert", po::value(&o.cluster_cert),
      "cluster: this node's certificate (PEM, signed by --cluster-ca)");
  add("cluster-key", po::value(&o.cluster_key),
      "cluster: the private key of --cluster-cert (PEM)");
  add("cluster-ca", po::value(&o.cluster_ca),
      "cluster: the operator's CA certificate (PEM); peers must present a "
      "certificate it signed");
  add("cluster-key-passphrase-file", po::value(&o.cluster_key_passphrase_file),
      "cluster: a file whose first line is the passphrase of --cluster-key");
  add("cluster-insecure", po::bool_switch(&o.cluster_insecure),
      "cluster: plain, unauthenticated remoting instead of TLS; only with "
      "loopback addresses (tests, benchmarks)");
  // The defaults below are the values `o` holds now, before parsing: those
  // of actors/limits.hpp.
  auto with_default = [](const std::string& what, const std::string& value,
                         const char* more = "") {
    return what + " (default " + value + more + ")";
  };
  auto rate = [&](const char* flag, std::string& value, const char* what,
                  const char* more = "") {
    add(flag, po::value(&value), with_default(what, value, more).c_str());
  };
  auto number = [](double x) {
    std::ostringstream out;
    out << x;
    return out.str();
  };
  rate("rate-init", o.rate_init, "INITs per connection, RATE/BURST per second",
       "; 0: no limit");
  rate("rate-lobby", o.rate_lobby,
       "CONFIG_HOST, CONFIG_PEER, CLAIM_HOST, TRANSFER_HOST, KICK, LOCK, "
       "UNLOCK and SIZE per connection");
  rate("rate-query", o.rate_query, "LOBBY_LIST and LOBBY_INFO per connection");
  rate("rate-relay", o.rate_relay,
       "MAKE_OFFER, MAKE_ANSWER and ICE per connection");
  rate("rate-relay-bytes", o.rate_relay_bytes,
       "payload bytes of those relays per connection");
  rate("rate-keepalive", o.rate_keepalive,
       "KEEPALIVEs and unknown opcodes per connection");
  rate("rate-drops", o.rate_drops,
       "commands dropped over their rate before the connection is cut off "
       "with VIOLATION");
  rate("lobby-create-rate", o.lobby_create_rate,
       "CONFIG_HOSTs per account per game");
  rate("broadcast-rate", o.broadcast_rate,
       "NEW_HOST and LOBBY_CLOSE broadcasts per game sent at once; beyond "
       "it they are coalesced per lobby");
  add("broadcast-flush", po::value(&o.broadcast_flush),
      with_default("seconds between sends of coalesced broadcasts",
                   number(o.broadcast_flush))
        .c_str());
  add("max-lobby-list", po::value(&o.max_lobby_list),
      with_default("most lobby ids in a LOBBY_LIST reply",
                   std::to_string(o.max_lobby_list), "; 0: no limit")
        .c_str());
  add("password-delay", po::value(&o.password_delay),
      with_default("seconds a PASSWORD_FAIL is held back, doubled per recent "
                   "failure",
                   number(o.password_delay))
        .c_str());
  add("password-max-delay", po::value(&o.password_max_delay),
      with_default("longest PASSWORD_FAIL delay in seconds",
                   number(o.password_max_delay))
        .c_str());
  add("password-failures", po::value(&o.password_failures),
      with_default("wrong passwords after which an account gets LOBBY_LOCKED "
                   "from that lobby",
                   std::to_string(o.password_failures), "; 0: never")
        .c_str());
  add("password-lockout", po::value(&o.password_lockout),
      with_default("seconds such a lockout lasts after the last failure",
                   number(o.password_lockout))
        .c_str());
  rate("password-lobby-rate", o.password_lobby_rate,
       "wrong passwords per lobby from all accounts; beyond it password joins "
       "get LOBBY_LOCKED");
  add("resume-window", po::value(&o.resume_window),
      with_default("seconds a resumable session whose socket was lost waits "
                   "for a RESUME",
                   number(o.resume_window), "; 0: no session resume")
        .c_str());
  add("resume-frames", po::value(&o.resume_frames),
      with_default("frames kept for such a session; past it the oldest go",
                   std::to_string(o.resume_frames))
        .c_str());
  add("resume-bytes", po::value(&o.resume_bytes),
      with_default("bytes of frames kept for such a session",
                   std::to_string(o.resume_bytes))
        .c_str());
  add("max-ban", po::value(&o.max_ban),
      with_default("longest ban in seconds a KICK may ask for (longer ones "
                   "are cut to it)",
                   number(o.max_ban))
        .c_str());
  add("turn-secret", po::value(&o.turn_secrets)->composing(),
      "shared secret of the TURN servers (coturn static-auth-secret; "
      "repeatable: the first signs)");
  add("turn-url", po::value(&o.turn_urls)->composing(),
      "turn: or turns: URL handed out with TURN credentials (repeatable)");
  add("turn-ttl", po::value(&o.turn_ttl),
      with_default("seconds a TURN credential works, at most 86400",
                   number(o.turn_ttl))
        .c_str());
  rate("turn-rate", o.turn_rate, "TURN_CREDENTIALS per account");
  add("caf-set", po::value(&o.caf_settings)->composing(),
      "KEY=VALUE: set a CAF option (repeatable), e.g. "
      "work-stealing.moderate-sleep-duration=100us");
  return opts;
}

/// Stores the command line, then the config file it names: a flag given on
/// both wins from the command line.
std::optional<int> read(int argc, char** argv,
                        const po::options_description& opts,
                        po::variables_map& vm) {
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("config")) {
      std::ifstream in{vm["config"].as<std::string>()};
      if (!in) {
        std::cerr << "omega: cannot read config file "
                  << vm["config"].as<std::string>() << "\n";
        return 2;
      }
      po::store(po::parse_config_file(in, opts), vm);
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "omega: " << e.what() << "\n" << opts << "\n";
    return 2;
  }
  return std::nullopt;
}

bool check_limits(const server_options& o) {
  if (o.max_frame < 1024 || o.io_threads > 64 || o.caf_threads == 0
      || o.token_lifetime <= 0 || o.claim_timeout < 0
      || !(o.idle_timeout == 0
           || (o.idle_timeout >= 1 && o.idle_timeout <= 1e6))
      || !(o.init_timeout == 0
           || (o.init_timeout >= 0.1 && o.init_timeout <= 1e6))
      || o.max_http_body < 1024 || o.max_http_body > 64 * 1024 * 1024
      || o.max_queued_bytes < 1024
      || !(o.cutoff_penalty >= 0 && o.cutoff_penalty <= 86400)
      || o.max_http_header < 1024 || o.max_http_header > 1024 * 1024
      || o.api_threads == 0 || o.api_threads > 64
      || !(o.drain_timeout >= 0 && o.drain_timeout <= 86400)) {
    std::cerr << "omega: invalid limits (max-frame-size >= 1024, caf-threads "
                 "and token-lifetime > 0, io-threads <= 64, claim-timeout and "
                 "idle-timeout 0 or from 1 to 1e6, init-timeout 0 or from 0.1 "
                 "to 1e6, max-http-body from 1024 to 67108864, "
                 "max-queued-bytes >= 1024, "
                 "max-http-header from 1024 to 1048576, api-threads from 1 to "
                 "64, drain-timeout from 0 to 86400)\n";
    return false;
  }
  return true;
}

/// A cluster runs over TLS with all three files, or in plain remoting with
/// `--cluster-insecure` between loopback addresses only: anything that can
/// reach a plain cluster port can act as a node (issue 15).
bool check_cluster_security(const server_options& o) {
  auto any_tls = !o.cluster_cert.empty() || !o.cluster_key.empty()
                 || !o.cluster_ca.empty()
                 || !o.cluster_key_passphrase_file.empty();
  if (!o.clustered()) {
    if (any_tls || o.cluster_insecure) {
      std::cerr << "omega: --cluster-cert, --cluster-key, --cluster-ca and "
                   "--cluster-insecure need --cluster-listen\n";
      return false;
    }
    return true;
  }
  if (o.cluster_insecure) {
    if (any_tls) {
      std::cerr << "omega: --cluster-insecure excludes --cluster-cert, "
                   "--cluster-key and --cluster-ca\n";
      return false;
    }
    auto all_loopback = is_loopback(o.cluster_host);
    for (auto& seed : o.seeds)
      all_loopback = all_loopback && is_loopback(seed.first);
    if (!all_loopback) {
      std::cerr << "omega: --cluster-insecure is only allowed when "
                   "--cluster-listen and every --cluster-peer are loopback "
                   "addresses (127.0.0.1, ::1); other clusters need "
                   "--cluster-cert, --cluster-key and --cluster-ca\n";
      return false;
    }
    return true;
  }
  if (o.cluster_cert.empty() || o.cluster_key.empty() || o.cluster_ca.empty()) {
    std::cerr << "omega: a cluster node needs --cluster-cert, --cluster-key "
                 "and --cluster-ca (make them with 'omega-admin cluster "
                 "init-ca' and 'omega-admin cluster issue-cert', see "
                 "docs/cluster.md), or --cluster-insecure on loopback "
                 "addresses only\n";
    return false;
  }
  return true;
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds{static_cast<long>(seconds * 1000)};
}

/// Parses the limit flags into `o.rates`, `o.game` and `o.passwords`.
bool check_abuse_limits(server_options& o) {
  struct named_rate {
    const char* flag;
    const std::string& text;
    rate_limit& out;
  };
  named_rate all[] = {
    {"rate-init", o.rate_init, o.rates.init},
    {"rate-lobby", o.rate_lobby, o.rates.lobby},
    {"rate-query", o.rate_query, o.rates.query},
    {"rate-relay", o.rate_relay, o.rates.relay},
    {"rate-relay-bytes", o.rate_relay_bytes, o.rates.relay_bytes},
    {"rate-keepalive", o.rate_keepalive, o.rates.keepalive},
    {"rate-drops", o.rate_drops, o.rates.drops},
    {"lobby-create-rate", o.lobby_create_rate, o.game.lobby_creation},
    {"broadcast-rate", o.broadcast_rate, o.game.broadcasts},
    {"password-lobby-rate", o.password_lobby_rate, o.passwords.lobby_failures},
    {"turn-rate", o.turn_rate, o.turn.rate},
  };
  for (auto& x : all) {
    if (!parse_rate(x.text, x.out)) {
      std::cerr << "omega: --" << x.flag
                << " needs RATE/BURST (per second, BURST >= 1) or 0, got "
                << x.text << "\n";
      return false;
    }
  }
  auto seconds_ok = [](double x) { return x >= 0 && x <= 1e6; };
  if (!(o.broadcast_flush >= 0.01 && o.broadcast_flush <= 3600)
      || !seconds_ok(o.password_delay) || !seconds_ok(o.password_max_delay)
      || !seconds_ok(o.password_lockout)) {
    std::cerr << "omega: invalid limits (broadcast-flush from 0.01 to 3600, "
                 "password-delay, password-max-delay and password-lockout "
                 "from 0 to 1e6)\n";
    return false;
  }
  o.game.broadcast_flush = to_ms(o.broadcast_flush);
  o.game.max_lobby_list = o.max_lobby_list;
  o.passwords.delay = to_ms(o.password_delay);
  o.passwords.max_delay = to_ms(o.password_max_delay);
  o.passwords.max_failures = o.password_failures;
  o.passwords.lockout = to_ms(o.password_lockout);
  if (!seconds_ok(o.resume_window) || o.resume_frames == 0
      || o.resume_bytes < 1024 || !(o.max_ban >= 0 && o.max_ban <= 1e7)
      || !(o.turn_ttl >= 60 && o.turn_ttl <= 86400)) {
    std::cerr << "omega: invalid limits (resume-window from 0 to 1e6, "
                 "resume-frames >= 1, resume-bytes >= 1024, max-ban from 0 to "
                 "1e7, turn-ttl from 60 to 86400)\n";
    return false;
  }
  o.resume.window = to_ms(o.resume_window);
  o.resume.max_frames = o.resume_frames;
  o.resume.max_bytes = o.resume_bytes;
  for (auto& url : o.turn_urls)
    if (url.rfind("turn:", 0) != 0 && url.rfind("turns:", 0) != 0) {
      std::cerr << "omega: --turn-url must start with turn: or turns:, got "
                << url << "\n";
      return false;
    }
  if (o.turn_secrets.empty() != o.turn_urls.empty()) {
    std::cerr << "omega: TURN needs both --turn-secret and --turn-url\n";
    return false;
  }
  for (auto& secret : o.turn_secrets)
    if (secret.empty()) {
      std::cerr << "omega: --turn-secret must not be empty\n";
      return false;
    }
  o.turn.secrets = o.turn_secrets;
  o.turn.urls = o.turn_urls;
  o.turn.ttl = std::chrono::seconds{static_cast<long>(o.turn_ttl)};
  return true;
}

/// Splits the cluster addresses into `o` and checks the cluster flags.
bool check_cluster(server_options& o) {
  if (o.clustered()
      && !split_listen(o.cluster_listen, o.cluster_host, o.cluster_port)) {
    std::cerr << "omega: --cluster-listen needs ADDR:PORT, got "
              << o.cluster_listen << "\n";
    return false;
  }
  for (auto& peer : o.cluster_peers) {
    node_address addr;
    if (!o.clustered() || !split_listen(peer, addr.first, addr.second)) {
      std::cerr << "omega: --cluster-peer needs ADDR:PORT and --cluster-listen"
                << ", got " << peer << "\n";
      return false;
    }
    o.seeds.push_back(std::move(addr));
  }
  if (o.clustered() && o.node_name.empty() && o.cluster_port == 0) {
    std::cerr << "omega: --cluster-listen with port 0 needs --node-name\n";
    return false;
  }
  if (!check_cluster_security(o))
    return false;
  if (o.clustered() && (o.heartbeat <= 0 || o.node_timeout < o.heartbeat)) {
    std::cerr << "omega: --heartbeat must be > 0 and --node-timeout at least "
                 "as long\n";
    return false;
  }
  return true;
}

/// Reads the token of a `--*-token-file` flag (none if `file` is empty);
/// false after saying why if it cannot.
bool read_token(const std::string& file, const char* flag, std::string& out) {
  if (file.empty())
    return true;
  std::ifstream in{file};
  std::getline(in, out);
  if (!in || out.size() < 16) {
    std::cerr << "omega: --" << flag << " " << file
              << " must be readable and its first line a token of at least "
                 "16 characters\n";
    return false;
  }
  return true;
}

} // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1
         && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string rate_flag(const rate_limit& x) {
  if (!x.enabled())
    return "0";
  auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.10g", v);
    return std::string{buf};
  };
  return number(x.rate) + "/" + number(x.burst);
}

bool parse_rate(const std::string& x, rate_limit& out) {
  try {
    size_t used = 0;
    auto slash = x.find('/');
    auto rate = std::stod(x.substr(0, slash), &used);
    if (used != (slash == std::string::npos ? x.size() : slash) || rate < 0
        || rate > 1e9)
      return false;
    if (rate == 0) {
      out = rate_limit{};
      return slash == std::string::npos;
    }
    auto burst = std::max(rate, 1.0);
    if (slash != std::string::npos) {
      auto tail = x.substr(slash + 1);
      burst = std::stod(tail, &used);
      if (used != tail.size() || burst < 1 || burst > 1e9)
        return false;
    }
    out = rate_limit{rate, burst};
    return true;
  } catch (...) {
    return false;
  }
}

bool split_listen(const std::string& x, std::string& host, uint16_t& port) {
  auto colon = x.rfind(':');
  if (colon == std::string::npos)
    return false;
  host = x.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    auto p = std::stoul(x.substr(colon + 1));
    if (p > 65535)
      return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

std::optional<int> parse_server_options(int argc, char** argv,
                                        server_options& out) {
  auto opts = describe(out);
  po::variables_map vm;
  if (auto code = read(argc, argv, opts, vm))
    return code;
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return 0;
  }
  out.demo = vm.count("demo") != 0;
  if (!split_listen(out.listen, out.host, out.port)) {
    std::cerr << "omega: --listen needs ADDR:PORT, got " << out.listen << "\n";
    return 2;
  }
  if (out.tls_cert.empty() != out.tls_key.empty()
      || (out.tls_allow_plain && out.tls_cert.empty())) {
    std::cerr << "omega: --tls-cert and --tls-key go together, and "
                 "--tls-allow-plain needs them\n";
    return 2;
  }
  if (out.log_level != "error" && out.log_level != "warning"
      && out.log_level != "info" && out.log_level != "debug") {
    std::cerr << "omega: --log-level must be error, warning, info or debug\n";
    return 2;
  }
  if (out.log_format != "text" && out.log_format != "json") {
    std::cerr << "omega: --log-format must be text or json\n";
    return 2;
  }
  if (!read_token(out.admin_token_file, "admin-token-file", out.admin_token)
      || !read_token(out.metrics_token_file, "metrics-token-file",
                     out.metrics_token))
    return 2;
  if (!check_limits(out) || !check_abuse_limits(out) || !check_cluster(out))
    return 2;
  return std::nullopt;
}

} // namespace omega
