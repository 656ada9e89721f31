#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "tools/abuse/setup.hpp"
#include "tools/bench/histogram.hpp"

namespace omega::abuse {

/// The well-behaved players whose experience the benchmark measures: a host
/// and a peer in a lobby of their own, the host relaying an ICE candidate to
/// the peer `rate` times a second, and once a second a login through the
/// HTTP API. Latency counts from each relay's scheduled send time, so a
/// stalled server cannot hide its stall by delaying the sends (no
/// coordinated omission). They connect from an address of their own
/// (`source`), as players on other machines would, so they meet the
/// per-address limits the attacker meets only if those limits are wrong.
class victim : public bench::driver {
public:
  victim(net::io_context& ioc, const setup& s, account host, account peer,
         account login, net::ip::address source, double rate);

  /// Connects, logs in and forms the lobby; `ready` once relays flow.
  void start();

  /// Starts the measured period, which ends after `seconds`.
  void measure(double seconds);

  bool ready() const {
    return ready_;
  }

  bool done() const {
    return done_;
  }

  /// Relay latency in microseconds (percentiles) and counts.
  const bench::histogram& relay_latency() const {
    return relays_;
  }

  const bench::histogram& login_latency() const {
    return logins_;
  }

  uint64_t sent() const {
    return sent_;
  }

  uint64_t received() const {
    return received_;
  }

  uint64_t failed_logins() const {
    return failed_logins_;
  }

  /// Why the victim could not take part, or what went wrong during it.
  const std::string& error() const {
    return error_;
  }

  // -- driver

  void on_opened(bench::client& c, bool ok, const std::string& what) override;

  void on_frame(bench::client& c, std::string_view frame) override;

  void on_lost(bench::client& c, const std::string& what) override;

  void on_end(bench::client&) override {
    // nop
  }

private:
  void on_host_frame(const std::string& op, const boost::json::object& x);

  void on_peer_frame(const std::string& op, const boost::json::object& x);

  void tick();

  void login();

  net::io_context& ioc_;
  const setup& setup_;
  bench::strand_type strand_;
  account host_acc_;
  account peer_acc_;
  account login_acc_;
  net::ip::address source_;
  double interval_;
  std::shared_ptr<bench::client> host_;
  std::shared_ptr<bench::client> peer_;
  net::steady_timer timer_;
  net::steady_timer login_timer_;
  std::string lobby_;
  /// Scheduled time of the next relay, and the end of the measurement.
  double next_ = 0;
  double end_ = 0;
  bench::histogram relays_;
  bench::histogram logins_;
  uint64_t sent_ = 0;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> failed_logins_{0};
  std::atomic<bool> ready_{false};
  std::atomic<bool> done_{false};
  std::string error_;
};

} // namespace omega::abuse
