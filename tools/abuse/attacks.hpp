#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tools/abuse/setup.hpp"

namespace omega::abuse {

/// One attack of issue 15's list, replayed against a running server from the
/// attacker's address for as long as it runs. Attacks count what the server did
/// to them (replies by opcode, refused connections, closes), so the report
/// shows where each was stopped.
class attack : public bench::driver {
public:
  attack(net::io_context& ioc, const setup& s, std::vector<account> accounts);

  /// Starts the attack; it goes on until `stop`.
  virtual void start() = 0;

  /// Stops starting new work (connections in progress run out).
  void stop() {
    stopping_ = true;
  }

  /// The counts as `key=value` pairs for the RESULT line.
  std::string report() const;

  // -- driver

  void on_opened(bench::client& c, bool ok, const std::string& what) override;

  void on_frame(bench::client& c, std::string_view frame) override;

  void on_lost(bench::client& c, const std::string& what) override;

  void on_end(bench::client& c) override;

protected:
  /// A new client on the attack's strand, connected from the attacker's
  /// address.
  std::shared_ptr<bench::client> connect(const std::string& name,
                                         const std::string& token);

  /// The next account of the attacker's pool (round robin).
  const account& next_account();

  /// Counts `what` under `key`.
  void count(const std::string& key, uint64_t n = 1);

  uint64_t counted(const std::string& key) const;

  // What each attack does with its clients.
  virtual void opened(bench::client& c) = 0;
  virtual void frame_in(bench::client& c, const std::string& op,
                        const boost::json::object& x)
    = 0;
  virtual void ended(bench::client&) {
    // nop
  }

  net::io_context& ioc_;
  const setup& setup_;
  bench::strand_type strand_;
  std::vector<account> accounts_;
  size_t next_account_ = 0;
  std::atomic<bool> stopping_{false};
  /// Clients alive, so that none outlives the attack.
  std::vector<std::shared_ptr<bench::client>> clients_;

private:
  mutable std::mutex mtx_;
  std::map<std::string, uint64_t> counts_;
};

/// The attacks by name: slow-reader, no-init, keepalive-flood, init-flood,
/// lobby-list-flood, transfer-flood, lobby-churn, password-guess,
/// login-flood. Null for an unknown name.
std::unique_ptr<attack> make_attack(const std::string& name,
                                    net::io_context& ioc, const setup& s,
                                    std::vector<account> accounts);

/// The names `make_attack` knows, in the order the benchmark runs them.
const std::vector<std::string>& attack_names();

} // namespace omega::abuse
