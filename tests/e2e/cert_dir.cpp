#include "tests/e2e/cert_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>

#include "tests/support/process.hpp"

#ifndef OMEGA_ADMIN_PATH
#  error "OMEGA_ADMIN_PATH must name the omega-admin binary"
#endif

namespace omega::e2e {

cert_dir::cert_dir() {
  char tmpl[] = "/tmp/omega-certs-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    error_ = std::string{"mkdtemp: "} + std::strerror(errno);
    return;
  }
  path_ = tmpl;
  auto res = test::run_program(OMEGA_ADMIN_PATH, {"cluster", "init-ca", path_});
  if (res.status != 0 || res.out != ca() + "\n")
    error_ = "omega-admin cluster init-ca failed (" + std::to_string(res.status)
             + "): " + res.out;
}

cert_dir::~cert_dir() {
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

std::vector<std::string> cert_dir::issue(const std::string& node) {
  auto res = test::run_program(OMEGA_ADMIN_PATH,
                               {"cluster", "issue-cert", path_, node});
  if (res.status != 0) {
    error_ = "omega-admin cluster issue-cert failed ("
             + std::to_string(res.status) + ")";
    return {};
  }
  std::vector<std::string> flags;
  std::istringstream in{res.out};
  for (std::string word; in >> word;)
    flags.push_back(word);
  return flags;
}

} // namespace omega::e2e
