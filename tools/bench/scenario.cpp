#include "tools/bench/scenario.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <thread>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include "messages/commands.hpp"
#include "tools/bench/classify.hpp"
#include "tools/bench/report_format.hpp"
#include "tools/bench/tokens.hpp"
#include "transport/client_codec.hpp"
#include "transport/json_codec.hpp"

namespace omega::bench {

scenario::scenario(const options& opts)
  : opts_(opts),
    control_(net::make_strand(ioc_)),
    deadline_(control_),
    maker_(opts.target, opts.payload_bytes) {
  // Lobby ids and client names carry it, so runs against one server do not
  // collide.
  std::random_device rd;
  nonce_ = std::to_string(rd() % 1000000);
}

// Out of line: `tls_` needs the complete type of the context.
scenario::~scenario() = default;

int scenario::run() {
  if (!resolve_endpoints() || !load_tokens() || !load_tls())
    return 2;
  arm_deadline();
  net::post(control_, [this] { start(); });
  run_io();
  return report();
}

bool scenario::resolve_endpoints() {
  error_code ec;
  auto addr = net::ip::make_address(opts_.host, ec);
  if (ec) {
    std::cerr << "omega-bench: bad --host " << opts_.host << "\n";
    return false;
  }
  endpoint_ = tcp::endpoint{addr, opts_.port};
  host_header_ = opts_.host + ":" + std::to_string(opts_.port);
  auto pport = opts_.peer_port != 0 ? opts_.peer_port : opts_.port;
  peer_endpoint_ = tcp::endpoint{addr, pport};
  peer_host_header_ = opts_.host + ":" + std::to_string(pport);
  return true;
}

bool scenario::load_tokens() {
  if (opts_.target != target_kind::omega)
    return true;
  std::string err;
  tokens_ = read_tokens(opts_.tokens_file, err);
  if (!err.empty()) {
    std::cerr << "omega-bench: " << err << "\n";
    return false;
  }
  return true;
}

bool scenario::load_tls() {
  if (!opts_.tls)
    return true;
  std::string err;
  tls_ = make_tls_context(opts_.tls_ca, opts_.host, err);
  if (!tls_) {
    std::cerr << "omega-bench: " << err << "\n";
    return false;
  }
  return true;
}

void scenario::arm_deadline() {
  auto limit = opts_.setup_timeout + opts_.warmup + opts_.duration + 30;
  deadline_.expires_after(
    std::chrono::milliseconds{static_cast<int64_t>(limit * 1000)});
  deadline_.async_wait([this](error_code ec) {
    if (ec)
      return;
    error("hard deadline reached; stopping");
    ioc_.stop();
  });
}

void scenario::run_io() {
  std::vector<std::thread> threads;
  for (size_t i = 1; i < opts_.threads; ++i)
    threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : threads)
    t.join();
}

void scenario::on_opened(client& c, bool ok, const std::string& what) {
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

void scenario::on_lost(client& c, const std::string& what) {
  if (!finishing_)
    error(c.name + ": connection lost (" + what + ")");
  lost(c);
}

void scenario::on_end(client&) {
  if (live_.fetch_sub(1) == 1 && finishing_)
    net::post(control_, [this] { ioc_.stop(); });
}

void scenario::error(const std::string& what) {
  auto n = errors_.fetch_add(1) + 1;
  std::lock_guard<std::mutex> guard{print_mtx_};
  auto colon = what.find(": ");
  ++error_kinds_[colon == std::string::npos ? what : what.substr(colon + 2)];
  if (n <= 20)
    std::cerr << "omega-bench: error: " << what << "\n";
  else if (n == 21)
    std::cerr << "omega-bench: (further errors are counted, not printed)\n";
}

void scenario::log(const std::string& what) {
  if (!opts_.verbose)
    return;
  std::lock_guard<std::mutex> guard{print_mtx_};
  std::cerr << "omega-bench: " << what << "\n";
}

std::string scenario::path_for(const client& c) const {
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

std::shared_ptr<client> scenario::make_client(strand_type strand,
                                              std::string name) {
  auto c = tls_ ? make_tls_client(std::move(strand), *this, *tls_)
                : make_plain_client(std::move(strand), *this);
  c->name = std::move(name);
  return c;
}

void scenario::open_throttled(const std::shared_ptr<client>& c) {
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

void scenario::open_now(const std::shared_ptr<client>& c) {
  live_.fetch_add(1);
  open_at(*c);
}

void scenario::open_at(client& c) {
  if (c.peer_side)
    c.open(peer_endpoint_, peer_host_header_, path_for(c));
  else
    c.open(endpoint_, host_header_, path_for(c));
}

void scenario::release_connect_slot() {
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

void scenario::send_init(client& c) {
  c.send(omega::encode_command(omega::cmd::init{c.token, {}}));
}

void scenario::classify(std::string_view f, incoming& in) const {
  bench::classify(opts_.target, f, in);
}

void scenario::finish() {
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

void scenario::after(double seconds, std::function<void()> fn) {
  auto t = std::make_shared<net::steady_timer>(control_);
  t->expires_after(std::chrono::nanoseconds{
    static_cast<int64_t>(std::max(0.0, seconds) * 1e9)});
  t->async_wait([t, fn = std::move(fn)](error_code ec) {
    if (!ec)
      fn();
  });
}

int scenario::conclude(const std::string& human, const std::string& fields,
                       uint64_t measured, uint64_t ops) {
  std::cerr << human;
  print_error_kinds();
  std::cout << "RESULT target=" << target_name(opts_.target)
            << " scenario=" << scenario_name(opts_.scenario)
            << " tls=" << (opts_.tls ? 1 : 0) << fields
            << " errors=" << errors_.load() << std::endl;
  return exit_status(measured, ops);
}

void scenario::print_error_kinds() {
  if (errors_.load() == 0)
    return;
  std::cerr << "  errors by kind:\n";
  size_t shown = 0;
  for (auto& [kind, n] : error_kinds_)
    if (shown++ < 20)
      std::cerr << "    " << n << " x " << excerpt(kind) << "\n";
}

int scenario::exit_status(uint64_t measured, uint64_t ops) {
  auto errors = errors_.load();
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

} // namespace omega::bench
