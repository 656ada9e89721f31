/// omega-bench: the load generator of the benchmark. It drives omega-server
/// and two reference servers over real WebSocket connections from one
/// process: plain-relay (the Beast plumbing limit, no actors, no JSON) and the
/// PeerJS server (npm `peer`), so that omega's numbers come with a floor and a
/// popular competitor measured by the same client on the same machine.
///
/// Many connections share few threads (one io_context, asynchronous Beast),
/// so the client costs little CPU per message and can be pinned to one core
/// next to a server pinned to another. Every scenario prints one `RESULT`
/// line of key=value pairs for scripts (scripts/bench.sh) and a short
/// human-readable summary on stderr.

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "transport/client_codec.hpp"
#include "transport/json_codec.hpp"

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using strand_type = net::strand<net::io_context::executor_type>;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

/// Send timestamps travel inside payloads as steady_clock nanoseconds; the
/// recipient runs in this process, so both ends read the same clock.
int64_t now_ns() {
  return std::chrono::duration_cast<nanoseconds>(
           steady_clock::now().time_since_epoch())
    .count();
}

// -- options ------------------------------------------------------------------

constexpr const char* usage_text
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

enum class target_kind { omega, plain, peerjs };

enum class scenario_kind { relay, handshake, idle };

struct options {
  target_kind target = target_kind::omega;
  scenario_kind scenario = scenario_kind::relay;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  uint16_t peer_port = 0;
  std::string ugi;
  std::string tokens_file;
  size_t threads = 1;
  size_t connect_parallel = 128;
  int server_pid = 0;
  int peer_server_pid = 0;
  double duration = 10;
  double warmup = 1;
  double setup_timeout = 60;
  size_t lobbies = 10;
  size_t peers = 1;
  size_t inflight = 4;
  size_t payload_bytes = 1024;
  double rate = 0;
  size_t count = 0;
  size_t concurrency = 1;
  size_t connections = 100;
  double settle = 1;
  bool verbose = false;
};

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

/// Thrown for a bad command line; main prints it with the usage and exits 2.
struct usage_error {
  std::string what;
};

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

options parse_options(int argc, char** argv) {
  options o;
  bool have_port = false;
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
    constexpr auto big = size_t{1} << 40;
    if (name == "target") {
      if (value == "omega")
        o.target = target_kind::omega;
      else if (value == "plain")
        o.target = target_kind::plain;
      else if (value == "peerjs")
        o.target = target_kind::peerjs;
      else
        throw usage_error{"unknown target " + value};
    } else if (name == "scenario") {
      if (value == "relay")
        o.scenario = scenario_kind::relay;
      else if (value == "handshake")
        o.scenario = scenario_kind::handshake;
      else if (value == "idle")
        o.scenario = scenario_kind::idle;
      else
        throw usage_error{"unknown scenario " + value};
    } else if (name == "host") {
      o.host = value;
    } else if (name == "port") {
      o.port = parse_number<uint16_t>(name, value, 1, 65535);
      have_port = true;
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
  if (!have_port)
    throw usage_error{"--port is required"};
  if (o.target == target_kind::omega && o.ugi.empty())
    throw usage_error{"--target omega needs --ugi"};
  if (o.target == target_kind::omega && o.tokens_file.empty())
    throw usage_error{"--target omega needs --tokens"};
  return o;
}

/// Reads session tokens: the third column of `ID<TAB>USER<TAB>TOKEN` lines,
/// or whole lines for a file of bare tokens.
std::vector<std::string> read_tokens(const std::string& path,
                                     std::string& err) {
  std::vector<std::string> result;
  std::ifstream in{path};
  if (!in) {
    err = "cannot read " + path;
    return result;
  }
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (line.empty())
      continue;
    auto tab = line.rfind('\t');
    result.push_back(tab == std::string::npos ? line : line.substr(tab + 1));
  }
  return result;
}

// -- process readings ---------------------------------------------------------

/// CPU seconds (user + system, all threads) of `pid` from /proc/PID/stat, or
/// -1 if unreadable.
double process_cpu_seconds(int pid) {
  if (pid <= 0)
    return -1;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string all;
  if (!in || !std::getline(in, all))
    return -1;
  // The command name is in parentheses and may hold spaces: skip past it.
  auto paren = all.rfind(')');
  if (paren == std::string::npos)
    return -1;
  std::istringstream fields{all.substr(paren + 1)};
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After ")": state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14)
      utime = std::strtoull(field.c_str(), nullptr, 10);
    else if (i == 15)
      stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime)
         / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// The CPU seconds of one server, or of two cluster nodes together.
double servers_cpu_seconds(int pid, int pid2) {
  auto first = process_cpu_seconds(pid);
  if (pid2 <= 0 || first < 0)
    return first;
  auto second = process_cpu_seconds(pid2);
  return second < 0 ? -1 : first + second;
}

/// Resident set size of `pid` in KiB from /proc/PID/status, or -1.
long process_rss_kb(int pid) {
  if (pid <= 0)
    return -1;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, 6, "VmRSS:") == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

/// This process's CPU seconds (user + system).
double self_cpu_seconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& x) {
    return static_cast<double>(x.tv_sec) + x.tv_usec / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// -- histogram ----------------------------------------------------------------

/// A log-linear latency histogram in nanoseconds, HdrHistogram-style: 128
/// linear sub-buckets per power of two keep the relative error below 0.8%
/// with a fixed 58 KB of counters, however long a run lasts. The counters
/// are atomic because connections on different threads record into one.
class histogram {
public:
  static constexpr int sub_bits = 7;
  static constexpr uint64_t sub_count = uint64_t{1} << sub_bits;
  static constexpr size_t bucket_count = (64 - sub_bits + 1) * sub_count;

  histogram() {
    reset();
  }

  void reset() {
    for (auto& x : counts_)
      x.store(0, std::memory_order_relaxed);
    total_.store(0, std::memory_order_relaxed);
    max_.store(0, std::memory_order_relaxed);
  }

  void record(int64_t ns) {
    auto v = static_cast<uint64_t>(std::max<int64_t>(ns, 0));
    counts_[index(v)].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    auto m = max_.load(std::memory_order_relaxed);
    while (v > m
           && !max_.compare_exchange_weak(m, v, std::memory_order_relaxed))
      ; // retry
  }

  uint64_t count() const {
    return total_.load(std::memory_order_relaxed);
  }

  /// The `p`-th percentile (0..100) in microseconds; 0 when empty.
  double percentile_us(double p) const {
    auto total = count();
    if (total == 0)
      return 0;
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * total));
    rank = std::clamp<uint64_t>(rank, 1, total);
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i].load(std::memory_order_relaxed);
      if (seen >= rank) {
        auto mid = (lower(i) + upper(i)) / 2;
        return static_cast<double>(std::min(mid, max_ns())) / 1e3;
      }
    }
    return static_cast<double>(max_ns()) / 1e3;
  }

  double max_us() const {
    return static_cast<double>(max_ns()) / 1e3;
  }

private:
  uint64_t max_ns() const {
    return max_.load(std::memory_order_relaxed);
  }

  static size_t index(uint64_t v) {
    if (v < 2 * sub_count)
      return static_cast<size_t>(v);
    auto msb = 63 - __builtin_clzll(v);
    auto shift = msb - sub_bits;
    return static_cast<size_t>((shift + 1) * sub_count + (v >> shift)
                               - sub_count);
  }

  static uint64_t lower(size_t i) {
    if (i < 2 * sub_count)
      return i;
    auto shift = i / sub_count - 1;
    return (i % sub_count + sub_count) << shift;
  }

  static uint64_t upper(size_t i) {
    if (i < 2 * sub_count)
      return i;
    auto shift = i / sub_count - 1;
    return lower(i) + (uint64_t{1} << shift) - 1;
  }

  std::array<std::atomic<uint64_t>, bucket_count> counts_;
  std::atomic<uint64_t> total_;
  std::atomic<uint64_t> max_;
};

// -- wire formats of the three targets ----------------------------------------

/// The three relayed message kinds; PeerJS calls ICE `CANDIDATE`.
enum class msg_kind : uint8_t { offer, answer, ice };

/// What a received frame means to a scenario, whatever the target.
enum class in_type {
  ready,    // omega INIT_OK, PeerJS OPEN
  ack_host, // omega ACK_HOST
  ack_peer, // omega ACK_PEER (src = host id)
  new_peer, // omega NEW_PEER (src = peer id)
  ack,      // omega RELAY_OK, plain "ok"
  delivery, // a relayed message (src = sender, sent_ns = its timestamp)
  gone,     // omega LOBBY_CLOSE, HOST_GONE, PEER_GONE (src = lobby or member
            // id, text = opcode): fatal when it concerns the client's lobby
  ignore,   // notifications scenarios do not care about
  error,    // anything unexpected (text says what)
};

/// One classified frame. `src` views either the frame or `storage`, so an
/// `incoming` is used in place and never copied.
struct incoming {
  in_type type = in_type::ignore;
  msg_kind kind = msg_kind::offer;
  std::string_view src;
  int64_t sent_ns = 0;
  std::string storage;
  std::string text;
};

bool starts_with(std::string_view x, std::string_view prefix) {
  return x.size() >= prefix.size() && x.compare(0, prefix.size(), prefix) == 0;
}

/// The string value that starts at `pos` and ends at the next quote. Ids and
/// opcodes never contain escapes, so no unescaping is needed.
std::string_view quoted_at(std::string_view x, size_t pos) {
  if (pos > x.size())
    return {};
  auto end = x.find('"', pos);
  if (end == std::string_view::npos)
    return {};
  return x.substr(pos, end - pos);
}

/// Reads the integer after the first `"t":` at or after `from`; our payloads
/// carry their send timestamp under that key.
bool timestamp_in(std::string_view x, size_t from, int64_t& out) {
  auto pos = x.find(R"("t":)", from);
  if (pos == std::string_view::npos)
    return false;
  pos += 4;
  int64_t v = 0;
  size_t digits = 0;
  for (; pos < x.size() && x[pos] >= '0' && x[pos] <= '9'; ++pos, ++digits)
    v = v * 10 + (x[pos] - '0');
  if (digits == 0)
    return false;
  out = v;
  return true;
}

std::string excerpt(std::string_view x) {
  return std::string{x.substr(0, 160)} + (x.size() > 160 ? "..." : "");
}

void set_error(incoming& in, std::string text) {
  in.type = in_type::error;
  in.text = std::move(text);
}

/// Slow path for omega frames: the codec's client-side decoder. It handles
/// setup replies, notifications and anything the fast path did not expect.
struct omega_visitor {
  incoming& in;

  void operator()(omega::evt::init_ok& x) {
    in.type = in_type::ready;
    in.storage = std::move(x.id);
    in.src = in.storage;
  }

  void operator()(omega::evt::ack_host&) {
    in.type = in_type::ack_host;
  }

  void operator()(omega::evt::ack_peer& x) {
    in.type = in_type::ack_peer;
    in.storage = std::move(x.id);
    in.src = in.storage;
  }

  void operator()(omega::evt::new_peer& x) {
    in.type = in_type::new_peer;
    in.storage = std::move(x.id);
    in.src = in.storage;
  }

  void operator()(omega::evt::relay_ok&) {
    in.type = in_type::ack;
  }

  void operator()(omega::evt::relayed& x) {
    in.type = in_type::delivery;
    in.kind = x.op == omega::opcode::make_offer    ? msg_kind::offer
              : x.op == omega::opcode::make_answer ? msg_kind::answer
                                                   : msg_kind::ice;
    if (!timestamp_in(x.payload, 0, in.sent_ns))
      return set_error(in, "relayed payload without timestamp: "
                             + excerpt(x.payload));
    in.storage = std::move(x.origin);
    in.src = in.storage;
  }

  void gone(std::string what, std::string opcode) {
    in.type = in_type::gone;
    in.storage = std::move(what);
    in.src = in.storage;
    in.text = std::move(opcode);
  }

  void operator()(omega::evt::lobby_close& x) {
    gone(std::move(x.lobby_id), "LOBBY_CLOSE");
  }

  void operator()(omega::evt::host_gone& x) {
    gone(std::move(x.id), "HOST_GONE");
  }

  void operator()(omega::evt::peer_gone& x) {
    gone(std::move(x.id), "PEER_GONE");
  }

  void operator()(omega::evt::error_reply& x) {
    set_error(in, std::string{"error reply "} + omega::opcode_name(x.code)
                    + (x.reason.empty() ? "" : ": " + x.reason));
  }

  void operator()(omega::evt::violation& x) {
    set_error(in, "VIOLATION: " + x.reason);
  }

  template <class T>
  void operator()(T&) {
    // NEW_HOST, KEEPALIVE, ...: not part of any measurement.
  }
};

void classify_omega(std::string_view f, incoming& in) {
  // Fast path for the hot frames, in the layout omega's encoder writes:
  // {"opcode":"RELAY_OK"} and {"opcode":"ICE","payload":{...},"origin":"..."}.
  constexpr std::string_view prefix = R"({"opcode":")";
  if (starts_with(f, prefix)) {
    auto op = quoted_at(f, prefix.size());
    if (op == "RELAY_OK" && f.size() == prefix.size() + op.size() + 2) {
      in.type = in_type::ack;
      return;
    }
    std::optional<msg_kind> kind;
    if (op == "MAKE_OFFER")
      kind = msg_kind::offer;
    else if (op == "MAKE_ANSWER")
      kind = msg_kind::answer;
    else if (op == "ICE")
      kind = msg_kind::ice;
    constexpr std::string_view origin_key = R"("origin":")";
    auto origin = f.rfind(origin_key);
    if (kind && origin != std::string_view::npos
        && timestamp_in(f.substr(0, origin), prefix.size(), in.sent_ns)) {
      in.type = in_type::delivery;
      in.kind = *kind;
      in.src = quoted_at(f, origin + origin_key.size());
      return;
    }
  }
  auto ev = omega::decode_event(f);
  if (!ev)
    return set_error(in, "undecodable frame: " + excerpt(f));
  std::visit(omega_visitor{in}, *ev);
}

/// PeerJS frames, as its server writes them with JSON.stringify:
/// {"type":"OPEN"} and {"type":"OFFER","src":"a","dst":"b","payload":{...}}.
void classify_peerjs(std::string_view f, incoming& in) {
  constexpr std::string_view prefix = R"({"type":")";
  constexpr std::string_view src_key = R"("src":")";
  std::string_view type;
  std::string_view src;
  std::string slow_text;
  size_t body = 0;
  if (starts_with(f, prefix)) {
    type = quoted_at(f, prefix.size());
    if (auto pos = f.find(src_key); pos != std::string_view::npos)
      src = quoted_at(f, pos + src_key.size());
    body = prefix.size() + type.size();
  } else {
    // Not the expected key order: parse it properly.
    error_code ec;
    auto v = json::parse(f, ec);
    auto obj = ec ? nullptr : v.if_object();
    auto t = obj ? obj->if_contains("type") : nullptr;
    if (!t || !t->is_string())
      return set_error(in, "unexpected PeerJS frame: " + excerpt(f));
    in.storage = std::string{t->as_string()} + '\n';
    if (auto s = obj->if_contains("src"); s && s->is_string())
      in.storage += std::string{s->as_string()};
    auto nl = in.storage.find('\n');
    type = std::string_view{in.storage}.substr(0, nl);
    src = std::string_view{in.storage}.substr(nl + 1);
    if (auto p = obj->if_contains("payload"))
      slow_text = json::serialize(*p);
  }
  if (type == "OPEN") {
    in.type = in_type::ready;
    return;
  }
  std::optional<msg_kind> kind;
  if (type == "OFFER")
    kind = msg_kind::offer;
  else if (type == "ANSWER")
    kind = msg_kind::answer;
  else if (type == "CANDIDATE")
    kind = msg_kind::ice;
  if (!kind)
    return set_error(in, "PeerJS " + std::string{type} + ": " + excerpt(f));
  bool stamped = slow_text.empty() ? timestamp_in(f, body, in.sent_ns)
                                   : timestamp_in(slow_text, 0, in.sent_ns);
  if (!stamped || src.empty())
    return set_error(in,
                     "PeerJS relay without src or timestamp: " + excerpt(f));
  in.type = in_type::delivery;
  in.kind = *kind;
  in.src = src;
}

/// plain-relay frames: "ok" (ack), "err ..." and "<src-id> <payload>".
void classify_plain(std::string_view f, incoming& in) {
  if (f == "ok") {
    in.type = in_type::ack;
    return;
  }
  auto space = f.find(' ');
  if (space == std::string_view::npos || starts_with(f, "err "))
    return set_error(in, "plain-relay: " + excerpt(f));
  constexpr std::string_view type_key = R"("type":")";
  auto type = f.find(type_key, space);
  if (type == std::string_view::npos || !timestamp_in(f, space, in.sent_ns))
    return set_error(in,
                     "plain relay without type or timestamp: " + excerpt(f));
  switch (f[type + type_key.size()]) {
    case 'o':
      in.kind = msg_kind::offer;
      break;
    case 'a':
      in.kind = msg_kind::answer;
      break;
    default:
      in.kind = msg_kind::ice;
  }
  in.type = in_type::delivery;
  in.src = f.substr(0, space);
}

/// Builds relay frames of one size for every target: the payload is a JSON
/// object shaped like a WebRTC signal, {"type":"offer","t":<ns>,"sdp":"x.."},
/// padded to `bytes` so that all three targets move the same bytes.
class frame_maker {
public:
  frame_maker(target_kind target, size_t bytes)
    : target_(target), bytes_(bytes) {
    filler_.assign(bytes, 'x');
  }

  std::string make(msg_kind kind, std::string_view dst, int64_t t) const {
    std::string out;
    out.reserve(bytes_ + dst.size() + 64);
    switch (target_) {
      case target_kind::omega:
        out += R"({"opcode":")";
        out += kind == msg_kind::offer    ? "MAKE_OFFER"
               : kind == msg_kind::answer ? "MAKE_ANSWER"
                                          : "ICE";
        out += R"(","payload":)";
        append_payload(out, kind, t);
        out += R"(,"recipient":")";
        out += dst;
        out += R"("})";
        break;
      case target_kind::plain:
        out += dst;
        out += ' ';
        append_payload(out, kind, t);
        break;
      case target_kind::peerjs:
        out += R"({"type":")";
        out += kind == msg_kind::offer    ? "OFFER"
               : kind == msg_kind::answer ? "ANSWER"
                                          : "CANDIDATE";
        out += R"(","dst":")";
        out += dst;
        out += R"(","payload":)";
        append_payload(out, kind, t);
        out += '}';
        break;
    }
    return out;
  }

private:
  void append_payload(std::string& out, msg_kind kind, int64_t t) const {
    auto start = out.size();
    out += R"({"type":")";
    out += kind == msg_kind::offer    ? "offer"
           : kind == msg_kind::answer ? "answer"
                                      : "candidate";
    out += R"(","t":)";
    out += std::to_string(t);
    out += R"(,"sdp":")";
    auto used = out.size() - start + 2;
    if (used < bytes_)
      out.append(filler_, 0, bytes_ - used);
    out += R"("})";
  }

  target_kind target_;
  size_t bytes_;
  std::string filler_;
};

// -- connections --------------------------------------------------------------

class client;

/// Receives everything that happens to clients. Called on the client's
/// strand; every client of one lobby (or handshake) shares a strand, so a
/// scenario touches a lobby's state from one thread at a time.
class driver {
public:
  virtual ~driver() = default;

  /// Exactly once per `client::open`: the WebSocket is up (`ok`) or it
  /// failed (`what` says why; empty when the scenario closed it first).
  virtual void on_opened(client& c, bool ok, const std::string& what) = 0;

  virtual void on_frame(client& c, std::string_view frame) = 0;

  /// The connection failed after opening, without the scenario closing it.
  virtual void on_lost(client& c, const std::string& what) = 0;

  /// Exactly once per `client::open`: the client has no operation left.
  virtual void on_end(client& c) = 0;
};

/// One WebSocket connection of the load generator: connect, handshake, a
/// read loop and a single-writer queue, all on one strand.
class client : public std::enable_shared_from_this<client> {
public:
  client(strand_type strand, driver& drv)
    : strand_(strand), ws_(strand), drv_(drv) {
    // nop
  }

  /// The bench's own name for the connection; the id for plain and PeerJS.
  std::string name;
  /// The id other clients address this one with (omega: from INIT_OK).
  std::string id;
  /// omega session token.
  std::string token;
  /// The lobby or handshake this client belongs to (scenario-defined).
  void* group = nullptr;
  /// Keeps the group alive while the client lives (handshakes).
  std::shared_ptr<void> keep;
  /// Peer index within the lobby; -1 for hosts.
  int index = -1;
  /// Connects to --peer-port instead of --port.
  bool peer_side = false;
  int64_t open_started_ns = 0;
  /// True if the open took a slot of the connect throttle.
  bool throttled = false;
  bool ready = false;
  bool configured = false;

  strand_type strand() const {
    return strand_;
  }

  /// Starts connecting. Must run on the client's strand.
  void open(const tcp::endpoint& ep, const std::string& host,
            std::string target) {
    open_started_ns = now_ns();
    host_ = host;
    target_ = std::move(target);
    auto& sock = beast::get_lowest_layer(ws_);
    sock.expires_after(std::chrono::seconds{10});
    sock.async_connect(ep, beast::bind_front_handler(&client::on_connect,
                                                     shared_from_this()));
  }

  /// Queues a text frame. Must run on the client's strand.
  void send(std::string frame) {
    if (!open_ || closing_)
      return;
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1)
      do_write();
  }

  /// Closes with a WebSocket close handshake once queued frames are out.
  /// Must run on the client's strand.
  void close() {
    if (closing_)
      return;
    closing_ = true;
    if (!open_) {
      // Still connecting: the connect or handshake completion sees
      // `closing_`; cancelling makes that happen now.
      beast::get_lowest_layer(ws_).cancel();
      return;
    }
    if (queue_.empty())
      do_close();
  }

  bool is_open() const {
    return open_ && !closing_;
  }

private:
  void on_connect(error_code ec) {
    if (ec || closing_)
      return fail_open(ec ? "connect: " + ec.message() : std::string{});
    auto& sock = beast::get_lowest_layer(ws_);
    sock.socket().set_option(tcp::no_delay{true}, ec);
    sock.expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = std::chrono::seconds{10};
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.read_message_max(1 << 20);
    ws_.auto_fragment(false);
    // Masking keys need no cryptographic strength in a load generator.
    ws_.secure_prng(false);
    ws_.async_handshake(host_, target_,
                        beast::bind_front_handler(&client::on_handshake,
                                                  shared_from_this()));
  }

  void on_handshake(error_code ec) {
    if (ec || closing_) {
      beast::get_lowest_layer(ws_).close();
      return fail_open(ec ? "handshake: " + ec.message() : std::string{});
    }
    open_ = true;
    ws_.text(true);
    do_read();
    drv_.on_opened(*this, true, {});
  }

  void fail_open(const std::string& what) {
    drv_.on_opened(*this, false, what);
    drv_.on_end(*this);
    keep.reset(); // as at the end of the read loop
  }

  void do_read() {
    ws_.async_read(buf_, beast::bind_front_handler(&client::on_read,
                                                   shared_from_this()));
  }

  void on_read(error_code ec, size_t) {
    if (ec) {
      open_ = false;
      // A write may still be in flight on `queue_.front()`: leave the queue.
      if (!closing_)
        drv_.on_lost(*this, "read: " + ec.message());
      drv_.on_end(*this);
      // The client is over: drop its group, which refers back to it (a
      // handshake holds both its clients), so neither outlives the run.
      keep.reset();
      return;
    }
    auto data = buf_.cdata();
    if (!closing_)
      drv_.on_frame(*this,
                    std::string_view{static_cast<const char*>(data.data()),
                                     data.size()});
    buf_.consume(buf_.size());
    do_read();
  }

  void do_write() {
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&client::on_write,
                                              shared_from_this()));
  }

  void on_write(error_code ec, size_t) {
    if (ec) {
      // The read loop reports the failure.
      queue_.clear();
      return;
    }
    queue_.pop_front();
    if (!queue_.empty())
      do_write();
    else if (closing_ && open_)
      do_close();
  }

  void do_close() {
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](error_code) {
                      // The pending read ends the client.
                    });
  }

  strand_type strand_;
  websocket::stream<beast::tcp_stream> ws_;
  driver& drv_;
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  std::string host_;
  std::string target_;
  bool open_ = false;
  bool closing_ = false;
};

// -- the measured window ------------------------------------------------------

/// Start and end readings of one measured window: wall time, the server's
/// CPU seconds (all its threads) and the client's own.
struct window {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  double server_cpu0 = -1;
  double server_cpu1 = -1;
  double client_cpu0 = 0;
  double client_cpu1 = 0;

  void begin(int pid, int pid2 = 0) {
    start_ns = now_ns();
    server_cpu0 = servers_cpu_seconds(pid, pid2);
    client_cpu0 = self_cpu_seconds();
  }

  void end(int pid, int pid2 = 0) {
    end_ns = now_ns();
    server_cpu1 = servers_cpu_seconds(pid, pid2);
    client_cpu1 = self_cpu_seconds();
  }

  bool started() const {
    return start_ns != 0;
  }

  double seconds() const {
    return end_ns > start_ns ? (end_ns - start_ns) / 1e9 : 0;
  }

  /// -1 when the server's CPU is unknown (no --server-pid).
  double server_cpu() const {
    return server_cpu0 >= 0 && server_cpu1 >= 0 ? server_cpu1 - server_cpu0
                                                : -1;
  }

  double client_cpu() const {
    return client_cpu1 - client_cpu0;
  }
};

/// Formats a number for the RESULT line: fixed decimals, "na" if negative.
std::string num(double x, int decimals = 1) {
  if (x < 0 || !std::isfinite(x))
    return "na";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, x);
  return buf;
}

/// x per CPU-second, or -1 when the CPU time is unknown or zero.
double per_cpu(double x, double cpu) {
  return cpu > 0 ? x / cpu : -1;
}

// -- scenario base ------------------------------------------------------------

/// What every scenario shares: the io_context and its threads, the control
/// strand for timers, connect throttling, error accounting, the hard
/// deadline and an orderly end.
class bench : public driver {
public:
  explicit bench(const options& opts)
    : opts_(opts),
      control_(net::make_strand(ioc_)),
      deadline_(control_),
      maker_(opts.target, opts.payload_bytes) {
    std::random_device rd;
    nonce_ = std::to_string(rd() % 1000000);
  }

  /// Runs the scenario to its end and returns the exit status.
  int run() {
    error_code ec;
    auto addr = net::ip::make_address(opts_.host, ec);
    if (ec) {
      std::cerr << "omega-bench: bad --host " << opts_.host << "\n";
      return 2;
    }
    endpoint_ = tcp::endpoint{addr, opts_.port};
    host_header_ = opts_.host + ":" + std::to_string(opts_.port);
    auto pport = opts_.peer_port != 0 ? opts_.peer_port : opts_.port;
    peer_endpoint_ = tcp::endpoint{addr, pport};
    peer_host_header_ = opts_.host + ":" + std::to_string(pport);
    if (opts_.target == target_kind::omega) {
      std::string err;
      tokens_ = read_tokens(opts_.tokens_file, err);
      if (!err.empty()) {
        std::cerr << "omega-bench: " << err << "\n";
        return 2;
      }
    }
    // Nothing may run forever: whatever happens, stop after this long.
    auto limit = opts_.setup_timeout + opts_.warmup + opts_.duration + 30;
    deadline_.expires_after(milliseconds{static_cast<int64_t>(limit * 1000)});
    deadline_.async_wait([this](error_code ec) {
      if (ec)
        return;
      error("hard deadline reached; stopping");
      ioc_.stop();
    });
    net::post(control_, [this] { start(); });
    std::vector<std::thread> threads;
    for (size_t i = 1; i < opts_.threads; ++i)
      threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : threads)
      t.join();
    return report();
  }

  // -- driver
  // ------------------------------------------------------------------

  void on_opened(client& c, bool ok, const std::string& what) override {
    if (c.throttled)
      release_connect_slot();
    if (!ok) {
      if (!what.empty() && !finishing_)
        error(c.name + ": " + what);
      opened_failed(c);
      return;
    }
    opened(c);
  }

  void on_lost(client& c, const std::string& what) override {
    if (!finishing_)
      error(c.name + ": connection lost (" + what + ")");
    lost(c);
  }

  void on_end(client&) override {
    if (live_.fetch_sub(1) == 1 && finishing_)
      net::post(control_, [this] { ioc_.stop(); });
  }

protected:
  virtual void start() = 0;

  virtual int report() = 0;

  virtual void opened(client& c) = 0;

  virtual void opened_failed(client&) {
    // nop
  }

  virtual void lost(client&) {
    // nop
  }

  /// Counts an error and prints the first few, so a broken run explains
  /// itself without flooding the terminal.
  /// Also tallies errors by kind (the text after the client's name), so the
  /// summary says what went wrong even when thousands of errors occurred.
  void error(const std::string& what) {
    auto n = errors_.fetch_add(1) + 1;
    std::lock_guard<std::mutex> guard{print_mtx_};
    auto colon = what.find(": ");
    ++error_kinds_[colon == std::string::npos ? what : what.substr(colon + 2)];
    if (n <= 20)
      std::cerr << "omega-bench: error: " << what << "\n";
    else if (n == 21)
      std::cerr << "omega-bench: (further errors are counted, not printed)\n";
  }

  void log(const std::string& what) {
    if (!opts_.verbose)
      return;
    std::lock_guard<std::mutex> guard{print_mtx_};
    std::cerr << "omega-bench: " << what << "\n";
  }

  /// The WebSocket path for a client; `name` is its id for plain and PeerJS.
  std::string path_for(const client& c) const {
    switch (opts_.target) {
      case target_kind::omega:
        return "/api/v0/signaling?ugi=" + opts_.ugi;
      case target_kind::plain:
        return "/?id=" + c.name;
      default:
        // PeerJS's token is the client's reconnect secret: any random value.
        return "/peerjs?key=peerjs&id=" + c.name + "&token=t" + nonce_ + c.name;
    }
  }

  std::shared_ptr<client> make_client(strand_type strand, std::string name) {
    auto c = std::make_shared<client>(std::move(strand), *this);
    c->name = std::move(name);
    return c;
  }

  /// Opens `c`, waiting for a free slot when `connect_parallel` connects are
  /// in flight: a burst of thousands of SYNs would overflow the server's
  /// accept backlog and turn into one-second retransmits.
  void open_throttled(const std::shared_ptr<client>& c) {
    live_.fetch_add(1);
    c->throttled = true;
    std::function<void()> fn = [this, c] {
      net::dispatch(c->strand(), [this, c] { open_at(*c); });
    };
    {
      std::lock_guard<std::mutex> guard{gate_mtx_};
      if (connecting_ >= opts_.connect_parallel) {
        pending_.push_back(std::move(fn));
        return;
      }
      ++connecting_;
    }
    fn();
  }

  /// Opens `c` at once (handshakes bound their own concurrency). Must run
  /// on `c`'s strand.
  void open_now(const std::shared_ptr<client>& c) {
    live_.fetch_add(1);
    open_at(*c);
  }

  void open_at(client& c) {
    if (c.peer_side)
      c.open(peer_endpoint_, peer_host_header_, path_for(c));
    else
      c.open(endpoint_, host_header_, path_for(c));
  }

  void release_connect_slot() {
    std::function<void()> next;
    {
      std::lock_guard<std::mutex> guard{gate_mtx_};
      if (pending_.empty()) {
        --connecting_;
        return;
      }
      next = std::move(pending_.front());
      pending_.pop_front();
    }
    next();
  }

  /// Sends INIT with the client's token (omega).
  void send_init(client& c) {
    c.send(omega::encode_command(omega::cmd::init{c.token, {}}));
  }

  /// Classifies a frame according to the target's wire format.
  void classify(std::string_view f, incoming& in) const {
    switch (opts_.target) {
      case target_kind::omega:
        return classify_omega(f, in);
      case target_kind::plain:
        return classify_plain(f, in);
      default:
        return classify_peerjs(f, in);
    }
  }

  /// Stops the run: closes every client (scenario-specific), then ends the
  /// io_context once all clients are done or after a grace period.
  void finish() {
    if (finishing_.exchange(true))
      return;
    log("finishing");
    close_all();
    auto grace = std::make_shared<net::steady_timer>(control_);
    grace->expires_after(std::chrono::seconds{3});
    grace->async_wait([this, grace](error_code ec) {
      if (!ec)
        ioc_.stop();
    });
    if (live_.load() == 0)
      ioc_.stop();
  }

  virtual void close_all() = 0;

  /// A one-shot timer on the control strand.
  void after(double seconds, std::function<void()> fn) {
    auto t = std::make_shared<net::steady_timer>(control_);
    t->expires_after(
      nanoseconds{static_cast<int64_t>(std::max(0.0, seconds) * 1e9)});
    t->async_wait([t, fn = std::move(fn)](error_code ec) {
      if (!ec)
        fn();
    });
  }

  /// Prints the summary and the RESULT line, and computes the exit status:
  /// non-zero when nothing was measured or errors exceed 1% of `ops`.
  int conclude(const std::string& human, const std::string& fields,
               uint64_t measured, uint64_t ops) {
    auto errors = errors_.load();
    std::cerr << human;
    if (errors > 0) {
      std::cerr << "  errors by kind:\n";
      size_t shown = 0;
      for (auto& [kind, n] : error_kinds_)
        if (shown++ < 20)
          std::cerr << "    " << n << " x " << excerpt(kind) << "\n";
    }
    std::cout << "RESULT target=" << target_name(opts_.target)
              << " scenario=" << scenario_name(opts_.scenario) << fields
              << " errors=" << errors << std::endl;
    if (measured == 0) {
      std::cerr << "omega-bench: nothing was measured\n";
      return 1;
    }
    if (static_cast<double>(errors) > 0.01 * static_cast<double>(ops)) {
      std::cerr << "omega-bench: " << errors << " errors in " << ops
                << " operations (more than 1%)\n";
      return 1;
    }
    return 0;
  }

  const options& opts_;
  net::io_context ioc_;
  strand_type control_;
  net::steady_timer deadline_;
  tcp::endpoint endpoint_;
  std::string host_header_;
  tcp::endpoint peer_endpoint_;
  std::string peer_host_header_;
  std::vector<std::string> tokens_;
  std::string nonce_;
  frame_maker maker_;
  std::atomic<uint64_t> errors_{0};
  std::atomic<bool> finishing_{false};
  /// Clients with operations outstanding (from open until on_end).
  std::atomic<size_t> live_{0};
  std::mutex print_mtx_;
  std::map<std::string, uint64_t> error_kinds_;
  std::mutex gate_mtx_;
  size_t connecting_ = 0;
  std::deque<std::function<void()>> pending_;
};

// -- relay --------------------------------------------------------------------

/// One host and its peers; all share the lobby's strand.
struct lobby {
  explicit lobby(strand_type s) : strand(std::move(s)) {
    // nop
  }

  strand_type strand;
  std::string lobby_id;
  std::shared_ptr<client> host;
  std::vector<std::shared_ptr<client>> peers;
  /// Peer ids as the host addresses them, for origin checks.
  std::map<std::string, size_t, std::less<>> peer_by_id;
  bool host_acked = false;
  size_t ready_members = 0;
  size_t peers_joined = 0;
  size_t new_peers_seen = 0;
  bool complete = false;
  /// Paced mode: each pair's position in the OFFER, ANSWER, ICE, ICE cycle.
  std::vector<uint32_t> cycle;
};

/// Relay throughput and latency. In closed-loop mode (`--rate 0`) every
/// host<->peer pair keeps `--inflight` messages in flight: each delivery is
/// answered by the next message of the cycle OFFER (host->peer), ANSWER
/// (peer->host), ICE (host->peer), ICE (peer->host). With `--rate R` a pacer
/// sends R messages/s in total, round-robin over the pairs, and deliveries
/// trigger nothing, so latency is measured at a fixed offered load.
class relay_bench : public bench {
public:
  using bench::bench;

protected:
  void start() override {
    auto members = opts_.lobbies * (1 + opts_.peers);
    if (opts_.target == target_kind::omega && tokens_.size() < members) {
      error("relay needs " + std::to_string(members) + " tokens, "
            + opts_.tokens_file + " has " + std::to_string(tokens_.size()));
      return finish();
    }
    size_t next_token = 0;
    auto token = [&] {
      return opts_.target == target_kind::omega ? tokens_[next_token++]
                                                : std::string{};
    };
    for (size_t i = 0; i < opts_.lobbies; ++i) {
      auto lob = std::make_unique<lobby>(net::make_strand(ioc_));
      lob->lobby_id = "b" + nonce_ + "_" + std::to_string(i);
      lob->host = make_client(lob->strand,
                              "h" + nonce_ + "_" + std::to_string(i));
      lob->host->group = lob.get();
      lob->host->token = token();
      for (size_t j = 0; j < opts_.peers; ++j) {
        auto p = make_client(lob->strand, "p" + nonce_ + "_" + std::to_string(i)
                                            + "_" + std::to_string(j));
        p->group = lob.get();
        p->index = static_cast<int>(j);
        p->peer_side = true;
        p->token = token();
        lob->peers.push_back(std::move(p));
      }
      lob->cycle.resize(opts_.peers);
      lobbies_.push_back(std::move(lob));
    }
    log("connecting " + std::to_string(members) + " clients");
    setup_started_ns_ = now_ns();
    for (auto& lob : lobbies_) {
      open_throttled(lob->host);
      for (auto& p : lob->peers)
        open_throttled(p);
    }
    after(opts_.setup_timeout, [this] {
      if (!running_ && !finishing_) {
        error("setup timed out: " + std::to_string(complete_lobbies_.load())
              + " of " + std::to_string(opts_.lobbies) + " lobbies ready");
        finish();
      }
    });
  }

  void opened(client& c) override {
    if (opts_.target == target_kind::omega)
      send_init(c);
    else if (opts_.target == target_kind::plain)
      member_ready(c, c.name);
    // PeerJS: wait for OPEN.
  }

  void lost(client& c) override {
    // A member gone before setup completed can never complete its lobby.
    if (!running_)
      setup_failed(c);
  }

  void opened_failed(client& c) override {
    setup_failed(c);
  }

  void on_frame(client& c, std::string_view f) override {
    auto& lob = *static_cast<lobby*>(c.group);
    incoming in;
    classify(f, in);
    switch (in.type) {
      case in_type::delivery:
        return on_delivery(c, lob, in);
      case in_type::ack:
        acks_.fetch_add(1, std::memory_order_relaxed);
        return;
      case in_type::ready:
        return member_ready(
          c, opts_.target == target_kind::omega ? std::string{in.src} : c.name);
      case in_type::ack_host:
        lob.host_acked = true;
        for (auto& p : lob.peers)
          if (p->ready && !p->configured)
            config_peer(lob, *p);
        return;
      case in_type::ack_peer:
        if (in.src != lob.host->id)
          error(c.name + ": ACK_PEER names " + std::string{in.src}
                + ", not the host " + lob.host->id);
        ++lob.peers_joined;
        return check_complete(lob);
      case in_type::new_peer:
        if (c.index == -1) {
          ++lob.new_peers_seen;
          check_complete(lob);
        }
        return;
      case in_type::error:
        return error(c.name + ": " + in.text);
      case in_type::gone:
        // Lobby-less peers hear about every lobby of the game that ends;
        // only the end of this client's own lobby or partner is an error.
        if (in.src == lob.lobby_id || in.src == lob.host->id
            || lob.peer_by_id.count(in.src) > 0)
          error(c.name + ": " + in.text + " of its own lobby");
        return;
      default:
        return;
    }
  }

  void close_all() override {
    sending_ = false;
    for (auto& lob : lobbies_)
      net::dispatch(lob->strand, [l = lob.get()] {
        l->host->close();
        for (auto& p : l->peers)
          p->close();
      });
  }

  int report() override {
    auto msgs = delivered_window_.load();
    auto secs = win_.seconds();
    auto rate = secs > 0 ? msgs / secs : 0;
    auto scpu = win_.server_cpu();
    auto ccpu = win_.client_cpu();
    auto p50 = latency_.percentile_us(50);
    auto p99 = latency_.percentile_us(99);
    auto p999 = latency_.percentile_us(99.9);
    std::ostringstream human;
    human << "omega-bench: relay via " << target_name(opts_.target) << ": "
          << opts_.lobbies << " lobbies x " << opts_.peers << " peers, "
          << (opts_.rate > 0
                ? "paced at " + num(opts_.rate, 0) + " msg/s"
                : std::to_string(opts_.inflight) + " in flight per pair")
          << ", " << opts_.payload_bytes << " B payloads\n"
          << "  delivered " << msgs << " in " << num(secs, 2)
          << " s = " << num(rate, 0) << " msg/s (sent " << sent_window_.load()
          << ", acks " << acks_.load() << " in total)\n"
          << "  latency us: p50 " << num(p50) << "  p99 " << num(p99)
          << "  p99.9 " << num(p999) << "  max " << num(latency_.max_us())
          << "\n"
          << "  cpu s: server " << num(scpu, 3) << " ("
          << num(per_cpu(msgs, scpu), 0) << " msg per server cpu-s), client "
          << num(ccpu, 3) << " (" << num(secs > 0 ? 100 * ccpu / secs : -1, 0)
          << "% of a core)\n"
          << "  errors " << errors_.load() << "\n";
    std::ostringstream f;
    f << " pairs=" << opts_.lobbies * opts_.peers
      << " conns=" << opts_.lobbies * (1 + opts_.peers)
      << " inflight=" << opts_.inflight
      << " payload_bytes=" << opts_.payload_bytes
      << " target_rate=" << num(opts_.rate, 0) << " window_s=" << num(secs, 3)
      << " sent=" << sent_window_.load() << " msgs=" << msgs
      << " rate=" << num(rate, 0) << " p50_us=" << num(p50)
      << " p99_us=" << num(p99) << " p999_us=" << num(p999)
      << " max_us=" << num(latency_.max_us()) << " acks=" << acks_.load()
      << " server_cpu_s=" << num(scpu, 3) << " client_cpu_s=" << num(ccpu, 3)
      << " msgs_per_server_cpu_s=" << num(per_cpu(msgs, scpu), 0)
      << " server_cpu_pct="
      << num(secs > 0 && scpu >= 0 ? 100 * scpu / secs : -1, 0)
      << " client_cpu_pct=" << num(secs > 0 ? 100 * ccpu / secs : -1, 0);
    return conclude(human.str(), f.str(), msgs,
                    std::max<uint64_t>(sent_total_.load(), 1));
  }

private:
  /// A member lost before the run began can never complete its lobby; the
  /// base class has already counted the error.
  void setup_failed(client& c) {
    if (!finishing_) {
      log(c.name + " left during setup; stopping");
      net::post(control_, [this] { finish(); });
    }
  }

  void config_peer(lobby& lob, client& p) {
    p.configured = true;
    omega::cmd::config_peer cmd;
    cmd.lobby_id = lob.lobby_id;
    p.send(omega::encode_command(cmd));
  }

  void member_ready(client& c, std::string id) {
    auto& lob = *static_cast<lobby*>(c.group);
    if (c.ready)
      return error(c.name + ": ready twice");
    c.ready = true;
    c.id = std::move(id);
    if (c.index >= 0)
      lob.peer_by_id.emplace(c.id, static_cast<size_t>(c.index));
    ++lob.ready_members;
    if (opts_.target != target_kind::omega)
      return check_complete(lob);
    if (c.index < 0) {
      omega::cmd::config_host cmd;
      cmd.lobby_id = lob.lobby_id;
      cmd.max_peers = static_cast<uint32_t>(std::min<size_t>(opts_.peers, 100));
      c.configured = true;
      c.send(omega::encode_command(cmd));
    } else if (lob.host_acked) {
      config_peer(lob, c);
    }
  }

  void check_complete(lobby& lob) {
    if (lob.complete)
      return;
    auto n = lob.peers.size();
    bool done = opts_.target == target_kind::omega
                  ? lob.peers_joined == n && lob.new_peers_seen == n
                  : lob.ready_members == n + 1;
    if (!done)
      return;
    lob.complete = true;
    if (complete_lobbies_.fetch_add(1) + 1 == lobbies_.size())
      net::post(control_, [this] { begin_run(); });
  }

  void begin_run() {
    if (finishing_)
      return;
    running_ = true;
    log("setup took " + num((now_ns() - setup_started_ns_) / 1e6, 0)
        + " ms; running");
    if (opts_.rate > 0) {
      pace_start_ns_ = now_ns();
      pacer_ = std::make_unique<net::steady_timer>(control_);
      pace();
    } else {
      for (auto& lob : lobbies_)
        net::dispatch(lob->strand, [this, l = lob.get()] {
          for (auto& p : l->peers)
            for (size_t w = 0; w < opts_.inflight; ++w)
              send_relay(*l->host, msg_kind::offer, p->id);
        });
    }
    after(opts_.warmup, [this] {
      latency_.reset();
      delivered_window_ = 0;
      sent_window_ = 0;
      win_.begin(opts_.server_pid, opts_.peer_server_pid);
      measuring_ = true;
      after(opts_.duration, [this] { end_run(); });
    });
  }

  void end_run() {
    measuring_ = false;
    win_.end(opts_.server_pid, opts_.peer_server_pid);
    sending_ = false;
    if (pacer_)
      pacer_->cancel();
    log("window over; draining");
    drain(now_ns());
  }

  /// Waits (at most 2 s) for messages in flight to arrive, so that closing
  /// does not turn them into errors, then finishes.
  void drain(int64_t since) {
    auto in_flight = sent_total_.load() - delivered_total_.load();
    if (in_flight == 0 || now_ns() - since > 2'000'000'000) {
      if (in_flight != 0)
        log(std::to_string(in_flight) + " messages still in flight");
      return finish();
    }
    after(0.01, [this, since] { drain(since); });
  }

  /// The paced mode's clock: every tick sends what the target rate owes
  /// since the start, so a late tick catches up instead of lowering the rate.
  void pace() {
    if (!sending_ || finishing_)
      return;
    auto elapsed = now_ns() - pace_start_ns_;
    auto due = static_cast<uint64_t>(opts_.rate * elapsed / 1e9);
    auto pairs = lobbies_.size() * opts_.peers;
    for (; paced_ < due; ++paced_) {
      auto pair = next_pair_++ % pairs;
      auto l = lobbies_[pair / opts_.peers].get();
      auto j = pair % opts_.peers;
      net::dispatch(l->strand, [this, l, j] {
        if (!sending_)
          return;
        auto& host = *l->host;
        auto& peer = *l->peers[j];
        switch (l->cycle[j]++ % 4) {
          case 0:
            return send_relay(host, msg_kind::offer, peer.id);
          case 1:
            return send_relay(peer, msg_kind::answer, host.id);
          case 2:
            return send_relay(host, msg_kind::ice, peer.id);
          default:
            return send_relay(peer, msg_kind::ice, host.id);
        }
      });
    }
    pacer_->expires_after(std::chrono::microseconds{200});
    pacer_->async_wait([this](error_code ec) {
      if (!ec)
        pace();
    });
  }

  void send_relay(client& from, msg_kind kind, std::string_view to) {
    if (!from.is_open())
      return;
    from.send(maker_.make(kind, to, now_ns()));
    sent_total_.fetch_add(1, std::memory_order_relaxed);
    if (measuring_.load(std::memory_order_relaxed))
      sent_window_.fetch_add(1, std::memory_order_relaxed);
  }

  void on_delivery(client& c, lobby& lob, const incoming& in) {
    auto t = now_ns();
    delivered_total_.fetch_add(1, std::memory_order_relaxed);
    if (measuring_.load(std::memory_order_relaxed)) {
      delivered_window_.fetch_add(1, std::memory_order_relaxed);
      latency_.record(t - in.sent_ns);
    }
    bool is_host = c.index < 0;
    // The server must stamp the true sender and deliver only what the cycle
    // sends in this direction.
    if (is_host ? lob.peer_by_id.find(in.src) == lob.peer_by_id.end()
                : in.src != lob.host->id)
      return error(c.name + ": delivery from unexpected origin "
                   + std::string{in.src});
    if (is_host ? in.kind == msg_kind::offer : in.kind == msg_kind::answer)
      return error(c.name + ": delivery of the wrong kind");
    if (opts_.rate > 0 || !sending_.load(std::memory_order_relaxed))
      return;
    msg_kind next;
    if (is_host)
      next = in.kind == msg_kind::answer ? msg_kind::ice : msg_kind::offer;
    else
      next = in.kind == msg_kind::offer ? msg_kind::answer : msg_kind::ice;
    send_relay(c, next, in.src);
  }

  std::vector<std::unique_ptr<lobby>> lobbies_;
  std::atomic<size_t> complete_lobbies_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> sending_{true};
  std::atomic<bool> measuring_{false};
  std::atomic<uint64_t> sent_total_{0};
  std::atomic<uint64_t> delivered_total_{0};
  std::atomic<uint64_t> sent_window_{0};
  std::atomic<uint64_t> delivered_window_{0};
  std::atomic<uint64_t> acks_{0};
  histogram latency_;
  window win_;
  int64_t setup_started_ns_ = 0;
  int64_t pace_start_ns_ = 0;
  uint64_t paced_ = 0;
  uint64_t next_pair_ = 0;
  std::unique_ptr<net::steady_timer> pacer_;
};

// -- handshake ----------------------------------------------------------------

/// One handshake in progress: a host and a peer on one strand.
struct handshake {
  handshake(strand_type s) : strand(s), timer(s) {
    // nop
  }

  strand_type strand;
  net::steady_timer timer;
  size_t slot = 0;
  int64_t started_ns = 0;
  std::string lobby_id;
  std::shared_ptr<client> host;
  std::shared_ptr<client> peer;
  bool host_acked = false;
  bool offered = false;
  bool over = false;
};

/// Connection set-up cost: `--concurrency` loops each repeat a complete
/// signaling handshake with fresh connections: connect both, INIT (omega)
/// or OPEN (PeerJS), CONFIG_HOST and CONFIG_PEER (omega), one offer, one
/// answer, close. Reports handshakes and connect+INIT per second and their
/// latencies.
class handshake_bench : public bench {
public:
  using bench::bench;

protected:
  void start() override {
    auto limit = opts_.count > 0 ? opts_.count : ~size_t{0};
    if (opts_.target == target_kind::omega)
      limit = std::min(limit, tokens_.size() / 2);
    limit_ = limit;
    if (limit_ == 0) {
      error("no handshake possible (count 0 or fewer than 2 tokens)");
      return finish();
    }
    start_ns_ = now_ns();
    active_ = opts_.concurrency;
    for (size_t i = 0; i < opts_.concurrency; ++i)
      next(i);
    after(opts_.warmup, [this] {
      if (stopping_)
        return;
      win_.begin(opts_.server_pid, opts_.peer_server_pid);
      measuring_ = true;
      after(opts_.duration, [this] { end_window(); });
    });
  }

  void opened(client& c) override {
    if (opts_.target == target_kind::omega)
      send_init(c);
    else if (opts_.target == target_kind::plain)
      ready(c, c.name);
  }

  void opened_failed(client& c) override {
    abort(c, "");
  }

  void lost(client& c) override {
    abort(c, "");
  }

  void on_frame(client& c, std::string_view f) override {
    auto& hs = *static_cast<handshake*>(c.group);
    if (hs.over)
      return;
    incoming in;
    classify(f, in);
    bool is_host = &c == hs.host.get();
    switch (in.type) {
      case in_type::ready:
        return ready(c, opts_.target == target_kind::omega ? std::string{in.src}
                                                           : c.name);
      case in_type::ack_host:
        hs.host_acked = true;
        if (hs.peer->ready && !hs.peer->configured)
          config_peer(hs);
        return;
      case in_type::new_peer:
        if (is_host && !hs.offered) {
          hs.offered = true;
          hs.host->send(maker_.make(msg_kind::offer, in.src, now_ns()));
        }
        return;
      case in_type::delivery:
        if (!is_host && in.kind == msg_kind::offer)
          return c.send(maker_.make(msg_kind::answer, in.src, now_ns()));
        if (is_host && in.kind == msg_kind::answer)
          return complete(hs);
        return abort(c, "unexpected delivery");
      case in_type::error:
        return abort(c, in.text);
      case in_type::gone:
        // Lobby-less clients hear about every lobby of the game that ends;
        // only the end of this handshake's lobby or partner stops it.
        if (in.src == hs.lobby_id || in.src == hs.host->id
            || in.src == hs.peer->id)
          return abort(c, in.text + " of its own lobby");
        return;
      default:
        return;
    }
  }

  void close_all() override {
    std::lock_guard<std::mutex> guard{live_mtx_};
    for (auto& [k, hs] : live_hs_)
      net::dispatch(hs->strand, [hs = hs] { finish_pair(*hs); });
  }

  int report() override {
    auto n = handshakes_.load();
    auto inits = inits_.load();
    auto secs = win_.seconds();
    auto scpu = win_.server_cpu();
    auto ccpu = win_.client_cpu();
    auto hs_rate = secs > 0 ? n / secs : 0;
    auto init_rate = secs > 0 ? inits / secs : 0;
    std::ostringstream human;
    human << "omega-bench: handshakes via " << target_name(opts_.target) << ", "
          << opts_.concurrency << " at a time\n"
          << "  " << n << " handshakes in " << num(secs, 2)
          << " s = " << num(hs_rate, 0) << "/s; latency us p50 "
          << num(hs_latency_.percentile_us(50)) << " p99 "
          << num(hs_latency_.percentile_us(99)) << "\n"
          << "  " << inits << " connect+INIT = " << num(init_rate, 0)
          << "/s; latency us p50 " << num(init_latency_.percentile_us(50))
          << " p99 " << num(init_latency_.percentile_us(99)) << "\n"
          << "  cpu s: server " << num(scpu, 3) << " ("
          << num(per_cpu(n, scpu), 0) << " handshakes per server cpu-s), "
          << "client " << num(ccpu, 3) << "\n"
          << "  errors " << errors_.load() << " (of " << started_.load()
          << " started)\n";
    std::ostringstream f;
    f << " concurrency=" << opts_.concurrency << " window_s=" << num(secs, 3)
      << " handshakes=" << n << " hs_rate=" << num(hs_rate, 1)
      << " hs_p50_us=" << num(hs_latency_.percentile_us(50))
      << " hs_p99_us=" << num(hs_latency_.percentile_us(99))
      << " inits=" << inits << " init_rate=" << num(init_rate, 1)
      << " init_p50_us=" << num(init_latency_.percentile_us(50))
      << " init_p99_us=" << num(init_latency_.percentile_us(99))
      << " server_cpu_s=" << num(scpu, 3) << " client_cpu_s=" << num(ccpu, 3)
      << " hs_per_server_cpu_s=" << num(per_cpu(n, scpu), 1)
      << " init_per_server_cpu_s=" << num(per_cpu(inits, scpu), 1)
      << " started=" << started_.load();
    return conclude(human.str(), f.str(), n,
                    std::max<uint64_t>(started_.load(), 1));
  }

private:
  /// Starts the next handshake of loop `slot`, or ends the loop.
  void next(size_t slot) {
    auto k = next_k_.fetch_add(1);
    if (stopping_ || finishing_ || k >= limit_) {
      if (active_.fetch_sub(1) == 1)
        net::post(control_, [this] { end_window(); });
      return;
    }
    started_.fetch_add(1);
    auto hs = std::make_shared<handshake>(net::make_strand(ioc_));
    hs->slot = slot;
    hs->lobby_id = "hs" + nonce_ + "_" + std::to_string(k);
    auto suffix = nonce_ + "_" + std::to_string(k);
    hs->host = make_client(hs->strand, "H" + suffix);
    hs->peer = make_client(hs->strand, "P" + suffix);
    hs->peer->peer_side = true;
    for (auto* c : {hs->host.get(), hs->peer.get()}) {
      c->group = hs.get();
      c->keep = hs;
    }
    hs->peer->index = 0;
    if (opts_.target == target_kind::omega) {
      hs->host->token = tokens_[2 * k];
      hs->peer->token = tokens_[2 * k + 1];
    }
    {
      std::lock_guard<std::mutex> guard{live_mtx_};
      live_hs_.emplace(hs.get(), hs);
    }
    net::dispatch(hs->strand, [this, hs] {
      hs->started_ns = now_ns();
      hs->timer.expires_after(std::chrono::seconds{10});
      hs->timer.async_wait([this, h = hs.get()](error_code ec) {
        if (!ec && !h->over)
          abort(*h->host, "handshake timed out");
      });
      open_now(hs->host);
      open_now(hs->peer);
    });
  }

  void ready(client& c, std::string id) {
    auto& hs = *static_cast<handshake*>(c.group);
    c.ready = true;
    c.id = std::move(id);
    inits_total_.fetch_add(1, std::memory_order_relaxed);
    if (measuring_) {
      inits_.fetch_add(1, std::memory_order_relaxed);
      init_latency_.record(now_ns() - c.open_started_ns);
    }
    if (opts_.target == target_kind::omega) {
      if (&c == hs.host.get()) {
        omega::cmd::config_host cmd;
        cmd.lobby_id = hs.lobby_id;
        c.configured = true;
        c.send(omega::encode_command(cmd));
      } else if (hs.host_acked) {
        config_peer(hs);
      }
      return;
    }
    if (hs.host->ready && hs.peer->ready && !hs.offered) {
      hs.offered = true;
      hs.host->send(maker_.make(msg_kind::offer, hs.peer->id, now_ns()));
    }
  }

  void config_peer(handshake& hs) {
    omega::cmd::config_peer cmd;
    cmd.lobby_id = hs.lobby_id;
    hs.peer->configured = true;
    hs.peer->send(omega::encode_command(cmd));
  }

  void complete(handshake& hs) {
    if (measuring_) {
      handshakes_.fetch_add(1, std::memory_order_relaxed);
      hs_latency_.record(now_ns() - hs.started_ns);
    }
    end_pair(hs);
  }

  void abort(client& c, const std::string& why) {
    auto& hs = *static_cast<handshake*>(c.group);
    if (hs.over)
      return;
    if (!why.empty() && !finishing_)
      error(c.name + ": " + why);
    end_pair(hs);
  }

  static void finish_pair(handshake& hs) {
    hs.over = true;
    hs.timer.cancel();
    hs.host->close();
    hs.peer->close();
  }

  void end_pair(handshake& hs) {
    finish_pair(hs);
    std::shared_ptr<handshake> keep;
    {
      std::lock_guard<std::mutex> guard{live_mtx_};
      auto i = live_hs_.find(&hs);
      if (i != live_hs_.end()) {
        keep = std::move(i->second);
        live_hs_.erase(i);
      }
    }
    if (keep)
      next(hs.slot);
  }

  void end_window() {
    if (stopping_.exchange(true))
      return;
    if (win_.started()) {
      measuring_ = false;
      win_.end(opts_.server_pid, opts_.peer_server_pid);
    }
    // Loops still running stop at their next handshake; give the last ones
    // a moment, then finish.
    after(0.0, [this] { wait_loops(now_ns()); });
  }

  void wait_loops(int64_t since) {
    if (active_.load() == 0 || now_ns() - since > 2'000'000'000)
      return finish();
    after(0.01, [this, since] { wait_loops(since); });
  }

  size_t limit_ = 0;
  int64_t start_ns_ = 0;
  std::atomic<size_t> next_k_{0};
  std::atomic<size_t> active_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> measuring_{false};
  std::atomic<uint64_t> started_{0};
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<uint64_t> inits_{0};
  std::atomic<uint64_t> inits_total_{0};
  histogram hs_latency_;
  histogram init_latency_;
  window win_;
  std::mutex live_mtx_;
  std::map<handshake*, std::shared_ptr<handshake>> live_hs_;
};

// -- idle ---------------------------------------------------------------------

/// Memory per idle connection: opens `--connections` connections,
/// authenticates each (INIT, OPEN or just the upgrade), lets the server
/// settle and compares its resident memory with the reading from before.
/// The opening phase doubles as a connect+INIT throughput measurement.
class idle_bench : public bench {
public:
  using bench::bench;

protected:
  void start() override {
    auto n = opts_.connections;
    if (opts_.target == target_kind::omega && tokens_.size() < n) {
      error("idle needs " + std::to_string(n) + " tokens, " + opts_.tokens_file
            + " has " + std::to_string(tokens_.size()));
      return finish();
    }
    rss_before_ = process_rss_kb(opts_.server_pid);
    win_.begin(opts_.server_pid, opts_.peer_server_pid);
    for (size_t i = 0; i < n; ++i) {
      auto c = make_client(net::make_strand(ioc_),
                           "i" + nonce_ + "_" + std::to_string(i));
      if (opts_.target == target_kind::omega)
        c->token = tokens_[i];
      clients_.push_back(c);
    }
    for (auto& c : clients_)
      open_throttled(c);
    after(opts_.setup_timeout, [this] {
      if (!all_ready_ && !finishing_) {
        error("setup timed out: " + std::to_string(ready_.load()) + " of "
              + std::to_string(opts_.connections) + " ready");
        all_ready();
      }
    });
  }

  void opened(client& c) override {
    if (opts_.target == target_kind::omega)
      send_init(c);
    else if (opts_.target == target_kind::plain)
      ready(c);
  }

  void opened_failed(client&) override {
    count_done();
  }

  void lost(client& c) override {
    if (!c.ready)
      count_done();
  }

  void on_frame(client& c, std::string_view f) override {
    incoming in;
    classify(f, in);
    if (in.type == in_type::ready && !c.ready)
      ready(c);
    else if (in.type == in_type::error)
      error(c.name + ": " + in.text);
  }

  void close_all() override {
    for (auto& c : clients_)
      net::dispatch(c->strand(), [c] { c->close(); });
  }

  int report() override {
    auto n = ready_.load();
    auto secs = win_.seconds();
    auto scpu = win_.server_cpu();
    auto grown = rss_before_ >= 0 && rss_after_ >= 0
                   ? static_cast<double>(rss_after_ - rss_before_)
                   : -1.0;
    auto per_conn = grown >= 0 && n > 0 ? grown / n : -1.0;
    std::ostringstream human;
    human << "omega-bench: idle via " << target_name(opts_.target) << ": " << n
          << " of " << opts_.connections << " connections ready in "
          << num(secs, 2) << " s (" << num(secs > 0 ? n / secs : -1, 0)
          << " connect+INIT/s, p50 " << num(init_latency_.percentile_us(50))
          << " us, p99 " << num(init_latency_.percentile_us(99)) << " us)\n"
          << "  server RSS " << rss_before_ << " KiB -> " << rss_after_
          << " KiB = " << num(per_conn, 2) << " KiB per connection\n"
          << "  server cpu s for the connects: " << num(scpu, 3) << " ("
          << num(per_cpu(n, scpu), 0) << " per server cpu-s)\n"
          << "  errors " << errors_.load() << "\n";
    std::ostringstream f;
    f << " connections=" << n << " requested=" << opts_.connections
      << " rss_before_kb=" << num(rss_before_, 0)
      << " rss_after_kb=" << num(rss_after_, 0)
      << " kb_per_conn=" << num(per_conn, 2) << " connect_s=" << num(secs, 3)
      << " init_rate=" << num(secs > 0 ? n / secs : -1, 1)
      << " init_p50_us=" << num(init_latency_.percentile_us(50))
      << " init_p99_us=" << num(init_latency_.percentile_us(99))
      << " server_cpu_s=" << num(scpu, 3)
      << " client_cpu_s=" << num(win_.client_cpu(), 3)
      << " init_per_server_cpu_s=" << num(per_cpu(n, scpu), 1);
    return conclude(human.str(), f.str(), n, opts_.connections);
  }

private:
  void ready(client& c) {
    c.ready = true;
    init_latency_.record(now_ns() - c.open_started_ns);
    ready_.fetch_add(1);
    count_done();
  }

  void count_done() {
    if (done_.fetch_add(1) + 1 == opts_.connections)
      net::post(control_, [this] { all_ready(); });
  }

  void all_ready() {
    if (all_ready_.exchange(true))
      return;
    win_.end(opts_.server_pid, opts_.peer_server_pid);
    log("all connections up; settling");
    after(opts_.settle, [this] {
      rss_after_ = process_rss_kb(opts_.server_pid);
      finish();
    });
  }

  std::vector<std::shared_ptr<client>> clients_;
  std::atomic<size_t> ready_{0};
  std::atomic<size_t> done_{0};
  std::atomic<bool> all_ready_{false};
  long rss_before_ = -1;
  long rss_after_ = -1;
  histogram init_latency_;
  window win_;
};

} // namespace

int main(int argc, char** argv) {
  options opts;
  try {
    opts = parse_options(argc, argv);
  } catch (const usage_error& e) {
    if (e.what.empty()) {
      std::cout << usage_text;
      return 0;
    }
    std::cerr << "omega-bench: " << e.what << "\n" << usage_text;
    return 2;
  }
  std::unique_ptr<bench> b;
  switch (opts.scenario) {
    case scenario_kind::relay:
      b = std::make_unique<relay_bench>(opts);
      break;
    case scenario_kind::handshake:
      b = std::make_unique<handshake_bench>(opts);
      break;
    default:
      b = std::make_unique<idle_bench>(opts);
  }
  return b->run();
}
