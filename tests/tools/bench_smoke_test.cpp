/// Smoke tests of the benchmark tools: omega-bench against the real
/// omega-server and against plain-relay, with tiny loads for a second or
/// two. They check that the tools run end to end and report something, so
/// that scripts/bench.sh does not rot between benchmark runs; they measure
/// nothing.

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OMEGA_SERVER_PATH
#  error "OMEGA_SERVER_PATH must name the omega-server binary"
#endif
#ifndef OMEGA_ADMIN_PATH
#  error "OMEGA_ADMIN_PATH must name the omega-admin binary"
#endif
#ifndef OMEGA_BENCH_PATH
#  error "OMEGA_BENCH_PATH must name the omega-bench binary"
#endif
#ifndef PLAIN_RELAY_PATH
#  error "PLAIN_RELAY_PATH must name the plain-relay binary"
#endif

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// Forks and execs `args[0]`, with `out_fd` as its stdout and `err_fd` as its
/// stderr (-1 keeps ours). Only async-signal-safe calls after fork: the test
/// process has threads.
pid_t spawn(const std::vector<std::string>& args, int out_fd, int err_fd) {
  std::vector<char*> argv;
  for (auto& x : args)
    argv.push_back(const_cast<char*>(x.c_str()));
  argv.push_back(nullptr);
  auto pid = fork();
  if (pid != 0)
    return pid;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
    _exit(127);
  if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
    _exit(127);
  // Client sockets of other tests must not leak into the child.
  close_range(3, UINT_MAX, 0);
  execv(argv[0], argv.data());
  _exit(127);
}

/// Waits up to `timeout` for `pid`; kills it if it is still running. Returns
/// the exit status, or -1 if it did not exit normally in time.
int wait_or_kill(pid_t pid, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    auto res = waitpid(pid, &status, WNOHANG);
    if (res == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (res < 0 && errno != EINTR)
      return -1;
    if (steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        // retry
      }
      return -1;
    }
    std::this_thread::sleep_for(milliseconds{5});
  }
}

struct run_result {
  int status = -1;
  std::string out;
};

/// Runs a program to completion (bounded by `timeout`), capturing stdout;
/// its stderr goes to ours, so a failing test shows the tool's complaints.
run_result run(const std::vector<std::string>& args,
               milliseconds timeout = milliseconds{30000}) {
  run_result result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return result;
  auto pid = spawn(args, fds[1], -1);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return result;
  }
  auto deadline = steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline
                                                         - steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd pfd{fds[0], POLLIN, 0};
    auto n = poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    auto got = read(fds[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    result.out.append(buf, static_cast<size_t>(got));
  }
  close(fds[0]);
  auto left
    = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
  result.status = wait_or_kill(pid, std::max(left, milliseconds{0}));
  return result;
}

std::string trimmed(std::string x) {
  while (!x.empty() && (x.back() == '\n' || x.back() == '\r'))
    x.pop_back();
  return x;
}

/// The value of `key` in the RESULT line of `out`, or "" if absent.
std::string result_field(const std::string& out, const std::string& key) {
  std::istringstream lines{out};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.compare(0, 7, "RESULT ") != 0)
      continue;
    auto pos = line.find(" " + key + "=");
    if (pos == std::string::npos)
      return {};
    pos += key.size() + 2;
    return line.substr(pos, line.find(' ', pos) - pos);
  }
  return {};
}

double number(const std::string& x) {
  return x.empty() ? -1 : std::strtod(x.c_str(), nullptr);
}

/// A server child (omega-server or plain-relay) whose stderr goes to a file
/// that is polled for its "listening on" line. The destructor kills and
/// reaps it, so a failing test leaves nothing running.
class server_child {
public:
  server_child() = default;

  server_child(const server_child&) = delete;

  server_child& operator=(const server_child&) = delete;

  ~server_child() {
    stop();
  }

  /// Starts `args` and waits for `prefix` followed by a port in its stderr.
  bool start(const std::vector<std::string>& args, const std::string& log,
             const std::string& prefix) {
    log_ = log;
    auto fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      return false;
    pid_ = spawn(args, -1, fd);
    close(fd);
    if (pid_ < 0)
      return false;
    auto deadline = steady_clock::now() + milliseconds{10000};
    while (steady_clock::now() < deadline) {
      std::ifstream in{log_};
      std::stringstream text;
      text << in.rdbuf();
      auto all = text.str();
      auto pos = all.find(prefix);
      if (pos != std::string::npos
          && all.find('\n', pos) != std::string::npos) {
        port_ = static_cast<uint16_t>(
          std::strtoul(all.c_str() + pos + prefix.size(), nullptr, 10));
        return port_ != 0;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(milliseconds{10});
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0)
      return;
    kill(pid_, SIGTERM);
    wait_or_kill(pid_, milliseconds{5000});
    pid_ = -1;
  }

  pid_t pid() const {
    return pid_;
  }

  uint16_t port() const {
    return port_;
  }

  std::string log() const {
    std::ifstream in{log_};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

/// A fresh data folder with one game and 20 accounts, and omega-server
/// running on it.
class bench_smoke : public testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/omega-bench-smoke-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    auto game = run({OMEGA_ADMIN_PATH, "--data-dir", dir_, "game", "add",
                     "Bench Game", "--developer", "Bench Dev"});
    ASSERT_EQ(game.status, 0);
    ugi_ = trimmed(game.out);
    ASSERT_FALSE(ugi_.empty());
    auto users = run({OMEGA_ADMIN_PATH, "--data-dir", dir_, "user", "add-many",
                      "bench", "20"});
    ASSERT_EQ(users.status, 0);
    tokens_ = dir_ + "/tokens.tsv";
    std::ofstream{tokens_} << users.out;
  }

  void TearDown() override {
    server_.stop();
    plain_.stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  void start_omega() {
    ASSERT_TRUE(server_.start(
      {OMEGA_SERVER_PATH, "--listen", "127.0.0.1:0", "--data-dir", dir_,
       "--password-hash", "minimal"},
      dir_ + "/server.log", "omega: info: listening on 127.0.0.1:"))
      << server_.log();
  }

  std::vector<std::string> omega_bench(const std::string& scenario) {
    return {OMEGA_BENCH_PATH,
            "--target",
            "omega",
            "--port",
            std::to_string(server_.port()),
            "--ugi",
            ugi_,
            "--tokens",
            tokens_,
            "--server-pid",
            std::to_string(server_.pid()),
            "--scenario",
            scenario};
  }

  std::string dir_;
  std::string ugi_;
  std::string tokens_;
  server_child server_;
  server_child plain_;
};

TEST_F(bench_smoke, omega_relay_reports_messages) {
  start_omega();
  auto args = omega_bench("relay");
  args.insert(args.end(), {"--lobbies", "2", "--peers", "1", "--inflight", "2",
                           "--payload-bytes", "256", "--warmup", "0.5",
                           "--duration", "1.5"});
  auto res = run(args);
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_GT(number(result_field(res.out, "msgs")), 0) << res.out;
  EXPECT_GT(number(result_field(res.out, "p50_us")), 0) << res.out;
  EXPECT_EQ(result_field(res.out, "errors"), "0") << res.out;
  // With --server-pid the server's CPU time is known.
  EXPECT_GE(number(result_field(res.out, "server_cpu_s")), 0) << res.out;
}

TEST_F(bench_smoke, omega_idle_reports_memory) {
  start_omega();
  auto args = omega_bench("idle");
  args.insert(args.end(), {"--connections", "10", "--settle", "0.2"});
  auto res = run(args);
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(result_field(res.out, "connections"), "10") << res.out;
  EXPECT_GT(number(result_field(res.out, "rss_after_kb")), 0) << res.out;
}

// Disabled while omega has a known bug: a destroyed LOBBY that waits for its
// members to drain becomes unreachable once the GAME forgets it, CAF ends it
// with exit_reason::unreachable, and the GAME's exit handler, no longer
// finding it among its lobbies, takes that exit for its own shutdown and
// quits, so back-to-back handshakes get "service unavailable" (CONFIG_HOST),
// LOBBY_NOTFOUND or NOT_HOST. Run it with --gtest_also_run_disabled_tests.
TEST_F(bench_smoke, omega_handshake_stops_at_count) {
  start_omega();
  auto args = omega_bench("handshake");
  args.insert(args.end(), {"--count", "5", "--warmup", "0", "--duration", "5"});
  auto res = run(args);
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(result_field(res.out, "handshakes"), "5") << res.out;
  EXPECT_EQ(result_field(res.out, "inits"), "10") << res.out;
}

TEST_F(bench_smoke, plain_relay_reports_messages) {
  ASSERT_TRUE(plain_.start({PLAIN_RELAY_PATH, "--listen", "127.0.0.1:0"},
                           dir_ + "/plain.log",
                           "plain-relay: listening on 127.0.0.1:"))
    << plain_.log();
  auto res = run({OMEGA_BENCH_PATH, "--target", "plain", "--port",
                  std::to_string(plain_.port()), "--server-pid",
                  std::to_string(plain_.pid()), "--scenario", "relay",
                  "--lobbies", "2", "--peers", "1", "--inflight", "2",
                  "--warmup", "0.3", "--duration", "1"});
  EXPECT_EQ(res.status, 0) << res.out;
  EXPECT_GT(number(result_field(res.out, "msgs")), 0) << res.out;
  EXPECT_EQ(result_field(res.out, "errors"), "0") << res.out;
}

} // namespace
