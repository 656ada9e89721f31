#include "transport/limit_report.hpp"

namespace omega {

std::string_view limit_name(limit x) {
  switch (x) {
    case limit::connections_per_address:
      return "max-connections-per-address";
    case limit::connections_total:
      return "max-connections";
    case limit::login_per_address:
      return "login-per-address";
    case limit::login_per_account:
      return "login-per-account";
    case limit::register_per_address:
      return "register-per-address";
    case limit::register_per_account:
      return "register-per-account";
    case limit::api_queue:
      return "api-queue";
    case limit::http_body:
      return "max-http-body";
    case limit::http_header:
      return "max-http-header";
    case limit::accept_descriptors:
      return "file-descriptors";
    case limit::write_budget:
      return "max-queued-bytes";
    case limit::cutoff_penalty:
      return "cutoff-penalty";
    case limit::requests_per_address:
      return "requests-per-address";
    case limit::upgrades_per_address:
      return "upgrades-per-address";
  }
  return "unknown";
}

limit_report::limit_report(sink warn, std::chrono::milliseconds interval)
  : warn_(std::move(warn)), interval_(interval) {
  // nop
}

void limit_report::reject(limit x, std::string_view who,
                          std::string_view detail,
                          std::chrono::steady_clock::time_point now) {
  counters_.add(x);
  if (!warn_)
    return;
  uint64_t skipped = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& t = throttles_[static_cast<size_t>(x)];
    if (now < t.next) {
      ++t.skipped;
      return;
    }
    t.next = now + interval_;
    skipped = t.skipped;
    t.skipped = 0;
  }
  auto line = std::string{"limit "} + std::string{limit_name(x)} + ": "
              + std::string{who} + " (" + std::string{detail} + ")";
  if (skipped > 0)
    line += "; " + std::to_string(skipped) + " more since the last such line";
  warn_(line);
}

} // namespace omega
