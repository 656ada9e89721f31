#include "tests/support/process.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace omega::test {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// Closes every descriptor from 3 up. Runs in the forked child, so only
/// async-signal-safe calls: the test process has other threads, and its
/// client sockets (not close-on-exec) must not leak into the child, where
/// they would keep connections alive after a client closed them.
void close_inherited_fds() {
  if (close_range(3, UINT_MAX, 0) == 0)
    return;
  rlimit lim;
  int max_fd = 65536;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    max_fd = static_cast<int>(lim.rlim_cur);
  for (int fd = 3; fd < max_fd; ++fd)
    close(fd);
}

/// Builds a NULL-terminated argv (`path` first) whose pointers refer into
/// `all`, which must outlive it.
std::vector<char*> make_argv(std::vector<std::string>& all) {
  std::vector<char*> result;
  for (auto& x : all)
    result.push_back(x.data());
  result.push_back(nullptr);
  return result;
}

/// Forks and execs `path` with `args` (argv[1..]), with `fd` as the child's
/// descriptor `target` (1 or 2). Returns the child's pid or -1.
pid_t spawn(const std::string& path, const std::vector<std::string>& args,
            int fd, int target) {
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<std::string> all{path};
  all.insert(all.end(), args.begin(), args.end());
  auto argv = make_argv(all);
  auto pid = fork();
  if (pid != 0)
    return pid;
  // Child: a clean signal state, as a shell would start the program with.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  if (dup2(fd, target) < 0)
    _exit(127);
  close_inherited_fds();
  execv(path.c_str(), argv.data());
  _exit(127);
}

/// Waits up to `timeout` for `pid` to exit; returns true and fills `status`
/// if it did.
bool wait_for(pid_t pid, milliseconds timeout, int& status) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    auto res = waitpid(pid, &status, WNOHANG);
    if (res == pid)
      return true;
    if (res < 0 && errno != EINTR)
      return false;
    if (steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(milliseconds{2});
  }
}

void reap(pid_t pid, int& status) {
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    // retry
  }
}

} // namespace

// -- run_program --------------------------------------------------------------

run_result run_program(const std::string& path,
                       const std::vector<std::string>& args,
                       milliseconds timeout) {
  run_result result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return result;
  auto pid = spawn(path, args, fds[1], STDOUT_FILENO);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return result;
  }
  auto deadline = steady_clock::now() + timeout;
  char buf[4096];
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline
                                                         - steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    auto n = poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    auto got = read(fds[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    result.out.append(buf, static_cast<size_t>(got));
  }
  close(fds[0]);
  int status = 0;
  // A child may close stdout and linger: the deadline covers its exit too.
  auto left
    = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
  if (timed_out || !wait_for(pid, std::max(left, milliseconds{0}), status)) {
    timed_out = true;
    kill(pid, SIGKILL);
    reap(pid, status);
  }
  if (!timed_out && WIFEXITED(status))
    result.status = WEXITSTATUS(status);
  return result;
}

// -- child_process ------------------------------------------------------------

child_process::~child_process() {
  kill_now();
  join_reader();
  if (err_fd_ >= 0)
    close(err_fd_);
}

bool child_process::start(const std::string& path,
                          const std::vector<std::string>& args) {
  if (pid_ > 0 || err_fd_ >= 0) {
    error_ = "start called twice";
    return false;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    error_ = std::string{"pipe2: "} + std::strerror(errno);
    return false;
  }
  pid_ = spawn(path, args, fds[1], STDERR_FILENO);
  close(fds[1]);
  err_fd_ = fds[0];
  if (pid_ < 0) {
    error_ = std::string{"fork: "} + std::strerror(errno);
    return false;
  }
  reader_ = std::thread{[this] { drain(); }};
  return true;
}

std::optional<std::string> child_process::wait_line(const std::string& prefix,
                                                    milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  auto found = [&] {
    auto pos = log_.find(prefix);
    return pos != std::string::npos
           && log_.find('\n', pos) != std::string::npos;
  };
  cv_.wait_for(guard, timeout, [&] { return found() || eof_; });
  if (!found())
    return std::nullopt;
  auto pos = log_.find(prefix) + prefix.size();
  return log_.substr(pos, log_.find('\n', pos) - pos);
}

uint16_t child_process::wait_port(const std::string& prefix,
                                  milliseconds timeout) {
  auto rest = wait_line(prefix, timeout);
  if (!rest)
    return 0;
  return static_cast<uint16_t>(std::strtoul(rest->c_str(), nullptr, 10));
}

bool child_process::wait_log(const std::string& needle, milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, timeout, [&] {
    return log_.find(needle) != std::string::npos || eof_;
  }) && log_.find(needle) != std::string::npos;
}

exit_info child_process::stop(int sig, milliseconds timeout) {
  exit_info result;
  if (pid_ <= 0)
    return result;
  auto t0 = steady_clock::now();
  kill(pid_, sig);
  int status = 0;
  if (!wait_for(pid_, timeout, status)) {
    kill(pid_, SIGKILL);
    reap(pid_, status);
    result.killed = true;
  }
  result.took
    = std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0);
  pid_ = -1;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.code = WTERMSIG(status);
  }
  join_reader();
  return result;
}

void child_process::kill_now() {
  if (pid_ <= 0)
    return;
  kill(pid_, SIGKILL);
  int status = 0;
  reap(pid_, status);
  pid_ = -1;
  join_reader();
}

bool child_process::log_closed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return eof_;
}

std::string child_process::log() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return log_;
}

void child_process::drain() {
  char buf[4096];
  for (;;) {
    auto got = read(err_fd_, buf, sizeof(buf));
    if (got < 0 && errno == EINTR)
      continue;
    std::lock_guard<std::mutex> guard{mtx_};
    if (got <= 0) {
      eof_ = true;
      cv_.notify_all();
      return;
    }
    log_.append(buf, static_cast<size_t>(got));
    cv_.notify_all();
  }
}

void child_process::join_reader() {
  if (reader_.joinable())
    reader_.join();
}

} // namespace omega::test
