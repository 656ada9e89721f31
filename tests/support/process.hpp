#pragma once

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

/// Child processes for the tests that run the real binaries (the end-to-end
/// suites and the benchmark smoke tests): one launcher, so that every suite
/// gets the same fork/exec hygiene (clean signal mask, no leaked sockets),
/// the same timeouts and the same guarantee that nothing outlives a test.

namespace omega::test {

/// How a child process ended.
struct exit_info {
  /// True if the process called exit (or returned from main).
  bool exited = false;
  /// The exit status if `exited`, else the signal that ended the process.
  int code = -1;
  /// True if `stop` had to fall back to SIGKILL.
  bool killed = false;
  /// From sending the signal until the process was reaped.
  std::chrono::milliseconds took{0};
};

/// What a finished helper process printed.
struct run_result {
  /// The exit status, or -1 if the process did not exit normally.
  int status = -1;
  std::string out;
};

/// Runs `path` with `args` (argv[1..]), waits for it and captures stdout;
/// stderr goes to ours, so a failing test shows the tool's complaints.
/// Gives up (SIGKILL) after `timeout`.
run_result
run_program(const std::string& path, const std::vector<std::string>& args,
            std::chrono::milliseconds timeout = std::chrono::seconds{30});

/// A long-running child (a server) whose stderr is collected for its whole
/// life. The destructor always kills and reaps it, so a failing test leaves
/// nothing running.
class child_process {
public:
  child_process() = default;

  child_process(const child_process&) = delete;

  child_process& operator=(const child_process&) = delete;

  ~child_process();

  /// Starts `path` with `args` (argv[1..]). Returns false (see `error`) if
  /// it cannot, or if this object already runs a child.
  bool start(const std::string& path, const std::vector<std::string>& args);

  /// Waits up to `timeout` for a complete stderr line that contains
  /// `prefix` and returns the rest of that line. Returns nothing on timeout
  /// or once the child closed its stderr (see `log_closed`).
  std::optional<std::string> wait_line(const std::string& prefix,
                                       std::chrono::milliseconds timeout);

  /// `wait_line` for a server's "listening on 127.0.0.1:" line: returns
  /// the port the kernel picked, or 0.
  uint16_t wait_port(const std::string& prefix,
                     std::chrono::milliseconds timeout);

  /// Waits up to `timeout` until stderr contains `needle` (e.g. "node n2
  /// joined"). Returns false on timeout or exit.
  bool wait_log(const std::string& needle, std::chrono::milliseconds timeout);

  /// Sends `sig` and waits up to `timeout` for the process to exit, then
  /// kills it with SIGKILL. Safe to call when the child already stopped.
  exit_info stop(int sig = SIGTERM,
                 std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// Kills the child with SIGKILL and reaps it, without waiting for a
  /// graceful exit.
  void kill_now();

  bool running() const {
    return pid_ > 0;
  }

  pid_t pid() const {
    return pid_;
  }

  /// True once the child closed its stderr (normally: it exited).
  bool log_closed() const;

  /// Everything the child wrote to stderr so far.
  std::string log() const;

  /// Why `start` failed.
  const std::string& error() const {
    return error_;
  }

private:
  /// Drains the child's stderr: a server that logs into a full pipe would
  /// block, so the pipe is read for the child's whole life, not just until
  /// the line a test waits for.
  void drain();

  /// Ends the reader once the child is gone (its pipe reaches EOF).
  void join_reader();

  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string error_;
  std::thread reader_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::string log_;
  bool eof_ = false;
};

} // namespace omega::test
