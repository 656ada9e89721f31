// omega-server: the signaling and lobby server process.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <pthread.h>

#include <boost/program_options.hpp>

#ifdef OMEGA_MIMALLOC
#  include <mimalloc.h>
#endif

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "actors/actors.hpp"
#include "actors/auth.hpp"
#include "actors/directory.hpp"
#include "actors/node.hpp"
#include "storage/sqlite_store.hpp"
#include "transport/event_loop.hpp"
#include "transport/gateway.hpp"

namespace po = boost::program_options;

namespace {

int verbosity = 2; // 0 error, 1 warning, 2 info, 3 debug

/// Writes one log line. Actors (the NODE, on a scheduler thread) log too:
/// the line goes out in one write under a lock, so lines from two threads
/// never interleave (tools and tests read them line by line).
void log(int level, const std::string& msg) {
  static const char* names[] = {"error", "warning", "info", "debug"};
  static std::mutex mtx;
  if (level > verbosity)
    return;
  auto line = std::string{"omega: "} + names[level] + ": " + msg + "\n";
  std::lock_guard<std::mutex> guard{mtx};
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
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

/// The demo games: one per client profile.
struct demo_ugis {
  std::string standard;
  std::string cl5;
};

/// Makes sure the demo games exist and returns their UGIs. A data folder
/// with other games (an operator's) gets none added.
demo_ugis demo_games(omega::sqlite_store& store) {
  constexpr const char* developer = "Demo Developer";
  demo_ugis result;
  bool others = false;
  for (auto& g : store.list_games()) {
    if (g.developer == developer && g.name == "Demo Game")
      result.standard = g.ugi;
    else if (g.developer == developer && g.name == "CL5 Demo Game")
      result.cl5 = g.ugi;
    else
      others = true;
  }
  if (others)
    return result;
  if (result.standard.empty())
    result.standard = store.add_game("Demo Game", developer);
  if (result.cl5.empty())
    result.cl5 = store.add_game("CL5 Demo Game", developer,
                                omega::client_profile::cl5);
  return result;
}

} // namespace

int main(int argc, char** argv) {
  // Signals go to the main thread's sigwait only: block them before any
  // other thread exists, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  std::string config_file;
  std::string log_level = "info";
  std::string hash = "interactive";
  std::vector<std::string> origins;
  std::vector<std::string> caf_settings;
  long token_lifetime = 24 * 3600;
  size_t max_frame = 64 * 1024;
  uint32_t max_peers = 100;
  double claim_timeout = 30;
  double idle_timeout = 300;
  size_t io_threads = 0;
  size_t caf_threads = 1;
  std::string node_name;
  std::string cluster_listen;
  std::vector<std::string> cluster_peers;
  double heartbeat = 1;
  double node_timeout = 5;
  po::options_description opts{"omega-server options"};
  opts.add_options()("help,h", "print this help")(
    "listen", po::value(&listen),
    "ADDR:PORT to serve HTTP and WebSocket "
    "on (default 127.0.0.1:8080; port 0 picks "
    "a free one)")("data-dir", po::value(&data_dir),
                   "data folder (default ./data)")(
    "demo", "create a demo game on an empty data folder and print its URL")(
    "config", po::value(&config_file),
    "config file of key = value lines "
    "(same names as the flags)")(
    "token-lifetime", po::value(&token_lifetime),
    "session token lifetime in seconds (default 86400)")(
    "max-frame-size", po::value(&max_frame),
    "largest WebSocket frame in bytes (default 65536)")(
    "max-peers", po::value(&max_peers),
    "server limit for max_peers and SIZE (default 100)")(
    "claim-timeout", po::value(&claim_timeout),
    "seconds a hostless lobby waits for CLAIM_HOST (default 30)")(
    "idle-timeout", po::value(&idle_timeout),
    "seconds after which a WebSocket that sends nothing, not even a pong, "
    "is closed (up to a quarter more); it is pinged after half of it "
    "(default 300, 0: never)")(
    "io-threads", po::value(&io_threads),
    "dedicated Beast I/O threads (default 0: the CAF threads run the I/O "
    "too)")("caf-threads", po::value(&caf_threads),
            "CAF scheduler threads (default 1)")(
    "allowed-origin", po::value(&origins)->composing(),
    "origin allowed to use the HTTP API (repeatable; default: any)")(
    "password-hash", po::value(&hash),
    "argon2id cost: interactive (default) or minimal (tests only)")(
    "log-level", po::value(&log_level),
    "error, warning, info (default) or debug")(
    "node-name", po::value(&node_name),
    "cluster: this node's name, the same on every restart (default: its "
    "cluster address)")(
    "cluster-listen", po::value(&cluster_listen),
    "cluster: ADDR:PORT for CAF remoting between nodes; enables clustering")(
    "cluster-peer", po::value(&cluster_peers)->composing(),
    "cluster: ADDR:PORT of another node's --cluster-listen (repeatable)")(
    "heartbeat", po::value(&heartbeat),
    "cluster: seconds between heartbeats to peers (default 1)")(
    "node-timeout", po::value(&node_timeout),
    "cluster: seconds of silence after which a peer counts as dead "
    "(default 5)")("caf-set", po::value(&caf_settings)->composing(),
                   "KEY=VALUE: set a CAF option (repeatable), e.g. "
                   "work-stealing.moderate-sleep-duration=100us");
  po::variables_map vm;
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
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return 0;
  }
  if (log_level == "error")
    verbosity = 0;
  else if (log_level == "warning")
    verbosity = 1;
  else if (log_level == "debug")
    verbosity = 3;
  omega::gateway_config gc;
  if (!split_listen(listen, gc.address, gc.port)) {
    std::cerr << "omega: --listen needs ADDR:PORT, got " << listen << "\n";
    return 2;
  }
  if (max_frame < 1024 || io_threads > 64 || caf_threads == 0
      || token_lifetime <= 0 || claim_timeout < 0
      || !(idle_timeout == 0 || (idle_timeout >= 1 && idle_timeout <= 1e6))) {
    std::cerr << "omega: invalid limits (max-frame-size >= 1024, caf-threads "
                 "and token-lifetime > 0, io-threads <= 64, claim-timeout and "
                 "idle-timeout 0 or from 1 to 1e6)\n";
    return 2;
  }
  std::string cluster_host;
  uint16_t cluster_port = 0;
  std::vector<omega::node_address> seeds;
  bool clustered = !cluster_listen.empty();
  if (clustered && !split_listen(cluster_listen, cluster_host, cluster_port)) {
    std::cerr << "omega: --cluster-listen needs ADDR:PORT, got "
              << cluster_listen << "\n";
    return 2;
  }
  for (auto& peer : cluster_peers) {
    omega::node_address addr;
    if (!clustered || !split_listen(peer, addr.first, addr.second)) {
      std::cerr << "omega: --cluster-peer needs ADDR:PORT and --cluster-listen"
                << ", got " << peer << "\n";
      return 2;
    }
    seeds.push_back(std::move(addr));
  }
  if (clustered && node_name.empty() && cluster_port == 0) {
    std::cerr << "omega: --cluster-listen with port 0 needs --node-name\n";
    return 2;
  }
  if (clustered && (heartbeat <= 0 || node_timeout < heartbeat)) {
    std::cerr << "omega: --heartbeat must be > 0 and --node-timeout at least "
                 "as long\n";
    return 2;
  }
  auto cost = hash == "minimal" ? omega::hash_cost::minimal()
                                : omega::hash_cost::interactive();

  // -- storage ---------------------------------------------------------------
  std::string err;
  auto open_store = [data_dir, cost]() -> std::unique_ptr<omega::sqlite_store> {
    std::string e;
    auto s = omega::sqlite_store::open(data_dir, e, cost);
    if (!s)
      log(0, "cannot open store: " + e);
    return s;
  };
  std::shared_ptr<omega::sqlite_store> auth_store
    = omega::sqlite_store::open(data_dir, err, cost);
  if (!auth_store) {
    log(0, "cannot open the data folder " + data_dir + ": " + err);
    return 1;
  }
  demo_ugis demo;
  if (vm.count("demo")) {
    demo = demo_games(*auth_store);
    if (demo.standard.empty())
      log(1, "--demo: the data folder already has games; no demo game made");
  }
  std::shared_ptr<omega::sqlite_store> dir_store = open_store();
  if (!dir_store)
    return 1;

  // -- actors ----------------------------------------------------------------
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", caf_threads);
  if (io_threads == 0) {
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
  cfg.set("logger.verbosity", caf::atom("quiet"));
  for (auto& kv : caf_settings) {
    auto eq = kv.find('=');
    auto val = eq == std::string::npos
                 ? caf::expected<caf::config_value>{caf::sec::invalid_argument}
                 : caf::config_value::parse(kv.substr(eq + 1));
    if (!val) {
      std::cerr << "omega: --caf-set needs KEY=VALUE, got " << kv << "\n";
      return 2;
    }
    cfg.set(kv.substr(0, eq), std::move(*val));
  }
  if (clustered) {
    cfg.load<caf::io::middleman>();
    auto ms = [](double seconds) {
      return caf::timespan{
        std::chrono::milliseconds{static_cast<long>(seconds * 1000)}};
    };
    // CAF's heartbeats are off by default: without them a peer that stops
    // answering (SIGSTOP, a cut cable) would never be noticed.
    cfg.set("middleman.heartbeat-interval", ms(heartbeat));
    cfg.set("middleman.connection-timeout", ms(node_timeout));
    // Handles of actors on a third node arrive through a peer; connect to
    // that node directly instead of routing through the peer.
    cfg.set("middleman.enable-automatic-connections", true);
  }
  omega::add_message_types(cfg);
  caf::actor_system sys{cfg};
  omega::lobby_settings settings;
  settings.claim_timeout
    = std::chrono::milliseconds{static_cast<long>(claim_timeout * 1000)};
  auto auth = sys.spawn(omega::auth,
                        std::shared_ptr<omega::auth_store>{auth_store},
                        omega::clock_function{},
                        caf::timespan{std::chrono::seconds{1}});
  auto dir = sys.spawn(omega::directory,
                       std::shared_ptr<omega::auth_store>{dir_store}, settings);
  auth_store.reset();
  dir_store.reset();
  omega::node_actor node;
  if (clustered) {
    omega::node_card card;
    card.name = node_name;
    card.directory = caf::actor_cast<caf::actor>(dir);
    card.auth = caf::actor_cast<caf::actor>(auth);
    auto mm = sys.middleman().actor_handle();
    auto log_fn = [](const std::string& msg) { log(2, msg); };
    if (card.name.empty())
      card.name = cluster_host + ":" + std::to_string(cluster_port);
    node = sys.spawn(omega::node, card, seeds, mm,
                     caf::timespan{std::chrono::seconds{1}}, log_fn);
    auto published = sys.middleman().publish(node, cluster_port,
                                             cluster_host.c_str(), true);
    if (!published) {
      log(0, "cannot open the cluster port " + cluster_listen + ": "
               + sys.render(published.error()));
      anon_send_exit(node, caf::exit_reason::user_shutdown);
      anon_send_exit(dir, caf::exit_reason::user_shutdown);
      anon_send_exit(auth, caf::exit_reason::user_shutdown);
      return 1;
    }
    log(2, "cluster node " + card.name + " listening on " + cluster_host + ":"
             + std::to_string(*published));
  }

  // -- gateway
  // -----------------------------------------------------------------
  gc.io_threads = io_threads;
  gc.max_frame = max_frame;
  gc.idle_timeout
    = std::chrono::milliseconds{static_cast<long>(idle_timeout * 1000)};
  gc.allowed_origins = origins;
  gc.token_lifetime = std::chrono::seconds{token_lifetime};
  gc.limits.max_peers = max_peers;
  auto gw = std::make_unique<omega::gateway>(sys, gc, auth, dir, open_store);
  auto port = gw->start(err);
  if (port == 0) {
    log(0, err);
    if (node)
      anon_send_exit(node, caf::exit_reason::user_shutdown);
    anon_send_exit(dir, caf::exit_reason::user_shutdown);
    anon_send_exit(auth, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto host = gc.address.find(':') != std::string::npos ? "[" + gc.address + "]"
                                                        : gc.address;
  log(2, "listening on " + host + ":" + std::to_string(port) + " (data in "
           + data_dir + ")");
#ifdef OMEGA_MIMALLOC
  // Also keeps the linker (with --as-needed) from dropping the library.
  log(3, "malloc: mimalloc " + std::to_string(mi_version()));
#endif
  if (!demo.standard.empty()) {
    auto url = "ws://" + host + ":" + std::to_string(port)
               + "/api/v0/signaling?ugi=";
    std::cout << "omega: demo game ready. Signaling URL:\n  " << url
              << demo.standard << '\n';
    if (!demo.cl5.empty())
      std::cout << "CL5 demo game (profile cl5, for the CL5 TurboWarp "
                   "extensions). Signaling URL:\n  "
                << url << demo.cl5 << "\n  UGI for the extensions' "
                << "\"set UGI\" block: " << demo.cl5 << '\n';
    std::cout << "Register:  curl -X POST http://" << host << ":" << port
              << "/api/v0/register -d "
                 "'{\"username\":\"alice\",\"email\":\"alice@example.com\","
                 "\"password\":\"password123\"}'\n"
              << "Log in:    curl -X POST http://" << host << ":" << port
              << "/api/v0/login -d "
                 "'{\"email\":\"alice@example.com\",\"password\":"
                 "\"password123\"}'\n"
              << "then send {\"opcode\":\"INIT\",\"payload\":\"<token>\"} "
                 "on the WebSocket."
              << std::endl;
  }

  // -- run until SIGINT or SIGTERM
  // -----------------------------------------------
  int sig = 0;
  sigwait(&signals, &sig);
  log(2, std::string{"received "} + (sig == SIGINT ? "SIGINT" : "SIGTERM")
           + ", shutting down");
  // Never hang: if an orderly shutdown stalls, leave anyway.
  std::thread watchdog{[] {
    std::this_thread::sleep_for(std::chrono::seconds{10});
    log(0, "shutdown took too long; exiting");
    std::_Exit(1);
  }};
  watchdog.detach();
  gw->stop(std::chrono::seconds{2});
  gw.reset();
  if (node) {
    // Published actors live until told to exit. The pause lets the goodbye
    // reach the peers, which then see this node leave at once instead of
    // after their heartbeat timeout.
    anon_send_exit(node, caf::exit_reason::user_shutdown);
    node = nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  anon_send_exit(dir, caf::exit_reason::user_shutdown);
  anon_send_exit(auth, caf::exit_reason::user_shutdown);
  dir = nullptr;
  auth = nullptr;
  sys.await_all_actors_done();
  log(2, "stopped");
  return 0;
}
