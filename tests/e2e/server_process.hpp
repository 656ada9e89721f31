#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "tests/support/process.hpp"

/// End-to-end test support: runs the real `omega-server` binary as a child
/// process, so tests exercise exactly what operators deploy (flag parsing,
/// signal handling, process exit) instead of an in-process gateway.

namespace omega::e2e {

using test::exit_info;
using test::run_program;
using test::run_result;

/// One line of `omega-admin user add-many` output.
struct admin_account {
  std::string id;
  std::string user;
  std::string token;
};

/// Parses `omega-admin user add-many` output: ID<TAB>USERNAME<TAB>TOKEN.
std::vector<admin_account> parse_accounts(const std::string& out);

/// One `omega-server` child listening on 127.0.0.1 with a port the kernel
/// picks and a fresh data folder. The destructor always kills and reaps the
/// child and deletes the folder, so a failing test leaves nothing behind.
class server_process {
public:
  server_process() = default;

  server_process(const server_process&) = delete;

  server_process& operator=(const server_process&) = delete;

  ~server_process();

  /// Starts the server with `--listen 127.0.0.1:0 --data-dir <tmp>
  /// --password-hash minimal --register-per-address 0` (the last two unless
  /// `extra_flags` has them) plus `extra_flags`, and waits up to `timeout`
  /// for its "listening on" line. Returns false (see `error`) on failure.
  /// With `data_dir`, uses (and later deletes) that folder instead of a
  /// fresh one: a restarted node keeps its data.
  bool start(const std::vector<std::string>& extra_flags = {},
             std::chrono::milliseconds timeout = std::chrono::seconds{10},
             const std::string& data_dir = {});

  /// Leaves the data folder in place when this object goes, for a restart.
  std::string hand_over_data_dir() {
    auto result = std::move(dir_);
    dir_.clear();
    return result;
  }

  /// Sends `sig` and waits up to `timeout` for the process to exit, then
  /// kills it with SIGKILL. Safe to call when the server already stopped.
  exit_info stop(int sig = SIGTERM,
                 std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
    return child_.stop(sig, timeout);
  }

  /// Runs `omega-admin --data-dir <dir> args...` and captures its stdout.
  run_result admin(const std::vector<std::string>& args) const;

  /// Registers a game and returns its UGI (empty on failure).
  std::string add_game(const std::string& name,
                       const std::string& developer) const;

  /// Registers a game with a client profile (`--profile`, e.g. "cl5") and
  /// returns its UGI (empty on failure).
  std::string add_game(const std::string& name, const std::string& developer,
                       const std::string& profile) const;

  bool running() const {
    return child_.running();
  }

  pid_t pid() const {
    return child_.pid();
  }

  /// Waits up to `timeout` until the server's stderr contains `needle`
  /// (e.g. "node n2 joined"). Returns false on timeout or exit.
  bool wait_log(const std::string& needle, std::chrono::milliseconds timeout) {
    return child_.wait_log(needle, timeout);
  }

  uint16_t port() const {
    return port_;
  }

  const std::string& data_dir() const {
    return dir_;
  }

  /// Why `start` failed.
  const std::string& error() const {
    return error_;
  }

  /// Everything the server wrote to stderr so far.
  std::string log() const {
    return child_.log();
  }

private:
  test::child_process child_;
  uint16_t port_ = 0;
  std::string dir_;
  std::string error_;
};

} // namespace omega::e2e
