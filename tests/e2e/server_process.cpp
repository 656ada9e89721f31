#include "tests/e2e/server_process.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OMEGA_SERVER_PATH
#  error "OMEGA_SERVER_PATH must name the omega-server binary"
#endif
#ifndef OMEGA_ADMIN_PATH
#  error "OMEGA_ADMIN_PATH must name the omega-admin binary"
#endif

namespace omega::e2e {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* listening_prefix = "omega: info: listening on 127.0.0.1:";

/// Closes every descriptor from 3 up. Runs in the forked child, so only
/// async-signal-safe calls: the test process has other threads, and its
/// client sockets (not close-on-exec) must not leak into the server, where
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

/// Forks and execs `path` with `argv` (NULL-terminated), with `fd` as the
/// child's descriptor `target` (1 or 2). Returns the child's pid or -1.
pid_t spawn(const std::string& path, const std::vector<char*>& argv, int fd,
            int target) {
  auto pid = fork();
  if (pid != 0)
    return pid;
  // Child: a clean signal state, as a shell would start the server with.
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

/// Builds a NULL-terminated argv whose pointers refer into `args`.
std::vector<char*> make_argv(std::vector<std::string>& args) {
  std::vector<char*> result;
  for (auto& x : args)
    result.push_back(x.data());
  result.push_back(nullptr);
  return result;
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

/// The UGI that a successful `omega-admin game add` printed.
std::string printed_ugi(run_result res) {
  if (res.status != 0)
    return {};
  while (!res.out.empty() && (res.out.back() == '\n' || res.out.back() == '\r'))
    res.out.pop_back();
  return res.out;
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
  std::vector<std::string> all{path};
  all.insert(all.end(), args.begin(), args.end());
  auto argv = make_argv(all);
  auto pid = spawn(path, argv, fds[1], STDOUT_FILENO);
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

// -- server_process -----------------------------------------------------------

server_process::~server_process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    reap_blocking();
  }
  if (reader_.joinable())
    reader_.join();
  if (err_fd_ >= 0)
    close(err_fd_);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool server_process::start(const std::vector<std::string>& extra_flags,
                           milliseconds timeout, const std::string& data_dir) {
  if (pid_ > 0 || !dir_.empty()) {
    error_ = "start called twice";
    return false;
  }
  if (data_dir.empty()) {
    char tmpl[] = "/tmp/omega-e2e-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      error_ = std::string{"mkdtemp: "} + std::strerror(errno);
      return false;
    }
    dir_ = tmpl;
  } else {
    dir_ = data_dir;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    error_ = std::string{"pipe2: "} + std::strerror(errno);
    return false;
  }
  std::vector<std::string> args{
    OMEGA_SERVER_PATH, "--listen", "127.0.0.1:0", "--data-dir", dir_,
    "--password-hash", "minimal"};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  auto argv = make_argv(args);
  pid_ = spawn(OMEGA_SERVER_PATH, argv, fds[1], STDERR_FILENO);
  close(fds[1]);
  err_fd_ = fds[0];
  if (pid_ < 0) {
    error_ = std::string{"fork: "} + std::strerror(errno);
    return false;
  }
  reader_ = std::thread{[this] { drain(); }};
  std::unique_lock<std::mutex> guard{mtx_};
  auto found = [this] {
    auto pos = log_.find(listening_prefix);
    return pos != std::string::npos
           && log_.find('\n', pos) != std::string::npos;
  };
  cv_.wait_for(guard, timeout, [&] { return found() || eof_; });
  if (!found()) {
    error_ = eof_ ? "omega-server exited before listening"
                  : "omega-server did not report its port in time";
    error_ += "; its stderr:\n" + log_;
    guard.unlock();
    kill(pid_, SIGKILL);
    reap_blocking();
    return false;
  }
  auto pos = log_.find(listening_prefix) + std::strlen(listening_prefix);
  port_ = static_cast<uint16_t>(std::strtoul(log_.c_str() + pos, nullptr, 10));
  if (port_ == 0) {
    error_ = "cannot parse the port from: " + log_;
    return false;
  }
  return true;
}

bool server_process::wait_log(const std::string& needle, milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, timeout, [&] {
    return log_.find(needle) != std::string::npos || eof_;
  }) && log_.find(needle) != std::string::npos;
}

void server_process::drain() {
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

void server_process::reap_blocking() {
  int status = 0;
  reap(pid_, status);
  pid_ = -1;
}

exit_info server_process::stop(int sig, milliseconds timeout) {
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
  // The child is gone, so the pipe reaches EOF and the reader ends.
  if (reader_.joinable())
    reader_.join();
  return result;
}

run_result server_process::admin(const std::vector<std::string>& args) const {
  std::vector<std::string> all{"--data-dir", dir_};
  all.insert(all.end(), args.begin(), args.end());
  return run_program(OMEGA_ADMIN_PATH, all);
}

std::string server_process::add_game(const std::string& name,
                                     const std::string& developer) const {
  return printed_ugi(admin({"game", "add", name, "--developer", developer}));
}

std::string server_process::add_game(const std::string& name,
                                     const std::string& developer,
                                     const std::string& profile) const {
  return printed_ugi(admin(
    {"game", "add", name, "--developer", developer, "--profile", profile}));
}

std::string server_process::log() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return log_;
}

std::vector<admin_account> parse_accounts(const std::string& out) {
  std::vector<admin_account> result;
  std::istringstream in{out};
  std::string line;
  while (std::getline(in, line)) {
    auto t1 = line.find('\t');
    auto t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos)
      continue;
    result.push_back(admin_account{line.substr(0, t1),
                                   line.substr(t1 + 1, t2 - t1 - 1),
                                   line.substr(t2 + 1)});
  }
  return result;
}

} // namespace omega::e2e
