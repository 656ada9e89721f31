#include "tools/bench/idle_scenario.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "tools/bench/clock.hpp"
#include "tools/bench/histogram.hpp"
#include "tools/bench/process_stats.hpp"
#include "tools/bench/report_format.hpp"
#include "tools/bench/scenario.hpp"
#include "tools/bench/window.hpp"

namespace omega::bench {

namespace {

/// The readings of one run, taken once for the summary and the RESULT line.
struct idle_numbers {
  size_t ready = 0;
  double secs = 0;
  double scpu = -1;
  double per_conn = -1;
};

/// Memory per idle connection: opens `--connections` connections,
/// authenticates each (INIT, OPEN or just the upgrade), lets the server
/// settle and compares its resident memory with the reading from before.
/// The opening phase doubles as a connect+INIT throughput measurement.
class idle_scenario : public scenario {
public:
  using scenario::scenario;

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
    auto x = numbers();
    return conclude(summary(x), result_fields(x), x.ready, opts_.connections);
  }

private:
  void ready(client& c) {
    c.ready = true;
    init_latency_.record(now_ns() - c.open_started_ns);
    ready_.fetch_add(1);
    count_done();
  }

  /// Counts a connection that is ready or failed; the last one ends setup.
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

  idle_numbers numbers() const {
    idle_numbers x;
    x.ready = ready_.load();
    x.secs = win_.seconds();
    x.scpu = win_.server_cpu();
    auto grown = rss_before_ >= 0 && rss_after_ >= 0
                   ? static_cast<double>(rss_after_ - rss_before_)
                   : -1.0;
    x.per_conn = grown >= 0 && x.ready > 0 ? grown / x.ready : -1.0;
    return x;
  }

  /// The human-readable summary for stderr.
  std::string summary(const idle_numbers& x) const {
    std::ostringstream human;
    human << "omega-bench: idle via " << target_name(opts_.target) << ": "
          << x.ready << " of " << opts_.connections << " connections ready in "
          << num(x.secs, 2) << " s ("
          << num(x.secs > 0 ? x.ready / x.secs : -1, 0)
          << " connect+INIT/s, p50 " << num(init_latency_.percentile_us(50))
          << " us, p99 " << num(init_latency_.percentile_us(99)) << " us)\n"
          << "  server RSS " << rss_before_ << " KiB -> " << rss_after_
          << " KiB = " << num(x.per_conn, 2) << " KiB per connection\n"
          << "  server cpu s for the connects: " << num(x.scpu, 3) << " ("
          << num(per_cpu(x.ready, x.scpu), 0) << " per server cpu-s)\n"
          << "  errors " << errors_.load() << "\n";
    return human.str();
  }

  /// The key=value pairs of the RESULT line (after target and scenario).
  std::string result_fields(const idle_numbers& x) const {
    std::ostringstream f;
    f << " connections=" << x.ready << " requested=" << opts_.connections
      << " rss_before_kb=" << num(rss_before_, 0)
      << " rss_after_kb=" << num(rss_after_, 0)
      << " kb_per_conn=" << num(x.per_conn, 2)
      << " connect_s=" << num(x.secs, 3)
      << " init_rate=" << num(x.secs > 0 ? x.ready / x.secs : -1, 1)
      << " init_p50_us=" << num(init_latency_.percentile_us(50))
      << " init_p99_us=" << num(init_latency_.percentile_us(99))
      << " server_cpu_s=" << num(x.scpu, 3)
      << " client_cpu_s=" << num(win_.client_cpu(), 3)
      << " init_per_server_cpu_s=" << num(per_cpu(x.ready, x.scpu), 1);
    return f.str();
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

std::unique_ptr<scenario> make_idle_scenario(const options& opts) {
  return std::make_unique<idle_scenario>(opts);
}

} // namespace omega::bench
