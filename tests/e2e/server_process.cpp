#include "tests/e2e/server_process.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>
#include <utility>

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

/// The gateway's line in the text log and in the JSON one (`--log-format
/// json`); a cluster node's own "listening on" line comes earlier.
constexpr const char* listening_prefix = "omega: info: listening on 127.0.0.1:";
constexpr const char* json_listening_prefix
  = R"("event":"listening","message":"listening on 127.0.0.1:)";

/// The UGI that a successful `omega-admin game add` printed.
std::string printed_ugi(run_result res) {
  if (res.status != 0)
    return {};
  while (!res.out.empty() && (res.out.back() == '\n' || res.out.back() == '\r'))
    res.out.pop_back();
  return res.out;
}

} // namespace

server_process::~server_process() {
  // The server goes before its data folder does.
  child_.kill_now();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool server_process::start(const std::vector<std::string>& extra_flags,
                           milliseconds timeout, const std::string& data_dir) {
  if (child_.running() || !dir_.empty()) {
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
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--data-dir", dir_};
  // Defaults of the suites, each unless `extra_flags` sets it: a cheap hash,
  // and no registration limit, as the suites register hundreds of accounts
  // from 127.0.0.1 within seconds (which that limit is there to stop).
  for (auto [flag, value] : {std::pair{"--password-hash", "minimal"},
                             std::pair{"--register-per-address", "0"}})
    if (std::find(extra_flags.begin(), extra_flags.end(), flag)
        == extra_flags.end())
      args.insert(args.end(), {flag, value});
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  // CTest runs some suites again with servers of more threads
  // (e2e_threads.*): the words of OMEGA_E2E_SERVER_FLAGS come last.
  if (auto* more = std::getenv("OMEGA_E2E_SERVER_FLAGS")) {
    std::istringstream words{more};
    for (std::string w; words >> w;)
      args.push_back(w);
  }
  if (!child_.start(OMEGA_SERVER_PATH, args)) {
    error_ = child_.error();
    return false;
  }
  auto json = std::find(extra_flags.begin(), extra_flags.end(), "json")
              != extra_flags.end();
  auto rest = child_.wait_line(json ? json_listening_prefix : listening_prefix,
                               timeout);
  if (!rest) {
    error_ = child_.log_closed()
               ? "omega-server exited before listening"
               : "omega-server did not report its port in time";
    error_ += "; its stderr:\n" + child_.log();
    child_.kill_now();
    return false;
  }
  port_ = static_cast<uint16_t>(std::strtoul(rest->c_str(), nullptr, 10));
  if (port_ == 0) {
    error_ = "cannot parse the port from: " + child_.log();
    return false;
  }
  return true;
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
