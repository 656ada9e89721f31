#include "tools/bench/handshake_scenario.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "messages/commands.hpp"
#include "tools/bench/clock.hpp"
#include "tools/bench/histogram.hpp"
#include "tools/bench/report_format.hpp"
#include "tools/bench/scenario.hpp"
#include "tools/bench/window.hpp"
#include "transport/client_codec.hpp"
#include "transport/json_codec.hpp"

namespace omega::bench {

namespace {

/// One handshake in progress: a host and a peer on one strand.
struct handshake {
  explicit handshake(strand_type s) : strand(s), timer(s) {
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

/// The readings of one run, taken once for the summary and the RESULT line.
struct handshake_numbers {
  uint64_t handshakes = 0;
  uint64_t inits = 0;
  double secs = 0;
  double scpu = -1;
  double ccpu = 0;
  double hs_rate = 0;
  double init_rate = 0;
};

/// Connection set-up cost: `--concurrency` loops each repeat a complete
/// signaling handshake with fresh connections: connect both, INIT (omega)
/// or OPEN (PeerJS), CONFIG_HOST and CONFIG_PEER (omega), one offer, one
/// answer, close. Reports handshakes and connect+INIT per second and their
/// latencies.
class handshake_scenario : public scenario {
public:
  using scenario::scenario;

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
        return on_delivery(c, hs, is_host, in);
      case in_type::error:
        return abort(c, in.text);
      case in_type::gone:
        return on_gone(c, hs, in);
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
    auto x = numbers();
    return conclude(summary(x), result_fields(x), x.handshakes,
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
    auto hs = make_handshake(k, slot);
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

  /// The `k`-th handshake, with fresh clients and (omega) tokens 2k, 2k+1.
  std::shared_ptr<handshake> make_handshake(size_t k, size_t slot) {
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
    return hs;
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

  /// The peer answers the offer; the answer at the host completes it.
  void on_delivery(client& c, handshake& hs, bool is_host, const incoming& in) {
    if (!is_host && in.kind == msg_kind::offer)
      return c.send(maker_.make(msg_kind::answer, in.src, now_ns()));
    if (is_host && in.kind == msg_kind::answer)
      return complete(hs);
    abort(c, "unexpected delivery");
  }

  void on_gone(client& c, handshake& hs, const incoming& in) {
    // Lobby-less clients hear about every lobby of the game that ends; only
    // the end of this handshake's lobby or partner stops it.
    if (in.src == hs.lobby_id || in.src == hs.host->id || in.src == hs.peer->id)
      abort(c, in.text + " of its own lobby");
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

  /// Ends `hs` and starts its loop's next handshake, once per handshake.
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

  handshake_numbers numbers() const {
    handshake_numbers x;
    x.handshakes = handshakes_.load();
    x.inits = inits_.load();
    x.secs = win_.seconds();
    x.scpu = win_.server_cpu();
    x.ccpu = win_.client_cpu();
    x.hs_rate = x.secs > 0 ? x.handshakes / x.secs : 0;
    x.init_rate = x.secs > 0 ? x.inits / x.secs : 0;
    return x;
  }

  /// The human-readable summary for stderr.
  std::string summary(const handshake_numbers& x) const {
    std::ostringstream human;
    human << "omega-bench: handshakes via " << target_name(opts_.target) << ", "
          << opts_.concurrency << " at a time\n"
          << "  " << x.handshakes << " handshakes in " << num(x.secs, 2)
          << " s = " << num(x.hs_rate, 0) << "/s; latency us p50 "
          << num(hs_latency_.percentile_us(50)) << " p99 "
          << num(hs_latency_.percentile_us(99)) << "\n"
          << "  " << x.inits << " connect+INIT = " << num(x.init_rate, 0)
          << "/s; latency us p50 " << num(init_latency_.percentile_us(50))
          << " p99 " << num(init_latency_.percentile_us(99)) << "\n"
          << "  cpu s: server " << num(x.scpu, 3) << " ("
          << num(per_cpu(x.handshakes, x.scpu), 0)
          << " handshakes per server cpu-s), "
          << "client " << num(x.ccpu, 3) << "\n"
          << "  errors " << errors_.load() << " (of " << started_.load()
          << " started)\n";
    return human.str();
  }

  /// The key=value pairs of the RESULT line (after target and scenario).
  std::string result_fields(const handshake_numbers& x) const {
    std::ostringstream f;
    f << " concurrency=" << opts_.concurrency << " window_s=" << num(x.secs, 3)
      << " handshakes=" << x.handshakes << " hs_rate=" << num(x.hs_rate, 1)
      << " hs_p50_us=" << num(hs_latency_.percentile_us(50))
      << " hs_p99_us=" << num(hs_latency_.percentile_us(99))
      << " inits=" << x.inits << " init_rate=" << num(x.init_rate, 1)
      << " init_p50_us=" << num(init_latency_.percentile_us(50))
      << " init_p99_us=" << num(init_latency_.percentile_us(99))
      << " server_cpu_s=" << num(x.scpu, 3)
      << " client_cpu_s=" << num(x.ccpu, 3)
      << " hs_per_server_cpu_s=" << num(per_cpu(x.handshakes, x.scpu), 1)
      << " init_per_server_cpu_s=" << num(per_cpu(x.inits, x.scpu), 1)
      << " started=" << started_.load();
    return f.str();
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

} // namespace

std::unique_ptr<scenario> make_handshake_scenario(const options& opts) {
  return std::make_unique<handshake_scenario>(opts);
}

} // namespace omega::bench
