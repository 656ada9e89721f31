/// omega-abuse: the abuse benchmark. It replays one attack of issue 15's list
/// against a running omega-server while well-behaved players (a host
/// relaying to its peer, and a login once a second) measure what they get,
/// and prints one `RESULT` line: the players' latency, the server's peak
/// memory and what the server did to the attacker. scripts/abuse-bench.sh
/// runs every attack against a fresh server and compares each with a quiet
/// run. The attack runs on a thread of the lowest priority, so the players'
/// numbers show the server's protection rather than the load generator's
/// own contention.

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include "tools/abuse/attacks.hpp"
#include "tools/abuse/victim.hpp"
#include "tools/bench/process_stats.hpp"
#include "tools/command_line.hpp"

namespace abuse = omega::abuse;
using omega::bench::process_cpu_seconds;
namespace po = boost::program_options;

namespace {

struct options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string ugi;
  std::string accounts_file;
  std::string attack = "none";
  double duration = 10;
  double rate = 200;
  std::string victim_source = "127.0.0.2";
  std::string attacker_source = "127.0.0.3";
  int server_pid = 0;
};

/// The peak resident set of `pid` in KiB (VmHWM), or -1.
long peak_rss_kb(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

/// Waits up to `seconds` for `pred`.
template <class Pred>
bool wait_for(double seconds, Pred pred) {
  auto end = abuse::now_s() + seconds;
  while (!pred()) {
    if (abuse::now_s() > end)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}

int run(const options& o) {
  abuse::setup s;
  boost::system::error_code ec;
  s.server = abuse::tcp::endpoint{abuse::net::ip::make_address(o.host, ec),
                                  o.port};
  auto source = abuse::net::ip::make_address(o.victim_source, ec);
  if (!ec)
    s.attacker_source = abuse::net::ip::make_address(o.attacker_source, ec);
  if (ec) {
    std::cerr << "omega-abuse: bad --host, --victim-source or "
                 "--attacker-source\n";
    return 2;
  }
  s.host_header = o.host + ":" + std::to_string(o.port);
  s.ugi = o.ugi;
  s.duration = o.duration;
  s.nonce = std::to_string(std::random_device{}() % 1000000);
  s.accounts = abuse::read_accounts(o.accounts_file);
  if (s.accounts.size() < 16) {
    std::cerr << "omega-abuse: --accounts needs at least 16 accounts\n";
    return 2;
  }
  // The players' accounts are the first three; the attacker has the rest.
  std::vector<abuse::account> attacker(s.accounts.begin() + 3,
                                       s.accounts.end());
  abuse::net::io_context victim_ioc;
  abuse::net::io_context attack_ioc;
  auto victim_work = boost::asio::make_work_guard(victim_ioc);
  auto attack_work = boost::asio::make_work_guard(attack_ioc);
  abuse::victim v{victim_ioc,    s,      s.accounts[0], s.accounts[1],
                  s.accounts[2], source, o.rate};
  std::unique_ptr<abuse::attack> a;
  if (o.attack != "none") {
    a = abuse::make_attack(o.attack, attack_ioc, s, attacker);
    if (!a) {
      std::cerr << "omega-abuse: unknown attack " << o.attack << "\n";
      return 2;
    }
  }
  std::thread victim_thread{[&] {
    // The players stand for other machines: on this one they share a core
    // with the attacker, whose sockets cost kernel time a nice value does
    // not hold back. A real-time priority (when allowed) keeps that time
    // out of the players' latency, so what they measure is the server.
    sched_param param{};
    param.sched_priority = 10;
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
    victim_ioc.run();
  }};
  std::thread attack_thread{[&] {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
    attack_ioc.run();
  }};
  auto stop = [&] {
    if (a)
      a->stop();
    victim_work.reset();
    attack_work.reset();
    victim_ioc.stop();
    attack_ioc.stop();
    victim_thread.join();
    attack_thread.join();
  };
  v.start();
  if (!wait_for(15, [&] { return v.ready() || v.done(); }) || v.done()) {
    std::cerr << "omega-abuse: the players could not meet: " << v.error()
              << "\n";
    stop();
    return 1;
  }
  if (a) {
    a->start();
    // Let the attack reach its full strength before measuring.
    std::this_thread::sleep_for(std::chrono::seconds{2});
  }
  auto cpu_start = process_cpu_seconds(o.server_pid);
  auto wall_start = abuse::now_s();
  v.measure(o.duration);
  wait_for(o.duration + 15, [&] { return v.done(); });
  // The share of one core the server used while the players measured: tells
  // an attack that costs the server from one that costs this machine.
  auto cpu_pct = cpu_start < 0
                   ? -1.0
                   : 100 * (process_cpu_seconds(o.server_pid) - cpu_start)
                       / (abuse::now_s() - wall_start);
  auto counts = a ? a->report() : std::string{};
  stop();
  auto& rl = v.relay_latency();
  auto& ll = v.login_latency();
  std::cout << "RESULT attack=" << o.attack
            << " relay_p50_us=" << rl.percentile_us(50)
            << " relay_p99_us=" << rl.percentile_us(99)
            << " relay_max_us=" << rl.max_us() << " relays_sent=" << v.sent()
            << " relays_received=" << v.received()
            << " login_p50_ms=" << ll.percentile_us(50) / 1e3
            << " login_max_ms=" << ll.max_us() / 1e3
            << " logins_ok=" << ll.count()
            << " logins_failed=" << v.failed_logins() << " server_peak_rss_kb="
            << (o.server_pid > 0 ? peak_rss_kb(o.server_pid) : -1)
            << " server_cpu_pct=" << static_cast<long>(cpu_pct)
            << (counts.empty() ? "" : " ") << counts << "\n";
  if (!v.error().empty())
    std::cerr << "omega-abuse: " << v.error() << "\n";
  return v.received() == 0 ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  po::options_description desc{
    "omega-abuse: replays an attack while players measure their latency"};
  auto add = desc.add_options();
  add("help,h", "print this help");
  add("host", po::value(&o.host), "server address (default 127.0.0.1)");
  add("port", po::value(&o.port), "server port");
  add("ugi", po::value(&o.ugi), "the game's UGI");
  add("accounts", po::value(&o.accounts_file),
      "file of ID<TAB>USER<TAB>TOKEN lines from omega-admin user add-many "
      "(at least 16; the first three are the players')");
  add("attack", po::value(&o.attack),
      "none, slow-reader, no-init, keepalive-flood, init-flood, "
      "lobby-list-flood, transfer-flood, lobby-churn, password-guess or "
      "login-flood (default none)");
  add("duration", po::value(&o.duration),
      "seconds measured (default 10), after 2 s of attack");
  add("rate", po::value(&o.rate), "the players' relays per second (200)");
  add("victim-source", po::value(&o.victim_source),
      "local address the players connect from (default 127.0.0.2)");
  add("attacker-source", po::value(&o.attacker_source),
      "local address the attacker connects from (default 127.0.0.3)");
  add("server-pid", po::value(&o.server_pid),
      "the server's pid, for its peak memory");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv)
                .options(desc)
                .style(omega::command_line::style)
                .extra_parser(omega::command_line::short_help)
                .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "omega-abuse: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (o.port == 0 || o.ugi.empty() || o.accounts_file.empty()) {
    std::cerr << "omega-abuse: --port, --ugi and --accounts are required\n"
              << desc;
    return 2;
  }
  return run(o);
}
