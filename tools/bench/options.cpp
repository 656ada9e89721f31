#include "tools/bench/options.hpp"

#include <type_traits>

namespace omega::bench {

const char* const usage_text
  = "usage: omega-bench --target omega|plain|peerjs --port P --scenario "
    "relay|handshake|idle [options]\n"
    "\n"
    "connection:\n"
    "  --host ADDR          server address (default 127.0.0.1)\n"
    "  --port P             server port (required)\n"
    "  --peer-port P        port the peers connect to (default --port): with\n"
    "                       two cluster nodes, hosts and peers on different\n"
    "                       nodes\n"
    "  --ugi UGI            game of the omega signaling URL (omega)\n"
    "  --tokens FILE        omega-admin `user add-many` output (omega); one\n"
    "                       account per connection, used in file order\n"
    "  --threads N          client I/O threads (default 1)\n"
    "  --connect-parallel N connects in flight at once (default 128)\n"
    "  --server-pid PID     server process for CPU and RSS readings\n"
    "  --peer-server-pid PID the --peer-port node: its CPU is added to the\n"
    "                       server CPU\n"
    "\n"
    "scenarios (all bounded by --duration and/or counts):\n"
    "  relay      --lobbies H --peers P --inflight W --payload-bytes B\n"
    "             --rate R (total msgs/s; 0 = W in flight per pair)\n"
    "  handshake  --count N (0 = until --duration) --concurrency C\n"
    "  idle       --connections N --settle SECONDS\n"
    "\n"
    "timing:\n"
    "  --duration SECONDS   measured window (default 10)\n"
    "  --warmup SECONDS     before the window, not measured (default 1)\n"
    "  --setup-timeout S    limit for connecting and lobby setup (default "
    "60)\n"
    "  --verbose            log progress on stderr\n";

const char* target_name(target_kind x) {
  switch (x) {
    case target_kind::omega:
      return "omega";
    case target_kind::plain:
      return "plain";
    default:
      return "peerjs";
  }
}

const char* scenario_name(scenario_kind x) {
  switch (x) {
    case scenario_kind::relay:
      return "relay";
    case scenario_kind::handshake:
      return "handshake";
    default:
      return "idle";
  }
}

namespace {

template <class T>
T parse_number(const std::string& name, const std::string& value, T min,
               T max) {
  try {
    size_t used = 0;
    T result;
    if constexpr (std::is_floating_point_v<T>)
      result = static_cast<T>(std::stod(value, &used));
    else
      result = static_cast<T>(std::stoll(value, &used));
    if (used == value.size() && result >= min && result <= max)
      return result;
  } catch (...) {
    // fall through
  }
  throw usage_error{"bad value for --" + name + ": " + value};
}

target_kind parse_target(const std::string& value) {
  if (value == "omega")
    return target_kind::omega;
  if (value == "plain")
    return target_kind::plain;
  if (value == "peerjs")
    return target_kind::peerjs;
  throw usage_error{"unknown target " + value};
}

scenario_kind parse_scenario(const std::string& value) {
  if (value == "relay")
    return scenario_kind::relay;
  if (value == "handshake")
    return scenario_kind::handshake;
  if (value == "idle")
    return scenario_kind::idle;
  throw usage_error{"unknown scenario " + value};
}

/// Stores the value of option `--name` in `o`, within the option's bounds.
void set_option(options& o, const std::string& name, const std::string& value) {
  constexpr auto big = size_t{1} << 40;
  if (name == "target") {
    o.target = parse_target(value);
  } else if (name == "scenario") {
    o.scenario = parse_scenario(value);
  } else if (name == "host") {
    o.host = value;
  } else if (name == "port") {
    o.port = parse_number<uint16_t>(name, value, 1, 65535);
  } else if (name == "peer-port") {
    o.peer_port = parse_number<uint16_t>(name, value, 1, 65535);
  } else if (name == "ugi") {
    o.ugi = value;
  } else if (name == "tokens") {
    o.tokens_file = value;
  } else if (name == "threads") {
    o.threads = parse_number<size_t>(name, value, 1, 64);
  } else if (name == "connect-parallel") {
    o.connect_parallel = parse_number<size_t>(name, value, 1, 100000);
  } else if (name == "peer-server-pid") {
    o.peer_server_pid = parse_number<int>(name, value, 1, 1 << 30);
  } else if (name == "server-pid") {
    o.server_pid = parse_number<int>(name, value, 1, 1 << 30);
  } else if (name == "duration") {
    o.duration = parse_number<double>(name, value, 0.01, 86400);
  } else if (name == "warmup") {
    o.warmup = parse_number<double>(name, value, 0, 3600);
  } else if (name == "setup-timeout") {
    o.setup_timeout = parse_number<double>(name, value, 0.1, 3600);
  } else if (name == "lobbies") {
    o.lobbies = parse_number<size_t>(name, value, 1, 1000000);
  } else if (name == "peers") {
    o.peers = parse_number<size_t>(name, value, 1, 10000);
  } else if (name == "inflight") {
    o.inflight = parse_number<size_t>(name, value, 1, 10000);
  } else if (name == "payload-bytes") {
    o.payload_bytes = parse_number<size_t>(name, value, 0, 60000);
  } else if (name == "rate") {
    o.rate = parse_number<double>(name, value, 0, 1e9);
  } else if (name == "count") {
    o.count = parse_number<size_t>(name, value, 0, big);
  } else if (name == "concurrency") {
    o.concurrency = parse_number<size_t>(name, value, 1, 100000);
  } else if (name == "connections") {
    o.connections = parse_number<size_t>(name, value, 1, 10000000);
  } else if (name == "settle") {
    o.settle = parse_number<double>(name, value, 0, 600);
  } else {
    throw usage_error{"unknown option --" + name};
  }
}

/// Rejects a command line that lacks what its target needs.
void check_required(const options& o) {
  // --port accepts 1..65535 only, so 0 means it was not given.
  if (o.port == 0)
    throw usage_error{"--port is required"};
  if (o.target == target_kind::omega && o.ugi.empty())
    throw usage_error{"--target omega needs --ugi"};
  if (o.target == target_kind::omega && o.tokens_file.empty())
    throw usage_error{"--target omega needs --tokens"};
}

} // namespace

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h")
      throw usage_error{};
    if (arg == "--verbose") {
      o.verbose = true;
      continue;
    }
    if (arg.compare(0, 2, "--") != 0)
      throw usage_error{"unexpected argument " + arg};
    // Both `--name value` and `--name=value`.
    auto name = arg.substr(2);
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw usage_error{"--" + name + " needs a value"};
    }
    set_option(o, name, value);
  }
  check_required(o);
  return o;
}

} // namespace omega::bench
