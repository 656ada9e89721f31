#include "tools/bench/relay_scenario.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

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

/// The readings of one run, taken once for the summary and the RESULT line.
struct relay_numbers {
  uint64_t msgs = 0;
  double secs = 0;
  double rate = 0;
  double scpu = -1;
  double ccpu = 0;
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
};

/// Relay throughput and latency. In closed-loop mode (`--rate 0`) every
/// host<->peer pair keeps `--inflight` messages in flight: each delivery is
/// answered by the next message of the cycle OFFER (host->peer), ANSWER
/// (peer->host), ICE (host->peer), ICE (peer->host). With `--rate R` a pacer
/// sends R messages/s in total, round-robin over the pairs, and deliveries
/// trigger nothing, so latency is measured at a fixed offered load. That
/// mode is an open loop without coordinated omission: message k of the run
/// is due at start + k / R, and carries that time, not the time it went
/// out, so a generator or server that falls behind shows in the latency;
/// sends that leave more than `--late-us` after their time are counted as
/// late (the generator itself could not keep up).
class relay_scenario : public scenario {
public:
  using scenario::scenario;

protected:
  void start() override {
    auto members = opts_.lobbies * (1 + opts_.peers);
    if (opts_.target == target_kind::omega && tokens_.size() < members) {
      error("relay needs " + std::to_string(members) + " tokens, "
            + opts_.tokens_file + " has " + std::to_string(tokens_.size()));
      return finish();
    }
    make_lobbies();
    connect_all(members);
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
        return on_ack_host(lob);
      case in_type::ack_peer:
        return on_ack_peer(c, lob, in);
      case in_type::new_peer:
        if (c.index == -1) {
          ++lob.new_peers_seen;
          check_complete(lob);
        }
        return;
      case in_type::error:
        return error(c.name + ": " + in.text);
      case in_type::gone:
        return on_gone(c, lob, in);
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
    auto x = numbers();
    return conclude(summary(x), result_fields(x), x.msgs,
                    std::max<uint64_t>(sent_total_.load(), 1));
  }

private:
  /// Creates every lobby with its host and peers, tokens in file order.
  void make_lobbies() {
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
  }

  void connect_all(size_t members) {
    log("connecting " + std::to_string(members) + " clients");
    setup_started_ns_ = now_ns();
    for (auto& lob : lobbies_) {
      open_throttled(lob->host);
      for (auto& p : lob->peers)
        open_throttled(p);
    }
  }

  /// A member lost before the run began can never complete its lobby; the
  /// base class has already counted the error.
  void setup_failed(client& c) {
    if (!finishing_) {
      log(c.name + " left during setup; stopping");
      net::post(control_, [this] { finish(); });
    }
  }

  void on_ack_host(lobby& lob) {
    lob.host_acked = true;
    for (auto& p : lob.peers)
      if (p->ready && !p->configured)
        config_peer(lob, *p);
  }

  void on_ack_peer(client& c, lobby& lob, const incoming& in) {
    if (in.src != lob.host->id)
      error(c.name + ": ACK_PEER names " + std::string{in.src}
            + ", not the host " + lob.host->id);
    ++lob.peers_joined;
    check_complete(lob);
  }

  void on_gone(client& c, lobby& lob, const incoming& in) {
    // Lobby-less peers hear about every lobby of the game that ends; only
    // the end of this client's own lobby or partner is an error.
    if (in.src == lob.lobby_id || in.src == lob.host->id
        || lob.peer_by_id.count(in.src) > 0)
      error(c.name + ": " + in.text + " of its own lobby");
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
      fill_pipelines();
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

  /// Closed-loop mode: each host puts `--inflight` offers in flight to each
  /// of its peers; deliveries keep the count constant from then on.
  void fill_pipelines() {
    for (auto& lob : lobbies_)
      net::dispatch(lob->strand, [this, l = lob.get()] {
        for (auto& p : l->peers)
          for (size_t w = 0; w < opts_.inflight; ++w)
            send_relay(*l->host, msg_kind::offer, p->id);
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
      auto at = pace_start_ns_
                + static_cast<int64_t>(static_cast<double>(paced_) * 1e9
                                       / opts_.rate);
      net::dispatch(l->strand, [this, l, j, at] { send_paced(*l, j, at); });
    }
    pacer_->expires_after(std::chrono::microseconds{200});
    pacer_->async_wait([this](error_code ec) {
      if (!ec)
        pace();
    });
  }

  /// Sends the next message of pair `j`'s cycle in lobby `l`, due at `at`.
  void send_paced(lobby& l, size_t j, int64_t at) {
    if (!sending_)
      return;
    auto lag = now_ns() - at;
    if (measuring_.load(std::memory_order_relaxed)) {
      if (lag > static_cast<int64_t>(opts_.late_us * 1000))
        late_window_.fetch_add(1, std::memory_order_relaxed);
      auto seen = max_lag_ns_.load(std::memory_order_relaxed);
      while (lag > seen
             && !max_lag_ns_.compare_exchange_weak(seen, lag,
                                                   std::memory_order_relaxed))
        ;
    }
    auto& host = *l.host;
    auto& peer = *l.peers[j];
    switch (l.cycle[j]++ % 4) {
      case 0:
        return send_relay(host, msg_kind::offer, peer.id, at);
      case 1:
        return send_relay(peer, msg_kind::answer, host.id, at);
      case 2:
        return send_relay(host, msg_kind::ice, peer.id, at);
      default:
        return send_relay(peer, msg_kind::ice, host.id, at);
    }
  }

  /// Sends one relay stamped `stamp` (the closed loop: now).
  void send_relay(client& from, msg_kind kind, std::string_view to,
                  int64_t stamp = 0) {
    if (!from.is_open())
      return;
    from.send(maker_.make(kind, to, stamp != 0 ? stamp : now_ns()));
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

  relay_numbers numbers() const {
    relay_numbers x;
    x.msgs = delivered_window_.load();
    x.secs = win_.seconds();
    x.rate = x.secs > 0 ? x.msgs / x.secs : 0;
    x.scpu = win_.server_cpu();
    x.ccpu = win_.client_cpu();
    x.p50 = latency_.percentile_us(50);
    x.p99 = latency_.percentile_us(99);
    x.p999 = latency_.percentile_us(99.9);
    return x;
  }

  /// The human-readable summary for stderr.
  std::string summary(const relay_numbers& x) const {
    std::ostringstream human;
    human << "omega-bench: relay via " << target_name(opts_.target) << ": "
          << opts_.lobbies << " lobbies x " << opts_.peers << " peers, "
          << (opts_.rate > 0
                ? "paced at " + num(opts_.rate, 0) + " msg/s"
                : std::to_string(opts_.inflight) + " in flight per pair")
          << ", " << opts_.payload_bytes << " B payloads\n"
          << "  delivered " << x.msgs << " in " << num(x.secs, 2)
          << " s = " << num(x.rate, 0) << " msg/s (sent " << sent_window_.load()
          << ", acks " << acks_.load() << " in total)\n"
          << "  latency us"
          << (opts_.rate > 0 ? " (from the scheduled time)" : "") << ": p50 "
          << num(x.p50) << "  p99 " << num(x.p99) << "  p99.9 " << num(x.p999)
          << "  max " << num(latency_.max_us()) << "\n"
          << (opts_.rate > 0
                ? "  late sends " + std::to_string(late_window_.load())
                    + " (over " + num(opts_.late_us, 0)
                    + " us), largest send lag "
                    + num(max_lag_ns_.load() / 1e3, 0) + " us\n"
                : std::string{})
          << "  cpu s: server " << num(x.scpu, 3) << " ("
          << num(per_cpu(x.msgs, x.scpu), 0)
          << " msg per server cpu-s), client " << num(x.ccpu, 3) << " ("
          << num(x.secs > 0 ? 100 * x.ccpu / x.secs : -1, 0) << "% of a core)\n"
          << "  errors " << errors_.load() << "\n";
    return human.str();
  }

  /// The key=value pairs of the RESULT line (after target and scenario).
  std::string result_fields(const relay_numbers& x) const {
    std::ostringstream f;
    f << " pairs=" << opts_.lobbies * opts_.peers
      << " conns=" << opts_.lobbies * (1 + opts_.peers)
      << " inflight=" << opts_.inflight
      << " payload_bytes=" << opts_.payload_bytes
      << " target_rate=" << num(opts_.rate, 0) << " window_s=" << num(x.secs, 3)
      << " sent=" << sent_window_.load() << " msgs=" << x.msgs
      << " rate=" << num(x.rate, 0) << " p50_us=" << num(x.p50)
      << " p99_us=" << num(x.p99) << " p999_us=" << num(x.p999)
      << " max_us=" << num(latency_.max_us()) << " acks=" << acks_.load()
      << " server_cpu_s=" << num(x.scpu, 3)
      << " client_cpu_s=" << num(x.ccpu, 3)
      << " msgs_per_server_cpu_s=" << num(per_cpu(x.msgs, x.scpu), 0)
      << " server_cpu_us_per_msg="
      << num(x.msgs > 0 && x.scpu >= 0 ? 1e6 * x.scpu / x.msgs : -1, 2)
      << " late=" << late_window_.load()
      << " max_send_lag_us=" << num(max_lag_ns_.load() / 1e3, 0)
      << " server_cpu_pct="
      << num(x.secs > 0 && x.scpu >= 0 ? 100 * x.scpu / x.secs : -1, 0)
      << " client_cpu_pct=" << num(x.secs > 0 ? 100 * x.ccpu / x.secs : -1, 0);
    return f.str();
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
  /// Paced sends in the window that left later than `--late-us`.
  std::atomic<uint64_t> late_window_{0};
  std::atomic<int64_t> max_lag_ns_{0};
  histogram latency_;
  window win_;
  int64_t setup_started_ns_ = 0;
  int64_t pace_start_ns_ = 0;
  uint64_t paced_ = 0;
  uint64_t next_pair_ = 0;
  std::unique_ptr<net::steady_timer> pacer_;
};

} // namespace

std::unique_ptr<scenario> make_relay_scenario(const options& opts) {
  return std::make_unique<relay_scenario>(opts);
}

} // namespace omega::bench
