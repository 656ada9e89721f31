// omega-server: the signaling and lobby server process.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <pthread.h>

#ifdef OMEGA_MIMALLOC
#  include <mimalloc.h>
#endif

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include "actors/actors.hpp"
#include "actors/auth.hpp"
#include "actors/directory.hpp"
#include "actors/limit_log.hpp"
#include "actors/node.hpp"
#include "storage/sqlite_store.hpp"
#include "tools/cluster_tls.hpp"
#include "tools/server_demo.hpp"
#include "tools/server_log.hpp"
#include "tools/server_options.hpp"
#include "transport/event_loop.hpp"
#include "transport/gateway.hpp"
#include "transport/tls_context.hpp"

namespace {

using omega::log;
using omega::log_level;

/// Signals go to the main thread's sigwait only: blocked before any other
/// thread exists, so every thread inherits the mask.
sigset_t block_shutdown_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

caf::timespan seconds_span(double seconds) {
  return caf::timespan{
    std::chrono::milliseconds{static_cast<long>(seconds * 1000)}};
}

// -- storage -----------------------------------------------------------------

omega::hash_cost password_cost(const omega::server_options& o) {
  return o.password_hash == "minimal" ? omega::hash_cost::minimal()
                                      : omega::hash_cost::interactive();
}

std::unique_ptr<omega::sqlite_store> open_store(const std::string& data_dir,
                                                omega::hash_cost cost) {
  std::string e;
  auto s = omega::sqlite_store::open(data_dir, e, cost);
  if (!s)
    log(log_level::error, "store_error", "cannot open store: " + e);
  return s;
}

/// Opens one more connection to the store for each user of its own: the
/// DIRECTORY and the gateway's HTTP API.
omega::store_factory store_opener(const omega::server_options& o) {
  return [data_dir = o.data_dir, cost = password_cost(o)] {
    return open_store(data_dir, cost);
  };
}

/// Opens the store of the AUTH, the first one: its error names the folder.
std::unique_ptr<omega::sqlite_store>
open_auth_store(const omega::server_options& o) {
  std::string err;
  auto store = omega::sqlite_store::open(o.data_dir, err, password_cost(o));
  if (!store)
    log(log_level::error, "store_error",
        "cannot open the data folder " + o.data_dir + ": " + err);
  return store;
}

/// The demo games if `--demo` asks for them (none otherwise).
omega::demo_ugis prepare_demo(const omega::server_options& o,
                              omega::sqlite_store& store) {
  omega::demo_ugis demo;
  if (o.demo) {
    demo = omega::demo_games(store);
    if (demo.standard.empty())
      log(log_level::warning, "demo",
          "--demo: the data folder already has games; no demo game made");
  }
  return demo;
}

// -- actor system ------------------------------------------------------------

void set_scheduler(const omega::server_options& o,
                   caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", o.caf_threads);
  if (o.io_threads == 0) {
    // The CAF threads run the gateway's sockets too: a relayed frame is
    // read, handled and written without a thread hand-off.
    omega::use_shared_loop(cfg);
  } else {
    // With dedicated I/O threads, an idle CAF 0.17 worker first polls, then
    // sleeps on a condition variable that every message from a Beast thread
    // signals; on few cores that wake-up preempts the I/O thread twice per
    // relay. Polling every 200 us for two idle seconds before sleeping lets
    // both threads batch instead (docs/benchmarks.md).
    cfg.set("work-stealing.moderate-poll-attempts", 10000);
    cfg.set("work-stealing.moderate-sleep-duration",
            caf::timespan{std::chrono::microseconds{200}});
  }
}

/// Applies the `--caf-set` options; false (after printing why) for one that
/// is not KEY=VALUE.
bool apply_caf_settings(const omega::server_options& o,
                        caf::actor_system_config& cfg) {
  for (auto& kv : o.caf_settings) {
    auto eq = kv.find('=');
    auto val = eq == std::string::npos
                 ? caf::expected<caf::config_value>{caf::sec::invalid_argument}
                 : caf::config_value::parse(kv.substr(eq + 1));
    if (!val) {
      std::cerr << "omega: --caf-set needs KEY=VALUE, got " << kv << "\n";
      return false;
    }
    cfg.set(kv.substr(0, eq), std::move(*val));
  }
  return true;
}

/// The node's TLS files from the flags; false (after logging why) if the
/// passphrase file cannot be read.
bool cluster_credentials_of(const omega::server_options& o,
                            omega::cluster_credentials& creds) {
  creds.cert = o.cluster_cert;
  creds.key = o.cluster_key;
  creds.ca = o.cluster_ca;
  std::string err;
  if (!o.cluster_key_passphrase_file.empty()
      && !omega::read_passphrase(o.cluster_key_passphrase_file,
                                 creds.passphrase, err)) {
    log(log_level::error, "cluster_tls", err);
    return false;
  }
  return true;
}

/// Checks the node's certificate before anything listens: CAF would load
/// the files only at the first connection, and a bad one would end the
/// process from inside the middleman. False after logging why.
bool check_cluster_tls(const omega::server_options& o,
                       omega::cluster_credentials& creds) {
  if (!cluster_credentials_of(o, creds))
    return false;
  std::string common_name;
  std::string err;
  if (!omega::check_credentials(creds, common_name, err)) {
    log(log_level::error, "cluster_tls", "cluster certificate: " + err);
    return false;
  }
  if (!o.node_name.empty() && common_name != o.node_name)
    log(log_level::warning, "cluster_tls",
        "the cluster certificate is issued to " + common_name
          + ", not to this node's name " + o.node_name
          + " (peers accept any certificate of the CA)");
  return true;
}

void set_cluster(const omega::server_options& o,
                 const omega::cluster_credentials& creds,
                 caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  if (o.cluster_tls()) {
    // With a certificate, key and CA set, CAF's OpenSSL module requires and
    // verifies a certificate on both sides of every connection
    // (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT), and BASP speaks
    // only after the handshake: a peer without a certificate of this CA
    // never gets a byte of remoting.
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = creds.cert;
    cfg.openssl_key = creds.key;
    cfg.openssl_passphrase = creds.passphrase;
    cfg.openssl_cafile = creds.ca;
  }
  // CAF's heartbeats are off by default: without them a peer that stops
  // answering (SIGSTOP, a cut cable) would never be noticed.
  cfg.set("middleman.heartbeat-interval", seconds_span(o.heartbeat));
  cfg.set("middleman.connection-timeout", seconds_span(o.node_timeout));
  // Automatic connections stay off: CAF 0.17 would open a second, plain
  // BASP port on every interface for them and connect to peers' such ports
  // without TLS, around the published one. Every pair of nodes connects
  // through its NODEs anyway; until then, handles of actors on a third node
  // are reached through the peer that sent them.
  cfg.set("middleman.enable-automatic-connections", false);
}

/// Fills `cfg`; false (after printing why) for a bad `--caf-set`.
bool configure(const omega::server_options& o,
               const omega::cluster_credentials& creds,
               caf::actor_system_config& cfg) {
  set_scheduler(o, cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  if (!apply_caf_settings(o, cfg))
    return false;
  if (o.clustered())
    set_cluster(o, creds, cfg);
  omega::add_message_types(cfg);
  return true;
}

// -- actors ------------------------------------------------------------------

/// The server's long-lived actors; `node` only in a cluster.
struct server_actors {
  omega::auth_actor auth;
  omega::directory_actor dir;
  omega::node_actor node;
  /// The NODE's count of reachable peers.
  std::shared_ptr<std::atomic<int64_t>> reachable;

  /// Tells every actor to exit; they end on their own after that.
  void exit_all() {
    if (node)
      anon_send_exit(node, caf::exit_reason::user_shutdown);
    anon_send_exit(dir, caf::exit_reason::user_shutdown);
    anon_send_exit(auth, caf::exit_reason::user_shutdown);
  }
};

/// Spawns the AUTH and the DIRECTORY, each with a store of its own.
server_actors spawn_actors(caf::actor_system& sys,
                           const omega::server_options& o,
                           std::unique_ptr<omega::sqlite_store> auth_store,
                           std::unique_ptr<omega::sqlite_store> dir_store) {
  omega::lobby_settings settings;
  settings.claim_timeout
    = std::chrono::milliseconds{static_cast<long>(o.claim_timeout * 1000)};
  settings.game = o.game;
  settings.passwords = o.passwords;
  settings.max_ban = std::chrono::seconds{static_cast<long>(o.max_ban)};
  server_actors result;
  result.auth = sys.spawn(
    omega::auth, std::shared_ptr<omega::auth_store>{std::move(auth_store)},
    omega::clock_function{}, caf::timespan{std::chrono::seconds{1}}, o.turn);
  result.dir = sys.spawn(
    omega::directory, std::shared_ptr<omega::auth_store>{std::move(dir_store)},
    settings);
  return result;
}

/// Spawns the NODE and publishes it on the cluster port; false (after
/// logging why) if that port cannot be opened.
bool join_cluster(caf::actor_system& sys, const omega::server_options& o,
                  server_actors& actors) {
  omega::node_card card;
  card.name = o.node_name;
  card.directory = caf::actor_cast<caf::actor>(actors.dir);
  card.auth = caf::actor_cast<caf::actor>(actors.auth);
  // The OpenSSL manager's middleman actor has the same interface and makes
  // TLS connections; the NODE does not know the difference.
  auto mm = o.cluster_tls() ? sys.openssl_manager().actor_handle()
                            : sys.middleman().actor_handle();
  auto log_fn = [](const std::string& msg) {
    log(log_level::info, "cluster", msg);
  };
  if (card.name.empty())
    card.name = o.cluster_host + ":" + std::to_string(o.cluster_port);
  actors.reachable = std::make_shared<std::atomic<int64_t>>(0);
  actors.node = sys.spawn(omega::node, card, o.seeds, mm,
                          caf::timespan{std::chrono::seconds{1}}, log_fn,
                          actors.reachable);
  auto host = o.cluster_host.c_str();
  auto published
    = o.cluster_tls()
        ? caf::openssl::publish(actors.node, o.cluster_port, host, true)
        : sys.middleman().publish(actors.node, o.cluster_port, host, true);
  if (!published) {
    log(log_level::error, "cluster_error",
        "cannot open the cluster port " + o.cluster_listen + ": "
          + sys.render(published.error()));
    return false;
  }
  log(log_level::info, "cluster_listening",
      "cluster node " + card.name + " listening on " + o.cluster_host + ":"
        + std::to_string(*published)
        + (o.cluster_tls() ? " (TLS)" : " (insecure: plain remoting)"));
  return true;
}

// -- gateway -----------------------------------------------------------------

omega::gateway_config gateway_settings(const omega::server_options& o) {
  omega::gateway_config gc;
  gc.address = o.host;
  gc.port = o.port;
  gc.tls_cert = o.tls_cert;
  gc.tls_key = o.tls_key;
  gc.tls_allow_plain = o.tls_allow_plain;
  gc.web_pages = o.web_pages;
  gc.drain_timeout
    = std::chrono::milliseconds{static_cast<long>(o.drain_timeout * 1000)};
  gc.admin_token = o.admin_token;
  gc.metrics_token = o.metrics_token;
  if (!o.metrics_allow.empty()) {
    gc.metrics_allow.clear();
    for (auto& x : o.metrics_allow)
      if (x != "none")
        gc.metrics_allow.push_back(x);
  }
  gc.version = OMEGA_VERSION;
  gc.io_threads = o.io_threads;
  gc.max_frame = o.max_frame;
  gc.idle_timeout
    = std::chrono::milliseconds{static_cast<long>(o.idle_timeout * 1000)};
  gc.init_timeout
    = std::chrono::milliseconds{static_cast<long>(o.init_timeout * 1000)};
  gc.max_http_body = o.max_http_body;
  gc.max_queued_bytes = o.max_queued_bytes;
  gc.cutoff_penalty
    = std::chrono::milliseconds{static_cast<long>(o.cutoff_penalty * 1000)};
  gc.penalty_hold = o.penalty_hold;
  gc.max_http_header = o.max_http_header;
  gc.trusted_proxies = o.trusted_proxies;
  if (!o.unlimited_addresses.empty()) {
    gc.unlimited_addresses.clear();
    for (auto& x : o.unlimited_addresses)
      if (x != "none")
        gc.unlimited_addresses.push_back(x);
  }
  gc.max_connections_per_address = o.max_connections_per_address;
  gc.max_connections = o.max_connections;
  gc.requests_per_address = o.requests_per_address;
  gc.upgrades_per_address = o.upgrades_per_address;
  gc.throttles.login_per_address = o.login_per_address;
  gc.throttles.login_per_account = o.login_per_account;
  gc.throttles.register_per_address = o.register_per_address;
  gc.throttles.register_per_account = o.register_per_account;
  gc.api_threads = o.api_threads;
  gc.api_queue = o.api_queue;
  gc.warn = [](const std::string& msg) {
    log(log_level::warning, "limit", msg);
  };
  if (o.access_log)
    gc.access = [](const omega::access_record& x) {
      auto seconds = std::to_string(x.seconds);
      log(log_level::info, x.upgrade ? "websocket_upgrade" : "http_request",
          x.address + " " + x.method + " " + x.path + " "
            + std::to_string(x.status) + " " + seconds + " s",
          {{"address", x.address},
           {"method", x.method},
           {"path", x.path},
           {"status", std::to_string(x.status), true},
           {"duration_seconds", seconds, true}});
    };
  gc.allowed_origins = o.allowed_origins;
  gc.token_lifetime = std::chrono::seconds{o.token_lifetime};
  gc.limits.max_peers = o.max_peers;
  gc.rates = o.rates;
  gc.resume = o.resume;
  return gc;
}

std::unique_ptr<omega::gateway>
make_gateway(caf::actor_system& sys, const omega::server_options& o,
             const server_actors& actors, const omega::demo_ugis& demo) {
  auto gc = gateway_settings(o);
  gc.demo_game = demo.standard;
  if (auto reachable = actors.reachable) {
    // A node with seeds has joined once it reaches one of them; the first
    // node of a cluster (no seeds) is the cluster.
    gc.cluster_ready = [reachable, alone = o.seeds.empty()] {
      return alone || reachable->load() > 0;
    };
    gc.cluster_peers = [reachable] { return reachable->load(); };
  }
  return std::make_unique<omega::gateway>(sys, std::move(gc), actors.auth,
                                          actors.dir, store_opener(o));
}

/// Starts `gw` and logs where it listens; false (after logging why) if it
/// cannot.
bool start_gateway(omega::gateway& gw, const omega::server_options& o,
                   const omega::demo_ugis& demo) {
  std::string err;
  auto port = gw.start(err);
  if (port == 0) {
    log(log_level::error, "listen_error", err);
    return false;
  }
  auto host = o.host.find(':') != std::string::npos ? "[" + o.host + "]"
                                                    : o.host;
  log(log_level::info, "listening",
      "listening on " + host + ":" + std::to_string(port)
        + (o.tls_cert.empty()  ? ""
           : o.tls_allow_plain ? " (TLS and plain)"
                               : " (TLS)")
        + " (data in " + o.data_dir + ")");
  log(log_level::info, "limits",
      "WebSockets: at most " + std::to_string(gw.max_connections()) + ", "
        + std::to_string(o.max_connections_per_address)
        + " per client address");
#ifdef OMEGA_MIMALLOC
  // Also keeps the linker (with --as-needed) from dropping the library.
  log(log_level::debug, "malloc",
      "malloc: mimalloc " + std::to_string(mi_version()));
#endif
  if (!demo.standard.empty())
    omega::print_demo(demo, host, port, !o.tls_cert.empty(), o.web_pages);
  return true;
}

/// `--check-config`: the options parsed (and the cluster's certificate was
/// checked) before this; loads the client port's certificate too. 0 if all
/// is well, 2 after saying what is not.
int check_config(const omega::server_options& o) {
  if (!o.tls_cert.empty()) {
    omega::tls_contexts tls{o.tls_cert, o.tls_key};
    std::string err;
    if (!tls.reload(err)) {
      log(log_level::error, "config_error", err);
      return 2;
    }
  }
  std::cout << "omega: configuration OK"
            << (o.config_file.empty() ? "" : " (" + o.config_file + ")")
            << std::endl;
  return 0;
}

// -- shutdown ----------------------------------------------------------------

/// Waits up to 100 ms for a signal; 0 if none came.
int next_signal(const sigset_t& signals) {
  timespec wait{0, 100 * 1000 * 1000};
  auto sig = sigtimedwait(&signals, nullptr, &wait);
  return sig > 0 ? sig : 0;
}

void reload_tls(omega::gateway& gw) {
  std::string err;
  if (!gw.reload_tls(err)) {
    log(log_level::error, "tls_reload_failed",
        "SIGHUP: " + err + "; the previous certificate stays in use");
    return;
  }
  auto expiry = std::chrono::system_clock::to_time_t(*gw.certificate_expiry());
  char when[32];
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&expiry));
  log(log_level::info, "tls_reloaded",
      std::string{"SIGHUP: reloaded the TLS certificate (valid until "} + when
        + ")");
}

/// Serves until told to stop: SIGHUP reloads the TLS certificate; the first
/// SIGTERM or SIGINT (or `POST /admin/drain`) drains, the end of the drain
/// or a second signal returns. True for a drain that ended on its own.
bool serve(omega::gateway& gw, const sigset_t& signals,
           const omega::server_options& o) {
  bool drain_logged = false;
  for (;;) {
    auto sig = next_signal(signals);
    if (sig == SIGHUP) {
      if (o.tls_cert.empty())
        log(log_level::warning, "tls_reload_failed",
            "SIGHUP: nothing to reload (no --tls-cert)");
      else
        reload_tls(gw);
    } else if (sig != 0) {
      auto name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      if (gw.draining()) {
        log(log_level::info, "stopping",
            std::string{"received "} + name + " again, stopping now");
        return false;
      }
      // Drain first: whoever reads the line may rely on it (readyz, metrics).
      gw.drain();
      log(log_level::info, "draining",
          std::string{"received "} + name + ", draining");
      drain_logged = true;
    }
    if (gw.draining() && !drain_logged) {
      log(log_level::info, "draining", "draining (POST /admin/drain)");
      drain_logged = true;
    }
    if (gw.drained()) {
      log(log_level::info, "drained",
          "drained: every client was told to reconnect (1012)");
      return true;
    }
  }
}

/// Never hang: if an orderly shutdown stalls, leave anyway.
void start_watchdog() {
  std::thread watchdog{[] {
    std::this_thread::sleep_for(std::chrono::seconds{10});
    log(log_level::error, "stop_timeout", "shutdown took too long; exiting");
    std::_Exit(1);
  }};
  watchdog.detach();
}

/// Stops the gateway (closing what is still open with 1001 within `grace`)
/// and the actors.
void shut_down(caf::actor_system& sys, std::unique_ptr<omega::gateway> gw,
               server_actors actors, std::chrono::milliseconds grace) {
  gw->stop(grace);
  gw.reset();
  if (actors.node) {
    // Published actors live until told to exit. The pause lets the goodbye
    // reach the peers, which then see this node leave at once instead of
    // after their heartbeat timeout.
    anon_send_exit(actors.node, caf::exit_reason::user_shutdown);
    actors.node = nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  actors.exit_all();
  actors = server_actors{};
  sys.await_all_actors_done();
  log(log_level::info, "stopped", "stopped");
}

} // namespace

int main(int argc, char** argv) {
  auto signals = block_shutdown_signals();
  omega::server_options opts;
  if (auto code = omega::parse_server_options(argc, argv, opts))
    return *code;
  omega::configure_log(opts.log_level, opts.log_format);
  omega::cluster_credentials creds;
  if (opts.cluster_tls() && !check_cluster_tls(opts, creds))
    return 2;
  if (opts.check_config)
    return check_config(opts);
  omega::set_limit_logger(
    [](const std::string& msg) { log(log_level::warning, "limit", msg); });
  auto auth_store = open_auth_store(opts);
  if (!auth_store)
    return 1;
  auto demo = prepare_demo(opts, *auth_store);
  auto dir_store = open_store(opts.data_dir, password_cost(opts));
  if (!dir_store)
    return 1;
  caf::actor_system_config cfg;
  if (!configure(opts, creds, cfg))
    return 2;
  caf::actor_system sys{cfg};
  auto actors = spawn_actors(sys, opts, std::move(auth_store),
                             std::move(dir_store));
  if (opts.clustered() && !join_cluster(sys, opts, actors)) {
    actors.exit_all();
    return 1;
  }
  auto gw = make_gateway(sys, opts, actors, demo);
  if (!start_gateway(*gw, opts, demo)) {
    actors.exit_all();
    return 1;
  }
  auto drained = serve(*gw, signals, opts);
  start_watchdog();
  // After a second signal, at once: whoever sent it does not want to wait.
  shut_down(sys, std::move(gw), std::move(actors),
            drained ? std::chrono::milliseconds{2000}
                    : std::chrono::milliseconds{100});
  return 0;
}
