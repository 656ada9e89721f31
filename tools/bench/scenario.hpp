#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "tools/bench/client.hpp"
#include "tools/bench/frame_maker.hpp"
#include "tools/bench/frames.hpp"
#include "tools/bench/io.hpp"
#include "tools/bench/options.hpp"

namespace omega::bench {

/// What every scenario shares: the io_context and its threads, the control
/// strand for timers, connect throttling, error accounting, the hard
/// deadline and an orderly end.
class scenario : public driver {
public:
  explicit scenario(const options& opts);

  ~scenario() override;

  /// Runs the scenario to its end and returns the exit status.
  int run();

  // -- driver

  void on_opened(client& c, bool ok, const std::string& what) override;

  void on_lost(client& c, const std::string& what) override;

  void on_end(client&) override;

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

  /// Closes every client (called once by `finish`).
  virtual void close_all() = 0;

  /// Counts an error and prints the first few, so a broken run explains
  /// itself without flooding the terminal.
  /// Also tallies errors by kind (the text after the client's name), so the
  /// summary says what went wrong even when thousands of errors occurred.
  void error(const std::string& what);

  /// Logs progress on stderr with --verbose.
  void log(const std::string& what);

  std::shared_ptr<client> make_client(strand_type strand, std::string name);

  /// Opens `c`, waiting for a free slot when `connect_parallel` connects are
  /// in flight: a burst of thousands of SYNs would overflow the server's
  /// accept backlog and turn into one-second retransmits.
  void open_throttled(const std::shared_ptr<client>& c);

  /// Opens `c` at once (handshakes bound their own concurrency). Must run
  /// on `c`'s strand.
  void open_now(const std::shared_ptr<client>& c);

  /// Sends INIT with the client's token (omega).
  void send_init(client& c);

  /// Classifies a frame according to the target's wire format.
  void classify(std::string_view f, incoming& in) const;

  /// Stops the run: closes every client (scenario-specific), then ends the
  /// io_context once all clients are done or after a grace period.
  void finish();

  /// A one-shot timer on the control strand.
  void after(double seconds, std::function<void()> fn);

  /// Prints the summary and the RESULT line, and computes the exit status:
  /// non-zero when nothing was measured or errors exceed 1% of `ops`.
  int conclude(const std::string& human, const std::string& fields,
               uint64_t measured, uint64_t ops);

  const options& opts_;
  /// What the TLS clients share (--tls), null for plain ones. Declared
  /// before `ioc_`, so it outlives the handlers that keep clients alive.
  std::unique_ptr<boost::asio::ssl::context> tls_;
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

private:
  /// Resolves --host, --port and --peer-port; false for a bad address.
  bool resolve_endpoints();

  /// Reads --tokens for omega; false if the file is unreadable.
  bool load_tokens();

  /// Makes the TLS context for --tls; false if --tls-ca does not load.
  bool load_tls();

  /// Nothing may run forever: stops the io_context after setup, warm-up,
  /// window and a margin, whatever happens.
  void arm_deadline();

  /// Runs the io_context on --threads threads until it stops.
  void run_io();

  /// The WebSocket path for a client; `name` is its id for plain and PeerJS.
  std::string path_for(const client& c) const;

  /// Starts the connect of `c` to its side's endpoint.
  void open_at(client& c);

  /// Hands a finished connect's slot to the next waiting client.
  void release_connect_slot();

  /// Prints the tally of `error` by kind (at most 20 kinds).
  void print_error_kinds();

  /// The exit status: 1 when nothing was measured or errors exceed 1%.
  int exit_status(uint64_t measured, uint64_t ops);
};

} // namespace omega::bench
