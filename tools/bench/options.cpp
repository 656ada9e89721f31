#include "tools/bench/options.hpp"

#include <functional>
#include <map>
#include <type_traits>
#include <vector>

#include "tools/command_line.hpp"

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
    "  --tls                WebSocket over TLS (wss://), TLS 1.2 or newer\n"
    "  --tls-ca FILE        with --tls: PEM certificates the server's must\n"
    "                       chain to, for --host (default: not checked)\n"
    "  --threads N          client I/O threads (default 1)\n"
    "  --connect-parallel N connects in flight at once (default 128)\n"
    "  --server-pid PID     server process for CPU and RSS readings\n"
    "  --peer-server-pid PID the --peer-port node: its CPU is added to the\n"
    "                       server CPU\n"
    "\n"
    "scenarios (all bounded by --duration and/or counts):\n"
    "  relay      --lobbies H --peers P --inflight W --payload-bytes B\n"
    "             --rate R (total msgs/s, open loop: each message is\n"
    "             stamped with its scheduled send time; 0 = W in flight\n"
    "             per pair) --late-us U (a paced send more than U us\n"
    "             after its time counts as late; default 1000)\n"
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

namespace po = boost::program_options;
namespace cmdl = omega::command_line;

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

/// Stores the value of one option in `o`; throws `usage_error` for a value
/// out of the option's bounds.
using setter = std::function<void(options& o, const std::string& name,
                                  const std::string& value)>;

template <class T>
setter number(T options::*field, T min, T max) {
  return [=](options& o, const std::string& name, const std::string& value) {
    o.*field = parse_number<T>(name, value, min, max);
  };
}

setter text(std::string options::*field) {
  return [=](options& o, const std::string&, const std::string& value) {
    o.*field = value;
  };
}

/// The options that take a value, with their bounds.
const std::map<std::string, setter>& value_options() {
  constexpr auto big = size_t{1} << 40;
  static const std::map<std::string, setter> result{
    {"target",
     [](options& o, const std::string&, const std::string& value) {
       o.target = parse_target(value);
     }},
    {"scenario",
     [](options& o, const std::string&, const std::string& value) {
       o.scenario = parse_scenario(value);
     }},
    {"host", text(&options::host)},
    {"port", number<uint16_t>(&options::port, 1, 65535)},
    {"peer-port", number<uint16_t>(&options::peer_port, 1, 65535)},
    {"ugi", text(&options::ugi)},
    {"tokens", text(&options::tokens_file)},
    {"tls-ca", text(&options::tls_ca)},
    {"threads", number<size_t>(&options::threads, 1, 64)},
    {"connect-parallel", number<size_t>(&options::connect_parallel, 1, 100000)},
    {"peer-server-pid", number<int>(&options::peer_server_pid, 1, 1 << 30)},
    {"server-pid", number<int>(&options::server_pid, 1, 1 << 30)},
    {"duration", number<double>(&options::duration, 0.01, 86400)},
    {"warmup", number<double>(&options::warmup, 0, 3600)},
    {"setup-timeout", number<double>(&options::setup_timeout, 0.1, 3600)},
    {"lobbies", number<size_t>(&options::lobbies, 1, 1000000)},
    {"peers", number<size_t>(&options::peers, 1, 10000)},
    {"inflight", number<size_t>(&options::inflight, 1, 10000)},
    {"payload-bytes", number<size_t>(&options::payload_bytes, 0, 60000)},
    {"rate", number<double>(&options::rate, 0, 1e9)},
    {"late-us", number<double>(&options::late_us, 1, 1e9)},
    {"count", number<size_t>(&options::count, 0, big)},
    {"concurrency", number<size_t>(&options::concurrency, 1, 100000)},
    {"connections", number<size_t>(&options::connections, 1, 10000000)},
    {"settle", number<double>(&options::settle, 0, 600)},
  };
  return result;
}

po::options_description describe() {
  po::options_description opts;
  auto add = opts.add_options();
  add("help", "");
  add("verbose", "");
  add("tls", "");
  for (auto& entry : value_options())
    add(entry.first.c_str(), po::value<std::string>(), "");
  return opts;
}

/// Splits the command line into options in their order. Unknown options and
/// stray words stay in it, so that `apply` reports the first problem, as the
/// options come.
std::vector<po::option> split(int argc, char** argv) {
  auto opts = describe();
  try {
    return cmdl::parser(argc, argv, opts, false)
      .allow_unregistered()
      .run()
      .options;
  } catch (const po::error_with_option_name& e) {
    if (cmdl::is_missing_value(e))
      throw usage_error{"--" + cmdl::option_name(e) + " needs a value"};
    // `--verbose=x`: the flags are no options that take a value.
    throw usage_error{"unknown option --" + cmdl::option_name(e)};
  }
}

/// Stores one option in `o`; a later one wins over an earlier one.
void apply(options& o, const po::option& opt) {
  if (opt.position_key != -1)
    throw usage_error{"unexpected argument " + opt.original_tokens.front()};
  if (opt.unregistered)
    throw usage_error{"unknown option --" + opt.string_key};
  if (opt.string_key == "help")
    throw usage_error{};
  if (opt.string_key == "verbose")
    o.verbose = true;
  else if (opt.string_key == "tls")
    o.tls = true;
  else
    value_options().at(opt.string_key)(o, opt.string_key, opt.value.front());
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
  if (!o.tls_ca.empty() && !o.tls)
    throw usage_error{"--tls-ca needs --tls"};
}

} // namespace

options parse_options(int argc, char** argv) {
  options o;
  for (auto& opt : split(argc, argv))
    apply(o, opt);
  check_required(o);
  return o;
}

} // namespace omega::bench
